// tinyq runtime: general 2-D convolution (groups, stride, dilation, padding), NHWC, int8.
#include "kernel_util.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {

void conv2d_s8(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias, int8_t* output) {
  const int32_t group_in_c = p.in_c / p.groups;
  const int32_t group_out_c = p.out_c / p.groups;
  const int32_t filter_size = p.kernel_h * p.kernel_w * group_in_c;
  for (int32_t b = 0; b < p.batch; ++b) {
    const int8_t* image = input + b * p.in_h * p.in_w * p.in_c;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      const detail::TapRange ky = detail::valid_taps(y0, p.kernel_h, p.dilation_h, p.in_h);
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t x0 = ox * p.stride_w - p.pad_left;
        const detail::TapRange kx = detail::valid_taps(x0, p.kernel_w, p.dilation_w, p.in_w);
        for (int32_t oc = 0; oc < p.out_c; ++oc) {
          const int32_t group_first_c = (oc / group_out_c) * group_in_c;
          const int8_t* filter = weights + oc * filter_size;
          // Padded taps are real 0, so they add nothing: only the valid taps are visited.
          int32_t acc = bias != nullptr ? bias[oc] : 0;
          for (int32_t ty = ky.first; ty < ky.last; ++ty) {
            const int32_t iy = y0 + ty * p.dilation_h;
            for (int32_t tx = kx.first; tx < kx.last; ++tx) {
              const int32_t ix = x0 + tx * p.dilation_w;
              const int8_t* in = image + (iy * p.in_w + ix) * p.in_c + group_first_c;
              const int8_t* w = filter + (ty * p.kernel_w + tx) * group_in_c;
              for (int32_t ic = 0; ic < group_in_c; ++ic) acc += (in[ic] + p.input_offset) * w[ic];
            }
          }
          *output++ =
              detail::offset_and_clamp(requantize_channel(acc, p.requant, oc), p.output_offset, p.act_min, p.act_max);
        }
      }
    }
  }
}

}  // namespace rt
}  // namespace tinyq
