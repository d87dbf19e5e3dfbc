#pragma once
// TFLite's int8 arithmetic transcribed for the tests of the pre-quantized path: gemmlowp's
// fixed-point primitives (fixedpoint/fixedpoint.h, int32), TFLite's double-rounding
// MultiplyByQuantizedMultiplier and QuantizeMultiplier (tensorflow/lite/kernels/internal),
// and TFLite Micro's int8 reference kernels (reference_integer_ops: conv, depthwise, fully
// connected, add, average pool; reference_ops::Softmax). Written in their own generic form
// (a FixedPoint type with integer bits as a parameter, loops as TFLite writes them), not from
// tinyq's runtime, so that the runtime is checked against an independent statement of the
// same arithmetic. Only the signed-overflow-free parts are kept as they are: the tests never
// feed inputs where TFLite itself would overflow.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace tflite_ref {

// ---- gemmlowp/fixedpoint/fixedpoint.h (scalar int32) ----

inline std::int32_t SaturatingRoundingDoublingHighMul(std::int32_t a, std::int32_t b) {
  const bool overflow = a == b && a == std::numeric_limits<std::int32_t>::min();
  const std::int64_t ab_64 = std::int64_t(a) * std::int64_t(b);
  const std::int32_t nudge = ab_64 >= 0 ? (1 << 30) : (1 - (1 << 30));
  const std::int32_t ab_x2_high32 = static_cast<std::int32_t>((ab_64 + nudge) / (1ll << 31));
  return overflow ? std::numeric_limits<std::int32_t>::max() : ab_x2_high32;
}

inline std::int32_t RoundingDivideByPOT(std::int32_t x, int exponent) {
  const std::int32_t mask = static_cast<std::int32_t>((1ll << exponent) - 1);
  const std::int32_t remainder = x & mask;
  const std::int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

template <int Exponent>
std::int32_t SaturatingRoundingMultiplyByPOT(std::int32_t x) {
  if constexpr (Exponent == 0) {
    return x;
  } else if constexpr (Exponent > 0) {
    const std::int32_t threshold = (1 << (31 - Exponent)) - 1;
    if (x > threshold) return std::numeric_limits<std::int32_t>::max();
    if (x < -threshold) return std::numeric_limits<std::int32_t>::min();
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(x) << Exponent);
  } else {
    return RoundingDivideByPOT(x, -Exponent);
  }
}

inline std::int32_t RoundingHalfSum(std::int32_t a, std::int32_t b) {
  const std::int64_t sum = std::int64_t(a) + std::int64_t(b);
  const std::int64_t sign = sum >= 0 ? 1 : -1;
  return static_cast<std::int32_t>((sum + sign) / 2);
}

// FixedPoint<int32, IntegerBits>: raw value with 31 - IntegerBits fractional bits.
template <int IntegerBits>
struct FixedPoint {
  static constexpr int kIntegerBits = IntegerBits;
  static constexpr int kFractionalBits = 31 - IntegerBits;
  std::int32_t raw = 0;
  static FixedPoint FromRaw(std::int32_t r) { return FixedPoint{r}; }
  static FixedPoint Zero() { return FixedPoint{0}; }
  static FixedPoint One() {
    return FixedPoint{IntegerBits == 0 ? std::numeric_limits<std::int32_t>::max() : (1 << kFractionalBits)};
  }
  template <int Exponent>
  static FixedPoint ConstantPOT() {
    static_assert(kFractionalBits + Exponent < 31);
    return FixedPoint{1 << (kFractionalBits + Exponent)};
  }
};
template <int B>
FixedPoint<B> operator+(FixedPoint<B> a, FixedPoint<B> b) {
  return {a.raw + b.raw};
}
template <int B>
FixedPoint<B> operator-(FixedPoint<B> a, FixedPoint<B> b) {
  return {a.raw - b.raw};
}
template <int A, int B>
FixedPoint<A + B> operator*(FixedPoint<A> a, FixedPoint<B> b) {
  return {SaturatingRoundingDoublingHighMul(a.raw, b.raw)};
}
template <int Dst, int Src>
FixedPoint<Dst> Rescale(FixedPoint<Src> x) {
  return {SaturatingRoundingMultiplyByPOT<Src - Dst>(x.raw)};
}
template <int Exponent, int B>
FixedPoint<Exponent + B> ExactMulByPot(FixedPoint<B> a) {
  return {a.raw};
}
template <int Exponent, int B>
FixedPoint<B> SaturatingRoundingMultiplyByPOT(FixedPoint<B> a) {
  return {SaturatingRoundingMultiplyByPOT<Exponent>(a.raw)};
}

