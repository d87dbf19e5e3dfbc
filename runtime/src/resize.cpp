// tinyq runtime: nearest-neighbour resize, NHWC, with host-computed source indices (so any
// ONNX coordinate_transformation_mode / nearest_mode is the host's business). One path on
// every target; its byte copies use Helium where present (byte_copy.hpp).
#include "byte_copy.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {

void resize_nearest_s8(const ResizeParams& p, const int8_t* input, int8_t* output) {
  const int32_t pixel = p.channels;
  for (int32_t b = 0; b < p.batch; ++b) {
    const int8_t* image = input + b * p.in_h * p.in_w * p.channels;
    const int32_t out_row = p.out_w * pixel;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      if (oy > 0 && p.source_y[oy] == p.source_y[oy - 1]) {
        // Same source row as the output row just written (every other row of a 2x upsample):
        // one long copy instead of out_w short ones.
        detail::copy_bytes(output, output - out_row, out_row);
        output += out_row;
        continue;
      }
      const int8_t* row = image + p.source_y[oy] * p.in_w * p.channels;
      for (int32_t ox = 0; ox < p.out_w; ++ox, output += pixel) {
        detail::copy_bytes(output, row + p.source_x[ox] * p.channels, pixel);
      }
    }
  }
}

}  // namespace rt
}  // namespace tinyq
