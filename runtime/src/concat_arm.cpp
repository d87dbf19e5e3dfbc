// tinyq runtime: concatenation on Cortex-M (DSP: M4/M7; Helium: M55). Inputs in the output's
// quantization are copied as in the portable path; the others are requantized with a 32-bit
// high multiply instead of the portable 64-bit requantize (about 40 instructions per element
// on a Cortex-M4, most of them the 64-bit shift by a run-time amount), wherever
// high_mul_requant proves the two equal for every int8 input; elsewhere the portable
// requantize runs.
#include "tinyq/kernel_path.hpp"

#if defined(TINYQ_PATH_ARM_DSP) || defined(TINYQ_PATH_ARM_MVE)

#include <arm_acle.h>
#if defined(TINYQ_PATH_ARM_MVE)
#include <arm_mve.h>
#endif

#include "arm_instructions.hpp"
#include "byte_copy.hpp"
#include "high_mul_requant.hpp"
#include "kernel_paths.hpp"
#include "kernel_util.hpp"

namespace tinyq {
namespace rt {

namespace {

#if defined(TINYQ_PATH_ARM_MVE)
constexpr int32_t kHighShift = 31;  // VQDMULH keeps floor(x * M / 2^31)
#else
constexpr int32_t kHighShift = 32;  // SMMLA keeps floor(x * M / 2^32)
#endif

// The rescale of input i, valid only if the identity holds for every q + offset
// (|q + offset| <= 255: int8 values, the offset a negated zero point).
detail::HighMulRequant prepare(const ConcatParams& p, int32_t i) {
  detail::HighMulRequant r = detail::high_mul_requant(p.multiplier[i], p.shift[i], p.output_offset, 255, kHighShift);
  r.valid = r.valid && p.input_offset[i] >= -127 && p.input_offset[i] <= 128;
  return r;
}

// One row of input i: q_out = saturate(output_offset + requantize(q + offset, M, S)).
void requantize_row(const ConcatParams& p, int32_t i, const detail::HighMulRequant& r, const int8_t* in, int8_t* out,
                    int32_t n) {
  const int32_t offset = p.input_offset[i];
  if (!r.valid) {
    for (int32_t j = 0; j < n; ++j) {
      out[j] =
          detail::offset_and_clamp(requantize(in[j] + offset, p.multiplier[i], p.shift[i]), p.output_offset, -128, 127);
    }
    return;
  }
  // (q + offset) << pre as one multiply-add, q * 2^pre + offset * 2^pre: both fit, since
  // `valid` includes 255 << pre fitting int32.
  const int32_t scale = static_cast<int32_t>(1) << r.pre;
  const int32_t scaled_offset = offset * scale;
#if defined(TINYQ_PATH_ARM_MVE)
  const int32x4_t scale_v = vdupq_n_s32(scale);
  const int32x4_t lo = vdupq_n_s32(-128);
  const int32x4_t hi = vdupq_n_s32(127);
  for (int32_t j = 0; j < n; j += 4) {
    const mve_pred16_t lanes = vctp32q(static_cast<uint32_t>(n - j));
    const int32x4_t x = vmlasq_n_s32(vldrbq_z_s32(in + j, lanes), scale_v, scaled_offset);
    int32x4_t v = vqdmulhq_n_s32(x, r.multiplier);
    v = vshlq_r_s32(vaddq_n_s32(v, r.round), -r.post);  // negative count: arithmetic right shift
    vstrbq_p_s32(out + j, vminq_s32(vmaxq_s32(v, lo), hi), lanes);
  }
#else
  for (int32_t j = 0; j < n; ++j) {
    const int32_t v = arm::smmla(arm::mla(in[j], scale, scaled_offset), r.multiplier, r.round) >> r.post;
    out[j] = static_cast<int8_t>(__ssat(v, 8));
  }
#endif
}

void concat_arm(const ConcatParams& p, const int8_t* const* inputs, int8_t* output) {
  // The rescales of the first inputs, prepared once per call (64-bit checks) rather than once
  // per row; later inputs (rare: a concat of more than 8) prepare theirs per row.
  constexpr int32_t kPrepared = 8;
  detail::HighMulRequant prepared[kPrepared];
  bool copy_only = true;
  for (int32_t i = 0; i < p.inputs; ++i) {
    if (i < kPrepared) prepared[i] = prepare(p, i);
    copy_only = copy_only && p.multiplier[i] == 0;
  }
  if (copy_only) return concat_s8_portable(p, inputs, output);  // plain copies: nothing to gain
  for (int32_t r = 0; r < p.outer; ++r) {
    for (int32_t i = 0; i < p.inputs; ++i) {
      const int32_t row = p.input_row[i];
      const int8_t* in = inputs[i] + r * row;
      if (p.multiplier[i] == 0) {
        detail::copy_bytes(output, in, row);  // same quantization: the bytes already mean the same
      } else {
        requantize_row(p, i, i < kPrepared ? prepared[i] : prepare(p, i), in, output, row);
      }
      output += row;
    }
  }
}

}  // namespace

#if defined(TINYQ_PATH_ARM_MVE)
void concat_s8_mve(const ConcatParams& p, const int8_t* const* inputs, int8_t* output) {
  concat_arm(p, inputs, output);
}
#else
void concat_s8_dsp(const ConcatParams& p, const int8_t* const* inputs, int8_t* output) {
  concat_arm(p, inputs, output);
}
#endif

}  // namespace rt
}  // namespace tinyq

#endif
