// tinyq runtime, internal: the window of one pooling output pixel, shared by the portable,
// DSP and Helium pooling paths. Not part of the API.
#ifndef TINYQ_RUNTIME_POOL_WINDOW_HPP
#define TINYQ_RUNTIME_POOL_WINDOW_HPP

#include <stdint.h>

#include "kernel_util.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {
namespace detail {

// The taps of one pooling output pixel: `rows` x `cols` real taps starting at `first`.
struct Window {
  const int8_t* first;
  int32_t rows, cols;
  int32_t row_step;  // bytes from one tap row to the next
};

inline Window window_at(const PoolParams& p, const int8_t* image, int32_t y0, const TapRange& ky, int32_t x0,
                        const TapRange& kx) {
  Window w{image, ky.last - ky.first, kx.last - kx.first, p.in_w * p.channels};
  // An empty window reads nothing: keep `first` inside the image.
  if (w.rows > 0 && w.cols > 0) w.first = image + ((y0 + ky.first) * p.in_w + x0 + kx.first) * p.channels;
  return w;
}

// Divisor rows (or columns) of one window axis, as ONNX AveragePool counts them: with
// count_include_pad the declared padding counts but the ceil_mode overhang past it does not.
inline int32_t counted_taps(int32_t start, int32_t kernel, int32_t size, int32_t pad_begin, int32_t pad_end,
                            int32_t include_pad) {
  const int32_t lo = include_pad != 0 ? max_i32(start, -pad_begin) : max_i32(start, 0);
  const int32_t hi = include_pad != 0 ? min_i32(start + kernel, size + pad_end) : min_i32(start + kernel, size);
  return hi > lo ? hi - lo : 0;
}

// The average of a window of n > 0 counted taps whose (q + input_offset) sum to `sum`, before
// the output offset and clamp: AvgPoolParams' three modes. The DSP and Helium paths compute
// the first two themselves; avg_pool2d_s8 hands TFLite's rounded division (ties away from
// zero) to the portable path.
inline int32_t window_average(const AvgPoolParams& ap, int32_t sum, int32_t n) {
  if (ap.rounding == kRoundTflite) {
    // TFLite's MEAN: its multiplier holds 1 / n already (AvgPoolParams).
    if (ap.count_multiplier != nullptr) return requantize_tflite(sum, ap.count_multiplier[0], ap.count_shift[0]);
    return sum > 0 ? (sum + n / 2) / n : (sum - n / 2) / n;
  }
  return ap.truncate != 0 ? sum / n : requantize(sum, ap.count_multiplier[n], ap.count_shift[n]);
}

}  // namespace detail
}  // namespace rt
}  // namespace tinyq

#endif
