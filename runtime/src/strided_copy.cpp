// tinyq runtime: strided copy (Slice, Gather with constant indices, Transpose). One path on
// every target; runs along a contiguous last axis use byte_copy.hpp (Helium where present).
#include "byte_copy.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {

void strided_copy_s8(const StridedCopyParams& p, const int8_t* input, int8_t* output) {
  const int32_t last = p.rank - 1;
  const int32_t run = p.shape[last];
  int32_t rows = 1;
  for (int32_t d = 0; d < last; ++d) rows *= p.shape[d];
  // Odometer over the outer axes and the input position of each axis' current index, so a
  // row's start is one sum instead of a multiplication per axis.
  int32_t count[kMaxCopyRank] = {0};
  int32_t at[kMaxCopyRank] = {0};
  for (int32_t d = 0; d < last; ++d) at[d] = d == p.index_axis ? p.index[0] : 0;
  for (int32_t r = 0; r < rows; ++r) {
    int32_t base = p.offset;
    for (int32_t d = 0; d < last; ++d) base += at[d];
    const int8_t* src = input + base;
    if (last == p.index_axis) {
      for (int32_t i = 0; i < run; ++i) output[i] = src[p.index[i]];
    } else if (p.stride[last] == 1) {
      detail::copy_bytes(output, src, run);
    } else {
      const int32_t step = p.stride[last];
      for (int32_t i = 0; i < run; ++i) output[i] = src[i * step];
    }
    output += run;
    for (int32_t d = last - 1; d >= 0; --d) {
      if (++count[d] < p.shape[d]) {
        at[d] = d == p.index_axis ? p.index[count[d]] : at[d] + p.stride[d];
        break;
      }
      count[d] = 0;
      at[d] = d == p.index_axis ? p.index[0] : 0;
    }
  }
}

}  // namespace rt
}  // namespace tinyq
