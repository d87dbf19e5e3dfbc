#pragma once
// More of TFLite Micro's int8 reference kernels, transcribed for the tests of the pre-quantized
// path as TFLite writes them (tflite-micro 90b983c): each kernel's Prepare (the float and
// double steps that make its parameters) and its per-element arithmetic, on top of the
// primitives of test_tflite_prequantized_reference.hpp. From reference/sub.h, integer_ops/
// mul.h, reduce.h (QuantizedMeanOrSum), integer_ops/logistic.h, integer_ops/tanh.h,
// hard_swish.h, leaky_relu.h, micro/kernels/activations.h, requantize.h, integer_ops/
// transpose_conv.h with transpose_conv.cc's padding, and gemmlowp's
// logistic and tanh (fixedpoint.h). Independent of tinyq's code: the tests compare the two.
#include "test_tflite_prequantized_reference.hpp"

namespace tflite_ref {

// ---- gemmlowp: logistic and tanh ----

inline FixedPoint<0> one_minus_x_over_one_plus_x_for_x_in_0_1(FixedPoint<0> a) {
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
  return Rescale<0>(x - F2::One());
}

template <int B>
FixedPoint<B> negate(FixedPoint<B> a) {
  return {-a.raw};
}

template <int IntegerBits>
FixedPoint<0> tanh(FixedPoint<IntegerBits> a) {
  using ResultF = FixedPoint<0>;
  const bool negative = a.raw < 0;
  const bool zero = a.raw == 0;
  const FixedPoint<IntegerBits> n = negative ? a : negate(a);
  const ResultF t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(ExactMulByPot<1>(n)));
  return zero ? ResultF::Zero() : (negative ? negate(t) : t);
}

template <int IntegerBits>
FixedPoint<0> logistic(FixedPoint<IntegerBits> a) {
  using ResultF = FixedPoint<0>;
  const bool positive = a.raw > 0;
  const bool zero = a.raw == 0;
  const FixedPoint<IntegerBits> abs_input = positive ? a : negate(a);
  const ResultF result_if_positive = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(negate(abs_input)));
  const ResultF result_if_negative = ResultF::One() - result_if_positive;
  const ResultF one_half = ResultF::FromRaw(1 << 30);
  return zero ? one_half : (positive ? result_if_positive : result_if_negative);
}

inline int CalculateInputRadius(int input_integer_bits, int input_left_shift, int total_signed_bits = 31) {
  const double max_input_rescaled = 1.0 * ((1 << input_integer_bits) - 1) *
                                    (1LL << (total_signed_bits - input_integer_bits)) / (1LL << input_left_shift);
  return static_cast<int>(std::floor(max_input_rescaled));
}

// ---- MUL (mul_common.cc, integer_ops/mul.h MulElementwise) ----

struct MulParams {
  std::int32_t input1_offset, input2_offset, output_offset, output_multiplier;
  int output_shift;
  std::int32_t act_min, act_max;
};
inline MulParams mul_params(float s1, std::int32_t z1, float s2, std::int32_t z2, float s_out, std::int32_t z_out,
                            std::int32_t act_min, std::int32_t act_max) {
  MulParams p{-z1, -z2, z_out, 0, 0, act_min, act_max};
  const double real_multiplier = static_cast<double>(s1) * static_cast<double>(s2) / static_cast<double>(s_out);
  QuantizeMultiplier(real_multiplier, &p.output_multiplier, &p.output_shift);
  return p;
}
inline std::int8_t MulFunc(std::int8_t x, std::int8_t y, const MulParams& params) {
  const std::int32_t input1_val = params.input1_offset + x;
  const std::int32_t input2_val = params.input2_offset + y;
  const std::int32_t unclamped_result =
      params.output_offset +
      MultiplyByQuantizedMultiplier(input1_val * input2_val, params.output_multiplier, params.output_shift);
  return static_cast<std::int8_t>(std::min(params.act_max, std::max(params.act_min, unclamped_result)));
}

