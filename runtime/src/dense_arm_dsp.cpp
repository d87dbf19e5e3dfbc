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

using arm::accumulator_bound;
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
// 1 LDR + 2 SXTAB16 for the input, 4 x (LDR, 2 SXTB16, 2 SMLAD) for the rows: 23, and the
// loop is unrolled twice (an odd group first), so SUBS + BNE cost 1 per group: 24
// instructions for 16 MACs (25 before the unrolling). Rows 1 and 3 are read at [row 0 / row 2 + stride] before the
// post-incremented loads of rows 0 and 2, so four rows cost two pointers.
//   r0 input, r1 weights of row 0, r2 groups of 4 inputs (>= 1), r3 -> Dense4Args.
struct Dense4Args {
  int32_t stride;   // bytes from one weight row to the next (in_features)
  int32_t offset2;  // input offset in both halves
  int32_t* acc;     // the 4 rows' accumulators, in and out
};
extern "C" void tinyq_dsp_dense_4rows(const int8_t* input, const int8_t* weights, int32_t groups, Dense4Args* args);
#define TINYQ_DSP_DENSE4_GROUP       \
  "  ldr r11, [r0], #4\n"            \
  "  sxtab16 r10, r5, r11\n"         \
  "  sxtab16 r11, r5, r11, ror #8\n" \
  "  ldr r12, [r1, r3]\n"            \
  "  sxtb16 lr, r12\n"               \
  "  smlad r7, lr, r10, r7\n"        \
  "  sxtb16 r12, r12, ror #8\n"      \
  "  smlad r7, r12, r11, r7\n"       \
  "  ldr r12, [r1], #4\n"            \
  "  sxtb16 lr, r12\n"               \
  "  smlad r6, lr, r10, r6\n"        \
  "  sxtb16 r12, r12, ror #8\n"      \
  "  smlad r6, r12, r11, r6\n"       \
  "  ldr r12, [r4, r3]\n"            \
  "  sxtb16 lr, r12\n"               \
  "  smlad r9, lr, r10, r9\n"        \
  "  sxtb16 r12, r12, ror #8\n"      \
  "  smlad r9, r12, r11, r9\n"       \
  "  ldr r12, [r4], #4\n"            \
  "  sxtb16 lr, r12\n"               \
  "  smlad r8, lr, r10, r8\n"        \
  "  sxtb16 r12, r12, ror #8\n"      \
  "  smlad r8, r12, r11, r8\n"
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
  tst r2, #1
  beq 2f
)" TINYQ_DSP_DENSE4_GROUP R"(
  subs r2, r2, #1
  beq 3f
2:
)" TINYQ_DSP_DENSE4_GROUP TINYQ_DSP_DENSE4_GROUP R"(
  subs r2, r2, #2
  bne 2b
3:
  pop {r3}
  strd r6, r7, [r3]
  strd r8, r9, [r3, #8]
  pop {r4-r11, pc}
  .size tinyq_dsp_dense_4rows, .-tinyq_dsp_dense_4rows
  .text
)");
#undef TINYQ_DSP_DENSE4_GROUP

void dense_rows(const DenseParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias, int8_t* output) {
  const OutputStage st(p.requant, p.output_offset, p.act_min, p.act_max);
  RowRequantizer rq(st, p.requant);
  if (p.requant.rounding == kRoundTflite) {
    rq.bound_accumulators(accumulator_bound(bias, p.out_features, p.in_features, p.input_offset));
  }
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

// The packed form (kernels.hpp, dense_s8_packed): 4 rows per block, two row pairs sharing
// each weight word. Per group of 4 inputs: LDR + 2 SXTB16 give the raw input pairs
// X0 = (x0, x2), X1 = (x1, x3); LDM loads the block's 4 words; per word, SMLAD of the raw word
// (halves 256 * w_hi + (w_lo + 128)) into A, UXTB16 (w_lo + 128 alone) and SMLAD into L:
// 16 instructions for 16 MACs (14 with the input pre-expanded). A and L start at
// c = -128 * sum(x), so that after the block L = row lo's sum exactly and
// A - L = 256 * row hi's sum modulo 2^32, exact after ASR #8 as |row hi's sum| < 2^23
// (dense_s8_pack checks it). The packed bias (input offset folded in) is added and the 4
// sums stored; then the next block, without leaving the function.
//   r0 packed weights of the first block, r1 -> DensePackedArgs (updated).
// Inputs expanded to int16 pairs on the stack at most (2 bytes each): wider layers take the
// loop that expands in place.
constexpr int32_t kDensePackedExpandInputs = 1024;
struct DensePackedArgs {
  const int8_t* input;  // the input vector (groups * 4 bytes)
  int32_t groups;       // in_features / 4
  int32_t start;        // c = -128 * sum(input), modulo 2^32
  const int32_t* bias;  // packed bias of the first block's rows (advanced by 4 per block)
  void* acc;            // the rows' int32 sums out (advanced by 16 bytes per block), or, fused,
                        // their output bytes (advanced by 4)
  int32_t blocks;       // blocks of 4 rows (>= 1; counted down)
};
// Two loops: tinyq_dsp_dense_packed_x16 reads the input pre-expanded once per call into
// int16 pairs (X0, X1 of each group, on the stack: LDRD, 14 instructions per 16 MACs, 58 per
// 64 unrolled 4 times), tinyq_dsp_dense_packed expands it in the loop (LDR + 2 SXTB16: 17,
// 66) for layers wider than the stack buffer. groups % 4 single groups run first.
extern "C" void tinyq_dsp_dense_packed(const int8_t* packed, DensePackedArgs* args);
extern "C" void tinyq_dsp_dense_packed_x16(const int8_t* packed, DensePackedArgs* args);
// The same with the requantization fused (kDensePackFused parameters; args->bias walks the
// 16-word blocks, args->acc is the int8 output, 4 bytes per block).
extern "C" void tinyq_dsp_dense_packed_fused(const int8_t* packed, DensePackedArgs* args);
extern "C" void tinyq_dsp_dense_packed_fused_x16(const int8_t* packed, DensePackedArgs* args);
// clang-format off
#define TINYQ_DENSE_PACKED_LOAD_RAW \
  "  ldr r8, [r0], #4\n"            \
  "  sxtb16 r7, r8\n"               \
  "  sxtb16 r8, r8, ror #8\n"
#define TINYQ_DENSE_PACKED_LOAD_X16 \
  "  ldrd r7, r8, [r0], #8\n"
#define TINYQ_DENSE_PACKED_GROUP(LOAD) \
  LOAD                                 \
  "  ldm r1!, {r9-r12}\n"              \
  "  smlad r3, r9, r7, r3\n"           \
  "  uxtb16 r9, r9\n"                  \
  "  smlad r4, r9, r7, r4\n"           \
  "  smlad r3, r10, r8, r3\n"          \
  "  uxtb16 r10, r10\n"                \
  "  smlad r4, r10, r8, r4\n"          \
  "  smlad r5, r11, r7, r5\n"          \
  "  uxtb16 r11, r11\n"                \
  "  smlad r6, r11, r7, r6\n"          \
  "  smlad r5, r12, r8, r5\n"          \
  "  uxtb16 r12, r12\n"                \
  "  smlad r6, r12, r8, r6\n"
// After a block: the 4 sums plus their packed biases stored as int32 (acc), or (fused) requantized
// with the block's (multiplier, addend, t) triplets and stored as 4 bytes (dest).
#define TINYQ_DENSE_PACKED_STORE_SUMS                                                \
  "  ldr r7, [lr, #12]\n"                                                            \
  "  ldm r7!, {r8-r11}\n"                                                            \
  "  str r7, [lr, #12]\n"                                                            \
  "  subs r3, r3, r4\n"                                                              \
  "  add r3, r8, r3, asr #8\n"                                                       \
  "  add r4, r4, r9\n"                                                               \
  "  subs r5, r5, r6\n"                                                              \
  "  add r5, r10, r5, asr #8\n"                                                      \
  "  add r6, r6, r11\n"                                                              \
  "  ldr r7, [lr, #16]\n"                                                            \
  "  stm r7!, {r3-r6}\n"                                                             \
  "  str r7, [lr, #16]\n"
#define TINYQ_DENSE_PACKED_REQUANTIZE                                                \
  "  ldr r7, [lr, #12]\n"                                                            \
  "  ldm r7!, {r8-r11}\n"                                                            \
  "  subs r3, r3, r4\n"                                                              \
  "  add r3, r8, r3, asr #8\n"                                                       \
  "  add r4, r4, r9\n"                                                               \
  "  subs r5, r5, r6\n"                                                              \
  "  add r5, r10, r5, asr #8\n"                                                      \
  "  add r6, r6, r11\n"                                                              \
  "  ldm r7!, {r8-r10}\n"                                                            \
  "  smmla r3, r3, r8, r9\n"                                                         \
  "  asr r3, r3, r10\n"                                                              \
  "  ssat r3, #8, r3\n"                                                              \
  "  ldm r7!, {r8-r10}\n"                                                            \
  "  smmla r4, r4, r8, r9\n"                                                         \
  "  asr r4, r4, r10\n"                                                              \
  "  ssat r4, #8, r4\n"                                                              \
  "  ldm r7!, {r8-r10}\n"                                                            \
  "  smmla r5, r5, r8, r9\n"                                                         \
  "  asr r5, r5, r10\n"                                                              \
  "  ssat r5, #8, r5\n"                                                              \
  "  ldm r7!, {r8-r10}\n"                                                            \
  "  smmla r6, r6, r8, r9\n"                                                         \
  "  asr r6, r6, r10\n"                                                              \
  "  ssat r6, #8, r6\n"                                                              \
  "  str r7, [lr, #12]\n"                                                            \
  "  ldr r7, [lr, #16]\n"                                                            \
  "  strb r3, [r7], #1\n"                                                            \
  "  strb r4, [r7], #1\n"                                                            \
  "  strb r5, [r7], #1\n"                                                            \
  "  strb r6, [r7], #1\n"                                                            \
  "  str r7, [lr, #16]\n"
#define TINYQ_DENSE_PACKED_FUNCTION(NAME, LOAD, FINISH)                              \
  TINYQ_ASM_BEGIN(NAME) \
  "  push {r4-r11, lr}\n"                                                            \
  "  mov lr, r1\n"                                                                   \
  "  mov r1, r0\n"                                                                   \
  "0:\n"                                                                             \
  "  ldr r0, [lr]\n"                                                                 \
  "  ldr r3, [lr, #8]\n"                                                             \
  "  mov r4, r3\n"                                                                   \
  "  mov r5, r3\n"                                                                   \
  "  mov r6, r3\n"                                                                   \
  "  ldr r2, [lr, #4]\n"                                                             \
  "  ands r2, r2, #3\n"                                                              \
  "  beq 2f\n"                                                                       \
  "5:\n"                                                                             \
  TINYQ_DENSE_PACKED_GROUP(LOAD)                                                     \
  "  subs r2, r2, #1\n"                                                              \
  "  bne 5b\n"                                                                       \
  "2:\n"                                                                             \
  "  ldr r2, [lr, #4]\n"                                                             \
  "  lsrs r2, r2, #2\n"                                                              \
  "  beq 3f\n"                                                                       \
  "1:\n"                                                                             \
  TINYQ_DENSE_PACKED_GROUP(LOAD)                                                     \
  TINYQ_DENSE_PACKED_GROUP(LOAD)                                                     \
  TINYQ_DENSE_PACKED_GROUP(LOAD)                                                     \
  TINYQ_DENSE_PACKED_GROUP(LOAD)                                                     \
  "  subs r2, r2, #1\n"                                                              \
  "  bne 1b\n"                                                                       \
  "3:\n"                                                                             \
  FINISH                                                                             \
  "  ldr r2, [lr, #20]\n"                                                            \
  "  subs r2, r2, #1\n"                                                              \
  "  str r2, [lr, #20]\n"                                                            \
  "  bne 0b\n"                                                                       \
  "  pop {r4-r11, pc}\n"                                                             \
  TINYQ_ASM_END(NAME)
__asm__(TINYQ_DENSE_PACKED_FUNCTION("tinyq_dsp_dense_packed", TINYQ_DENSE_PACKED_LOAD_RAW,
                                    TINYQ_DENSE_PACKED_STORE_SUMS));
__asm__(TINYQ_DENSE_PACKED_FUNCTION("tinyq_dsp_dense_packed_x16", TINYQ_DENSE_PACKED_LOAD_X16,
                                    TINYQ_DENSE_PACKED_STORE_SUMS));
__asm__(TINYQ_DENSE_PACKED_FUNCTION("tinyq_dsp_dense_packed_fused", TINYQ_DENSE_PACKED_LOAD_RAW,
                                    TINYQ_DENSE_PACKED_REQUANTIZE));
__asm__(TINYQ_DENSE_PACKED_FUNCTION("tinyq_dsp_dense_packed_fused_x16", TINYQ_DENSE_PACKED_LOAD_X16,
                                    TINYQ_DENSE_PACKED_REQUANTIZE));
#undef TINYQ_DENSE_PACKED_STORE_SUMS
#undef TINYQ_DENSE_PACKED_REQUANTIZE
#undef TINYQ_DENSE_PACKED_FUNCTION
#undef TINYQ_DENSE_PACKED_GROUP
#undef TINYQ_DENSE_PACKED_LOAD_X16
#undef TINYQ_DENSE_PACKED_LOAD_RAW
// clang-format on

// Per input vector: sum(x) = sum(x + 128) - 128 n, 4 bytes per USADA8, into args->start as
// -128 * sum(x); the input pairs expanded into `expanded` when it holds them (returns whether).
bool prepare_input(const int8_t* in, int32_t n, uint32_t* expanded, DensePackedArgs& args) {
  uint32_t biased = 0;
  const bool expand = n <= kDensePackedExpandInputs;
  if (expand) {
    uint32_t* e = expanded;
    for (int32_t i = 0; i < n; i += 4, e += 2) {
      const uint32_t x = load_u32(in + i);
      biased = __usada8(x ^ 0x80808080u, 0u, biased);
      e[0] = static_cast<uint32_t>(__sxtb16(static_cast<int32_t>(x)));
      e[1] = sxtb16_ror8(x);
    }
  } else {
    for (int32_t i = 0; i < n; i += 4) biased = __usada8(load_u32(in + i) ^ 0x80808080u, 0u, biased);
  }
  const uint32_t sum = biased - 128u * static_cast<uint32_t>(n);
  args.start = static_cast<int32_t>(0u - 128u * sum);
  args.input = expand ? reinterpret_cast<const int8_t*>(expanded) : in;
  args.groups = n >> 2;
  return expand;
}

}  // namespace

void dense_s8_packed_dsp(const DenseParams& p, const int8_t* input, const int8_t* packed_weights,
                         const int32_t* packed_bias, int8_t* output) {
  const int32_t n = p.in_features;
  if (n < 4 || n % 4 != 0) return dense_s8_packed_portable(p, input, packed_weights, packed_bias, output);
  const OutputStage st(p.requant, p.output_offset, p.act_min, p.act_max);
  RowRequantizer rq(st, p.requant);
  constexpr int32_t kChunk = RowRequantizer::kChunk;  // a multiple of 4
  int32_t acc[kChunk];
  alignas(8) uint32_t expanded[kDensePackedExpandInputs / 2];  // X0, X1 per group of 4 inputs
  DensePackedArgs args;
  for (int32_t r = 0; r < p.rows; ++r) {
    const bool expand = prepare_input(input + r * n, n, expanded, args);
    for (int32_t o0 = 0; o0 < p.out_features; o0 += kChunk) {
      const int32_t left = p.out_features - o0;
      const int32_t count = left < kChunk ? left : kChunk;
      args.bias = packed_bias + o0;
      args.acc = acc;
      args.blocks = (count + 3) >> 2;
      if (expand)
        tinyq_dsp_dense_packed_x16(packed_weights + o0 * n, &args);
      else
        tinyq_dsp_dense_packed(packed_weights + o0 * n, &args);
      rq.run(acc, o0, count, output + o0, 1, 0);
    }
    output += p.out_features;
  }
}

void dense_s8_packed_fused_dsp(const DenseParams& p, const int8_t* input, const int8_t* packed_weights,
                               const int32_t* packed_params, int8_t* output) {
  const int32_t n = p.in_features;
  if (n < 4 || n % 4 != 0) return dense_s8_packed_fused_portable(p, input, packed_weights, packed_params, output);
  alignas(8) uint32_t expanded[kDensePackedExpandInputs / 2];
  DensePackedArgs args;
  const int32_t full = p.out_features >> 2, tail = p.out_features & 3;
  for (int32_t r = 0; r < p.rows; ++r) {
    const bool expand = prepare_input(input + r * n, n, expanded, args);
    const auto run = expand ? tinyq_dsp_dense_packed_fused_x16 : tinyq_dsp_dense_packed_fused;
    if (full > 0) {
      args.bias = packed_params;
      args.acc = output;
      args.blocks = full;
      run(packed_weights, &args);
    }
    if (tail > 0) {  // the last rows' block into a buffer: its padded rows have no output
      int8_t last[4];
      args.bias = packed_params + 16 * full;
      args.acc = last;
      args.blocks = 1;
      run(packed_weights + 4 * full * n, &args);
      for (int32_t q = 0; q < tail; ++q) output[4 * full + q] = last[q];
    }
    output += p.out_features;
  }
}

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
