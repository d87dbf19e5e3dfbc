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

// Max pooling over real taps only (padding never wins), clamped to [act_min, act_max], for
// int8 (max_pool2d_s8's portable path) and int16 (max_pool2d_s16) elements.
template <typename T>
void max_pool_portable(const PoolParams& p, const T* input, T* output) {
  for (int32_t b = 0; b < p.batch; ++b) {
    const T* image = input + b * p.in_h * p.in_w * p.channels;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      const TapRange ky = valid_taps(y0, p.kernel_h, 1, p.in_h);
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t x0 = ox * p.stride_w - p.pad_left;
        const TapRange kx = valid_taps(x0, p.kernel_w, 1, p.in_w);
        for (int32_t c = 0; c < p.channels; ++c) {
          int32_t best = lowest_of<T>();
          for (int32_t iy = y0 + ky.first; iy < y0 + ky.last; ++iy) {
            for (int32_t ix = x0 + kx.first; ix < x0 + kx.last; ++ix) {
              const int32_t v = image[(iy * p.in_w + ix) * p.channels + c];
              best = v > best ? v : best;
            }
          }
          *output++ = static_cast<T>(clamp_i32(best, p.act_min, p.act_max));
        }
      }
    }
  }
}

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
// tinyq's rescale themselves where high_mul_requant allows; the DSP path calls this for the
// rest; avg_pool2d_s8 hands TFLite's rounded division (ties away from zero) on Helium to the
// portable path.
inline int32_t window_average(const AvgPoolParams& ap, int32_t sum, int32_t n) {
  if (ap.rounding == kRoundTflite) {
    // TFLite's MEAN: its multiplier holds 1 / n already (AvgPoolParams).
    if (ap.count_multiplier != nullptr) return requantize_tflite(sum, ap.count_multiplier[0], ap.count_shift[0]);
    return sum > 0 ? (sum + n / 2) / n : (sum - n / 2) / n;
  }
  return ap.truncate != 0 ? sum / n : requantize(sum, ap.count_multiplier[n], ap.count_shift[n]);
}

// Average pooling over real taps (padded taps are real zeros, (q - z_in) = 0: they add nothing
// to the sum either way; the divisor counts them with count_include_pad), then the output
// offset and the clamp, for int8 (avg_pool2d_s8's portable path) and int16 (avg_pool2d_s16)
// elements. Rounded division by n folded into the rescale (docs/DESIGN.md: small values must
// not vanish); truncation only for the NNoM baseline, which does exactly that; TFLite's rounded
// division for the models it quantized (window_average).
template <typename T>
void avg_pool_portable(const AvgPoolParams& ap, const T* input, T* output) {
  const PoolParams& p = ap.pool;
  for (int32_t b = 0; b < p.batch; ++b) {
    const T* image = input + b * p.in_h * p.in_w * p.channels;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      const TapRange ky = valid_taps(y0, p.kernel_h, 1, p.in_h);
      const int32_t rows = counted_taps(y0, p.kernel_h, p.in_h, p.pad_top, p.pad_bottom, ap.count_include_pad);
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t x0 = ox * p.stride_w - p.pad_left;
        const TapRange kx = valid_taps(x0, p.kernel_w, 1, p.in_w);
        const int32_t n = rows * counted_taps(x0, p.kernel_w, p.in_w, p.pad_left, p.pad_right, ap.count_include_pad);
        for (int32_t c = 0; c < p.channels; ++c) {
          int32_t sum = 0;
          for (int32_t iy = y0 + ky.first; iy < y0 + ky.last; ++iy) {
            for (int32_t ix = x0 + kx.first; ix < x0 + kx.last; ++ix) {
              sum += image[(iy * p.in_w + ix) * p.channels + c] + ap.input_offset;
            }
          }
          const int32_t v = n > 0 ? window_average(ap, sum, n) : 0;
          *output++ = offset_and_clamp<T>(v, ap.output_offset, p.act_min, p.act_max);
        }
      }
    }
  }
}

}  // namespace detail
}  // namespace rt
}  // namespace tinyq

#endif