// ---- SUB (sub_common.cc: the quotients in float; sub.h SubElementwise) ----

inline AddParams sub_params(float s1, std::int32_t z1, float s2, std::int32_t z2, float s_out, std::int32_t z_out,
                            std::int32_t act_min, std::int32_t act_max) {
  AddParams p{};
  p.input1_offset = -z1;
  p.input2_offset = -z2;
  p.output_offset = z_out;
  p.left_shift = 20;
  const float twice_max_input_scale = 2 * std::max(s1, s2);
  const double real_input1_multiplier = static_cast<double>(s1 / twice_max_input_scale);
  const double real_input2_multiplier = static_cast<double>(s2 / twice_max_input_scale);
  const double real_output_multiplier = static_cast<double>(twice_max_input_scale / ((1 << p.left_shift) * s_out));
  QuantizeMultiplier(real_input1_multiplier, &p.input1_multiplier, &p.input1_shift);
  QuantizeMultiplier(real_input2_multiplier, &p.input2_multiplier, &p.input2_shift);
  QuantizeMultiplier(real_output_multiplier, &p.output_multiplier, &p.output_shift);
  p.act_min = act_min;
  p.act_max = act_max;
  return p;
}
inline std::int8_t SubFunc(std::int8_t x, std::int8_t y, const AddParams& params) {
  const std::int32_t input1_val = params.input1_offset + x;
  const std::int32_t input2_val = params.input2_offset + y;
  const std::int32_t shifted_input1_val = input1_val * (1 << params.left_shift);
  const std::int32_t shifted_input2_val = input2_val * (1 << params.left_shift);
  auto smaller_than_one = [](std::int32_t v, std::int32_t m, int shift) {
    return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(v, m), -shift);
  };
  const std::int32_t scaled_input1_val =
      smaller_than_one(shifted_input1_val, params.input1_multiplier, params.input1_shift);
  const std::int32_t scaled_input2_val =
      smaller_than_one(shifted_input2_val, params.input2_multiplier, params.input2_shift);
  const std::int32_t raw_sub = scaled_input1_val - scaled_input2_val;
  const std::int32_t raw_output =
      smaller_than_one(raw_sub, params.output_multiplier, params.output_shift) + params.output_offset;
  return static_cast<std::int8_t>(std::min(params.act_max, std::max(params.act_min, raw_output)));
}

// ---- MEAN (reduce_common.cc, reduce.h QuantizedMeanOrSum) ----

// Mean of an int8 tensor of shape `dims` over `axes` (resolved: 0 <= axis < rank, no
// duplicates), output in row-major order of the kept axes.
inline std::vector<std::int8_t> Mean(const std::vector<std::int8_t>& input, const std::vector<int>& dims,
                                     const std::vector<int>& axes, float s_in, std::int32_t z_in, float s_out,
                                     std::int32_t z_out) {
  std::int32_t output_multiplier = 0;
  int output_shift = 0;
  QuantizeMultiplier(static_cast<double>(s_in) / static_cast<double>(s_out), &output_multiplier, &output_shift);
  auto reduced = [&](int d) { return std::find(axes.begin(), axes.end(), d) != axes.end(); };
  std::int64_t num_outputs = 1, num_elements_in_axis = 1;
  for (int d = 0; d < int(dims.size()); ++d) (reduced(d) ? num_elements_in_axis : num_outputs) *= dims[std::size_t(d)];
  std::vector<std::int32_t> temp_sum(static_cast<std::size_t>(num_outputs), 0);
  // ReduceSumImpl: every input index, its output index the kept coordinates.
  std::vector<int> index(dims.size(), 0);
  for (std::size_t i = 0; i < input.size(); ++i) {
    std::size_t out = 0;
    for (int d = 0; d < int(dims.size()); ++d)
      if (!reduced(d)) out = out * std::size_t(dims[std::size_t(d)]) + std::size_t(index[std::size_t(d)]);
    temp_sum[out] += input[i];
    for (int d = int(dims.size()) - 1; d >= 0; --d) {
      if (++index[std::size_t(d)] < dims[std::size_t(d)]) break;
      index[std::size_t(d)] = 0;
    }
  }
  int shift = 63 - __builtin_clzll(static_cast<std::uint64_t>(num_elements_in_axis));
  shift = std::min(shift, 32);
  shift = std::min(shift, 31 + output_shift);
  output_multiplier =
      static_cast<std::int32_t>((static_cast<std::int64_t>(output_multiplier) << shift) / num_elements_in_axis);
  output_shift = output_shift - shift;
  std::vector<std::int8_t> out(temp_sum.size());
  for (std::size_t idx = 0; idx < out.size(); ++idx) {
    const std::int32_t shifted_sum = static_cast<std::int32_t>(temp_sum[idx] - z_in * num_elements_in_axis);
    std::int32_t output = MultiplyByQuantizedMultiplier(shifted_sum, output_multiplier, output_shift) + z_out;
    output = std::min(std::max(output, -128), 127);
    out[idx] = static_cast<std::int8_t>(output);
  }
  return out;
}

