// TFLite's host-side quantization arithmetic, as TFLite Micro computes it when it prepares an
// int8 model (kernel_util.cc, quantization_util.cc, padding.h, *_common.cc): the multipliers,
// activation clamps, paddings and softmax constants of a pre-quantized model. Every value must
// be the one TFLite Micro derives, down to the last bit of each multiplier, or the int8
// outputs drift by an LSB here and there: the float/double steps follow TFLite's own order.
#pragma once

#include <cstdint>
#include <vector>

#include "frontend/tflite/tflite_model.hpp"

namespace tinyq::tflite {

// QuantizeMultiplier: real = multiplier * 2^(shift - 31) with multiplier in [2^30, 2^31)
// (frexp, then round half away from zero), 0 for real == 0 or below 2^-31 (shift < -31).
// A non-finite real gives shift 64, beyond what any caller takes.
struct TfliteMultiplier {
  std::int32_t multiplier = 0;
  std::int32_t shift = 0;
};
TfliteMultiplier quantize_multiplier(double real);

// Conv / depthwise per channel (PopulateConvolutionQuantizationParams): double(s_in) *
// double(s_w[c]) / double(s_out).
TfliteMultiplier conv_channel_multiplier(float input_scale, float filter_scale, float output_scale);
// Fully connected per tensor (GetQuantizedConvolutionMultipler): the product s_in * s_w is
// taken in float, then divided in double.
TfliteMultiplier dense_tensor_multiplier(float input_scale, float filter_scale, float output_scale);

// CalculateActivationRangeQuantized for an int8 output: the fused activation's clamp.
struct ActivationRange {
  std::int32_t min = -128, max = 127;
};
ActivationRange activation_range(Activation activation, float output_scale, std::int32_t output_zero_point);

// One spatial axis of a window op (padding.h): the output size TFLite computes and the
// leading padding (the odd pad goes to the end).
struct WindowAxis {
  std::int64_t out = 0, pad_begin = 0, pad_end = 0;
};
WindowAxis window_axis(Padding padding, std::int64_t in, std::int64_t filter, std::int64_t stride,
                       std::int64_t dilation);

// TFLite's int8 add (add_common.cc): left shift 20, input multipliers s / (2 max(s1, s2)),
// output multiplier 2 max(s1, s2) / (2^20 s_out).
struct AddMultipliers {
  std::int32_t left_shift = 20;
  TfliteMultiplier input1, input2, output;
};
AddMultipliers add_multipliers(float input1_scale, float input2_scale, float output_scale);
// TFLite's int8 SUB (sub_common.cc): the same recipe, but twice the larger scale and the three
// quotients are taken in float before they become doubles.
AddMultipliers sub_multipliers(float input1_scale, float input2_scale, float output_scale);

// TFLite's int8 MUL (mul_common.cc): double(s1) * double(s2) / double(s_out).
TfliteMultiplier mul_multiplier(float input1_scale, float input2_scale, float output_scale);

// TFLite's int8 MEAN (reduce_common.cc, reduce.h QuantizedMeanOrSum): QuantizeMultiplier of
// double(s_in) / double(s_out), then 1 / n folded in: with k = floor(log2 n), capped at 32 and
// at 31 + shift, multiplier' = (multiplier * 2^k) / n (int64, truncated), shift' = shift - k.
// multiplier' is in [0, 2^31) but not normalized.
TfliteMultiplier mean_multiplier(float input_scale, float output_scale, std::int64_t count);

// The int8 -> int8 requantization of QUANTIZE, and of RELU's output (activations_common.cc:
// there the quotient s_in / s_out is taken in float).
TfliteMultiplier requantize_multiplier(float input_scale, float output_scale);
TfliteMultiplier relu_multiplier(float input_scale, float output_scale);

// The exp table of rt::softmax_s8_tflite for an int8 softmax with this input scale and beta
// (PreprocessSoftmaxScaling and CalculateInputRadius with 5 integer bits, double rounding).
// TFLite requires beta * input_scale * 2^26 > 1 (QuantizeMultiplierGreaterThanOne); the
// caller checks it.
std::vector<std::int32_t> softmax_exp_table(float input_scale, float beta);

}  // namespace tinyq::tflite
