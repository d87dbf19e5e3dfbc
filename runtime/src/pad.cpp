// tinyq runtime: constant padding of the H and W axes of an NHWC tensor. One path on every
// target; its byte copies and fills use Helium where present (byte_copy.hpp).
#include "byte_copy.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {

void pad_s8(const PadParams& p, const int8_t* input, int8_t* output) {
  const int32_t out_row = (p.pad_left + p.in_w + p.pad_right) * p.channels;
  const int32_t left = p.pad_left * p.channels;
  const int32_t right = p.pad_right * p.channels;
  const int32_t in_row = p.in_w * p.channels;
  for (int32_t b = 0; b < p.batch; ++b) {
    for (int32_t y = 0; y < p.pad_top; ++y, output += out_row) detail::fill_bytes(output, p.value, out_row);
    for (int32_t y = 0; y < p.in_h; ++y) {
      detail::fill_bytes(output, p.value, left);
      output += left;
      detail::copy_bytes(output, input, in_row);
      output += in_row;
      input += in_row;
      detail::fill_bytes(output, p.value, right);
      output += right;
    }
    for (int32_t y = 0; y < p.pad_bottom; ++y, output += out_row) detail::fill_bytes(output, p.value, out_row);
  }
}

}  // namespace rt
}  // namespace tinyq
