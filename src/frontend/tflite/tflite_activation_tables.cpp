#include "frontend/tflite/tflite_activation_tables.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "frontend/tflite/tflite_quant_params.hpp"
#include "tinyq/requantize.hpp"
#include "tinyq/tflite_fixedpoint.hpp"
#include "util/error.hpp"

namespace tinyq::tflite {

namespace {

namespace fp = rt::tflite_fp;

std::int8_t saturate_int8(std::int32_t v) { return static_cast<std::int8_t>(std::clamp(v, -128, 127)); }

// The table of f over every int8 byte.
template <typename F>
std::vector<std::int8_t> table_of(const F& f) {
  std::vector<std::int8_t> t(256);
  for (int q = -128; q <= 127; ++q) t[std::size_t(q + 128)] = f(q);
  return t;
}

// TFLite's MultiplyByQuantizedMultiplier. For shift > 0 TFLite first forms x * 2^shift in
// int32; `max_abs` bounds |x|, and a multiplier that would make that overflow is refused.
void check_headroom(const TfliteMultiplier& m, std::int64_t max_abs, const std::string& where) {
  if (m.shift > 30 || (m.shift > 0 && max_abs > (std::int64_t{std::numeric_limits<std::int32_t>::max()} >> m.shift)))
    fail(where, "scales give a requantization multiplier of 2^{}, whose int32 arithmetic overflows in TFLite",
         m.shift - 1);
}
std::int32_t mbqm(std::int32_t x, const TfliteMultiplier& m) { return rt::requantize_tflite(x, m.multiplier, m.shift); }

// gemmlowp's exp_on_negative_values for a FixedPoint<int32, IntegerBits> input (IntegerBits 4
// or 5 here): exp(a) for a <= 0, Q0.31 (fixedpoint.h).
std::int32_t exp_on_negative_values(std::int32_t a, int integer_bits) {
  const int fractional_bits = 31 - integer_bits;
  const std::int32_t one_quarter = std::int32_t(1) << (fractional_bits - 2);
  const std::int32_t mask = one_quarter - 1;
  const std::int32_t a_mod_quarter_minus_one_quarter = fp::sub(a & mask, one_quarter);
  std::int32_t result = fp::exp_on_interval_between_negative_one_quarter_and_0_excl(
      fp::saturating_shift_left(a_mod_quarter_minus_one_quarter, integer_bits));  // Rescale<0>
  const std::int32_t remainder = fp::sub(a_mod_quarter_minus_one_quarter, a);
  // The barrel shifter: exp(-2^e) for e = -2 .. 4, only for e < integer_bits.
  constexpr std::int32_t kMultipliers[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
  for (int e = -2; e <= 4 && e < integer_bits; ++e)
    if ((remainder & (std::int32_t(1) << (fractional_bits + e))) != 0) result = fp::srdhm(result, kMultipliers[e + 2]);
  return a == 0 ? std::numeric_limits<std::int32_t>::max() : result;
}

// gemmlowp's one_minus_x_over_one_plus_x_for_x_in_0_1: (1 - a) / (1 + a), Q0.31; the same
// Newton-Raphson steps as one_over_one_plus_x_for_x_in_0_1, a different last step.
std::int32_t one_minus_x_over_one_plus_x_for_x_in_0_1(std::int32_t a) {
  const std::int32_t half_denominator = fp::rounding_half_sum(a, std::numeric_limits<std::int32_t>::max());
  const std::int32_t one_q2 = std::int32_t(1) << 29;                               // F2::One()
  std::int32_t x = fp::add(1515870810, fp::srdhm(half_denominator, -1010580540));  // 48/17 - 32/17 d, Q2.29
  for (int i = 0; i < 3; ++i) {
    const std::int32_t one_minus_half_denominator_times_x = fp::sub(one_q2, fp::srdhm(half_denominator, x));
    x = fp::add(x, fp::saturating_shift_left(fp::srdhm(x, one_minus_half_denominator_times_x), 2));
  }
  return fp::saturating_shift_left(fp::sub(x, one_q2), 2);  // Rescale<0>(x - 1)
}

// gemmlowp's logistic and tanh of a Q4.27 value, Q0.31 results.
std::int32_t logistic_q4(std::int32_t a) {
  if (a == 0) return std::int32_t(1) << 30;  // one half
  const std::int32_t abs_a = a > 0 ? a : -a;
  const std::int32_t positive = fp::one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(-abs_a, 4));
  return a > 0 ? positive : fp::sub(std::numeric_limits<std::int32_t>::max(), positive);  // One() - r
}
std::int32_t tanh_q4(std::int32_t a) {
  if (a == 0) return 0;
  const std::int32_t negative_abs = a < 0 ? a : -a;
  // ExactMulByPot<1>: the same raw value read with 5 integer bits, i.e. exp(2 * negative_abs).
  const std::int32_t t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(negative_abs, 5));
  return a < 0 ? -t : t;
}

// The input stage TFLite's int8 LOGISTIC and TANH share: input_real_multiplier = s_in * 2^27
// (Q4.27), its frexp mantissa rounded to Q31 (no renormalisation: a float's mantissa never
// rounds up to 2^31), and CalculateInputRadius(4, shift, 31).
struct Q4Input {
  TfliteMultiplier m;
  std::int32_t radius = 0;
};
Q4Input q4_input(const Int8Quant& in, const std::string& where) {
  Q4Input r;
  const double real = static_cast<double>(in.scale) * static_cast<double>(1 << 27);
  const double q = std::frexp(real, &r.m.shift);
  r.m.multiplier = static_cast<std::int32_t>(std::round(q * double(std::int64_t{1} << 31)));
  if (r.m.shift < 0 || r.m.shift > 30)
    fail(where, "input scale {} is outside what TFLite's int8 kernel takes", in.scale);
  const double max_input_rescaled = 1.0 * 15 * double(std::int64_t{1} << 27) / double(std::int64_t{1} << r.m.shift);
  r.radius = static_cast<std::int32_t>(std::floor(max_input_rescaled));
  return r;
}

// gemmlowp's int16 primitives as HardSwish uses them (the int16 specialisations).
std::int16_t srdhm16(std::int16_t a, std::int16_t b) {
  if (a == b && a == std::numeric_limits<std::int16_t>::min()) return std::numeric_limits<std::int16_t>::max();
  const std::int32_t ab = std::int32_t(a) * std::int32_t(b);
  const std::int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  return static_cast<std::int16_t>((ab + nudge) / (1 << 15));  // C division truncates
}
std::int16_t rdbp16(std::int16_t x, int exponent) {  // exponent in [0, 15]
  const std::int16_t mask = static_cast<std::int16_t>((1 << exponent) - 1);
  const std::int16_t remainder = static_cast<std::int16_t>(x & mask);
  const std::int16_t threshold = static_cast<std::int16_t>((mask >> 1) + (x < 0 ? 1 : 0));
  return static_cast<std::int16_t>((x >> exponent) + (remainder > threshold ? 1 : 0));
}
// hard_swish.h's own helpers: a saturating left shift and a doubling high multiply that
// truncates (no rounding nudge).
std::int16_t saturating_left_shift16(std::int16_t value, int amount) {
  const std::int64_t result = static_cast<std::int64_t>(value) * (std::int64_t{1} << amount);
  return static_cast<std::int16_t>(std::clamp<std::int64_t>(result, -32768, 32767));
}
std::int16_t sdhm16(std::int16_t a, std::int16_t b) {
  if (a == b && a == std::numeric_limits<std::int16_t>::min()) return std::numeric_limits<std::int16_t>::max();
  return static_cast<std::int16_t>((std::int32_t(a) * std::int32_t(b)) / (1 << 15));
}
// DownScaleInt32ToInt16Multiplier (common.h).
std::int16_t downscale_multiplier(std::int32_t m) {
  if (m >= std::numeric_limits<std::int32_t>::max() - (1 << 15)) return std::numeric_limits<std::int16_t>::max();
  return static_cast<std::int16_t>((m + (1 << 15)) >> 16);
}

// LOGISTIC and TANH share TFLite Micro's int8 recipe: the input rescaled by q4_input's multiplier,
// saturated outside the radius, then the Q0.31 result of `q4_function` brought to the output
// grid by a rounding shift of `output_shift` and an offset.
template <typename Q4Function>
std::vector<std::int8_t> q4_table(const Int8Quant& in, const std::string& where, Q4Function q4_function,
                                  int output_shift, std::int32_t output_offset) {
  const Q4Input s = q4_input(in, where);
  check_headroom(s.m, std::max<std::int64_t>(s.radius, 0), where);
  return table_of([&](int q) {
    const std::int32_t input = q - in.zero_point;
    if (input <= -s.radius) return std::int8_t(-128);
    if (input >= s.radius) return std::int8_t(127);
    const std::int32_t output_q0 = q4_function(mbqm(input, s.m));
    return saturate_int8(fp::rounding_divide_by_pot(output_q0, output_shift) + output_offset);
  });
}

}  // namespace

