// tinyq runtime: TFLite's int8 softmax, bit for bit (kernels.hpp states the recipe). The
// exponentials come from a host-computed table indexed by max - q; only the per-row
// reciprocal of their sum is fixed-point arithmetic at run time.
#include "kernel_util.hpp"
#include "tinyq/kernels.hpp"
#include "tinyq/tflite_fixedpoint.hpp"

namespace tinyq {
namespace rt {

void softmax_s8_tflite(const int32_t* exp_table, int32_t rows, int32_t depth, const int8_t* input, int8_t* output) {
  constexpr int32_t kAccumulationIntegerBits = 12;  // TFLite's Q12.19 sum of exponentials
  for (int32_t r = 0; r < rows; ++r, input += depth, output += depth) {
    int32_t max = -128;
    for (int32_t i = 0; i < depth; ++i) max = input[i] > max ? input[i] : max;
    // Q0.31 terms rescaled to Q12.19 (a rounding division by 2^12): each at most 2^19, and
    // depth <= 511 (host-checked), so the sum stays below 2^28.
    int32_t sum = 0;
    for (int32_t i = 0; i < depth; ++i)
      sum += tflite_fp::rounding_divide_by_pot(exp_table[max - input[i]], kAccumulationIntegerBits);
    int32_t bits_over_unit = 0;
    const int32_t scale = tflite_fp::reciprocal(sum, kAccumulationIntegerBits, &bits_over_unit);
    const int32_t exponent = bits_over_unit + 31 - 8;  // to the int8 output's 1/256 steps
    for (int32_t i = 0; i < depth; ++i) {
      const int32_t p = tflite_fp::rounding_divide_by_pot(tflite_fp::srdhm(scale, exp_table[max - input[i]]), exponent);
      output[i] = static_cast<int8_t>(clamp_i32(p - 128, -128, 127));
    }
  }
}

}  // namespace rt
}  // namespace tinyq
