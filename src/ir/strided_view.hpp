#pragma once
// How the pure data-movement ops Slice, Gather and Transpose read their input, as one
// description: output element (i_0, ..., i_{r-1}) (row-major over `shape`) is input element
//   offset + sum over d of (d == index_axis ? index[i_d] : i_d * stride[d]).
// The float executor copies floats with it, the quantizer turns it into the runtime's
// rt::StridedCopyParams, so all three ops share one int8 kernel (strided_copy_s8).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ir/graph.hpp"

namespace tinyq {

struct StridedView {
  Shape shape;                       // output dims
  std::vector<std::int64_t> stride;  // input element step per output axis (negative walks back)
  std::int64_t offset = 0;           // input element of the first output element
  int index_axis = -1;               // -1, or the axis whose input positions come from `index`
  std::vector<std::int64_t> index;   // [shape[index_axis]] input element offsets along that axis
};

// ONNX Slice on one axis of size `dim`: negative start/end count from the end, both are
// clamped to the axis, step != 0. Returns the first index and the number of elements taken
// (0 when the range is empty). Shared by the importer's constant folding and the run-time op.
struct SliceRange {
  std::int64_t start = 0, step = 1, count = 0;
};
SliceRange resolve_slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step);

// The view of a Slice, Gather or Transpose node over an input of `input_shape`.
StridedView strided_view(const Node& node, const Shape& input_shape);

// The same copy with size-1 axes dropped and neighbouring axes merged where the input is
// contiguous across them: fewer, longer runs for the kernel (at least one axis is kept).
StridedView simplified(StridedView view);

// The host's copy through a view, for any element size.
void strided_copy(const std::byte* src, std::byte* dst, const StridedView& view, std::size_t element_size);

}  // namespace tinyq
