// Conv, transposed conv, depthwise conv, dense and per-channel affine: int8 weights (symmetric, per output
// channel or per tensor), int32 bias, per-channel requantization.
#include <algorithm>
#include <cmath>
#include <limits>

#include "qmodel/kernel_fields.hpp"
#include "quant/calibration.hpp"
#include "quant/quantize_node.hpp"
#include "util/error.hpp"

namespace tinyq::quant_detail {

namespace {

struct QuantizedWeights {
  std::vector<std::int8_t> values;
  std::vector<double> scale;  // per output channel (repeated when per tensor)
};

// w has its output channels on axis 0: [O, ...].
// A channel whose weights are tiny next to its bias (a BatchNorm-folded channel that is all
// but dead: MLPerf Tiny's VWW has weights of 1e-9 beside a bias of 0.5) would get a weight
// scale so small that the bias, stored as int32 in units of s_in * s_w, overflows. Its
// scale is raised until the bias fits with a factor 2 of headroom (bias correction may
// grow it); what the coarser scale loses is weights that contribute nothing next to the bias.
double bias_safe_scale(double scale, const Tensor* bias, std::int64_t channel, double s_in, bool pow2) {
  if (!bias || !(s_in > 0)) return scale;
  const double b = std::abs(double(bias->f32()[std::size_t(channel)]));
  const double needed = b / (s_in * std::ldexp(1.0, 30));
  if (!(needed > scale)) return scale;
  if (!pow2) return needed;
  while (scale < needed) scale *= 2;
  return scale;
}

QuantizedWeights quantize_weights(const Context& ctx, const Tensor& w, const Tensor* bias, double s_in) {
  const std::int64_t channels = w.shape()[0], per = w.numel() / channels;
  auto data = w.f32();
  std::vector<double> max_abs(std::size_t(channels), 0.0);
  for (std::int64_t o = 0; o < channels; ++o)
    for (std::int64_t i = 0; i < per; ++i)
      max_abs[std::size_t(o)] = std::max(max_abs[std::size_t(o)], double(std::abs(data[std::size_t(o * per + i)])));
  if (!ctx.per_channel()) {
    double all = 0;
    for (double m : max_abs) all = std::max(all, m);
    for (double& m : max_abs) m = all;
  }
  QuantizedWeights q;
  for (std::int64_t o = 0; o < channels; ++o) {
    double m = max_abs[std::size_t(o)];
    double scale;
    if (ctx.pow2()) {
      // Shift-only hardware: the largest power of two that keeps max|w| in range (NNoM's rule).
      scale = std::ldexp(1.0, -nnom_frac_bits(float(m)));
    } else {
      scale = m > 0 ? m / 127.0 : 1.0;  // symmetric [-127, 127], as the TFLite int8 spec
    }
    q.scale.push_back(bias_safe_scale(scale, bias, o, s_in, ctx.pow2()));
  }
  if (!ctx.per_channel())  // one scale for the tensor: the largest any channel needs
    std::fill(q.scale.begin(), q.scale.end(), *std::max_element(q.scale.begin(), q.scale.end()));
  q.values.resize(std::size_t(w.numel()));
  for (std::int64_t o = 0; o < channels; ++o)
    for (std::int64_t i = 0; i < per; ++i) {
      double v = std::nearbyint(double(data[std::size_t(o * per + i)]) / q.scale[std::size_t(o)]);
      q.values[std::size_t(o * per + i)] = std::int8_t(std::clamp(v, -127.0, 127.0));
    }
  return q;
}

std::vector<std::int32_t> quantize_bias(const Context& ctx, const Node& node, const Tensor* bias, double s_in,
                                        const std::vector<double>& s_w) {
  std::vector<std::int32_t> out(s_w.size(), 0);
  if (!bias) return out;
  auto b = bias->f32();
  // NNoM 0.4 stores biases as int8 with their own power-of-two format and shifts them into
  // the accumulator: reproduce that loss for the baseline preset.
  int bias_frac = 0;
  if (ctx.nnom()) {
    float m = 0;
    for (float v : b) m = std::max(m, std::abs(v));
    bias_frac = nnom_frac_bits(m);
  }
  for (std::size_t c = 0; c < out.size(); ++c) {
    double real = b[c];
    if (ctx.nnom())
      real = std::clamp(std::nearbyint(std::ldexp(real, bias_frac)), -128.0, 127.0) * std::ldexp(1.0, -bias_frac);
    double q = std::nearbyint(real / (s_in * s_w[c]));
    if (std::abs(q) > double(std::numeric_limits<std::int32_t>::max()))
      fail(node.name, "bias of channel {} does not fit int32 at this scale", c);
    out[c] = std::int32_t(q);
  }
  return out;
}

// The largest |accumulator| any input can produce must fit int32 (DESIGN: never wrap silently).
void check_accumulator(const Node& node, const std::vector<std::int8_t>& w, std::int64_t channels,
                       const std::vector<std::int32_t>& bias, std::int32_t input_zero_point) {
  const std::int64_t per = std::int64_t(w.size()) / channels;
  const std::int64_t max_input = std::max(std::abs(-128 - input_zero_point), std::abs(127 - input_zero_point));
  for (std::int64_t o = 0; o < channels; ++o) {
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < per; ++i) sum += std::abs(std::int64_t(w[std::size_t(o * per + i)]));
    std::int64_t worst = sum * max_input + std::abs(std::int64_t(bias[std::size_t(o)]));
    if (worst > std::numeric_limits<std::int32_t>::max())
      fail(node.name, "int32 accumulator could overflow on output channel {} ({} > 2^31-1)", o, worst);
  }
}

void set_requant(QNode& q, double s_in, const std::vector<double>& s_w, double s_out) {
  for (double s : s_w) append_multiplier(q, key_of(&rt::ConvParams::requant), s_in * s / s_out);
}

// What conv2d_s8 and conv_transpose2d_s8 both read (rt::ConvParams: geometry, offsets, fused
// clamp; weights [O, KH, KW, C/g], int32 bias, per-channel requantization).
void write_conv_fields(QNode& q, const Context& ctx, const Node& node, std::int64_t kernel_h, std::int64_t kernel_w,
                       QuantizedWeights qw, std::vector<std::int32_t> bias) {
  const Shape& x = ctx.graph.value(node.inputs[0]).shape;
  const Shape& y = ctx.graph.value(node.outputs[0]).shape;
  const QuantParam &in = ctx.param(node.inputs[0]), &out = ctx.param(node.outputs[0]);
  const std::int64_t group = node.attrs.get_int("group", 1);
  auto attr = [&](const char* key, std::size_t i, std::int64_t fallback) {
    auto v = node.attrs.get_ints(key);
    return i < v.size() ? v[i] : fallback;
  };
  auto p32 = [&](std::int64_t v) { return param32(node, v); };
  const Clamp clamp = activation_clamp(node, out);
  write_scalars(q, rt::ConvParams{.batch = p32(x[0]),
                                  .in_h = p32(x[1]),
                                  .in_w = p32(x[2]),
                                  .in_c = p32(x[3]),
                                  .out_h = p32(y[1]),
                                  .out_w = p32(y[2]),
                                  .out_c = p32(y[3]),
                                  .kernel_h = p32(kernel_h),
                                  .kernel_w = p32(kernel_w),
                                  .stride_h = p32(attr("strides", 0, 1)),
                                  .stride_w = p32(attr("strides", 1, 1)),
                                  .dilation_h = p32(attr("dilations", 0, 1)),
                                  .dilation_w = p32(attr("dilations", 1, 1)),
                                  .pad_top = p32(attr("pads", 0, 0)),
                                  .pad_left = p32(attr("pads", 1, 0)),
                                  .groups = p32(group),
                                  .input_offset = -in.zero_point,
                                  .output_offset = out.zero_point,
                                  .act_min = clamp.min,
                                  .act_max = clamp.max,
                                  .requant = {}});
  q.i8["weights"] = std::move(qw.values);
  q.i32["bias"] = std::move(bias);
  set_requant(q, in.scale, qw.scale, out.scale);
}
}  // namespace

