// Pre-quantized CONCATENATION, PAD, PADV2, RESIZE_NEAREST_NEIGHBOR, STRIDED_SLICE and SPLIT:
// data movement on int8 bytes. TFLite's converter gives their inputs and output one
// quantization, and TFLite Micro's int8 kernels then copy bytes (padding with the output's
// zero point, or PADV2's int8 value): the same bytes here.
// A file whose operands differ in quantization is refused rather than requantized, since that
// arithmetic would be ours, not TFLite's.
#include <fmt/format.h>

#include <cmath>

#include "frontend/tflite/tflite_prequantized_ops.hpp"
#include "frontend/tflite/tflite_slice_axes.hpp"
#include "ir/shape_inference.hpp"
#include "ir/strided_view.hpp"
#include "qmodel/kernel_fields.hpp"
#include "util/error.hpp"

namespace tinyq::tflite {

namespace {

void require_same_quantization(const PrequantContext& ctx, const OperatorInfo& op, const QuantParam& in,
                               const QuantParam& out, const std::string& operand) {
  if (in.scale != out.scale || in.zero_point != out.zero_point)
    fail(ctx.at(op), "{} is quantized differently from the output (scale {} zero point {} vs {} {}); not supported",
         operand, in.scale, in.zero_point, out.scale, out.zero_point);
}

std::vector<std::int64_t> int32_constant(const PrequantContext& ctx, const OperatorInfo& op, std::size_t i) {
  const TensorInfo& t = ctx.input(op, i);
  if (!t.has_data || t.type != TensorType::Int32 || t.data.size() % 4 != 0)
    fail(ctx.at(op), "input {} ('{}') must be an int32 constant", i, t.name);
  std::vector<std::int64_t> v;
  for (std::size_t k = 0; k < t.data.size(); k += 4)  // little-endian, whatever the host
    v.push_back(std::int32_t(std::uint32_t(t.data[k]) | std::uint32_t(t.data[k + 1]) << 8 |
                             std::uint32_t(t.data[k + 2]) << 16 | std::uint32_t(t.data[k + 3]) << 24));
  return v;
}

std::int32_t p32(const PrequantContext& ctx, const OperatorInfo& op, std::int64_t v) {
  if (v < 0 || v > std::numeric_limits<std::int32_t>::max()) fail(ctx.at(op), "size {} out of range", v);
  return std::int32_t(v);
}

// The StridedCopy node taking `axes` of input `xt` (row-major), into `yt`.
QNode strided_copy(const PrequantContext& ctx, const OperatorInfo& op, const TensorInfo& xt, const TensorInfo& yt,
                   const std::vector<AxisSlice>& axes) {
  require_same_quantization(ctx, op, ctx.activation(op, xt), ctx.activation(op, yt), "the input");
  StridedView v;
  std::int64_t input_stride = 1, count = 1;
  v.shape.resize(axes.size());
  v.stride.resize(axes.size());
  for (std::size_t d = axes.size(); d-- > 0;) {
    const AxisSlice& a = axes[d];
    if (a.count <= 0) fail(ctx.at(op), "selects no element of axis {} (empty tensors are not supported)", d);
    v.shape[d] = a.count;
    v.stride[d] = a.step * input_stride;
    v.offset += a.start * input_stride;
    input_stride *= xt.shape[d];
    count *= a.count;
  }
  if (count != element_count(yt.shape))
    fail(ctx.at(op), "output '{}' {} does not hold the {} elements selected", yt.name, shape_string(yt.shape), count);
  v = simplified(v);
  using P = rt::StridedCopyParams;
  QNode q;
  q.kernel = QKernel::StridedCopy;
  write_scalars(q, P{.rank = p32(ctx, op, std::int64_t(v.shape.size())),
                     .shape = nullptr,
                     .stride = nullptr,
                     .offset = p32(ctx, op, v.offset),
                     .index_axis = -1,
                     .index = nullptr});
  for (std::size_t d = 0; d < v.shape.size(); ++d) {
    q.i32[key_of(&P::shape)].push_back(p32(ctx, op, v.shape[d]));
    if (v.stride[d] < std::numeric_limits<std::int32_t>::min() ||
        v.stride[d] > std::numeric_limits<std::int32_t>::max())
      fail(ctx.at(op), "stride {} out of range", v.stride[d]);
    q.i32[key_of(&P::stride)].push_back(std::int32_t(v.stride[d]));
  }
  return q;
}

// reference_ops::GetNearestNeighbor (resize_nearest_neighbor.h): the source index of output
// index `i`, with TFLite's float scale and offset.
std::int32_t nearest_source(std::int32_t i, std::int32_t in, std::int32_t out, bool align_corners,
                            bool half_pixel_centers) {
  const float scale =
      (align_corners && out > 1) ? float(in - 1) / static_cast<float>(out - 1) : float(in) / static_cast<float>(out);
  const float offset = half_pixel_centers ? 0.5f : 0.0f;
  const float position = (float(i) + offset) * scale;
  std::int32_t v = std::min(
      align_corners ? static_cast<std::int32_t>(std::round(position)) : static_cast<std::int32_t>(std::floor(position)),
      in - 1);
  if (half_pixel_centers) v = std::max(0, v);
  return v;
}

}  // namespace

QNode prequantized_resize_nearest(const PrequantContext& ctx, const OperatorInfo& op) {
  const TensorInfo &xt = ctx.input(op, 0), &yt = ctx.output(op);
  require_same_quantization(ctx, op, ctx.activation(op, xt), ctx.activation(op, yt), "the input");
  const auto o = options_as<ResizeNearestNeighborOptions>(op, ctx.at(op));
  if (xt.shape.size() != 4 || yt.shape.size() != 4)
    fail(ctx.at(op), "only the resize of a 4-D NHWC tensor is supported");
  const auto size = int32_constant(ctx, op, 1);
  if (size.size() != 2 || size[0] != yt.shape[1] || size[1] != yt.shape[2] || yt.shape[0] != xt.shape[0] ||
      yt.shape[3] != xt.shape[3])
    fail(ctx.at(op), "output {} does not follow from the input {} and the size", shape_string(yt.shape),
         shape_string(xt.shape));
  QNode q;
  q.kernel = QKernel::Resize;
  const std::int32_t in_h = p32(ctx, op, xt.shape[1]), in_w = p32(ctx, op, xt.shape[2]);
  const std::int32_t out_h = p32(ctx, op, yt.shape[1]), out_w = p32(ctx, op, yt.shape[2]);
  if (in_h < 1 || in_w < 1 || out_h < 1 || out_w < 1) fail(ctx.at(op), "empty tensors are not supported");
  write_scalars(q, rt::ResizeParams{.batch = p32(ctx, op, xt.shape[0]),
                                    .in_h = in_h,
                                    .in_w = in_w,
                                    .channels = p32(ctx, op, xt.shape[3]),
                                    .out_h = out_h,
                                    .out_w = out_w,
                                    .source_y = nullptr,
                                    .source_x = nullptr});
  for (std::int32_t y = 0; y < out_h; ++y)
    q.i32[key_of(&rt::ResizeParams::source_y)].push_back(
        nearest_source(y, in_h, out_h, o.align_corners, o.half_pixel_centers));
  for (std::int32_t x = 0; x < out_w; ++x)
    q.i32[key_of(&rt::ResizeParams::source_x)].push_back(
        nearest_source(x, in_w, out_w, o.align_corners, o.half_pixel_centers));
  return q;
}

QNode prequantized_strided_slice(const PrequantContext& ctx, const OperatorInfo& op) {
  const TensorInfo &xt = ctx.input(op, 0), &yt = ctx.output(op);
  const auto o = options_as<StridedSliceOptions>(op, ctx.at(op));
  if (o.ellipsis_mask != 0 || o.new_axis_mask != 0)
    fail(ctx.at(op), "ellipsis_mask and new_axis_mask are not supported");
  // Where TFLite Micro's StridedSliceStartForAxis / EndForAxis (strided_slice_logic.h) read
  // the operands otherwise than the float importer's rules: `offset` adds end to the clamped
  // start, and begin_mask moves a shrunk axis' index. Refused rather than guessed.
  if (o.offset) fail(ctx.at(op), "the offset flag is not supported");
  if ((o.begin_mask & o.shrink_axis_mask) != 0)
    fail(ctx.at(op), "begin_mask on an axis that shrink_axis_mask removes is not supported");
  const auto begin = int32_constant(ctx, op, 1), end = int32_constant(ctx, op, 2), steps = int32_constant(ctx, op, 3);
  if (begin.size() != end.size() || begin.size() != steps.size() || begin.size() > xt.shape.size())
    fail(ctx.at(op), "begin, end and strides ({}, {}, {} values) do not fit a rank-{} input", begin.size(), end.size(),
         steps.size(), xt.shape.size());
  for (std::size_t d = 0; d < begin.size(); ++d)
    if ((o.shrink_axis_mask >> d & 1) != 0 && steps[d] < 0)  // TFLite Micro's loop then copies nothing
      fail(ctx.at(op), "a negative stride on an axis that shrink_axis_mask removes is not supported");
  std::vector<AxisSlice> axes;
  for (std::size_t d = 0; d < xt.shape.size(); ++d)
    axes.push_back(d < begin.size()
                       ? resolve_strided_slice_axis(ctx.at(op), o, d, xt.shape[d], begin[d], end[d], steps[d])
                       : AxisSlice{0, 1, xt.shape[d], false});
  return strided_copy(ctx, op, xt, yt, axes);
}

QNode prequantized_split(const PrequantContext& ctx, const OperatorInfo& op, std::size_t which) {
  const std::size_t parts = op.outputs.size();
  const TensorInfo& xt = ctx.input(op, 1);
  const auto o = options_as<SplitOptions>(op, ctx.at(op));
  if (o.num_splits != 0 && std::size_t(o.num_splits) != parts)
    fail(ctx.at(op), "num_splits {} but {} outputs", o.num_splits, parts);
  const auto axis_value = int32_constant(ctx, op, 0);
  const std::int64_t rank = std::int64_t(xt.shape.size());
  if (axis_value.size() != 1) fail(ctx.at(op), "axis must hold one value, holds {}", axis_value.size());
  const std::int64_t axis = axis_value[0] < 0 ? axis_value[0] + rank : axis_value[0];
  if (axis < 0 || axis >= rank) fail(ctx.at(op), "axis {} out of range for {}", axis_value[0], shape_string(xt.shape));
  const std::int64_t dim = xt.shape[std::size_t(axis)];
  if (dim % std::int64_t(parts) != 0) fail(ctx.at(op), "axis {} of size {} does not split in {}", axis, dim, parts);
  std::vector<AxisSlice> axes;
  for (auto d : xt.shape) axes.push_back({0, 1, d, false});
  axes[std::size_t(axis)].start = std::int64_t(which) * (dim / std::int64_t(parts));
  axes[std::size_t(axis)].count = dim / std::int64_t(parts);
  const int out = op.outputs[which];
  if (out < 0) fail(ctx.at(op), "output {} is missing", which);
  return strided_copy(ctx, op, xt, ctx.model.tensors[std::size_t(out)], axes);
}

QNode prequantized_concat(const PrequantContext& ctx, const OperatorInfo& op) {
  if (op.inputs.empty()) fail(ctx.at(op), "has no inputs");
  const auto o = options_as<ConcatenationOptions>(op, ctx.at(op));
  if (o.activation != Activation::None)
    fail(ctx.at(op), "a fused {} on CONCATENATION is not supported", activation_name(o.activation));
  const TensorInfo& yt = ctx.output(op);
  const QuantParam out = ctx.activation(op, yt);
  const std::int64_t rank = std::int64_t(yt.shape.size());
  std::int64_t axis = o.axis < 0 ? o.axis + rank : o.axis;
  if (axis < 0 || axis >= rank) fail(ctx.at(op), "axis {} out of range for rank {}", o.axis, rank);
  const std::int64_t outer = element_count(Shape(yt.shape.begin(), yt.shape.begin() + axis), ctx.at(op));
  QNode q;
  q.kernel = QKernel::Concat;
  write_scalars(q, rt::ConcatParams{.inputs = p32(ctx, op, std::int64_t(op.inputs.size())),
                                    .outer = p32(ctx, op, outer),
                                    .input_row = nullptr,
                                    .input_offset = nullptr,
                                    .multiplier = nullptr,
                                    .shift = nullptr,
                                    .output_offset = out.zero_point});
  using P = rt::ConcatParams;
  std::int64_t total = 0;
  for (std::size_t i = 0; i < op.inputs.size(); ++i) {
    const TensorInfo& xt = ctx.input(op, i);
    if (xt.has_data) fail(ctx.at(op), "a constant operand ('{}') is not supported", xt.name);
    if (xt.shape.size() != yt.shape.size()) fail(ctx.at(op), "input '{}' has another rank than the output", xt.name);
    require_same_quantization(ctx, op, ctx.activation(op, xt), out, fmt::format("input '{}'", xt.name));
    const std::int64_t row = outer > 0 ? element_count(xt.shape) / outer : 0;
    total += row;
    q.i32[key_of(&P::input_row)].push_back(p32(ctx, op, row));
    q.i32[key_of(&P::input_offset)].push_back(-out.zero_point);
    q.i32[key_of(&P::multiplier)].push_back(0);  // same quantization: a plain copy
    q.i32[key_of(&P::shift)].push_back(0);
  }
  if (outer * total != element_count(yt.shape)) fail(ctx.at(op), "input sizes do not add up to the output");
  return q;
}

QNode prequantized_pad(const PrequantContext& ctx, const OperatorInfo& op) {
  const bool with_value = op.builtin_code == std::int32_t(BuiltinOp::PadV2);
  const TensorInfo &xt = ctx.input(op, 0), &yt = ctx.output(op);
  const QuantParam in = ctx.activation(op, xt), out = ctx.activation(op, yt);
  require_same_quantization(ctx, op, in, out, "the input");
  const auto paddings = int32_constant(ctx, op, 1);
  if (xt.shape.size() != 4 || paddings.size() != 8)
    fail(ctx.at(op), "only padding of a 4-D NHWC tensor is supported (got rank {})", xt.shape.size());
  if (paddings[0] || paddings[1] || paddings[6] || paddings[7])
    fail(ctx.at(op), "only padding of H and W is supported, not of the batch or channels");
  for (auto p : paddings)
    if (p < 0 || p > 65536) fail(ctx.at(op), "paddings must be in 0..65536, got {}", p);
  std::int8_t value = std::int8_t(out.zero_point);  // PAD pads with real zero
  if (with_value && ctx.has_input(op, 2)) {
    const TensorInfo& v = ctx.input(op, 2);
    if (!v.has_data || v.type != TensorType::Int8 || v.data.size() != 1)
      fail(ctx.at(op), "the padding value '{}' must be one int8 constant", v.name);
    value = std::int8_t(v.data[0]);
  }
  QNode q;
  q.kernel = QKernel::Pad;
  write_scalars(q, rt::PadParams{.batch = p32(ctx, op, xt.shape[0]),
                                 .in_h = p32(ctx, op, xt.shape[1]),
                                 .in_w = p32(ctx, op, xt.shape[2]),
                                 .channels = p32(ctx, op, xt.shape[3]),
                                 .pad_top = p32(ctx, op, paddings[2]),
                                 .pad_left = p32(ctx, op, paddings[4]),
                                 .pad_bottom = p32(ctx, op, paddings[3]),
                                 .pad_right = p32(ctx, op, paddings[5]),
                                 .value = value});
  return q;
}

}  // namespace tinyq::tflite