std::vector<std::int8_t> logistic_table(const Int8Quant& in, const std::string& where) {
  return q4_table(in, where, logistic_q4, 31 - 8, -128);  // Q0.31 -> 1/256, zero point -128
}

std::vector<std::int8_t> tanh_table(const Int8Quant& in, const std::string& where) {
  return q4_table(in, where, tanh_q4, 31 - 7, 0);  // Q0.31 -> 1/128
}

std::vector<std::int8_t> relu_table(const Int8Quant& in, const Int8Quant& out, const std::string& where) {
  const TfliteMultiplier m = relu_multiplier(in.scale, out.scale);
  check_headroom(m, 255, where);
  // act_min = max(-128, zp + roundf(0 / scale)) = max(-128, zp); no upper clamp but int8's.
  const std::int32_t lo = std::max(-128, out.zero_point);
  return table_of([&](int q) {
    return static_cast<std::int8_t>(std::clamp(out.zero_point + mbqm(q - in.zero_point, m), lo, std::int32_t{127}));
  });
}

std::vector<std::int8_t> relu6_table(const Int8Quant& in) {
  // FloatToQuantizedType(6.0f, scale, zero_point): round(6.0f / scale) + zero point, saturated.
  const double six_q = std::round(6.0f / in.scale) + in.zero_point;
  const std::int32_t six = static_cast<std::int32_t>(std::clamp(six_q, -128.0, 127.0));
  const std::int32_t zero = in.zero_point;
  return table_of([&](int q) { return static_cast<std::int8_t>(q > six ? six : (q < zero ? zero : q)); });
}

