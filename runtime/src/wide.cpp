// tinyq runtime: 16x8 convolution, depthwise and dense (int16 or int8 activations, int8
// weights, int64 accumulator), int16 max pooling and the tensor requantization at the edges
// of an int16 region.
// Portable on every path (int16 layers are the few a model cannot hold at int8, chosen for
// accuracy), except dense, conv (groups 1) and depthwise on the DSP and Helium paths (below):
// with an int16 input, and dense and conv also with an int8 one (a region's first layer).
#include "kernel_util.hpp"
#include "pool_window.hpp"
#include "portable_loops.hpp"
#include "tinyq/kernel_path.hpp"  // defines the TINYQ_PATH_* macro tested below
#include "tinyq/kernels.hpp"
#if defined(TINYQ_PATH_ARM_DSP)
#include <arm_acle.h>

#include "arm_instructions.hpp"
#elif defined(TINYQ_PATH_ARM_MVE)
#include <arm_mve.h>

#include "arm_instructions.hpp"  // TINYQ_ALWAYS_INLINE
#endif

// Dense and conv have a native form on the DSP and Helium paths (not in `-Os` builds, which
// keep the portable loops): dense_wide16_native / conv_wide16_native.
#if (defined(TINYQ_PATH_ARM_DSP) || defined(TINYQ_PATH_ARM_MVE)) && !defined(__OPTIMIZE_SIZE__)
#define TINYQ_WIDE16_NATIVE 1
#else
#define TINYQ_WIDE16_NATIVE 0
#endif

