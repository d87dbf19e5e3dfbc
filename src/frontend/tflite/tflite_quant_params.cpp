#include "frontend/tflite/tflite_quant_params.hpp"

#include <algorithm>
#include <cmath>

#include "tinyq/tflite_fixedpoint.hpp"

namespace tinyq::tflite {

TfliteMultiplier quantize_multiplier(double real) {
  if (real == 0.0) return {};
  // A quotient of extreme scales that overflowed float: shift 64, which every caller refuses
  // as too large (TFLite would convert infinity to an integer, which is undefined).
  if (!std::isfinite(real)) return {std::int32_t{1} << 30, 64};
  int shift = 0;
  const double q = std::frexp(real, &shift);
  // TfLiteRound is std::round: half away from zero.
  auto q_fixed = static_cast<std::int64_t>(std::round(q * double(std::int64_t{1} << 31)));
  if (q_fixed == (std::int64_t{1} << 31)) {
    q_fixed /= 2;
    ++shift;
  }
  if (shift < -31) return {};  // TFLite flushes multipliers below 2^-31 to 0
  return {static_cast<std::int32_t>(q_fixed), shift};
}

TfliteMultiplier conv_channel_multiplier(float input_scale, float filter_scale, float output_scale) {
  return quantize_multiplier(static_cast<double>(input_scale) * static_cast<double>(filter_scale) /
                             static_cast<double>(output_scale));
}

TfliteMultiplier dense_tensor_multiplier(float input_scale, float filter_scale, float output_scale) {
  const float product = input_scale * filter_scale;  // float, as TFLite writes it
  return quantize_multiplier(static_cast<double>(product) / static_cast<double>(output_scale));
}

ActivationRange activation_range(Activation activation, float output_scale, std::int32_t output_zero_point) {
  // Quantize(): zero_point + round(f / scale), the division in float.
  auto quantize = [&](float f) { return output_zero_point + static_cast<std::int32_t>(std::round(f / output_scale)); };
  ActivationRange r;
  switch (activation) {
    case Activation::Relu: r.min = std::max(r.min, quantize(0.0f)); break;
    case Activation::Relu6:
      r.min = std::max(r.min, quantize(0.0f));
      r.max = std::min(r.max, quantize(6.0f));
      break;
    case Activation::ReluN1To1:
      r.min = std::max(r.min, quantize(-1.0f));
      r.max = std::min(r.max, quantize(1.0f));
      break;
    default: break;
  }
  return r;
}

WindowAxis window_axis(Padding padding, std::int64_t in, std::int64_t filter, std::int64_t stride,
                       std::int64_t dilation) {
  const std::int64_t effective = (filter - 1) * dilation + 1;
  WindowAxis a;
  a.out = padding == Padding::Same ? (in + stride - 1) / stride : (in + stride - effective) / stride;
  const std::int64_t total = std::max<std::int64_t>((a.out - 1) * stride + effective - in, 0);
  a.pad_begin = total / 2;
  a.pad_end = total - total / 2;
  return a;
}

AddMultipliers add_multipliers(float input1_scale, float input2_scale, float output_scale) {
  AddMultipliers m;
  const double twice_max_input_scale = 2 * static_cast<double>(std::max(input1_scale, input2_scale));
  m.input1 = quantize_multiplier(static_cast<double>(input1_scale) / twice_max_input_scale);
  m.input2 = quantize_multiplier(static_cast<double>(input2_scale) / twice_max_input_scale);
  m.output = quantize_multiplier(twice_max_input_scale / ((1 << m.left_shift) * static_cast<double>(output_scale)));
  return m;
}

AddMultipliers sub_multipliers(float input1_scale, float input2_scale, float output_scale) {
  AddMultipliers m;
  const float twice_max_input_scale = 2 * std::max(input1_scale, input2_scale);  // float, as sub_common.cc
  m.input1 = quantize_multiplier(static_cast<double>(input1_scale / twice_max_input_scale));
  m.input2 = quantize_multiplier(static_cast<double>(input2_scale / twice_max_input_scale));
  m.output = quantize_multiplier(static_cast<double>(twice_max_input_scale / ((1 << m.left_shift) * output_scale)));
  return m;
}

TfliteMultiplier mul_multiplier(float input1_scale, float input2_scale, float output_scale) {
  return quantize_multiplier(static_cast<double>(input1_scale) * static_cast<double>(input2_scale) /
                             static_cast<double>(output_scale));
}

TfliteMultiplier mean_multiplier(float input_scale, float output_scale, std::int64_t count) {
  TfliteMultiplier m = quantize_multiplier(static_cast<double>(input_scale) / static_cast<double>(output_scale));
  int k = 63 - __builtin_clzll(static_cast<unsigned long long>(count));  // floor(log2 count), count >= 1
  k = std::min(k, 32);
  k = std::min(k, 31 + m.shift);
  m.multiplier = static_cast<std::int32_t>((static_cast<std::int64_t>(m.multiplier) << k) / count);
  m.shift -= k;
  return m;
}

TfliteMultiplier requantize_multiplier(float input_scale, float output_scale) {
  return quantize_multiplier(static_cast<double>(input_scale) / static_cast<double>(output_scale));
}

TfliteMultiplier relu_multiplier(float input_scale, float output_scale) {
  return quantize_multiplier(static_cast<double>(input_scale / output_scale));  // float quotient
}

std::vector<std::int32_t> softmax_exp_table(float input_scale, float beta) {
  constexpr int kScaledDiffIntegerBits = 5;
  // PreprocessSoftmaxScaling (double rounding: the cap is 2^31 - 1).
  const double max_real_multiplier = double(std::int64_t{1} << 31) - 1.0;
  const double input_beta_real_multiplier = std::min<double>(
      static_cast<double>(beta) * static_cast<double>(input_scale) * double(1 << (31 - kScaledDiffIntegerBits)),
      max_real_multiplier);
  const TfliteMultiplier m = quantize_multiplier(input_beta_real_multiplier);
  const int left_shift = m.shift;  // >= 0: QuantizeMultiplierGreaterThanOne
  // CalculateInputRadius: differences below -radius are left out (exp counts as 0).
  const double max_input_rescaled = 1.0 * ((1 << kScaledDiffIntegerBits) - 1) *
                                    double(std::int64_t{1} << (31 - kScaledDiffIntegerBits)) /
                                    double(std::int64_t{1} << left_shift);
  const int diff_min = static_cast<int>(-1.0 * std::floor(max_input_rescaled));
  std::vector<std::int32_t> table(256, 0);
  for (int d = 0; d < 256; ++d) {
    if (-d < diff_min) continue;
    // MultiplyByQuantizedMultiplierGreaterThanOne(-d, multiplier, left_shift): no overflow,
    // since d <= -diff_min keeps d * 2^left_shift below 31 * 2^26.
    const auto scaled_diff = static_cast<std::int32_t>(-std::int64_t{d} * (std::int64_t{1} << left_shift));
    const std::int32_t rescaled = rt::tflite_fp::srdhm(scaled_diff, m.multiplier);
    table[std::size_t(d)] = rt::tflite_fp::exp_on_negative_values_q5_26(rescaled);
  }
  return table;
}

}  // namespace tinyq::tflite