inline FixedPoint<0> exp_on_interval_between_negative_one_quarter_and_0_excl(FixedPoint<0> a) {
  using F = FixedPoint<0>;
  const F constant_term = F::FromRaw(1895147668);
  const F constant_1_over_3 = F::FromRaw(715827883);
  const F x = a + F::ConstantPOT<-3>();
  const F x2 = x * x;
  const F x3 = x2 * x;
  const F x4 = x2 * x2;
  const F x4_over_4 = SaturatingRoundingMultiplyByPOT<-2>(x4);
  const F x4_over_24_plus_x3_over_6_plus_x2_over_2 =
      SaturatingRoundingMultiplyByPOT<-1>(((x4_over_4 + x3) * constant_1_over_3) + x2);
  return constant_term + constant_term * (x + x4_over_24_plus_x3_over_6_plus_x2_over_2);
}

template <int IntegerBits>
FixedPoint<0> exp_on_negative_values(FixedPoint<IntegerBits> a) {
  using InputF = FixedPoint<IntegerBits>;
  using ResultF = FixedPoint<0>;
  constexpr int kFractionalBits = InputF::kFractionalBits;
  const InputF kOneQuarter = InputF::template ConstantPOT<-2>();
  const InputF mask = kOneQuarter - InputF::FromRaw(1);
  const InputF a_mod_quarter_minus_one_quarter = InputF::FromRaw(a.raw & mask.raw) - kOneQuarter;
  ResultF result = exp_on_interval_between_negative_one_quarter_and_0_excl(Rescale<0>(a_mod_quarter_minus_one_quarter));
  const std::int32_t remainder = (a_mod_quarter_minus_one_quarter - a).raw;
  auto barrel = [&](int exponent, std::int32_t multiplier) {
    if (IntegerBits > exponent) {
      const int shift_amount = IntegerBits > exponent ? kFractionalBits + exponent : 0;
      if ((remainder & (1 << shift_amount)) != 0) result = result * ResultF::FromRaw(multiplier);
    }
  };
  barrel(-2, 1672461947);
  barrel(-1, 1302514674);
  barrel(+0, 790015084);
  barrel(+1, 290630308);
  barrel(+2, 39332535);
  barrel(+3, 720401);
  barrel(+4, 242);
  if (IntegerBits > 5) {
    const InputF clamp = InputF::FromRaw(-(1 << (36 - IntegerBits)));
    if (a.raw < clamp.raw) result = ResultF::Zero();
  }
  if (a.raw == 0) result = ResultF::One();
  return result;
}

inline FixedPoint<0> one_over_one_plus_x_for_x_in_0_1(FixedPoint<0> a) {
  using F0 = FixedPoint<0>;
  using F2 = FixedPoint<2>;
  const F0 half_denominator = F0::FromRaw(RoundingHalfSum(a.raw, F0::One().raw));
  const F2 constant_48_over_17 = F2::FromRaw(1515870810);
  const F2 constant_neg_32_over_17 = F2::FromRaw(-1010580540);
  F2 x = constant_48_over_17 + half_denominator * constant_neg_32_over_17;
  for (int i = 0; i < 3; i++) {
    const F2 half_denominator_times_x = half_denominator * x;
    const F2 one_minus_half_denominator_times_x = F2::One() - half_denominator_times_x;
    x = x + Rescale<2>(x * one_minus_half_denominator_times_x);
  }
  return Rescale<0>(ExactMulByPot<-1>(x));
}

// ---- tensorflow/lite/kernels/internal (common.h, common.cc, quantization_util.cc) ----

// Double rounding (TFLITE_SINGLE_ROUNDING unset, TFLite Micro's build). The caller keeps
// x * 2^left_shift within int32, as TFLite requires.
inline std::int32_t MultiplyByQuantizedMultiplier(std::int32_t x, std::int32_t quantized_multiplier, int shift) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x * (1 << left_shift), quantized_multiplier),
                             right_shift);
}

