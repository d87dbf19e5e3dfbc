// tinyq runtime: nearest-neighbour resize, NHWC, with host-computed source indices (so any
// ONNX coordinate_transformation_mode / nearest_mode is the host's business).
#include <string.h>

#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {

void resize_nearest_s8(const ResizeParams& p, const int8_t* input, int8_t* output) {
  const size_t pixel = static_cast<size_t>(p.channels);
  for (int32_t b = 0; b < p.batch; ++b) {
    const int8_t* image = input + b * p.in_h * p.in_w * p.channels;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int8_t* row = image + p.source_y[oy] * p.in_w * p.channels;
      for (int32_t ox = 0; ox < p.out_w; ++ox, output += pixel) {
        memcpy(output, row + p.source_x[ox] * p.channels, pixel);
      }
    }
  }
}

}  // namespace rt
}  // namespace tinyq
