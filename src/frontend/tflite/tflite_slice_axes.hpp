// STRIDED_SLICE's per-axis rules (TensorFlow's begin/end/stride semantics with begin_mask,
// end_mask, shrink_axis_mask and the `offset` flag; no ellipsis or new axes), shared by the
// float importer (convert_slice.cpp) and the pre-quantized one (tflite_prequantized_movement.cpp)
// so that both select the same elements.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "frontend/tflite/tflite_model.hpp"

namespace tinyq::tflite {

// The elements an axis keeps: start, start + step, ... (count of them).
struct AxisSlice {
  std::int64_t start = 0, step = 1, count = 0;
  bool removed = false;  // shrink_axis_mask: the axis disappears from the output
};

// Axis `d` (of size `dim`) of a STRIDED_SLICE with these begin, end and stride values;
// `where` names the operator in errors (a zero stride, an index outside the axis).
AxisSlice resolve_strided_slice_axis(const std::string& where, const StridedSliceOptions& o, std::size_t d,
                                     std::int64_t dim, std::int64_t begin, std::int64_t end, std::int64_t step);

}  // namespace tinyq::tflite
