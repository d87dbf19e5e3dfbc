// tinyq runtime: depthwise 2-D convolution with a channel multiplier, NHWC, int8.
#include "kernel_paths.hpp"
#include "kernel_util.hpp"
#include "portable_loops.hpp"

namespace tinyq {
namespace rt {

namespace {

// The rounding as a template argument: one loop per rounding, no test per output; out of line,
// so that each compiles alone (tinyq's as it did before TFLite's existed).
template <int32_t Rounding>
__attribute__((noinline)) void depthwise_loop(const ConvParams& p, const int8_t* input, const int8_t* weights,
                                              const int32_t* bias, int8_t* output) {
  detail::depthwise_window_loop<int32_t>(p, input, weights, bias, output, [&p](int32_t acc, int32_t o) {
    return detail::offset_and_clamp(requantize_channel_as<Rounding>(acc, p.requant, o), p.output_offset, p.act_min,
                                    p.act_max);
  });
}

}  // namespace

void depthwise_conv2d_s8_portable(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                                  int8_t* output) {
  if (p.requant.rounding == kRoundTflite) return depthwise_loop<kRoundTflite>(p, input, weights, bias, output);
  depthwise_loop<kRoundSingle>(p, input, weights, bias, output);
}

}  // namespace rt
}  // namespace tinyq
