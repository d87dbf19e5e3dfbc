#include "frontend/tflite/tflite_prequantized_ops.hpp"

#include <fmt/format.h>

#include <cmath>

#include "frontend/tflite/tflite_quant_params.hpp"
#include "ir/shape_inference.hpp"
#include "qmodel/kernel_fields.hpp"
#include "util/error.hpp"

namespace tinyq::tflite {

std::string PrequantContext::at(const OperatorInfo& op) const {
  return fmt::format("{}: operator {} ({})", model.where, op.index, builtin_name(op.builtin_code));
}

const TensorInfo& PrequantContext::input(const OperatorInfo& op, std::size_t i) const {
  if (!has_input(op, i)) fail(at(op), "input {} is missing", i);
  return model.tensors[std::size_t(op.inputs[i])];
}

const TensorInfo& PrequantContext::output(const OperatorInfo& op) const {
  if (op.outputs.size() != 1) fail(at(op), "has {} outputs, 1 expected", op.outputs.size());
  return model.tensors[std::size_t(op.outputs[0])];
}

QuantParam PrequantContext::activation(const OperatorInfo& op, const TensorInfo& t) const {
  if (t.type != TensorType::Int8 || !t.quant.present())
    fail(at(op), "tensor '{}' is {}{}; a pre-quantized model has quantized int8 activations", t.name,
         tensor_type_name(t.type), t.quant.present() ? "" : " without quantization");
  if (t.quant.scale.size() != 1)
    fail(at(op), "activation '{}' has {} scales, 1 expected", t.name, t.quant.scale.size());
  const float scale = t.quant.scale[0];
  const std::int64_t zero_point = t.quant.zero_point[0];
  if (!(scale > 0) || !std::isfinite(scale)) fail(at(op), "activation '{}' has scale {}", t.name, scale);
  if (zero_point < -128 || zero_point > 127)
    fail(at(op), "activation '{}' has zero point {} outside [-128, 127]", t.name, zero_point);
  return {scale, std::int32_t(zero_point)};
}

namespace {

std::int32_t i32(std::int64_t v) { return static_cast<std::int32_t>(v); }

// The bytes of an int8 constant; its quantization must be symmetric (TFLite's int8 weights:
// the kernels have no weight offset) with one scale per tensor or one per slice of `axis`.
std::vector<std::int8_t> int8_weights(const PrequantContext& ctx, const OperatorInfo& op, const TensorInfo& w, int axis,
                                      std::int64_t channels) {
  if (!w.has_data || w.type != TensorType::Int8 || !w.quant.present())
    fail(ctx.at(op), "weights '{}' must be a quantized int8 constant", w.name);
  const std::size_t scales = w.quant.scale.size();
  if (scales != 1 && (scales != std::size_t(channels) || w.quant.quantized_dimension != axis))
    fail(ctx.at(op), "weights '{}' have {} scales along axis {}; 1 or {} along axis {} expected", w.name, scales,
         w.quant.quantized_dimension, channels, axis);
  for (std::size_t c = 0; c < scales; ++c) {
    if (w.quant.zero_point[c] != 0)
      fail(ctx.at(op), "weights '{}' are not symmetric (zero point {})", w.name, w.quant.zero_point[c]);
    if (!(w.quant.scale[c] > 0)) fail(ctx.at(op), "weights '{}' have scale {}", w.name, w.quant.scale[c]);
  }
  return {reinterpret_cast<const std::int8_t*>(w.data.data()),
          reinterpret_cast<const std::int8_t*>(w.data.data()) + w.data.size()};
}

// Input `i` of `op` as an int32 bias of `channels` values (zeros when the input is omitted:
// the generated code names a bias array for every MAC layer).
std::vector<std::int32_t> int32_bias(const PrequantContext& ctx, const OperatorInfo& op, std::size_t i,
                                     std::int64_t channels) {
  std::vector<std::int32_t> bias(std::size_t(channels), 0);
  if (!ctx.has_input(op, i)) return bias;
  const TensorInfo& b = ctx.input(op, i);
  if (!b.has_data || b.type != TensorType::Int32 || b.data.size() != std::size_t(channels) * 4)
    fail(ctx.at(op), "bias '{}' must be an int32 constant of {} values", b.name, channels);
  for (std::size_t c = 0; c < bias.size(); ++c) {  // little-endian, whatever the host
    const std::uint8_t* p = b.data.data() + 4 * c;
    bias[c] = std::int32_t(std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
                           std::uint32_t(p[3]) << 24);
  }
  return bias;
}

const std::vector<std::int64_t>& rank4(const PrequantContext& ctx, const OperatorInfo& op, const TensorInfo& t) {
  if (t.shape.size() != 4)
    fail(ctx.at(op), "tensor '{}' has shape {}; NHWC (4-D) expected", t.name, shape_string(t.shape));
  return t.shape;
}

// The requantization arrays under `key`, one multiplier per channel (or one), checked to be
// within what the runtime takes.
void store_requant(const PrequantContext& ctx, const OperatorInfo& op, QNode& q, const std::string& key,
                   const std::vector<TfliteMultiplier>& multipliers) {
  for (const TfliteMultiplier& m : multipliers) {
    if (m.shift > 30) fail(ctx.at(op), "requantization multiplier 2^{} is too large", m.shift - 1);
    q.i32[key + "_multiplier"].push_back(m.multiplier);
    q.i32[key + "_shift"].push_back(m.shift);
  }
}

// One multiplier per weight channel, TFLite's per-channel (double) product of the scales.
std::vector<TfliteMultiplier> channel_multipliers(const TensorInfo& weights, const QuantParam& in,
                                                  const QuantParam& out) {
  std::vector<TfliteMultiplier> multipliers;
  for (float s_w : weights.quant.scale) multipliers.push_back(conv_channel_multiplier(in.scale, s_w, out.scale));
  return multipliers;
}

void check_output_size(const PrequantContext& ctx, const OperatorInfo& op, const char* axis, std::int64_t computed,
                       std::int64_t declared) {
  if (computed != declared)
    fail(ctx.at(op), "output {} {} does not follow from the input, window and padding ({} expected)", axis, declared,
         computed);
}

}  // namespace

QNode prequantized_conv(const PrequantContext& ctx, const OperatorInfo& op) {
  const bool depthwise = op.builtin_code == std::int32_t(BuiltinOp::DepthwiseConv2D);
  const TensorInfo &xt = ctx.input(op, 0), &wt = ctx.input(op, 1), &yt = ctx.output(op);
  const QuantParam in = ctx.activation(op, xt), out = ctx.activation(op, yt);
  const auto& x = rank4(ctx, op, xt);
  const auto& w = rank4(ctx, op, wt);  // conv [O, KH, KW, C / groups]; depthwise [1, KH, KW, O]
  const auto& y = rank4(ctx, op, yt);
  Padding padding;
  Activation activation;
  std::int64_t stride_h, stride_w, dilation_h, dilation_w, groups;
  const std::int64_t out_c = depthwise ? w[3] : w[0];
  if (depthwise) {
    const auto o = options_as<DepthwiseConv2DOptions>(op, ctx.at(op));
    padding = o.padding;
    activation = o.activation;
    stride_h = o.stride_h, stride_w = o.stride_w, dilation_h = o.dilation_h, dilation_w = o.dilation_w;
    groups = x[3];
    if (w[0] != 1 || out_c % x[3] != 0)
      fail(ctx.at(op), "depthwise weights {} do not fit {} input channels", shape_string(w), x[3]);
  } else {
    const auto o = options_as<Conv2DOptions>(op, ctx.at(op));
    padding = o.padding;
    activation = o.activation;
    stride_h = o.stride_h, stride_w = o.stride_w, dilation_h = o.dilation_h, dilation_w = o.dilation_w;
    if (w[3] <= 0 || x[3] % w[3] != 0 || out_c % (x[3] / w[3]) != 0)
      fail(ctx.at(op), "weights {} do not fit {} input channels", shape_string(w), x[3]);
    groups = x[3] / w[3];
  }
  if (stride_h < 1 || stride_w < 1 || dilation_h < 1 || dilation_w < 1)
    fail(ctx.at(op), "strides and dilations must be at least 1");
  if (y[0] != x[0] || y[3] != out_c) fail(ctx.at(op), "output shape {} does not fit the weights", shape_string(y));
  const WindowAxis ah = window_axis(padding, x[1], w[1], stride_h, dilation_h);
  const WindowAxis aw = window_axis(padding, x[2], w[2], stride_w, dilation_w);
  check_output_size(ctx, op, "height", ah.out, y[1]);
  check_output_size(ctx, op, "width", aw.out, y[2]);

  QNode q;
  q.kernel = depthwise ? QKernel::Depthwise : QKernel::Conv;
  q.i8["weights"] = int8_weights(ctx, op, wt, depthwise ? 3 : 0, out_c);
  q.i32["bias"] = int32_bias(ctx, op, 2, out_c);
  const ActivationRange act = activation_range(activation, out.scale, out.zero_point);
  write_scalars(q, rt::ConvParams{.batch = i32(x[0]),
                                  .in_h = i32(x[1]),
                                  .in_w = i32(x[2]),
                                  .in_c = i32(x[3]),
                                  .out_h = i32(y[1]),
                                  .out_w = i32(y[2]),
                                  .out_c = i32(out_c),
                                  .kernel_h = i32(w[1]),
                                  .kernel_w = i32(w[2]),
                                  .stride_h = i32(stride_h),
                                  .stride_w = i32(stride_w),
                                  .dilation_h = i32(dilation_h),
                                  .dilation_w = i32(dilation_w),
                                  .pad_top = i32(ah.pad_begin),
                                  .pad_left = i32(aw.pad_begin),
                                  .groups = i32(groups),
                                  .input_offset = -in.zero_point,
                                  .output_offset = out.zero_point,
                                  .act_min = act.min,
                                  .act_max = act.max,
                                  .requant = {nullptr, nullptr, 0, rt::kRoundTflite}});
  store_requant(ctx, op, q, key_of(&rt::ConvParams::requant), channel_multipliers(wt, in, out));
  return q;
}

QNode prequantized_transpose_conv(const PrequantContext& ctx, const OperatorInfo& op) {
  // TRANSPOSE_CONV(output_shape, weights [O, KH, KW, I], input, bias): TFLite Micro's
  // reference_integer_ops::TransposeConv scatters (q + input_offset) * w into an int32 image,
  // adds the bias and requantizes per channel as conv does. conv_transpose2d_s8 gathers the
  // same products per output (integer sums: the order does not matter) with the same padding:
  // ComputePaddingHeightWidth over the output size (transpose_conv.cc), i.e. window_axis.
  const TensorInfo &wt = ctx.input(op, 1), &xt = ctx.input(op, 2), &yt = ctx.output(op);
  const QuantParam in = ctx.activation(op, xt), out = ctx.activation(op, yt);
  const auto& x = rank4(ctx, op, xt);
  const auto& w = rank4(ctx, op, wt);
  const auto& y = rank4(ctx, op, yt);
  const auto o = options_as<TransposeConvOptions>(op, ctx.at(op));
  if (o.stride_h < 1 || o.stride_w < 1) fail(ctx.at(op), "strides must be at least 1");
  if (w[3] != x[3] || y[3] != w[0] || y[0] != x[0])
    fail(ctx.at(op), "weights {} do not fit the input {} and output {}", shape_string(w), shape_string(x),
         shape_string(y));
  const WindowAxis ah = window_axis(o.padding, y[1], w[1], o.stride_h, 1);
  const WindowAxis aw = window_axis(o.padding, y[2], w[2], o.stride_w, 1);
  QNode q;
  q.kernel = QKernel::ConvTranspose;
  q.i8["weights"] = int8_weights(ctx, op, wt, 0, w[0]);
  q.i32["bias"] = int32_bias(ctx, op, 3, w[0]);
  const ActivationRange act = activation_range(o.activation, out.scale, out.zero_point);
  write_scalars(q, rt::ConvParams{.batch = i32(x[0]),
                                  .in_h = i32(x[1]),
                                  .in_w = i32(x[2]),
                                  .in_c = i32(x[3]),
                                  .out_h = i32(y[1]),
                                  .out_w = i32(y[2]),
                                  .out_c = i32(w[0]),
                                  .kernel_h = i32(w[1]),
                                  .kernel_w = i32(w[2]),
                                  .stride_h = o.stride_h,
                                  .stride_w = o.stride_w,
                                  .dilation_h = 1,
                                  .dilation_w = 1,
                                  .pad_top = i32(ah.pad_begin),
                                  .pad_left = i32(aw.pad_begin),
                                  .groups = 1,
                                  .input_offset = -in.zero_point,
                                  .output_offset = out.zero_point,
                                  .act_min = act.min,
                                  .act_max = act.max,
                                  .requant = {nullptr, nullptr, 0, rt::kRoundTflite}});
  store_requant(ctx, op, q, key_of(&rt::ConvParams::requant), channel_multipliers(wt, in, out));
  return q;
}

QNode prequantized_fully_connected(const PrequantContext& ctx, const OperatorInfo& op) {
  const TensorInfo &xt = ctx.input(op, 0), &wt = ctx.input(op, 1), &yt = ctx.output(op);
  const QuantParam in = ctx.activation(op, xt), out = ctx.activation(op, yt);
  const auto o = options_as<FullyConnectedOptions>(op, ctx.at(op));
  if (o.weights_format != 0) fail(ctx.at(op), "shuffled weights are not supported");
  if (wt.shape.size() != 2) fail(ctx.at(op), "weights have shape {}; [out, in] expected", shape_string(wt.shape));
  const std::int64_t out_features = wt.shape[0], in_features = wt.shape[1];
  const std::int64_t elements = element_count(xt.shape);
  if (in_features <= 0 || elements % in_features != 0)
    fail(ctx.at(op), "input {} is not rows of {} features", shape_string(xt.shape), in_features);
  const std::int64_t rows = elements / in_features;
  if (element_count(yt.shape) != rows * out_features)
    fail(ctx.at(op), "output {} is not {} rows of {} features", shape_string(yt.shape), rows, out_features);

  QNode q;
  q.kernel = QKernel::Dense;
  q.i8["weights"] = int8_weights(ctx, op, wt, 0, out_features);
  q.i32["bias"] = int32_bias(ctx, op, 2, out_features);
  const ActivationRange act = activation_range(o.activation, out.scale, out.zero_point);
  write_scalars(q, rt::DenseParams{.rows = i32(rows),
                                   .in_features = i32(in_features),
                                   .out_features = i32(out_features),
                                   .input_offset = -in.zero_point,
                                   .output_offset = out.zero_point,
                                   .act_min = act.min,
                                   .act_max = act.max,
                                   .requant = {nullptr, nullptr, 0, rt::kRoundTflite}});
  // Per tensor, TFLite multiplies the two scales in float; per channel in double, as conv.
  const std::vector<TfliteMultiplier> multipliers =
      wt.quant.scale.size() == 1
          ? std::vector<TfliteMultiplier>{dense_tensor_multiplier(in.scale, wt.quant.scale[0], out.scale)}
          : channel_multipliers(wt, in, out);
  store_requant(ctx, op, q, key_of(&rt::DenseParams::requant), multipliers);
  return q;
}

QNode prequantized_pool(const PrequantContext& ctx, const OperatorInfo& op) {
  const bool average = op.builtin_code == std::int32_t(BuiltinOp::AveragePool2D);
  const TensorInfo &xt = ctx.input(op, 0), &yt = ctx.output(op);
  const QuantParam in = ctx.activation(op, xt), out = ctx.activation(op, yt);
  // TFLite's int8 pooling works on the stored bytes: one quantization in and out.
  if (in.scale != out.scale || in.zero_point != out.zero_point)
    fail(ctx.at(op), "input and output quantization differ ({} / {} and {} / {})", in.scale, in.zero_point, out.scale,
         out.zero_point);
  const auto& x = rank4(ctx, op, xt);
  const auto& y = rank4(ctx, op, yt);
  const auto o = options_as<Pool2DOptions>(op, ctx.at(op));
  if (o.stride_h < 1 || o.stride_w < 1 || o.filter_h < 1 || o.filter_w < 1)
    fail(ctx.at(op), "filter and strides must be at least 1");
  if (y[0] != x[0] || y[3] != x[3]) fail(ctx.at(op), "output shape {} does not fit the input", shape_string(y));
  const WindowAxis ah = window_axis(o.padding, x[1], o.filter_h, o.stride_h, 1);
  const WindowAxis aw = window_axis(o.padding, x[2], o.filter_w, o.stride_w, 1);
  check_output_size(ctx, op, "height", ah.out, y[1]);
  check_output_size(ctx, op, "width", aw.out, y[2]);
  const ActivationRange act = activation_range(o.activation, out.scale, out.zero_point);
  const rt::PoolParams pool{.batch = i32(x[0]),
                            .in_h = i32(x[1]),
                            .in_w = i32(x[2]),
                            .channels = i32(x[3]),
                            .out_h = i32(y[1]),
                            .out_w = i32(y[2]),
                            .kernel_h = o.filter_h,
                            .kernel_w = o.filter_w,
                            .stride_h = o.stride_h,
                            .stride_w = o.stride_w,
                            .pad_top = i32(ah.pad_begin),
                            .pad_left = i32(aw.pad_begin),
                            .pad_bottom = i32(ah.pad_end),
                            .pad_right = i32(aw.pad_end),
                            .act_min = act.min,
                            .act_max = act.max};
  QNode q;
  if (!average) {
    q.kernel = QKernel::MaxPool;
    write_scalars(q, pool);
    return q;
  }
  // TFLite averages the bytes over the taps inside the image and rounds half away from zero:
  // no offsets, no divisor tables (AvgPoolParams' kRoundTflite mode).
  q.kernel = QKernel::AvgPool;
  write_scalars(q, rt::AvgPoolParams{.pool = pool,
                                     .count_include_pad = 0,
                                     .input_offset = 0,
                                     .output_offset = 0,
                                     .count_multiplier = nullptr,
                                     .count_shift = nullptr,
                                     .truncate = 0,
                                     .rounding = rt::kRoundTflite});
  return q;
}

QNode prequantized_add(const PrequantContext& ctx, const OperatorInfo& op) {
  const bool sub = op.builtin_code == std::int32_t(BuiltinOp::Sub);
  const bool mul = op.builtin_code == std::int32_t(BuiltinOp::Mul);
  const TensorInfo& yt = ctx.output(op);
  const QuantParam out = ctx.activation(op, yt);
  const Activation activation = sub   ? options_as<SubOptions>(op, ctx.at(op)).activation
                                : mul ? options_as<MulOptions>(op, ctx.at(op)).activation
                                      : options_as<AddOptions>(op, ctx.at(op)).activation;
  QNode q;
  q.kernel = mul ? QKernel::Mul : QKernel::Add;
  if (yt.shape.empty() || yt.shape.size() > 4)
    fail(ctx.at(op), "int8 {} supports 1 to 4 dimensions", builtin_name(op.builtin_code));
  q.i32["out_shape"] = {yt.shape.begin(), yt.shape.end()};
  QuantParam operand[2];
  const char* names[2] = {"a", "b"};
  for (std::size_t i = 0; i < 2; ++i) {
    const TensorInfo& t = ctx.input(op, i);
    operand[i] = ctx.activation(op, t);
    const std::string name = names[i];
    q.i32[name + "_shape"] = {t.shape.begin(), t.shape.end()};
    q.ints[name + "_const"] = t.has_data ? 1 : 0;
    if (t.has_data)
      q.i8[name + "_const"] = {reinterpret_cast<const std::int8_t*>(t.data.data()),
                               reinterpret_cast<const std::int8_t*>(t.data.data()) + t.data.size()};
  }
  if (q.ints["a_const"] && q.ints["b_const"]) fail(ctx.at(op), "both operands are constants");
  const ActivationRange act = activation_range(activation, out.scale, out.zero_point);
  if (mul) {
    // TFLite's int8 MUL (mul.h): MultiplyByQuantizedMultiplier of (a - z_a) * (b - z_b), whose
    // |product| <= 255^2 < 2^16 TFLite shifts left in int32 first when the shift is positive.
    const TfliteMultiplier m = mul_multiplier(operand[0].scale, operand[1].scale, out.scale);
    if (m.shift > 15) fail(ctx.at(op), "scales give a multiplier of 2^{}, whose int32 product overflows", m.shift - 1);
    write_scalars(q, rt::MulParams{.a_offset = -operand[0].zero_point,
                                   .b_offset = -operand[1].zero_point,
                                   .output_offset = out.zero_point,
                                   .output_multiplier = m.multiplier,
                                   .output_shift = m.shift,
                                   .act_min = act.min,
                                   .act_max = act.max,
                                   .rounding = rt::kRoundTflite});
    return q;
  }
  // SUB (sub_common.cc) has ADD's recipe with its quotients in float, and subtracts.
  const AddMultipliers m = sub ? sub_multipliers(operand[0].scale, operand[1].scale, out.scale)
                               : add_multipliers(operand[0].scale, operand[1].scale, out.scale);
  for (const TfliteMultiplier& r : {m.input1, m.input2, m.output})
    if (r.shift > 0)
      fail(ctx.at(op), "scales give a multiplier of 1 or more, which TFLite's int8 {} refuses",
           builtin_name(op.builtin_code));
  write_scalars(q, rt::AddParams{.a_offset = -operand[0].zero_point,
                                 .b_offset = -operand[1].zero_point,
                                 .output_offset = out.zero_point,
                                 .left_shift = m.left_shift,
                                 .a_multiplier = m.input1.multiplier,
                                 .a_shift = m.input1.shift,
                                 .b_multiplier = m.input2.multiplier,
                                 .b_shift = m.input2.shift,
                                 .output_multiplier = m.output.multiplier,
                                 .output_shift = m.output.shift,
                                 .act_min = act.min,
                                 .act_max = act.max,
                                 .rounding = rt::kRoundTflite,
                                 .subtract = sub ? 1 : 0});
  return q;
}

QNode prequantized_softmax(const PrequantContext& ctx, const OperatorInfo& op) {
  const TensorInfo &xt = ctx.input(op, 0), &yt = ctx.output(op);
  const QuantParam in = ctx.activation(op, xt), out = ctx.activation(op, yt);
  if (out.scale != 1.0f / 256 || out.zero_point != -128)
    fail(ctx.at(op), "int8 softmax output must have scale 1/256 and zero point -128 (has {} and {})", out.scale,
         out.zero_point);
  const float beta = options_as<SoftmaxOptions>(op, ctx.at(op)).beta;
  if (!(double(beta) * double(in.scale) * double(1 << 26) > 1.0))
    fail(ctx.at(op), "beta * input scale {} is too small for TFLite's int8 softmax", double(beta) * in.scale);
  if (xt.shape.empty()) fail(ctx.at(op), "softmax of a scalar");
  const std::int64_t depth = xt.shape.back();
  if (depth < 1 || depth > 511)
    fail(ctx.at(op), "softmax over {} values; tinyq's TFLite softmax takes 1 to 511", depth);
  QNode q;
  q.kernel = QKernel::Softmax;
  q.ints = {{"rows", element_count(xt.shape) / depth}, {"depth", depth}, {"rounding", rt::kRoundTflite}};
  q.i32["exp_table"] = softmax_exp_table(in.scale, beta);
  return q;
}

QNode prequantized_reshape(const PrequantContext& ctx, const OperatorInfo& op) {
  const TensorInfo &xt = ctx.input(op, 0), &yt = ctx.output(op);
  const QuantParam in = ctx.activation(op, xt), out = ctx.activation(op, yt);
  if (in.scale != out.scale || in.zero_point != out.zero_point)
    fail(ctx.at(op), "a reshape that changes the quantization is not supported");
  if (element_count(xt.shape) != element_count(yt.shape))
    fail(ctx.at(op), "reshape from {} to {} changes the element count", shape_string(xt.shape), shape_string(yt.shape));
  QNode q;
  q.kernel = QKernel::Reshape;
  return q;
}

}  // namespace tinyq::tflite
