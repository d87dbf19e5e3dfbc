// Converters for Keras' weighted layers: Conv1D/2D, DepthwiseConv1D/2D, SeparableConv1D/2D,
// Conv1DTranspose/2DTranspose, Dense and BatchNormalization. Keras kernels are stored
// [KH, KW, in, out] (1-D: [K, in, out]); the IR wants conv weights OHWI, so they are
// re-laid out once here.
#include <algorithm>
#include <cctype>
#include <cmath>

#include "frontend/keras/window.hpp"

namespace tinyq::keras_import {

namespace {

constexpr std::int64_t kMaxChannels = std::int64_t{1} << 20;

// Keras kernel [K..., in, out] of a 1-D or 2-D layer, as [KH, KW, in, out].
Tensor kernel_2d(const Tensor& k, int dims) {
  if (dims == 2) return k;
  const Shape& s = k.shape();
  return k.reshaped({1, s[0], s[1], s[2]});
}

// The Keras kernel shape [KH, KW, in, out] (or [K, in, out]) for window `w`.
Shape keras_kernel_shape(const Window& w, int dims, std::int64_t in, std::int64_t out) {
  if (dims == 1) return {w.kernel[1], in, out};
  return {w.kernel[0], w.kernel[1], in, out};
}

ValueId bias_value(LayerCall& c, std::vector<Tensor>& weights, bool use_bias, std::int64_t channels) {
  return c.constant("bias", use_bias ? std::move(weights.back()) : Tensor(DType::f32, {channels}));
}

ValueId convert_conv(LayerCall& c, int dims) {
  c.require_channels_last();
  const ValueId x = to_nhwc(c, c.input(), dims);
  const Shape xs = c.shape(x);
  if (!c.has("filters")) c.fail("has no 'filters'");
  const std::int64_t filters = c.integer("filters", 1, 1, kMaxChannels);
  const std::int64_t groups = c.integer("groups", 1, 1, kMaxChannels);
  if (xs[3] % groups != 0 || filters % groups != 0)
    c.fail("groups {} must divide the input channels {} and the filters {}", groups, xs[3], filters);
  const Window w = read_window(c, xs, dims, "kernel_size", false, dims == 1);
  const bool use_bias = c.flag("use_bias", true);
  std::vector<LayerCall::WeightSpec> specs{{"kernel", keras_kernel_shape(w, dims, xs[3] / groups, filters)}};
  if (use_bias) specs.push_back({"bias", {filters}});
  std::vector<Tensor> weights = c.weights(specs);
  const ValueId kernel = c.constant("kernel_ohwi", kernel_2d(weights[0], dims).transposed({3, 0, 1, 2}));
  const ValueId bias = bias_value(c, weights, use_bias, filters);
  Attributes attrs = window_attrs(w);
  attrs.set("group", groups);
  const ValueId y = c.emit(Op::Conv, {x, kernel, bias}, attrs, "conv");
  return c.activation(from_nhwc(c, y, dims), c.text("activation", "linear"));
}

// The depthwise part of DepthwiseConv and SeparableConv: Keras [KH, KW, C, M] -> IR
// [C*M, KH, KW, 1] (output channel c*M + m reads input channel c), group = C.
ValueId depthwise(LayerCall& c, ValueId x, const Window& w, const Tensor& keras_kernel, int dims, ValueId bias) {
  const std::int64_t channels = c.shape(x)[3];
  const Tensor k = kernel_2d(keras_kernel, dims);  // [KH, KW, C, M]
  const Shape& s = k.shape();
  const Tensor ihw = k.reshaped({s[0], s[1], s[2] * s[3]}).transposed({2, 0, 1});
  const ValueId kernel = c.constant("depthwise_kernel_ohwi", ihw.reshaped({s[2] * s[3], s[0], s[1], 1}));
  Attributes attrs = window_attrs(w);
  attrs.set("group", channels);
  return c.emit(Op::Conv, {x, kernel, bias}, attrs, "depthwise");
}

ValueId convert_depthwise(LayerCall& c, int dims) {
  c.require_channels_last();
  const ValueId x = to_nhwc(c, c.input(), dims);
  const Shape xs = c.shape(x);
  const std::int64_t multiplier = c.integer("depth_multiplier", 1, 1, kMaxChannels);
  const Window w = read_window(c, xs, dims, "kernel_size", false, dims == 1);
  const bool use_bias = c.flag("use_bias", true);
  std::vector<LayerCall::WeightSpec> specs{{"depthwise_kernel", keras_kernel_shape(w, dims, xs[3], multiplier)}};
  if (use_bias) specs.push_back({"bias", {xs[3] * multiplier}});
  std::vector<Tensor> weights = c.weights(specs);
  const ValueId bias = bias_value(c, weights, use_bias, xs[3] * multiplier);
  const ValueId y = depthwise(c, x, w, weights[0], dims, bias);
  return c.activation(from_nhwc(c, y, dims), c.text("activation", "linear"));
}

// Depthwise (no bias), then a 1x1 convolution with the bias, as Keras computes it.
ValueId convert_separable(LayerCall& c, int dims) {
  c.require_channels_last();
  const ValueId x = to_nhwc(c, c.input(), dims);
  const Shape xs = c.shape(x);
  if (!c.has("filters")) c.fail("has no 'filters'");
  const std::int64_t filters = c.integer("filters", 1, 1, kMaxChannels);
  const std::int64_t multiplier = c.integer("depth_multiplier", 1, 1, kMaxChannels);
  const Window w = read_window(c, xs, dims, "kernel_size", false, dims == 1);
  const bool use_bias = c.flag("use_bias", true);
  const std::int64_t middle = xs[3] * multiplier;
  Window one;
  std::vector<LayerCall::WeightSpec> specs{{"depthwise_kernel", keras_kernel_shape(w, dims, xs[3], multiplier)},
                                           {"pointwise_kernel", keras_kernel_shape(one, dims, middle, filters)}};
  if (use_bias) specs.push_back({"bias", {filters}});
  std::vector<Tensor> weights = c.weights(specs);
  const ValueId zero = c.constant("depthwise_bias", Tensor(DType::f32, {middle}));
  const ValueId mid = depthwise(c, x, w, weights[0], dims, zero);
  const ValueId kernel = c.constant("pointwise_kernel_ohwi", kernel_2d(weights[1], dims).transposed({3, 0, 1, 2}));
  const ValueId bias = bias_value(c, weights, use_bias, filters);
  const ValueId y = c.emit(Op::Conv, {mid, kernel, bias}, window_attrs(one), "pointwise");
  return c.activation(from_nhwc(c, y, dims), c.text("activation", "linear"));
}

// Conv1DTranspose / Conv2DTranspose. Keras picks the output length (deconv_output_length),
// then TensorFlow pads as the forward convolution from that length would: the same rule
// here gives the IR's pads and output_padding.
ValueId convert_conv_transpose(LayerCall& c, int dims) {
  c.require_channels_last();
  const ValueId x = to_nhwc(c, c.input(), dims);
  const Shape xs = c.shape(x);
  if (!c.has("filters")) c.fail("has no 'filters'");
  const std::int64_t filters = c.integer("filters", 1, 1, kMaxChannels);
  if (c.integer("groups", 1, 1, kMaxChannels) != 1) c.fail("groups other than 1 are not supported");
  const Window w = read_window(c, {xs[0], 1, 1, xs[3]}, dims, "kernel_size", false, false);  // pads set below
  std::string padding = c.text("padding", "valid");
  std::transform(padding.begin(), padding.end(), padding.begin(), [](unsigned char ch) { return std::tolower(ch); });
  const bool same = padding == "same";
  const bool has_output_padding = c.has("output_padding");
  const Ints user_padding = c.ints("output_padding", std::size_t(dims), 0, 0, kMaxWindow);
  Ints pads{0, 0, 0, 0}, output_padding{0, 0};
  const int first = 2 - dims;
  for (int i = 0; i < 2; ++i) {
    const std::int64_t in = xs[std::size_t(1 + i)], k = w.kernel[std::size_t(i)], s = w.strides[std::size_t(i)];
    const std::int64_t kd = (k - 1) * w.dilations[std::size_t(i)] + 1;
    std::int64_t out = 0;
    if (i < first) {
      out = in;  // the H axis of a 1-D layer: kernel, stride 1
    } else if (!has_output_padding) {
      out = same ? in * s : in * s + std::max<std::int64_t>(kd - s, 0);
    } else {
      const std::int64_t op = user_padding[std::size_t(i - first)];
      if (op >= s) c.fail("output_padding {} must be smaller than the stride {}", op, s);
      out = (in - 1) * s + kd - 2 * (same ? kd / 2 : 0) + op;
    }
    std::int64_t total = 0;
    if (same) {
      total = std::max<std::int64_t>(((out + s - 1) / s - 1) * s + kd - out, 0);
      if ((out + s - 1) / s != in) c.fail("output size {} does not invert a 'same' convolution of size {}", out, in);
    } else if (out < kd || (out - kd) / s + 1 != in) {
      c.fail("output size {} does not invert a 'valid' convolution of size {}", out, in);
    }
    pads[std::size_t(i)] = total / 2;
    pads[std::size_t(i + 2)] = total - total / 2;
    output_padding[std::size_t(i)] = out - ((in - 1) * s + kd - total);
    if (output_padding[std::size_t(i)] < 0) c.fail("output size {} is smaller than the kernel covers", out);
  }
  const bool use_bias = c.flag("use_bias", true);
  // Keras' transposed kernel is [KH, KW, out, in]; the IR's is [in, KH, KW, out].
  std::vector<LayerCall::WeightSpec> specs{{"kernel", keras_kernel_shape(w, dims, filters, xs[3])}};
  if (use_bias) specs.push_back({"bias", {filters}});
  std::vector<Tensor> weights = c.weights(specs);
  const ValueId kernel = c.constant("kernel_ihwo", kernel_2d(weights[0], dims).transposed({3, 0, 1, 2}));
  const ValueId bias = bias_value(c, weights, use_bias, filters);
  Attributes attrs;
  attrs.set("strides", w.strides);
  attrs.set("dilations", w.dilations);
  attrs.set("pads", pads);
  attrs.set("output_padding", output_padding);
  attrs.set("group", std::int64_t{1});
  const ValueId y = c.emit(Op::ConvTranspose, {x, kernel, bias}, attrs, "conv_transpose");
  return c.activation(from_nhwc(c, y, dims), c.text("activation", "linear"));
}

ValueId convert_dense(LayerCall& c) {
  const ValueId x = c.input();
  const Shape xs = c.shape(x);
  if (xs.size() < 2) c.fail("expects an input of rank 2 or more, got {}", shape_string(xs));
  if (!c.has("units")) c.fail("has no 'units'");
  const std::int64_t units = c.integer("units", 1, 1, std::int64_t{1} << 24);
  const bool use_bias = c.flag("use_bias", true);
  std::vector<LayerCall::WeightSpec> specs{{"kernel", {xs.back(), units}}};
  if (use_bias) specs.push_back({"bias", {units}});
  std::vector<Tensor> weights = c.weights(specs);
  // Keras [in, units]; the IR's Dense weight is [units, in]. The input is already in the
  // order Keras sees it (channels-last, Flatten in H, W, C order): no column permutation.
  const ValueId kernel = c.constant("kernel_oi", weights[0].transposed({1, 0}));
  const ValueId bias = bias_value(c, weights, use_bias, units);
  const ValueId y = c.emit(Op::Dense, {x, kernel, bias}, {}, "dense");
  return c.activation(y, c.text("activation", "linear"));
}

// Inference form: y = (x - moving_mean) / sqrt(moving_variance + epsilon) * gamma + beta, as a
// per-channel scale and shift (ChannelAffine; folded into the producer by the passes).
ValueId convert_batch_norm(LayerCall& c) {
  const ValueId x = c.input();
  const Shape xs = c.shape(x);
  std::int64_t axis = -1;
  const auto& config = c.layer().config;
  if (auto it = config.find("axis"); it != config.end() && !it->is_null()) {
    if (it->is_array() && it->size() != 1) c.fail("normalizing over several axes is not supported");
    const auto& a = it->is_array() ? (*it)[0] : *it;
    if (!a.is_number_integer()) c.fail("'axis' must be an integer");
    axis = a.get<std::int64_t>();
  }
  const auto rank = std::int64_t(xs.size());
  if (axis < 0) axis += rank;
  if (axis < 1 || axis >= rank) c.fail("axis out of range for input {}", shape_string(xs));
  const std::int64_t channels = xs[std::size_t(axis)];
  const bool scale = c.flag("scale", true), center = c.flag("center", true);
  const float epsilon = c.number("epsilon", 1e-3f);
  std::vector<LayerCall::WeightSpec> specs;
  if (scale) specs.push_back({"gamma", {channels}});
  if (center) specs.push_back({"beta", {channels}});
  specs.push_back({"moving_mean", {channels}});
  specs.push_back({"moving_variance", {channels}});
  const std::vector<Tensor> w = c.weights(specs);
  const auto mean = w[w.size() - 2].f32(), variance = w[w.size() - 1].f32();
  Tensor multiplier(DType::f32, {channels}), shift(DType::f32, {channels});
  for (std::size_t i = 0; i < std::size_t(channels); ++i) {
    const float gamma = scale ? w[0].f32()[i] : 1.0f;
    const float beta = center ? w[scale ? 1 : 0].f32()[i] : 0.0f;
    if (!(variance[i] + epsilon > 0)) c.fail("moving_variance + epsilon is not positive at channel {}", i);
    const float s = gamma / std::sqrt(variance[i] + epsilon);
    multiplier.f32()[i] = s;
    shift.f32()[i] = beta - mean[i] * s;
  }
  Attributes attrs;
  attrs.set("axis", axis);
  const ValueId s = c.constant("scale", std::move(multiplier));
  const ValueId t = c.constant("shift", std::move(shift));
  return c.emit(Op::ChannelAffine, {x, s, t}, attrs, "batch_norm");
}

}  // namespace

void register_conv_converters(ConverterTable& t) {
  t["Conv1D"] = [](LayerCall& c) { return convert_conv(c, 1); };
  t["Conv2D"] = [](LayerCall& c) { return convert_conv(c, 2); };
  t["DepthwiseConv1D"] = [](LayerCall& c) { return convert_depthwise(c, 1); };
  t["DepthwiseConv2D"] = [](LayerCall& c) { return convert_depthwise(c, 2); };
  t["SeparableConv1D"] = [](LayerCall& c) { return convert_separable(c, 1); };
  t["SeparableConv2D"] = [](LayerCall& c) { return convert_separable(c, 2); };
  t["Conv1DTranspose"] = [](LayerCall& c) { return convert_conv_transpose(c, 1); };
  t["Conv2DTranspose"] = [](LayerCall& c) { return convert_conv_transpose(c, 2); };
  t["Dense"] = convert_dense;
  t["BatchNormalization"] = convert_batch_norm;
}

}  // namespace tinyq::keras_import
