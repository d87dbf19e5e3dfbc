// tinyq runtime, internal: requantize() rewritten for a 32-bit high multiply (SMMLA on
// Armv7E-M, VQDMULH on Helium), with the proof of when the two are equal; used by the Arm
// paths of pooling, elementwise ops and concat. Not part of the API.
#ifndef TINYQ_RUNTIME_HIGH_MUL_REQUANT_HPP
#define TINYQ_RUNTIME_HIGH_MUL_REQUANT_HPP

#include <stdint.h>

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

}  // namespace detail
}  // namespace rt
}  // namespace tinyq

#endif
