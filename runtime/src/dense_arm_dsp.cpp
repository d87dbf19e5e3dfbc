// tinyq runtime: dense_s8 on the ARMv7E-M DSP extension (Cortex-M4, M7, M33).
//
// Matrix times vector, four output features per pass over the input: per 4 inputs, one LDR and
// two SXTAB16 turn the input word into the pairs [x0, x2], [x1, x3] with the input offset
// folded in, then each of the four weight rows costs 1 LDR, 2 SXTB16 (the same pair layout,
// so nothing is shuffled) and 2 SMLAD: 25 instructions for 16 MACs (tinyq_dsp_dense_4rows).
// Four rows is what the 14 allocatable registers hold. No scratch: the input is unpacked on
// the fly, which four rows amortise. Up to 32 features' accumulators are then requantized
// together by tinyq_dsp_requantize.
// Sums are exact integers wrapping modulo 2^32 like the portable ones: same bytes.
#include "tinyq/kernel_path.hpp"  // defines the TINYQ_PATH_* macro tested below

#if defined(TINYQ_PATH_ARM_DSP)

#include "conv_arm_common.hpp"
#include "kernel_paths.hpp"

namespace tinyq {
namespace rt {

namespace {

using arm::load_u32;
using arm::offset_pair;
using arm::OutputStage;
using arm::RowRequantizer;
using arm::sxtab16_ror8;
using arm::sxtb16_ror8;

TINYQ_ALWAYS_INLINE int32_t row_bias(const int32_t* bias, int32_t o) { return bias != nullptr ? bias[o] : 0; }

// The 4-row loop in assembly: it needs all 14 allocatable registers (4 accumulators, input
// pointer, 2 row pointers + the row stride, count, offset pair, 2 input pairs, weight word and
// one unpacked weight pair), and GCC 12 spills from any C form of it. Per 4 inputs:
// 1 LDR + 2 SXTAB16 for the input, 4 x (LDR, 2 SXTB16, 2 SMLAD) for the rows, SUBS + BNE:
// 25 instructions for 16 MACs. Rows 1 and 3 are read at [row 0 / row 2 + stride] before the
// post-incremented loads of rows 0 and 2, so four rows cost two pointers.
//   r0 input, r1 weights of row 0, r2 groups of 4 inputs (>= 1), r3 -> Dense4Args.
struct Dense4Args {
  int32_t stride;   // bytes from one weight row to the next (in_features)
  int32_t offset2;  // input offset in both halves
  int32_t* acc;     // the 4 rows' accumulators, in and out
};
extern "C" void tinyq_dsp_dense_4rows(const int8_t* input, const int8_t* weights, int32_t groups, Dense4Args* args);
__asm__(R"(
  .section .text.tinyq_dsp_dense_4rows,"ax",%progbits
  .syntax unified
  .thumb
  .align 2
  .global tinyq_dsp_dense_4rows
  .hidden tinyq_dsp_dense_4rows
  .type tinyq_dsp_dense_4rows, %function
  .thumb_func
tinyq_dsp_dense_4rows:
  push {r4-r11, lr}
  ldr r12, [r3, #8]
  push {r12}
  ldr r5, [r3, #4]
  ldrd r6, r7, [r12]
  ldrd r8, r9, [r12, #8]
  ldr r3, [r3]
  add r4, r1, r3, lsl #1
1:
  ldr r11, [r0], #4
  sxtab16 r10, r5, r11
  sxtab16 r11, r5, r11, ror #8
  ldr r12, [r1, r3]
  sxtb16 lr, r12
  smlad r7, lr, r10, r7
  sxtb16 r12, r12, ror #8
  smlad r7, r12, r11, r7
  ldr r12, [r1], #4
  sxtb16 lr, r12
  smlad r6, lr, r10, r6
  sxtb16 r12, r12, ror #8
  smlad r6, r12, r11, r6
  ldr r12, [r4, r3]
  sxtb16 lr, r12
  smlad r9, lr, r10, r9
  sxtb16 r12, r12, ror #8
  smlad r9, r12, r11, r9
  ldr r12, [r4], #4
  sxtb16 lr, r12
  smlad r8, lr, r10, r8
  sxtb16 r12, r12, ror #8
  smlad r8, r12, r11, r8
  subs r2, r2, #1
  bne 1b
  pop {r3}
  strd r6, r7, [r3]
  strd r8, r9, [r3, #8]
  pop {r4-r11, pc}
  .size tinyq_dsp_dense_4rows, .-tinyq_dsp_dense_4rows
  .text
)");

void dense_rows(const DenseParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias, int8_t* output) {
  const OutputStage st(p.requant, p.output_offset, p.act_min, p.act_max);
  RowRequantizer rq(st, p.requant);
  constexpr int32_t kChunk = RowRequantizer::kChunk;
  const int32_t n = p.in_features;
  const int32_t n4 = n & ~3;
  const int32_t offset2 = offset_pair(p.input_offset);
  int32_t acc[kChunk];
  Dense4Args args;
  args.stride = n;
  args.offset2 = offset2;
  for (int32_t r = 0; r < p.rows; ++r) {
    const int8_t* in = input + r * n;
    for (int32_t o0 = 0; o0 < p.out_features;) {
      // Chunks of up to kChunk features; the last chunk keeps at least 4 when the layer has 4.
      const int32_t left = p.out_features - o0;
      int32_t count = left < kChunk ? left : kChunk;
      if (left - count > 0 && left - count < 4) count -= 4;
      if (count >= 4) {
        // Blocks of 4 rows; a remainder of 1 to 3 reruns the chunk's last 4 rows (recomputed
        // from the bias, same bytes), so the one-row loop below only serves layers of < 4.
        for (int32_t j = 0; j < count; j += 4) {
          if (j + 4 > count) j = count - 4;
          const int8_t* w0 = weights + (o0 + j) * n;
          for (int32_t q = 0; q < 4; ++q) acc[j + q] = row_bias(bias, o0 + j + q);
          args.acc = acc + j;
          if (n4 > 0) tinyq_dsp_dense_4rows(in, w0, n4 >> 2, &args);
          for (int32_t i = n4; i < n; ++i) {  // the in_features % 4 last inputs
            const int32_t xi = in[i] + p.input_offset;
            for (int32_t q = 0; q < 4; ++q) acc[j + q] += xi * w0[q * n + i];
          }
        }
      } else {
        for (int32_t j = 0; j < count; ++j) {
          const int8_t* w0 = weights + (o0 + j) * n;
          int32_t a0 = row_bias(bias, o0 + j);
          const int8_t* x = in;
          for (int32_t i = n4 >> 2; i > 0; --i) {
            const uint32_t xv = load_u32(x);
            x += 4;
            const uint32_t wv = load_u32(w0);
            w0 += 4;
            a0 = __smlad(__sxtb16(static_cast<int32_t>(wv)), __sxtab16(offset2, static_cast<int32_t>(xv)), a0);
            a0 = __smlad(static_cast<int32_t>(sxtb16_ror8(wv)),
                         static_cast<int32_t>(sxtab16_ror8(static_cast<uint32_t>(offset2), xv)), a0);
          }
          for (int32_t i = n4; i < n; ++i) a0 += (in[i] + p.input_offset) * *w0++;
          acc[j] = a0;
        }
      }
      rq.run(acc, o0, count, output + o0, 1, 0);
      o0 += count;
    }
    output += p.out_features;
  }
}

}  // namespace

void dense_s8_dsp(const DenseParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                  int8_t* output) {
  // in + input_offset must fit a 16-bit lane: always so for input_offset = -zero_point.
  if (p.input_offset >= -127 && p.input_offset <= 128) {
    dense_rows(p, input, weights, bias, output);
  } else {
    dense_s8_portable(p, input, weights, bias, output);
  }
}

}  // namespace rt
}  // namespace tinyq

#endif  // TINYQ_PATH_ARM_DSP