namespace tinyq {
namespace rt {

namespace {

// clamp(offset + requantize_wide(acc), lo, hi) as an element of the output's type.
template <typename Out>
inline Out wide_output(int64_t acc, const Requant& r, int32_t channel, int32_t offset, int32_t lo, int32_t hi) {
  const int32_t i = r.count == 1 ? 0 : channel;
  return detail::offset_and_clamp<Out>(requantize_wide(acc, r.multiplier[i], r.shift[i]), offset, lo, hi);
}

// Convolution read in place, tap by tap (no im2col scratch): acc = bias + the sum over valid
// taps and the group's channels.
template <typename In, typename Out>
void conv_loop(const ConvParams& p, const In* input, const int8_t* weights, const int32_t* bias, Out* output) {
  const int32_t group_in_c = p.in_c / p.groups;
  const int32_t group_out_c = p.out_c / p.groups;
  for (int32_t b = 0; b < p.batch; ++b) {
    const In* image = input + b * p.in_h * p.in_w * p.in_c;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      const detail::TapRange ky = detail::valid_taps(y0, p.kernel_h, p.dilation_h, p.in_h);
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t x0 = ox * p.stride_w - p.pad_left;
        const detail::TapRange kx = detail::valid_taps(x0, p.kernel_w, p.dilation_w, p.in_w);
        for (int32_t o = 0; o < p.out_c; ++o) {
          const int32_t g = o / group_out_c;
          const int8_t* w = weights + o * p.kernel_h * p.kernel_w * group_in_c;
          int64_t acc = bias != nullptr ? bias[o] : 0;
          for (int32_t ty = ky.first; ty < ky.last; ++ty) {
            const int32_t iy = y0 + ty * p.dilation_h;
            for (int32_t tx = kx.first; tx < kx.last; ++tx) {
              const int32_t ix = x0 + tx * p.dilation_w;
              const In* in = image + (iy * p.in_w + ix) * p.in_c + g * group_in_c;
              const int8_t* tap = w + (ty * p.kernel_w + tx) * group_in_c;
              for (int32_t c = 0; c < group_in_c; ++c) acc += (static_cast<int32_t>(in[c]) + p.input_offset) * tap[c];
            }
          }
          output[o] = wide_output<Out>(acc, p.requant, o, p.output_offset, p.act_min, p.act_max);
        }
        output += p.out_c;
      }
    }
  }
}

template <typename In, typename Out>
void depthwise_loop(const ConvParams& p, const In* input, const int8_t* weights, const int32_t* bias, Out* output) {
  detail::depthwise_window_loop<int64_t>(p, input, weights, bias, output, [&p](int64_t acc, int32_t o) {
    return wide_output<Out>(acc, p.requant, o, p.output_offset, p.act_min, p.act_max);
  });
}

template <typename In, typename Out>
void dense_loop(const DenseParams& p, const In* input, const int8_t* weights, const int32_t* bias, Out* output) {
  detail::dense_rows_loop<int64_t>(p, input, weights, bias, output, [&p](int64_t acc, int32_t o) {
    return wide_output<Out>(acc, p.requant, o, p.output_offset, p.act_min, p.act_max);
  });
}

#if TINYQ_WIDE16_NATIVE
// The native forms' longest input row or conv patch: the patch is gathered on the stack (2 KB).
constexpr int32_t kWideNativeInputs = 1024;

// Output pixel (oy, ox)'s patch of a groups-1 conv, gathered tap by tap into x: in_c values
// per tap, each plus the input offset (an int8 input's q + offset is within +-255; an int16
// input's offset is 0), zeros for padded taps (the zero point's value).
template <typename In>
void gather_patch16(const ConvParams& p, const In* image, int32_t oy, int32_t ox, int16_t* x) {
  const int32_t c = p.in_c, offset = p.input_offset;
  for (int32_t ty = 0; ty < p.kernel_h; ++ty) {
    const int32_t iy = oy * p.stride_h - p.pad_top + ty * p.dilation_h;
    for (int32_t tx = 0; tx < p.kernel_w; ++tx, x += c) {
      const int32_t ix = ox * p.stride_w - p.pad_left + tx * p.dilation_w;
      if (iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w) {
        const In* src = image + (iy * p.in_w + ix) * c;
        for (int32_t i = 0; i < c; ++i) x[i] = static_cast<int16_t>(src[i] + offset);
      } else {
        for (int32_t i = 0; i < c; ++i) x[i] = 0;
      }
    }
  }
}

// A depthwise window's valid taps: rows x cols, tap (ty, tx)'s input at
// ty * x_row + tx * x_col from the first one (weights ty * w_row + tx * w_col).
struct WideWindow {
  int32_t rows, cols;
  int32_t x_row, x_col, w_row, w_col;
};
#endif

#if TINYQ_WIDE16_NATIVE
// A layer's output stage for the native forms' int32 sums (requantize_narrow; on Helium four
// lanes at a time).
struct NarrowStage {
  const Requant& r;
  int32_t offset, lo, hi;
};

// requantize_wide for an accumulator within int32 (= requantize()), in 32-bit steps: with p =
// acc * m = hi * 2^32 + lo and t = 31 - shift, floor((p + 2^(t-1)) / 2^t) is (hi + 2^(t-33)) >>
// (t - 32) for shift <= -2 (lo only adds a fraction below the rounding; |hi| <= 2^30), else
// hi * 2^(32-t) + ((lo >> 1) + 2^(t-2)) >> (t - 1), both terms exact modulo 2^32.
TINYQ_ALWAYS_INLINE int32_t requantize_narrow(int32_t acc, int32_t multiplier, int32_t shift) {
  const int64_t p = static_cast<int64_t>(acc) * multiplier;
  const int32_t hi = static_cast<int32_t>(p >> 32);
  if (shift <= -2) {
    const int32_t k = -1 - shift;  // t - 32, in [1, 30]
    return (hi + (1 << (k - 1))) >> k;
  }
  const uint32_t lo = static_cast<uint32_t>(p);
  const int32_t t1 = 30 - shift;  // t - 1, in [15, 31]
  return static_cast<int32_t>((static_cast<uint32_t>(hi) << (shift + 1)) + (((lo >> 1) + (1u << (t1 - 1))) >> t1));
}

// wide_output for an int32 accumulator.
template <typename Out>
TINYQ_ALWAYS_INLINE Out narrow_output(int32_t acc, const NarrowStage& st, int32_t channel) {
  const int32_t i = st.r.count == 1 ? 0 : channel;
  return detail::offset_and_clamp<Out>(requantize_narrow(acc, st.r.multiplier[i], st.r.shift[i]), st.offset, st.lo,
                                       st.hi);
}

// Whether bias + a sum of n products, each below max_product in magnitude, stays within int32
// for every channel: then the Helium forms sum in 32 bits and requantize four lanes at a time.
inline bool wide_sums_fit(const int32_t* bias, int32_t channels, int64_t n, int64_t max_product) {
  int64_t largest = 0;
  for (int32_t c = 0; bias != nullptr && c < channels; ++c) {
    const int64_t b = bias[c] < 0 ? -static_cast<int64_t>(bias[c]) : bias[c];
    largest = b > largest ? b : largest;
  }
  return largest + n * max_product < (static_cast<int64_t>(1) << 31);
}
// The largest |product| of an input (int16, offset 0; or int8 plus its offset, within +-255)
// and an int8 weight.
template <typename In>
constexpr int64_t wide_max_product() {
  return sizeof(In) == 2 ? static_cast<int64_t>(32768) * 128 : static_cast<int64_t>(256) * 128;
}
#endif

#if defined(TINYQ_PATH_ARM_MVE) && !defined(__OPTIMIZE_SIZE__)
// The 16x8 output stage on four lanes: bias + sum (each within int32: the callers check the
// bound once per layer, wide_sums_fit), requantized exactly as requantize_wide (which equals
// requantize() for an int32 accumulator) for any shift in [-31, 15], plus the offset, clamped,
// stored as int8 (VSTRB.32) or int16 (VSTRH.32), the first `count` lanes only.
//   With p = acc * m = hi * 2^32 + lo (hi = VMULH, lo = VMUL's unsigned low word) and t =
//   31 - shift, requantize() = floor((p + 2^(t-1)) / 2^t):
//   - t >= 33 (shift <= -2): (hi + 2^(t-33)) >> (t - 32) = VRSHL(hi, shift + 1), as
//     requantize_lanes (lo only ever adds a fraction below the rounding);
//   - t <= 32: hi * 2^(32-t) + (lo + 2^(t-1)) >> t, the second term VRSHL.U32(lo, -t) (a rounding
//     shift, computed without overflow), the first VSHL(hi, shift + 1): exact modulo 2^32, and the
//     result fits int32 (the host bounds it).
TINYQ_ALWAYS_INLINE int32x4_t requantize_lanes_wide(int32x4_t acc, int32x4_t multiplier, int32x4_t shift) {
  const int32x4_t hi = vmulhq_s32(acc, multiplier);
  const int32x4_t up = vaddq_n_s32(shift, 1);
  const int32x4_t far = vrshlq_s32(hi, up);
  const uint32x4_t lo = vreinterpretq_u32_s32(vmulq_s32(acc, multiplier));
  const int32x4_t low = vreinterpretq_s32_u32(vrshlq_u32(lo, vsubq_n_s32(shift, 31)));
  const int32x4_t near = vaddq_s32(vshlq_s32(hi, up), low);
  return vpselq_s32(far, near, vcmpleq_n_s32(shift, -2));
}
template <typename Out>
TINYQ_ALWAYS_INLINE void store_wide_lanes(int32x4_t acc, const int32_t* bias, int32_t channel, int32_t count,
                                          const NarrowStage& st, Out* out) {
  const mve_pred16_t valid = vctp32q(static_cast<uint32_t>(count));
  if (bias != nullptr) acc = vaddq_s32(acc, vldrwq_z_s32(bias + channel, valid));
  int32x4_t multiplier, shift;
  if (st.r.count == 1) {
    multiplier = vdupq_n_s32(st.r.multiplier[0]);
    shift = vdupq_n_s32(st.r.shift[0]);
  } else {
    multiplier = vldrwq_z_s32(st.r.multiplier + channel, valid);
    shift = vldrwq_z_s32(st.r.shift + channel, valid);
  }
  // A saturating add: where the requantized value lies within |offset| of the int32 limits, the
  // clamp below gives what offset_and_clamp gives.
  int32x4_t v = vqaddq_s32(requantize_lanes_wide(acc, multiplier, shift), vdupq_n_s32(st.offset));
  v = vminq_s32(vmaxq_s32(v, vdupq_n_s32(st.lo)), vdupq_n_s32(st.hi));
  if constexpr (sizeof(Out) == 1) {
    vstrbq_p_s32(reinterpret_cast<int8_t*>(out), v, valid);
  } else {
    vstrhq_p_s32(reinterpret_cast<int16_t*>(out), v, valid);
  }
}
#endif

#if defined(TINYQ_PATH_ARM_DSP) && !defined(__OPTIMIZE_SIZE__)
// 4 channels: per tap two words of int16 inputs [x0, x1], [x2, x3] and a word of weights,
// unpacked by SXTB16 into [w0, w2] and [w1, w3]; SMLABB / SMLATB / SMLABT / SMLATT add
// each channel's product to its 32-bit sum: 9 instructions for 4 MACs.
constexpr int32_t kWideGroup = 4;
TINYQ_ALWAYS_INLINE void wide_taps_group(const int16_t* x, const int8_t* w, const WideWindow& win, int32_t* sums) {
  int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (int32_t ty = 0; ty < win.rows; ++ty, x += win.x_row, w += win.w_row) {
    const int16_t* xt = x;
    const int8_t* wt = w;
    for (int32_t tx = 0; tx < win.cols; ++tx, xt += win.x_col, wt += win.w_col) {
      const int32_t x01 = static_cast<int32_t>(arm::load_u32(xt)), x23 = static_cast<int32_t>(arm::load_u32(xt + 2));
      const uint32_t u = arm::load_u32(wt);
      const int32_t w02 = __sxtb16(static_cast<int32_t>(u)), w13 = static_cast<int32_t>(arm::sxtb16_ror8(u));
      s0 = __smlabb(x01, w02, s0);
      s1 = __smlatb(x01, w13, s1);
      s2 = __smlabt(x23, w02, s2);
      s3 = __smlatt(x23, w13, s3);
    }
  }
  sums[0] = s0;
  sums[1] = s1;
  sums[2] = s2;
  sums[3] = s3;
}
#elif defined(TINYQ_PATH_ARM_MVE) && !defined(__OPTIMIZE_SIZE__)
// 8 channels: per tap a VLDRH of the inputs and a widening VLDRB of the weights, VMULLB /
// VMULLT (32-bit products of the even and the odd lanes) added to two vectors of sums: 6
// instructions for 8 MACs.
constexpr int32_t kWideGroup = 8;
TINYQ_ALWAYS_INLINE void wide_taps_group(const int16_t* x, const int8_t* w, const WideWindow& win, int32_t* sums) {
  int32x4_t even = vdupq_n_s32(0), odd = vdupq_n_s32(0);
  for (int32_t ty = 0; ty < win.rows; ++ty, x += win.x_row, w += win.w_row) {
    const int16_t* xt = x;
    const int8_t* wt = w;
    for (int32_t tx = 0; tx < win.cols; ++tx, xt += win.x_col, wt += win.w_col) {
      const int16x8_t xv = vldrhq_s16(xt), wv = vldrbq_s16(wt);
      even = vaddq_s32(even, vmullbq_int_s16(xv, wv));
      odd = vaddq_s32(odd, vmulltq_int_s16(xv, wv));
    }
  }
  // Channel 2i is lane i of even, channel 2i + 1 lane i of odd.
  int32x4x2_t both;
  both.val[0] = even;
  both.val[1] = odd;
  vst2q_s32(sums, both);
}
#endif

#if TINYQ_WIDE16_NATIVE
// Depthwise with an int16 input (zero point 0), channel multiplier 1 and at most
// kWideNativeTaps taps per window: each product |x w| < 32768 * 128 = 2^22, so a window's
// products sum exactly in 32 bits (511 * 2^22 < 2^31), and only bias + sum and the
// requantization need 64 bits (once per output). The taps run per group of kWideGroup channels
// with the sums in registers (wide_taps_group below, one per path); the last c % kWideGroup
// channels of a pixel are summed in C.
constexpr int32_t kWideNativeTaps = 511;

template <typename Group, typename Out>
void depthwise_wide16_native(const ConvParams& p, const int16_t* input, const int8_t* weights, const int32_t* bias,
                             Out* output, Group group) {
  const int32_t c = p.in_c;
  // Where bias + window sum stays in int32: the output stage in 32 bits (Helium: four channels
  // at a time).
  const bool narrow_sums = wide_sums_fit(bias, c, p.kernel_h * p.kernel_w, wide_max_product<int16_t>());
  const NarrowStage stage{p.requant, p.output_offset, p.act_min, p.act_max};
  for (int32_t b = 0; b < p.batch; ++b) {
    const int16_t* image = input + b * p.in_h * p.in_w * c;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      const detail::TapRange ky = detail::valid_taps(y0, p.kernel_h, p.dilation_h, p.in_h);
      for (int32_t ox = 0; ox < p.out_w; ++ox, output += c) {
        const int32_t x0 = ox * p.stride_w - p.pad_left;
        const detail::TapRange kx = detail::valid_taps(x0, p.kernel_w, p.dilation_w, p.in_w);
        // The window's valid taps: rows x cols, tap (ty, tx) at x + ty * x_row + tx * x_col.
        const int32_t rows = ky.last - ky.first, cols = kx.last - kx.first;
        const int16_t* x = image + ((y0 + ky.first * p.dilation_h) * p.in_w + x0 + kx.first * p.dilation_w) * c;
        const int8_t* w = weights + (ky.first * p.kernel_w + kx.first) * c;
        const WideWindow win{rows, cols, p.dilation_h * p.in_w * c, p.dilation_w * c, p.kernel_w * c, c};
        int32_t ch = 0;
        for (; ch + kWideGroup <= c; ch += kWideGroup) {
          alignas(8) int32_t sums[kWideGroup];
          group(x + ch, w + ch, win, sums);
#if defined(TINYQ_PATH_ARM_MVE)
          if (narrow_sums) {
            store_wide_lanes(vldrwq_s32(sums), bias, ch, 4, stage, output + ch);
            store_wide_lanes(vldrwq_s32(sums + 4), bias, ch + 4, 4, stage, output + ch + 4);
            continue;
          }
#else
          if (narrow_sums) {
            for (int32_t j = 0; j < kWideGroup; ++j)
              output[ch + j] = narrow_output<Out>((bias != nullptr ? bias[ch + j] : 0) + sums[j], stage, ch + j);
            continue;
          }
#endif
          for (int32_t j = 0; j < kWideGroup; ++j)
            output[ch + j] = wide_output<Out>((bias != nullptr ? bias[ch + j] : 0) + static_cast<int64_t>(sums[j]),
                                              p.requant, ch + j, p.output_offset, p.act_min, p.act_max);
        }
        for (; ch < c; ++ch) {
          int32_t sum = 0;
          for (int32_t ty = 0; ty < rows; ++ty)
            for (int32_t tx = 0; tx < cols; ++tx)
              sum += x[ty * win.x_row + tx * win.x_col + ch] * w[ty * win.w_row + tx * win.w_col + ch];
          output[ch] = wide_output<Out>((bias != nullptr ? bias[ch] : 0) + static_cast<int64_t>(sum), p.requant, ch,
                                        p.output_offset, p.act_min, p.act_max);
        }
      }
    }
  }
}
#endif