// ---- LOGISTIC and TANH (logistic_common.cc, tanh.cc, integer_ops/logistic.h, tanh.h) ----

struct Q4Params {
  std::int32_t input_multiplier = 0;
  int input_left_shift = 0;
  int input_range_radius = 0;
};
inline Q4Params q4_params(float input_scale) {
  Q4Params p;
  const double input_real_multiplier = static_cast<double>(input_scale) * static_cast<double>(1 << (31 - 4));
  const double q = std::frexp(input_real_multiplier, &p.input_left_shift);
  p.input_multiplier = static_cast<std::int32_t>(std::round(q * (1ll << 31)));
  p.input_range_radius = CalculateInputRadius(4, p.input_left_shift, 31);
  return p;
}
inline std::int8_t Logistic(std::int8_t x, std::int32_t input_zero_point, const Q4Params& p) {
  const std::int32_t input = static_cast<std::int32_t>(x) - input_zero_point;
  if (input <= -p.input_range_radius) return -128;
  if (input >= p.input_range_radius) return 127;
  const std::int32_t input_in_q4 = MultiplyByQuantizedMultiplier(input, p.input_multiplier, p.input_left_shift);
  const std::int32_t output_in_q0 = logistic(FixedPoint<4>::FromRaw(input_in_q4)).raw;
  std::int32_t output_in_q23 = RoundingDivideByPOT(output_in_q0, 31 - 8);
  output_in_q23 = std::min(std::max(output_in_q23 - 128, -128), 127);
  return static_cast<std::int8_t>(output_in_q23);
}
inline std::int8_t Tanh(std::int8_t x, std::int32_t input_zero_point, const Q4Params& p) {
  const std::int32_t input = static_cast<std::int32_t>(x) - input_zero_point;
  if (input <= -p.input_range_radius) return -128;
  if (input >= p.input_range_radius) return 127;
  const std::int32_t input_in_q4 = MultiplyByQuantizedMultiplier(input, p.input_multiplier, p.input_left_shift);
  const std::int32_t output_in_q0 = tanh(FixedPoint<4>::FromRaw(input_in_q4)).raw;
  std::int32_t output_in_q24 = RoundingDivideByPOT(output_in_q0, 31 - 7);
  output_in_q24 = std::min(std::max(output_in_q24, -128), 127);
  return static_cast<std::int8_t>(output_in_q24);
}

// ---- RELU, RELU6 (micro/kernels/activations*.cc), QUANTIZE int8 -> int8 (requantize.h) ----

