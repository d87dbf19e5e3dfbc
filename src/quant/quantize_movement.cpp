// Ops that move int8 data: reshape, concat, pad, resize, transpose/slice/gather (one strided
// copy); and softmax's fixed output format.
#include <algorithm>
#include <cmath>

#include "exec/float/resize.hpp"
#include "exec/float_ops.hpp"
#include "ir/strided_view.hpp"
#include "qmodel/kernel_fields.hpp"
#include "quant/quantize_node.hpp"
#include "util/error.hpp"

namespace tinyq::quant_detail {

namespace {

// Bilinear Resize on the float executor's tap tables (fk::resize_taps, so int8 reads the
// same pixels), weights rounded to Q10 per axis; the output keeps the input's quantization
// (a weighted mean of values stays in their range).
QNode quantize_resize_bilinear(const Context& ctx, const Node& node, const Shape& x, const Shape& y) {
  const QuantParam& in = ctx.param(node.inputs[0]);
  const QuantParam& out = ctx.param(node.outputs[0]);
  if (in.scale != out.scale || in.zero_point != out.zero_point)
    fail(node.name, "Resize output quantized differently from its input");
  const auto [taps_y, taps_x] = fk::resize_taps(node, x, y);
  QNode q;
  q.kernel = QKernel::ResizeBilinear;
  auto p32 = [&](std::int64_t v) { return param32(node, v); };
  write_scalars(q, rt::ResizeBilinearParams{
                       .batch = p32(x[0]),
                       .in_h = p32(x[1]),
                       .in_w = p32(x[2]),
                       .channels = p32(x[3]),
                       .out_h = p32(y[1]),
                       .out_w = p32(y[2]),
                       .y_index = nullptr,
                       .y_weight = nullptr,
                       .x_index = nullptr,
                       .x_weight = nullptr,
                       .extrapolation = quantize_value(node.attrs.get_float("extrapolation_value", 0.0f), in)});
  auto store = [&](const fk::ResizeAxisTaps& t, std::string_view index_key, std::string_view weight_key) {
    auto& index = q.i32[std::string(index_key)];
    auto& weight = q.i32[std::string(weight_key)];
    for (std::size_t o = 0; o < t.outside.size(); ++o) {
      // Linear weights sum to 1 (exclude_outside renormalises), so the pair sums to 1024 exactly.
      const auto w1 = std::int32_t(std::lround(std::clamp(t.weight[2 * o + 1], 0.0, 1.0) * 1024.0));
      index.push_back(t.outside[o] ? -1 : std::int32_t(t.index[2 * o]));
      index.push_back(std::int32_t(t.index[2 * o + 1]));
      weight.push_back(1024 - w1);
      weight.push_back(w1);
    }
  };
  store(taps_y, key_of(&rt::ResizeBilinearParams::y_index), key_of(&rt::ResizeBilinearParams::y_weight));
  store(taps_x, key_of(&rt::ResizeBilinearParams::x_index), key_of(&rt::ResizeBilinearParams::x_weight));
  return q;
}

}  // namespace

QNode quantize_data_movement(const Context& ctx, const Node& node) {
  const Shape& y = ctx.graph.value(node.outputs[0]).shape;
  const QuantParam& out = ctx.param(node.outputs[0]);
  QNode q;
  switch (node.op) {
    case Op::Reshape:
    case Op::Identity: q.kernel = QKernel::Reshape; return q;
    case Op::Concat: {
      q.kernel = QKernel::Concat;
      std::int64_t axis = node.attrs.get_int("axis", 0);
      if (axis < 0) axis += std::int64_t(y.size());
      std::int64_t outer = 1;
      for (std::int64_t d = 0; d < axis; ++d) outer *= y[std::size_t(d)];
      write_scalars(q, rt::ConcatParams{.inputs = param32(node, std::int64_t(node.inputs.size())),
                                        .outer = param32(node, outer),
                                        .input_row = nullptr,
                                        .input_offset = nullptr,
                                        .multiplier = nullptr,
                                        .shift = nullptr,
                                        .output_offset = out.zero_point});
      using P = rt::ConcatParams;
      auto& rows = q.i32[key_of(&P::input_row)];
      auto& offsets = q.i32[key_of(&P::input_offset)];
      auto& multipliers = q.i32[key_of(&P::multiplier)];
      auto& shifts = q.i32[key_of(&P::shift)];
      for (ValueId in : node.inputs) {
        const QuantParam& p = ctx.param(in);
        rows.push_back(param32(node, element_count(ctx.graph.value(in).shape) / outer));
        offsets.push_back(-p.zero_point);
        const QuantizedMultiplier m = concat_input_multiplier(p, out, node.name);
        multipliers.push_back(m.multiplier);
        shifts.push_back(m.shift);
      }
      return q;
    }
    case Op::Pad: {
      const Shape& x = ctx.graph.value(node.inputs[0]).shape;
      auto pads = node.attrs.get_ints("pads");
      const QuantParam& in = ctx.param(node.inputs[0]);
      q.kernel = QKernel::Pad;
      auto p32 = [&](std::int64_t v) { return param32(node, v); };
      write_scalars(q, rt::PadParams{.batch = p32(x[0]),
                                     .in_h = p32(x[1]),
                                     .in_w = p32(x[2]),
                                     .channels = p32(x[3]),
                                     .pad_top = p32(pads[1]),
                                     .pad_left = p32(pads[2]),
                                     .pad_bottom = p32(pads[5]),
                                     .pad_right = p32(pads[6]),
                                     .value = quantize_value(node.attrs.get_float("value", 0), in)});
      return q;
    }
    case Op::Resize: {
      const Shape& x = ctx.graph.value(node.inputs[0]).shape;
      if (node.attrs.get_string("mode", "nearest") == "linear") return quantize_resize_bilinear(ctx, node, x, y);
      auto scales = node.attrs.get_floats("scales");
      const auto coord = node.attrs.get_string("coordinate_transformation_mode", "half_pixel");
      const auto nearest = node.attrs.get_string("nearest_mode", "round_prefer_floor");
      q.kernel = QKernel::Resize;
      auto p32 = [&](std::int64_t v) { return param32(node, v); };
      write_scalars(q, rt::ResizeParams{.batch = p32(x[0]),
                                        .in_h = p32(x[1]),
                                        .in_w = p32(x[2]),
                                        .channels = p32(x[3]),
                                        .out_h = p32(y[1]),
                                        .out_w = p32(y[2]),
                                        .source_y = nullptr,
                                        .source_x = nullptr});
      for (auto i : fops::nearest_source_indices(x[1], y[1], scales.at(1), coord, nearest))
        q.i32[key_of(&rt::ResizeParams::source_y)].push_back(std::int32_t(i));
      for (auto i : fops::nearest_source_indices(x[2], y[2], scales.at(2), coord, nearest))
        q.i32[key_of(&rt::ResizeParams::source_x)].push_back(std::int32_t(i));
      return q;
    }
    case Op::Transpose:
    case Op::Slice:
    case Op::Gather: {
      // Pure data movement: the output shares the input's quantization (op_rules.hpp), so
      // the bytes are copied as they are.
      const QuantParam& in = ctx.param(node.inputs[0]);
      if (in.scale != out.scale || in.zero_point != out.zero_point)
        fail(node.name, "{} output quantized differently from its input", op_name(node.op));
      const StridedView v = simplified(strided_view(node, ctx.graph.value(node.inputs[0]).shape));
      q.kernel = QKernel::StridedCopy;
      auto p32 = [&](std::int64_t x) { return param32(node, x); };
      using P = rt::StridedCopyParams;
      write_scalars(q, P{.rank = p32(std::int64_t(v.shape.size())),
                         .shape = nullptr,
                         .stride = nullptr,
                         .offset = p32(v.offset),
                         .index_axis = v.index_axis,
                         .index = nullptr});
      for (std::size_t d = 0; d < v.shape.size(); ++d) {
        q.i32[key_of(&P::shape)].push_back(p32(v.shape[d]));
        q.i32[key_of(&P::stride)].push_back(p32(v.stride[d]));
      }
      for (auto i : v.index) q.i32[key_of(&P::index)].push_back(p32(i));
      return q;
    }
    default: fail(node.name, "no int8 kernel for {}", op_name(node.op));
  }
}

QNode quantize_softmax(const Context& ctx, const Node& node) {
  const Shape& x = ctx.graph.value(node.inputs[0]).shape;
  const QuantParam& in = ctx.param(node.inputs[0]);
  QNode q;
  q.kernel = QKernel::Softmax;
  q.ints = {{"rows", element_count(x) / x.back()}, {"depth", x.back()}};
  // exp(x_i - max) for every possible int8 difference d = max - q: computed here, once.
  for (int d = 0; d < 256; ++d)
    q.i32["exp_table"].push_back(std::int32_t(std::nearbyint(65536.0 * std::exp(-double(in.scale) * d))));
  return q;
}

QuantizedMultiplier concat_input_multiplier(const QuantParam& in, const QuantParam& out, const std::string& node) {
  if (in.scale == out.scale && in.zero_point == out.zero_point && in.bits == out.bits) return {0, 0};
  const QuantizedMultiplier m = quantize_multiplier(double(in.scale) / out.scale);
  if (m.multiplier == 0) fail(node, "concat input scale ratio too small to requantize");
  return m;
}

}  // namespace tinyq::quant_detail