#if defined(TINYQ_PATH_ARM_DSP) && !defined(__OPTIMIZE_SIZE__)
// Dense and conv with an int16 input (zero point 0) on the ARMv7E-M DSP: SMLALD adds two
// 16 x 16-bit products to the 64-bit accumulator in one instruction, exact for the int64 sum
// the portable loops compute (each product fits 24 bits; the host bounds |acc| < 2^47). The
// weights are used as SXTB16 unpacks them, [w0, w2] and [w1, w3], so the input vector (a dense
// row, or a conv pixel's patch gathered tap by tap, zeros in the padding) is copied to the
// stack and reordered into the same pairs [x0, x2], [x1, x3] (PKHBT / PKHTB), once for all
// output channels; two channels share each input pair: per 4 inputs and 2 outputs LDRD, 2 LDR,
// 4 SXTB16, 4 SMLALD and the loop, 13 instructions for 8 MACs, where the portable loops take
// about 8 per MAC. Vectors up to kWideNativeInputs values (2 KB of stack); longer ones, grouped
// convs and `-Os` builds run the portable loops. An int8 input is widened with its offset into
// the same buffer first.

// Two 16 x 16-bit products added to the accumulator: SMLALD into 64 bits, or SMLAD into 32 where
// the layer's sums fit (wide_sums_fit).
TINYQ_ALWAYS_INLINE int64_t mac_pairs(uint32_t a, uint32_t b, int64_t acc) {
  return __smlald(static_cast<int16x2_t>(a), static_cast<int16x2_t>(b), acc);
}
TINYQ_ALWAYS_INLINE int32_t mac_pairs(uint32_t a, uint32_t b, int32_t acc) {
  return __smlad(static_cast<int16x2_t>(a), static_cast<int16x2_t>(b), acc);
}

