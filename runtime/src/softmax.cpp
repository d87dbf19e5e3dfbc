// tinyq runtime: integer softmax over the last axis with a host-computed exponential table;
// output scale 1/256, zero point -128 (the TFLite int8 convention).
#include "kernel_paths.hpp"
#include "kernel_util.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {

void softmax_s8_portable(const int32_t* exp_table, int32_t rows, int32_t depth, const int8_t* input, int8_t* output) {
  for (int32_t r = 0; r < rows; ++r, input += depth, output += depth) {
    int32_t max = -128;
    for (int32_t i = 0; i < depth; ++i) max = input[i] > max ? input[i] : max;
    // Each term is at most 2^16 and depth <= 65535 (host-checked): the sum fits uint32.
    uint32_t sum = 0;
    for (int32_t i = 0; i < depth; ++i) sum += static_cast<uint32_t>(exp_table[max - input[i]]);
    // round(256 * e / sum), ties up; e * 256 + sum / 2 < 2^24 + 2^31 fits uint32, so this is
    // one 32-bit division per element (a single instruction on Cortex-M3 and up).
    const uint32_t half = sum / 2;
    for (int32_t i = 0; i < depth; ++i) {
      const uint32_t e = static_cast<uint32_t>(exp_table[max - input[i]]);
      const int32_t p256 = static_cast<int32_t>((e * 256u + half) / sum);  // in [0, 256]
      output[i] = static_cast<int8_t>(clamp_i32(p256 - 128, -128, 127));
    }
  }
}

// No Arm-specific path: a row costs a few instructions per element already (UDIV is one
// instruction from Cortex-M3 on), far below CMSIS-NN's softmax (bench/reference_layers: L10).
void softmax_s8(const int32_t* exp_table, int32_t rows, int32_t depth, const int8_t* input, int8_t* output) {
  softmax_s8_portable(exp_table, rows, depth, input, output);
}

}  // namespace rt
}  // namespace tinyq
