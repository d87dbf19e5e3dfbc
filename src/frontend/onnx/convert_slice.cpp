// Converters for ops that take part of a tensor: Slice, Gather and Split. On constants they
// are evaluated now (shape arithmetic); on run-time data they become the IR's Slice and
// Gather (ONNX's negative and out-of-range indices resolved here, on the stored axes).
#include <algorithm>

#include "frontend/onnx/const_eval.hpp"
#include "frontend/onnx/importer.hpp"
#include "ir/strided_view.hpp"

namespace tinyq::onnx_import {

namespace {

using Ints = std::vector<std::int64_t>;

bool is_constant(Importer& im, ValueId v) { return im.graph().value(v).is_constant(); }

// ONNX axis -> stored axis of `v`.
std::size_t stored_axis(const Value& v, int onnx_axis) {
  return v.layout == Layout::NHWC && v.shape.size() == 4 ? std::size_t(kNchwToNhwcAxis[onnx_axis])
                                                         : std::size_t(onnx_axis);
}

// A run-time Slice: per ONNX axis a start, end and step (already in range or not).
struct AxisSlice {
  int axis;  // ONNX order, normalized
  std::int64_t start, end, step;
};

ValueId emit_slice(Importer& im, const onnx::NodeProto& node, ValueId x, const std::vector<AxisSlice>& slices,
                   const std::string& output_name) {
  const Value& v = im.graph().value(x);
  const std::size_t rank = v.shape.size();
  Ints starts(rank, 0), ends(v.shape.begin(), v.shape.end()), steps(rank, 1);
  std::vector<bool> seen(rank, false);
  for (const AxisSlice& s : slices) {
    const std::size_t a = stored_axis(v, s.axis);
    if (seen[a]) fail(im.at(node), "axis {} is sliced twice", s.axis);
    seen[a] = true;
    if (s.step == 0) fail(im.at(node), "Slice step 0 on axis {}", s.axis);
    const SliceRange r = resolve_slice(v.shape[a], s.start, s.end, s.step);
    if (r.count == 0) {  // an empty tensor: stored as the range [0, 0), valid on any axis
      starts[a] = ends[a] = 0;
      continue;
    }
    starts[a] = r.start;
    steps[a] = r.step;
    // The end just past the last element taken: in range for the IR's resolved form.
    ends[a] = r.start + (r.count - 1) * r.step + (r.step > 0 ? 1 : -1);
  }
  Attributes attrs;
  attrs.set("starts", starts);
  attrs.set("ends", ends);
  attrs.set("steps", steps);
  return im.emit(node, Op::Slice, {x}, attrs, v.layout, output_name);
}

void convert_slice(Importer& im, const onnx::NodeProto& node) {
  ValueId data = im.input(node, 0);
  Ints starts, ends, axes, steps;
  if (im.opset() < 10) {
    starts = attr_ints(node, "starts");
    ends = attr_ints(node, "ends");
    axes = attr_ints(node, "axes");
  } else {
    starts = im.constant_input(node, 1).as_i64();
    ends = im.constant_input(node, 2).as_i64();
    if (auto a = im.optional_constant(node, 3)) axes = a->as_i64();
    if (auto s = im.optional_constant(node, 4)) steps = s->as_i64();
  }
  if (is_constant(im, data)) {
    im.define_constant(node.output(0),
                       eval_slice(*im.graph().value(data).constant, starts, ends, axes, steps, im.at(node)));
    return;
  }
  if (starts.size() != ends.size() || (!axes.empty() && axes.size() != starts.size()) ||
      (!steps.empty() && steps.size() != starts.size()))
    fail(im.at(node), "Slice starts, ends, axes and steps differ in length");
  const std::size_t rank = im.graph().value(data).shape.size();
  std::vector<AxisSlice> slices;
  for (std::size_t i = 0; i < starts.size(); ++i) {
    const int axis = normalize_axis(im, node, axes.empty() ? std::int64_t(i) : axes[i], rank);
    slices.push_back({axis, starts[i], ends[i], steps.empty() ? 1 : steps[i]});
  }
  emit_slice(im, node, data, slices, node.output(0));
}

void convert_gather(Importer& im, const onnx::NodeProto& node) {
  ValueId data = im.input(node, 0);
  const Tensor indices = im.constant_input(node, 1);  // a copy: to_layout below may move the values
  const std::size_t rank = im.graph().value(data).shape.size();
  const int axis = normalize_axis(im, node, attr_int(node, "axis", 0), rank);
  if (is_constant(im, data)) {
    im.define_constant(node.output(0), eval_gather(*im.graph().value(data).constant, indices, axis, im.at(node)));
    return;
  }
  // An NHWC value stays NHWC when the rank is kept (one axis of indices); otherwise the
  // gather happens in ONNX order.
  if (indices.shape().size() != 1) data = im.to_layout(data, Layout::Plain, node.name());
  const Value& v = im.graph().value(data);
  const std::int64_t dim = v.source_shape()[std::size_t(axis)];
  if (indices.numel() == 0) fail(im.at(node), "Gather with no indices (empty tensors are not supported)");
  Ints idx = indices.as_i64();
  for (auto& i : idx) {
    if (i < -dim || i >= dim) fail(im.at(node), "Gather index {} out of range for axis {} of size {}", i, axis, dim);
    if (i < 0) i += dim;
  }
  Attributes attrs;
  attrs.set("axis", std::int64_t(stored_axis(v, axis)));
  attrs.set("indices", idx);
  attrs.set("indices_shape", Ints(indices.shape().begin(), indices.shape().end()));
  im.emit(node, Op::Gather, {data}, attrs, v.layout);
}

// Split: one Slice per output. Sizes from the 'split' attribute (opset < 13) or input
// (13+), else num_outputs (18+: equal parts, the last one smaller), else equal parts.
void convert_split(Importer& im, const onnx::NodeProto& node) {
  ValueId data = im.input(node, 0);
  const Shape source = im.source_shape(data);
  const int axis = normalize_axis(im, node, attr_int(node, "axis", 0), source.size());
  const std::int64_t dim = source[std::size_t(axis)];
  const std::int64_t parts = node.output_size();
  Ints sizes = im.opset() < 13 ? attr_ints(node, "split") : Ints{};
  if (im.opset() >= 13)
    if (auto s = im.optional_constant(node, 1)) sizes = s->as_i64();
  if (sizes.empty()) {
    const std::int64_t n = im.opset() >= 18 ? attr_int(node, "num_outputs", parts) : parts;
    if (n != parts) fail(im.at(node), "num_outputs {} but {} outputs", n, parts);
    if (n < 1) fail(im.at(node), "Split into {} parts", n);
    // Rounded up without dim + n - 1, which overflows for a dimension near 2^63 (fuzzer).
    const std::int64_t chunk = dim / n + (im.opset() >= 18 && dim % n != 0 ? 1 : 0);
    if (im.opset() < 18 && dim % n != 0)
      fail(im.at(node), "axis {} of size {} does not split in {} parts", axis, dim, n);
    for (std::int64_t i = 0; i < n; ++i) sizes.push_back(std::min(chunk, dim - i * chunk));
  }
  if (std::int64_t(sizes.size()) != parts) fail(im.at(node), "{} split sizes for {} outputs", sizes.size(), parts);
  std::int64_t begin = 0;
  for (std::int64_t i = 0; i < parts; ++i) {
    const std::int64_t size = sizes[std::size_t(i)];
    if (size < 0 || size > dim - begin)  // not begin + size: a size near 2^63 overflows (fuzzer)
      fail(im.at(node), "split sizes {} do not cover axis {} of size {}", shape_string(sizes), axis, dim);
    const std::string& name = node.output(int(i));
    if (!name.empty()) {
      if (is_constant(im, data))
        im.define_constant(
            name, eval_slice(*im.graph().value(data).constant, {begin}, {begin + size}, {axis}, {1}, im.at(node)));
      else
        emit_slice(im, node, data, {{axis, begin, begin + size, 1}}, name);
    }
    begin += size;
  }
  if (begin != dim)
    fail(im.at(node), "split sizes {} do not add up to axis {} of size {}", shape_string(sizes), axis, dim);
}

}  // namespace

void register_slice_converters(ConverterTable& t) {
  t["Gather"] = convert_gather;
  t["Slice"] = convert_slice;
  t["Split"] = convert_split;
}

}  // namespace tinyq::onnx_import
