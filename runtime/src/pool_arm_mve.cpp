// tinyq runtime: max and average pooling with Helium (MVE, Cortex-M55/M85). NHWC keeps the
// channels of a tap contiguous: max pooling takes 16 channels per VMAX, average pooling
// sums 8 channels per 16-bit vector and rescales them in 32-bit lanes. Channel tails use tail
// predication (VCTP), so no scalar remainder loop is needed.
#include "tinyq/kernel_path.hpp"

#if defined(TINYQ_PATH_ARM_MVE)

#include <arm_mve.h>

#include "high_mul_requant.hpp"
#include "kernel_paths.hpp"
#include "kernel_util.hpp"
#include "pool_window.hpp"

namespace tinyq {
namespace rt {

namespace {

using detail::Window;
using detail::window_at;

// Max of 16 channels over a window, from -128 (padding never wins; an empty window yields
// clamp(-128)). Full: all 16 lanes are channels, so the loads need no predicate (VPST and a
// predicate reload per tap otherwise).
template <bool Full>
inline int8x16_t window_max(const Window& win, int32_t channels, const int8_t* at, mve_pred16_t lanes) {
  int8x16_t acc = vdupq_n_s8(-128);
  for (int32_t r = 0; r < win.rows; ++r, at += win.row_step) {
    const int8_t* tap = at;
    for (int32_t x = 0; x < win.cols; ++x, tap += channels) {
      acc = vmaxq_s8(acc, Full ? vldrbq_s8(tap) : vldrbq_z_s8(tap, lanes));
    }
  }
  return acc;
}

// Sums of 8 channels over a window into 32-bit even / odd channel lanes (plus their initial
// value). 16-bit lanes sum the raw q values, one widening VLDRB.S16 and one VADD per tap, at
// most 255 taps per chunk (255 * 128 < 2^15) before the chunk moves to 32 bits.
template <bool Full>
inline void window_sum8(const Window& win, int32_t channels, const int8_t* at, mve_pred16_t lanes,
                        int32_t rows_per_chunk, int32x4_t& even, int32x4_t& odd) {
  for (int32_t r = 0; r < win.rows;) {
    const int32_t end = detail::min_i32(win.rows, r + rows_per_chunk);
    int16x8_t sum = vdupq_n_s16(0);
    for (; r < end; ++r, at += win.row_step) {
      const int8_t* tap = at;
      for (int32_t x = 0; x < win.cols; ++x, tap += channels) {
        sum = vaddq_s16(sum, Full ? vldrbq_s16(tap) : vldrbq_z_s16(tap, lanes));
      }
    }
    even = vaddq_s32(even, vmovlbq_s16(sum));
    odd = vaddq_s32(odd, vmovltq_s16(sum));
  }
}

}  // namespace

void max_pool2d_s8_mve(const PoolParams& p, const int8_t* input, int8_t* output) {
  const int32_t channels = p.channels;
  const int8x16_t lo = vdupq_n_s8(static_cast<int8_t>(p.act_min));
  const int8x16_t hi = vdupq_n_s8(static_cast<int8_t>(p.act_max));
  for (int32_t b = 0; b < p.batch; ++b) {
    const int8_t* image = input + b * p.in_h * p.in_w * channels;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      const detail::TapRange ky = detail::valid_taps(y0, p.kernel_h, 1, p.in_h);
      for (int32_t ox = 0; ox < p.out_w; ++ox, output += channels) {
        const int32_t x0 = ox * p.stride_w - p.pad_left;
        const Window win = window_at(p, image, y0, ky, x0, detail::valid_taps(x0, p.kernel_w, 1, p.in_w));
        int32_t c = 0;
        for (; c + 16 <= channels; c += 16) {
          vstrbq_s8(output + c, vminq_s8(vmaxq_s8(window_max<true>(win, channels, win.first + c, 0), lo), hi));
        }
        if (c < channels) {
          const mve_pred16_t lanes = vctp8q(static_cast<uint32_t>(channels - c));
          const int8x16_t acc = window_max<false>(win, channels, win.first + c, lanes);
          vstrbq_p_s8(output + c, vminq_s8(vmaxq_s8(acc, lo), hi), lanes);
        }
      }
    }
  }
}

void avg_pool2d_s8_mve(const AvgPoolParams& ap, const int8_t* input, int8_t* output) {
  const PoolParams& p = ap.pool;
  const int32_t channels = p.channels;
  // |sum (q + input_offset)| <= 255 per tap (int8 zero points), over kernel_h * kernel_w taps.
  const int64_t sum_bound = int64_t{255} * p.kernel_h * p.kernel_w;
  const int32x4_t lo = vdupq_n_s32(p.act_min);
  const int32x4_t hi = vdupq_n_s32(p.act_max);
  int32_t n_prepared = -1;
  detail::HighMulRequant fast{};
  for (int32_t b = 0; b < p.batch; ++b) {
    const int8_t* image = input + b * p.in_h * p.in_w * channels;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      const detail::TapRange ky = detail::valid_taps(y0, p.kernel_h, 1, p.in_h);
      const int32_t rows = detail::counted_taps(y0, p.kernel_h, p.in_h, p.pad_top, p.pad_bottom, ap.count_include_pad);
      for (int32_t ox = 0; ox < p.out_w; ++ox, output += channels) {
        const int32_t x0 = ox * p.stride_w - p.pad_left;
        const Window win = window_at(p, image, y0, ky, x0, detail::valid_taps(x0, p.kernel_w, 1, p.in_w));
        const int32_t n =
            rows * detail::counted_taps(x0, p.kernel_w, p.in_w, p.pad_left, p.pad_right, ap.count_include_pad);
        if (n != n_prepared) {  // interior pixels share n: prepare the rescale once per change
          n_prepared = n;
          fast = detail::HighMulRequant{};
          if (n > 0 && ap.truncate == 0 && ap.rounding == kRoundSingle) {
            // VQDMULH keeps floor(2 * x * M / 2^32) = floor(x * M / 2^31): h = 31.
            fast = detail::high_mul_requant(ap.count_multiplier[n], ap.count_shift[n], ap.output_offset, sum_bound, 31);
          }
        }
        const int32_t base = ap.input_offset * win.rows * win.cols;  // sum (q + o) = sum q + o * taps
        const int32_t rows_per_chunk = win.cols > 0 ? detail::max_i32(1, 255 / win.cols) : 1;
        for (int32_t c = 0; c < channels; c += 8) {
          const mve_pred16_t lanes = vctp16q(static_cast<uint32_t>(channels - c));
          int32x4_t even = vdupq_n_s32(base);
          int32x4_t odd = even;
          if (c + 8 <= channels) {
            window_sum8<true>(win, channels, win.first + c, lanes, rows_per_chunk, even, odd);
          } else {
            window_sum8<false>(win, channels, win.first + c, lanes, rows_per_chunk, even, odd);
          }
          if (fast.valid) {
            int32x4_t ve = vqdmulhq_n_s32(vshlq_r_s32(even, fast.pre), fast.multiplier);
            int32x4_t vo = vqdmulhq_n_s32(vshlq_r_s32(odd, fast.pre), fast.multiplier);
            ve = vshlq_r_s32(vaddq_n_s32(ve, fast.round), -fast.post);  // negative count: arithmetic right shift
            vo = vshlq_r_s32(vaddq_n_s32(vo, fast.round), -fast.post);
            ve = vminq_s32(vmaxq_s32(ve, lo), hi);
            vo = vminq_s32(vmaxq_s32(vo, lo), hi);
            // Interleave back into channel order (even channels in the bottom halves).
            const int16x8_t packed = vmovntq_s32(vmovnbq_s32(vdupq_n_s16(0), ve), vo);
            vstrbq_p_s16(output + c, packed, lanes);
          } else {  // truncation or TFLite's division (no vector division), n == 0, or bounds the
                    // identity does not cover: the vector sums, then the portable rescale per channel
            int32_t e[4], o[4];
            vst1q_s32(e, even);
            vst1q_s32(o, odd);
            for (int32_t i = 0; i < 8 && c + i < channels; ++i) {
              const int32_t sum_i = (i & 1) != 0 ? o[i / 2] : e[i / 2];
              const int32_t v = n > 0 ? detail::window_average(ap, sum_i, n) : 0;
              output[c + i] = detail::offset_and_clamp(v, ap.output_offset, p.act_min, p.act_max);
            }
          }
        }
      }
    }
  }
}

}  // namespace rt
}  // namespace tinyq

#endif
