// tinyq runtime, internal: helpers shared by the Cortex-M paths of conv, depthwise and dense
// (conv_arm_dsp.cpp, conv_arm_mve.cpp, depthwise_arm_*.cpp, dense_arm_*.cpp).
#ifndef TINYQ_RUNTIME_CONV_ARM_COMMON_HPP
#define TINYQ_RUNTIME_CONV_ARM_COMMON_HPP

#include <stdint.h>

#include "tinyq/kernel_path.hpp"

#if defined(TINYQ_PATH_ARM_DSP)
#include <arm_acle.h>
#endif
#if defined(TINYQ_PATH_ARM_MVE)
#include <arm_mve.h>
#endif

#include "arm_instructions.hpp"
#include "high_mul_requant.hpp"
#include "kernel_util.hpp"
#include "tinyq/requantize.hpp"

namespace tinyq {
namespace rt {
namespace arm {

#if defined(TINYQ_PATH_ARM_DSP)
// The input offset in both 16-bit halves, for SXTAB16.
inline int32_t offset_pair(int32_t offset) {
  return static_cast<int32_t>((static_cast<uint32_t>(offset) & 0xFFFFu) * 0x10001u);
}
#endif

// The largest shift of a layer's requantization: whether every channel allows a fast form
// (SMMLA's shift <= -2, the vector forms' <= -2 or <= 0) is one comparison with it.
inline int32_t widest_shift(const Requant& r) {
  int32_t widest = r.shift[0];
  for (int32_t i = 1; i < r.count; ++i) widest = r.shift[i] > widest ? r.shift[i] : widest;
  return widest;
}

// The same value as requantize(), in fewer instructions for the usual case of a multiplier
// below 1/2 (shift <= -2, total shift s = 31 - shift >= 33). Writing the product as
// hi * 2^32 + lo (0 <= lo < 2^32) and t = s - 32 >= 1:
//   floor((hi * 2^32 + lo + 2^(s-1)) / 2^s) = floor((hi + 2^(t-1) + lo / 2^32) / 2^t)
//                                           = (hi + 2^(t-1)) >> t,
// because hi + 2^(t-1) is an integer and lo / 2^32 < 1 cannot carry it across a multiple of
// 2^t. No overflow: |hi| <= 2^30 (|product| <= 2^62) and 2^(t-1) <= 2^29 (s <= 62).
// SMMLA + ASR instead of a 64-bit add and a 64-bit variable shift.
__attribute__((noinline)) inline int32_t requantize_slow(int32_t acc, int32_t multiplier, int32_t shift) {
  return requantize(acc, multiplier, shift);
}
TINYQ_ALWAYS_INLINE int32_t requantize_fast(int32_t acc, int32_t multiplier, int32_t shift) {
  if (__builtin_expect(shift <= -2, 1)) {
    const int32_t t = -1 - shift;
    return smmla(acc, multiplier, 1 << (t - 1)) >> t;
  }
  return requantize_slow(acc, multiplier, shift);
}

// TFLite's two roundings (requantize_tflite), out of line: the MAC paths reach it only for
// models TFLite quantized, and then only through the C output stages below.
__attribute__((noinline)) inline int32_t requantize_tflite_call(int32_t acc, int32_t multiplier, int32_t shift) {
  return requantize_tflite(acc, multiplier, shift);
}

// requantize_tflite() in one SMLAL for shift <= -2 and the multipliers the host allows
// (detail::requantize_tflite_smlal), the rest out of line.
TINYQ_ALWAYS_INLINE int32_t requantize_tflite_fast(int32_t acc, int32_t multiplier, int32_t shift) {
  if (__builtin_expect(shift <= -2, 1)) return detail::requantize_tflite_smlal(acc, multiplier, shift);
  return requantize_tflite_call(acc, multiplier, shift);
}

// The output stage of every MAC kernel: clamp(output_offset + v, act_min, act_max), with the
// bounds moved into v's domain once per call (see detail::offset_and_clamp for why).
struct OutputStage {
  int32_t lo, hi, offset;
  int32_t requant_mask;  // 0 for per-tensor requantization, -1 per channel: index = channel & mask
  const int32_t* multiplier;
  const int32_t* shift;
  int32_t rounding;  // Requant::rounding

  OutputStage(const Requant& r, int32_t output_offset, int32_t act_min, int32_t act_max)
      : lo(act_min - output_offset),
        hi(act_max - output_offset),
        offset(output_offset),
        requant_mask(r.count == 1 ? 0 : -1),
        multiplier(r.multiplier),
        shift(r.shift),
        rounding(r.rounding) {}