QNode quantize_conv(const Context& ctx, const Node& node) {
  const Shape& x = ctx.graph.value(node.inputs[0]).shape;
  const Tensor& w = *ctx.graph.value(node.inputs[1]).constant;  // [O, KH, KW, C/g]
  const Tensor* b =
      node.inputs.size() > 2 && node.inputs[2] != kNoValue ? &*ctx.graph.value(node.inputs[2]).constant : nullptr;
  const QuantParam& in = ctx.param(node.inputs[0]);
  const std::int64_t group = node.attrs.get_int("group", 1);
  const bool depthwise = group == x[3] && group > 1 && w.shape()[3] == 1;

  QNode q;
  q.kernel = depthwise ? QKernel::Depthwise : QKernel::Conv;
  QuantizedWeights qw = quantize_weights(ctx, w, b, in.scale);
  std::vector<std::int32_t> bias = quantize_bias(ctx, node, b, in.scale, qw.scale);
  check_accumulator(node, qw.values, w.shape()[0], bias, in.zero_point);
  if (depthwise) {
    // [O, KH, KW, 1] -> [1, KH, KW, O]: the depthwise kernels read all channels of a tap together.
    const std::int64_t o_count = w.shape()[0], taps = w.shape()[1] * w.shape()[2];
    std::vector<std::int8_t> relaid(qw.values.size());
    for (std::int64_t o = 0; o < o_count; ++o)
      for (std::int64_t t = 0; t < taps; ++t)
        relaid[std::size_t(t * o_count + o)] = qw.values[std::size_t(o * taps + t)];
    qw.values = std::move(relaid);
  }
  write_conv_fields(q, ctx, node, w.shape()[1], w.shape()[2], std::move(qw), std::move(bias));
  return q;
}

