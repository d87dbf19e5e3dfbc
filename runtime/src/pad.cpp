// tinyq runtime: constant padding of the H and W axes of an NHWC tensor.
#include <string.h>

#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {

void pad_s8(const PadParams& p, const int8_t* input, int8_t* output) {
  const int32_t out_w = p.pad_left + p.in_w + p.pad_right;
  const size_t out_row = static_cast<size_t>(out_w) * static_cast<size_t>(p.channels);
  const size_t left = static_cast<size_t>(p.pad_left) * static_cast<size_t>(p.channels);
  const size_t right = static_cast<size_t>(p.pad_right) * static_cast<size_t>(p.channels);
  const size_t in_row = static_cast<size_t>(p.in_w) * static_cast<size_t>(p.channels);
  for (int32_t b = 0; b < p.batch; ++b) {
    for (int32_t y = 0; y < p.pad_top; ++y, output += out_row) memset(output, p.value, out_row);
    for (int32_t y = 0; y < p.in_h; ++y) {
      memset(output, p.value, left);
      output += left;
      memcpy(output, input, in_row);
      output += in_row;
      input += in_row;
      memset(output, p.value, right);
      output += right;
    }
    for (int32_t y = 0; y < p.pad_bottom; ++y, output += out_row) memset(output, p.value, out_row);
  }
}

}  // namespace rt
}  // namespace tinyq