// n values from src to x (src == x: in place), the first n & ~3 in SXTB16's pairs (group g's
// [x0, x2] then [x1, x3]), the last n % 4 as they are.
void reorder_pairs(const int16_t* src, int16_t* x, int32_t n) {
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint32_t a = arm::load_u32(src + i), b = arm::load_u32(src + i + 2);
    arm::store_u32(x + i, arm::pack_low(a, b));
    arm::store_u32(x + i + 2, arm::pack_high(a, b));
  }
  for (; i < n; ++i) x[i] = src[i];
}

// Outputs o in [0, count): finish(bias[o] + weight row o . x, o), x as reorder_pairs left it
// (its last n % 4 values in order), weight rows n bytes apart, summed in Acc (int64_t, or
// int32_t where the layer's sums fit).
template <typename Acc, typename Finish>
TINYQ_ALWAYS_INLINE void rows_dot16_acc(const int16_t* x, int32_t n, const int8_t* weights, const int32_t* bias,
                                        int32_t count, Finish finish) {
  const int32_t n4 = n & ~3;
  const auto tail = [&](const int8_t* w, Acc acc) {
    for (int32_t i = n4; i < n; ++i) acc += static_cast<int32_t>(x[i]) * w[i];
    return acc;
  };
  int32_t o = 0;
  for (; o + 2 <= count; o += 2) {
    const int8_t* w0 = weights + o * n;
    const int8_t* w1 = w0 + n;
    Acc acc0 = bias != nullptr ? bias[o] : 0, acc1 = bias != nullptr ? bias[o + 1] : 0;
    const int16_t* v = x;
    const int8_t* a = w0;
    const int8_t* c = w1;
    for (const int16_t* end = x + n4; v != end; v += 4, a += 4, c += 4) {
      const uint32_t x02 = arm::load_u32(v), x13 = arm::load_u32(v + 2);
      const uint32_t u = arm::load_u32(a), t = arm::load_u32(c);
      acc0 = mac_pairs(static_cast<uint32_t>(__sxtb16(static_cast<int32_t>(u))), x02, acc0);
      acc0 = mac_pairs(arm::sxtb16_ror8(u), x13, acc0);
      acc1 = mac_pairs(static_cast<uint32_t>(__sxtb16(static_cast<int32_t>(t))), x02, acc1);
      acc1 = mac_pairs(arm::sxtb16_ror8(t), x13, acc1);
    }
    finish(tail(w0, acc0), o);
    finish(tail(w1, acc1), o + 1);
  }
  if (o < count) {
    const int8_t* w0 = weights + o * n;
    Acc acc0 = bias != nullptr ? bias[o] : 0;
    for (int32_t i = 0; i < n4; i += 4) {
      const uint32_t u = arm::load_u32(w0 + i);
      acc0 = mac_pairs(static_cast<uint32_t>(__sxtb16(static_cast<int32_t>(u))), arm::load_u32(x + i), acc0);
      acc0 = mac_pairs(arm::sxtb16_ror8(u), arm::load_u32(x + i + 2), acc0);
    }
    finish(tail(w0, acc0), o);
  }
}
template <typename Finish>
TINYQ_ALWAYS_INLINE void rows_dot16(const int16_t* x, int32_t n, const int8_t* weights, const int32_t* bias,
                                    int32_t count, Finish finish) {
  rows_dot16_acc<int64_t>(x, n, weights, bias, count, finish);
}

