// tinyq runtime: concatenation along one axis, each input copied or requantized into the
// output's quantization: the portable path, and the public kernel, which picks the native
// path at compile time (kernel_paths.hpp).
#include <string.h>

#include "kernel_paths.hpp"
#include "kernel_util.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {

void concat_s8_portable(const ConcatParams& p, const int8_t* const* inputs, int8_t* output) {
  for (int32_t r = 0; r < p.outer; ++r) {
    for (int32_t i = 0; i < p.inputs; ++i) {
      const int32_t row = p.input_row[i];
      const int8_t* in = inputs[i] + r * row;
      if (p.multiplier[i] == 0) {
        memcpy(output, in, static_cast<size_t>(row));  // same quantization: the bytes already mean the same
      } else {
        for (int32_t j = 0; j < row; ++j) {
          const int32_t v = requantize(in[j] + p.input_offset[i], p.multiplier[i], p.shift[i]);
          output[j] = detail::offset_and_clamp(v, p.output_offset, -128, 127);
        }
      }
      output += row;
    }
  }
}

void concat_s8(const ConcatParams& p, const int8_t* const* inputs, int8_t* output) {
#if defined(TINYQ_PATH_ARM_MVE)
  concat_s8_mve(p, inputs, output);
#elif defined(TINYQ_PATH_ARM_DSP)
  concat_s8_dsp(p, inputs, output);
#else
  concat_s8_portable(p, inputs, output);
#endif
}

}  // namespace rt
}  // namespace tinyq
