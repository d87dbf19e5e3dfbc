// tinyq runtime: dense_s8 on Helium (MVE: Cortex-M55, M85).
//
// With an input offset of 0 (generated code for Helium folds it into the bias at generation
// time), four output features per pass and no weight sums (tinyq_mve_dense4): 9 instructions
// and LE for 64 MACs. Otherwise three output features per pass over the input
// (tinyq_mve_dense3, assembly): per 16 inputs
// one VLDRB of the input shared by three rows, each row a VLDRB, a VMLADAVA.S8 (16 MACs) and a
// VADDVA.S8 (its weight sum): 10 instructions and LE for 48 MACs. Three rows are what the
// even registers allow (VMLADAVA and VADDVA accumulate in r0, r2, .. r12 only, and LE needs
// lr). A feature count that is not a multiple of 3 recomputes up to two features of the last
// full pass (same bytes again) rather than running a slower 1- or 2-row loop. The
// input offset is folded as in conv_arm_mve.cpp: sum (x + offset) * w = sum x * w +
// offset * sum w, all modulo 2^32 (the true sum fits int32: the host's guarantee), so the
// bytes equal the portable path's. The weight sums are taken in the same pass: unlike
// CMSIS-NN's MVE dense layer, no precomputed kernel-sum buffer is needed (or can be forgotten).
#include "tinyq/kernel_path.hpp"  // defines the TINYQ_PATH_* macro tested below

#if defined(TINYQ_PATH_ARM_MVE)

#include <arm_mve.h>

#include "conv_arm_common.hpp"
#include "kernel_paths.hpp"
#include "mve_dot_asm.hpp"

