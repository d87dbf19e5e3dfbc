// tinyq runtime: the integer requantization shared by every int8 kernel, on the host and
// on the MCU. Freestanding C++17: no heap, no exceptions, no library beyond <stdint.h>.
#ifndef TINYQ_REQUANTIZE_HPP
#define TINYQ_REQUANTIZE_HPP

#include <stdint.h>

namespace tinyq {
namespace rt {

// A real multiplier m encoded as m = multiplier * 2^(shift - 31), with |multiplier| a Q31
// value in [2^30, 2^31) (or 0 for m = 0). The host computes these offline. m is positive
// except where an op says otherwise (Sub's b multiplier, PReLU slopes, LayerNorm gamma):
// the formula below is exact for either sign, the sign just travels in `multiplier`.
//
// Rounding: one rounding, half toward +infinity, on the exact 64-bit product:
//     result = (acc * multiplier + 2^(s - 1)) >> s,   s = 31 - shift  (arithmetic shift)
// i.e. result = floor(acc * m + 1/2), so -0.5 rounds to 0 and -1.5 to -1.
// This is CMSIS-NN's / TFLite's "single rounding" mode. The host guarantees
// s in [1, 62], i.e. shift in [-31, 30], at generation time.
// Bounds: |product| <= 2^31 * 2^31 = 2^62 and the rounding term is at most 2^61, so the sum
// never overflows int64. The exact result must fit int32; for shift <= 0 it always does
// (|acc * m| <= |acc|), for shift > 0 the host guarantees it from the accumulator's range.
// `>>` on a negative int64 is an arithmetic shift on every compiler tinyq supports (GCC and
// Clang define it so; C++20 requires it).
inline int32_t requantize(int32_t acc, int32_t multiplier, int32_t shift) {
  const int32_t total_shift = 31 - shift;
  const int64_t product = static_cast<int64_t>(acc) * static_cast<int64_t>(multiplier);
  const int64_t rounded = product + (static_cast<int64_t>(1) << (total_shift - 1));
  return static_cast<int32_t>(rounded >> total_shift);
}

// The rounding a requantization uses (Requant::rounding, AddParams::rounding,
// AvgPoolParams::rounding). tinyq's own models use kRoundSingle. Models quantized by
// TensorFlow Lite keep their own arithmetic, kRoundTflite, so that they give TFLite Micro's
// bytes (docs/TFLITE_INT8.md).
constexpr int32_t kRoundSingle = 0;  // requantize(): one rounding of the exact product
constexpr int32_t kRoundTflite = 1;  // requantize_tflite(): TFLite's two roundings

// TFLite's MultiplyByQuantizedMultiplier as its default build computes it (TFLITE_SINGLE_ROUNDING
// unset: TFLite Micro's reference kernels, and CMSIS-NN's arm_nn_requantize), in two roundings:
//   y      = SaturatingRoundingDoublingHighMul(acc * 2^max(shift, 0), multiplier)
//          = floor((acc * 2^max(shift, 0) * multiplier + 2^30) / 2^31)     (ties up)
//   result = RoundingDivideByPOT(y, r), r = max(-shift, 0)                (ties away from zero)
// Computed here as one expression of the exact product p = acc * multiplier:
//  - shift >= 0: r = 0 and y is requantize()'s floor((p + 2^(30 - shift)) / 2^(31 - shift));
//  - shift < 0: RoundingDivideByPOT(y, r) = floor((y + 2^(r-1) - [y < 0]) / 2^r), and nesting
//    the two floors (y < 0 exactly when p < -2^30) gives
//      result = floor((p + 2^(30 + r) + nudge) / 2^(31 + r)),  nudge = p >= -2^30 ? 2^30 : -2^30,
//    i.e. requantize()'s rounding term plus or minus 2^30.
// Equal to TFLite's for every acc and shift in [-31, 30] where TFLite's own int32 arithmetic
// does not overflow (acc * 2^shift fits int32 for shift > 0) and its high multiply does not
// saturate (acc * 2^shift == multiplier == -2^31: TFLite's multipliers are never negative).
// |p| <= 2^62, so p + 2^61 + 2^30 never overflows int64.
inline int32_t requantize_tflite(int32_t acc, int32_t multiplier, int32_t shift) {
  if (shift >= 0) return requantize(acc, multiplier, shift);
  const int32_t total_shift = 31 - shift;
  const int64_t product = static_cast<int64_t>(acc) * static_cast<int64_t>(multiplier);
  const int64_t quarter = static_cast<int64_t>(1) << 30;
  const int64_t nudge = product >= -quarter ? quarter : -quarter;
  return static_cast<int32_t>((product + nudge + (static_cast<int64_t>(1) << (total_shift - 1))) >> total_shift);
}

// requantize() or requantize_tflite(), chosen by a kRound* value.
inline int32_t requantize_rounding(int32_t acc, int32_t multiplier, int32_t shift, int32_t rounding) {
  return rounding == kRoundTflite ? requantize_tflite(acc, multiplier, shift) : requantize(acc, multiplier, shift);
}

inline int32_t clamp_i32(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

// Per-output-channel requantization (count == channels) or per-tensor (count == 1).
// `rounding` is last and defaults to tinyq's own, so {multiplier, shift, count} still means
// what it always meant.
struct Requant {
  const int32_t* multiplier;
  const int32_t* shift;
  int32_t count;
  int32_t rounding = kRoundSingle;  // kRoundSingle or kRoundTflite
};

inline int32_t requantize_channel(int32_t acc, const Requant& r, int32_t channel) {
  const int32_t i = r.count == 1 ? 0 : channel;
  return requantize_rounding(acc, r.multiplier[i], r.shift[i], r.rounding);
}

// The same with the rounding known at compile time (Rounding == r.rounding): for kernels that
// pick it once per call rather than test it per output.
template <int32_t Rounding>
inline int32_t requantize_channel_as(int32_t acc, const Requant& r, int32_t channel) {
  const int32_t i = r.count == 1 ? 0 : channel;
  return requantize_rounding(acc, r.multiplier[i], r.shift[i], Rounding);
}

}  // namespace rt
}  // namespace tinyq

#endif
