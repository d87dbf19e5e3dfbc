// STRIDED_SLICE and SPLIT: computed now on constants, a reshape when everything is selected,
// otherwise the IR's Slice (one per SPLIT part).
#include <algorithm>

#include "frontend/tflite/tflite_converter.hpp"
#include "frontend/tflite/tflite_slice_axes.hpp"
#include "util/error.hpp"

namespace tinyq::tflite {

namespace {

using Ints = std::vector<std::int64_t>;

bool is_everything(const std::vector<AxisSlice>& axes, const Shape& in) {
  for (std::size_t d = 0; d < axes.size(); ++d)
    if (axes[d].start != 0 || axes[d].step != 1 || axes[d].count != in[d]) return false;
  return true;
}

Shape sliced_shape(const std::vector<AxisSlice>& axes) {
  Shape out;
  for (const auto& a : axes)
    if (!a.removed) out.push_back(a.count);
  return out;
}

// The selected elements of a constant, in order, shaped `out_shape`.
Tensor slice_constant(const Tensor& in, const std::vector<AxisSlice>& axes, const Shape& out_shape) {
  const Shape& shape = in.shape();
  std::vector<std::int64_t> stride(shape.size(), 1);
  for (std::size_t d = shape.size(); d-- > 1;) stride[d - 1] = stride[d] * shape[d];
  Tensor out(DType::f32, out_shape);
  auto src = in.f32();
  auto dst = out.f32();
  std::vector<std::int64_t> index(axes.size(), 0);
  for (std::size_t n = 0; n < dst.size(); ++n) {
    std::int64_t at = 0;
    for (std::size_t d = 0; d < axes.size(); ++d) at += (axes[d].start + index[d] * axes[d].step) * stride[d];
    dst[n] = src[std::size_t(at)];
    for (std::size_t d = axes.size(); d-- > 0;) {
      if (++index[d] < axes[d].count) break;
      index[d] = 0;
    }
  }
  return out;
}

// Output `output` of `op` is `x` sliced by `axes`: computed now for a constant, a reshape
// when everything is selected, an IR Slice otherwise.
void emit_slice(Converter& cv, const OperatorInfo& op, std::size_t output, ValueId x,
                const std::vector<AxisSlice>& axes) {
  const Value& v = cv.graph().value(x);
  const Shape out = sliced_shape(axes);
  if (v.is_constant()) {
    cv.define_constant(op, output, slice_constant(*v.constant, axes, out));
  } else if (is_everything(axes, v.shape)) {
    if (out == v.shape) {
      cv.alias(op, output, x);
    } else {
      Attributes a;
      a.set("shape", Ints(out.begin(), out.end()));
      cv.emit(op, Op::Reshape, {x}, a, Activation::None, output);
    }
  } else {
    // The IR's Slice, on the stored axes (a TFLite tensor's own), with each range resolved;
    // axes that STRIDED_SLICE shrinks away are dropped by a Reshape after it.
    Ints starts, ends, steps;
    for (std::size_t d = 0; d < axes.size(); ++d) {
      const AxisSlice& a = axes[d];
      if (a.count <= 0) fail(cv.at(op), "selects no element of axis {} (empty tensors are not supported)", d);
      starts.push_back(a.start);
      steps.push_back(a.step);
      ends.push_back(a.start + (a.count - 1) * a.step + (a.step > 0 ? 1 : -1));  // just past the last one taken
    }
    Attributes a;
    a.set("starts", starts);
    a.set("ends", ends);
    a.set("steps", steps);
    const bool shrinks = std::any_of(axes.begin(), axes.end(), [](const AxisSlice& s) { return s.removed; });
    if (!shrinks) {
      cv.emit(op, Op::Slice, {x}, a, Activation::None, output);
      return;
    }
    const ValueId sliced = cv.emit_internal(op, "_slice" + std::to_string(output), Op::Slice, {x}, a);
    Attributes r;
    r.set("shape", Ints(out.begin(), out.end()));
    cv.emit(op, Op::Reshape, {sliced}, r, Activation::None, output);
  }
}

// STRIDED_SLICE(x, begin, end, strides).
void convert_strided_slice(Converter& cv, const OperatorInfo& op) {
  cv.expect_arity(op, 4, 4);
  const auto o = options_as<StridedSliceOptions>(op, cv.at(op));
  if (o.ellipsis_mask != 0 || o.new_axis_mask != 0)
    fail(cv.at(op), "ellipsis_mask and new_axis_mask are not supported");
  ValueId x = cv.input(op, 0);
  const Shape in = cv.shape(x);
  const Ints begin = cv.integer_input(op, 1), end = cv.integer_input(op, 2), steps = cv.integer_input(op, 3);
  if (begin.size() != end.size() || begin.size() != steps.size() || begin.size() > in.size())
    fail(cv.at(op), "begin, end and strides ({}, {}, {} values) do not fit a rank-{} input", begin.size(), end.size(),
         steps.size(), in.size());
  std::vector<AxisSlice> axes;
  for (std::size_t d = 0; d < in.size(); ++d) {
    if (d < begin.size()) {
      axes.push_back(resolve_strided_slice_axis(cv.at(op), o, d, in[d], begin[d], end[d], steps[d]));
    } else {
      axes.push_back({0, 1, in[d], false});
    }
  }
  emit_slice(cv, op, 0, x, axes);
}

// SPLIT(axis, x) into as many equal parts as the operator has outputs.
void convert_split(Converter& cv, const OperatorInfo& op) {
  const std::size_t parts = op.outputs.size();
  if (parts == 0) fail(cv.at(op), "has no outputs");
  cv.expect_arity(op, 2, 2, parts);
  const auto o = options_as<SplitOptions>(op, cv.at(op));
  if (o.num_splits != 0 && std::size_t(o.num_splits) != parts)
    fail(cv.at(op), "num_splits {} but {} outputs", o.num_splits, parts);
  ValueId x = cv.input(op, 1);
  const Shape in = cv.shape(x);
  const Ints axis_value = cv.integer_input(op, 0);
  if (axis_value.size() != 1) fail(cv.at(op), "axis must hold one value, holds {}", axis_value.size());
  const std::int64_t axis = axis_value[0] < 0 ? axis_value[0] + std::int64_t(in.size()) : axis_value[0];
  if (axis < 0 || axis >= std::int64_t(in.size()))
    fail(cv.at(op), "axis {} out of range for {}", axis_value[0], shape_string(in));
  const std::int64_t dim = in[std::size_t(axis)];
  if (dim % std::int64_t(parts) != 0) fail(cv.at(op), "axis {} of size {} does not split in {}", axis, dim, parts);
  for (std::size_t p = 0; p < parts; ++p) {
    std::vector<AxisSlice> axes;
    for (std::size_t d = 0; d < in.size(); ++d) axes.push_back({0, 1, in[d], false});
    axes[std::size_t(axis)].start = std::int64_t(p) * (dim / std::int64_t(parts));
    axes[std::size_t(axis)].count = dim / std::int64_t(parts);
    emit_slice(cv, op, p, x, axes);
  }
}

}  // namespace

void register_slice_converters(ConverterTable& t) {
  t[std::int32_t(BuiltinOp::StridedSlice)] = convert_strided_slice;
  t[std::int32_t(BuiltinOp::Split)] = convert_split;
}

}  // namespace tinyq::tflite