inline std::int8_t Relu(std::int8_t x, float s_in, std::int32_t z_in, float s_out, std::int32_t z_out) {
  std::int32_t m = 0;
  int shift = 0;
  QuantizeMultiplier(static_cast<double>(s_in / s_out), &m, &shift);
  const std::int32_t act_min = std::max(-128, z_out + static_cast<std::int32_t>(roundf(0.0f / s_out)));
  std::int32_t clamped = z_out + MultiplyByQuantizedMultiplier(std::int32_t(x) - z_in, m, shift);
  clamped = std::max(act_min, clamped);
  clamped = std::min(127, clamped);
  return static_cast<std::int8_t>(clamped);
}
inline std::int8_t Relu6(std::int8_t x, float s_in, std::int32_t z_in) {
  std::int32_t six = static_cast<std::int32_t>(round(6.0f / s_in) + z_in);
  six = std::min(127, std::max(-128, six));
  const std::int8_t upper = static_cast<std::int8_t>(six), lower = static_cast<std::int8_t>(z_in);
  return x > upper ? upper : x < lower ? lower : x;
}
inline std::int8_t Requantize(std::int8_t x, float s_in, std::int32_t z_in, float s_out, std::int32_t z_out) {
  std::int32_t m = 0;
  int shift = 0;
  QuantizeMultiplier(static_cast<double>(s_in) / static_cast<double>(s_out), &m, &shift);
  const std::int32_t output = MultiplyByQuantizedMultiplier(std::int32_t(x) - z_in, m, shift) + z_out;
  return static_cast<std::int8_t>(std::max(std::min(output, 127), -128));
}

// ---- LEAKY_RELU (leaky_relu_common.cc, leaky_relu.h QuantizeLeakyRelu) ----

inline std::int8_t LeakyRelu(std::int8_t x, float s_in, std::int32_t z_in, float s_out, std::int32_t z_out,
                             float alpha) {
  std::int32_t m_alpha = 0, m_identity = 0;
  int shift_alpha = 0, shift_identity = 0;
  QuantizeMultiplier(static_cast<double>(s_in * alpha / s_out), &m_alpha, &shift_alpha);
  QuantizeMultiplier(static_cast<double>(s_in / s_out), &m_identity, &shift_identity);
  const bool is_alpha_negative = m_alpha < 0;
  const std::int32_t safe_alpha_multiplier = is_alpha_negative ? -m_alpha : m_alpha;
  const std::int32_t input_value = x - z_in;
  std::int32_t unclamped_output = z_out;
  if (input_value >= 0) {
    unclamped_output += MultiplyByQuantizedMultiplier(input_value, m_identity, shift_identity);
  } else {
    const std::int32_t scaled_alpha_value =
        MultiplyByQuantizedMultiplier(input_value, safe_alpha_multiplier, shift_alpha);
    unclamped_output += is_alpha_negative ? -scaled_alpha_value : scaled_alpha_value;
  }
  return static_cast<std::int8_t>(std::min(127, std::max(-128, unclamped_output)));
}

// ---- HARD_SWISH (hard_swish_common.cc, hard_swish.h) ----