inline void QuantizeMultiplier(double double_multiplier, std::int32_t* quantized_multiplier, int* shift) {
  if (double_multiplier == 0.) {
    *quantized_multiplier = 0;
    *shift = 0;
    return;
  }
  const double q = std::frexp(double_multiplier, shift);
  auto q_fixed = static_cast<std::int64_t>(std::round(q * (1LL << 31)));
  if (q_fixed == (1LL << 31)) {
    q_fixed /= 2;
    ++*shift;
  }
  if (*shift < -31) {
    *shift = 0;
    q_fixed = 0;
  }
  *quantized_multiplier = static_cast<std::int32_t>(q_fixed);
}

inline int CountLeadingZeros(std::uint32_t x) { return x == 0 ? 32 : __builtin_clz(x); }

inline std::int32_t GetReciprocal(std::int32_t x, int x_integer_digits, int* num_bits_over_unit) {
  const int headroom_plus_one = CountLeadingZeros(static_cast<std::uint32_t>(x));
  *num_bits_over_unit = x_integer_digits - headroom_plus_one;
  const std::int32_t shifted_sum_minus_one = static_cast<std::int32_t>(
      (static_cast<std::uint32_t>(x) << headroom_plus_one) - (static_cast<std::uint32_t>(1) << 31));
  return one_over_one_plus_x_for_x_in_0_1(FixedPoint<0>::FromRaw(shifted_sum_minus_one)).raw;
}

// ---- reference kernels ----

// reference_ops::Softmax for int8 in and out, one row of `depth` values.
inline void Softmax(std::int32_t input_beta_multiplier, std::int32_t input_beta_left_shift, int diff_min,
                    const std::int8_t* input, int depth, std::int8_t* output) {
  constexpr int kScaledDiffIntegerBits = 5;
  constexpr int kAccumulationIntegerBits = 12;
  using FixedPointScaledDiff = FixedPoint<kScaledDiffIntegerBits>;
  using FixedPointAccum = FixedPoint<kAccumulationIntegerBits>;
  using FixedPoint0 = FixedPoint<0>;
  std::int8_t max_in_row = std::numeric_limits<std::int8_t>::min();
  for (int c = 0; c < depth; ++c) max_in_row = std::max(max_in_row, input[c]);
  auto rescaled = [&](int c) {
    const std::int32_t input_diff = static_cast<std::int32_t>(input[c]) - max_in_row;
    // MultiplyByQuantizedMultiplierGreaterThanOne, double rounding.
    return SaturatingRoundingDoublingHighMul(input_diff * (1 << input_beta_left_shift), input_beta_multiplier);
  };
  FixedPointAccum sum_of_exps = FixedPointAccum::Zero();
  for (int c = 0; c < depth; ++c) {
    if (static_cast<std::int32_t>(input[c]) - max_in_row >= diff_min)
      sum_of_exps = sum_of_exps + Rescale<kAccumulationIntegerBits>(
                                      exp_on_negative_values(FixedPointScaledDiff::FromRaw(rescaled(c))));
  }
  int num_bits_over_unit = 0;
  const FixedPoint0 shifted_scale =
      FixedPoint0::FromRaw(GetReciprocal(sum_of_exps.raw, kAccumulationIntegerBits, &num_bits_over_unit));
  const int exponent = num_bits_over_unit + 31 - 8;
  for (int c = 0; c < depth; ++c) {
    if (static_cast<std::int32_t>(input[c]) - max_in_row >= diff_min) {
      const FixedPoint0 exp_in_0 = exp_on_negative_values(FixedPointScaledDiff::FromRaw(rescaled(c)));
      const std::int32_t unsat_output = RoundingDivideByPOT((shifted_scale * exp_in_0).raw, exponent);
      const std::int32_t shifted_output = unsat_output - 128;
      output[c] = static_cast<std::int8_t>(std::clamp(shifted_output, -128, 127));
    } else {
      output[c] = -128;
    }
  }
}

// TFLite Micro's softmax parameters for an int8 input (softmax_common.cc): PreprocessSoftmaxScaling
// and CalculateInputRadius with 5 integer bits, double rounding.
struct SoftmaxParams {
  std::int32_t input_multiplier = 0;
  int input_left_shift = 0;
  int diff_min = 0;
};
inline SoftmaxParams softmax_params(double beta, double input_scale) {
  constexpr int kScaledDiffIntegerBits = 5;
  SoftmaxParams p;
  const double max_real_multiplier = (1LL << 31) - 1.0;
  const double input_beta_real_multiplier =
      std::min<double>(beta * input_scale * (1 << (31 - kScaledDiffIntegerBits)), max_real_multiplier);
  QuantizeMultiplier(input_beta_real_multiplier, &p.input_multiplier, &p.input_left_shift);
  const double max_input_rescaled =
      1.0 * ((1 << kScaledDiffIntegerBits) - 1) * (1LL << (31 - kScaledDiffIntegerBits)) / (1LL << p.input_left_shift);
  p.diff_min = static_cast<int>(-1.0 * std::floor(max_input_rescaled));
  return p;
}

