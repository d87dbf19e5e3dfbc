#pragma once
// Internal: turning one float IR node into one QNode, given the quantization of every
// activation. One function per kernel family in quantize_*.cpp.
#include <functional>
#include <unordered_map>

#include "ir/qgraph.hpp"
#include "quant/multiplier.hpp"

namespace tinyq::quant_detail {

struct Context {
  const Graph& graph;
  const QuantSettings& settings;
  // Quantization of every activation value of `graph` (by ValueId) and its QValue index.
  const std::unordered_map<ValueId, QuantParam>& params;
  const std::unordered_map<ValueId, int>& qvalue;

  const QuantParam& param(ValueId v) const { return params.at(v); }
  bool pow2() const { return settings.scheme == "pow2"; }
  bool per_channel() const { return settings.granularity == "channel"; }
  bool nnom() const { return settings.preset == "nnom"; }
};

// Fills everything but inputs/output/name (the caller does those).
QNode quantize_node(const Context& ctx, const Node& node);

// Helpers shared by the quantize_*.cpp files.
std::int8_t quantize_value(float x, const QuantParam& p);
// The output clamp in the output's domain: the quantized images of the node's fused act_min /
// act_max, within [-128, 127] (int16 outputs: [-32768, 32767]).
struct Clamp {
  std::int32_t min, max;
};
Clamp activation_clamp(const Node& node, const QuantParam& out);
// `v` as a 32-bit kernel parameter; fails naming the node when it does not fit.
std::int32_t param32(const Node& node, std::int64_t v);
// Appends the multiplier and shift of `real` to a Requant's arrays (key: its field's key).
void append_multiplier(QNode& q, const std::string& requant_key, double real);

QNode quantize_conv(const Context& ctx, const Node& node);
QNode quantize_conv_transpose(const Context& ctx, const Node& node);
QNode quantize_dense(const Context& ctx, const Node& node);
QNode quantize_channel_affine(const Context& ctx, const Node& node);
QNode quantize_pool(const Context& ctx, const Node& node);
QNode quantize_binary(const Context& ctx, const Node& node);
QNode quantize_matmul(const Context& ctx, const Node& node);
QNode quantize_recurrent(const Context& ctx, const Node& node);
QNode quantize_unary(const Context& ctx, const Node& node);
// The unary op a lookup table holds: the float op clamped as the node clamps (its fused
// act_min / act_max). The int8 table (quantize_unary) and the int16 one (quant/widen.cpp).
std::function<float(float)> clamped_unary_function(const Node& node);
// An average pooling's divisor table: count_multiplier / count_shift for n = 0 .. taps taps
// (entry 0 unused), each s_in / (s_out * n). Written by quantize_pool, rebuilt for int16.
void set_count_multipliers(QNode& q, std::int64_t taps, double in_scale, double out_scale);
// A concat input's requantization into the output's format: multiplier 0 (a plain copy) where
// the formats are one (scale, zero point and width), else s_in / s_out; throws naming `node`
// when the ratio is too small to requantize. Written by the int8 quantizer, rebuilt for int16.
QuantizedMultiplier concat_input_multiplier(const QuantParam& in, const QuantParam& out, const std::string& node);
QNode quantize_data_movement(const Context& ctx, const Node& node);
QNode quantize_softmax(const Context& ctx, const Node& node);
QNode quantize_layer_norm(const Context& ctx, const Node& node);

}  // namespace tinyq::quant_detail