inline std::int16_t SaturatingRoundingDoublingHighMul16(std::int16_t a, std::int16_t b) {
  const bool overflow = a == b && a == std::numeric_limits<std::int16_t>::min();
  const std::int32_t ab_32 = std::int32_t(a) * std::int32_t(b);
  const std::int16_t nudge = ab_32 >= 0 ? (1 << 14) : (1 - (1 << 14));
  const auto ab_x2_high16 = static_cast<std::int16_t>((ab_32 + nudge) / (1 << 15));
  return overflow ? std::numeric_limits<std::int16_t>::max() : ab_x2_high16;
}
inline std::int16_t RoundingDivideByPOT16(std::int16_t x, int exponent) {
  const auto mask = static_cast<std::int16_t>((1ll << exponent) - 1);
  const auto remainder = static_cast<std::int16_t>(x & mask);
  const auto threshold = static_cast<std::int16_t>((mask >> 1) + (x < 0 ? 1 : 0));
  return static_cast<std::int16_t>((x >> exponent) + (remainder > threshold ? 1 : 0));
}
inline std::int16_t SaturatingLeftShift(std::int16_t value, int amount) {
  std::int64_t result = static_cast<std::int64_t>(value) * (1 << amount);
  result = std::min<std::int64_t>(result, std::numeric_limits<std::int16_t>::max());
  result = std::max<std::int64_t>(result, std::numeric_limits<std::int16_t>::min());
  return static_cast<std::int16_t>(result);
}
inline std::int16_t SaturatingDoublingHighMul(std::int16_t a, std::int16_t b) {
  const bool overflow = a == b && a == std::numeric_limits<std::int16_t>::min();
  const std::int32_t ab_32 = std::int32_t(a) * std::int32_t(b);
  const auto ab_x2_high16 = static_cast<std::int16_t>((ab_32) / (1 << 15));
  return overflow ? std::numeric_limits<std::int16_t>::max() : ab_x2_high16;
}
inline std::int16_t DownScaleInt32ToInt16Multiplier(std::int32_t multiplier_int32_t) {
  constexpr std::int32_t kRoundingOffset = 1 << 15;
  if (multiplier_int32_t >= std::numeric_limits<std::int32_t>::max() - kRoundingOffset)
    return std::numeric_limits<std::int16_t>::max();
  return static_cast<std::int16_t>((multiplier_int32_t + kRoundingOffset) >> 16);
}
struct HardSwishParams {
  std::int32_t input_zero_point, output_zero_point;
  std::int16_t output_multiplier_fixedpoint_int16, reluish_multiplier_fixedpoint_int16;
  int output_multiplier_exponent, reluish_multiplier_exponent;
};
inline HardSwishParams hard_swish_params(float s_in, std::int32_t z_in, float s_out, std::int32_t z_out) {
  HardSwishParams p{};
  p.input_zero_point = z_in;
  p.output_zero_point = z_out;
  const float hires_input_scale = (1.0f / 128.0f) * s_in;
  const float reluish_scale = 3.0f / 32768.0f;
  std::int32_t m32 = 0;
  QuantizeMultiplier(static_cast<double>(hires_input_scale / s_out), &m32, &p.output_multiplier_exponent);
  p.output_multiplier_fixedpoint_int16 = DownScaleInt32ToInt16Multiplier(m32);
  QuantizeMultiplier(static_cast<double>(hires_input_scale / reluish_scale), &m32, &p.reluish_multiplier_exponent);
  p.reluish_multiplier_fixedpoint_int16 = DownScaleInt32ToInt16Multiplier(m32);
  return p;
}
inline std::int8_t HardSwish(std::int8_t x, const HardSwishParams& params) {
  const std::int16_t input_value = x - params.input_zero_point;
  const std::int16_t input_value_on_hires_input_scale = input_value * (1 << 7);
  const std::int16_t input_value_on_preshift_output_scale =
      SaturatingRoundingDoublingHighMul16(input_value_on_hires_input_scale, params.output_multiplier_fixedpoint_int16);
  std::int16_t reluish_value = input_value_on_hires_input_scale;
  if (params.reluish_multiplier_exponent > 0)
    reluish_value = SaturatingLeftShift(reluish_value, params.reluish_multiplier_exponent - 1);
  reluish_value = SaturatingRoundingDoublingHighMul16(reluish_value, params.reluish_multiplier_fixedpoint_int16);
  if (params.reluish_multiplier_exponent > 0) reluish_value = SaturatingLeftShift(reluish_value, 1);
  if (params.reluish_multiplier_exponent < 0)
    reluish_value = RoundingDivideByPOT16(reluish_value, -params.reluish_multiplier_exponent);
  reluish_value = (reluish_value + (1 << 15)) >> 1;
  const std::int16_t preshift_output_value =
      SaturatingDoublingHighMul(reluish_value, input_value_on_preshift_output_scale);
  std::int16_t output_value = RoundingDivideByPOT16(preshift_output_value, -params.output_multiplier_exponent);
  output_value += params.output_zero_point;
  output_value = std::min<std::int16_t>(output_value, 127);
  output_value = std::max<std::int16_t>(output_value, -128);
  return static_cast<std::int8_t>(output_value);
}

