// tinyq runtime: bilinear resize, NHWC, with host-computed source rows, columns and Q10
// weights (so the ONNX coordinate mode is the host's business). One portable path: four
// multiply-adds per output byte, a small share of a segmentation decoder's convolutions.
#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {

void resize_bilinear_s8(const ResizeBilinearParams& p, const int8_t* input, int8_t* output) {
  const int32_t c = p.channels;
  for (int32_t b = 0; b < p.batch; ++b) {
    const int8_t* image = input + b * p.in_h * p.in_w * c;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = p.y_index[2 * oy], y1 = p.y_index[2 * oy + 1];
      const int32_t wy0 = p.y_weight[2 * oy], wy1 = p.y_weight[2 * oy + 1];
      for (int32_t ox = 0; ox < p.out_w; ++ox, output += c) {
        const int32_t x0 = p.x_index[2 * ox], x1 = p.x_index[2 * ox + 1];
        if (y0 < 0 || x0 < 0) {
          for (int32_t ch = 0; ch < c; ++ch) output[ch] = p.extrapolation;
          continue;
        }
        const int32_t wx0 = p.x_weight[2 * ox], wx1 = p.x_weight[2 * ox + 1];
        const int32_t w00 = wy0 * wx0, w01 = wy0 * wx1, w10 = wy1 * wx0, w11 = wy1 * wx1;
        const int8_t* a = image + (y0 * p.in_w + x0) * c;
        const int8_t* bb = image + (y0 * p.in_w + x1) * c;
        const int8_t* cc = image + (y1 * p.in_w + x0) * c;
        const int8_t* d = image + (y1 * p.in_w + x1) * c;
        for (int32_t ch = 0; ch < c; ++ch) {
          const int32_t acc = w00 * a[ch] + w01 * bb[ch] + w10 * cc[ch] + w11 * d[ch];
          int32_t v = (acc + (int32_t(1) << 19)) >> 20;  // arithmetic shift: round half up
          v = v < -128 ? -128 : (v > 127 ? 127 : v);
          output[ch] = int8_t(v);
        }
      }
    }
  }
}

}  // namespace rt
}  // namespace tinyq