// The dot products' operand: the row or patch reordered into SXTB16's pairs (into x, which
// may be src).
TINYQ_ALWAYS_INLINE const int16_t* dot_operand(const int16_t* src, int16_t* x, int32_t n) {
  reorder_pairs(src, x, n);
  return x;
}

// rows_dot16 where bias + each sum stays within int32 (wide_sums_fit): SMLAD into 32 bits and
// the output stage in 32-bit steps (requantize_narrow).
template <typename Out>
TINYQ_ALWAYS_INLINE void rows_dot16_narrow(const int16_t* x, int32_t n, const int8_t* weights, const int32_t* bias,
                                           int32_t count, const NarrowStage& st, Out* out) {
  rows_dot16_acc<int32_t>(x, n, weights, bias, count,
                          [&](int32_t acc, int32_t o) { out[o] = narrow_output<Out>(acc, st, o); });
}
#endif

#if defined(TINYQ_PATH_ARM_MVE) && !defined(__OPTIMIZE_SIZE__)
// Dense and conv with an int16 input (zero point 0) on Helium: VMLALDAVA.S16 adds the eight
// 16 x 16-bit products of two vectors to a 64-bit accumulator, exact for the int64 sums of the
// portable loops (each product fits 24 bits; the host bounds |acc| < 2^47). The weights are
// widened by VLDRB.S16; the last n % 8 values are VCTP-predicated loads, whose inactive lanes
// read nothing and are zero. Two output channels share each input vector: per 8 inputs a VCTP,
// 3 loads and 2 VMLALDAVA for 16 MACs. Dense reads int16 rows in place (any length); conv
// gathers each pixel's patch (up to kWideNativeInputs values) on the stack, and an int8 row or
// patch is widened with its offset into that buffer.