// ---- TRANSPOSE_CONV (transpose_conv.cc, padding.h, integer_ops/transpose_conv.h) ----

// ComputePaddingWithOffset over ComputeOutSize, as transpose_conv.cc calls it with the
// output's size as the "input" (dilation 1).
inline int TransposeConvPadding(bool same, int stride, int out_size, int filter_size) {
  const int conv_out = same ? (out_size + stride - 1) / stride : (out_size + stride - filter_size) / stride;
  int total_padding = (conv_out - 1) * stride + filter_size - out_size;
  total_padding = total_padding > 0 ? total_padding : 0;
  return total_padding / 2;
}

// NHWC int8 input [n, h, w, in_c], filter [out_c, kh, kw, in_c], per-channel multipliers.
inline std::vector<std::int8_t> TransposeConv(const std::vector<std::int8_t>& input, int batches, int input_height,
                                              int input_width, int input_depth, const std::vector<std::int8_t>& filter,
                                              int output_depth, int filter_height, int filter_width,
                                              const std::vector<std::int32_t>& bias, int output_height,
                                              int output_width, int stride_height, int stride_width, int pad_height,
                                              int pad_width, std::int32_t input_offset, std::int32_t output_offset,
                                              const std::vector<std::int32_t>& output_multiplier,
                                              const std::vector<int>& output_shift, std::int32_t act_min,
                                              std::int32_t act_max) {
  std::vector<std::int32_t> scratch(std::size_t(batches * output_height * output_width * output_depth), 0);
  auto out_at = [&](int b, int y, int x, int c) {
    return std::size_t(((b * output_height + y) * output_width + x) * output_depth + c);
  };
  for (int batch = 0; batch < batches; ++batch)
    for (int in_y = 0; in_y < input_height; ++in_y)
      for (int in_x = 0; in_x < input_width; ++in_x)
        for (int in_channel = 0; in_channel < input_depth; ++in_channel) {
          const int out_x_origin = (in_x * stride_width) - pad_width;
          const int out_y_origin = (in_y * stride_height) - pad_height;
          for (int filter_y = 0; filter_y < filter_height; ++filter_y)
            for (int filter_x = 0; filter_x < filter_width; ++filter_x)
              for (int out_channel = 0; out_channel < output_depth; ++out_channel) {
                const int out_x = out_x_origin + filter_x;
                const int out_y = out_y_origin + filter_y;
                if ((out_x >= 0) && (out_x < output_width) && (out_y >= 0) && (out_y < output_height)) {
                  const std::int8_t input_value = input[std::size_t(
                      ((batch * input_height + in_y) * input_width + in_x) * input_depth + in_channel)];
                  const std::int8_t filter_value = filter[std::size_t(
                      ((out_channel * filter_height + filter_y) * filter_width + filter_x) * input_depth + in_channel)];
                  scratch[out_at(batch, out_y, out_x, out_channel)] += (input_value + input_offset) * filter_value;
                }
              }
        }
  std::vector<std::int8_t> output(scratch.size());
  for (std::size_t i = 0; i < scratch.size(); ++i) {
    const int c = int(i % std::size_t(output_depth));
    const std::size_t k = output_multiplier.size() == 1 ? 0 : std::size_t(c);
    std::int32_t acc = scratch[i] + bias[std::size_t(c)];
    acc = MultiplyByQuantizedMultiplier(acc, output_multiplier[k], output_shift[k]);
    acc += output_offset;
    acc = std::max(acc, act_min);
    acc = std::min(acc, act_max);
    output[i] = static_cast<std::int8_t>(acc);
  }
  return output;
}

}  // namespace tflite_ref
