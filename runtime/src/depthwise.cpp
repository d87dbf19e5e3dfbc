// tinyq runtime: depthwise 2-D convolution with a channel multiplier, NHWC, int8.
#include "kernel_paths.hpp"
#include "kernel_util.hpp"

namespace tinyq {
namespace rt {

namespace {

// The rounding as a template argument: one loop per rounding, no test per output; out of line,
// so that each compiles alone (tinyq's as it did before TFLite's existed).
template <int32_t Rounding>
__attribute__((noinline)) void depthwise_loop(const ConvParams& p, const int8_t* input, const int8_t* weights,
                                              const int32_t* bias, int8_t* output) {
  const int32_t multiplier = p.out_c / p.in_c;
  for (int32_t b = 0; b < p.batch; ++b) {
    const int8_t* image = input + b * p.in_h * p.in_w * p.in_c;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      const detail::TapRange ky = detail::valid_taps(y0, p.kernel_h, p.dilation_h, p.in_h);
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t x0 = ox * p.stride_w - p.pad_left;
        const detail::TapRange kx = detail::valid_taps(x0, p.kernel_w, p.dilation_w, p.in_w);
        // Output channel o = c * multiplier + m reads input channel c (TFLite / CMSIS-NN layout),
        // so walking o in order writes the output contiguously.
        for (int32_t o = 0; o < p.out_c; ++o) {
          const int32_t c = o / multiplier;
          int32_t acc = bias != nullptr ? bias[o] : 0;
          for (int32_t ty = ky.first; ty < ky.last; ++ty) {
            const int32_t iy = y0 + ty * p.dilation_h;
            for (int32_t tx = kx.first; tx < kx.last; ++tx) {
              const int32_t ix = x0 + tx * p.dilation_w;
              const int32_t in = image[(iy * p.in_w + ix) * p.in_c + c];
              acc += (in + p.input_offset) * weights[(ty * p.kernel_w + tx) * p.out_c + o];
            }
          }
          *output++ = detail::offset_and_clamp(requantize_channel_as<Rounding>(acc, p.requant, o), p.output_offset,
                                               p.act_min, p.act_max);
        }
      }
    }
  }
}

}  // namespace

void depthwise_conv2d_s8_portable(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                                  int8_t* output) {
  if (p.requant.rounding == kRoundTflite) return depthwise_loop<kRoundTflite>(p, input, weights, bias, output);
  depthwise_loop<kRoundSingle>(p, input, weights, bias, output);
}

}  // namespace rt
}  // namespace tinyq
