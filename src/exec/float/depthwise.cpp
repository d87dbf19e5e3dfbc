// Depthwise conv2d (groups == in_c > 1, out_c == in_c * multiplier) as a direct NHWC loop. The
// weights are transposed into scratch as [kernel_h*kernel_w, out_c] so that, for every output
// pixel and tap, the innermost loop runs over contiguous channels and vectorises. With
// multiplier 1, blocks of channels accumulate in registers across all taps of a pixel.
#include <algorithm>

#include "exec/float/kernel_common.hpp"
#include "exec/float/simd.hpp"

namespace tinyq::fk::detail {
namespace {

// Valid taps [begin, end) of a window starting at `start` with the given dilation over [0, size).
struct TapRange {
  int begin;
  int end;
};

TapRange valid_taps(int start, int kernel, int dilation, int size) {
  int begin = 0;
  while (begin < kernel && start + begin * dilation < 0) ++begin;
  int end = kernel;
  while (end > begin && start + (end - 1) * dilation >= size) --end;
  return {begin, end};
}

struct PixelWindow {
  const float* in;  // input pixel (0, 0) of the sample
  std::size_t in_row;
  int in_c;
  int ih0, iw0;
  TapRange ky, kx;
  int dilation_h, dilation_w, kernel_w;
};

// Channels [c0, c0 + kBlock) of one output pixel, multiplier 1.
template <int kBlock>
void accumulate_block(const PixelWindow& p, const float* wt, int out_c, int c0, const float* bias, float* dst,
                      Activation act) {
  float acc[kBlock];
  for (int i = 0; i < kBlock; ++i) acc[i] = bias != nullptr ? bias[c0 + i] : 0.0f;
  for (int ky = p.ky.begin; ky < p.ky.end; ++ky) {
    const float* src_row = p.in + (p.ih0 + ky * p.dilation_h) * p.in_row + c0;
    for (int kx = p.kx.begin; kx < p.kx.end; ++kx) {
      const float* src = src_row + static_cast<std::size_t>(p.iw0 + kx * p.dilation_w) * p.in_c;
      const float* w = wt + static_cast<std::size_t>(ky * p.kernel_w + kx) * out_c + c0;
      for (int i = 0; i < kBlock; ++i) acc[i] += src[i] * w[i];
    }
  }
  for (int i = 0; i < kBlock; ++i) dst[c0 + i] = clamp(acc[i], act);
}

// The same for NV * 8 channels held in vector registers (GCC kept the float arrays above in
// memory: 7-12 GFLOP/s on dwsep's layers).
template <int NV>
void accumulate_vectors(const PixelWindow& p, const float* wt, int out_c, int c0, const float* bias, float* dst,
                        Activation act) {
  using simd::kLanes;
  simd::Vec acc[NV];
  for (int v = 0; v < NV; ++v) acc[v] = bias != nullptr ? simd::load(bias + c0 + v * kLanes) : simd::Vec{};
  for (int ky = p.ky.begin; ky < p.ky.end; ++ky) {
    const float* src_row = p.in + (p.ih0 + ky * p.dilation_h) * p.in_row + c0;
    for (int kx = p.kx.begin; kx < p.kx.end; ++kx) {
      const float* src = src_row + static_cast<std::size_t>(p.iw0 + kx * p.dilation_w) * p.in_c;
      const float* w = wt + static_cast<std::size_t>(ky * p.kernel_w + kx) * out_c + c0;
      for (int v = 0; v < NV; ++v) acc[v] += simd::load(src + v * kLanes) * simd::load(w + v * kLanes);
    }
  }
  const simd::Vec lo = simd::broadcast(act.min), hi = simd::broadcast(act.max);
  for (int v = 0; v < NV; ++v) simd::store(dst + c0 + v * kLanes, simd::clamp(acc[v], lo, hi));
}

}  // namespace

bool is_depthwise(const Conv2dShape& s) {
  // A single input channel (groups == in_c == 1) is an ordinary conv: the direct kernel handles it.
  return s.in_c > 1 && s.groups == s.in_c && s.out_c % s.in_c == 0;
}

std::size_t depthwise_scratch_floats(const Conv2dShape& s) {
  return static_cast<std::size_t>(s.kernel_h) * s.kernel_w * s.out_c;
}

void depthwise_conv2d(const Conv2dShape& s, const float* in, const float* weight, const float* bias, float* out,
                      float* scratch, Activation act) {
  const int taps = s.kernel_h * s.kernel_w;
  const int out_c = s.out_c;
  const int multiplier = s.out_c / s.in_c;
  // weight [out_c, kernel_h, kernel_w, 1] -> scratch [kernel_h, kernel_w, out_c].
  for (int o = 0; o < out_c; ++o) {
    for (int t = 0; t < taps; ++t) scratch[static_cast<std::size_t>(t) * out_c + o] = weight[o * taps + t];
  }
  const float* wt = scratch;
  const std::size_t in_row = static_cast<std::size_t>(s.in_w) * s.in_c;
  const std::size_t in_sample = in_row * s.in_h;
  for (int b = 0; b < s.batch; ++b) {
    PixelWindow p{};
    p.in = in + b * in_sample;
    p.in_row = in_row;
    p.in_c = s.in_c;
    p.dilation_h = s.dilation_h;
    p.dilation_w = s.dilation_w;
    p.kernel_w = s.kernel_w;
    for (int oh = 0; oh < s.out_h; ++oh) {
      p.ih0 = oh * s.stride_h - s.pad_top;
      p.ky = valid_taps(p.ih0, s.kernel_h, s.dilation_h, s.in_h);
      for (int ow = 0; ow < s.out_w; ++ow) {
        p.iw0 = ow * s.stride_w - s.pad_left;
        p.kx = valid_taps(p.iw0, s.kernel_w, s.dilation_w, s.in_w);
        float* __restrict dst = out + ((static_cast<std::size_t>(b) * s.out_h + oh) * s.out_w + ow) * out_c;
        if (multiplier == 1) {
          int c = 0;
          for (; c + 16 <= out_c; c += 16) accumulate_vectors<2>(p, wt, out_c, c, bias, dst, act);
          for (; c + 8 <= out_c; c += 8) accumulate_vectors<1>(p, wt, out_c, c, bias, dst, act);
          for (; c + 4 <= out_c; c += 4) accumulate_block<4>(p, wt, out_c, c, bias, dst, act);
          for (; c < out_c; ++c) accumulate_block<1>(p, wt, out_c, c, bias, dst, act);
          continue;
        }
        // Channel multiplier: output channel c * multiplier + m reads input channel c.
        for (int o = 0; o < out_c; ++o) dst[o] = bias != nullptr ? bias[o] : 0.0f;
        for (int ky = p.ky.begin; ky < p.ky.end; ++ky) {
          const float* src_row = p.in + (p.ih0 + ky * s.dilation_h) * in_row;
          for (int kx = p.kx.begin; kx < p.kx.end; ++kx) {
            const float* __restrict src = src_row + static_cast<std::size_t>(p.iw0 + kx * s.dilation_w) * s.in_c;
            const float* __restrict w = wt + static_cast<std::size_t>(ky * s.kernel_w + kx) * out_c;
            for (int c = 0; c < s.in_c; ++c) {
              const float v = src[c];
              float* __restrict d = dst + c * multiplier;
              const float* __restrict wc = w + c * multiplier;
              for (int m = 0; m < multiplier; ++m) d[m] += v * wc[m];
            }
          }
        }
        for (int o = 0; o < out_c; ++o) dst[o] = clamp(dst[o], act);
      }
    }
  }
}

}  // namespace tinyq::fk::detail
