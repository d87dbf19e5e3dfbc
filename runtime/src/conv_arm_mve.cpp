// tinyq runtime: conv2d_s8 on Helium (MVE: Cortex-M55, M85).
//
// Four output channels x one pixel per step: one VLDRB of 16 patch values is shared by four
// VMLADAVA.S8 (16 MACs each) with four weight rows, and the four sums of consecutive channels
// are requantized as one vector (requantize_lanes) and stored as 4 bytes. All whole blocks of
// 4 channels of a pixel run in one assembly call (tinyq_mve_conv_blocks); a last block of 1
// to 3 channels, layers whose requantization needs the scalar path, and layers with TFLite's
// rounding (requantize_lanes_tflite, or scalar) run ChannelBlock (tinyq_mve_dot4 plus C).
// What depends only on the channel (bias + offset * weight sum,
// multiplier, shift) is prepared once per call in scratch (prepare_channels). The patches stay int8, so the input
// offset cannot be added to them; it is folded instead:
//   sum (x + offset) * w = sum x * w + offset * sum w,
// and padded taps are filled with the int8 value -offset (the zero point), whose x + offset
// is 0. All arithmetic wraps modulo 2^32 (VMLADAVA and vector adds do; the C sums use
// uint32_t) and the true result fits int32 (host guarantee), so the bytes equal the portable
// path's although partial sums may differ.
// K % 16 tails use tail-predicated loads (VCTP): no byte outside a row or patch is read.
// Variants: pointwise (1x1 over real pixels) reads the pixels' channels in place; general
// copies each pixel's patch (im2col, int8; rows of interior windows inline) and runs every
// channel block on it. Where in_c is a multiple of 16 and K > 64 (conv2d_s8_mve_pairs) both
// copy two pixels' patches interleaved and run 2 pixels x 4 channels per pass
// (tinyq_mve_conv_pairs: each weight load shared by the two pixels).
#include "tinyq/kernel_path.hpp"  // defines the TINYQ_PATH_* macro tested below

#if defined(TINYQ_PATH_ARM_MVE)

#include <arm_mve.h>

#include "byte_copy.hpp"
#include "conv_arm_common.hpp"
#include "kernel_paths.hpp"
#include "mve_dot_asm.hpp"

