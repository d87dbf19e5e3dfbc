// tinyq runtime: the fixed-point arithmetic of TFLite's int8 softmax (gemmlowp's FixedPoint
// functions on int32, as TFLite Micro's reference kernel and CMSIS-NN's arm_softmax_s8 compute
// them), written out as plain functions. The host builds the softmax exponential table with
// exp_on_negative_values(); the MCU computes the per-row reciprocal with reciprocal().
// Freestanding C++17. Additions wrap modulo 2^32 where gemmlowp's int32 additions would
// overflow (they never do on the values these functions are used with), so that no
// expression here is undefined.
#ifndef TINYQ_TFLITE_FIXEDPOINT_HPP
#define TINYQ_TFLITE_FIXEDPOINT_HPP

#include <stdint.h>

namespace tinyq {
namespace rt {
namespace tflite_fp {

inline int32_t add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}
inline int32_t sub(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b));
}

// SaturatingRoundingDoublingHighMul (ARM's VQRDMULH): round(a * b / 2^31), ties up (gemmlowp's
// nudge of 1 - 2^30 for negative products followed by a truncating division is the same
// floor((a * b + 2^30) / 2^31)); a = b = -2^31 saturates to 2^31 - 1.
inline int32_t srdhm(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) return INT32_MAX;
  const int64_t product = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  return static_cast<int32_t>((product + (static_cast<int64_t>(1) << 30)) >> 31);
}

// RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero; exponent in
// [0, 31]. gemmlowp's remainder/threshold form, which never overflows.
inline int32_t rounding_divide_by_pot(int32_t x, int32_t exponent) {
  const int32_t mask = static_cast<int32_t>((static_cast<int64_t>(1) << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// SaturatingRoundingMultiplyByPOT with a positive exponent: x * 2^exponent, saturated.
inline int32_t saturating_shift_left(int32_t x, int32_t exponent) {
  const int32_t threshold = static_cast<int32_t>((static_cast<int64_t>(1) << (31 - exponent)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return static_cast<int32_t>(static_cast<uint32_t>(x) << exponent);
}

// RoundingHalfSum: (a + b) / 2 rounded to nearest, ties away from zero.
inline int32_t rounding_half_sum(int32_t a, int32_t b) {
  const int64_t sum = static_cast<int64_t>(a) + static_cast<int64_t>(b);
  return static_cast<int32_t>((sum + (sum >= 0 ? 1 : -1)) / 2);
}

// one_over_one_plus_x_for_x_in_0_1: 1 / (1 + a) for a Q0.31 value a in [0, 1), as a Q0.31
// value; three Newton-Raphson steps in Q2.29 from gemmlowp's 48/17 - 32/17 * d start.
inline int32_t one_over_one_plus_x_for_x_in_0_1(int32_t a) {
  const int32_t half_denominator = rounding_half_sum(a, INT32_MAX);  // (1 + a) / 2, Q0.31
  const int32_t constant_48_over_17 = 1515870810;                    // Q2.29
  const int32_t constant_neg_32_over_17 = -1010580540;               // Q2.29
  const int32_t one_q2 = static_cast<int32_t>(1) << 29;
  int32_t x = add(constant_48_over_17, srdhm(half_denominator, constant_neg_32_over_17));
  for (int i = 0; i < 3; ++i) {
    const int32_t half_denominator_times_x = srdhm(half_denominator, x);  // Q2.29
    const int32_t one_minus_half_denominator_times_x = sub(one_q2, half_denominator_times_x);
    x = add(x, saturating_shift_left(srdhm(x, one_minus_half_denominator_times_x), 2));  // Q4.27 -> Q2.29
  }
  // x / 2 as Q1.30 (the same raw value), then rescaled to Q0.31.
  return saturating_shift_left(x, 1);
}

// GetReciprocal(x, integer_bits): 1 / x for a positive x with `integer_bits` integer bits, as
// a Q0.31 value of 1 / (x / 2^bits_over_unit) in (1/2, 1]; *bits_over_unit receives the
// exponent. __builtin_clz is one CLZ instruction on Armv7-M and a library-free builtin on the
// host; x > 0 always here (a softmax row sums at least exp(0)).
inline int32_t reciprocal(int32_t x, int32_t integer_bits, int32_t* bits_over_unit) {
  const int32_t headroom_plus_one = static_cast<int32_t>(__builtin_clz(static_cast<uint32_t>(x)));
  *bits_over_unit = integer_bits - headroom_plus_one;
  const int32_t shifted_sum_minus_one =
      static_cast<int32_t>((static_cast<uint32_t>(x) << headroom_plus_one) - (static_cast<uint32_t>(1) << 31));
  return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);
}

// exp_on_interval_between_negative_one_quarter_and_0_excl: exp(a) for a Q0.31 value a in
// [-1/4, 0), by a Taylor expansion around -1/8.
inline int32_t exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a) {
  const int32_t constant_term = 1895147668;                 // exp(-1/8), Q0.31
  const int32_t constant_1_over_3 = 715827883;              // 1/3, Q0.31
  const int32_t x = add(a, static_cast<int32_t>(1) << 28);  // a + 1/8
  const int32_t x2 = srdhm(x, x);
  const int32_t x3 = srdhm(x2, x);
  const int32_t x4 = srdhm(x2, x2);
  const int32_t x4_over_4 = rounding_divide_by_pot(x4, 2);
  const int32_t x4_over_24_plus_x3_over_6_plus_x2_over_2 =
      rounding_divide_by_pot(add(srdhm(add(x4_over_4, x3), constant_1_over_3), x2), 1);
  return add(constant_term, srdhm(constant_term, add(x, x4_over_24_plus_x3_over_6_plus_x2_over_2)));
}

// exp_on_negative_values for an input with kIntegerBits = 5 (Q5.26), TFLite's int8 softmax
// format: exp(a) for a <= 0 as a Q0.31 value (exp(0) = 2^31 - 1).
inline int32_t exp_on_negative_values_q5_26(int32_t a) {
  constexpr int32_t kFractionalBits = 26;
  const int32_t one_quarter = static_cast<int32_t>(1) << (kFractionalBits - 2);
  const int32_t mask = one_quarter - 1;
  const int32_t a_mod_quarter_minus_one_quarter = sub(a & mask, one_quarter);
  // Rescale<0> from 5 integer bits: a saturating multiplication by 2^5.
  int32_t result = exp_on_interval_between_negative_one_quarter_and_0_excl(
      saturating_shift_left(a_mod_quarter_minus_one_quarter, 5));
  const int32_t remainder = sub(a_mod_quarter_minus_one_quarter, a);
  // The barrel shifter: exp(-2^e) for e = -2 .. 4, applied for each bit of the remainder.
  constexpr int32_t kMultipliers[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
  for (int32_t e = -2; e <= 4; ++e) {
    if ((remainder & (static_cast<int32_t>(1) << (kFractionalBits + e))) != 0)
      result = srdhm(result, kMultipliers[e + 2]);
  }
  return a == 0 ? INT32_MAX : result;
}

}  // namespace tflite_fp
}  // namespace rt
}  // namespace tinyq

#endif
