// tinyq runtime, internal: small helpers shared by the kernel sources (not part of the API).
#ifndef TINYQ_RUNTIME_KERNEL_UTIL_HPP
#define TINYQ_RUNTIME_KERNEL_UTIL_HPP

#include <stdint.h>

#include "tinyq/requantize.hpp"

namespace tinyq {
namespace rt {
namespace detail {

// clamp(offset + v, lo, hi) as an int8, for any int32 v: clamping v to [lo - offset,
// hi - offset] first is the same function but cannot overflow (offset and the bounds are
// int8 values, so lo - offset and hi - offset lie in [-255, 255]).
inline int8_t offset_and_clamp(int32_t v, int32_t offset, int32_t lo, int32_t hi) {
  return static_cast<int8_t>(clamp_i32(v, lo - offset, hi - offset) + offset);
}

inline int32_t min_i32(int32_t a, int32_t b) { return a < b ? a : b; }
inline int32_t max_i32(int32_t a, int32_t b) { return a > b ? a : b; }

// The taps [first, last) of one kernel axis whose input index start + t * dilation lies in
// [0, size): padded taps are skipped by narrowing the loop instead of testing every tap.
struct TapRange {
  int32_t first, last;
};
inline TapRange valid_taps(int32_t start, int32_t kernel, int32_t dilation, int32_t size) {
  // Both divisions have non-negative operands, so C's truncation is the ceiling we want.
  int32_t first = start < 0 ? (-start + dilation - 1) / dilation : 0;
  int32_t last = size - start <= 0 ? 0 : (size - start + dilation - 1) / dilation;
  last = min_i32(last, kernel);
  first = min_i32(first, last);
  return TapRange{first, last};
}

}  // namespace detail
}  // namespace rt
}  // namespace tinyq

#endif