// Outputs o in [0, count): finish(bias[o] + weight row o . x, o), weight rows n bytes apart.
template <typename Finish>
TINYQ_ALWAYS_INLINE void rows_dot16(const int16_t* x, int32_t n, const int8_t* weights, const int32_t* bias,
                                    int32_t count, Finish finish) {
  int32_t o = 0;
  for (; o + 2 <= count; o += 2) {
    const int8_t* w0 = weights + o * n;
    const int8_t* w1 = w0 + n;
    int64_t acc0 = bias != nullptr ? bias[o] : 0, acc1 = bias != nullptr ? bias[o + 1] : 0;
    for (int32_t i = 0; i < n; i += 8) {
      const mve_pred16_t lanes = vctp16q(static_cast<uint32_t>(n - i));
      const int16x8_t xv = vldrhq_z_s16(x + i, lanes);
      acc0 = vmlaldavaq_s16(acc0, xv, vldrbq_z_s16(w0 + i, lanes));
      acc1 = vmlaldavaq_s16(acc1, xv, vldrbq_z_s16(w1 + i, lanes));
    }
    finish(acc0, o);
    finish(acc1, o + 1);
  }
  if (o < count) {
    const int8_t* w0 = weights + o * n;
    int64_t acc0 = bias != nullptr ? bias[o] : 0;
    for (int32_t i = 0; i < n; i += 8) {
      const mve_pred16_t lanes = vctp16q(static_cast<uint32_t>(n - i));
      acc0 = vmlaldavaq_s16(acc0, vldrhq_z_s16(x + i, lanes), vldrbq_z_s16(w0 + i, lanes));
    }
    finish(acc0, o);
  }
}

// The dot products' operand: the row or patch as it is (x unused).
TINYQ_ALWAYS_INLINE const int16_t* dot_operand(const int16_t* src, int16_t*, int32_t) { return src; }

// rows_dot16 where bias + each sum stays within int32 (wide_sums_fit): four output channels per
// pass, each summed by VMLADAVA.S16 into 32 bits (per 8 inputs a VCTP, 5 loads and 4 VMLADAVA
// for 32 MACs), the four sums requantized together (store_wide_lanes). A last pass of fewer
// channels reads the first row again for the missing ones and stores only its own.
template <typename Out>
TINYQ_ALWAYS_INLINE void rows_dot16_narrow(const int16_t* x, int32_t n, const int8_t* weights, const int32_t* bias,
                                           int32_t count, const NarrowStage& st, Out* out) {
  for (int32_t o = 0; o < count; o += 4) {
    const int32_t rows = count - o < 4 ? count - o : 4;
    const int8_t* w0 = weights + o * n;
    const int8_t* w1 = rows > 1 ? w0 + n : w0;
    const int8_t* w2 = rows > 2 ? w0 + 2 * n : w0;
    const int8_t* w3 = rows > 3 ? w0 + 3 * n : w0;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (int32_t i = 0; i < n; i += 8) {
      const mve_pred16_t lanes = vctp16q(static_cast<uint32_t>(n - i));
      const int16x8_t xv = vldrhq_z_s16(x + i, lanes);
      a0 = vmladavaq_s16(a0, xv, vldrbq_z_s16(w0 + i, lanes));
      a1 = vmladavaq_s16(a1, xv, vldrbq_z_s16(w1 + i, lanes));
      a2 = vmladavaq_s16(a2, xv, vldrbq_z_s16(w2 + i, lanes));
      a3 = vmladavaq_s16(a3, xv, vldrbq_z_s16(w3 + i, lanes));
    }
    int32x4_t acc = vdupq_n_s32(a0);
    acc = vsetq_lane_s32(a1, acc, 1);
    acc = vsetq_lane_s32(a2, acc, 2);
    acc = vsetq_lane_s32(a3, acc, 3);
    store_wide_lanes(acc, bias, o, rows, st, out + o);
  }
}
#endif