  TINYQ_ALWAYS_INLINE int8_t clamp(int32_t v) const {
    return static_cast<int8_t>((v < lo ? lo : (v > hi ? hi : v)) + offset);
  }
  // Either rounding; tinyq's own is the expected branch.
  TINYQ_ALWAYS_INLINE int32_t requantize_any(int32_t acc, int32_t m, int32_t s) const {
    if (__builtin_expect(rounding == kRoundSingle, 1)) return requantize_fast(acc, m, s);
    return requantize_tflite_fast(acc, m, s);
  }
  TINYQ_ALWAYS_INLINE int8_t finish(int32_t acc, int32_t channel) const {
    const int32_t i = channel & requant_mask;
    return clamp(requantize_any(acc, multiplier[i], shift[i]));
  }
  // The same with the rounding known at compile time (Rounding == rounding), for loops that
  // finish every output here: no test per output.
  template <int32_t Rounding>
  TINYQ_ALWAYS_INLINE int8_t finish_as(int32_t acc, int32_t channel) const {
    const int32_t i = channel & requant_mask;
    return clamp(Rounding == kRoundSingle ? requantize_fast(acc, multiplier[i], shift[i])
                                          : requantize_tflite_fast(acc, multiplier[i], shift[i]));
  }
};

// Requantizes and stores `count` accumulators of consecutive channels [channel, channel +
// count), in C, for any shift and either rounding: the DSP path's fallback where
// tinyq_dsp_requantize's precondition does not hold, and the MVE path's where
// requantize_lanes' does not.
__attribute__((noinline)) inline void finish_channels(const OutputStage& st, const int32_t* acc, int32_t channel,
                                                      int32_t count, int8_t* out) {
  const int32_t lo = st.lo, hi = st.hi, offset = st.offset;
  const int32_t step = st.requant_mask & 1;  // 1 per channel, 0 per tensor
  const int32_t* m = st.multiplier + (channel & st.requant_mask);
  const int32_t* s = st.shift + (channel & st.requant_mask);
  for (int32_t i = 0; i < count; ++i) {
    const int32_t v = st.requantize_any(acc[i], *m, *s);
    m += step;
    s += step;
    out[i] = static_cast<int8_t>((v < lo ? lo : (v > hi ? hi : v)) + offset);
  }
}

#if defined(TINYQ_PATH_ARM_DSP)
// Requantization of rows of accumulators in assembly (conv_arm_dsp.cpp): GCC 12 spills in
// every C form of this loop, about 25 instructions per output. Here a channel's parameters
// cost 6 instructions (shared by four pixels in conv) and an output 5 with the full int8 range
// (SSAT clamps) or 10 with a narrower activation range: about 7 to 19 per output. Only for
// requantize_fast's common case, shift <= -2, where requantize(acc) =
// SMMLA(acc, multiplier, 2^(t-1)) >> t with t = -1 - shift; RowRequantizer checks it once
// per layer and otherwise uses finish_channels.
struct DspRequantArgs {
  const int32_t* multiplier;  // of the first channel; one per channel
  const int32_t* shift;
  int32_t pixel_stride;    // four pixels: bytes from a pixel's outputs to the next pixel's
  int32_t lo, hi, offset;  // OutputStage's
  int32_t mode;            // bit 0: four pixels (pixel q's accumulators 16 q entries after
                           // pixel 0's); bit 1: full int8 range (clamp = SSAT #8); bit 2:
                           // TFLite's rounding (requantize_tflite_fast; not with four
                           // pixels and a narrow range, which lack the registers); bit 3:
                           // one pixel, per-tensor parameters (loaded once, 13 to 16
                           // instructions per output instead of 19 to 22); bit 4 (with bits
                           // 1 and 2 only): TFLite's rounding on the doubled accumulator,
                           // offset = 2 * output offset + 1 (RowRequantizer::bound_accumulators)
};
extern "C" void tinyq_dsp_requantize(const int32_t* acc, int8_t* out, int32_t count, const DspRequantArgs* args);

// |accumulator| <= max |bias| + (128 + |input_offset|) * 128 * k for k products of an offset
// int8 input and an int8 weight: RowRequantizer::bound_accumulators' argument.
inline int64_t accumulator_bound(const int32_t* bias, int32_t channels, int32_t k, int32_t input_offset) {
  int64_t b = 0;
  for (int32_t i = 0; bias != nullptr && i < channels; ++i) {
    const int64_t v = bias[i] < 0 ? -int64_t{bias[i]} : int64_t{bias[i]};
    b = v > b ? v : b;
  }
  const int64_t x = 128 + (input_offset < 0 ? -int64_t{input_offset} : int64_t{input_offset});
  return b + x * 128 * k;
}

// Drives tinyq_dsp_requantize for a layer: at most kChunk channels per call, per-tensor
// parameters repeated into a per-channel table once, the portable-equivalent C path when some
// shift is above -2 (and for TFLite's rounding of four pixels into a narrow range).
class RowRequantizer {
 public:
  static constexpr int32_t kChunk = 32;         // channels per run() at most
  static constexpr int32_t kQuadChannels = 16;  // four pixels: pixel q's accumulators at acc[16 q ..]

