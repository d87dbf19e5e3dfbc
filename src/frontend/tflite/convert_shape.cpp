// Converters for operators that move data without arithmetic: RESHAPE, SQUEEZE, EXPAND_DIMS,
// TRANSPOSE, CONCATENATION, PAD, PADV2, RESIZE_NEAREST_NEIGHBOR.
#include <algorithm>

#include "frontend/tflite/tflite_converter.hpp"
#include "util/error.hpp"

namespace tinyq::tflite {

namespace {

using Ints = std::vector<std::int64_t>;

void emit_reshape(Converter& cv, const OperatorInfo& op, ValueId x, const Shape& shape) {
  Attributes a;
  a.set("shape", Ints(shape.begin(), shape.end()));
  cv.emit(op, Op::Reshape, {x}, a);
}

// A target shape with at most one -1, resolved against `count` elements.
Shape resolve_shape(Converter& cv, const OperatorInfo& op, Ints target, std::int64_t count) {
  std::int64_t known = 1;
  int unknown = -1;
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (target[i] == -1 && unknown < 0) {
      unknown = int(i);
    } else if (target[i] < 0) {
      fail(cv.at(op), "new shape {} has more than one -1 or a negative dimension", shape_string(target));
    } else if (target[i] > kMaxElements) {
      fail(cv.at(op), "new shape {} is too large", shape_string(target));
    } else {
      known *= target[i];
      if (known > kMaxElements) fail(cv.at(op), "new shape {} is too large", shape_string(target));
    }
  }
  if (unknown >= 0) {
    if (known == 0 || count % known != 0)
      fail(cv.at(op), "cannot reshape {} elements to {}", count, shape_string(target));
    target[std::size_t(unknown)] = count / known;
  }
  return target;
}

// RESHAPE(x, shape?): the shape tensor when it is a constant, else the options' new_shape,
// else the output shape the file declares (a shape computed at run time from static sizes).
void convert_reshape(Converter& cv, const OperatorInfo& op) {
  cv.expect_arity(op, 1, 2);
  ValueId x = cv.input(op, 0);
  Ints target;
  bool known = false;
  if (cv.has_input(op, 1) && cv.input_tensor(op, 1).has_data) {
    target = cv.integer_input(op, 1);
    known = true;
  }
  if (!known) {
    const auto o = options_as<ReshapeOptions>(op, cv.at(op));
    if (o.has_new_shape) target = o.new_shape, known = true;
  }
  if (!known) target = static_shape(cv.output_tensor(op, 0), cv.at(op));
  emit_reshape(cv, op, x, resolve_shape(cv, op, target, element_count(cv.shape(x))));
}

int normalize_axis(Converter& cv, const OperatorInfo& op, std::int64_t axis, std::size_t rank) {
  if (axis < -std::int64_t(rank) || axis >= std::int64_t(rank))
    fail(cv.at(op), "axis {} out of range for rank {}", axis, rank);
  return int(axis < 0 ? axis + std::int64_t(rank) : axis);
}

void convert_squeeze(Converter& cv, const OperatorInfo& op) {
  cv.expect_arity(op, 1, 1);
  ValueId x = cv.input(op, 0);
  const Shape in = cv.shape(x);
  const Ints dims = options_as<SqueezeOptions>(op, cv.at(op)).squeeze_dims;
  std::vector<bool> drop(in.size(), dims.empty());
  for (std::size_t i = 0; i < in.size() && dims.empty(); ++i) drop[i] = in[i] == 1;
  for (auto d : dims) {
    const int axis = normalize_axis(cv, op, d, in.size());
    if (in[std::size_t(axis)] != 1) fail(cv.at(op), "cannot squeeze axis {} of size {}", axis, in[std::size_t(axis)]);
    drop[std::size_t(axis)] = true;
  }
  Shape out;
  for (std::size_t i = 0; i < in.size(); ++i)
    if (!drop[i]) out.push_back(in[i]);
  emit_reshape(cv, op, x, out);
}

void convert_expand_dims(Converter& cv, const OperatorInfo& op) {
  cv.expect_arity(op, 2, 2);
  ValueId x = cv.input(op, 0);
  Shape out = cv.shape(x);
  const Ints axis = cv.integer_input(op, 1);
  if (axis.size() != 1) fail(cv.at(op), "axis must hold one value, holds {}", axis.size());
  out.insert(out.begin() + normalize_axis(cv, op, axis[0], out.size() + 1), 1);
  emit_reshape(cv, op, x, out);
}

void convert_transpose(Converter& cv, const OperatorInfo& op) {
  cv.expect_arity(op, 2, 2);
  Attributes a;
  a.set("perm", cv.integer_input(op, 1));  // checked against the input's rank by shape inference
  cv.emit(op, Op::Transpose, {cv.input(op, 0)}, a);
}

void convert_concatenation(Converter& cv, const OperatorInfo& op) {
  if (op.inputs.empty()) fail(cv.at(op), "has no inputs");
  cv.expect_arity(op, op.inputs.size(), op.inputs.size());
  const auto o = options_as<ConcatenationOptions>(op, cv.at(op));
  std::vector<ValueId> inputs;
  for (std::size_t i = 0; i < op.inputs.size(); ++i) inputs.push_back(cv.input(op, i));
  Attributes a;
  a.set("axis", std::int64_t(normalize_axis(cv, op, o.axis, cv.shape(inputs[0]).size())));
  cv.emit(op, Op::Concat, inputs, a, o.activation);
}

// PAD(x, paddings [rank, 2]) and PADV2(x, paddings, value): constant padding, the value a
// real number (PAD: zero, which a quantized model pads with as its zero point).
void convert_pad(Converter& cv, const OperatorInfo& op, bool with_value) {
  cv.expect_arity(op, with_value ? 3 : 2, with_value ? 3 : 2);
  ValueId x = cv.input(op, 0);
  const std::size_t rank = cv.shape(x).size();
  const Ints paddings = cv.integer_input(op, 1);
  if (paddings.size() != 2 * rank) fail(cv.at(op), "{} paddings for a rank-{} input", paddings.size(), rank);
  Ints pads(2 * rank);
  for (std::size_t d = 0; d < rank; ++d) {
    pads[d] = paddings[2 * d];
    pads[d + rank] = paddings[2 * d + 1];
  }
  for (auto p : pads)
    if (p < 0 || p > 65536) fail(cv.at(op), "paddings must be in 0..65536, got {}", p);
  float value = 0.0f;
  if (with_value) {
    Tensor v = cv.constant_input(op, 2);
    if (v.numel() != 1) fail(cv.at(op), "the padding value must be one number, it holds {}", v.numel());
    value = v.f32()[0];
  }
  Attributes a;
  a.set("pads", pads);
  a.set("mode", std::string("constant"));
  a.set("value", value);
  cv.emit(op, Op::Pad, {x}, a);
}

// RESIZE_NEAREST_NEIGHBOR(x, size [2]): source index floor(o * in / out) by default,
// floor((o + 0.5) * in / out) with half_pixel_centers, round(o * (in - 1) / (out - 1)) with
// align_corners; the IR's Resize modes asymmetric/floor, tf_half_pixel_for_nn/floor and
// align_corners/round_prefer_ceil compute the same indices.
void convert_resize_nearest(Converter& cv, const OperatorInfo& op) {
  cv.expect_arity(op, 2, 2);
  const auto o = options_as<ResizeNearestNeighborOptions>(op, cv.at(op));
  if (o.align_corners && o.half_pixel_centers)
    fail(cv.at(op), "align_corners together with half_pixel_centers is not supported");
  ValueId x = cv.input(op, 0);
  const Shape in = cv.shape(x);
  if (in.size() != 4) fail(cv.at(op), "input must be 4-D (N,H,W,C), got {}", shape_string(in));
  const Ints size = cv.integer_input(op, 1);
  if (size.size() != 2) fail(cv.at(op), "size must hold 2 values, holds {}", size.size());
  for (std::size_t i = 0; i < 2; ++i)
    if (size[i] < 1 || size[i] > 65536 || in[1 + i] < 1)
      fail(cv.at(op), "cannot resize {} to {}x{}", shape_string(in), size[0], size[1]);
  Attributes a;
  a.set("sizes", Ints{in[0], size[0], size[1], in[3]});
  a.set("scales", std::vector<float>{1.0f, float(size[0]) / float(in[1]), float(size[1]) / float(in[2]), 1.0f});
  a.set("coordinate_transformation_mode", std::string(o.align_corners        ? "align_corners"
                                                      : o.half_pixel_centers ? "tf_half_pixel_for_nn"
                                                                             : "asymmetric"));
  a.set("nearest_mode", std::string(o.align_corners ? "round_prefer_ceil" : "floor"));
  cv.emit(op, Op::Resize, {x}, a);
}

}  // namespace

void register_shape_converters(ConverterTable& t) {
  auto code = [](BuiltinOp b) { return std::int32_t(b); };
  t[code(BuiltinOp::Reshape)] = convert_reshape;
  t[code(BuiltinOp::Squeeze)] = convert_squeeze;
  t[code(BuiltinOp::ExpandDims)] = convert_expand_dims;
  t[code(BuiltinOp::Transpose)] = convert_transpose;
  t[code(BuiltinOp::Concatenation)] = convert_concatenation;
  t[code(BuiltinOp::Pad)] = [](Converter& cv, const OperatorInfo& op) { convert_pad(cv, op, false); };
  t[code(BuiltinOp::PadV2)] = [](Converter& cv, const OperatorInfo& op) { convert_pad(cv, op, true); };
  t[code(BuiltinOp::ResizeNearestNeighbor)] = convert_resize_nearest;
}

}  // namespace tinyq::tflite