#if TINYQ_WIDE16_NATIVE
// A dense row as rows_dot16 reads it: an int16 row (offset 0) as dot_operand gives it; an int8
// row (where an int16 region starts) widened into x with its offset first.
TINYQ_ALWAYS_INLINE const int16_t* dense_operand(const int16_t* row, int16_t* x, int32_t n, int32_t) {
  return dot_operand(row, x, n);
}
TINYQ_ALWAYS_INLINE const int16_t* dense_operand(const int8_t* row, int16_t* x, int32_t n, int32_t offset) {
  for (int32_t i = 0; i < n; ++i) x[i] = static_cast<int16_t>(row[i] + offset);
  return dot_operand(x, x, n);
}

// Whether dense_wide16_native takes a row of n inputs of `input_bits`: a row copied to the
// stack must fit it; Helium reads int16 rows in place, of any length.
inline bool dense_native_takes(int32_t input_bits, int32_t n) {
#if defined(TINYQ_PATH_ARM_MVE)
  if (input_bits == 16) return true;
#endif
  (void)input_bits;
  return n <= kWideNativeInputs;
}

// Dense: each input row through rows_dot16 (per path above) against every weight row.
template <typename In, typename Out>
void dense_wide16_native(const DenseParams& p, const In* input, const int8_t* weights, const int32_t* bias,
                         Out* output) {
  const int32_t n = p.in_features;
  alignas(8) int16_t x[kWideNativeInputs];
  if (wide_sums_fit(bias, p.out_features, n, wide_max_product<In>())) {
    const NarrowStage stage{p.requant, p.output_offset, p.act_min, p.act_max};
    for (int32_t r = 0; r < p.rows; ++r, input += n, output += p.out_features)
      rows_dot16_narrow(dense_operand(input, x, n, p.input_offset), n, weights, bias, p.out_features, stage, output);
    return;
  }
  for (int32_t r = 0; r < p.rows; ++r, input += n, output += p.out_features) {
    rows_dot16(dense_operand(input, x, n, p.input_offset), n, weights, bias, p.out_features,
               [&](int64_t acc, int32_t o) {
                 output[o] = wide_output<Out>(acc, p.requant, o, p.output_offset, p.act_min, p.act_max);
               });
  }
}

// Conv, groups 1: each pixel's patch gathered, then every output channel against it.
template <typename In, typename Out>
void conv_wide16_native(const ConvParams& p, const In* input, const int8_t* weights, const int32_t* bias, Out* output) {
  const int32_t k = p.kernel_h * p.kernel_w * p.in_c;
  alignas(8) int16_t x[kWideNativeInputs];
  const bool narrow_sums = wide_sums_fit(bias, p.out_c, k, wide_max_product<In>());
  const NarrowStage stage{p.requant, p.output_offset, p.act_min, p.act_max};
  for (int32_t b = 0; b < p.batch; ++b) {
    const In* image = input + b * p.in_h * p.in_w * p.in_c;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      for (int32_t ox = 0; ox < p.out_w; ++ox, output += p.out_c) {
        gather_patch16(p, image, oy, ox, x);
        if (narrow_sums) {
          rows_dot16_narrow(dot_operand(x, x, k), k, weights, bias, p.out_c, stage, output);
          continue;
        }
        rows_dot16(dot_operand(x, x, k), k, weights, bias, p.out_c, [&](int64_t acc, int32_t o) {
          output[o] = wide_output<Out>(acc, p.requant, o, p.output_offset, p.act_min, p.act_max);
        });
      }
    }
  }
}
#endif

// concat_wide into Out: row r of input i at inputs[i] + r * input_row[i], int8 or int16.
template <typename In, typename Out>
void concat_part(const ConcatParams& p, int32_t i, const In* in, Out* out) {
  const int32_t row = p.input_row[i];
  if (p.multiplier[i] == 0) {  // one format: the values already mean the same
    for (int32_t j = 0; j < row; ++j) out[j] = static_cast<Out>(in[j]);
    return;
  }
  for (int32_t j = 0; j < row; ++j)
    out[j] = detail::offset_and_clamp<Out>(
        requantize(static_cast<int32_t>(in[j]) + p.input_offset[i], p.multiplier[i], p.shift[i]), p.output_offset,
        detail::lowest_of<Out>(), detail::highest_of<Out>());
}
template <typename Out>
void concat_into(const ConcatParams& p, const void* const* inputs, const int32_t* input_bits, Out* out) {
  for (int32_t r = 0; r < p.outer; ++r) {
    for (int32_t i = 0; i < p.inputs; ++i) {
      const int32_t row = p.input_row[i];
      if (input_bits[i] == 16) {
        concat_part(p, i, static_cast<const int16_t*>(inputs[i]) + r * row, out);
      } else {
        concat_part(p, i, static_cast<const int8_t*>(inputs[i]) + r * row, out);
      }
      out += row;
    }
  }
}

