// tinyq runtime, internal: the portable depthwise and dense loops, for int8 or int16
// activations and an int32 or int64 accumulator. The int8 kernels (depthwise.cpp, dense.cpp)
// and the 16x8 ones (wide.cpp) run the same loops and pass their own requantization:
// `finish(acc, channel)` returns the output element. Not part of the API.
#ifndef TINYQ_RUNTIME_PORTABLE_LOOPS_HPP
#define TINYQ_RUNTIME_PORTABLE_LOOPS_HPP

#include <stdint.h>

#include "kernel_util.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {
namespace detail {

// Depthwise with a channel multiplier: acc = bias[o] + sum over valid taps of
// (in + input_offset) * w. Each product fits int32 (|in + offset| <= 2^15, |w| <= 128).
template <typename Acc, typename In, typename Out, typename Finish>
inline void depthwise_window_loop(const ConvParams& p, const In* input, const int8_t* weights, const int32_t* bias,
                                  Out* output, Finish finish) {
  const int32_t multiplier = p.out_c / p.in_c;
  for (int32_t b = 0; b < p.batch; ++b) {
    const In* image = input + b * p.in_h * p.in_w * p.in_c;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      const TapRange ky = valid_taps(y0, p.kernel_h, p.dilation_h, p.in_h);
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t x0 = ox * p.stride_w - p.pad_left;
        const TapRange kx = valid_taps(x0, p.kernel_w, p.dilation_w, p.in_w);
        // Output channel o = c * multiplier + m reads input channel c (TFLite / CMSIS-NN layout),
        // so walking o in order writes the output contiguously.
        for (int32_t o = 0; o < p.out_c; ++o) {
          const int32_t c = o / multiplier;
          Acc acc = bias != nullptr ? bias[o] : 0;
          for (int32_t ty = ky.first; ty < ky.last; ++ty) {
            const int32_t iy = y0 + ty * p.dilation_h;
            for (int32_t tx = kx.first; tx < kx.last; ++tx) {
              const int32_t ix = x0 + tx * p.dilation_w;
              const int32_t in = image[(iy * p.in_w + ix) * p.in_c + c];
              acc += (in + p.input_offset) * weights[(ty * p.kernel_w + tx) * p.out_c + o];
            }
          }
          *output++ = finish(acc, o);
        }
      }
    }
  }
}

// Dense: acc = bias[o] + sum of (in + input_offset) * w, per row and output feature.
template <typename Acc, typename In, typename Out, typename Finish>
inline void dense_rows_loop(const DenseParams& p, const In* input, const int8_t* weights, const int32_t* bias,
                            Out* output, Finish finish) {
  for (int32_t r = 0; r < p.rows; ++r) {
    const In* in = input + r * p.in_features;
    for (int32_t o = 0; o < p.out_features; ++o) {
      const int8_t* w = weights + o * p.in_features;
      Acc acc = bias != nullptr ? bias[o] : 0;
      for (int32_t i = 0; i < p.in_features; ++i) acc += (static_cast<int32_t>(in[i]) + p.input_offset) * w[i];
      *output++ = finish(acc, o);
    }
  }
}

}  // namespace detail
}  // namespace rt
}  // namespace tinyq

#endif
