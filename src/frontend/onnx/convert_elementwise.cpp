// Converters for elementwise ONNX ops (unary, binary with broadcasting, Clip), Softmax
// and ReduceMean.
#include <cmath>
#include <limits>

#include "frontend/onnx/const_eval.hpp"
#include "frontend/onnx/importer.hpp"

namespace tinyq::onnx_import {

namespace {

using Ints = std::vector<std::int64_t>;

void convert_unary(Importer& im, const onnx::NodeProto& node, Op op, Attributes attrs = {}) {
  ValueId x = im.input(node, 0);
  im.emit(node, op, {x}, std::move(attrs), im.graph().value(x).layout);
}

bool is_rank4_nhwc(const Value& v) { return v.layout == Layout::NHWC && v.shape.size() == 4; }

void convert_binary(Importer& im, const onnx::NodeProto& node, Op op) {
  ValueId a = im.input(node, 0), b = im.input(node, 1);
  const Value &av = im.graph().value(a), &bv = im.graph().value(b);
  if (av.is_constant() && bv.is_constant() && (av.dtype != DType::f32 || bv.dtype != DType::f32)) {
    // Integer shape arithmetic: evaluate now.
    std::function<double(double, double)> fn;
    switch (op) {
      case Op::Add: fn = [](double x, double y) { return x + y; }; break;
      case Op::Sub: fn = [](double x, double y) { return x - y; }; break;
      case Op::Mul: fn = [](double x, double y) { return x * y; }; break;
      case Op::Div:
        fn = [&](double x, double y) {
          if (y == 0) fail(im.at(node), "integer division by zero");
          return av.dtype == DType::f32 || bv.dtype == DType::f32 ? x / y : std::trunc(x / y);
        };
        break;
      default: fn = [](double x, double y) { return std::pow(x, y); }; break;
    }
    im.define_constant(node.output(0), eval_binary(*av.constant, *bv.constant, fn, im.at(node)));
    return;
  }
  if (op == Op::Pow && av.dtype == DType::f32 && bv.is_constant() && bv.dtype != DType::f32) {
    // Since opset 12 Pow's exponent may be an integer tensor; the result is float either way.
    Tensor exponent = bv.constant->cast(DType::f32);
    b = im.add_constant(node.input(1) + "_f32", std::move(exponent));  // av and bv dangle from here
  }
  const Value &x = im.graph().value(a), &y = im.graph().value(b);
  if (x.dtype != DType::f32 || y.dtype != DType::f32)
    fail(im.at(node), "only float32 arithmetic is supported on run-time values");
  Layout layout = Layout::Plain;
  if (is_rank4_nhwc(x) || is_rank4_nhwc(y)) {
    a = im.broadcast_operand_to_nhwc(a, node.name());
    b = im.broadcast_operand_to_nhwc(b, node.name());
    layout = Layout::NHWC;
  }
  im.emit(node, op, {a, b}, {}, layout);
}

void convert_clip(Importer& im, const onnx::NodeProto& node) {
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (im.opset() < 11) {
    lo = attr_float(node, "min", lo);
    hi = attr_float(node, "max", hi);
  } else {
    auto scalar = [&](const Tensor& t, const char* what) {
      if (t.numel() != 1) fail(node.name(), "Clip {} must hold one value, it holds {}", what, t.numel());
      return t.as_f32()[0];
    };
    if (auto t = im.optional_constant(node, 1)) lo = scalar(*t, "min");
    if (auto t = im.optional_constant(node, 2)) hi = scalar(*t, "max");
  }
  Attributes attrs;
  attrs.set("min", lo);
  attrs.set("max", hi);
  convert_unary(im, node, Op::Clip, attrs);
}

void convert_dropout(Importer& im, const onnx::NodeProto& node) {
  if (node.output_size() > 1 && !node.output(1).empty())
    fail(im.at(node), "the Dropout mask output is not supported (inference graphs do not use it)");
  if (auto training = im.optional_constant(node, 2)) {
    const auto mode = training->as_i64();
    if (mode.size() != 1) fail(im.at(node), "Dropout training_mode must hold one value, it holds {}", mode.size());
    // Training mode drops random elements, unless the ratio is a constant 0: then it is the
    // identity too (ONNX's own definition), and deterministic.
    const auto ratio = im.optional_constant(node, 1);
    const bool keeps_all = ratio && ratio->numel() == 1 && ratio->as_f32()[0] == 0.0f;
    if (mode[0] != 0 && !keeps_all)
      fail(im.at(node), "Dropout in training mode is not supported (only with a constant ratio of 0)");
  }
  im.alias(node.output(0), im.input(node, 0));
}

void convert_identity(Importer& im, const onnx::NodeProto& node) { im.alias(node.output(0), im.input(node, 0)); }

void convert_cast(Importer& im, const onnx::NodeProto& node) {
  ValueId x = im.input(node, 0);
  const Value& v = im.graph().value(x);
  auto to = attr_int(node, "to", onnx::TensorProto::FLOAT);
  DType target;
  switch (to) {
    case onnx::TensorProto::FLOAT: target = DType::f32; break;
    case onnx::TensorProto::INT64: target = DType::i64; break;
    case onnx::TensorProto::INT32: target = DType::i32; break;
    default: fail(im.at(node), "Cast to {} is not supported", onnx::TensorProto::DataType_Name(int(to)));
  }
  if (v.is_constant()) {
    im.define_constant(node.output(0), v.constant->cast(target));
    return;
  }
  if (target != DType::f32 || v.dtype != DType::f32)
    fail(im.at(node), "Cast of run-time values is supported only float->float");
  im.alias(node.output(0), x);
}

void convert_softmax(Importer& im, const onnx::NodeProto& node) {
  ValueId x = im.input(node, 0);
  const Value& v = im.graph().value(x);
  const std::size_t rank = v.shape.size();
  int axis = normalize_axis(im, node, attr_int(node, "axis", im.opset() < 13 ? 1 : -1), rank);
  if (im.opset() >= 13 || axis == int(rank) - 1) {
    Attributes attrs;
    attrs.set("axis", std::int64_t(v.layout == Layout::NHWC ? kNchwToNhwcAxis[axis] : axis));
    im.emit(node, Op::Softmax, {x}, attrs, v.layout);
    return;
  }
  // Before opset 13, Softmax normalises over all axes from `axis` on, as a 2-D matrix.
  x = im.to_layout(x, Layout::Plain, node.name());
  Shape shape = im.graph().value(x).shape;
  // Each side's product checked: an empty input may declare huge other dimensions (fuzzer).
  const std::int64_t rows = element_count(Shape(shape.begin(), shape.begin() + axis), im.at(node));
  const std::int64_t cols = element_count(Shape(shape.begin() + axis, shape.end()), im.at(node));
  Attributes flat, back, sm;
  flat.set("shape", Ints{rows, cols});
  back.set("shape", Ints(shape.begin(), shape.end()));
  sm.set("axis", std::int64_t{1});
  ValueId f = im.emit_internal(node.name() + "_2d", Op::Reshape, {x}, flat, Layout::Plain);
  ValueId s = im.emit_internal(node.name() + "_softmax", Op::Softmax, {f}, sm, Layout::Plain);
  im.emit(node, Op::Reshape, {s}, back, Layout::Plain);
}

void convert_reduce_mean(Importer& im, const onnx::NodeProto& node) {
  ValueId x = im.input(node, 0);
  Ints axes = im.opset() >= 18 && im.has_input(node, 1) ? im.constant_input(node, 1).as_i64() : attr_ints(node, "axes");
  bool keep = attr_int(node, "keepdims", 1) != 0;
  const std::size_t rank = im.graph().value(x).shape.size();
  if (axes.empty()) {
    if (attr_int(node, "noop_with_empty_axes", 0) != 0) {
      im.alias(node.output(0), x);
      return;
    }
    for (std::size_t i = 0; i < rank; ++i) axes.push_back(std::int64_t(i));
  }
  std::vector<bool> reduced(rank, false);
  for (auto a : axes) reduced[std::size_t(normalize_axis(im, node, a, rank))] = true;
  Layout layout = im.graph().value(x).layout;
  if (layout == Layout::NHWC && !keep) {
    // The surviving axes keep NHWC's order; that is ONNX's order only if C survives last or alone.
    std::vector<int> kept_onnx;
    for (int stored = 0; stored < 4; ++stored) {
      int onnx_axis = kToNchwPerm[std::size_t(stored)];
      if (!reduced[std::size_t(onnx_axis)]) kept_onnx.push_back(onnx_axis);
    }
    if (!std::is_sorted(kept_onnx.begin(), kept_onnx.end())) {
      x = im.to_layout(x, Layout::Plain, node.name());
      layout = Layout::Plain;
    }
  }
  Ints stored_axes;
  for (std::size_t a = 0; a < rank; ++a)
    if (reduced[a]) stored_axes.push_back(layout == Layout::NHWC ? kNchwToNhwcAxis[a] : std::int64_t(a));
  std::sort(stored_axes.begin(), stored_axes.end());
  Attributes attrs;
  attrs.set("axes", stored_axes);
  attrs.set("keepdims", std::int64_t{keep});
  im.emit(node, Op::ReduceMean, {x}, attrs, keep ? layout : Layout::Plain);
}

}  // namespace

void register_elementwise_converters(ConverterTable& t) {
  auto unary = [](Op op) { return [op](Importer& im, const onnx::NodeProto& n) { convert_unary(im, n, op); }; };
  auto binary = [](Op op) { return [op](Importer& im, const onnx::NodeProto& n) { convert_binary(im, n, op); }; };
  t["Relu"] = unary(Op::Relu);
  t["Sigmoid"] = unary(Op::Sigmoid);
  t["Tanh"] = unary(Op::Tanh);
  t["HardSwish"] = unary(Op::HardSwish);
  t["Sqrt"] = unary(Op::Sqrt);
  t["Exp"] = unary(Op::Exp);
  t["Neg"] = unary(Op::Neg);
  t["LeakyRelu"] = [](Importer& im, const onnx::NodeProto& n) {
    Attributes a;
    a.set("alpha", attr_float(n, "alpha", 0.01f));
    convert_unary(im, n, Op::LeakyRelu, a);
  };
  t["HardSigmoid"] = [](Importer& im, const onnx::NodeProto& n) {
    Attributes a;
    a.set("alpha", attr_float(n, "alpha", 0.2f));
    a.set("beta", attr_float(n, "beta", 0.5f));
    convert_unary(im, n, Op::HardSigmoid, a);
  };
  t["Clip"] = convert_clip;
  t["Identity"] = convert_identity;
  t["Dropout"] = convert_dropout;
  t["Cast"] = convert_cast;
  t["Add"] = binary(Op::Add);
  t["Sub"] = binary(Op::Sub);
  t["Mul"] = binary(Op::Mul);
  t["Div"] = binary(Op::Div);
  t["Pow"] = binary(Op::Pow);
  t["PRelu"] = binary(Op::PRelu);
  t["Softmax"] = convert_softmax;
  t["ReduceMean"] = convert_reduce_mean;
}

}  // namespace tinyq::onnx_import