template <typename In, typename Out>
void requantize_loop(const RequantizeParams& p, const In* in, Out* out) {
  for (int32_t i = 0; i < p.count; ++i)
    out[i] =
        detail::offset_and_clamp<Out>(requantize(static_cast<int32_t>(in[i]) + p.input_offset, p.multiplier, p.shift),
                                      p.output_offset, detail::lowest_of<Out>(), detail::highest_of<Out>());
}

// `run(in, out)` with the input and output pointers typed by their bit widths: one
// instantiation per pairing, chosen once per call.
template <typename Run>
void with_output(void* output, int32_t output_bits, Run run) {
  if (output_bits == 16) return run(static_cast<int16_t*>(output));
  run(static_cast<int8_t*>(output));
}
template <typename Run>
void with_formats(const void* input, int32_t input_bits, void* output, int32_t output_bits, Run run) {
  with_output(output, output_bits, [&](auto out) {
    if (input_bits == 16) return run(static_cast<const int16_t*>(input), out);
    run(static_cast<const int8_t*>(input), out);
  });
}

}  // namespace

void conv2d_wide(const ConvParams& p, const void* input, int32_t input_bits, const int8_t* weights, const int32_t* bias,
                 void* output, int32_t output_bits) {
#if TINYQ_WIDE16_NATIVE
  if ((input_bits == 8 || p.input_offset == 0) && p.groups == 1 &&
      p.kernel_h * p.kernel_w * p.in_c <= kWideNativeInputs)
    return with_formats(input, input_bits, output, output_bits,
                        [&](auto in, auto out) { conv_wide16_native(p, in, weights, bias, out); });
#endif
  conv2d_wide_portable(p, input, input_bits, weights, bias, output, output_bits);
}

void conv2d_wide_portable(const ConvParams& p, const void* input, int32_t input_bits, const int8_t* weights,
                          const int32_t* bias, void* output, int32_t output_bits) {
  with_formats(input, input_bits, output, output_bits,
               [&](auto in, auto out) { conv_loop(p, in, weights, bias, out); });
}

void depthwise_conv2d_wide(const ConvParams& p, const void* input, int32_t input_bits, const int8_t* weights,
                           const int32_t* bias, void* output, int32_t output_bits) {
#if TINYQ_WIDE16_NATIVE
  if (input_bits == 16 && p.input_offset == 0 && p.out_c == p.in_c && p.kernel_h * p.kernel_w <= kWideNativeTaps) {
    const int16_t* in = static_cast<const int16_t*>(input);
    return with_output(output, output_bits, [&](auto out) {
      depthwise_wide16_native(p, in, weights, bias, out,
                              [](const int16_t* x, const int8_t* w, const WideWindow& win, int32_t* sums) {
                                wide_taps_group(x, w, win, sums);
                              });
    });
  }
#endif
  depthwise_conv2d_wide_portable(p, input, input_bits, weights, bias, output, output_bits);
}

void depthwise_conv2d_wide_portable(const ConvParams& p, const void* input, int32_t input_bits, const int8_t* weights,
                                    const int32_t* bias, void* output, int32_t output_bits) {
  with_formats(input, input_bits, output, output_bits,
               [&](auto in, auto out) { depthwise_loop(p, in, weights, bias, out); });
}

void dense_wide(const DenseParams& p, const void* input, int32_t input_bits, const int8_t* weights, const int32_t* bias,
                void* output, int32_t output_bits) {
#if TINYQ_WIDE16_NATIVE
  if ((input_bits == 8 || p.input_offset == 0) && dense_native_takes(input_bits, p.in_features))
    return with_formats(input, input_bits, output, output_bits,
                        [&](auto in, auto out) { dense_wide16_native(p, in, weights, bias, out); });
#endif
  dense_wide_portable(p, input, input_bits, weights, bias, output, output_bits);
}

void dense_wide_portable(const DenseParams& p, const void* input, int32_t input_bits, const int8_t* weights,
                         const int32_t* bias, void* output, int32_t output_bits) {
  with_formats(input, input_bits, output, output_bits,
               [&](auto in, auto out) { dense_loop(p, in, weights, bias, out); });
}

void max_pool2d_s16(const PoolParams& p, const int16_t* input, int16_t* output) {
  detail::max_pool_portable(p, input, output);
}

void avg_pool2d_s16(const AvgPoolParams& p, const int16_t* input, int16_t* output) {
  detail::avg_pool_portable(p, input, output);
}

void requantize_tensor(const RequantizeParams& p, const void* input, void* output) {
  with_formats(input, p.input_bits, output, p.output_bits, [&](auto in, auto out) { requantize_loop(p, in, out); });
}

void concat_wide(const ConcatParams& p, const void* const* inputs, const int32_t* input_bits, void* output,
                 int32_t output_bits) {
  with_output(output, output_bits, [&](auto out) { concat_into(p, inputs, input_bits, out); });
}

}  // namespace rt
}  // namespace tinyq
