// tinyq runtime, internal: exact integer square root and the per-row 1/sqrt multiplier of
// layer_norm_s8 (kernels.hpp documents the math). Kept apart so the tests can check them
// directly: their rounding is too fine to be seen reliably through int8 outputs.
#ifndef TINYQ_RUNTIME_INTEGER_SQRT_HPP
#define TINYQ_RUNTIME_INTEGER_SQRT_HPP

#include <stdint.h>

namespace tinyq {
namespace rt {
namespace detail {

// floor(sqrt(v)), bit by bit (restoring method): at most 32 iterations of shifts, adds and
// compares, no division and no floating point, exact for every uint64.
inline uint32_t isqrt_u64(uint64_t v) {
  uint64_t root = 0;
  uint64_t bit = static_cast<uint64_t>(1) << 62;
  while (bit > v) bit >>= 2;
  while (bit != 0) {
    if (v >= root + bit) {
      v -= root + bit;
      root = (root >> 1) + bit;
    } else {
      root >>= 1;
    }
    bit >>= 2;
  }
  return static_cast<uint32_t>(root);
}

// 2^23 / sqrt(d) as a requantize() multiplier and shift, for d in [1, 2^62):
// requantize(a, multiplier, shift) = round(2^23 * a / sqrt(d)) up to a relative 2^-29.
struct InverseSqrt {
  int32_t multiplier, shift;
};

inline InverseSqrt inverse_sqrt(uint64_t d) {
  // Normalise by an even power of two so that the root keeps 30+ significant bits even for
  // tiny variances: d * 4^k in [2^60, 2^62), floor(sqrt) in [2^30, 2^31).
  int32_t k = 0;
  const uint64_t low = static_cast<uint64_t>(1) << 60;
  while (d < low) {
    d <<= 2;
    ++k;
  }
  const uint64_t s = isqrt_u64(d);
  // round(2^60 / s) in (2^29, 2^30], never a tie (2^61 / s is an odd integer for no s in
  // range). One 64-bit division per row, not per element.
  const uint64_t r = (low + s / 2) / s;
  // 2^23 / sqrt(d) = 2^(23 + k) / sqrt(d * 4^k) ~= r * 2^(k - 37) = r * 2^((k - 6) - 31).
  return InverseSqrt{static_cast<int32_t>(r), k - 6};
}

}  // namespace detail
}  // namespace rt
}  // namespace tinyq

#endif
