// Converters for the weighted and windowed operators: CONV_2D, DEPTHWISE_CONV_2D,
// TRANSPOSE_CONV, FULLY_CONNECTED, AVERAGE_POOL_2D, MAX_POOL_2D, MEAN.
#include <algorithm>

#include "frontend/tflite/tflite_converter.hpp"
#include "util/error.hpp"

namespace tinyq::tflite {

namespace {

using Ints = std::vector<std::int64_t>;

constexpr std::int64_t kMaxWindow = 4096;  // strides, dilations, filter sizes (bounded before any arithmetic)

void check_window_value(Converter& cv, const OperatorInfo& op, std::int64_t v, const char* what) {
  if (v < 1 || v > kMaxWindow) fail(cv.at(op), "{} {} outside [1, {}]", what, v, kMaxWindow);
}

ValueId spatial_input(Converter& cv, const OperatorInfo& op, std::size_t index) {
  ValueId x = cv.input(op, index);
  const Shape& s = cv.shape(x);
  if (s.size() != 4 || std::any_of(s.begin(), s.end(), [](std::int64_t d) { return d < 1; }))
    fail(cv.at(op), "input must be a non-empty 4-D (N,H,W,C) tensor, got {}", shape_string(s));
  return x;
}

// TFLite's padding for one spatial axis, [before, after]: SAME pads so that
// out = ceil(in / stride), the odd pixel going after; VALID does not pad.
std::pair<std::int64_t, std::int64_t> axis_padding(Padding padding, std::int64_t in, std::int64_t kernel,
                                                   std::int64_t stride, std::int64_t dilation) {
  if (padding != Padding::Same) return {0, 0};
  const std::int64_t out = (in + stride - 1) / stride;
  const std::int64_t total = std::max<std::int64_t>((out - 1) * stride + (kernel - 1) * dilation + 1 - in, 0);
  return {total / 2, total - total / 2};
}

// strides, dilations and pads [top, left, bottom, right] of a 2-D window over NHWC `in`.
Attributes window_attrs(Converter& cv, const OperatorInfo& op, const Shape& in, Padding padding, Ints kernel,
                        Ints strides, Ints dilations) {
  if (padding != Padding::Same && padding != Padding::Valid) fail(cv.at(op), "unknown padding {}", int(padding));
  for (int i = 0; i < 2; ++i) {
    check_window_value(cv, op, kernel[std::size_t(i)], "filter size");
    check_window_value(cv, op, strides[std::size_t(i)], "stride");
    check_window_value(cv, op, dilations[std::size_t(i)], "dilation");
  }
  Ints pads(4);
  for (std::size_t i = 0; i < 2; ++i)
    std::tie(pads[i], pads[i + 2]) = axis_padding(padding, in[1 + i], kernel[i], strides[i], dilations[i]);
  Attributes a;
  a.set("strides", strides);
  a.set("dilations", dilations);
  a.set("pads", pads);
  return a;
}

// Bias input `index` as a [channels] constant, zeros when the input is omitted.
ValueId bias(Converter& cv, const OperatorInfo& op, std::size_t index, std::int64_t channels) {
  if (!cv.has_input(op, index))
    return cv.add_constant(cv.tensor_name(op.outputs.at(0)) + "_bias", Tensor(DType::f32, {channels}));
  Tensor b = cv.constant_input(op, index);
  if (b.numel() != channels) fail(cv.at(op), "bias has {} values for {} output channels", b.numel(), channels);
  return cv.add_constant(cv.tensor_name(op.inputs[index]), b.reshaped({channels}));
}

Tensor weights(Converter& cv, const OperatorInfo& op, std::size_t index, std::size_t rank) {
  Tensor w = cv.constant_input(op, index);
  if (w.shape().size() != rank) fail(cv.at(op), "weights must be {}-D, got {}", rank, shape_string(w.shape()));
  for (auto d : w.shape())
    if (d == 0) fail(cv.at(op), "weights {} are empty", shape_string(w.shape()));
  return w;
}

void convert_conv(Converter& cv, const OperatorInfo& op) {
  cv.expect_arity(op, 2, 3);
  const auto o = options_as<Conv2DOptions>(op, cv.at(op));
  ValueId x = spatial_input(cv, op, 0);
  const Shape in = cv.shape(x);
  Tensor w = weights(cv, op, 1, 4);  // [O, KH, KW, C/group]: the IR's layout already
  const Shape ws = w.shape();
  // TFLite infers grouped convolution from the shapes: filter channels dividing input channels.
  if (in[3] % ws[3] != 0 || ws[0] % (in[3] / ws[3]) != 0)
    fail(cv.at(op), "input channels {} do not fit weights {}", in[3], shape_string(ws));
  Attributes a =
      window_attrs(cv, op, in, o.padding, {ws[1], ws[2]}, {o.stride_h, o.stride_w}, {o.dilation_h, o.dilation_w});
  a.set("group", in[3] / ws[3]);
  ValueId w_id = cv.add_constant(cv.tensor_name(op.inputs[1]), std::move(w));
  cv.emit(op, Op::Conv, {x, w_id, bias(cv, op, 2, ws[0])}, a, o.activation);
}

// Depthwise weights [1, KH, KW, C*M] become the IR's grouped-conv weights [C*M, KH, KW, 1]
// with group = C: output channel c*M + m reads input channel c in both.
void convert_depthwise(Converter& cv, const OperatorInfo& op) {
  cv.expect_arity(op, 2, 3);
  const auto o = options_as<DepthwiseConv2DOptions>(op, cv.at(op));
  ValueId x = spatial_input(cv, op, 0);
  const Shape in = cv.shape(x);
  Tensor w = weights(cv, op, 1, 4);
  const Shape ws = w.shape();
  const std::int64_t out_c = ws[3];
  if (ws[0] != 1) fail(cv.at(op), "depthwise weights must be [1, KH, KW, C*M], got {}", shape_string(ws));
  if (out_c % in[3] != 0)
    fail(cv.at(op), "weights {} do not give a whole multiplier of the {} input channels", shape_string(ws), in[3]);
  if (o.depth_multiplier != 0 && o.depth_multiplier * in[3] != out_c)
    fail(cv.at(op), "depth_multiplier {} with {} input channels does not give the weights' {} channels",
         o.depth_multiplier, in[3], out_c);
  Attributes a =
      window_attrs(cv, op, in, o.padding, {ws[1], ws[2]}, {o.stride_h, o.stride_w}, {o.dilation_h, o.dilation_w});
  a.set("group", in[3]);
  Tensor ohwi = w.reshaped({ws[1], ws[2], out_c}).transposed({2, 0, 1}).reshaped({out_c, ws[1], ws[2], 1});
  ValueId w_id = cv.add_constant(cv.tensor_name(op.inputs[1]), std::move(ohwi));
  cv.emit(op, Op::Conv, {x, w_id, bias(cv, op, 2, out_c)}, a, o.activation);
}

// TRANSPOSE_CONV(output_shape, weights [O, KH, KW, C], x, bias?). TFLite pads as the forward
// convolution from the requested output to x would: the output row y gathers input row i and
// filter row k with y = i * stride - pad_top + k, for y inside the requested size. In the IR's
// ConvTranspose that is pads = [pad_top, ...] with the end trimmed (or, for an output larger
// than the window reaches, extended by output_padding) to the requested size.
void convert_transpose_conv(Converter& cv, const OperatorInfo& op) {
  cv.expect_arity(op, 3, 4);
  const auto o = options_as<TransposeConvOptions>(op, cv.at(op));
  ValueId x = spatial_input(cv, op, 2);
  const Shape in = cv.shape(x);
  Tensor w = weights(cv, op, 1, 4);
  const Shape ws = w.shape();
  const Ints target = cv.integer_input(op, 0);
  if (target.size() != 4) fail(cv.at(op), "output_shape must have 4 values, has {}", target.size());
  if (target[0] != in[0] || target[3] != ws[0] || ws[3] != in[3])
    fail(cv.at(op), "output_shape {}, weights {} and input {} do not fit", shape_string(target), shape_string(ws),
         shape_string(in));
  if (o.padding != Padding::Same && o.padding != Padding::Valid) fail(cv.at(op), "unknown padding {}", int(o.padding));
  const Ints strides{o.stride_h, o.stride_w};
  Ints pads(4), output_padding(2);
  for (std::size_t i = 0; i < 2; ++i) {
    check_window_value(cv, op, strides[i], "stride");
    check_window_value(cv, op, ws[1 + i], "filter size");
    if (target[1 + i] < 1 || target[1 + i] > (std::int64_t{1} << 24))
      fail(cv.at(op), "output_shape {} out of range", shape_string(target));
    const std::int64_t s = strides[i], k = ws[1 + i], size = target[1 + i];
    const std::int64_t conv_out = o.padding == Padding::Same ? (size + s - 1) / s : (size - k + s) / s;
    const std::int64_t top = std::max<std::int64_t>((conv_out - 1) * s + k - size, 0) / 2;
    const std::int64_t end = s * (in[1 + i] - 1) + k - top - size;
    pads[i] = top;
    pads[i + 2] = std::max<std::int64_t>(end, 0);
    output_padding[i] = std::max<std::int64_t>(-end, 0);
  }
  Attributes a;
  a.set("strides", strides);
  a.set("dilations", Ints{1, 1});
  a.set("pads", pads);
  a.set("group", std::int64_t{1});
  a.set("output_padding", output_padding);
  ValueId w_id = cv.add_constant(cv.tensor_name(op.inputs[1]), w.transposed({3, 1, 2, 0}));  // [C, KH, KW, O]
  cv.emit(op, Op::ConvTranspose, {x, w_id, bias(cv, op, 3, ws[0])}, a, o.activation);
}

// FULLY_CONNECTED(x, weights [O, K], bias?): x is read as rows of K values; the output keeps
// x's leading dimensions with keep_num_dims, else it is [rows, O].
void convert_fully_connected(Converter& cv, const OperatorInfo& op) {
  cv.expect_arity(op, 2, 3);
  const auto o = options_as<FullyConnectedOptions>(op, cv.at(op));
  if (o.weights_format != 0) fail(cv.at(op), "shuffled weight formats are not supported");
  ValueId x = cv.input(op, 0);
  Tensor w = weights(cv, op, 1, 2);
  const std::int64_t out = w.shape()[0], depth = w.shape()[1];
  const Shape in = cv.shape(x);
  const std::int64_t count = element_count(in);
  if (in.empty() || count % depth != 0)
    fail(cv.at(op), "input {} cannot be read as rows of {} values", shape_string(in), depth);
  if (o.keep_num_dims && in.back() != depth)
    fail(cv.at(op), "keep_num_dims needs the input's last dimension ({}) to be {}", in.back(), depth);
  if (!o.keep_num_dims && !(in.size() == 2 && in[1] == depth)) {
    Attributes flat;
    flat.set("shape", Ints{count / depth, depth});
    x = cv.emit_internal(op, "rows", Op::Reshape, {x}, flat);
  }
  ValueId w_id = cv.add_constant(cv.tensor_name(op.inputs[1]), std::move(w));
  cv.emit(op, Op::Dense, {x, w_id, bias(cv, op, 2, out)}, {}, o.activation);
}

void convert_pool(Converter& cv, const OperatorInfo& op, Op pool) {
  cv.expect_arity(op, 1, 1);
  const auto o = options_as<Pool2DOptions>(op, cv.at(op));
  ValueId x = spatial_input(cv, op, 0);
  const Shape in = cv.shape(x);
  Attributes a = window_attrs(cv, op, in, o.padding, {o.filter_h, o.filter_w}, {o.stride_h, o.stride_w}, {1, 1});
  // A window over the whole unpadded input is the IR's global pooling, which the int8
  // kernels handle as such.
  const bool unpadded = a.get_ints("pads") == Ints{0, 0, 0, 0};
  if (unpadded && o.filter_h == in[1] && o.filter_w == in[2]) {
    cv.emit(op, pool == Op::AvgPool ? Op::GlobalAvgPool : Op::GlobalMaxPool, {x}, {}, o.activation);
    return;
  }
  a.set("kernel", Ints{o.filter_h, o.filter_w});
  a.set("ceil_mode", std::int64_t{0});
  if (pool == Op::AvgPool) a.set("count_include_pad", std::int64_t{0});  // TFLite divides by the pixels inside
  cv.emit(op, pool, {x}, a, o.activation);
}

// MEAN(x, axes): the IR's ReduceMean; over H and W of a 4-D tensor a GlobalAvgPool.
void convert_mean(Converter& cv, const OperatorInfo& op) {
  cv.expect_arity(op, 2, 2);
  const bool keep = options_as<ReducerOptions>(op, cv.at(op)).keep_dims;
  ValueId x = cv.input(op, 0);
  const Shape in = cv.shape(x);
  Ints axes;
  for (auto axis : cv.integer_input(op, 1)) {
    if (axis < -std::int64_t(in.size()) || axis >= std::int64_t(in.size()))
      fail(cv.at(op), "axis {} out of range for {}", axis, shape_string(in));
    axes.push_back(axis < 0 ? axis + std::int64_t(in.size()) : axis);
  }
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  if (axes.empty()) {  // reduces nothing (the IR's empty axes would mean all of them)
    cv.alias(op, 0, x);
    return;
  }
  if (in.size() == 4 && axes == Ints{1, 2}) {
    if (keep) {
      cv.emit(op, Op::GlobalAvgPool, {x}, {});
    } else {
      ValueId pooled = cv.emit_internal(op, "pooled", Op::GlobalAvgPool, {x}, {});
      Attributes flat;
      flat.set("shape", Ints{in[0], in[3]});
      cv.emit(op, Op::Reshape, {pooled}, flat);
    }
    return;
  }
  Attributes a;
  a.set("axes", axes);
  a.set("keepdims", std::int64_t{keep});
  cv.emit(op, Op::ReduceMean, {x}, a);
}

}  // namespace

void register_window_converters(ConverterTable& t) {
  t[std::int32_t(BuiltinOp::Conv2D)] = convert_conv;
  t[std::int32_t(BuiltinOp::DepthwiseConv2D)] = convert_depthwise;
  t[std::int32_t(BuiltinOp::TransposeConv)] = convert_transpose_conv;
  t[std::int32_t(BuiltinOp::FullyConnected)] = convert_fully_connected;
  t[std::int32_t(BuiltinOp::AveragePool2D)] = [](Converter& cv, const OperatorInfo& op) {
    convert_pool(cv, op, Op::AvgPool);
  };
  t[std::int32_t(BuiltinOp::MaxPool2D)] = [](Converter& cv, const OperatorInfo& op) {
    convert_pool(cv, op, Op::MaxPool);
  };
  t[std::int32_t(BuiltinOp::Mean)] = convert_mean;
}

}  // namespace tinyq::tflite
