// tinyq runtime: the integer requantization shared by every int8 kernel, on the host and
// on the MCU. Freestanding C++17: no heap, no exceptions, no library beyond <stdint.h>.
#ifndef TINYQ_REQUANTIZE_HPP
#define TINYQ_REQUANTIZE_HPP

#include <stdint.h>

namespace tinyq {
namespace rt {

// A real multiplier m > 0 encoded as m = multiplier * 2^(shift - 31), with multiplier a Q31
// value in [2^30, 2^31) (or 0 for m = 0). The host computes these offline.
//
// Rounding: one rounding, half toward +infinity, on the exact 64-bit product:
//     result = (acc * multiplier + 2^(s - 1)) >> s,   s = 31 - shift  (arithmetic shift)
// This is CMSIS-NN's / TFLite's "single rounding" mode. The host guarantees
// s in [1, 62], i.e. shift in [-31, 30], at generation time.
inline int32_t requantize(int32_t acc, int32_t multiplier, int32_t shift) {
  const int32_t total_shift = 31 - shift;
  const int64_t product = static_cast<int64_t>(acc) * static_cast<int64_t>(multiplier);
  const int64_t rounded = product + (static_cast<int64_t>(1) << (total_shift - 1));
  return static_cast<int32_t>(rounded >> total_shift);
}

inline int32_t clamp_i32(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

// Per-output-channel requantization (count == channels) or per-tensor (count == 1).
struct Requant {
  const int32_t* multiplier;
  const int32_t* shift;
  int32_t count;
};

inline int32_t requantize_channel(int32_t acc, const Requant& r, int32_t channel) {
  const int32_t i = r.count == 1 ? 0 : channel;
  return requantize(acc, r.multiplier[i], r.shift[i]);
}

}  // namespace rt
}  // namespace tinyq

#endif
