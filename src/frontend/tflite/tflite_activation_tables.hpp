// TFLite Micro's int8 unary operators as 256-entry tables (entry q + 128 is the output byte of
// input byte q), for rt::lookup_s8. Each entry is computed here, on the host, with the integer
// arithmetic of TFLite Micro's reference kernel for that operator (tflite-micro 90b983c), so
// the table gives its bytes exactly; the MCU only looks them up. The parameters each kernel
// derives from the scales when it prepares (float and double steps in TFLite's order) are
// derived the same way here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tinyq::tflite {

struct Int8Quant {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
};

// LOGISTIC (logistic_common.cc, reference_integer_ops::Logistic): input rescaled to Q4.27,
// gemmlowp's logistic, output scale 1/256, zero point -128.
std::vector<std::int8_t> logistic_table(const Int8Quant& in, const std::string& where);
// TANH (tanh.cc, reference_integer_ops::Tanh): Q4.27 input, gemmlowp's tanh, output scale
// 1/128, zero point 0.
std::vector<std::int8_t> tanh_table(const Int8Quant& in, const std::string& where);
// RELU (activations_common.cc ReluQuantized): requantized, clamped below at the output's zero.
std::vector<std::int8_t> relu_table(const Int8Quant& in, const Int8Quant& out, const std::string& where);
// RELU6 (Relu6Quantized): a clamp of the input bytes to [zero point, quantized 6].
std::vector<std::int8_t> relu6_table(const Int8Quant& in);
// LEAKY_RELU (leaky_relu_common.cc, reference_ops::QuantizeLeakyRelu): two requantizations.
std::vector<std::int8_t> leaky_relu_table(const Int8Quant& in, const Int8Quant& out, float alpha,
                                          const std::string& where);
// HARD_SWISH (hard_swish_common.cc, reference_ops::HardSwish): the int16 fixed-point recipe.
std::vector<std::int8_t> hard_swish_table(const Int8Quant& in, const Int8Quant& out, const std::string& where);
// QUANTIZE int8 -> int8 (quantize_common.cc, reference_ops::Requantize).
std::vector<std::int8_t> requantize_table(const Int8Quant& in, const Int8Quant& out, const std::string& where);

}  // namespace tinyq::tflite