namespace tinyq {
namespace rt {

namespace {

using arm::OutputStage;

// The narrow forms (tinyq_mve_pointwise_narrow and the row-of-patches conv) are speed forms:
// `-Os` builds leave them out (about 1.5 KB), as they leave out the DSP path's.
#if defined(__OPTIMIZE_SIZE__)
constexpr bool kNarrowForms = false;
#else
constexpr bool kNarrowForms = true;
#endif

// What conv needs per output channel, prepared once per call in scratch (3 * out_c int32):
// base = bias + input_offset * sum of the channel's weights (modulo 2^32), and the
// requantization as a multiplier and -t = shift + 1 (see requantize_lanes). Stored per block
// of channels [oc, oc + n) as it is consumed: n bases, n multipliers, n values of -t, starting
// at entry 3 * oc, so that a block of 4 loads them as three consecutive vectors (one pointer
// for tinyq_mve_conv_blocks). Blocks are 4 channels from the start of each group, the last one
// of a group shorter when its channel count is not a multiple of 4.
// TFLite's rounding (Requant::rounding) keeps the shift itself in the table instead of -t.
struct ChannelTable {
  int32_t* table;
  bool vector;           // tinyq's rounding and every shift <= -2: vector requantization applies
  bool tflite_vector;    // TFLite's rounding and every shift <= 0: requantize_lanes_tflite applies
  bool tflite_negative;  // ... and every shift < 0 (the pair form's fix-up without the mask)
  const int32_t* block(int32_t oc) const { return table + 3 * oc; }
  // The assembly forms' rounding (with vector or tflite_vector): 0 tinyq's, 1 TFLite's, 2
  // TFLite's with every shift negative (TINYQ_MVE_REQUANT's tflite argument).
  int32_t form() const { return vector ? 0 : (tflite_negative ? 2 : 1); }
};
// The sum of a weight row: whole chunks unpredicated, the tail once (GCC 12 re-creates the
// VCTP predicate per chunk in a predicated loop: 10 instructions a chunk instead of 3).
TINYQ_ALWAYS_INLINE int32_t row_sum(const int8_t* w, int32_t k) {
  int32_t sum = 0, i = 0;
  for (; i + 16 <= k; i += 16) sum = vaddvaq_s8(sum, vldrbq_s8(w + i));
  if (i < k) sum = vaddvaq_s8(sum, vldrbq_z_s8(w + i, vctp8q(static_cast<uint32_t>(k - i))));
  return sum;
}

ChannelTable prepare_channels(const ConvParams& p, const int8_t* weights, const int32_t* bias, int32_t k,
                              int32_t* scratch) {
  // The table holds shift + 1 (-t) for tinyq's rounding, the shift itself for TFLite's; the
  // largest shift decides which vector requantization applies.
  const bool tflite = p.requant.rounding == kRoundTflite;
  const int32_t shift_bias = tflite ? 0 : 1;
  const bool per_tensor = p.requant.count == 1;
  int32_t max_shift = -31;
  int32x4_t max_shifts = vdupq_n_s32(-31);
  ChannelTable t{scratch, false, false, false};
  const int32_t group_out_c = p.out_c / p.groups;
  for (int32_t g = 0; g < p.groups; ++g) {
    for (int32_t oc = g * group_out_c; oc < (g + 1) * group_out_c; oc += 4) {
      const int32_t n = (g + 1) * group_out_c - oc < 4 ? (g + 1) * group_out_c - oc : 4;
      int32_t* entry = scratch + 3 * oc;
      if (n == 4) {  // a whole block as vectors (base modulo 2^32: VMUL and VADD wrap)
        int32_t sums[4];
        for (int32_t j = 0; j < 4; ++j) sums[j] = row_sum(weights + (oc + j) * k, k);
        const int32x4_t b = bias != nullptr ? vldrwq_s32(bias + oc) : vdupq_n_s32(0);
        vstrwq_s32(entry, vaddq_s32(b, vmulq_n_s32(vldrwq_s32(sums), p.input_offset)));
        const int32x4_t m = per_tensor ? vdupq_n_s32(p.requant.multiplier[0]) : vldrwq_s32(p.requant.multiplier + oc);
        const int32x4_t sh = per_tensor ? vdupq_n_s32(p.requant.shift[0]) : vldrwq_s32(p.requant.shift + oc);
        vstrwq_s32(entry + 4, m);
        vstrwq_s32(entry + 8, vaddq_n_s32(sh, shift_bias));
        max_shifts = vmaxq_s32(max_shifts, sh);
        continue;
      }
      for (int32_t j = 0; j < n; ++j) {
        const int32_t o = oc + j;
        entry[j] = static_cast<int32_t>(static_cast<uint32_t>(bias != nullptr ? bias[o] : 0) +
                                        static_cast<uint32_t>(p.input_offset) *
                                            static_cast<uint32_t>(row_sum(weights + o * k, k)));
        const int32_t r = per_tensor ? 0 : o;
        entry[n + j] = p.requant.multiplier[r];
        entry[2 * n + j] = p.requant.shift[r] + shift_bias;
        max_shift = p.requant.shift[r] > max_shift ? p.requant.shift[r] : max_shift;
      }
    }
  }
  max_shift = vmaxvq_s32(max_shift, max_shifts);
  t.vector = !tflite && max_shift <= -2;
  t.tflite_vector = tflite && max_shift <= 0;
  t.tflite_negative = tflite && max_shift < 0;
  return t;
}

// Whole blocks of 4 channels for one pixel, requantization and stores included, in assembly:
// the per-block work of tinyq_mve_dot4 below plus the vector requantization, without a call,
// a spill or a reload per block. Only when ChannelTable::vector; tinyq_mve_conv_blocks_tflite,
// the same with requantize_lanes_tflite (VQRDMULH, VAND, VSHR, VQADD, VRSHL: four instructions
// more per block), when ChannelTable::tflite_vector. Per block: the dot products
// (9 instructions and LE per 16 values, a predicated K % 16 tail), then the 4 sums into one
// vector (STM + VLDRW through 16 bytes of stack: QEMU 7.2, on which the tests run, puts the
// lanes of the two-register VMOV Qd[2], Qd[0], Rt, Rt2 elsewhere than GCC 12 expects for
// vcreateq, so that form is avoided), + base, VMULH, VRSHL (requantize_lanes), clamp, + output offset, and one
// VSTRB.32 of 4 bytes: about 27 instructions besides the dot products.
//   r0 x (K values), r1 the first block's first weight row, r2 K, r3 blocks (>= 1);
//   stack: out (the first block's first output), args.
struct BlockArgs {
  const int32_t* table;    // the first block's ChannelTable entry
  int32_t lo, hi, offset;  // OutputStage's
};
extern "C" void tinyq_mve_conv_blocks(const int8_t* x, const int8_t* w, int32_t k, int32_t blocks, int8_t* out,
                                      const BlockArgs* args);
extern "C" void tinyq_mve_conv_blocks_tflite(const int8_t* x, const int8_t* w, int32_t k, int32_t blocks, int8_t* out,
                                             const BlockArgs* args);
// clang-format off
__asm__(TINYQ_MVE_DOT_MACRO TINYQ_MVE_REQUANT_MACRO R"(
  .macro TINYQ_MVE_CONV_BLOCKS name, tflite
)" TINYQ_ASM_BEGIN("\\name") R"(
  push {r4-r11, lr}
  vpush {d8-d13}
  mov r9, r3
  ldr r3, [sp, #84]
  ldr r11, [sp, #88]
  ldr r4, [r11, #4]
  vdup.32 q4, r4
  ldr r4, [r11, #8]
  vdup.32 q5, r4
  ldr r4, [r11, #12]
  vdup.32 q6, r4
  ldr r11, [r11]
  push {r0, r1}
  sub sp, #16
3:
  ldr r0, [sp, #16]
  add r4, r1, r2
  add r5, r4, r2
  add r7, r5, r2
  movs r6, #0
  mov r8, #0
  mov r10, #0
  mov r12, #0
  lsr lr, r2, #4
  TINYQ_MVE_DOT x=r0, chunks=lr, k=r2, done=4f, w0=r1, a0=r6, w1=r4, a1=r8, w2=r5, a2=r10, w3=r7, a3=r12
4:
  add r1, r7, lr
  stm sp, {r6, r8, r10, r12}
  vldrw.32 q0, [sp]
  TINYQ_MVE_REQUANT q0, q1, q2, r11, \tflite
  vmax.s32 q0, q0, q4
  vmin.s32 q0, q0, q5
  vadd.i32 q0, q0, q6
  vstrb.32 q0, [r3], #4
  subs r9, #1
  bne 3b
  add sp, #24
  vpop {d8-d13}
  pop {r4-r11, pc}
)" TINYQ_ASM_END("\\name") R"(
  .endm
  TINYQ_MVE_CONV_BLOCKS tinyq_mve_conv_blocks, 0
  TINYQ_MVE_CONV_BLOCKS tinyq_mve_conv_blocks_tflite, 1
  .purgem TINYQ_MVE_CONV_BLOCKS
  .text
)" TINYQ_MVE_DOT_PURGE TINYQ_MVE_REQUANT_PURGE);
// clang-format on

// tinyq_mve_conv_blocks for K = 32, 48 or 64 (KWS's 64 -> 64 pointwise layers): the pixel's
// K values are loaded once into q0 - q3 and held over all its blocks, and a block's 4 weight
// rows (4K contiguous bytes) are read by one post-incremented pointer. A block is then its
// 4 x K/16 VLDRB + VMLADAV(A) pairs, unrolled (the first of each row non-accumulating: no
// zeroing), and the requantization of tinyq_mve_conv_blocks: 50 instructions for K = 64
// instead of about 73 (no per-block row pointers, sums to zero, loop set-up or x reloads).
// Same arguments as tinyq_mve_conv_blocks; the block loop is a DLS/LE loop (lr = blocks).
//   registers: r0 x, then out (VSTRB.32 takes a low base register); r1 the weights; r2 lo,
//   r3 hi, r5 offset; r4, r6, r8, r10 the sums; r11 the ChannelTable entries; q0 - q3 x;
//   q4 / q7 weight chunks; q5 the sums as a vector; q6 / q7 parameters and temporaries.
// The same for K in (16, 64) not a multiple of 16 where the pixel pairs do not apply (an
// output channel count that is not a multiple of 4; the pairs took KWS's 10x4 stem, RGB stems
// and SWW's 40-channel layer): the last chunk of x and of each row is a VCTP-predicated load
// (K % 16 bytes read, the other lanes zero), and each row steps by K (r9) from the one pointer.
// (tflite 2: TFLite's rounding with every shift negative, the fix-up without the mask.)
// clang-format off
#define TINYQ_MVE_HELD_SUFFIXES(X) \
  X(2, 0, ) X(3, 0, ) X(4, 0, ) X(2, 0, t) X(3, 0, t) X(4, 0, t) \
  X(2, 1, ) X(3, 1, ) X(4, 1, ) X(2, 1, t) X(3, 1, t) X(4, 1, t) \
  X(2, 2, ) X(3, 2, ) X(4, 2, ) X(2, 2, t) X(3, 2, t) X(4, 2, t)
// clang-format on
#define TINYQ_MVE_HELD_DECLARE(chunks, tflite, tail)                   \
  extern "C" void tinyq_mve_conv_blocks_held##chunks##_##tflite##tail( \
      const int8_t* x, const int8_t* w, int32_t k, int32_t blocks, int8_t* out, const BlockArgs* args);
TINYQ_MVE_HELD_SUFFIXES(TINYQ_MVE_HELD_DECLARE)
#undef TINYQ_MVE_HELD_DECLARE
// clang-format off
__asm__(TINYQ_MVE_REQUANT_MACRO R"(
  .macro TINYQ_MVE_HELD_ROW acc, chunks
  vldrb.8 q4, [r1], #16
  vmladav.s8 \acc, q0, q4
  .if \chunks > 1
  vldrb.8 q7, [r1], #16
  vmladava.s8 \acc, q1, q7
  .endif
  .if \chunks > 2
  vldrb.8 q4, [r1], #16
  vmladava.s8 \acc, q2, q4
  .endif
  .if \chunks > 3
  vldrb.8 q7, [r1], #16
  vmladava.s8 \acc, q3, q7
  .endif
  .endm
  .macro TINYQ_MVE_HELD_ROW_TAIL acc, chunks
  vldrb.8 q4, [r1]
  vmladav.s8 \acc, q0, q4
  .if \chunks > 2
  vldrb.8 q7, [r1, #16]
  vmladava.s8 \acc, q1, q7
  .endif
  .if \chunks > 3
  vldrb.8 q4, [r1, #32]
  vmladava.s8 \acc, q2, q4
  .endif
  vpst
  .if \chunks == 2
  vldrbt.8 q7, [r1, #16]
  vmladava.s8 \acc, q1, q7
  .elseif \chunks == 3
  vldrbt.8 q4, [r1, #32]
  vmladava.s8 \acc, q2, q4
  .else
  vldrbt.8 q7, [r1, #48]
  vmladava.s8 \acc, q3, q7
  .endif
  add r1, r1, r9
  .endm
  .macro TINYQ_MVE_CONV_HELD chunks, tflite, tail=
)" TINYQ_ASM_BEGIN("tinyq_mve_conv_blocks_held\\chunks\\()_\\tflite\\tail") R"(
  push {r4-r11, lr}
  vpush {d8-d15}
  ldr r11, [sp, #104]
  .ifnb \tail
  mov r9, r2
  and r12, r2, #15
  vctp.8 r12
  vldrb.8 q0, [r0]
  .if \chunks > 2
  vldrb.8 q1, [r0, #16]
  .endif
  .if \chunks > 3
  vldrb.8 q2, [r0, #32]
  .endif
  vpst
  .if \chunks == 2
  vldrbt.8 q1, [r0, #16]
  .elseif \chunks == 3
  vldrbt.8 q2, [r0, #32]
  .else
  vldrbt.8 q3, [r0, #48]
  .endif
  .else
  vldrb.8 q0, [r0]
  .if \chunks > 1
  vldrb.8 q1, [r0, #16]
  .endif
  .if \chunks > 2
  vldrb.8 q2, [r0, #32]
  .endif
  .if \chunks > 3
  vldrb.8 q3, [r0, #48]
  .endif
  .endif
  ldr r0, [sp, #100]
  dls lr, r3
  ldrd r2, r3, [r11, #4]
  ldr r5, [r11, #12]
  ldr r11, [r11]
  sub sp, #16
3:
  .ifnb \tail
  TINYQ_MVE_HELD_ROW_TAIL r4, \chunks
  TINYQ_MVE_HELD_ROW_TAIL r6, \chunks
  TINYQ_MVE_HELD_ROW_TAIL r8, \chunks
  TINYQ_MVE_HELD_ROW_TAIL r10, \chunks
  .else
  TINYQ_MVE_HELD_ROW r4, \chunks
  TINYQ_MVE_HELD_ROW r6, \chunks
  TINYQ_MVE_HELD_ROW r8, \chunks
  TINYQ_MVE_HELD_ROW r10, \chunks
  .endif
  stm sp, {r4, r6, r8, r10}
  vldrw.32 q5, [sp]
  TINYQ_MVE_REQUANT q5, q6, q7, r11, \tflite
  vdup.32 q6, r2
  vmax.s32 q5, q5, q6
  vdup.32 q6, r3
  vmin.s32 q5, q5, q6
  vadd.i32 q5, q5, r5
  vstrb.32 q5, [r0], #4
  le lr, 3b
  add sp, #16
  vpop {d8-d15}
  pop {r4-r11, pc}
)" TINYQ_ASM_END("tinyq_mve_conv_blocks_held\\chunks\\()_\\tflite\\tail") R"(
  .endm
  .irp tflite, 0, 1, 2
  .irp chunks, 2, 3, 4
  TINYQ_MVE_CONV_HELD \chunks, \tflite
  TINYQ_MVE_CONV_HELD \chunks, \tflite, t
  .endr
  .endr
  .purgem TINYQ_MVE_CONV_HELD
  .purgem TINYQ_MVE_HELD_ROW
  .purgem TINYQ_MVE_HELD_ROW_TAIL
  .text
)" TINYQ_MVE_REQUANT_PURGE);
// clang-format on
#undef TINYQ_MVE_HELD_SUFFIXES

// The held form for K values, or null (K not in (16, 64]; -Os builds).
using BlocksFn = void (*)(const int8_t*, const int8_t*, int32_t, int32_t, int8_t*, const BlockArgs*);
// rq: 0 tinyq's rounding, 1 TFLite's, 2 TFLite's with every shift negative.
TINYQ_ALWAYS_INLINE BlocksFn held_blocks(int32_t k, int32_t rq) {
  if (!kNarrowForms || k <= 16 || k > 64) return nullptr;
#define TINYQ_MVE_HELD_ROUNDINGS(tail)                                                                               \
  {                                                                                                                  \
    {tinyq_mve_conv_blocks_held2_0##tail, tinyq_mve_conv_blocks_held3_0##tail, tinyq_mve_conv_blocks_held4_0##tail}, \
        {tinyq_mve_conv_blocks_held2_1##tail, tinyq_mve_conv_blocks_held3_1##tail,                                   \
         tinyq_mve_conv_blocks_held4_1##tail},                                                                       \
    {                                                                                                                \
      tinyq_mve_conv_blocks_held2_2##tail, tinyq_mve_conv_blocks_held3_2##tail, tinyq_mve_conv_blocks_held4_2##tail  \
    }                                                                                                                \
  }
  static constexpr BlocksFn kHeld[2][3][3] = {TINYQ_MVE_HELD_ROUNDINGS(), TINYQ_MVE_HELD_ROUNDINGS(t)};
#undef TINYQ_MVE_HELD_ROUNDINGS
  return kHeld[(k & 15) != 0 ? 1 : 0][rq][((k + 15) >> 4) - 2];
}

// Two pixels x 4 channels per pass (conv2d_s8_mve_pairs: in_c a multiple of 16 and K > 64,
// e.g. 3x3 convs of 16 channels or more, pointwise layers of 80 or more): the two pixels'
// patches are interleaved 16 bytes at a time (chunk i of the first at 32 i, of the second at
// 32 i + 16), so that one pointer reads both, and each weight chunk is loaded once for the two
// VMLADAVA of the pixels: per 16 values 2 + 4 loads for 8 VMLADAVA (128 MACs) instead of
// 1 + 4 for 4. The 8 sums take all the even registers VMLADAVA accumulates in (r0 - r12 and
// lr), so the chunk loop counts in r11 (SUBS, BNE, two chunks per pass) instead of LE. The
// first chunk starts the sums (VMLADAV); an odd count of the others runs one chunk before the
// loop (the block loop assembled twice, for either parity, so that no block tests it). The
// two pixels' sums are requantized from the same ChannelTable entries (TINYQ_MVE_REQUANT's
// steps, once per vector) and stored as 4 bytes each at out_a and out_b.
//   r0 x (the interleaved patches, 2K bytes), r1 the first block's first weight row (rows K
//   apart, blocks 4K apart), r2 K, r3 blocks (>= 1); stack: out_a, out_b, args.
//   In the chunk loop: r1 x, r3 / r5 / r7 / r9 the 4 rows, r11 the count; sums r0 r2 r4 r6
//   (first pixel), r8 r10 r12 lr (second); q0 / q1 the pixels' chunks, q2 / q3 weights.
//   q4 lo, q5 hi, q6 the output offset. Frame: [sp] and [sp, #16] the sums, #32 K, #36 x
//   (one LDRD), #40 the passes of two chunks after the first (and the odd one), #44 the next
//   block's table entries, #48 the end of the blocks' entries (the loop's end).
extern "C" void tinyq_mve_conv_pairs(const int8_t* x, const int8_t* w, int32_t k, int32_t blocks, int8_t* out_a,
                                     int8_t* out_b, const BlockArgs* args);
extern "C" void tinyq_mve_conv_pairs_tflite(const int8_t* x, const int8_t* w, int32_t k, int32_t blocks, int8_t* out_a,
                                            int8_t* out_b, const BlockArgs* args);
// The same for K > 16 not a multiple of 16 (conv2d_s8_mve_pairs_tail): the K / 16 whole chunks
// as above (none after the first is allowed), then the last one, whose weight loads are
// predicated to K % 16 bytes (VCTP once per call; inactive lanes are zero, so the input
// buffer's bytes past each patch count for nothing; three rows under one VPST, q7 the third's);
// the next block's rows start K % 16 bytes past where the last chunk read. Frame: #52 K % 16.
extern "C" void tinyq_mve_conv_pairs_tail(const int8_t* x, const int8_t* w, int32_t k, int32_t blocks, int8_t* out_a,
                                          int8_t* out_b, const BlockArgs* args);
extern "C" void tinyq_mve_conv_pairs_tflite_tail(const int8_t* x, const int8_t* w, int32_t k, int32_t blocks,
                                                 int8_t* out_a, int8_t* out_b, const BlockArgs* args);
// TFLite's rounding with every shift negative (ChannelTable::tflite_negative): the fix-up
// without the mask (TINYQ_MVE_REQUANT's tflite = 2), one instruction less per vector.
extern "C" void tinyq_mve_conv_pairs_tflite2(const int8_t* x, const int8_t* w, int32_t k, int32_t blocks, int8_t* out_a,
                                             int8_t* out_b, const BlockArgs* args);
extern "C" void tinyq_mve_conv_pairs_tflite2_tail(const int8_t* x, const int8_t* w, int32_t k, int32_t blocks,
                                                  int8_t* out_a, int8_t* out_b, const BlockArgs* args);
// clang-format off
__asm__(TINYQ_MVE_REQUANT_MACRO R"(
  .macro TINYQ_MVE_PAIR_CHUNK op
  vldrb.8 q1, [r1, #16]
  vldrb.8 q0, [r1], #32
  vldrb.8 q2, [r3], #16
  \op\().s8 r0, q0, q2
  \op\().s8 r8, q1, q2
  vldrb.8 q3, [r5], #16
  \op\().s8 r2, q0, q3
  \op\().s8 r10, q1, q3
  vldrb.8 q2, [r7], #16
  \op\().s8 r4, q0, q2
  \op\().s8 r12, q1, q2
  vldrb.8 q3, [r9], #16
  \op\().s8 r6, q0, q3
  \op\().s8 lr, q1, q3
  .endm
  .macro TINYQ_MVE_PAIR_BLOCKS odd, tflite, tail
3:
  ldrd r0, r1, [sp, #32]
  ldr r11, [sp, #40]
  add r5, r3, r0
  add r7, r5, r0
  add r9, r7, r0
  TINYQ_MVE_PAIR_CHUNK vmladav
  .if \odd
  TINYQ_MVE_PAIR_CHUNK vmladava
  .endif
  .if \tail
  cmp r11, #0
  beq 2f
  .endif
1:
  TINYQ_MVE_PAIR_CHUNK vmladava
  TINYQ_MVE_PAIR_CHUNK vmladava
  subs r11, #1
  bne 1b
2:
  .if \tail
  vldrb.8 q1, [r1, #16]
  vldrb.8 q0, [r1]
  vpsttt
  vldrbt.8 q2, [r3]
  vldrbt.8 q3, [r5]
  vldrbt.8 q7, [r7]
  vmladava.s8 r0, q0, q2
  vmladava.s8 r8, q1, q2
  vmladava.s8 r2, q0, q3
  vmladava.s8 r10, q1, q3
  vmladava.s8 r4, q0, q7
  vmladava.s8 r12, q1, q7
  vpst
  vldrbt.8 q2, [r9]
  vmladava.s8 r6, q0, q2
  vmladava.s8 lr, q1, q2
  .endif
  stm sp, {r0, r2, r4, r6, r8, r10, r12, lr}
  .if \tail
  ldr r3, [sp, #52]
  add r3, r9
  .else
  mov r3, r9
  .endif
  vldrw.32 q0, [sp]
  vldrw.32 q1, [sp, #16]
  ldr r11, [sp, #44]
  TINYQ_MVE_REQUANT q0, q2, q3, r11, \tflite, q1
  str r11, [sp, #44]
  vmax.s32 q0, q0, q4
  vmax.s32 q1, q1, q4
  vmin.s32 q0, q0, q5
  vmin.s32 q1, q1, q5
  vadd.i32 q0, q0, q6
  vadd.i32 q1, q1, q6
  ldrd r0, r2, [sp, #160]
  vstrb.32 q0, [r0], #4
  vstrb.32 q1, [r2], #4
  strd r0, r2, [sp, #160]
  ldr r0, [sp, #48]
  cmp r0, r11
  bne 3b
  .endm
  .macro TINYQ_MVE_CONV_PAIRS name, tflite, tail=0
)" TINYQ_ASM_BEGIN("\\name") R"(
  push {r4-r11, lr}
  vpush {d8-d15}
  sub sp, #60
  lsr r4, r2, #4
  sub r4, r4, #1
  strd r2, r0, [sp, #32]
  str r4, [sp, #40]
  .if \tail
  and r4, r2, #15
  str r4, [sp, #52]
  vctp.8 r4
  .endif
  ldr r11, [sp, #168]
  ldr r4, [r11, #4]
  vdup.32 q4, r4
  ldr r4, [r11, #8]
  vdup.32 q5, r4
  ldr r4, [r11, #12]
  vdup.32 q6, r4
  ldr r4, [r11]
  str r4, [sp, #44]
  movs r5, #48
  mla r4, r3, r5, r4
  str r4, [sp, #48]
  mov r3, r1
  ldr r4, [sp, #40]
  lsrs r4, r4, #1
  str r4, [sp, #40]
  bcs 8f
  TINYQ_MVE_PAIR_BLOCKS 0, \tflite, \tail
  b 9f
8:
  TINYQ_MVE_PAIR_BLOCKS 1, \tflite, \tail
9:
  add sp, #60
  vpop {d8-d15}
  pop {r4-r11, pc}
)" TINYQ_ASM_END("\\name") R"(
  .endm
  TINYQ_MVE_CONV_PAIRS tinyq_mve_conv_pairs, 0
  TINYQ_MVE_CONV_PAIRS tinyq_mve_conv_pairs_tflite, 1
  TINYQ_MVE_CONV_PAIRS tinyq_mve_conv_pairs_tail, 0, 1
  TINYQ_MVE_CONV_PAIRS tinyq_mve_conv_pairs_tflite_tail, 1, 1
  TINYQ_MVE_CONV_PAIRS tinyq_mve_conv_pairs_tflite2, 2
  TINYQ_MVE_CONV_PAIRS tinyq_mve_conv_pairs_tflite2_tail, 2, 1
  .purgem TINYQ_MVE_CONV_PAIRS
  .purgem TINYQ_MVE_PAIR_BLOCKS
  .purgem TINYQ_MVE_PAIR_CHUNK
  .text
)" TINYQ_MVE_REQUANT_PURGE);
// clang-format on

// The pair form for the table's rounding (ChannelTable::form) and the patch: `tail`, K not a
// multiple of 16 (conv2d_s8_mve_pairs_tail). Chosen by branches, not a table: GCC then calls
// the chosen form directly (a table's pointer cost IC's pair layers 0.08%).
using PairsFn = void (*)(const int8_t*, const int8_t*, int32_t, int32_t, int8_t*, int8_t*, const BlockArgs*);
TINYQ_ALWAYS_INLINE PairsFn pairs_fn(const ChannelTable& t, bool tail) {
  if (t.vector) return tail ? tinyq_mve_conv_pairs_tail : tinyq_mve_conv_pairs;
  if (t.tflite_negative) return tail ? tinyq_mve_conv_pairs_tflite2_tail : tinyq_mve_conv_pairs_tflite2;
  return tail ? tinyq_mve_conv_pairs_tflite_tail : tinyq_mve_conv_pairs_tflite;
}

// Pointwise layers of at most 16 input channels (MobileNet's first pointwise layers: VWW's
// 8 -> 16 and 16 -> 32): the products of a pixel are one predicated chunk, and
// tinyq_mve_conv_blocks' per-block set-up (four row pointers, zeroed sums, the loop's WLS and
// tail test) outweighs its 4 VMLADAVA. Here the loop order is turned around: per block of 4
// channels the four weight rows stay in q4 - q7 for a whole row of pixels, and a pixel costs
// one predicated VLDRB of its inputs, 4 VMLADAVA starting from the folded bases (LDRD into
// the even registers VMLADAVA needs) and the vector requantization of tinyq_mve_conv_blocks:
// about 23 instructions per pixel and block instead of about 40. The predicate (VCTP of K)
// is set once: nothing between the loads writes VPR. Inactive lanes read nothing and are zero.
//   r0 the first pixel's K inputs, r1 the block's first weight row (rows K apart), r2 K
//   (1 .. 16), r3 pixels (>= 1); stack: out (the first pixel's first output), args. In the
//   loop r12 walks the inputs and r0 the outputs (VSTRB.32 takes a low base register).
struct NarrowBlockArgs {
  const int32_t* table;    // the block's ChannelTable entry: 4 bases, 4 multipliers, 4 -t (or shifts)
  int32_t lo, hi, offset;  // OutputStage's
  int32_t x_step;          // bytes from a pixel's inputs to the next pixel's
  int32_t out_step;        // bytes from a pixel's outputs to the next pixel's
};
extern "C" void tinyq_mve_pointwise_narrow(const int8_t* x, const int8_t* w, int32_t k, int32_t pixels, int8_t* out,
                                           const NarrowBlockArgs* args);
extern "C" void tinyq_mve_pointwise_narrow_tflite(const int8_t* x, const int8_t* w, int32_t k, int32_t pixels,
                                                  int8_t* out, const NarrowBlockArgs* args);
// clang-format off
__asm__(R"(
  .macro TINYQ_MVE_POINTWISE_NARROW name, tflite
)" TINYQ_ASM_BEGIN("\\name") R"(
  push {r4-r11, lr}
  vpush {d8-d15}
  sub sp, #16
  mov r12, r0
  ldr r0, [sp, #116]
  ldr r11, [sp, #120]
  add r5, r1, r2
  add r7, r5, r2
  add r9, r7, r2
  vctp.8 r2
  vpstttt
  vldrbt.8 q4, [r1]
  vldrbt.8 q5, [r5]
  vldrbt.8 q6, [r7]
  vldrbt.8 q7, [r9]
  ldr r5, [r11]
  vldrw.32 q3, [r5, #16]
  ldrd r7, r9, [r11, #4]
  ldr lr, [r11, #12]
  ldrd r1, r2, [r11, #16]
1:
  ldrd r4, r6, [r5]
  ldrd r8, r10, [r5, #8]
  vpst
  vldrbt.8 q0, [r12]
  add r12, r1
  vmladava.s8 r4, q0, q4
  vmladava.s8 r6, q0, q5
  vmladava.s8 r8, q0, q6
  vmladava.s8 r10, q0, q7
  stm sp, {r4, r6, r8, r10}
  vldrw.32 q1, [sp]
  vldrw.32 q0, [r5, #32]
  .if \tflite
  vqrdmulh.s32 q1, q1, q3
  vand q2, q1, q0
  vshr.s32 q2, q2, #31
  vqadd.s32 q1, q1, q2
  .else
  vmulh.s32 q1, q1, q3
  .endif
  vrshl.s32 q1, q1, q0
  vdup.32 q0, r7
  vmax.s32 q1, q1, q0
  vdup.32 q0, r9
  vmin.s32 q1, q1, q0
  vadd.i32 q1, q1, lr
  vstrb.32 q1, [r0]
  add r0, r2
  subs r3, #1
  bne 1b
  add sp, #16
  vpop {d8-d15}
  pop {r4-r11, pc}
)" TINYQ_ASM_END("\\name") R"(
  .endm
  TINYQ_MVE_POINTWISE_NARROW tinyq_mve_pointwise_narrow, 0
  TINYQ_MVE_POINTWISE_NARROW tinyq_mve_pointwise_narrow_tflite, 1
  .purgem TINYQ_MVE_POINTWISE_NARROW
  .text
)");
// clang-format on

// Four channels' dot products with one pixel's K values at x, in assembly (GCC 12 reloads the
// five pointers from the stack inside any C form of this loop): per 16 values one VLDRB of x
// is shared by four VMLADAVA.S8 (16 MACs each) with the four weight rows, 9 instructions plus
// LE for 64 MACs; the K % 16 tail runs once with VCTP-predicated loads, whose inactive lanes
// read nothing and are zero. The four sums go to out[0 .. 3].
//   r0 x, r1 first row, r2 row stride, r3 whole 16-byte chunks; stack: out, tail (0 .. 15).
extern "C" void tinyq_mve_dot4(const int8_t* x, const int8_t* w0, int32_t stride, int32_t chunks, int32_t* out,
                               int32_t tail);
// clang-format off
__asm__(TINYQ_MVE_DOT_MACRO R"(
)" TINYQ_ASM_BEGIN("tinyq_mve_dot4") R"(
  push {r4-r10, lr}
  add r4, r1, r2
  add r5, r4, r2
  add r7, r5, r2
  mov r6, #0
  mov r8, #0
  mov r10, #0
  mov r12, #0
  ldr r2, [sp, #36]
  TINYQ_MVE_DOT x=r0, chunks=r3, k=r2, done=3f, w0=r1, a0=r6, w1=r4, a1=r8, w2=r5, a2=r10, w3=r7, a3=r12
3:
  ldr r2, [sp, #32]
  stm r2, {r6, r8, r10, r12}
  pop {r4-r10, pc}
)" TINYQ_ASM_END("tinyq_mve_dot4") R"(
  .text
)" TINYQ_MVE_DOT_PURGE);
// clang-format on

// One channel's dot product: VMLADAVA over 16-byte chunks, the tail predicated.
int32_t dot1(const int8_t* x, const int8_t* w, int32_t k) {
  int32_t a = 0;
  for (int32_t i = 0; i < k; i += 16) {
    const mve_pred16_t p = vctp8q(static_cast<uint32_t>(k - i));
    a = vmladavaq_s8(a, vldrbq_z_s8(x + i, p), vldrbq_z_s8(w + i, p));
  }
  return a;
}

// A block of 4 channels [oc, oc + n) with everything that does not depend on the pixel loaded
// once: weight rows, base, multipliers and shifts as vectors.
struct ChannelBlock {
  const int8_t* w0;
  int32_t oc, n;
  mve_pred16_t lanes;
  int32x4_t base, multiplier, neg_t, lo, hi;  // neg_t: the shift itself for TFLite's rounding

  ChannelBlock(const int8_t* weights, int32_t k, int32_t oc_, int32_t oc_end, const ChannelTable& t,
               const OutputStage& st)
      : oc(oc_), n(oc_end - oc_ < 4 ? oc_end - oc_ : 4) {
    w0 = weights + oc * k;
    lanes = vctp32q(static_cast<uint32_t>(n));
    const int32_t* entry = t.block(oc);
    base = vldrwq_z_s32(entry, lanes);
    multiplier = vldrwq_z_s32(entry + n, lanes);
    neg_t = vldrwq_z_s32(entry + 2 * n, lanes);
    lo = vdupq_n_s32(st.lo);
    hi = vdupq_n_s32(st.hi);
  }

  // One pixel: K values at x, outputs at out[oc ..].
  TINYQ_ALWAYS_INLINE void run(const int8_t* x, int32_t k, const ChannelTable& t, const OutputStage& st,
                               int8_t* out) const {
    int32_t a[4];
    if (n == 4) {
      tinyq_mve_dot4(x, w0, k, k >> 4, a, k & 15);
    } else {  // the last 1 to 3 channels of a group: one row at a time, nothing read past them
      for (int32_t j = 0; j < 4; ++j) a[j] = j < n ? dot1(x, w0 + j * k, k) : 0;
    }
    const int32x4_t acc = vaddq_s32(vldrwq_s32(a), base);  // modulo 2^32, like the C sums
    if (t.vector || t.tflite_vector) {
      int32x4_t v = t.vector ? arm::requantize_lanes(acc, multiplier, neg_t)
                             : arm::requantize_lanes_tflite(acc, multiplier, neg_t);
      v = vminq_s32(vmaxq_s32(v, lo), hi);
      vstrbq_p_s32(out + oc, vaddq_n_s32(v, st.offset), lanes);
    } else {
      int32_t r[4];
      vstrwq_s32(r, acc);
      for (int32_t j = 0; j < n; ++j) out[oc + j] = st.finish(r[j], oc + j);
    }
  }
};

// detail::copy_bytes / fill_bytes (16-byte vectors and one predicated tail), kept out of line
// here: called once per row of taps.
__attribute__((noinline)) void copy_bytes(int8_t* dst, const int8_t* src, int32_t n) {
  detail::copy_bytes(dst, src, n);
}
__attribute__((noinline)) void fill_bytes(int8_t* dst, int8_t v, int32_t n) { detail::fill_bytes(dst, v, n); }

// The int8 patch of output pixel (y0, x0) (top-left tap) for group g; padding = pad_value.
void im2col_s8(const ConvParams& p, const int8_t* image, int32_t y0, int32_t x0, int32_t g, int8_t pad_value,
               int8_t* dst) {
  const int32_t group_in_c = p.in_c / p.groups;
  const int32_t row_taps = p.kernel_w * group_in_c;
  const detail::TapRange kx = detail::valid_taps(x0, p.kernel_w, p.dilation_w, p.in_w);
  const int32_t left = kx.first * group_in_c, right = (p.kernel_w - kx.last) * group_in_c;
  // A row of taps is one contiguous run of bytes when the taps are adjacent pixels and a
  // pixel's channels all belong to the group.
  if (p.dilation_w == 1 && p.groups == 1) {
    // The whole patch the zero point in vector stores, then each valid row's run of valid
    // taps over it: no call per row (KWS's 10x4 stem: 10 rows of 4 bytes, three calls each).
    const int32_t k = p.kernel_h * row_taps, n = (kx.last - kx.first) * p.in_c;
    const int8x16_t pad = vdupq_n_s8(pad_value);
    for (int32_t i = 0; i < k; i += 16) vstrbq_p_s8(dst + i, pad, vctp8q(static_cast<uint32_t>(k - i)));
    if (n <= 0) return;
    const detail::TapRange ky = detail::valid_taps(y0, p.kernel_h, p.dilation_h, p.in_h);
    const int32_t row_step = p.dilation_h * p.in_w * p.in_c;
    const int8_t* src = image + ((y0 + ky.first * p.dilation_h) * p.in_w + x0 + kx.first) * p.in_c;
    int8_t* run = dst + ky.first * row_taps + left;
    const mve_pred16_t lanes = vctp8q(static_cast<uint32_t>(n));
    for (int32_t ty = ky.first; ty < ky.last; ++ty, src += row_step, run += row_taps) {
      if (n <= 16) {
        vstrbq_p_s8(run, vldrbq_z_s8(src, lanes), lanes);
      } else {
        copy_bytes(run, src, n);
      }
    }
    return;
  }
  for (int32_t ty = 0; ty < p.kernel_h; ++ty, dst += row_taps) {
    const int32_t iy = y0 + ty * p.dilation_h;
    if (iy < 0 || iy >= p.in_h) {
      fill_bytes(dst, pad_value, row_taps);
      continue;
    }
    const int8_t* row = image + iy * p.in_w * p.in_c + g * group_in_c;
    if (left > 0) fill_bytes(dst, pad_value, left);
    for (int32_t tx = kx.first; tx < kx.last; ++tx)  // tap by tap (dilated, or a group's channels)
      copy_bytes(dst + tx * group_in_c, row + (x0 + tx * p.dilation_w) * p.in_c, group_in_c);
    if (right > 0) fill_bytes(dst + row_taps - right, pad_value, right);
  }
}

// Channels [oc, oc_end) of one pixel whose K values are at x: whole blocks of 4 in one
// tinyq_mve_conv_blocks call where the vector requantization applies, the rest (a last block
// of 1 to 3 channels, or every block otherwise) through ChannelBlock.
TINYQ_ALWAYS_INLINE void run_channels(const int8_t* x, const int8_t* weights, int32_t k, int32_t oc, int32_t oc_end,
                                      const ChannelTable& t, const OutputStage& st, BlockArgs& args, int8_t* output) {
  // tinyq's rounding tested first and alone: its path is the code it was before TFLite's.
  if (t.vector) {
    const int32_t blocks = (oc_end - oc) >> 2;
    if (blocks > 0) {
      args.table = t.block(oc);
      const BlocksFn held = held_blocks(k, 0);
      (held != nullptr ? held : tinyq_mve_conv_blocks)(x, weights + oc * k, k, blocks, output + oc, &args);
      oc += 4 * blocks;
    }
  } else if (t.tflite_vector) {
    const int32_t blocks = (oc_end - oc) >> 2;
    if (blocks > 0) {
      args.table = t.block(oc);
      const BlocksFn held = held_blocks(k, t.form());
      (held != nullptr ? held : tinyq_mve_conv_blocks_tflite)(x, weights + oc * k, k, blocks, output + oc, &args);
      oc += 4 * blocks;
    }
  }
  for (; oc < oc_end; oc += 4) {
    const ChannelBlock block(weights, k, oc, oc_end, t, st);
    block.run(x, k, t, st, output);
  }
}

// run_channels over all of a pixel's channels (vector requantization) with the whole blocks'
// function chosen once per layer rather than per pixel (about 15 instructions a pixel).
struct PixelBlocks {
  BlocksFn fn;
  int32_t blocks;
  PixelBlocks(int32_t k, int32_t out_c, const ChannelTable& t, BlockArgs& args) : blocks(out_c >> 2) {
    const BlocksFn held = held_blocks(k, t.form());
    fn = held != nullptr ? held : (t.vector ? tinyq_mve_conv_blocks : tinyq_mve_conv_blocks_tflite);
    args.table = t.block(0);
  }
  TINYQ_ALWAYS_INLINE void run(const int8_t* x, const int8_t* weights, int32_t k, int32_t out_c, const ChannelTable& t,
                               const OutputStage& st, BlockArgs& args, int8_t* output) const {
    if (blocks > 0) fn(x, weights, k, blocks, output, &args);
    if (4 * blocks < out_c) run_channels(x, weights, k, 4 * blocks, out_c, t, st, args, output);
  }
};

// All output channels of `pixels` pixels whose K <= 16 values are x_step bytes apart, outputs
// out_c apart: tinyq_mve_pointwise_narrow per block of 4 channels (the weight rows held for
// all the pixels), the last 1 to 3 channels per pixel through run_channels. Only with the
// vector requantization (t.vector or t.tflite_vector).
void narrow_pixels(const int8_t* x, int32_t x_step, int32_t pixels, const int8_t* weights, int32_t k, int32_t out_c,
                   const ChannelTable& t, const OutputStage& st, BlockArgs& args, int8_t* out) {
  const auto run = t.vector ? tinyq_mve_pointwise_narrow : tinyq_mve_pointwise_narrow_tflite;
  NarrowBlockArgs narrow{nullptr, st.lo, st.hi, st.offset, x_step, out_c};
  const int32_t whole = out_c & ~3;
  for (int32_t oc = 0; oc < whole; oc += 4) {
    narrow.table = t.block(oc);
    run(x, weights + oc * k, k, pixels, out + oc, &narrow);
  }
  for (int32_t q = 0; q < pixels && whole < out_c; ++q)
    run_channels(x + q * x_step, weights, k, whole, out_c, t, st, args, out + q * out_c);
}

// conv_pointwise's layers of at most 16 input channels with the vector requantization: a row
// of pixels per narrow_pixels call. Out of line: inlined, it changed GCC's code for the wider
// layers' loop (KWS's 64 -> 64 pointwise +1.3%).
__attribute__((noinline)) void pointwise_narrow(const ConvParams& p, const int8_t* input, const int8_t* weights,
                                                int8_t* output, const ChannelTable& t, const OutputStage& st,
                                                BlockArgs& args) {
  for (int32_t b = 0; b < p.batch; ++b) {
    const int8_t* image = input + b * p.in_h * p.in_w * p.in_c;
    for (int32_t oy = 0; oy < p.out_h; ++oy, output += p.out_w * p.out_c)
      narrow_pixels(image + oy * p.stride_h * p.in_w * p.in_c, p.stride_w * p.in_c, p.out_w, weights, p.in_c, p.out_c,
                    t, st, args, output);
  }
}

// Output columns whose windows lie wholly inside the image in x.
detail::TapRange inside_columns(const ConvParams& p) {
  return detail::inside_outputs(p.in_w, p.out_w, p.kernel_w, p.stride_w, p.dilation_w, p.pad_left);
}

// A window's runs of bytes into its half of tinyq_mve_conv_pairs' interleaved buffer: `rows`
// runs of `chunks` 16-byte chunks each (a window's rows of taps, kernel_w * in_c bytes; or an
// edge window's valid taps), `gap` bytes apart after each run; chunks land 32 bytes apart
// from dst on. In assembly: per chunk VLDRB, VSTRB and LE, per run four instructions (GCC's
// loop took about 12 more per row).
//   r0 dst, r1 src (the first run), r2 rows (>= 1), r3 chunks (>= 1); stack: gap.
extern "C" void tinyq_mve_pair_rows(int8_t* dst, const int8_t* src, int32_t rows, int32_t chunks, int32_t gap);
// clang-format off
__asm__(TINYQ_ASM_BEGIN("tinyq_mve_pair_rows") R"(
  push {r4, lr}
  ldr r4, [sp, #8]
1:
  dls lr, r3
2:
  vldrb.8 q0, [r1], #16
  vstrb.8 q0, [r0], #32
  le lr, 2b
  add r1, r4
  subs r2, #1
  bne 1b
  pop {r4, pc}
)" TINYQ_ASM_END("tinyq_mve_pair_rows"));
// clang-format on

// Two windows inside the image `step` bytes apart (consecutive output pixels of a row) into
// both halves at once: per chunk of each, VLDRB and VSTRB, and one LE per two chunks; one call
// instead of two (IC: about 30 instructions less per pair of 16-channel 3x3 windows).
//   r0 the buffer, r1 the first window's top-left tap, r2 rows (>= 1), r3 chunks per row
//   (>= 1); stack: gap, step.
extern "C" void tinyq_mve_pair_rows2(int8_t* dst, const int8_t* src, int32_t rows, int32_t chunks, int32_t gap,
                                     int32_t step);
// clang-format off
__asm__(TINYQ_ASM_BEGIN("tinyq_mve_pair_rows2") R"(
  push {r4, r5, r6, lr}
  ldrd r5, r4, [sp, #16]
  add r4, r1, r4
1:
  dls lr, r3
2:
  vldrb.8 q0, [r1], #16
  vldrb.8 q1, [r4], #16
  vstrb.8 q0, [r0], #16
  vstrb.8 q1, [r0], #16
  le lr, 2b
  add r1, r5
  add r4, r5
  subs r2, #1
  bne 1b
  pop {r4, r5, r6, pc}
)" TINYQ_ASM_END("tinyq_mve_pair_rows2"));
// clang-format on

// One pixel's patch into its half of tinyq_mve_conv_pairs' interleaved buffer (`dst` at its
// first chunk; chunks 32 bytes apart), any window: per tap, in_c / 16 chunks of the pixel, or
// of the zero point where the tap is padding (x + offset = 0 there, as in im2col_s8). Edge
// windows, so per row of taps rather than per tap (IC: 115,314 -> about 30,000 instructions).
void pair_patch_taps(const ConvParams& p, const int8_t* image, int32_t y0, int32_t x0, int8_t pad_value, int8_t* dst) {
  const int8x16_t pad = vdupq_n_s8(pad_value);
  const int32_t chunks = p.in_c >> 4;
  const auto fill = [&](int32_t n) {
    for (int32_t c = 0; c < n; ++c, dst += 32) vstrbq_s8(dst, pad);
  };
  // The columns of valid taps are the same on every row: per row of taps, the padding left of
  // them, the valid taps (one run of bytes without dilation), the padding right of them.
  const detail::TapRange kx = detail::valid_taps(x0, p.kernel_w, p.dilation_w, p.in_w);
  for (int32_t ty = 0; ty < p.kernel_h; ++ty) {
    const int32_t iy = y0 + ty * p.dilation_h;
    if (iy < 0 || iy >= p.in_h || kx.last <= kx.first) {
      fill(p.kernel_w * chunks);
      continue;
    }
    fill(kx.first * chunks);
    // Without dilation the valid taps are one run; with it, one run per tap, (d - 1) pixels
    // apart.
    const int32_t taps = kx.last - kx.first, runs = p.dilation_w == 1 ? 1 : taps;
    tinyq_mve_pair_rows(dst, image + (iy * p.in_w + x0 + kx.first * p.dilation_w) * p.in_c, runs, taps * chunks / runs,
                        (p.dilation_w - 1) * p.in_c);
    dst += 32 * taps * chunks;
    fill((p.kernel_w - kx.last) * chunks);
  }
}

// conv2d_s8_mve_pairs' layers with the vector requantization: consecutive output pixels (in
// memory order, across rows) in pairs through tinyq_mve_conv_pairs, a last odd pixel paired
// with itself (its outputs written twice, the same bytes). A window inside the image with no
// horizontal dilation copies each row of taps (kernel_w * in_c bytes, a multiple of 16) as a
// run; any other goes tap by tap.
__attribute__((noinline)) void conv_pairs(const ConvParams& p, const int8_t* input, const int8_t* weights,
                                          int8_t* output, const ChannelTable& t, const OutputStage& st, int8_t* pair) {
  const int32_t k = p.kernel_h * p.kernel_w * p.in_c;
  const int32_t row = p.in_w * p.in_c;
  const int32_t run_chunks = (p.kernel_w * p.in_c) >> 4;
  const int32_t row_gap = p.dilation_h * row - 16 * run_chunks;
  const int8_t pad_value = static_cast<int8_t>(-p.input_offset);
  const detail::TapRange inside = p.dilation_w == 1 ? inside_columns(p) : detail::TapRange{0, 0};
  const int32_t extent_h = (p.kernel_h - 1) * p.dilation_h;
  const PairsFn run = pairs_fn(t, false);
  const BlockArgs args{t.block(0), st.lo, st.hi, st.offset};
  const int32_t blocks = p.out_c >> 2, step = p.stride_w * p.in_c;
  int8_t* half = pair;  // where the next pixel's patch goes: pair, then pair + 16
  int8_t* out_a = output;
  // The patch just placed in `half` is the pixel whose outputs are at `out`.
  const auto placed = [&](int8_t* out) {
    if (half == pair) {
      out_a = out;
      half = pair + 16;
    } else {
      run(pair, weights, k, blocks, out_a, out, &args);
      half = pair;
    }
  };
  // A window over padding (of the row's output pixels at `out`, rows from y0): tap by tap.
  const auto edge = [&](const int8_t* image, int32_t y0, int32_t ox, int8_t* out) {
    pair_patch_taps(p, image, y0, ox * p.stride_w - p.pad_left, pad_value, half);
    placed(out + ox * p.out_c);
  };
  for (int32_t b = 0; b < p.batch; ++b) {
    const int8_t* image = input + b * p.in_h * row;
    for (int32_t oy = 0; oy < p.out_h; ++oy, output += p.out_w * p.out_c) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      const bool rows_inside = y0 >= 0 && y0 + extent_h < p.in_h;
      const int32_t lo = rows_inside ? inside.first : p.out_w, hi = rows_inside ? inside.last : p.out_w;
      for (int32_t ox = 0; ox < lo; ++ox) edge(image, y0, ox, output);  // left (or any) padding
      // Windows inside: row runs, two pixels and one tinyq_mve_conv_pairs call per step once
      // the pair is empty (no per-pixel tests).
      const int8_t* src = image + y0 * row + (lo * p.stride_w - p.pad_left) * p.in_c;
      int32_t ox = lo;
      if (ox < hi && half != pair) {
        tinyq_mve_pair_rows(half, src, p.kernel_h, run_chunks, row_gap);
        placed(output + ox * p.out_c);
        ++ox, src += step;
      }
      for (; ox + 1 < hi; ox += 2, src += 2 * step) {
        tinyq_mve_pair_rows2(pair, src, p.kernel_h, run_chunks, row_gap, step);
        run(pair, weights, k, blocks, output + ox * p.out_c, output + (ox + 1) * p.out_c, &args);
      }
      if (ox < hi) {
        tinyq_mve_pair_rows(half, src, p.kernel_h, run_chunks, row_gap);
        placed(output + ox * p.out_c);
      }
      for (ox = hi > lo ? hi : lo; ox < p.out_w; ++ox) edge(image, y0, ox, output);  // right padding
    }
  }
  if (half != pair) {  // a last pixel alone: its patch twice
    for (int32_t i = 0; i < k; i += 16) vstrbq_s8(pair + 2 * i + 16, vldrbq_s8(pair + 2 * i));
    run(pair, weights, k, blocks, out_a, out_a, &args);
  }
}

// conv2d_s8_mve_pairs_tail's layers with the vector requantization: each pixel's K-byte patch
// (from `patch_of`, which may build it) copied chunk by chunk into its half of the
// interleaved buffer (the last chunk loaded predicated: no byte past the patch is read), two
// pixels per tinyq_mve_conv_pairs_tail call, consecutive output pixels in memory order, a
// last odd pixel paired with itself (its outputs written twice, the same bytes).
template <typename PatchOf>
TINYQ_ALWAYS_INLINE void conv_pairs_tail(const ConvParams& p, const int8_t* weights, int8_t* output,
                                         const ChannelTable& t, const OutputStage& st, int8_t* pair,
                                         const PatchOf& patch_of) {
  const int32_t k = p.kernel_h * p.kernel_w * p.in_c;
  const int32_t chunks = k >> 4;
  const mve_pred16_t last = vctp8q(static_cast<uint32_t>(k & 15));
  const PairsFn run = pairs_fn(t, true);
  const BlockArgs args{t.block(0), st.lo, st.hi, st.offset};
  const int32_t blocks = p.out_c >> 2;
  const auto place = [&](const int8_t* src, int8_t* half) {
    for (int32_t c = 0; c < chunks; ++c) vstrbq_s8(half + 32 * c, vldrbq_s8(src + 16 * c));
    vstrbq_s8(half + 32 * chunks, vldrbq_z_s8(src + 16 * chunks, last));
  };
  int8_t* out_a = nullptr;
  const int32_t pixels = p.batch * p.out_h * p.out_w;
  int32_t i = 0;
  for (int32_t b = 0; b < p.batch; ++b) {
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      for (int32_t ox = 0; ox < p.out_w; ++ox, ++i, output += p.out_c) {
        if ((i & 1) == 0) {
          place(patch_of(b, oy, ox), pair);
          out_a = output;
          if (i + 1 == pixels) {  // alone: its patch in both halves
            place(patch_of(b, oy, ox), pair + 16);
            run(pair, weights, k, blocks, out_a, out_a, &args);
          }
        } else {
          place(patch_of(b, oy, ox), pair + 16);
          run(pair, weights, k, blocks, out_a, output, &args);
        }
      }
    }
  }
}

// 1x1 kernel over real pixels: a pixel's channels are its patch, read in place (conv_pairs:
// copied, two pixels interleaved, into `pair`).
void conv_pointwise(const ConvParams& p, const int8_t* input, const int8_t* weights, int8_t* output,
                    const ChannelTable& t, const OutputStage& st, int8_t* pair) {
  BlockArgs args{nullptr, st.lo, st.hi, st.offset};
  if (!t.vector && !t.tflite_vector) {
    // Scalar requantization: blocks of 4 channels outside, pixels inside, so that a block's
    // weights and vectors are set up once per layer, not once per pixel.
    for (int32_t oc = 0; oc < p.out_c; oc += 4) {
      const ChannelBlock block(weights, p.in_c, oc, p.out_c, t, st);
      int8_t* out = output;
      for (int32_t b = 0; b < p.batch; ++b) {
        const int8_t* image = input + b * p.in_h * p.in_w * p.in_c;
        for (int32_t oy = 0; oy < p.out_h; ++oy) {
          const int8_t* x = image + oy * p.stride_h * p.in_w * p.in_c;
          for (int32_t ox = 0; ox < p.out_w; ++ox, x += p.stride_w * p.in_c, out += p.out_c) {
            block.run(x, p.in_c, t, st, out);
          }
        }
      }
    }
    return;
  }
  if (kNarrowForms && p.in_c <= 16) {
    pointwise_narrow(p, input, weights, output, t, st, args);
    return;
  }
  if (kNarrowForms && conv2d_s8_mve_pairs_tail(p)) {  // a pixel's channels are its patch, read in place
    const auto pixel = [&](int32_t b, int32_t oy, int32_t ox) {
      return input + ((b * p.in_h + oy * p.stride_h) * p.in_w + ox * p.stride_w) * p.in_c;
    };
    conv_pairs_tail(p, weights, output, t, st, pair, pixel);
    return;
  }
  if (kNarrowForms && conv2d_s8_mve_pairs(p)) {  // every window "inside": one row of taps, no padding
    conv_pairs(p, input, weights, output, t, st, pair);
    return;
  }
  const PixelBlocks whole(p.in_c, p.out_c, t, args);
  for (int32_t b = 0; b < p.batch; ++b) {
    const int8_t* image = input + b * p.in_h * p.in_w * p.in_c;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int8_t* x = image + oy * p.stride_h * p.in_w * p.in_c;
      for (int32_t ox = 0; ox < p.out_w; ++ox, x += p.stride_w * p.in_c, output += p.out_c) {
        whole.run(x, weights, p.in_c, p.out_c, t, st, args, output);
      }
    }
  }
}

// conv2d_s8_mve_narrow's patches (groups 1, dilation_w 1: a kernel row's taps are one run of
// at most 16 bytes) of output pixels ox0 .. ox0 + n - 1 of a row, 16 bytes apart: a window
// inside the image is kernel_h predicated copies; an edge window is the zero point (which
// meets the folded offset and contributes 0) overwritten by each valid row's valid run.
void narrow_patches(const ConvParams& p, const int8_t* image, int32_t y0, bool rows_inside, int32_t ox0, int32_t n,
                    int32_t ox_lo, int32_t ox_hi, int8_t pad_value, int8_t* patch) {
  const int32_t c = p.in_c, run = p.kernel_w * c, row = p.in_w * c, row_step = p.dilation_h * row;
  const mve_pred16_t run_lanes = vctp8q(static_cast<uint32_t>(run));
  const int8x16_t pad = vdupq_n_s8(pad_value);
  for (int32_t q = 0; q < n; ++q, patch += 16) {
    const int32_t ox = ox0 + q, x0 = ox * p.stride_w - p.pad_left;
    if (rows_inside && ox >= ox_lo && ox < ox_hi) {
      const int8_t* src = image + y0 * row + x0 * c;
      int8_t* dst = patch;
      for (int32_t ty = 0; ty < p.kernel_h; ++ty, src += row_step, dst += run)
        vstrbq_p_s8(dst, vldrbq_z_s8(src, run_lanes), run_lanes);
      continue;
    }
    vstrbq_s8(patch, pad);
    const detail::TapRange kx = detail::valid_taps(x0, p.kernel_w, 1, p.in_w);
    if (kx.last <= kx.first) continue;
    const mve_pred16_t lanes = vctp8q(static_cast<uint32_t>((kx.last - kx.first) * c));
    for (int32_t ty = 0; ty < p.kernel_h; ++ty) {
      const int32_t iy = y0 + ty * p.dilation_h;
      if (iy < 0 || iy >= p.in_h) continue;
      vstrbq_p_s8(patch + ty * run + kx.first * c, vldrbq_z_s8(image + iy * row + (x0 + kx.first) * c, lanes), lanes);
    }
  }
}

// Any other shape: per pixel and group, the int8 patch (im2col), then blocks of 4 channels.
// Windows wholly inside the image with groups 1 and no horizontal dilation (the bulk of a
// usual layer) copy each row of taps as one run, inline, with the run's vector count and tail
// predicate computed once per layer; every other window goes through im2col_s8.
void conv_general(const ConvParams& p, const int8_t* input, const int8_t* weights, int8_t* output,
                  const ChannelTable& t, const OutputStage& st, int8_t* patch) {
  const int32_t group_in_c = p.in_c / p.groups;
  const int32_t group_out_c = p.out_c / p.groups;
  const int32_t k = p.kernel_h * p.kernel_w * group_in_c;
  const int8_t pad_value = static_cast<int8_t>(-p.input_offset);
  BlockArgs args{nullptr, st.lo, st.hi, st.offset};
  const int32_t row = p.in_w * p.in_c;
  // Output columns whose windows lie inside the image in x: [ox_lo, ox_hi); empty unless
  // the fast copy applies.
  const bool contiguous = p.groups == 1 && p.dilation_w == 1;
  const detail::TapRange inside = contiguous ? inside_columns(p) : detail::TapRange{0, 0};
  const int32_t ox_lo = inside.first, ox_hi = inside.last;
  const int32_t run = p.kernel_w * p.in_c;  // bytes of a row of taps (groups 1)
  const int32_t run_vectors = run >> 4;
  const int32_t run_tail = run & 15;
  const mve_pred16_t tail_lanes = vctp8q(static_cast<uint32_t>(run_tail));
  const int32_t extent_h = (p.kernel_h - 1) * p.dilation_h;
  // The patch of a window inside the image, `src` at its top-left tap: row run by row run.
  // (A lambda rather than the loop written out below: GCC 12 then allocates the pixel loop's
  // registers better: R1 on M55 1.4% fewer instructions.)
  const auto copy_inside = [&](const int8_t* src, int8_t* dst) {
    for (int32_t ty = 0; ty < p.kernel_h; ++ty, src += p.dilation_h * row) {
      const int8_t* s = src;
      for (int32_t i = 0; i < run_vectors; ++i, s += 16, dst += 16) vstrbq_s8(dst, vldrbq_s8(s));
      if (run_tail != 0) {
        vstrbq_p_s8(dst, vldrbq_z_s8(s, tail_lanes), tail_lanes);
        dst += run_tail;
      }
    }
  };
  if (kNarrowForms && conv2d_s8_mve_narrow(p) && (t.vector || t.tflite_vector)) {
    // At most 16 values per patch (one-channel 3x3 stems): the patches of up to
    // kMveNarrowPixels pixels of a row, 16 bytes apart, then narrow_pixels over them.
    for (int32_t b = 0; b < p.batch; ++b) {
      const int8_t* image = input + b * p.in_h * row;
      for (int32_t oy = 0; oy < p.out_h; ++oy) {
        const int32_t y0 = oy * p.stride_h - p.pad_top;
        const bool rows_inside = y0 >= 0 && y0 + extent_h < p.in_h;
        for (int32_t ox0 = 0; ox0 < p.out_w; ox0 += kMveNarrowPixels) {
          const int32_t n = p.out_w - ox0 < kMveNarrowPixels ? p.out_w - ox0 : kMveNarrowPixels;
          if (contiguous) {
            narrow_patches(p, image, y0, rows_inside, ox0, n, ox_lo, ox_hi, pad_value, patch);
          } else {
            for (int32_t q = 0; q < n; ++q)
              im2col_s8(p, image, y0, (ox0 + q) * p.stride_w - p.pad_left, 0, pad_value, patch + 16 * q);
          }
          narrow_pixels(patch, 16, n, weights, k, p.out_c, t, st, args,
                        output + ((b * p.out_h + oy) * p.out_w + ox0) * p.out_c);
        }
      }
    }
    return;
  }
  if (kNarrowForms && conv2d_s8_mve_pairs_tail(p) && (t.vector || t.tflite_vector)) {
    // Each pixel's patch built in the third area (after the two interleaved halves), as below.
    int8_t* built = patch + 2 * ((k + 15) & ~15);
    const auto window = [&](int32_t b, int32_t oy, int32_t ox) -> const int8_t* {
      const int8_t* image = input + b * p.in_h * row;
      const int32_t y0 = oy * p.stride_h - p.pad_top, x0 = ox * p.stride_w - p.pad_left;
      if (y0 >= 0 && y0 + extent_h < p.in_h && ox >= ox_lo && ox < ox_hi) {
        copy_inside(image + y0 * row + x0 * p.in_c, built);
      } else {
        im2col_s8(p, image, y0, x0, 0, pad_value, built);
      }
      return built;
    };
    conv_pairs_tail(p, weights, output, t, st, patch, window);
    return;
  }
  if (kNarrowForms && conv2d_s8_mve_pairs(p) && (t.vector || t.tflite_vector)) {
    conv_pairs(p, input, weights, output, t, st, patch);
    return;
  }
  for (int32_t b = 0; b < p.batch; ++b) {
    const int8_t* image = input + b * p.in_h * row;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      const bool rows_inside = y0 >= 0 && y0 + extent_h < p.in_h;
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t x0 = ox * p.stride_w - p.pad_left;
        if (rows_inside && ox >= ox_lo && ox < ox_hi) {
          copy_inside(image + y0 * row + x0 * p.in_c, patch);
          run_channels(patch, weights, k, 0, p.out_c, t, st, args, output);
        } else {
          for (int32_t g = 0; g < p.groups; ++g) {
            im2col_s8(p, image, y0, x0, g, pad_value, patch);
            run_channels(patch, weights, k, g * group_out_c, (g + 1) * group_out_c, t, st, args, output);
          }
        }
        output += p.out_c;
      }
    }
  }
}

}  // namespace

void conv2d_s8_mve_pointwise(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                             int8_t* output, int16_t* scratch) {
  const OutputStage st(p.requant, p.output_offset, p.act_min, p.act_max);
  const int32_t k = p.kernel_h * p.kernel_w * (p.in_c / p.groups);
  int32_t* table = reinterpret_cast<int32_t*>(scratch);
  const ChannelTable t = prepare_channels(p, weights, bias, k, table);
  conv_pointwise(p, input, weights, output, t, st, reinterpret_cast<int8_t*>(table + 3 * p.out_c));
}

void conv2d_s8_mve_general(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                           int8_t* output, int16_t* scratch) {
  const OutputStage st(p.requant, p.output_offset, p.act_min, p.act_max);
  const int32_t k = p.kernel_h * p.kernel_w * (p.in_c / p.groups);
  int32_t* table = reinterpret_cast<int32_t*>(scratch);
  const ChannelTable t = prepare_channels(p, weights, bias, k, table);
  conv_general(p, input, weights, output, t, st, reinterpret_cast<int8_t*>(table + 3 * p.out_c));
}

}  // namespace rt
}  // namespace tinyq

#endif  // TINYQ_PATH_ARM_MVE
