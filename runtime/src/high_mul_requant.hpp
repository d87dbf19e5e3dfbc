// tinyq runtime, internal: requantize() rewritten for a 32-bit high multiply (SMMLA / SMMULR
// on Armv7E-M, VQDMULH / VQRDMULH on Helium), with the proofs of when the two are equal; used
// by the Arm paths of pooling, elementwise ops and concat. Not part of the API.
#ifndef TINYQ_RUNTIME_HIGH_MUL_REQUANT_HPP
#define TINYQ_RUNTIME_HIGH_MUL_REQUANT_HPP

#include <stdint.h>

#include "kernel_util.hpp"

namespace tinyq {
namespace rt {
namespace detail {

// requantize(x, multiplier, shift) + offset for every |x| <= x_bound, rewritten for a
// multiply that keeps the high bits of the product (floor(p / 2^h)): h = 32 for SMMUL/SMMLA
// on Armv7E-M, h = 31 for VQDMULH on Helium:
//     requantize(x, M, S) + offset == (floor((x << pre) * M / 2^h) + round) >> post
// with s = 31 - S, pre = max(0, h + 1 - s), post = s + pre - h >= 1,
// round = 2^(post - 1) + offset * 2^post. Why it is exact: scaling numerator and denominator
// of floor((x * M + 2^(s-1)) / 2^s) by 2^pre changes nothing; with s' = s + pre >= h + 1 the
// rounding term 2^(s'-1) is a multiple of 2^h, so flooring the product to a multiple of 2^h
// first cannot change the floor of the whole (nested floors of divisions by powers of two
// compose); and adding offset * 2^post before the final floor shift adds exactly `offset`
// after it. It holds while x << pre fits int32 (so also never -2^31: VQDMULH cannot
// saturate) and high + round fits int32, which `valid` records, checked in 64-bit arithmetic
// once per call (or per change of divisor), never per element.
struct HighMulRequant {
  int32_t pre, multiplier, round, post;
  bool valid;
};
inline HighMulRequant high_mul_requant(int32_t multiplier, int32_t shift, int32_t offset, int64_t x_bound,
                                       int32_t high_shift = 32) {
  HighMulRequant r{0, multiplier, 0, 1, false};
  const int32_t s = 31 - shift;
  if (s < 1 || s > 62) return r;
  r.pre = s > high_shift ? 0 : high_shift + 1 - s;
  r.post = s + r.pre - high_shift;
  if (x_bound < 0 || r.pre > 30 || x_bound >= (int64_t{1} << (31 - r.pre))) return r;  // x << pre fits int32
  const int64_t round = (int64_t{1} << (r.post - 1)) + static_cast<int64_t>(offset) * (int64_t{1} << r.post);
  const int64_t abs_m = multiplier < 0 ? -static_cast<int64_t>(multiplier) : multiplier;
  const int64_t abs_round = round < 0 ? -round : round;
  // |floor(x' * M / 2^h)| <= |x'| * |M| / 2^h + 1 (the floor of a negative product).
  const int64_t high_bound = ((x_bound << r.pre) * abs_m >> high_shift) + 1;
  r.valid = high_bound + abs_round < (int64_t{1} << 31);
  r.round = static_cast<int32_t>(round);
  return r;
}

// The requantization fused into the Arm kernels' assembly (3x3 depthwise passes, the narrow
// pointwise and first-layer kernels, packed dense, row requantization, TFLite's add), with the
// output offset folded into the addend and the clamp an SSAT #8 (full int8 range):
// - tinyq's single rounding (requantize_fast's SMMLA form), t = -1 - shift:
//     requantize(acc) + offset = SMMLA(acc, M, addend) >> t;
// - TFLite's two roundings, t = r = -shift, on the doubled accumulator:
//     SMMLAR(2 acc, M, addend) = addend + floor((2 acc M + 2^31) / 2^32) = addend + y with
//     y = floor((acc M + 2^30) / 2^31), TFLite's SaturatingRoundingDoublingHighMul (ties up; M
//     >= 0 never saturates), and (addend + y + (acc >> 31)) >> r is RoundingDivideByPOT(y, r)
//     + offset = floor((y + 2^(r-1) - [y < 0]) / 2^r) + offset, because [acc < 0] may stand for
//     [y < 0]: y < 0 needs acc < 0 (M >= 0), and acc < 0 with y = 0 gives floor((2^(r-1) - 1) /
//     2^r) = 0 = floor(2^(r-1) / 2^r) (r >= 1).
// In both, addend = 2^(t-1) + offset * 2^t: adding offset * 2^t before the shift adds exactly
// offset after it. Exact for every |acc| <= acc_bound when the (doubled) accumulator fits
// int32 and the high word plus the addend (minus 1 for TFLite's sign) does: |high| <=
// acc_bound |M| / 2^32 + 1, |y| <= acc_bound M / 2^31 + 1. `valid` records it, checked in 64-bit
// arithmetic per layer or channel, never per element.
struct FusedRequant {
  int32_t addend, shift;  // the high multiply's accumulate operand and the ASR after it
  bool valid;
};
inline FusedRequant fused_requant(int32_t multiplier, int32_t shift, int32_t offset, int64_t acc_bound, bool tflite) {
  FusedRequant f{0, 0, false};
  const int32_t t = tflite ? -shift : -1 - shift;
  const int64_t scale = tflite ? 2 : 1;  // TFLite's form doubles the accumulator
  if (t < 1 || t > 31 || (tflite && multiplier < 0) || acc_bound < 0 || scale * acc_bound >= (int64_t{1} << 31)) {
    return f;
  }
  // Both products as one 32 x 32 -> 64-bit multiply (acc_bound < 2^31 and |M| <= 2^31 here,
  // 2^(t-1) <= 2^30): the kernels pack this per channel on every inference, and 64-bit
  // variable shifts cost a Cortex-M about ten instructions each.
  // addend = 2^(t-1) + offset * 2^t = (2 offset + 1) * 2^(t-1).
  const uint32_t m = multiplier < 0 ? 0u - static_cast<uint32_t>(multiplier) : static_cast<uint32_t>(multiplier);
  const uint64_t product = uint64_t{static_cast<uint32_t>(acc_bound)} * m;
  const int64_t high = tflite ? static_cast<int64_t>(product >> 31) + 2 : static_cast<int64_t>(product >> 32) + 1;
  const int64_t addend = int64_t{2 * offset + 1} * int64_t{static_cast<int32_t>(1u << (t - 1))};
  f.valid = high + (addend < 0 ? -addend : addend) < (int64_t{1} << 31);
  f.addend = f.valid ? static_cast<int32_t>(addend) : 0;
  f.shift = t;
  return f;
}

// Input rescale of add: requantize((q + o) * 2^L, M, S) == RHM((q + o) * 2^k, M) with
// k = L + S + h - 31, for the rounding high multiply RHM(x, M) = floor((x * M + 2^(h-1)) / 2^h):
// SMMULR (h = 32) on Armv7E-M, VQRDMULH (h = 31) on Helium, which saturates only for
// x = M = -2^31. Both sides are floor(v * M * 2^L / 2^s + 1/2) with s = 31 - S: x = v * 2^k
// scales numerator and denominator of the portable floor((v * 2^L * M + 2^(s-1)) / 2^s) by
// the same 2^(L + h - s) = 2^k. It needs 0 <= k and every v * 2^k to fit int32,
// v = q + o <= 128 + |o| in magnitude (q an int8 value, o a negated int8 zero point).
struct InputRescale {
  int32_t scale;   // 2^k
  int32_t offset;  // o * 2^k, so that q * scale + offset = (q + o) * 2^k in one MLA / VMLAS
  int32_t multiplier;
  int64_t bound;  // >= |requantize((q + o) * 2^L, M, S)| over every int8 q
};
// h is a template argument (HighShift), not a parameter: folded before inlining, it gives GCC 12
// the same code as the per-path copies this replaced.
template <int32_t HighShift>
inline bool input_rescale(int32_t offset, int32_t left_shift, int32_t multiplier, int32_t shift, InputRescale& r) {
  const int32_t k = left_shift + (HighShift - 31) + shift;
  const int64_t v_max = max_i32(offset < 0 ? 128 - offset : 128 + offset, 0);  // >= |q + o|
  if (31 - shift < 1 || k < 0 || k > 30 || (v_max << k) >= (int64_t{1} << 31)) return false;
  r.scale = static_cast<int32_t>(1) << k;
  r.offset = offset * r.scale;  // |o| <= v_max: fits
  r.multiplier = multiplier;
  const int64_t abs_m = multiplier < 0 ? -static_cast<int64_t>(multiplier) : multiplier;
  r.bound = ((v_max << k) * abs_m >> HighShift) + 1;
  return true;
}

}  // namespace detail
}  // namespace rt
}  // namespace tinyq

#endif
