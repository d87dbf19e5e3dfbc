// tinyq runtime: max and average pooling, NHWC, int8: the portable path and the public
// kernels, which pick the native path at compile time (kernel_paths.hpp).
#include "kernel_paths.hpp"
#include "kernel_util.hpp"
#include "pool_window.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {

void max_pool2d_s8_portable(const PoolParams& p, const int8_t* input, int8_t* output) {
  detail::max_pool_portable(p, input, output);
}

void avg_pool2d_s8_portable(const AvgPoolParams& ap, const int8_t* input, int8_t* output) {
  const PoolParams& p = ap.pool;
  for (int32_t b = 0; b < p.batch; ++b) {
    const int8_t* image = input + b * p.in_h * p.in_w * p.channels;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      const detail::TapRange ky = detail::valid_taps(y0, p.kernel_h, 1, p.in_h);
      const int32_t rows = detail::counted_taps(y0, p.kernel_h, p.in_h, p.pad_top, p.pad_bottom, ap.count_include_pad);
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t x0 = ox * p.stride_w - p.pad_left;
        const detail::TapRange kx = detail::valid_taps(x0, p.kernel_w, 1, p.in_w);
        const int32_t n =
            rows * detail::counted_taps(x0, p.kernel_w, p.in_w, p.pad_left, p.pad_right, ap.count_include_pad);
        for (int32_t c = 0; c < p.channels; ++c) {
          // Padded taps are real 0: (q - z_in) = 0, so they add nothing to the sum either way.
          int32_t sum = 0;
          for (int32_t iy = y0 + ky.first; iy < y0 + ky.last; ++iy) {
            for (int32_t ix = x0 + kx.first; ix < x0 + kx.last; ++ix) {
              sum += image[(iy * p.in_w + ix) * p.channels + c] + ap.input_offset;
            }
          }
          // Rounded division by n folded into the rescale (DESIGN: small values must not
          // vanish); truncation only for the NNoM baseline, which does exactly that; TFLite's
          // rounded division for the models it quantized.
          const int32_t v = n > 0 ? detail::window_average(ap, sum, n) : 0;
          *output++ = detail::offset_and_clamp(v, ap.output_offset, p.act_min, p.act_max);
        }
      }
    }
  }
}

void max_pool2d_s8(const PoolParams& p, const int8_t* input, int8_t* output) {
#if defined(TINYQ_PATH_ARM_MVE)
  max_pool2d_s8_mve(p, input, output);
#elif defined(TINYQ_PATH_ARM_DSP)
  max_pool2d_s8_dsp(p, input, output);
#else
  max_pool2d_s8_portable(p, input, output);
#endif
}

void avg_pool2d_s8(const AvgPoolParams& p, const int8_t* input, int8_t* output) {
  // TFLite's rounded division (pre-quantized models, usually one global pool): the native
  // paths' vector sums with the portable division per channel.
#if defined(TINYQ_PATH_ARM_MVE)
  avg_pool2d_s8_mve(p, input, output);
#elif defined(TINYQ_PATH_ARM_DSP)
  avg_pool2d_s8_dsp(p, input, output);
#else
  avg_pool2d_s8_portable(p, input, output);
#endif
}

}  // namespace rt
}  // namespace tinyq
