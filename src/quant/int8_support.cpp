#include "quant/int8_support.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "ir/recurrent.hpp"
#include "ir/strided_view.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq {

namespace {

// Recurrent layers: rt::recurrent_s8 folds the weights and initial states into its parameters,
// and keeps a tanh-bounded h in Q15 (a Relu RNN's h takes its output's calibrated scale).
std::optional<std::string> recurrent_support(const Graph& g, const Node& node) {
  const bool relu = node.attrs.get_string("activation", "Tanh") == "Relu";
  static const char* const kRoles[] = {"x", "W", "R", "B", "initial_h", "initial_c", "P"};
  for (std::size_t i = 1; i < node.inputs.size(); ++i)
    if (!g.value(node.inputs[i]).is_constant())
      return fmt::format(
          "no int8 kernel for {} whose {} is computed at run time (only constant weights and "
          "initial states are quantized)",
          op_name(node.op), kRoles[std::min<std::size_t>(i, 6)]);
  if (g.value(node.inputs[2]).shape.back() > 512)
    return fmt::format(
        "no int8 kernel for {} with hidden size {} (at most 512: the int32 accumulator of its "
        "recurrent projection)",
        op_name(node.op), g.value(node.inputs[2]).shape.back());
  for (float v : g.value(node.inputs[4]).constant->f32())
    if (!(std::abs(v) <= 1.0f) && !(relu && std::isfinite(v)))
      return fmt::format("no int8 kernel for {} with an initial hidden state outside [-1, 1] ({})", op_name(node.op),
                         v);
  if (node.op == Op::LSTM) {
    for (float v : g.value(node.inputs[5]).constant->f32())
      if (!(std::abs(v) < 2048.0f))
        return fmt::format("no int8 kernel for LSTM with an initial cell state outside (-2048, 2048) ({})", v);
    if (node.inputs.size() == 7)
      for (float v : g.value(node.inputs[6]).constant->f32())
        if (!(std::abs(v) < 64.0f))
          return fmt::format("no int8 kernel for LSTM with a peephole weight outside (-64, 64) ({})", v);
  }
  return std::nullopt;
}

std::optional<std::string> binary_support(const Graph& g, const Node& node) {
  const Value& b = g.value(node.inputs[1]);
  if (node.op == Op::PRelu) {
    if (!b.is_constant()) return "no int8 kernel for PRelu with a run-time slope";
    const Shape& x = g.value(node.inputs[0]).shape;
    const std::int64_t channels = x.empty() ? 1 : x.back();
    bool per_channel = b.constant->numel() == channels;
    for (std::size_t d = 0; d + 1 < b.shape.size(); ++d) per_channel = per_channel && b.shape[d] == 1;
    if (!per_channel && b.constant->numel() != 1)
      return "no int8 kernel for PRelu whose slope varies along another axis than the last";
    return std::nullopt;
  }
  if (node.op == Op::Pow) return "no int8 kernel for Pow";
  if (node.op == Op::Div && !b.is_constant()) return "no int8 kernel for division by a tensor computed at run time";
  return std::nullopt;
}

// MatMul of two activations: what rt::matmul_s8 takes (each operand one matrix per batch, or
// one matrix shared by all), as the float executor does.
std::optional<std::string> matmul_support(const Graph& g, const Node& node) {
  const Value &a = g.value(node.inputs[0]), &b = g.value(node.inputs[1]);
  if (a.is_constant() || b.is_constant())
    return "no int8 kernel for MatMul with a constant operand that is not a Dense weight (fold it into a Dense)";
  if (a.layout != Layout::Plain || b.layout != Layout::Plain)
    return "no int8 kernel for MatMul on a channels-last (NHWC) tensor";
  if (a.shape.size() < 2 || b.shape.size() < 2 || a.shape.size() > 4 || b.shape.size() > 4)
    return fmt::format("no int8 kernel for MatMul of rank-{} by rank-{} operands (ranks 2 to 4)", a.shape.size(),
                       b.shape.size());
  const Shape& y = g.value(node.outputs[0]).shape;
  const std::int64_t batch = element_count(Shape(y.begin(), y.end() - 2));
  for (const Shape* s : {&a.shape, &b.shape}) {
    const std::int64_t own = element_count(Shape(s->begin(), s->end() - 2));
    if (own != batch && own != 1)
      return fmt::format("no int8 kernel for MatMul of {} by {}: batch dims must match or be all 1",
                         shape_string(a.shape), shape_string(b.shape));
  }
  return std::nullopt;
}

std::optional<std::string> pad_support(const Graph& g, const Node& node) {
  const Shape& x = g.value(node.inputs[0]).shape;
  const auto pads = node.attrs.get_ints("pads");
  if (node.attrs.get_string("mode", "constant") != "constant" || x.size() != 4 || pads.size() != 8 || pads[0] ||
      pads[3] || pads[4] || pads[7])
    return "no int8 kernel for this Pad (only constant padding of H and W of a 4-D tensor)";
  if (std::any_of(pads.begin(), pads.end(), [](std::int64_t p) { return p < 0; }))
    return "no int8 kernel for a Pad with negative pads (cropping)";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> int8_unsupported(const Graph& g, const Node& node) {
  // Empty tensors (a zero dimension) are float only: nothing to quantize, no arena slot.
  for (const auto* ids : {&node.inputs, &node.outputs})
    for (ValueId v : *ids)
      if (v != kNoValue && element_count(g.value(v).shape) == 0)
        return fmt::format("no int8 kernel for empty tensors ('{}' has shape {})", g.value(v).name,
                           shape_string(g.value(v).shape));
  if (is_unary_elementwise(node.op)) return std::nullopt;  // a lookup table (Identity: a copy)
  if (is_binary_elementwise(node.op)) return binary_support(g, node);
  switch (node.op) {
    case Op::Conv:
    case Op::Dense:
    case Op::AvgPool:
    case Op::GlobalAvgPool:
    case Op::GlobalMaxPool:
    case Op::Reshape:
    case Op::Concat: return std::nullopt;
    case Op::Resize:
      if (const std::string mode = node.attrs.get_string("mode", "nearest"); mode == "cubic")
        return "no int8 kernel for cubic Resize (nearest and linear resizing are quantized)";
      return std::nullopt;
    case Op::MaxPool: {
      const auto d = node.attrs.get_ints("dilations");
      if (std::any_of(d.begin(), d.begin() + std::min<std::ptrdiff_t>(2, std::ptrdiff_t(d.size())),
                      [](std::int64_t v) { return v != 1; }))
        return "no int8 kernel for dilated max pooling";
      return std::nullopt;
    }
    case Op::ChannelAffine: {
      const Shape& x = g.value(node.inputs[0]).shape;
      const std::int64_t axis = node.attrs.get_int("axis", 1);
      if (axis != std::int64_t(x.size()) - 1 || (x.size() != 4 && x.size() != 2))
        return fmt::format("no int8 kernel for ChannelAffine on axis {} of a rank-{} tensor", axis, x.size());
      return std::nullopt;
    }
    case Op::ConvTranspose:
      if (!g.value(node.inputs[1]).is_constant())
        return "no int8 kernel for ConvTranspose with weights computed at run time";
      return std::nullopt;
    case Op::Conv3d:
    case Op::ConvTranspose3d:
    case Op::MaxPool3d:
    case Op::AvgPool3d:
      return fmt::format("no int8 kernel for 3-D windows ({} on an (N,C,D,H,W) tensor runs in float only)",
                         op_name(node.op));
    case Op::Pad: return pad_support(g, node);
    case Op::MatMul: return matmul_support(g, node);
    case Op::LSTM:
    case Op::GRU:
    case Op::RNN: return recurrent_support(g, node);
    case Op::Transpose:
    case Op::Slice:
    case Op::Gather: {
      const StridedView v = simplified(strided_view(node, g.value(node.inputs[0]).shape));
      if (v.shape.size() > std::size_t(rt::kMaxCopyRank))
        return fmt::format("no int8 kernel for this {}: it moves data over {} axes that cannot be merged (at most {})",
                           op_name(node.op), v.shape.size(), rt::kMaxCopyRank);
      return std::nullopt;
    }
    case Op::Softmax: {
      const Shape& x = g.value(node.inputs[0]).shape;
      std::int64_t axis = node.attrs.get_int("axis", -1);
      if (axis < 0) axis += std::int64_t(x.size());
      if (axis != std::int64_t(x.size()) - 1) return "no int8 kernel for Softmax over a non-last axis";
      return std::nullopt;
    }
    case Op::LayerNorm: {
      const Shape& x = g.value(node.inputs[0]).shape;
      const std::int64_t axis = node.attrs.get_int("axis", -1);
      if (axis != -1 && axis != std::int64_t(x.size()) - 1)
        return "no int8 kernel for LayerNorm over more than the last axis";
      if (!x.empty() && x.back() > (std::int64_t{1} << 15))
        return fmt::format("LayerNorm over {} values exceeds the int8 kernel's 2^15", x.back());
      return std::nullopt;
    }
    default: return fmt::format("no int8 kernel for {}", op_name(node.op));
  }
}

}  // namespace tinyq