// ConvTranspose: the IR's weights [C, KH, KW, O/g] are re-laid out to conv's [O, KH, KW, C/g],
// the layout the gather kernel reads (one output channel's taps contiguous); then per-channel
// weights, bias and requantization exactly as conv.
QNode quantize_conv_transpose(const Context& ctx, const Node& node) {
  const Shape& x = ctx.graph.value(node.inputs[0]).shape;
  const Tensor& w = *ctx.graph.value(node.inputs[1]).constant;  // [C, KH, KW, O/g]
  const Tensor* b =
      node.inputs.size() > 2 && node.inputs[2] != kNoValue ? &*ctx.graph.value(node.inputs[2]).constant : nullptr;
  const QuantParam& in = ctx.param(node.inputs[0]);
  const std::int64_t group = node.attrs.get_int("group", 1);
  const std::int64_t kh = w.shape()[1], kw = w.shape()[2], cin_g = x[3] / group, cout_g = w.shape()[3];
  const std::int64_t out_c = cout_g * group, taps = kh * kw;
  std::vector<float> ohwi(std::size_t(w.numel()));
  auto src = w.f32();
  for (std::int64_t g = 0; g < group; ++g)
    for (std::int64_t ci = 0; ci < cin_g; ++ci)
      for (std::int64_t t = 0; t < taps; ++t)
        for (std::int64_t j = 0; j < cout_g; ++j)
          ohwi[std::size_t(((g * cout_g + j) * taps + t) * cin_g + ci)] =
              src[std::size_t(((g * cin_g + ci) * taps + t) * cout_g + j)];
  const Tensor relaid = Tensor::from_floats({out_c, kh, kw, cin_g}, ohwi);

  QNode q;
  q.kernel = QKernel::ConvTranspose;
  QuantizedWeights qw = quantize_weights(ctx, relaid, b, in.scale);
  std::vector<std::int32_t> bias = quantize_bias(ctx, node, b, in.scale, qw.scale);
  // Each tap adds at most one input pixel to an output: conv's bound over [O, KH, KW, C/g].
  check_accumulator(node, qw.values, out_c, bias, in.zero_point);
  write_conv_fields(q, ctx, node, kh, kw, std::move(qw), std::move(bias));
  return q;
}

QNode quantize_dense(const Context& ctx, const Node& node) {
  const Shape& x = ctx.graph.value(node.inputs[0]).shape;
  const Tensor& w = *ctx.graph.value(node.inputs[1]).constant;  // [O, K]
  const Tensor* b =
      node.inputs.size() > 2 && node.inputs[2] != kNoValue ? &*ctx.graph.value(node.inputs[2]).constant : nullptr;
  const QuantParam &in = ctx.param(node.inputs[0]), &out = ctx.param(node.outputs[0]);
  QNode q;
  q.kernel = QKernel::Dense;
  QuantizedWeights qw = quantize_weights(ctx, w, b, in.scale);
  std::vector<std::int32_t> bias = quantize_bias(ctx, node, b, in.scale, qw.scale);
  check_accumulator(node, qw.values, w.shape()[0], bias, in.zero_point);
  const Clamp clamp = activation_clamp(node, out);
  write_scalars(q, rt::DenseParams{.rows = param32(node, element_count(x) / x.back()),
                                   .in_features = param32(node, w.shape()[1]),
                                   .out_features = param32(node, w.shape()[0]),
                                   .input_offset = -in.zero_point,
                                   .output_offset = out.zero_point,
                                   .act_min = clamp.min,
                                   .act_max = clamp.max,
                                   .requant = {}});
  q.i8["weights"] = std::move(qw.values);
  q.i32["bias"] = std::move(bias);
  set_requant(q, in.scale, qw.scale, out.scale);
  return q;
}

// y = x * scale[c] + shift[c] is a depthwise 1×1 convolution with multiplier 1.
QNode quantize_channel_affine(const Context& ctx, const Node& node) {
  const Shape& x = ctx.graph.value(node.inputs[0]).shape;
  const std::int64_t channels = x.back();
  Tensor w = ctx.graph.value(node.inputs[1]).constant->reshaped({channels, 1, 1, 1});
  Node conv = node;
  conv.op = Op::Conv;
  conv.attrs = {};
  for (const char* key : {"act_min", "act_max"})
    if (node.attrs.has(key)) conv.attrs.set(key, node.attrs.get_float(key, 0));
  conv.attrs.set("group", channels);
  // Reuse the conv path on a graph view with the reshaped weights.
  Graph view;
  Value xv = ctx.graph.value(node.inputs[0]);
  if (x.size() == 2) xv.shape = {x[0], 1, 1, x[1]};
  Value yv = ctx.graph.value(node.outputs[0]);
  yv.shape = xv.shape;
  ValueId xi = view.add_value(xv), wi = view.add_constant("w", w),
          bi = view.add_constant("b", *ctx.graph.value(node.inputs[2]).constant), yi = view.add_value(yv);
  conv.inputs = {xi, wi, bi};
  conv.outputs = {yi};
  std::unordered_map<ValueId, QuantParam> params{{xi, ctx.param(node.inputs[0])}, {yi, ctx.param(node.outputs[0])}};
  std::unordered_map<ValueId, int> qvalue;
  Context view_ctx{view, ctx.settings, params, qvalue};
  QNode q = quantize_conv(view_ctx, conv);
  q.kernel = QKernel::Depthwise;
  return q;
}

}  // namespace tinyq::quant_detail