// reference_integer_ops::AveragePool for one window sum of `count` taps of raw int8 values.
inline std::int8_t AveragePoolWindow(std::int32_t acc, int filter_count, std::int32_t act_min, std::int32_t act_max) {
  acc = acc > 0 ? (acc + filter_count / 2) / filter_count : (acc - filter_count / 2) / filter_count;
  acc = std::max(acc, act_min);
  acc = std::min(acc, act_max);
  return static_cast<std::int8_t>(acc);
}

// reference_integer_ops AddFunc with TFLite Micro's parameters (add_common.cc).
struct AddParams {
  std::int32_t input1_offset, input2_offset, output_offset, left_shift;
  std::int32_t input1_multiplier, input2_multiplier, output_multiplier;
  int input1_shift, input2_shift, output_shift;
  std::int32_t act_min, act_max;
};
inline std::int8_t AddFunc(std::int8_t x, std::int8_t y, const AddParams& params) {
  const std::int32_t input1_val = params.input1_offset + x;
  const std::int32_t input2_val = params.input2_offset + y;
  const std::int32_t shifted_input1_val = input1_val * (1 << params.left_shift);
  const std::int32_t shifted_input2_val = input2_val * (1 << params.left_shift);
  // MultiplyByQuantizedMultiplierSmallerThanOneExp, double rounding.
  auto smaller_than_one = [](std::int32_t v, std::int32_t m, int shift) {
    return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(v, m), -shift);
  };
  const std::int32_t scaled_input1_val =
      smaller_than_one(shifted_input1_val, params.input1_multiplier, params.input1_shift);
  const std::int32_t scaled_input2_val =
      smaller_than_one(shifted_input2_val, params.input2_multiplier, params.input2_shift);
  const std::int32_t raw_sum = scaled_input1_val + scaled_input2_val;
  const std::int32_t raw_output =
      smaller_than_one(raw_sum, params.output_multiplier, params.output_shift) + params.output_offset;
  return static_cast<std::int8_t>(std::min(params.act_max, std::max(params.act_min, raw_output)));
}
inline AddParams add_params(float s1, std::int32_t z1, float s2, std::int32_t z2, float s_out, std::int32_t z_out,
                            std::int32_t act_min, std::int32_t act_max) {
  AddParams p{};
  p.input1_offset = -z1;
  p.input2_offset = -z2;
  p.output_offset = z_out;
  p.left_shift = 20;
  const double twice_max_input_scale = 2 * static_cast<double>(std::max(s1, s2));
  const double real_input1_multiplier = static_cast<double>(s1) / twice_max_input_scale;
  const double real_input2_multiplier = static_cast<double>(s2) / twice_max_input_scale;
  const double real_output_multiplier = twice_max_input_scale / ((1 << p.left_shift) * static_cast<double>(s_out));
  QuantizeMultiplier(real_input1_multiplier, &p.input1_multiplier, &p.input1_shift);
  QuantizeMultiplier(real_input2_multiplier, &p.input2_multiplier, &p.input2_shift);
  QuantizeMultiplier(real_output_multiplier, &p.output_multiplier, &p.output_shift);
  p.act_min = act_min;
  p.act_max = act_max;
  return p;
}

// One output of reference_integer_ops ConvPerChannel / DepthwiseConvPerChannel /
// FullyConnected after the accumulation: bias, requantization, offset, clamp.
inline std::int8_t OutputStage(std::int32_t acc, std::int32_t multiplier, int shift, std::int32_t output_offset,
                               std::int32_t act_min, std::int32_t act_max) {
  acc = MultiplyByQuantizedMultiplier(acc, multiplier, shift);
  acc += output_offset;
  acc = std::max(acc, act_min);
  acc = std::min(acc, act_max);
  return static_cast<std::int8_t>(acc);
}

}  // namespace tflite_ref
