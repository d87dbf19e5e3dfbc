// Pooling, NHWC: for each output pixel the valid taps are visited and the innermost loop runs
// over contiguous channels. Semantics follow ONNX MaxPool / AveragePool (see float_kernels.hpp).
#include <algorithm>
#include <limits>

#include "exec/float/kernel_common.hpp"
#include "exec/float/simd.hpp"

namespace tinyq::fk {
namespace {

constexpr float kMinusInfinity = -std::numeric_limits<float>::infinity();

// max that lets a NaN through instead of silently dropping it.
inline float max_keep_nan(float acc, float v) { return (v > acc || v != v) ? v : acc; }
inline simd::Vec max_keep_nan(simd::Vec acc, simd::Vec v) { return ((v > acc) | (v != v)) ? v : acc; }

float* out_pixel(const Pool2dShape& s, float* out, int b, int oh, int ow) {
  return out + ((static_cast<std::size_t>(b) * s.out_h + oh) * s.out_w + ow) * s.channels;
}

const float* in_pixel(const Pool2dShape& s, const float* in, int b, int ih, int iw) {
  return in + ((static_cast<std::size_t>(b) * s.in_h + ih) * s.in_w + iw) * s.channels;
}

// Taps k in [0, kernel) with lo <= start + k*dilation < hi.
int count_taps(int start, int kernel, int dilation, int lo, int hi) {
  int n = 0;
  for (int k = 0; k < kernel; ++k) {
    const int i = start + k * dilation;
    n += (i >= lo && i < hi) ? 1 : 0;
  }
  return n;
}

}  // namespace

void max_pool2d(const Pool2dShape& s, const float* in, float* out, Activation act) {
  const int channels = s.channels;
  const simd::Vec lo = simd::broadcast(act.min), hi = simd::broadcast(act.max);
  for (int b = 0; b < s.batch; ++b) {
    for (int oh = 0; oh < s.out_h; ++oh) {
      const int ih0 = oh * s.stride_h - s.pad_top;
      for (int ow = 0; ow < s.out_w; ++ow) {
        const int iw0 = ow * s.stride_w - s.pad_left;
        float* __restrict dst = out_pixel(s, out, b, oh, ow);
        auto for_each_tap = [&](auto f) {
          for (int ky = 0; ky < s.kernel_h; ++ky) {
            const int ih = ih0 + ky * s.dilation_h;
            if (ih < 0 || ih >= s.in_h) continue;
            for (int kx = 0; kx < s.kernel_w; ++kx) {
              const int iw = iw0 + kx * s.dilation_w;
              if (iw >= 0 && iw < s.in_w) f(in_pixel(s, in, b, ih, iw));
            }
          }
        };
        // 8 channels at a time in a register (GCC does not vectorise the NaN-keeping max).
        int c0 = 0;
        for (; c0 + simd::kLanes <= channels; c0 += simd::kLanes) {
          simd::Vec acc = simd::broadcast(kMinusInfinity);
          for_each_tap([&](const float* src) { acc = max_keep_nan(acc, simd::load(src + c0)); });
          simd::store(dst + c0, simd::clamp(acc, lo, hi));
        }
        if (c0 == channels) continue;
        std::fill(dst + c0, dst + channels, kMinusInfinity);
        for_each_tap([&](const float* src) {
          for (int c = c0; c < channels; ++c) dst[c] = max_keep_nan(dst[c], src[c]);
        });
        for (int c = c0; c < channels; ++c) dst[c] = detail::clamp(dst[c], act);
      }
    }
  }
}

void avg_pool2d(const Pool2dShape& s, const float* in, float* out, bool count_include_pad, Activation act) {
  const int channels = s.channels;
  const simd::Vec lo = simd::broadcast(act.min), hi = simd::broadcast(act.max);
  for (int b = 0; b < s.batch; ++b) {
    for (int oh = 0; oh < s.out_h; ++oh) {
      const int ih0 = oh * s.stride_h - s.pad_top;
      const int rows = count_include_pad ? count_taps(ih0, s.kernel_h, s.dilation_h, -s.pad_top, s.in_h + s.pad_bottom)
                                         : count_taps(ih0, s.kernel_h, s.dilation_h, 0, s.in_h);
      for (int ow = 0; ow < s.out_w; ++ow) {
        const int iw0 = ow * s.stride_w - s.pad_left;
        const int cols = count_include_pad
                             ? count_taps(iw0, s.kernel_w, s.dilation_w, -s.pad_left, s.in_w + s.pad_right)
                             : count_taps(iw0, s.kernel_w, s.dilation_w, 0, s.in_w);
        float* __restrict dst = out_pixel(s, out, b, oh, ow);
        auto for_each_tap = [&](auto f) {
          for (int ky = 0; ky < s.kernel_h; ++ky) {
            const int ih = ih0 + ky * s.dilation_h;
            if (ih < 0 || ih >= s.in_h) continue;
            for (int kx = 0; kx < s.kernel_w; ++kx) {
              const int iw = iw0 + kx * s.dilation_w;
              if (iw >= 0 && iw < s.in_w) f(in_pixel(s, in, b, ih, iw));
            }
          }
        };
        // A window with nothing to average (only possible without count_include_pad, entirely
        // in padding) yields 0 rather than 0/0.
        const float divisor = static_cast<float>(std::max(rows * cols, 1));
        int c0 = 0;  // 8 channels at a time in a register, then the rest
        for (; c0 + simd::kLanes <= channels; c0 += simd::kLanes) {
          simd::Vec acc = {};
          for_each_tap([&](const float* src) { acc += simd::load(src + c0); });
          simd::store(dst + c0, simd::clamp(acc / divisor, lo, hi));
        }
        if (c0 == channels) continue;
        std::fill(dst + c0, dst + channels, 0.0f);
        for_each_tap([&](const float* src) {
          for (int c = c0; c < channels; ++c) dst[c] += src[c];
        });
        for (int c = c0; c < channels; ++c) dst[c] = detail::clamp(dst[c] / divisor, act);
      }
    }
  }
}

void global_avg_pool(int batch, int h, int w, int c, const float* in, float* out) {
  // Accumulate in double, a bounded block of channels at a time: the spatial sums can be long.
  constexpr int kBlock = 64;
  const std::size_t pixels = static_cast<std::size_t>(h) * w;
  for (int b = 0; b < batch; ++b) {
    const float* in_b = in + b * pixels * c;
    for (int c0 = 0; c0 < c; c0 += kBlock) {
      const int n = std::min(kBlock, c - c0);
      double acc[kBlock] = {};
      for (std::size_t p = 0; p < pixels; ++p) {
        const float* src = in_b + p * c + c0;
        for (int i = 0; i < n; ++i) acc[i] += src[i];
      }
      for (int i = 0; i < n; ++i) out[static_cast<std::size_t>(b) * c + c0 + i] = static_cast<float>(acc[i] / pixels);
    }
  }
}

void global_max_pool(int batch, int h, int w, int c, const float* in, float* out) {
  const std::size_t pixels = static_cast<std::size_t>(h) * w;
  for (int b = 0; b < batch; ++b) {
    const float* in_b = in + b * pixels * c;
    float* __restrict dst = out + static_cast<std::size_t>(b) * c;
    std::fill_n(dst, c, kMinusInfinity);
    for (std::size_t p = 0; p < pixels; ++p) {
      const float* __restrict src = in_b + p * c;
      for (int i = 0; i < c; ++i) dst[i] = max_keep_nan(dst[i], src[i]);
    }
  }
}

}  // namespace tinyq::fk
