// tinyq runtime: max and average pooling on Armv7E-M with the DSP extension (Cortex-M4/M7):
// four channels per 32-bit word. NHWC keeps the channels of a tap contiguous, so one LDR
// fetches four channels and SSUB8/SEL (max) or SXTAB16 (sum) treats them at once.
#include "tinyq/kernel_path.hpp"

#if defined(TINYQ_PATH_ARM_DSP)

#include <arm_acle.h>

#include "arm_instructions.hpp"
#include "high_mul_requant.hpp"
#include "int8_lanes.hpp"
#include "kernel_paths.hpp"
#include "kernel_util.hpp"
#include "pool_window.hpp"

namespace tinyq {
namespace rt {

namespace {

using detail::Window;
using detail::window_at;

// Max of 4 * W channels over a window, starting from -128 (padding never wins, and an empty
// window yields clamp(-128)), then clamped to [lo, hi] lane-wise.
template <int W>
inline void max_words(const Window& win, int32_t channels, const int8_t* at, uint32_t lo, uint32_t hi, int8_t* out) {
  uint32_t acc[W];
  for (int w = 0; w < W; ++w) acc[w] = 0x80808080u;
  const int8_t* row = at;
  for (int32_t r = 0; r < win.rows; ++r, row += win.row_step) {
    const int8_t* tap = row;
    for (int32_t x = win.cols; x > 0; --x, tap += channels) {  // counting down: SUBS + BNE
      for (int w = 0; w < W; ++w) acc[w] = arm::max4(acc[w], arm::load_u32(tap + 4 * w));
    }
  }
  for (int w = 0; w < W; ++w) arm::store_u32(out + 4 * w, arm::min4(arm::max4(acc[w], lo), hi));
}

// Rescales one pixel's channel sums: the same function of the sum as the portable path
// (requantize or truncating division, then offset and clamp), with the requantization
// rewritten as SMMLA + ASR where high_mul_requant proves it exact.
struct AvgFinish {
  int32_t n;  // divisor taps; 0: output clamp(output_offset)
  detail::HighMulRequant fast;
};

inline int8_t finish_avg(const AvgPoolParams& ap, const AvgFinish& f, int32_t sum) {
  const PoolParams& p = ap.pool;
  if (f.fast.valid) {
    const int32_t v = arm::smmla(sum << f.fast.pre, f.fast.multiplier, f.fast.round) >> f.fast.post;
    return static_cast<int8_t>(clamp_i32(v, p.act_min, p.act_max));  // offset already in `round`
  }
  const int32_t v = f.n > 0 ? detail::window_average(ap, sum, f.n) : 0;
  return detail::offset_and_clamp(v, ap.output_offset, p.act_min, p.act_max);
}

// Sums of 4 * W channels over a window. SXTAB16 adds the even and the odd bytes of a word
// to two pairs of 16-bit lanes; the raw q values (not q + input_offset) are summed there, so
// at most 255 taps fit a lane (255 * 128 < 2^15) before the lanes are moved to 32 bits. The
// input offset is added once per channel: sum (q + o) = sum q + o * taps.
template <int W>
inline void avg_words(const AvgPoolParams& ap, const Window& win, const int8_t* at, const AvgFinish& f, int8_t* out) {
  const int32_t channels = ap.pool.channels;
  int32_t sum[4 * W];
  const int32_t base = ap.input_offset * win.rows * win.cols;
  for (int i = 0; i < 4 * W; ++i) sum[i] = base;
  const int32_t rows_per_chunk = win.cols > 0 ? 255 / win.cols : win.rows;
  const int8_t* row = at;
  for (int32_t r = 0; r < win.rows;) {
    const int32_t end = detail::min_i32(win.rows, r + rows_per_chunk);
    uint32_t even[W], odd[W];
    for (int w = 0; w < W; ++w) even[w] = odd[w] = 0;
    for (; r < end; ++r, row += win.row_step) {
      const int8_t* tap = row;
      for (int32_t x = win.cols; x > 0; --x, tap += channels) {  // counting down: SUBS + BNE
        for (int w = 0; w < W; ++w) {
          const uint32_t v = arm::load_u32(tap + 4 * w);
          even[w] = static_cast<uint32_t>(__sxtab16(static_cast<int16x2_t>(even[w]), static_cast<int8x4_t>(v)));
          odd[w] = arm::sxtab16_ror8(odd[w], v);
        }
      }
    }
    for (int w = 0; w < W; ++w) {
      sum[4 * w + 0] += static_cast<int16_t>(even[w]);
      sum[4 * w + 1] += static_cast<int16_t>(odd[w]);
      sum[4 * w + 2] += static_cast<int32_t>(even[w]) >> 16;
      sum[4 * w + 3] += static_cast<int32_t>(odd[w]) >> 16;
    }
  }
  for (int i = 0; i < 4 * W; ++i) out[i] = finish_avg(ap, f, sum[i]);
}

}  // namespace

void max_pool2d_s8_dsp(const PoolParams& p, const int8_t* input, int8_t* output) {
  const uint32_t lo = arm::splat4(p.act_min);
  const uint32_t hi = arm::splat4(p.act_max);
  const int32_t channels = p.channels;
  for (int32_t b = 0; b < p.batch; ++b) {
    const int8_t* image = input + b * p.in_h * p.in_w * channels;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      const detail::TapRange ky = detail::valid_taps(y0, p.kernel_h, 1, p.in_h);
      for (int32_t ox = 0; ox < p.out_w; ++ox, output += channels) {
        const int32_t x0 = ox * p.stride_w - p.pad_left;
        const Window win = window_at(p, image, y0, ky, x0, detail::valid_taps(x0, p.kernel_w, 1, p.in_w));
        int32_t c = 0;
#if !defined(__OPTIMIZE_SIZE__)  // -Os: one word per step only (a third of the code)
        for (; c + 16 <= channels; c += 16) max_words<4>(win, channels, win.first + c, lo, hi, output + c);
#endif
        for (; c + 4 <= channels; c += 4) max_words<1>(win, channels, win.first + c, lo, hi, output + c);
        for (; c < channels; ++c) {
          int32_t best = -128;
          const int8_t* row = win.first + c;
          for (int32_t r = 0; r < win.rows; ++r, row += win.row_step) {
            for (int32_t x = 0; x < win.cols; ++x) best = detail::max_i32(best, row[x * channels]);
          }
          output[c] = static_cast<int8_t>(clamp_i32(best, p.act_min, p.act_max));
        }
      }
    }
  }
}

void avg_pool2d_s8_dsp(const AvgPoolParams& ap, const int8_t* input, int8_t* output) {
  const PoolParams& p = ap.pool;
  const int32_t channels = p.channels;
  // |sum (q + input_offset)| <= 255 per tap (int8 zero points), over kernel_h * kernel_w taps.
  const int64_t sum_bound = int64_t{255} * p.kernel_h * p.kernel_w;
  AvgFinish f{-1, {}};
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
        if (n != f.n) {  // interior pixels share n: prepare the rescale once per change
          f.n = n;
          f.fast = detail::HighMulRequant{};
          if (n > 0 && ap.truncate == 0 && ap.rounding == kRoundSingle) {
            f.fast = detail::high_mul_requant(ap.count_multiplier[n], ap.count_shift[n], ap.output_offset, sum_bound);
          }
        }
        // A 16-bit lane sums one row of at most 255 taps: wider windows take the scalar loop.
        const int32_t vector_channels = win.cols <= 255 ? channels : 0;
        int32_t c = 0;
#if !defined(__OPTIMIZE_SIZE__)  // -Os: one word per step only
        for (; c + 8 <= vector_channels; c += 8) avg_words<2>(ap, win, win.first + c, f, output + c);
#endif
        for (; c + 4 <= vector_channels; c += 4) avg_words<1>(ap, win, win.first + c, f, output + c);
        for (; c < channels; ++c) {
          int32_t sum = 0;
          const int8_t* row = win.first + c;
          for (int32_t r = 0; r < win.rows; ++r, row += win.row_step) {
            for (int32_t x = 0; x < win.cols; ++x) sum += row[x * channels] + ap.input_offset;
          }
          output[c] = finish_avg(ap, f, sum);
        }
      }
    }
  }
}

}  // namespace rt
}  // namespace tinyq

#endif
