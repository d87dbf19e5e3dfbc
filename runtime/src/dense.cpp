// tinyq runtime: fully connected layer (rows of input vectors times a weight matrix), int8.
#include "kernel_paths.hpp"
#include "kernel_util.hpp"

namespace tinyq {
namespace rt {

namespace {

// The rounding as a template argument: one loop per rounding, no test per output; out of line,
// so that each compiles alone (tinyq's as it did before TFLite's existed).
template <int32_t Rounding>
__attribute__((noinline)) void dense_loop(const DenseParams& p, const int8_t* input, const int8_t* weights,
                                          const int32_t* bias, int8_t* output) {
  for (int32_t r = 0; r < p.rows; ++r) {
    const int8_t* in = input + r * p.in_features;
    for (int32_t o = 0; o < p.out_features; ++o) {
      const int8_t* w = weights + o * p.in_features;
      int32_t acc = bias != nullptr ? bias[o] : 0;
      for (int32_t i = 0; i < p.in_features; ++i) acc += (in[i] + p.input_offset) * w[i];
      *output++ = detail::offset_and_clamp(requantize_channel_as<Rounding>(acc, p.requant, o), p.output_offset,
                                           p.act_min, p.act_max);
    }
  }
}

}  // namespace

void dense_s8_portable(const DenseParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                       int8_t* output) {
  if (p.requant.rounding == kRoundTflite) return dense_loop<kRoundTflite>(p, input, weights, bias, output);
  dense_loop<kRoundSingle>(p, input, weights, bias, output);
}

void dense_s8(const DenseParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias, int8_t* output) {
#if defined(TINYQ_PATH_ARM_DSP)
  dense_s8_dsp(p, input, weights, bias, output);
#elif defined(TINYQ_PATH_ARM_MVE)
  dense_s8_mve(p, input, weights, bias, output);
#else
  dense_s8_portable(p, input, weights, bias, output);
#endif
}

}  // namespace rt
}  // namespace tinyq
