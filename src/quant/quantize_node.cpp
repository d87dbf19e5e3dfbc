#include "quant/quantize_node.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "quant/int8_support.hpp"
#include "util/error.hpp"

namespace tinyq::quant_detail {

namespace {

// round(x / scale) + zero point within the range of p's bits (int8 or int16).
std::int32_t quantize_in_range(float x, const QuantParam& p) {
  const std::int32_t lowest = p.bits == 16 ? -32768 : -128, highest = p.bits == 16 ? 32767 : 127;
  if (std::isnan(x)) return std::clamp(p.zero_point, lowest, highest);  // e.g. sqrt of a negative: real 0
  const double q = std::nearbyint(double(x) / p.scale) + p.zero_point;
  return std::int32_t(std::clamp(q, double(lowest), double(highest)));
}

}  // namespace

std::int8_t quantize_value(float x, const QuantParam& p) {
  QuantParam int8 = p;
  int8.bits = 8;
  return std::int8_t(quantize_in_range(x, int8));
}

Clamp activation_clamp(const Node& node, const QuantParam& out) {
  const float lo = node.attrs.get_float("act_min", -std::numeric_limits<float>::infinity());
  const float hi = node.attrs.get_float("act_max", std::numeric_limits<float>::infinity());
  const bool wide = out.bits == 16;
  return {std::isfinite(lo) ? quantize_in_range(lo, out) : (wide ? -32768 : -128),
          std::isfinite(hi) ? quantize_in_range(hi, out) : (wide ? 32767 : 127)};
}

std::int32_t param32(const Node& node, std::int64_t v) {
  if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max())
    fail(node.name, "parameter value {} does not fit the int8 kernels' 32-bit fields", v);
  return std::int32_t(v);
}

void append_multiplier(QNode& q, const std::string& requant_key, double real) {
  QuantizedMultiplier m = quantize_multiplier(real);
  q.i32[requant_key + "_multiplier"].push_back(m.multiplier);
  q.i32[requant_key + "_shift"].push_back(m.shift);
}

QNode quantize_node(const Context& ctx, const Node& node) {
  // Which nodes have an int8 kernel is decided in one place, from the float graph, so that
  // `inspect` says the same before calibrating; the builders below assume it.
  if (auto why = int8_unsupported(ctx.graph, node)) fail(node.name, "{}", *why);
  // Identity is data movement (no table); every other unary op is a lookup table.
  if (is_binary_elementwise(node.op)) return quantize_binary(ctx, node);
  if (is_unary_elementwise(node.op) && node.op != Op::Identity) return quantize_unary(ctx, node);
  switch (node.op) {
    case Op::Conv: return quantize_conv(ctx, node);
    case Op::ConvTranspose: return quantize_conv_transpose(ctx, node);
    case Op::Dense: return quantize_dense(ctx, node);
    case Op::MatMul: return quantize_matmul(ctx, node);
    case Op::LSTM:
    case Op::GRU:
    case Op::RNN: return quantize_recurrent(ctx, node);
    case Op::ChannelAffine: return quantize_channel_affine(ctx, node);
    case Op::MaxPool:
    case Op::AvgPool:
    case Op::GlobalAvgPool:
    case Op::GlobalMaxPool: return quantize_pool(ctx, node);
    case Op::Reshape:
    case Op::Identity:
    case Op::Concat:
    case Op::Pad:
    case Op::Resize:
    case Op::Transpose:
    case Op::Slice:
    case Op::Gather: return quantize_data_movement(ctx, node);
    case Op::Softmax: return quantize_softmax(ctx, node);
    case Op::LayerNorm: return quantize_layer_norm(ctx, node);
    default: fail(node.name, "no int8 kernel for {} (node '{}')", op_name(node.op), node.name);
  }
}

}  // namespace tinyq::quant_detail
