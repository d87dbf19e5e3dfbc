// Converters for the weighted and windowed ONNX ops: Conv, ConvTranspose, Gemm, MatMul,
// BatchNormalization, LayerNormalization and pooling.
#include <cmath>

#include "frontend/onnx/importer.hpp"

namespace tinyq::onnx_import {

// convert_batch_norm_training.cpp
void convert_batch_norm_training(Importer& im, const onnx::NodeProto& node);

namespace {

using Ints = std::vector<std::int64_t>;

void require_single_output(Importer& im, const onnx::NodeProto& node) {
  for (int i = 1; i < node.output_size(); ++i) {
    if (node.output(i).empty()) continue;
    // MaxPool's argmax Indices feed MaxUnpool in segmentation decoders; nothing in tinyq reads them.
    if (node.op_type() == "MaxPool" && i == 1)
      fail(im.at(node), "MaxPool's Indices output ('{}') is not supported (only the pooled values)", node.output(i));
    fail(im.at(node), "optional output {} ('{}') is not supported", i, node.output(i));
  }
}

// The window parameters shared by Conv, ConvTranspose and pooling, over 2 spatial axes
// (N,C,H,W) or 3 (N,C,D,H,W), with auto_pad resolved into explicit pads: the begins, then the
// ends ([top, left, bottom, right] in 2-D).
struct Window {
  Ints kernel, strides, dilations, pads;
};

// The ONNX rank of input 0: 4, or 5 for the 3-D forms (float only, kept NCDHW). Checked first
// so that an input of another rank gets this error, not a layout one. 1-D inputs never get
// here: lift_1d.cpp rewrites them as 2-D.
std::size_t spatial_rank(Importer& im, const onnx::NodeProto& node) {
  const std::size_t rank = im.source_shape(im.input(node, 0)).size();
  if (rank != 4 && rank != 5)
    fail(im.at(node), "only 2-D (N,C,H,W) and 3-D (N,C,D,H,W) spatial inputs are supported, got rank {}", rank);
  return rank;
}

// Input 0 as the op's IR form reads it: NHWC in 2-D, NCDHW (as imported) in 3-D.
ValueId spatial_input(Importer& im, const onnx::NodeProto& node) {
  if (spatial_rank(im, node) == 5) return im.input(node, 0);
  return im.to_layout(im.input(node, 0), Layout::NHWC, node.name());
}

Window read_window(Importer& im, const onnx::NodeProto& node, const Shape& nchw_input, Ints kernel) {
  const std::size_t n = nchw_input.size() - 2;  // spatial_rank checked rank 4 or 5
  Window w;
  w.kernel = std::move(kernel);
  w.strides = attr_ints(node, "strides");
  w.dilations = attr_ints(node, "dilations");
  w.pads = attr_ints(node, "pads");
  if (w.kernel.size() != n) fail(im.at(node), "kernel must have {} axes, like the input's spatial axes", n);
  if (w.strides.empty()) w.strides.assign(n, 1);
  if (w.dilations.empty()) w.dilations.assign(n, 1);
  if (w.pads.empty()) w.pads.assign(2 * n, 0);
  if (w.strides.size() != n || w.dilations.size() != n || w.pads.size() != 2 * n)
    fail(im.at(node), "strides, dilations and pads must describe {} spatial axes", n);
  for (std::size_t i = 0; i < n; ++i)
    if (w.kernel[i] <= 0 || w.strides[i] <= 0 || w.dilations[i] <= 0 || w.kernel[i] > 4096 || w.strides[i] > 4096 ||
        w.dilations[i] > 4096)
      fail(im.at(node), "kernel, strides and dilations must be in 1..4096");
  for (auto p : w.pads)
    if (p < 0 || p > 4096) fail(im.at(node), "pads must be in 0..4096");
  std::string auto_pad = attr_string(node, "auto_pad", "NOTSET");
  if (auto_pad == "VALID") {
    w.pads.assign(2 * n, 0);
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (std::size_t i = 0; i < n; ++i) {
      std::int64_t in = nchw_input[2 + i];
      std::int64_t out = (in + w.strides[i] - 1) / w.strides[i];
      std::int64_t total =
          std::max<std::int64_t>(0, (out - 1) * w.strides[i] + (w.kernel[i] - 1) * w.dilations[i] + 1 - in);
      std::int64_t small = total / 2, large = total - total / 2;
      w.pads[i] = auto_pad == "SAME_UPPER" ? small : large;
      w.pads[i + n] = auto_pad == "SAME_UPPER" ? large : small;
    }
  } else if (auto_pad != "NOTSET") {
    fail(im.at(node), "unknown auto_pad '{}'", auto_pad);
  }
  return w;
}

Attributes window_attrs(const Window& w) {
  Attributes a;
  a.set("strides", w.strides);
  a.set("dilations", w.dilations);
  a.set("pads", w.pads);
  return a;
}

ValueId bias_or_zeros(Importer& im, const onnx::NodeProto& node, int index, std::int64_t channels) {
  if (auto b = im.optional_constant(node, index)) {
    if (b->numel() != channels) fail(im.at(node), "bias has {} values for {} output channels", b->numel(), channels);
    return im.add_constant(node.input(index), b->cast(DType::f32).reshaped({channels}));
  }
  return im.add_constant(node.name() + "_bias", Tensor(DType::f32, {channels}));
}

// Conv3d: ONNX's layouts unchanged (x NCDHW, w [O, C/g, KD, KH, KW]).
void convert_conv3d(Importer& im, const onnx::NodeProto& node) {
  ValueId x = im.input(node, 0);
  Tensor w = im.constant_input(node, 1).cast(DType::f32);
  if (w.shape().size() != 5) fail(im.at(node), "a 3-D Conv needs rank-5 weights, got {}", shape_string(w.shape()));
  Window win = read_window(im, node, im.source_shape(x), {w.shape()[2], w.shape()[3], w.shape()[4]});
  Attributes attrs = window_attrs(win);
  attrs.set("group", attr_int(node, "group", 1));
  ValueId weight = im.add_constant(node.input(1), std::move(w));
  ValueId bias = bias_or_zeros(im, node, 2, im.graph().value(weight).shape[0]);
  im.emit(node, Op::Conv3d, {x, weight, bias}, attrs, Layout::Plain);
}

void convert_conv(Importer& im, const onnx::NodeProto& node) {
  if (spatial_rank(im, node) == 5) return convert_conv3d(im, node);
  ValueId x = spatial_input(im, node);
  Tensor w = im.constant_input(node, 1).cast(DType::f32);  // [O, C/g, KH, KW]
  if (w.shape().size() != 4) fail(im.at(node), "only 2-D convolution is supported (weight rank {})", w.shape().size());
  Window win = read_window(im, node, im.source_shape(x), {w.shape()[2], w.shape()[3]});
  Attributes attrs = window_attrs(win);
  attrs.set("group", attr_int(node, "group", 1));
  ValueId weight = im.add_constant(node.input(1) + "_ohwi", w.transposed({0, 2, 3, 1}));
  ValueId bias = bias_or_zeros(im, node, 2, w.shape()[0]);
  im.emit(node, Op::Conv, {x, weight, bias}, attrs, Layout::NHWC);
}

// 2-D (weights re-laid out [C, KH, KW, O/g] on NHWC) or 3-D (NCDHW and ONNX's weight layout
// [C, O/g, KD, KH, KW], float only).
void convert_conv_transpose(Importer& im, const onnx::NodeProto& node) {
  const std::size_t n = spatial_rank(im, node) - 2;
  ValueId x = spatial_input(im, node);
  Tensor w = im.constant_input(node, 1).cast(DType::f32);  // [C, O/g, k...]
  if (w.shape().size() != n + 2)
    fail(im.at(node), "weights {} do not have the input's {} spatial axes", shape_string(w.shape()), n);
  std::int64_t group = attr_int(node, "group", 1);
  Shape in = im.source_shape(x);
  // Checked before the bias is made: group scales its size (a group of 2^31 asked for an
  // 8 GB bias; fuzz).
  if (w.shape()[0] != in[1] || group < 1 || in[1] % group != 0)
    fail(im.at(node), "group {} and weights {} do not fit input {}", group, shape_string(w.shape()), shape_string(in));
  std::string auto_pad = attr_string(node, "auto_pad", "NOTSET");
  Window win;
  win.kernel.assign(w.shape().begin() + 2, w.shape().end());
  win.strides = attr_ints(node, "strides");
  win.dilations = attr_ints(node, "dilations");
  win.pads = attr_ints(node, "pads");
  Ints output_padding = attr_ints(node, "output_padding");
  Ints output_shape = attr_ints(node, "output_shape");
  if (win.strides.empty()) win.strides.assign(n, 1);
  if (win.dilations.empty()) win.dilations.assign(n, 1);
  if (win.pads.empty()) win.pads.assign(2 * n, 0);
  if (output_padding.empty()) output_padding.assign(n, 0);
  if (win.strides.size() != n || win.dilations.size() != n || win.pads.size() != 2 * n || output_padding.size() != n)
    fail(im.at(node), "strides, dilations, pads and output_padding must describe {} spatial axes", n);
  // Bounded before any arithmetic on them (hostile values overflowed int64 below; fuzz).
  constexpr std::int64_t kMaxWindowAttr = std::int64_t{1} << 20;
  auto bounded = [&](std::int64_t v, std::int64_t lo, std::int64_t hi, const char* what) {
    if (v < lo || v > hi) fail(im.at(node), "{} {} outside [{}, {}]", what, v, lo, hi);
  };
  for (std::size_t i = 0; i < n; ++i) {
    bounded(win.strides[i], 1, kMaxWindowAttr, "stride");
    bounded(win.dilations[i], 1, kMaxWindowAttr, "dilation");
    bounded(output_padding[i], 0, kMaxWindowAttr, "output_padding");
  }
  for (std::int64_t d : output_shape) bounded(d, 1, (std::int64_t{1} << 31) - 1, "output_shape");
  if (output_shape.size() >= n || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    // Pads follow from the requested output size (ONNX ConvTranspose spec).
    for (std::size_t i = 0; i < n; ++i) {
      std::int64_t target =
          output_shape.size() >= n ? output_shape[output_shape.size() - n + i] : in[2 + i] * win.strides[i];
      std::int64_t total =
          win.strides[i] * (in[2 + i] - 1) + output_padding[i] + ((win.kernel[i] - 1) * win.dilations[i] + 1) - target;
      if (total < 0) {
        // A larger output than the strides give: the extra rows or columns at the end get
        // only the bias, exactly as with output_padding (onnxruntime does the same).
        output_padding[i] -= total;
        total = 0;
      }
      bool upper = auto_pad != "SAME_LOWER";
      win.pads[i] = upper ? total / 2 : total - total / 2;
      win.pads[i + n] = total - win.pads[i];
    }
  } else if (auto_pad == "VALID") {
    win.pads.assign(2 * n, 0);
  }
  Attributes attrs = window_attrs(win);
  attrs.set("group", group);
  attrs.set("output_padding", output_padding);
  ValueId bias = bias_or_zeros(im, node, 2, w.shape()[1] * group);
  if (n == 3) {
    ValueId weight = im.add_constant(node.input(1), std::move(w));
    im.emit(node, Op::ConvTranspose3d, {x, weight, bias}, attrs, Layout::Plain);
    return;
  }
  ValueId weight = im.add_constant(node.input(1) + "_ihwo", w.transposed({0, 2, 3, 1}));
  im.emit(node, Op::ConvTranspose, {x, weight, bias}, attrs, Layout::NHWC);
}

// Dense from a constant [K, O] matrix (MatMul) or Gemm's B.
void emit_dense(Importer& im, const onnx::NodeProto& node, ValueId x, Tensor weight_ok, Tensor bias_o) {
  ValueId w = im.add_constant(node.name() + "_weight", std::move(weight_ok));
  ValueId b = im.add_constant(node.name() + "_bias", std::move(bias_o));
  im.emit(node, Op::Dense, {x, w, b}, {}, Layout::Plain);
}

void convert_gemm(Importer& im, const onnx::NodeProto& node) {
  float alpha = attr_float(node, "alpha", 1.0f), beta = attr_float(node, "beta", 1.0f);
  bool trans_a = attr_int(node, "transA", 0) != 0, trans_b = attr_int(node, "transB", 0) != 0;
  ValueId a = im.to_layout(im.input(node, 0), Layout::Plain, node.name());
  if (im.graph().value(a).shape.size() != 2) fail(im.at(node), "Gemm input A must be 2-D");
  if (trans_a) {
    Attributes t;
    t.set("perm", Ints{1, 0});
    a = im.emit_internal(node.name() + "_transA", Op::Transpose, {a}, t, Layout::Plain);
  }
  ValueId b_id = im.input(node, 1);
  const Shape& a_shape = im.graph().value(a).shape;
  if (im.graph().value(b_id).is_constant()) {
    Tensor b = im.graph().value(b_id).constant->cast(DType::f32);
    if (b.shape().size() != 2) fail(im.at(node), "Gemm input B must be 2-D");
    Tensor w = trans_b ? b : b.transposed({1, 0});  // [O, K]
    const std::int64_t out = w.shape()[0];
    if (w.shape()[1] != a_shape[1])
      fail(im.at(node), "Gemm shapes {} and {} do not fit", shape_string(a_shape), shape_string(b.shape()));
    for (auto& v : w.f32()) v *= alpha;
    Tensor bias(DType::f32, {out});
    bool bias_is_row = true;
    if (auto c = im.optional_constant(node, 2)) {
      Tensor cf = c->cast(DType::f32);
      const auto& cs = cf.shape();
      std::int64_t rows = cs.size() == 2 ? cs[0] : 1;
      if (cf.numel() == 1) {
        for (auto& v : bias.f32()) v = beta * cf.f32()[0];
      } else if (rows == 1 && cf.numel() == out) {
        for (std::int64_t o = 0; o < out; ++o) bias.f32()[std::size_t(o)] = beta * cf.f32()[std::size_t(o)];
      } else {
        bias_is_row = false;
      }
    }
    if (bias_is_row || !im.has_input(node, 2)) {
      emit_dense(im, node, a, std::move(w), std::move(bias));
      return;
    }
    // C varies per row: Dense without bias, then a broadcast Add.
    ValueId w_id = im.add_constant(node.name() + "_weight", std::move(w));
    ValueId b0 = im.add_constant(node.name() + "_bias", Tensor(DType::f32, {out}));
    ValueId y = im.emit_internal(node.name() + "_dense", Op::Dense, {a, w_id, b0}, {}, Layout::Plain);
    Tensor c = im.constant_input(node, 2).cast(DType::f32);
    for (auto& v : c.f32()) v *= beta;
    ValueId c_id = im.add_constant(node.name() + "_c", std::move(c));
    im.emit(node, Op::Add, {y, c_id}, {}, Layout::Plain);
    return;
  }
  // B computed at run time: MatMul, then alpha and C.
  ValueId b = im.to_layout(b_id, Layout::Plain, node.name());
  if (trans_b) {
    Attributes t;
    t.set("perm", Ints{1, 0});
    b = im.emit_internal(node.name() + "_transB", Op::Transpose, {b}, t, Layout::Plain);
  }
  bool has_c = im.has_input(node, 2);
  ValueId y = has_c || alpha != 1.0f ? im.emit_internal(node.name() + "_matmul", Op::MatMul, {a, b}, {}, Layout::Plain)
                                     : im.emit(node, Op::MatMul, {a, b}, {}, Layout::Plain);
  if (alpha != 1.0f) {
    ValueId s = im.add_constant(node.name() + "_alpha", Tensor::scalar(alpha));
    y = has_c ? im.emit_internal(node.name() + "_alpha_mul", Op::Mul, {y, s}, {}, Layout::Plain)
              : im.emit(node, Op::Mul, {y, s}, {}, Layout::Plain);
  }
  if (has_c) {
    ValueId c = im.input(node, 2);
    if (beta != 1.0f) {
      ValueId s = im.add_constant(node.name() + "_beta", Tensor::scalar(beta));
      c = im.emit_internal(node.name() + "_beta_mul", Op::Mul, {c, s}, {}, Layout::Plain);
    }
    im.emit(node, Op::Add, {y, c}, {}, Layout::Plain);
  }
}

void convert_matmul(Importer& im, const onnx::NodeProto& node) {
  ValueId a = im.to_layout(im.input(node, 0), Layout::Plain, node.name());
  ValueId b = im.input(node, 1);
  const Value& bv = im.graph().value(b);
  const Shape& a_shape = im.graph().value(a).shape;
  if (bv.is_constant() && bv.shape.size() == 2 && a_shape.size() >= 2 && a_shape.back() == bv.shape[0]) {
    Tensor w = bv.constant->cast(DType::f32).transposed({1, 0});
    std::int64_t out = w.shape()[0];
    emit_dense(im, node, a, std::move(w), Tensor(DType::f32, {out}));
    return;
  }
  b = im.to_layout(b, Layout::Plain, node.name());
  im.emit(node, Op::MatMul, {a, b}, {}, Layout::Plain);
}

void convert_batch_norm(Importer& im, const onnx::NodeProto& node) {
  if (attr_int(node, "training_mode", 0) != 0) return convert_batch_norm_training(im, node);
  require_single_output(im, node);
  ValueId x = im.input(node, 0);
  // Copies, not a reference: add_constant below grows the graph's value table.
  const Shape x_shape = im.graph().value(x).shape;
  const Layout x_layout = im.graph().value(x).layout;
  if (x_shape.size() < 2) fail(im.at(node), "BatchNormalization needs a channel axis");
  int axis = x_layout == Layout::NHWC ? 3 : 1;
  std::int64_t channels = x_shape[std::size_t(axis)];
  float epsilon = attr_float(node, "epsilon", 1e-5f);
  std::vector<float> gamma = im.constant_input(node, 1).as_f32(), beta = im.constant_input(node, 2).as_f32(),
                     mean = im.constant_input(node, 3).as_f32(), var = im.constant_input(node, 4).as_f32();
  for (auto* v : {&gamma, &beta, &mean, &var})
    if (std::int64_t(v->size()) != channels)
      fail(im.at(node), "parameter has {} values for {} channels", v->size(), channels);
  Tensor scale(DType::f32, {channels}), shift(DType::f32, {channels});
  for (std::int64_t c = 0; c < channels; ++c) {
    auto i = std::size_t(c);
    if (var[i] + epsilon <= 0) fail(im.at(node), "variance + epsilon is not positive at channel {}", c);
    float s = gamma[i] / std::sqrt(var[i] + epsilon);
    scale.f32()[i] = s;
    shift.f32()[i] = beta[i] - mean[i] * s;
  }
  Attributes attrs;
  attrs.set("axis", std::int64_t{axis});
  ValueId s = im.add_constant(node.name() + "_scale", std::move(scale));
  ValueId t = im.add_constant(node.name() + "_shift", std::move(shift));
  im.emit(node, Op::ChannelAffine, {x, s, t}, attrs, x_layout);
}

// LayerNormalization's optional outputs Mean and InvStdDev (the statistics over axes
// axis..rank-1, kept as size-1 axes), built from elementwise nodes:
// mean = ReduceMean(x), inv_std_dev = 1 / sqrt(ReduceMean((x - mean)^2) + epsilon).
void emit_layer_norm_statistics(Importer& im, const onnx::NodeProto& node, ValueId x, int axis, float epsilon) {
  const std::size_t rank = im.graph().value(x).shape.size();
  const bool want_mean = node.output_size() > 1 && !node.output(1).empty();
  const bool want_inv = node.output_size() > 2 && !node.output(2).empty();
  for (int i = 3; i < node.output_size(); ++i)
    if (!node.output(i).empty()) fail(im.at(node), "output {} ('{}') does not exist", i, node.output(i));
  if (!want_mean && !want_inv) return;
  Attributes reduce;
  Ints axes;
  for (std::size_t a = std::size_t(axis); a < rank; ++a) axes.push_back(std::int64_t(a));
  reduce.set("axes", axes);
  reduce.set("keepdims", std::int64_t{1});
  const std::string base = node.name().empty() ? node.output(0) : node.name();
  ValueId mean = want_mean ? im.emit(node, Op::ReduceMean, {x}, reduce, Layout::Plain, node.output(1))
                           : im.emit_internal(base + "_mean", Op::ReduceMean, {x}, reduce, Layout::Plain);
  if (!want_inv) return;
  ValueId centered = im.emit_internal(base + "_centered", Op::Sub, {x, mean}, {}, Layout::Plain);
  ValueId squared = im.emit_internal(base + "_squared", Op::Mul, {centered, centered}, {}, Layout::Plain);
  ValueId var = im.emit_internal(base + "_var", Op::ReduceMean, {squared}, reduce, Layout::Plain);
  ValueId eps = im.add_constant(base + "_epsilon", Tensor::scalar(epsilon));
  ValueId shifted = im.emit_internal(base + "_var_eps", Op::Add, {var, eps}, {}, Layout::Plain);
  ValueId std_dev = im.emit_internal(base + "_std_dev", Op::Sqrt, {shifted}, {}, Layout::Plain);
  ValueId one = im.add_constant(base + "_one", Tensor::scalar(1.0f));
  im.emit(node, Op::Div, {one, std_dev}, {}, Layout::Plain, node.output(2));
}

void convert_layer_norm(Importer& im, const onnx::NodeProto& node) {
  ValueId x = im.to_layout(im.input(node, 0), Layout::Plain, node.name());
  const Shape& shape = im.graph().value(x).shape;
  int axis = normalize_axis(im, node, attr_int(node, "axis", -1), shape.size());
  // Checked: an empty input may declare huge other dimensions.
  const std::int64_t size = element_count(Shape(shape.begin() + axis, shape.end()), im.at(node));
  auto flat = [&](int index, float fill) {
    if (!im.has_input(node, index)) {
      if (size > kMaxGeneratedValues)
        fail(im.at(node), "LayerNorm over {} values is beyond tinyq's limit of {}", size, kMaxGeneratedValues);
      Tensor t(DType::f32, {size});
      for (auto& v : t.f32()) v = fill;
      return im.add_constant(node.name() + "_param", std::move(t));
    }
    Tensor t = im.constant_input(node, index).cast(DType::f32);
    if (t.numel() != size) fail(im.at(node), "Scale/B must hold {} values (no broadcasting), got {}", size, t.numel());
    return im.add_constant(node.input(index), t.reshaped({size}));
  };
  ValueId scale = flat(1, 1.0f), bias = flat(2, 0.0f);
  Attributes attrs;
  attrs.set("axis", std::int64_t{axis});
  const float epsilon = attr_float(node, "epsilon", 1e-5f);
  attrs.set("epsilon", epsilon);
  im.emit(node, Op::LayerNorm, {x, scale, bias}, attrs, Layout::Plain);
  emit_layer_norm_statistics(im, node, x, axis, epsilon);
}

void convert_pool(Importer& im, const onnx::NodeProto& node, Op op) {
  require_single_output(im, node);
  const std::size_t n = spatial_rank(im, node) - 2;
  ValueId x = spatial_input(im, node);
  Ints kernel = attr_ints(node, "kernel_shape");
  Window win = read_window(im, node, im.source_shape(x), kernel);
  Attributes attrs = window_attrs(win);
  attrs.set("kernel", win.kernel);
  attrs.set("ceil_mode", attr_int(node, "ceil_mode", 0));
  if (op == Op::AvgPool) {
    if (win.dilations != Ints(n, 1)) fail(im.at(node), "AveragePool with dilations is not supported");
    attrs.set("count_include_pad", attr_int(node, "count_include_pad", 0));
  }
  for (std::size_t i = 0; i < n; ++i)
    if (win.pads[i] >= win.kernel[i] * win.dilations[i] || win.pads[i + n] >= win.kernel[i] * win.dilations[i])
      fail(im.at(node), "padding must be smaller than the pooling window");
  if (n == 3) {
    im.emit(node, op == Op::MaxPool ? Op::MaxPool3d : Op::AvgPool3d, {x}, attrs, Layout::Plain);
    return;
  }
  im.emit(node, op, {x}, attrs, Layout::NHWC);
}

// 3-D global pooling: the mean over D, H, W, or a max window as large as the input.
void convert_global_pool3d(Importer& im, const onnx::NodeProto& node, Op op) {
  ValueId x = im.input(node, 0);
  const Shape shape = im.source_shape(x);
  Attributes attrs;
  if (op == Op::GlobalAvgPool) {
    attrs.set("axes", Ints{2, 3, 4});
    attrs.set("keepdims", std::int64_t{1});
    im.emit(node, Op::ReduceMean, {x}, attrs, Layout::Plain);
    return;
  }
  attrs.set("kernel", Ints{shape[2], shape[3], shape[4]});
  attrs.set("strides", Ints{1, 1, 1});
  attrs.set("dilations", Ints{1, 1, 1});
  attrs.set("pads", Ints(6, 0));
  im.emit(node, Op::MaxPool3d, {x}, attrs, Layout::Plain);
}

void convert_global_pool(Importer& im, const onnx::NodeProto& node, Op op) {
  if (spatial_rank(im, node) == 5) return convert_global_pool3d(im, node, op);
  ValueId x = spatial_input(im, node);
  im.emit(node, op, {x}, {}, Layout::NHWC);
}

}  // namespace

void register_nn_converters(ConverterTable& t) {
  t["Conv"] = convert_conv;
  t["ConvTranspose"] = convert_conv_transpose;
  t["Gemm"] = convert_gemm;
  t["MatMul"] = convert_matmul;
  t["BatchNormalization"] = convert_batch_norm;
  t["LayerNormalization"] = convert_layer_norm;
  t["MaxPool"] = [](Importer& im, const onnx::NodeProto& n) { convert_pool(im, n, Op::MaxPool); };
  t["AveragePool"] = [](Importer& im, const onnx::NodeProto& n) { convert_pool(im, n, Op::AvgPool); };
  t["GlobalAveragePool"] = [](Importer& im, const onnx::NodeProto& n) {
    convert_global_pool(im, n, Op::GlobalAvgPool);
  };
  t["GlobalMaxPool"] = [](Importer& im, const onnx::NodeProto& n) { convert_global_pool(im, n, Op::GlobalMaxPool); };
}

}  // namespace tinyq::onnx_import
