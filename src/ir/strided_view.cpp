#include "ir/strided_view.hpp"

#include <algorithm>
#include <cstring>

#include "util/error.hpp"

namespace tinyq {

namespace {

std::vector<std::int64_t> row_major_strides(const Shape& s) {
  // An empty tensor is never read, and its other dimensions may be too large for a stride
  // (fuzzing found [0, 3, 4, 2^62]): zero strides, no multiplication.
  if (std::find(s.begin(), s.end(), 0) != s.end()) return std::vector<std::int64_t>(s.size(), 0);
  std::vector<std::int64_t> st(s.size(), 1);
  for (std::size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

}  // namespace

SliceRange resolve_slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) {
  // Dimensions are below 2^31, so any step beyond +-2^32 selects the same elements (one at
  // most); clamping keeps the count arithmetic from overflowing (-INT64_MIN is UB).
  step = std::clamp<std::int64_t>(step, -(std::int64_t{1} << 32), std::int64_t{1} << 32);
  start = std::clamp<std::int64_t>(start, -(std::int64_t{1} << 40), std::int64_t{1} << 40);
  end = std::clamp<std::int64_t>(end, -(std::int64_t{1} << 40), std::int64_t{1} << 40);
  auto clampi = [&](std::int64_t v, bool is_end) {
    if (v < 0) v += dim;
    if (step > 0) return std::clamp<std::int64_t>(v, 0, dim);
    return is_end ? std::clamp<std::int64_t>(v, -1, dim - 1) : std::clamp<std::int64_t>(v, 0, dim - 1);
  };
  SliceRange r;
  r.step = step;
  r.start = clampi(start, false);
  const std::int64_t e = clampi(end, true);
  r.count = step > 0 ? std::max<std::int64_t>(0, (e - r.start + step - 1) / step)
                     : std::max<std::int64_t>(0, (r.start - e + (-step) - 1) / (-step));
  return r;
}

StridedView strided_view(const Node& node, const Shape& in) {
  const std::vector<std::int64_t> in_stride = row_major_strides(in);
  StridedView v;
  switch (node.op) {
    case Op::Transpose: {
      for (auto p : node.attrs.get_ints("perm")) {
        const std::size_t a = std::size_t(p < 0 ? p + std::int64_t(in.size()) : p);
        v.shape.push_back(in.at(a));
        v.stride.push_back(in_stride.at(a));
      }
      return v;
    }
    case Op::Slice: {
      const auto starts = node.attrs.get_ints("starts"), ends = node.attrs.get_ints("ends"),
                 steps = node.attrs.get_ints("steps");
      if (starts.size() != in.size() || ends.size() != in.size() || steps.size() != in.size())
        fail(node.name, "Slice needs starts, ends and steps for each of the {} axes", in.size());
      for (std::size_t d = 0; d < in.size(); ++d) {
        const std::int64_t s = starts[d], e = ends[d], st = steps[d], dim = in[d];
        // Attributes are stored resolved (op.hpp); anything else is a damaged graph.
        const bool ok = st > 0 ? (s >= 0 && s <= dim && e >= 0 && e <= dim)
                               : (st < 0 && s >= 0 && s <= dim - 1 && e >= -1 && e <= dim - 1);
        if (!ok) fail(node.name, "Slice range [{}, {}) step {} does not fit axis {} of size {}", s, e, st, d, dim);
        // The elements taken, without overflow for any step (|step| up to 2^63 - 1 and
        // INT64_MIN): e - s and s - e lie within the axis.
        const std::uint64_t magnitude = st > 0 ? std::uint64_t(st) : std::uint64_t(-(st + 1)) + 1;
        const std::int64_t span = st > 0 ? e - s : s - e;
        const std::int64_t count = span > 0 ? std::int64_t(std::uint64_t(span - 1) / magnitude) + 1 : 0;
        v.shape.push_back(count);
        // A step only matters between two elements, and then |step| < dim: no overflow.
        v.stride.push_back(count > 1 ? st * in_stride[d] : 0);
        v.offset += s * in_stride[d];
      }
      return v;
    }
    case Op::Gather: {
      std::int64_t axis = node.attrs.get_int("axis", 0);
      if (axis < 0) axis += std::int64_t(in.size());
      if (axis < 0 || axis >= std::int64_t(in.size())) fail(node.name, "Gather axis {} out of range", axis);
      const std::size_t a = std::size_t(axis);
      const auto indices = node.attrs.get_ints("indices");
      const auto indices_shape = node.attrs.get_ints("indices_shape");
      std::int64_t expected = 1;
      for (auto d : indices_shape) expected *= d;
      if (indices.empty() || std::int64_t(indices.size()) != expected)
        fail(node.name, "Gather has {} indices for indices shape {}", indices.size(), shape_string(indices_shape));
      for (std::size_t d = 0; d < a; ++d) {
        v.shape.push_back(in[d]);
        v.stride.push_back(in_stride[d]);
      }
      if (indices_shape.empty()) {  // one scalar index: the axis disappears
        if (indices[0] < 0 || indices[0] >= in[a]) fail(node.name, "Gather index {} out of range", indices[0]);
        v.offset = indices[0] * in_stride[a];
      } else {
        // Several index axes are one axis for the copy: their elements are consecutive.
        v.index_axis = int(a);
        v.shape.push_back(std::int64_t(indices.size()));
        v.stride.push_back(0);
        for (auto i : indices) {
          if (i < 0 || i >= in[a]) fail(node.name, "Gather index {} out of range for dimension {}", i, in[a]);
          v.index.push_back(i * in_stride[a]);
        }
      }
      for (std::size_t d = a + 1; d < in.size(); ++d) {
        v.shape.push_back(in[d]);
        v.stride.push_back(in_stride[d]);
      }
      if (v.shape.empty()) {  // a scalar from a 1-D tensor: one element
        v.shape.push_back(1);
        v.stride.push_back(1);
      }
      return v;
    }
    default: fail(node.name, "{} is not a strided copy", op_name(node.op));
  }
}

StridedView simplified(StridedView v) {
  StridedView out;
  out.offset = v.offset;
  for (std::size_t d = 0; d < v.shape.size(); ++d) {
    const bool indexed = int(d) == v.index_axis;
    if (v.shape[d] == 1 && !indexed) continue;  // contributes nothing
    const bool prev_indexed = !out.shape.empty() && int(out.shape.size()) - 1 == out.index_axis;
    // Merge into the previous axis when stepping over all of this axis is one step there.
    if (!out.shape.empty() && !indexed && !prev_indexed && out.stride.back() == v.stride[d] * v.shape[d]) {
      out.shape.back() *= v.shape[d];
      out.stride.back() = v.stride[d];
      continue;
    }
    if (indexed) {
      out.index_axis = int(out.shape.size());
      out.index = v.index;
    }
    out.shape.push_back(v.shape[d]);
    out.stride.push_back(v.stride[d]);
  }
  if (out.shape.empty()) {
    out.shape.push_back(1);
    out.stride.push_back(1);
  }
  return out;
}

void strided_copy(const std::byte* src, std::byte* dst, const StridedView& v, std::size_t element_size) {
  const std::size_t rank = v.shape.size();
  const std::int64_t total = element_count(v.shape);
  std::vector<std::int64_t> i(rank, 0);
  for (std::int64_t n = 0; n < total; ++n) {
    std::int64_t at = v.offset;
    for (std::size_t d = 0; d < rank; ++d)
      at += int(d) == v.index_axis ? v.index[std::size_t(i[d])] : i[d] * v.stride[d];
    std::memcpy(dst + std::size_t(n) * element_size, src + at * std::int64_t(element_size), element_size);
    for (std::size_t d = rank; d-- > 0;) {
      if (++i[d] < v.shape[d]) break;
      i[d] = 0;
    }
  }
}

}  // namespace tinyq