std::vector<std::int8_t> leaky_relu_table(const Int8Quant& in, const Int8Quant& out, float alpha,
                                          const std::string& where) {
  // Both quotients in float, as leaky_relu_common.cc writes them.
  const TfliteMultiplier m_alpha = quantize_multiplier(static_cast<double>(in.scale * alpha / out.scale));
  const TfliteMultiplier m_identity = quantize_multiplier(static_cast<double>(in.scale / out.scale));
  check_headroom(m_alpha, 255, where);
  check_headroom(m_identity, 255, where);
  const bool alpha_negative = m_alpha.multiplier < 0;
  const TfliteMultiplier safe_alpha{alpha_negative ? -m_alpha.multiplier : m_alpha.multiplier, m_alpha.shift};
  return table_of([&](int q) {
    const std::int32_t input = q - in.zero_point;
    std::int32_t v = out.zero_point;
    if (input >= 0) {
      v += mbqm(input, m_identity);
    } else {
      const std::int32_t scaled = mbqm(input, safe_alpha);
      v += alpha_negative ? -scaled : scaled;
    }
    return saturate_int8(v);
  });
}

std::vector<std::int8_t> hard_swish_table(const Int8Quant& in, const Int8Quant& out, const std::string& where) {
  const float hires_input_scale = (1.0f / 128.0f) * in.scale;
  const float reluish_scale = 3.0f / 32768.0f;
  const TfliteMultiplier m_out = quantize_multiplier(static_cast<double>(hires_input_scale / out.scale));
  const TfliteMultiplier m_reluish = quantize_multiplier(static_cast<double>(hires_input_scale / reluish_scale));
  if (m_out.shift > 0) fail(where, "output scale {} is below TFLite's int8 HARD_SWISH's minimum", out.scale);
  // gemmlowp's int16 RoundingDivideByPOT takes exponents up to 15 without wrapping its mask.
  if (m_out.shift < -15 || m_reluish.shift < -15 || m_reluish.shift > 15)
    fail(where, "scales give a HARD_SWISH rescale by 2^{}, beyond int16",
         m_reluish.shift > 15 ? m_reluish.shift : std::min(m_out.shift, m_reluish.shift));
  const std::int16_t out_m16 = downscale_multiplier(m_out.multiplier);
  const std::int16_t reluish_m16 = downscale_multiplier(m_reluish.multiplier);
  return table_of([&](int q) {
    const auto input_value = static_cast<std::int16_t>(q - in.zero_point);
    const auto hires = static_cast<std::int16_t>(input_value * (1 << 7));
    const std::int16_t preshift_output_scale = srdhm16(hires, out_m16);
    std::int16_t reluish = hires;
    if (m_reluish.shift > 0) reluish = saturating_left_shift16(reluish, m_reluish.shift - 1);
    reluish = srdhm16(reluish, reluish_m16);
    if (m_reluish.shift > 0) reluish = saturating_left_shift16(reluish, 1);
    if (m_reluish.shift < 0) reluish = rdbp16(reluish, -m_reluish.shift);
    reluish = static_cast<std::int16_t>((reluish + (1 << 15)) >> 1);  // [-1, 1] -> [0, 1]
    const std::int16_t preshift_output = sdhm16(reluish, preshift_output_scale);
    const std::int16_t output = rdbp16(preshift_output, -m_out.shift);
    // The zero point is added in int16 as hard_swish.h adds it (wrapping as it would), then
    // the result saturated to int8.
    return saturate_int8(static_cast<std::int16_t>(output + out.zero_point));
  });
}

std::vector<std::int8_t> requantize_table(const Int8Quant& in, const Int8Quant& out, const std::string& where) {
  const TfliteMultiplier m = requantize_multiplier(in.scale, out.scale);
  check_headroom(m, 255, where);
  return table_of([&](int q) { return saturate_int8(mbqm(q - in.zero_point, m) + out.zero_point); });
}

}  // namespace tinyq::tflite
