// tinyq runtime, internal: small helpers shared by the kernel sources (not part of the API).
#ifndef TINYQ_RUNTIME_KERNEL_UTIL_HPP
#define TINYQ_RUNTIME_KERNEL_UTIL_HPP

#include <stdint.h>

#include "tinyq/requantize.hpp"

namespace tinyq {
namespace rt {
namespace detail {

// The range of an int8 or int16 activation element.
template <typename T>
constexpr int32_t lowest_of() {
  return sizeof(T) == 1 ? -128 : -32768;
}
template <typename T>
constexpr int32_t highest_of() {
  return sizeof(T) == 1 ? 127 : 32767;
}

// clamp(offset + v, lo, hi) as an int8 (or int16), for any int32 v: clamping v to [lo - offset,
// hi - offset] first is the same function but cannot overflow (offset and the bounds are
// int8 values, so lo - offset and hi - offset lie in [-255, 255]; an int16 side has offset 0).
template <typename Out = int8_t>
inline Out offset_and_clamp(int32_t v, int32_t offset, int32_t lo, int32_t hi) {
  return static_cast<Out>(clamp_i32(v, lo - offset, hi - offset) + offset);
}

// requantize_tflite() for shift <= -2 (r = -shift >= 2) and a multiplier that is 0 or in
// [2^30, 2^31) (TFLite's QuantizeMultiplier, and the .tqm validator, allow no other), as one
// 64-bit multiply-accumulate (SMLAL on Armv7-M). requantize_tflite() is floor((p + 2^(30+r) +
// nudge) / 2^(31+r)) with nudge = +2^30 for p = acc * multiplier >= -2^30, else -2^30. Here the
// nudge follows the sign of acc instead: the same for multipliers above 2^30 (acc >= 0 gives
// p >= 0, acc <= -1 gives p <= -multiplier < -2^30) and for 0 (both nudges give 0); at
// multiplier 2^30 they differ only for acc = -1, p = -2^30, where both sums lie in
// [0, 2^(31+r)) and give 0. So the 64-bit constant k = 2^(30+r) + nudge is known before the
// multiply: hi:lo = k + p, and with t = r - 1 >= 1, floor((hi * 2^32 + lo) / 2^(31+r)) =
// hi >> t (hi is an integer and lo / 2^32 < 1 cannot carry it across a multiple of 2^t).
// k's words: acc >= 0: hi = 2^(t-1), lo = 2^30; acc < 0: hi = 2^(t-1) - 1, lo = 3 * 2^30.
inline int32_t requantize_tflite_smlal(int32_t acc, int32_t multiplier, int32_t shift) {
  const int32_t t = -1 - shift;
  const uint32_t lo = 0x40000000u ^ (static_cast<uint32_t>(acc) & 0x80000000u);
  const int32_t hi = (static_cast<int32_t>(1) << (t - 1)) + (acc >> 31);
  const int64_t k = static_cast<int64_t>((static_cast<uint64_t>(static_cast<uint32_t>(hi)) << 32) | lo);
  return static_cast<int32_t>((k + static_cast<int64_t>(acc) * multiplier) >> 32) >> t;
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

// The outputs [first, last) of one axis whose windows lie wholly inside the input (no padded
// tap): start = o * stride - pad, extent (kernel - 1) * dilation + 1; empty when last <= first.
inline TapRange inside_outputs(int32_t in, int32_t out, int32_t kernel, int32_t stride, int32_t dilation, int32_t pad) {
  const int32_t last_start = in - 1 - (kernel - 1) * dilation + pad;  // largest o * stride inside
  const int32_t last = min_i32(last_start < 0 ? 0 : last_start / stride + 1, out);
  return TapRange{min_i32((pad + stride - 1) / stride, last), last};
}

}  // namespace detail
}  // namespace rt
}  // namespace tinyq

#endif