namespace tinyq {
namespace rt {

namespace {

using arm::OutputStage;

TINYQ_ALWAYS_INLINE int32_t fold(const int32_t* bias, int32_t o, int32_t dot, int32_t sum, int32_t offset) {
  return static_cast<int32_t>(static_cast<uint32_t>(bias != nullptr ? bias[o] : 0) + static_cast<uint32_t>(dot) +
                              static_cast<uint32_t>(offset) * static_cast<uint32_t>(sum));
}

// Dot products of x with three weight rows (w, w + k, w + 2k) and the rows' sums, K = k:
// out[0 .. 2] the dot products, out[3 .. 5] the sums. The K % 16 tail runs once with
// VCTP-predicated loads (inactive lanes read nothing and are zero).
//   r0 x, r1 w, r2 k, r3 out.
extern "C" void tinyq_mve_dense3(const int8_t* x, const int8_t* w, int32_t k, int32_t* out);
// clang-format off
__asm__(TINYQ_MVE_DOT_MACRO R"(
  .section .text.tinyq_mve_dense3,"ax",%progbits
  .syntax unified
  .thumb
  .align 2
  .global tinyq_mve_dense3
  .hidden tinyq_mve_dense3
  .type tinyq_mve_dense3, %function
  .thumb_func
tinyq_mve_dense3:
  push {r4-r11, lr}
  mov r9, r3
  mov r12, r2
  mov r11, r0
  mov r3, r1
  add r5, r1, r2
  add r7, r5, r2
  movs r0, #0
  movs r2, #0
  movs r4, #0
  movs r6, #0
  mov r8, #0
  mov r10, #0
  lsr lr, r12, #4
  TINYQ_MVE_DOT x=r11, chunks=lr, k=r12, done=3f, w0=r3, a0=r0, w1=r5, a1=r2, w2=r7, a2=r4, s0=r6, s1=r8, s2=r10
3:
  stm r9, {r0, r2, r4, r6, r8, r10}
  pop {r4-r11, pc}
  .size tinyq_mve_dense3, .-tinyq_mve_dense3
  .text
)" TINYQ_MVE_DOT_PURGE);
// clang-format on

// bias[0 .. 3] + the dot products of x with four weight rows (w .. w + 3k), to out[0 .. 3],
// without the weight sums: for an input offset of 0 (Helium's generated code folds it into the
// bias): 9 instructions and LE for 64 MACs.
//   r0 x, r1 w, r2 k, r3 out; stack: bias (4 words).
extern "C" void tinyq_mve_dense4(const int8_t* x, const int8_t* w, int32_t k, int32_t* out, const int32_t* bias);
// clang-format off
__asm__(TINYQ_MVE_DOT_MACRO R"(
  .section .text.tinyq_mve_dense4,"ax",%progbits
  .syntax unified
  .thumb
  .align 2
  .global tinyq_mve_dense4
  .hidden tinyq_mve_dense4
  .type tinyq_mve_dense4, %function
  .thumb_func
tinyq_mve_dense4:
  push {r4-r11, lr}
  mov r8, r3
  mov r12, r2
  mov r11, r0
  mov r3, r1
  add r5, r1, r2
  add r7, r5, r2
  add r9, r7, r2
  ldr r10, [sp, #36]
  ldm r10, {r0, r2, r4, r6}
  lsr lr, r12, #4
  TINYQ_MVE_DOT x=r11, chunks=lr, k=r12, done=3f, w0=r3, a0=r0, w1=r5, a1=r2, w2=r7, a2=r4, w3=r9, a3=r6
3:
  stm r8, {r0, r2, r4, r6}
  pop {r4-r11, pc}
  .size tinyq_mve_dense4, .-tinyq_mve_dense4
  .text
)" TINYQ_MVE_DOT_PURGE);
// clang-format on

// The output stage of up to kChunk folded accumulators of consecutive features [o0, o0 + n):
// four at a time in vector registers (requantize_lanes / requantize_lanes_tflite, exact) when
// every feature's shift allows it (`vector`, checked once per call), else the scalar stage.
// Four outputs cost about 12 instructions instead of about 80.
constexpr int32_t kChunk = 64;
template <int32_t Rounding>
TINYQ_ALWAYS_INLINE void finish_chunk(const OutputStage& st, bool vector, const int32_t* acc, int32_t o0, int32_t n,
                                      int8_t* out) {
  if (!vector) {
    for (int32_t j = 0; j < n; ++j) out[j] = st.finish_as<Rounding>(acc[j], o0 + j);
    return;
  }
  const bool per_channel = st.requant_mask != 0;
  const int32x4_t lo = vdupq_n_s32(st.lo), hi = vdupq_n_s32(st.hi);
  const int32_t shift_bias = Rounding == kRoundTflite ? 0 : 1;  // requantize_lanes takes -t = shift + 1
  int32x4_t m = vdupq_n_s32(st.multiplier[0]), sh = vdupq_n_s32(st.shift[0] + shift_bias);
  for (int32_t j = 0; j < n; j += 4) {
    const mve_pred16_t lanes = vctp32q(static_cast<uint32_t>(n - j));
    if (per_channel) {
      m = vldrwq_z_s32(st.multiplier + o0 + j, lanes);
      sh = vaddq_n_s32(vldrwq_z_s32(st.shift + o0 + j, lanes), shift_bias);
    }
    const int32x4_t a = vldrwq_z_s32(acc + j, lanes);
    int32x4_t v = Rounding == kRoundTflite ? arm::requantize_lanes_tflite(a, m, sh) : arm::requantize_lanes(a, m, sh);
    v = vaddq_n_s32(vminq_s32(vmaxq_s32(v, lo), hi), st.offset);
    vstrbq_p_s32(out + j, v, lanes);
  }
}

// One copy of the loop per rounding, each out of line so that it compiles alone. Per row, the
// features go in chunks of kChunk: their folded accumulators (bias + dot + offset * weight sum)
// to the stack, then finish_chunk.
template <int32_t Rounding>
__attribute__((noinline)) void dense_rows(const DenseParams& p, const int8_t* input, const int8_t* weights,
                                          const int32_t* bias, int8_t* output) {
  const OutputStage st(p.requant, p.output_offset, p.act_min, p.act_max);
  // The vector stage's condition (as conv's ChannelTable): shifts <= -2 (tinyq's rounding) or
  // <= 0 (TFLite's).
  const bool vector = arm::widest_shift(p.requant) <= (Rounding == kRoundTflite ? 0 : -2);
  const int32_t n = p.in_features;
  alignas(8) int32_t acc[kChunk];
  for (int32_t r = 0; r < p.rows; ++r) {
    const int8_t* in = input + r * n;
    for (int32_t o0 = 0; o0 < p.out_features; o0 += kChunk) {
      const int32_t count = p.out_features - o0 < kChunk ? p.out_features - o0 : kChunk;
      const int8_t* w_chunk = weights + o0 * n;
      int32_t o = 0;
      if (p.input_offset == 0 && count >= 4) {  // no weight sums needed: four rows per pass
        static const int32_t kNoBias[4] = {0, 0, 0, 0};
        for (;; o += 4) {
          if (o + 4 > count) o = count - 4;  // the last pass overlaps the previous one
          tinyq_mve_dense4(in, w_chunk + o * n, n, acc + o, bias != nullptr ? bias + o0 + o : kNoBias);
          if (o + 4 == count) break;
        }
        o = count;
      } else if (count >= 3) {
        for (;; o += 3) {
          if (o + 3 > count) o = count - 3;  // the last pass overlaps the previous one
          int32_t r3[6];
          tinyq_mve_dense3(in, w_chunk + o * n, n, r3);
          for (int32_t j = 0; j < 3; ++j) acc[o + j] = fold(bias, o0 + o + j, r3[j], r3[3 + j], p.input_offset);
          if (o + 3 == count) break;
        }
        o = count;
      }
      for (; o + 2 <= count; o += 2) {
        const int8_t* w0 = w_chunk + o * n;
        const int8_t* w1 = w0 + n;
        int32_t d0 = 0, d1 = 0, s0 = 0, s1 = 0;
        for (int32_t i = 0; i < n; i += 16) {
          const mve_pred16_t pr = vctp8q(static_cast<uint32_t>(n - i));
          const int8x16_t x = vldrbq_z_s8(in + i, pr);
          const int8x16_t a = vldrbq_z_s8(w0 + i, pr);
          const int8x16_t b = vldrbq_z_s8(w1 + i, pr);
          d0 = vmladavaq_s8(d0, x, a);
          s0 = vaddvaq_s8(s0, a);
          d1 = vmladavaq_s8(d1, x, b);
          s1 = vaddvaq_s8(s1, b);
        }
        acc[o] = fold(bias, o0 + o, d0, s0, p.input_offset);
        acc[o + 1] = fold(bias, o0 + o + 1, d1, s1, p.input_offset);
      }
      if (o < count) {  // an odd last feature
        const int8_t* w0 = w_chunk + o * n;
        int32_t d0 = 0, s0 = 0;
        for (int32_t i = 0; i < n; i += 16) {
          const mve_pred16_t pr = vctp8q(static_cast<uint32_t>(n - i));
          const int8x16_t a = vldrbq_z_s8(w0 + i, pr);
          d0 = vmladavaq_s8(d0, vldrbq_z_s8(in + i, pr), a);
          s0 = vaddvaq_s8(s0, a);
        }
        acc[o] = fold(bias, o0 + o, d0, s0, p.input_offset);
      }
      finish_chunk<Rounding>(st, vector, acc, o0, count, output + o0);
    }
    output += p.out_features;
  }
}

}  // namespace

void dense_s8_mve(const DenseParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                  int8_t* output) {
  if (p.requant.rounding == kRoundTflite) return dense_rows<kRoundTflite>(p, input, weights, bias, output);
  dense_rows<kRoundSingle>(p, input, weights, bias, output);
}

}  // namespace rt
}  // namespace tinyq

#endif  // TINYQ_PATH_ARM_MVE