  RowRequantizer(const OutputStage& st, const Requant& r)
      : st_(st), per_tensor_(r.count == 1), tflite_(r.rounding == kRoundTflite), channels_(r.count) {
    fast_ = widest_shift(r) <= -2;
    if (per_tensor_) {
      for (int32_t i = 0; i < kChunk; ++i) {
        multiplier_[i] = r.multiplier[0];
        shift_[i] = r.shift[0];
      }
    }
    args_.lo = st.lo;
    args_.hi = st.hi;
    args_.offset = st.offset;
    full_range_ = st.lo == -128 - st.offset && st.hi == 127 - st.offset;
    mode_bits_ = (full_range_ ? 2 : 0) | (tflite_ ? 4 : 0);
  }

  // TFLite's rounding in 7 instructions an output instead of 9 (DspRequantArgs::mode bit 4),
  // for a caller whose accumulators never exceed `bound` in magnitude: detail::fused_requant's
  // doubled form, valid for every channel. Needs the full int8 range and multipliers >= 0
  // (TFLite's); otherwise nothing changes.
  void bound_accumulators(int64_t bound) {
#if defined(__OPTIMIZE_SIZE__)  // -Os: tinyq_dsp_requantize has no doubled loops
    (void)bound;
    return;
#endif
    if (!tflite_ || !fast_ || !full_range_) return;
    const int32_t count = per_tensor_ ? 1 : channels_;
    const int32_t* m = per_tensor_ ? multiplier_ : st_.multiplier;
    const int32_t* sh = per_tensor_ ? shift_ : st_.shift;
    for (int32_t i = 0; i < count; ++i) {
      if (!detail::fused_requant(m[i], sh[i], st_.offset, bound, true).valid) return;
    }
    mode_bits_ |= 16;
    args_.offset = 2 * st_.offset + 1;
  }

  // Channels [channel, channel + count) of `pixels` (1 or 4) pixels: pixel q's accumulators at
  // acc[q * kQuadChannels ..], its outputs at out + q * pixel_stride; count <= kChunk for one
  // pixel, <= kQuadChannels for four.
  void run(const int32_t* acc, int32_t channel, int32_t count, int8_t* out, int32_t pixels, int32_t pixel_stride) {
    if (!fast_ || (tflite_ && pixels == 4 && !full_range_)) {
      for (int32_t q = 0; q < pixels; ++q)
        finish_channels(st_, acc + q * kQuadChannels, channel, count, out + q * pixel_stride);
      return;
    }
    args_.multiplier = per_tensor_ ? multiplier_ : st_.multiplier + channel;
    args_.shift = per_tensor_ ? shift_ : st_.shift + channel;
    args_.pixel_stride = pixel_stride;
    args_.mode = (pixels == 4 ? 1 : (per_tensor_ ? 8 : 0)) | mode_bits_;
    tinyq_dsp_requantize(acc, out, count, &args_);
  }

 private:
  const OutputStage& st_;
  bool per_tensor_, tflite_, fast_, full_range_;
  int32_t mode_bits_;  // DspRequantArgs::mode bits 1, 2 and 4, the same for every call
  int32_t channels_;
  DspRequantArgs args_;
  int32_t multiplier_[kChunk];
  int32_t shift_[kChunk];
};
#endif

#if defined(TINYQ_PATH_ARM_MVE)
// requantize() on four lanes, bit-identical, for shift <= -2 (the callers check every channel
// of a layer once and otherwise take the scalar path): with hi = VMULH(acc, m), the high word
// of the product, requantize() = (hi + 2^(t-1)) >> t (the identity of requantize_fast above),
// which is VRSHL(hi, -t): a rounding right shift, computed without intermediate overflow.
// neg_t holds -t = shift + 1 per lane.
TINYQ_ALWAYS_INLINE int32x4_t requantize_lanes(int32x4_t acc, int32x4_t multiplier, int32x4_t neg_t) {
  return vrshlq_s32(vmulhq_s32(acc, multiplier), neg_t);
}

// requantize_tflite() on four lanes, bit-identical, for shift <= 0 (the callers check every
// channel once and otherwise take the scalar path). Helium has TFLite's two steps as
// instructions: VQRDMULH is SaturatingRoundingDoublingHighMul exactly (saturation included),
// and RoundingDivideByPOT(y, r) is VRSHL(y + fixup, -r), a rounding (ties up) right shift of
// y - 1 for negative y when r > 0, which turns its ties away from zero; fixup = (y & shift) >>
// 31 is -1 exactly then (shift = -r has its sign bit set for r > 0). VQADD keeps y = -2^31
// from wrapping: RoundingDivideByPOT(-2^31, r) = -2^(31-r) = VRSHL(-2^31, -r). shift holds
// shift per lane (CMSIS-NN's arm_divide_by_power_of_two_mve).
TINYQ_ALWAYS_INLINE int32x4_t requantize_lanes_tflite(int32x4_t acc, int32x4_t multiplier, int32x4_t shift) {
  const int32x4_t y = vqrdmulhq_s32(acc, multiplier);
  const int32x4_t fixup = vshrq_n_s32(vandq_s32(y, shift), 31);
  return vrshlq_s32(vqaddq_s32(y, fixup), shift);
}
#endif

}  // namespace arm
}  // namespace rt
}  // namespace tinyq

#endif
