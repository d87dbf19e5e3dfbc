// Binary ops (add, sub, mul, div by a constant, PReLU) and unary ops as lookup tables.
#include <algorithm>
#include <cmath>
#include <limits>

#include "exec/float_ops.hpp"
#include "qmodel/kernel_fields.hpp"
#include "quant/calibration.hpp"
#include "quant/quantize_node.hpp"
#include "util/error.hpp"

namespace tinyq::quant_detail {

namespace {

// A constant operand gets its own per-tensor quantization from its values.
QuantParam constant_param(const Context& ctx, const Tensor& t) {
  float lo = 0, hi = 0;
  for (float v : t.f32()) lo = std::min(lo, v), hi = std::max(hi, v);
  if (ctx.pow2()) return {std::ldexp(1.0f, -nnom_frac_bits(std::max(-lo, hi))), 0};
  if (hi - lo < 1e-12f) hi = lo + 1e-12f;
  float scale = (hi - lo) / 255.0f;
  return {scale, std::int32_t(std::clamp(std::nearbyint(-128.0f - lo / scale), -128.0f, 127.0f))};
}

std::vector<std::int32_t> shape_words(const Shape& s) { return {s.begin(), s.end()}; }

// Record operand `index` ("a" or "b"): an activation input, or a quantized constant.
QuantParam bind_operand(const Context& ctx, QNode& q, const Node& node, std::size_t index, const char* name,
                        bool reciprocal) {
  const Value& v = ctx.graph.value(node.inputs[index]);
  q.i32[std::string(name) + "_shape"] = shape_words(v.shape);
  if (!v.is_constant()) {
    q.ints[std::string(name) + "_const"] = 0;
    return ctx.param(node.inputs[index]);
  }
  Tensor t = *v.constant;
  if (reciprocal)
    for (auto& x : t.f32()) {
      if (x == 0.0f) fail(node.name, "division by a constant holding 0");
      x = 1.0f / x;
    }
  QuantParam p = constant_param(ctx, t);
  std::vector<std::int8_t> values;
  for (float x : t.f32()) values.push_back(quantize_value(x, p));
  q.i8[std::string(name) + "_const"] = std::move(values);
  q.ints[std::string(name) + "_const"] = 1;
  return p;
}

}  // namespace

QNode quantize_binary(const Context& ctx, const Node& node) {
  QNode q;
  const QuantParam& out = ctx.param(node.outputs[0]);
  q.i32["out_shape"] = shape_words(ctx.graph.value(node.outputs[0]).shape);
  if (node.op == Op::PRelu) {
    const Value& slope = ctx.graph.value(node.inputs[1]);
    const Shape& x = ctx.graph.value(node.inputs[0]).shape;
    const std::int64_t channels = x.empty() ? 1 : x.back();
    const QuantParam& in = ctx.param(node.inputs[0]);
    q.kernel = QKernel::Prelu;
    const QuantizedMultiplier positive = quantize_multiplier(double(in.scale) / out.scale);
    const Clamp clamp = activation_clamp(node, out);
    write_scalars(q, rt::PreluParams{.outer = param32(node, element_count(x) / channels),
                                     .channels = param32(node, channels),
                                     .input_offset = -in.zero_point,
                                     .output_offset = out.zero_point,
                                     .positive_multiplier = positive.multiplier,
                                     .positive_shift = positive.shift,
                                     .negative = {},
                                     .act_min = clamp.min,
                                     .act_max = clamp.max});
    for (float a : slope.constant->f32())
      append_multiplier(q, key_of(&rt::PreluParams::negative), double(a) * in.scale / out.scale);
    return q;
  }
  const bool divide = node.op == Op::Div;
  const QuantParam a = bind_operand(ctx, q, node, 0, "a", false);
  const QuantParam b = bind_operand(ctx, q, node, 1, "b", divide);
  if (q.ints["a_const"] && q.ints["b_const"]) fail(node.name, "both operands are constants (fold them first)");
  const Clamp clamp = activation_clamp(node, out);
  if (node.op == Op::Mul || divide) {
    q.kernel = QKernel::Mul;
    const QuantizedMultiplier m = quantize_multiplier(double(a.scale) * b.scale / out.scale);
    write_scalars(q, rt::MulParams{.a_offset = -a.zero_point,
                                   .b_offset = -b.zero_point,
                                   .output_offset = out.zero_point,
                                   .output_multiplier = m.multiplier,
                                   .output_shift = m.shift,
                                   .act_min = clamp.min,
                                   .act_max = clamp.max});
    return q;
  }
  // TFLite's integer add: both inputs rescaled to a common scale with 20 bits of headroom.
  q.kernel = QKernel::Add;
  const int left_shift = 20;
  const double twice_max = 2.0 * std::max(a.scale, b.scale);
  const QuantizedMultiplier ma = quantize_multiplier(a.scale / twice_max);
  const QuantizedMultiplier mb = quantize_multiplier((node.op == Op::Sub ? -1.0 : 1.0) * b.scale / twice_max);
  const QuantizedMultiplier mo = quantize_multiplier(twice_max / (std::ldexp(1.0, left_shift) * out.scale));
  write_scalars(q, rt::AddParams{.a_offset = -a.zero_point,
                                 .b_offset = -b.zero_point,
                                 .output_offset = out.zero_point,
                                 .left_shift = left_shift,
                                 .a_multiplier = ma.multiplier,
                                 .a_shift = ma.shift,
                                 .b_multiplier = mb.multiplier,
                                 .b_shift = mb.shift,
                                 .output_multiplier = mo.multiplier,
                                 .output_shift = mo.shift,
                                 .act_min = clamp.min,
                                 .act_max = clamp.max});
  return q;
}

std::function<float(float)> clamped_unary_function(const Node& node) {
  const float lo = node.attrs.get_float("act_min", -std::numeric_limits<float>::infinity());
  const float hi = node.attrs.get_float("act_max", std::numeric_limits<float>::infinity());
  return [f = fops::unary_function(node.op, node.attrs), lo, hi](float x) { return std::clamp(f(x), lo, hi); };
}

QNode quantize_unary(const Context& ctx, const Node& node) {
  const QuantParam &in = ctx.param(node.inputs[0]), &out = ctx.param(node.outputs[0]);
  const auto f = clamped_unary_function(node);
  QNode q;
  q.kernel = QKernel::Lookup;
  std::vector<std::int8_t> table(256);
  for (int i = 0; i < 256; ++i) {
    const float x = in.scale * float(i - 128 - in.zero_point);
    table[std::size_t(i)] = quantize_value(f(x), out);
  }
  q.i8["table"] = std::move(table);
  return q;
}

}  // namespace tinyq::quant_detail
