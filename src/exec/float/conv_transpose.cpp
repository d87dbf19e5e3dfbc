// conv_transpose2d in the scatter formulation: every input pixel adds weight[c, ky, kx, :] * in
// to output pixel (iy*stride - pad + ky*dilation, ...); taps that land outside the output are
// dropped, which is how pads and output_padding crop. The output is zeroed first, bias and
// activation come last. The innermost loop runs over a group's contiguous output channels.
#include <algorithm>
#include <cassert>

#include "exec/float/kernel_common.hpp"

namespace tinyq::fk {

void conv_transpose2d(const ConvTranspose2dShape& s, const float* in, const float* weight, const float* bias,
                      float* out, Activation act) {
  assert(s.groups > 0 && s.in_c % s.groups == 0 && s.out_c % s.groups == 0);
  const int cin_g = s.in_c / s.groups;
  const int cout_g = s.out_c / s.groups;
  const std::size_t out_pixels = static_cast<std::size_t>(s.batch) * s.out_h * s.out_w;
  std::fill_n(out, out_pixels * s.out_c, 0.0f);
  const std::size_t weight_c = static_cast<std::size_t>(s.kernel_h) * s.kernel_w * cout_g;  // one input channel
  for (int b = 0; b < s.batch; ++b) {
    for (int iy = 0; iy < s.in_h; ++iy) {
      for (int ix = 0; ix < s.in_w; ++ix) {
        const float* src = in + ((static_cast<std::size_t>(b) * s.in_h + iy) * s.in_w + ix) * s.in_c;
        for (int ky = 0; ky < s.kernel_h; ++ky) {
          const int oy = iy * s.stride_h - s.pad_top + ky * s.dilation_h;
          if (oy < 0 || oy >= s.out_h) continue;
          for (int kx = 0; kx < s.kernel_w; ++kx) {
            const int ox = ix * s.stride_w - s.pad_left + kx * s.dilation_w;
            if (ox < 0 || ox >= s.out_w) continue;
            float* dst = out + ((static_cast<std::size_t>(b) * s.out_h + oy) * s.out_w + ox) * s.out_c;
            const std::size_t tap = static_cast<std::size_t>(ky * s.kernel_w + kx) * cout_g;
            for (int g = 0; g < s.groups; ++g) {
              float* __restrict d = dst + g * cout_g;
              for (int ci = 0; ci < cin_g; ++ci) {
                const int c = g * cin_g + ci;
                const float v = src[c];
                const float* __restrict w = weight + c * weight_c + tap;
                for (int j = 0; j < cout_g; ++j) d[j] += v * w[j];
              }
            }
          }
        }
      }
    }
  }
  detail::add_bias_and_activate(out_pixels, s.out_c, bias, out, act);
}

}  // namespace tinyq::fk
