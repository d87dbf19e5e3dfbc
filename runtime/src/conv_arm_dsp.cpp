// tinyq runtime: conv2d_s8 on the ARMv7E-M DSP extension (Cortex-M4, M7, M33).
//
// Shape of the computation: the patches of two output pixels are converted to 16-bit values
// with the input offset added (im2col; for a 1x1 kernel the pixel's channels themselves, no
// window), then every pair of output channels is a 2x2 block of dot products of length
// K = kh * kw * in_c/groups (tinyq_dsp_mat_2x2): per 4 values, one LDM fetches both pixels'
// values, 2 LDR + 4 SXTB16 unpack the weights of both channels and 8 SMLAD do 16 MACs.
// Why this blocking: the weights are int8 and must be unpacked on every use, the patch is
// unpacked once per pixel and reused by every channel, so the per-MAC work is the SMLADs
// plus the weight unpacking amortised over 2 pixels. A larger block (4 channels, or 4 pixels)
// needs 8 accumulators plus pointers plus operands: more than the 14 allocatable registers.
// Accumulators are then requantized by tinyq_dsp_requantize (conv_arm_common.hpp), two pixels
// per channel's parameters.
//
// Layout tricks that keep the inner loop at about one instruction per 16-bit MAC pair:
//  - SXTB16 sign-extends bytes 0 and 2 of a word, SXTB16 ROR #8 bytes 1 and 3. The weights are
//    used as they lie in memory, so the patch is stored "reordered" instead: each group of 4
//    values x0..x3 as the pairs [x0, x2], [x1, x3].
//  - K is padded to a multiple of 4 with zeros in the patch (scratch sized for it by
//    conv2d_s8_scratch_bytes), so no scalar tail runs except on the last channel pair (see
//    mat_mult_2x2 for why the padded weight word is safe to read elsewhere).
//  - The two pixels' patches are interleaved pair by pair (pair j of pixel q in word 2j + q),
//    so one LDM with write-back feeds both pixels.
//  - First layers (in_c 1 or 3, K <= 48): windows inside the image are gathered through a
//    table of offsets built once per call (gather_pair) instead of row by row.
// Every partial sum is an exact integer; SMLAD wraps modulo 2^32 and so does the final sum,
// which the host guarantees fits int32, so any accumulation order gives the portable bytes.
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
using arm::pack_high;
using arm::pack_low;
using arm::RowRequantizer;
using arm::store_u32;
using arm::sxtab16_ror8;

// Four pixels' patches are interleaved pair by pair: pair j of pixel q is the 32-bit word
// kPixels * j + q, so consecutive pairs of one pixel are kPairStride halfwords apart.
constexpr int32_t kPixels = 4;
constexpr int32_t kPairStride = 2 * kPixels;

// Small loops kept out of line on purpose: inlined into the pixel loops, GCC 12 runs out of
// registers and spills inside them (13 instructions per 4 values instead of 6).
// `count` values (a multiple of 4) from src to the reordered pairs at dst, pair j at
// dst + kPairStride * j.
__attribute__((noinline)) void convert_reordered(const int8_t* src, int16_t* dst, int32_t count, int32_t offset2) {
  for (int32_t n = count >> 3; n > 0; --n) {  // two groups per iteration: less loop overhead
    const uint32_t x = load_u32(src), y = load_u32(src + 4);
    src += 8;
    store_u32(dst, static_cast<uint32_t>(__sxtab16(offset2, static_cast<int32_t>(x))));
    store_u32(dst + kPairStride, sxtab16_ror8(static_cast<uint32_t>(offset2), x));
    store_u32(dst + 2 * kPairStride, static_cast<uint32_t>(__sxtab16(offset2, static_cast<int32_t>(y))));
    store_u32(dst + 3 * kPairStride, sxtab16_ror8(static_cast<uint32_t>(offset2), y));
    dst += 4 * kPairStride;
  }
  if ((count & 4) != 0) {
    const uint32_t x = load_u32(src);
    store_u32(dst, static_cast<uint32_t>(__sxtab16(offset2, static_cast<int32_t>(x))));
    store_u32(dst + kPairStride, sxtab16_ror8(static_cast<uint32_t>(offset2), x));
  }
}
__attribute__((noinline)) void zero_pairs(int16_t* dst, int32_t count) {
  for (int32_t n = count >> 1; n > 0; --n) {
    store_u32(dst, 0);
    dst += kPairStride;
  }
}

// Values k .. k + count - 1 of a patch, in order ("plain" pairs [x0, x1], [x2, x3]), for runs
// that do not start or end at a multiple of 4 (first layers: in_c 1 or 3).
__attribute__((noinline)) void convert_plain(const int8_t* src, int16_t* col, int32_t k, int32_t count,
                                             int32_t offset) {
  int16_t* d = col + kPairStride * (k >> 1) + (k & 1);
  if ((k & 1) != 0 && count > 0) {
    *d = static_cast<int16_t>(*src++ + offset);
    d += kPairStride - 1;
    --count;
  }
  for (; count >= 2; count -= 2) {
    d[0] = static_cast<int16_t>(src[0] + offset);
    d[1] = static_cast<int16_t>(src[1] + offset);
    src += 2;
    d += kPairStride;
  }
  if (count > 0) *d = static_cast<int16_t>(*src + offset);
}
__attribute__((noinline)) void zero_plain(int16_t* col, int32_t k, int32_t count) {
  int16_t* d = col + kPairStride * (k >> 1) + (k & 1);
  if ((k & 1) != 0 && count > 0) {
    *d = 0;
    d += kPairStride - 1;
    --count;
  }
  for (; count >= 2; count -= 2) {
    store_u32(d, 0);
    d += kPairStride;
  }
  if (count > 0) *d = 0;
}

// Writes the patch of one pixel (q = 0 .. 3) into the interleaved pair layout. `col` points at
// halfword 2q of scratch; pair j of this pixel is at col + kPairStride * j.
class PatchWriter {
 public:
  PatchWriter(int16_t* col, int32_t input_offset)
      : col_(col), offset_(input_offset), offset2_(offset_pair(input_offset)) {}

  // Fast form, for runs of a multiple of 4 values starting at a multiple of 4: one LDR and two
  // SXTAB16 give both reordered pairs of 4 values, offset added (in + offset fits 16 bits).
  TINYQ_ALWAYS_INLINE void run4(const int8_t* src, int32_t count) {
    convert_reordered(src, col_ + kPairStride * (k_ >> 1), count, offset2_);
    k_ += count;
  }
  TINYQ_ALWAYS_INLINE void zeros4(int32_t count) {
    if (count > 0) zero_pairs(col_ + kPairStride * (k_ >> 1), count);
    k_ += count;
  }
  // Any run, value by value, in order; reorder() then turns whole groups of 4 into the
  // [x0, x2], [x1, x3] form.
  void run(const int8_t* src, int32_t count) {
    convert_plain(src, col_, k_, count, offset_);
    k_ += count;
  }
  void zeros(int32_t count) {
    if (count > 0) zero_plain(col_, k_, count);
    k_ += count;
  }
  void reorder(int32_t k4) {
    for (int16_t* d = col_; d < col_ + kPairStride * (k4 >> 1); d += 2 * kPairStride) {
      const uint32_t a = load_u32(d), b = load_u32(d + kPairStride);
      store_u32(d, pack_low(a, b));
      store_u32(d + kPairStride, pack_high(a, b));
    }
  }

 private:
  int16_t* col_;
  int32_t offset_;
  int32_t offset2_;
  int32_t k_ = 0;
};

// The receptive field of output pixel (y0, x0) (top-left tap, may lie in the padding) for
// group g, as the patch of pixel q. `fast`: in_c / groups is a multiple of 4, so every tap is
// whole groups of 4.
void im2col(const ConvParams& p, const int8_t* image, int32_t y0, int32_t x0, int32_t g, bool fast, int16_t* col) {
  const int32_t group_in_c = p.in_c / p.groups;
  PatchWriter w(col, p.input_offset);
  const detail::TapRange kx = detail::valid_taps(x0, p.kernel_w, p.dilation_w, p.in_w);
  const int32_t row_taps = p.kernel_w * group_in_c;
  const int32_t left = kx.first * group_in_c, right = (p.kernel_w - kx.last) * group_in_c;
  // A row of taps is one contiguous run of bytes when the taps are adjacent pixels and a
  // pixel's channels all belong to the group (first layers: in_c 1 or 3, groups 1).
  const bool contiguous = p.dilation_w == 1 && p.groups == 1;
  for (int32_t ty = 0; ty < p.kernel_h; ++ty) {
    const int32_t iy = y0 + ty * p.dilation_h;
    if (iy < 0 || iy >= p.in_h) {
      if (fast)
        w.zeros4(row_taps);
      else
        w.zeros(row_taps);
      continue;
    }
    const int8_t* row = image + iy * p.in_w * p.in_c + g * group_in_c;
    if (fast) {
      w.zeros4(left);
      if (contiguous) {
        w.run4(row + (x0 + kx.first) * p.in_c, (kx.last - kx.first) * p.in_c);
      } else {
        for (int32_t tx = kx.first; tx < kx.last; ++tx) w.run4(row + (x0 + tx * p.dilation_w) * p.in_c, group_in_c);
      }
      w.zeros4(right);
    } else {
      w.zeros(left);
      if (contiguous) {
        w.run(row + (x0 + kx.first) * p.in_c, (kx.last - kx.first) * p.in_c);
      } else {
        for (int32_t tx = kx.first; tx < kx.last; ++tx) w.run(row + (x0 + tx * p.dilation_w) * p.in_c, group_in_c);
      }
      w.zeros(right);
    }
  }
  if (!fast) {
    const int32_t k = p.kernel_h * row_taps;
    w.zeros(((k + 3) & ~3) - k);  // the padded last group (see mat_mult_1x4)
    w.reorder((k + 3) & ~3);
  }
}

// im2col's common case, out of its general walk: a window wholly inside the image, a whole
// pixel per tap (groups 1) in multiples of 4 values, adjacent taps (dilation_w 1): kernel_h runs
// of kernel_w * in_c values, `corner` at the window's top-left tap, each run converted in one
// call.
void im2col_inside(const ConvParams& p, const int8_t* corner, int16_t* col) {
  const int32_t run = p.kernel_w * p.in_c, step = p.dilation_h * p.in_w * p.in_c;
  const int32_t offset2 = offset_pair(p.input_offset);
  for (int32_t ty = 0; ty < p.kernel_h; ++ty, corner += step, col += kPairStride * (run >> 1))
    convert_reordered(corner, col, run, offset2);
}

// The halfword of value k in one pixel's reordered patch (before the 2q of pixel q): group
// k / 4 holds the pairs [x0, x2] and [x1, x3].
constexpr int32_t reordered_index(int32_t k) { return kPairStride * (2 * (k >> 2) + (k & 1)) + ((k >> 1) & 1); }

// First layers (in_c 1 or 3): a window wholly inside the image is a gather of K values at
// fixed offsets from its corner, so a table built once per call replaces the row runs of
// im2col: per value, 1 LDRD (table) and per pixel LDRSB, ADD, STRH.
struct GatherTap {
  int32_t src;  // byte offset from the window's corner
  int32_t dst;  // halfword in the patch pairs (pixel 0; pixel q is 2q further)
};
// The table lives in scratch after the patches (conv2d_s8_dsp_gathers sizes it).
__attribute__((noinline)) void gather_quad(const int8_t* const base[kPixels], const GatherTap* taps, int32_t n,
                                           int32_t offset, int16_t* cols) {
  const int8_t *b0 = base[0], *b1 = base[1], *b2 = base[2], *b3 = base[3];
  for (int32_t i = 0; i < n; ++i) {
    const GatherTap t = taps[i];
    int16_t* d = cols + t.dst;
    d[0] = static_cast<int16_t>(b0[t.src] + offset);
    d[2] = static_cast<int16_t>(b1[t.src] + offset);
    d[4] = static_cast<int16_t>(b2[t.src] + offset);
    d[6] = static_cast<int16_t>(b3[t.src] + offset);
  }
}

// One channel x four pixels per step, in assembly: GCC 12 spills from any C form of the
// inner loop, which needs 13 registers: 4 accumulators (r3 .. r6, pixels 0 .. 3), the patch
// pointer, the weight pointer, 1 weight word, 1 unpacked weight pair and 4 patch pairs. Per
// group of 4 values: 1 LDR + 2 SXTB16 unpack the channel's weights once for all four pixels,
// 2 LDM fetch the four pixels' pairs [x0, x2] then [x1, x3], 8 SMLAD do 32 MACs: 13
// instructions. Why this blocking: a weight word must be unpacked on every use (3
// instructions) and a patch pair costs a quarter of an LDM, so one channel x four pixels
// spends 16/13 MACs per instruction, where two channels x two pixels spend 16/15.
// The groups run unrolled 8 at a time, entered part-way (Duff's device) so that the first pass
// does groups % 8 of them: no count per group, SUBS + BPL per 8 groups. Every group is 52
// bytes (13 wide instructions; the assembler checks it), which gives the entry address. The
// loop over channels is in the assembly too (about 19 instructions per channel besides its
// groups); the accumulators go to memory and tinyq_dsp_requantize finishes them.
//   r0 patch pairs (4-byte aligned), r1 weights of the first channel, r2 groups of 4 values
//   per channel (may be 0), r3 -> Mat1x4Args.
struct Mat1x4Args {
  const int32_t* bias;  // bias of the first channel, one per channel (never null)
  int32_t* acc;         // pixel 0's accumulator of the first channel, one per channel; pixel
                        // q's is 64 q bytes (16 q entries) further
  int32_t skip;         // bytes from the end of a channel's 4 * groups weights to the next channel
  int32_t channels;     // channels to compute, >= 1
};
extern "C" void tinyq_dsp_mat_1x4(const int16_t* pairs, const int8_t* weights, int32_t groups, Mat1x4Args* args);
// Stack frame: [sp] patch start, [sp, #4] passes after the first, [sp, #8] entry address (Thumb
// bit set), [sp, #12] skip, [sp, #16] channels left, [sp, #20] bias pointer; lr walks the
// accumulators.
// clang-format off
__asm__(TINYQ_ASM_BEGIN("tinyq_dsp_mat_1x4") R"(
  .macro TINYQ_GROUP
  ldr.w r7, [r1], #4
  ldmia.w r0!, {r9-r12}
  sxtb16 r8, r7
  smlad r3, r8, r9, r3
  smlad r4, r8, r10, r4
  smlad r5, r8, r11, r5
  smlad r6, r8, r12, r6
  ldmia.w r0!, {r9-r12}
  sxtb16 r7, r7, ror #8
  smlad r3, r7, r9, r3
  smlad r4, r7, r10, r4
  smlad r5, r7, r11, r5
  smlad r6, r7, r12, r6
  .endm
  push {r4-r11, lr}
  sub sp, #24
  ldrd r4, lr, [r3]
  ldrd r5, r6, [r3, #8]
  str r4, [sp, #20]
  strd r5, r6, [sp, #12]
  subs r8, r2, #1
  bmi 7f
  lsr r9, r8, #3
  and r8, r8, #7
  rsb r8, r8, #7
  adr.w r7, .Ltq_mat_1x4_g0
  mov r10, #52
  mla r7, r8, r10, r7
  b 8f
7:
  adr.w r7, 2f
  mov r9, #0
8:
  orr r7, r7, #1
  strd r0, r9, [sp]
  str r7, [sp, #8]
3:
  ldr r7, [sp, #20]
  ldr r3, [r7], #4
  str r7, [sp, #20]
  mov r4, r3
  mov r5, r3
  mov r6, r3
  ldm sp, {r0, r2, r7}
  bx r7
5:
.Ltq_mat_1x4_g0:
  TINYQ_GROUP
.Ltq_mat_1x4_g1:
  .rept 7
  TINYQ_GROUP
  .endr
  .if (.Ltq_mat_1x4_g1 - .Ltq_mat_1x4_g0) != 52
  .error "tinyq_dsp_mat_1x4: a group must be 13 wide instructions"
  .endif
  subs r2, r2, #1
  bpl 5b
2:
  str r4, [lr, #64]
  str r5, [lr, #128]
  str r6, [lr, #192]
  str r3, [lr], #4
  ldrd r7, r8, [sp, #12]
  add r1, r7
  subs r8, r8, #1
  str r8, [sp, #16]
  bne 3b
  add sp, #24
  pop {r4-r11, pc}
  .purgem TINYQ_GROUP
)" TINYQ_ASM_END("tinyq_dsp_mat_1x4"));
// clang-format on

// tinyq_dsp_requantize (declared in conv_arm_common.hpp). Registers: r0 accumulators, r1
// outputs, r2 count, r3 bytes between pixels' outputs, r4 / r5 multiplier / shift pointers,
// r6 / r7 lo / hi, r8 output offset, r9 multiplier, r10 t, r11 2^(t-1), r12 a value, lr the
// address of pixel 2's output. Pixel q's accumulators are 64 q bytes (16 q entries) further.
// TFLite's rounding (mode bit 2, TINYQ_ONE_TFLITE: arm::requantize_tflite_fast's SMLAL into
// the constant 2^(30+r) +- 2^30, whose words are 2^(t-1) or 2^(t-1) - 1 and 2^30 or 3 * 2^30 by
// the sign of the accumulator) needs two more registers for that constant: r3 and lr for one
// pixel, r6 and r7 (free with the full-range SSAT clamp) for four.
// Doubled (mode bit 4, TINYQ_ONE_DOUBLED, TFLite's rounding with the full range only, for
// callers that bound their accumulators: RowRequantizer::bound_accumulators): 2 acc (LSL)
// through SMMLAR into the addend 2^(r-1) + offset * 2^r, plus the sign of acc, shifted by
// r = -shift; 7 instructions an output instead of 9. r8 holds 2 * offset + 1, r11 the addend
// (r8 << (r - 1)). Why it is exact: pack_quad_weights in depthwise_arm_dsp_rows.cpp.
// clang-format off
// The doubled loops (modes 22, 23, 30) are left out at -Os (about 0.4 KB; bound_accumulators
// never asks for them there).
#if defined(__OPTIMIZE_SIZE__)
#define TINYQ_REQUANT_DOUBLED "  .set tinyq_requant_doubled, 0\n"
#else
#define TINYQ_REQUANT_DOUBLED "  .set tinyq_requant_doubled, 1\n"
#endif
__asm__(TINYQ_REQUANT_DOUBLED R"(
  .section .text.tinyq_dsp_requantize,"ax",%progbits
  .syntax unified
  .thumb
  .macro TINYQ_CLAMP reg, full
  .if \full
  add \reg, r8
  ssat \reg, #8, \reg
  .else
  cmp \reg, r6
  it lt
  movlt \reg, r6
  cmp \reg, r7
  it gt
  movgt \reg, r7
  add \reg, r8
  .endif
  .endm
  .macro TINYQ_ONE load, store, full
  ldr r12, \load
  smmla r12, r12, r9, r11
  asr r12, r12, r10
  TINYQ_CLAMP r12, \full
  strb r12, \store
  .endm
  .macro TINYQ_ONE_TFLITE load, store, full, lo, hi
  ldr r12, \load
  and \lo, r12, #0x80000000
  eor \lo, \lo, #0x40000000
  add \hi, r11, r12, asr #31
  smlal \lo, \hi, r12, r9
  asr r12, \hi, r10
  TINYQ_CLAMP r12, \full
  strb r12, \store
  .endm
  .macro TINYQ_REQUANT_LOOP four, full
1:
  ldr r9, [r4], #4
  ldr r10, [r5], #4
  mvn r10, r10
  sub r11, r10, #1
  mov r12, #1
  lsl r11, r12, r11
  .if \four
  add lr, r1, r3, lsl #1
  TINYQ_ONE "[r0, #64]", "[r1, r3]", \full
  TINYQ_ONE "[r0, #128]", "[lr]", \full
  TINYQ_ONE "[r0, #192]", "[lr, r3]", \full
  .endif
  TINYQ_ONE "[r0], #4", "[r1], #1", \full
  subs r2, r2, #1
  bne 1b
  pop {r4-r11, pc}
  .endm
  .macro TINYQ_REQUANT_LOOP_TFLITE four, full, lo, hi
1:
  ldr r9, [r4], #4
  ldr r10, [r5], #4
  mvn r10, r10
  sub r11, r10, #1
  mov r12, #1
  lsl r11, r12, r11
  .if \four
  add lr, r1, r3, lsl #1
  TINYQ_ONE_TFLITE "[r0, #64]", "[r1, r3]", \full, \lo, \hi
  TINYQ_ONE_TFLITE "[r0, #128]", "[lr]", \full, \lo, \hi
  TINYQ_ONE_TFLITE "[r0, #192]", "[lr, r3]", \full, \lo, \hi
  .endif
  TINYQ_ONE_TFLITE "[r0], #4", "[r1], #1", \full, \lo, \hi
  subs r2, r2, #1
  bne 1b
  pop {r4-r11, pc}
  .endm
  .macro TINYQ_ONE_DOUBLED load, store, lo
  ldr r12, \load
  lsl r12, r12, #1
  smmlar \lo, r12, r9, r11
  add r12, \lo, r12, asr #31
  asr r12, r12, r10
  ssat r12, #8, r12
  strb r12, \store
  .endm
  .macro TINYQ_DOUBLED_CHANNEL load
  ldr r9, \load
  ldr r10, [r5], #4
  rsb r10, r10, #0
  sub r11, r10, #1
  lsl r11, r8, r11
  .endm
  .macro TINYQ_REQUANT_LOOP_DOUBLED four, lo
1:
  TINYQ_DOUBLED_CHANNEL "[r4], #4"
  .if \four
  add lr, r1, r3, lsl #1
  TINYQ_ONE_DOUBLED "[r0, #64]", "[r1, r3]", \lo
  TINYQ_ONE_DOUBLED "[r0, #128]", "[lr]", \lo
  TINYQ_ONE_DOUBLED "[r0, #192]", "[lr, r3]", \lo
  .endif
  TINYQ_ONE_DOUBLED "[r0], #4", "[r1], #1", \lo
  subs r2, r2, #1
  bne 1b
  pop {r4-r11, pc}
  .endm
  .macro TINYQ_REQUANT_LOOP_TENSOR_DOUBLED
  TINYQ_DOUBLED_CHANNEL "[r4]"
1:
  TINYQ_ONE_DOUBLED "[r0], #4", "[r1], #1", r3
  subs r2, r2, #1
  bne 1b
  pop {r4-r11, pc}
  .endm
  .macro TINYQ_REQUANT_LOOP_TENSOR full, tflite
  ldr r9, [r4]
  ldr r10, [r5]
  mvn r10, r10
  sub r11, r10, #1
  mov r12, #1
  lsl r11, r12, r11
1:
  .if \tflite
  TINYQ_ONE_TFLITE "[r0], #4", "[r1], #1", \full, r3, lr
  .else
  TINYQ_ONE "[r0], #4", "[r1], #1", \full
  .endif
  subs r2, r2, #1
  bne 1b
  pop {r4-r11, pc}
  .endm
  .align 2
  .global tinyq_dsp_requantize
  .hidden tinyq_dsp_requantize
  .type tinyq_dsp_requantize, %function
  .thumb_func
tinyq_dsp_requantize:
  push {r4-r11, lr}
  ldrd r4, r5, [r3]
  ldrd r6, r7, [r3, #12]
  ldr r8, [r3, #20]
  ldr r12, [r3, #24]
  ldr r3, [r3, #8]
  tbh [pc, r12, lsl #1]  @ one loop per mode; the table follows (TBH reads from its address + 4)
0:
  .hword (10f - 0b) / 2
  .hword (11f - 0b) / 2
  .hword (12f - 0b) / 2
  .hword (13f - 0b) / 2
  .hword (14f - 0b) / 2
  .hword (15f - 0b) / 2
  .hword (16f - 0b) / 2
  .hword (17f - 0b) / 2
  .hword (18f - 0b) / 2
  .hword (15f - 0b) / 2
  .hword (19f - 0b) / 2
  .hword (15f - 0b) / 2
  .hword (20f - 0b) / 2
  .hword (15f - 0b) / 2
  .hword (21f - 0b) / 2
  .hword (15f - 0b) / 2
  .rept 6
  .hword (15f - 0b) / 2
  .endr
  .if tinyq_requant_doubled
  .hword (22f - 0b) / 2
  .hword (23f - 0b) / 2
  .rept 6
  .hword (15f - 0b) / 2
  .endr
  .hword (24f - 0b) / 2
  .endif
15:
  udf #0  @ modes 5 (TFLite, four pixels, narrow range), 9, 11, 13, 15 (per tensor, four pixels), and 16 to 29 but 22 and 23 (doubled: TFLite's full range only) are never passed
10:
  TINYQ_REQUANT_LOOP 0, 0
11:
  TINYQ_REQUANT_LOOP 1, 0
12:
  TINYQ_REQUANT_LOOP 0, 1
13:
  TINYQ_REQUANT_LOOP 1, 1
14:
  TINYQ_REQUANT_LOOP_TFLITE 0, 0, r3, lr
16:
  TINYQ_REQUANT_LOOP_TFLITE 0, 1, r3, lr
17:
  TINYQ_REQUANT_LOOP_TFLITE 1, 1, r6, r7
18:
  TINYQ_REQUANT_LOOP_TENSOR 0, 0
19:
  TINYQ_REQUANT_LOOP_TENSOR 1, 0
20:
  TINYQ_REQUANT_LOOP_TENSOR 0, 1
21:
  TINYQ_REQUANT_LOOP_TENSOR 1, 1
  .if tinyq_requant_doubled
22:
  TINYQ_REQUANT_LOOP_DOUBLED 0, r3
23:
  TINYQ_REQUANT_LOOP_DOUBLED 1, r6
24:
  TINYQ_REQUANT_LOOP_TENSOR_DOUBLED
  .endif
  .size tinyq_dsp_requantize, .-tinyq_dsp_requantize
  .purgem TINYQ_REQUANT_LOOP_DOUBLED
  .purgem TINYQ_REQUANT_LOOP_TENSOR_DOUBLED
  .purgem TINYQ_DOUBLED_CHANNEL
  .purgem TINYQ_ONE_DOUBLED
  .purgem TINYQ_REQUANT_LOOP
  .purgem TINYQ_REQUANT_LOOP_TFLITE
  .purgem TINYQ_REQUANT_LOOP_TENSOR
  .purgem TINYQ_ONE_TFLITE
  .purgem TINYQ_ONE
  .purgem TINYQ_CLAMP
  .text
)");
#undef TINYQ_REQUANT_DOUBLED
// clang-format on

// Output channels [oc_begin, oc_end) of four pixels whose patches (K values each, reordered,
// zero-padded to a multiple of 4) are in `cols`; pixel q's results go to out[q][oc]. A block
// of fewer than four pixels repeats its last one (computed again, stored once).
// K % 4 != 0: the padded last group is read as a whole weight word, whose extra bytes belong
// to the next channel's row and meet zeros in the patch. That read stays inside the weights
// except for the last channel of the range, which runs without the padded group and adds its
// last K % 4 products here.
void mat_mult_1x4(const int16_t* cols, const int8_t* weights, int32_t k, int32_t oc_begin, int32_t oc_end,
                  const int32_t* bias, RowRequantizer& rq, int8_t* const out[kPixels], int32_t distinct) {
  constexpr int32_t kChunk = RowRequantizer::kQuadChannels;  // channels per call
  static_assert(kChunk == 16, "tinyq_dsp_mat_1x4 and tinyq_dsp_requantize address pixel q at 64 q bytes");
  const int32_t k4 = k & ~3;
  const bool tail = k4 != k;
  const int32_t groups = (k + 3) >> 2;
  const int32_t pixel_stride = static_cast<int32_t>(out[1] - out[0]);
  int32_t acc[kPixels * kChunk];  // [pixel][channel]
  static const int32_t kNoBias[kChunk] = {};
  Mat1x4Args args;
  for (int32_t oc = oc_begin; oc < oc_end;) {
    const int32_t n = oc_end - oc < kChunk ? oc_end - oc : kChunk;  // channels of this chunk
    const int32_t safe = tail && n == oc_end - oc ? n - 1 : n;      // may read the padded group
    if (safe > 0) {
      args.bias = bias != nullptr ? bias + oc : kNoBias;
      args.acc = acc;
      args.skip = k - 4 * groups;
      args.channels = safe;
      tinyq_dsp_mat_1x4(cols, weights + oc * k, groups, &args);
    }
    if (safe < n) {  // the range's last channel
      const int8_t* w = weights + (oc + safe) * k;
      args.bias = bias != nullptr ? bias + oc + safe : kNoBias;
      args.acc = acc + safe;
      args.skip = 0;
      args.channels = 1;
      tinyq_dsp_mat_1x4(cols, w, k4 >> 2, &args);
      for (int32_t i = k4; i < k; ++i) {
        const int32_t h = reordered_index(i);
        for (int32_t q = 0; q < kPixels; ++q) acc[q * kChunk + safe] += cols[h + 2 * q] * w[i];
      }
    }
    if (distinct == kPixels) {
      rq.run(acc, oc, n, out[0] + oc, kPixels, pixel_stride);
    } else {
      for (int32_t q = 0; q < distinct; ++q) rq.run(acc + q * kChunk, oc, n, out[q] + oc, 1, 0);
    }
    oc += n;
  }
}

// Walks the output pixels of all images in order.
struct PixelCursor {
  int32_t b = 0, oy = 0, ox = 0;
  void next(const ConvParams& p) {
    if (++ox == p.out_w) {
      ox = 0;
      if (++oy == p.out_h) {
        oy = 0;
        ++b;
      }
    }
  }
};

// The next block of up to four pixels: their positions, output pointers (repeating the last
// pixel when fewer than four are left) and how many are distinct.
int32_t next_block(const ConvParams& p, int32_t n, int32_t pixels, PixelCursor& cur, PixelCursor pix[kPixels],
                   int8_t* output, int8_t* out[kPixels]) {
  const int32_t distinct = pixels - n < kPixels ? pixels - n : kPixels;
  for (int32_t q = 0; q < kPixels; ++q) {
    pix[q] = cur;
    out[q] = output + (n + (q < distinct ? q : distinct - 1)) * p.out_c;
    if (q < distinct - 1) cur.next(p);
  }
  cur.next(p);
  return distinct;
}

// 1x1 kernel over real pixels: the patch of a pixel is its in_c channels, converted in place
// of an im2col (no window, no padding tests).
void conv_pointwise(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                    int8_t* output, int16_t* scratch) {
  const OutputStage st(p.requant, p.output_offset, p.act_min, p.act_max);
  RowRequantizer rq(st, p.requant);
  if (p.requant.rounding == kRoundTflite)
    rq.bound_accumulators(accumulator_bound(bias, p.out_c, p.in_c, p.input_offset));
  const bool fast = (p.in_c & 3) == 0;
  const int32_t pixels = p.batch * p.out_h * p.out_w;
  PixelCursor cur;
  for (int32_t n = 0; n < pixels; n += kPixels) {
    PixelCursor pix[kPixels];
    int8_t* out[kPixels];
    const int32_t distinct = next_block(p, n, pixels, cur, pix, output, out);
    for (int32_t q = 0; q < kPixels; ++q) {
      const PixelCursor& c = pix[q];
      const int8_t* src = input + ((c.b * p.in_h + c.oy * p.stride_h) * p.in_w + c.ox * p.stride_w) * p.in_c;
      PatchWriter w(scratch + 2 * q, p.input_offset);
      if (fast) {
        w.run4(src, p.in_c);
      } else {
        w.run(src, p.in_c);
        w.zeros(((p.in_c + 3) & ~3) - p.in_c);
        w.reorder((p.in_c + 3) & ~3);
      }
    }
    mat_mult_1x4(scratch, weights, p.in_c, 0, p.out_c, bias, rq, out, distinct);
  }
}

void conv_general(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias, int8_t* output,
                  int16_t* scratch) {
  const OutputStage st(p.requant, p.output_offset, p.act_min, p.act_max);
  RowRequantizer rq(st, p.requant);
  const int32_t group_in_c = p.in_c / p.groups;
  const int32_t group_out_c = p.out_c / p.groups;
  const int32_t k = p.kernel_h * p.kernel_w * group_in_c;
  if (p.requant.rounding == kRoundTflite) rq.bound_accumulators(accumulator_bound(bias, p.out_c, k, p.input_offset));
  const bool fast = (group_in_c & 3) == 0;
  const bool runs_inside = fast && p.groups == 1 && p.dilation_w == 1;  // im2col_inside's case
  // The padded group's zeros are written once; every patch writer leaves them zero.
  for (int32_t i = 0; i < kPixels * ((k + 3) & ~3); ++i) scratch[i] = 0;
  const bool gather = conv2d_s8_dsp_gathers(p);
  GatherTap* taps = reinterpret_cast<GatherTap*>(scratch + kPixels * ((k + 3) & ~3));
  if (gather) {
    int32_t i = 0;
    for (int32_t ty = 0; ty < p.kernel_h; ++ty) {
      for (int32_t tx = 0; tx < p.kernel_w; ++tx) {
        for (int32_t c = 0; c < p.in_c; ++c, ++i) {
          taps[i].src = (ty * p.dilation_h * p.in_w + tx * p.dilation_w) * p.in_c + c;
          taps[i].dst = reordered_index(i);
        }
      }
    }
  }
  const int32_t extent_h = (p.kernel_h - 1) * p.dilation_h, extent_w = (p.kernel_w - 1) * p.dilation_w;
  const int32_t pixels = p.batch * p.out_h * p.out_w;
  PixelCursor cur;
  for (int32_t n = 0; n < pixels; n += kPixels) {
    PixelCursor pix[kPixels];
    int8_t* out[kPixels];
    const int32_t distinct = next_block(p, n, pixels, cur, pix, output, out);
    const int8_t* image[kPixels];
    int32_t y0[kPixels], x0[kPixels];
    bool inside[kPixels], all_inside = true;
    for (int32_t q = 0; q < kPixels; ++q) {
      image[q] = input + pix[q].b * p.in_h * p.in_w * p.in_c;
      y0[q] = pix[q].oy * p.stride_h - p.pad_top;
      x0[q] = pix[q].ox * p.stride_w - p.pad_left;
      inside[q] = y0[q] >= 0 && y0[q] + extent_h < p.in_h && x0[q] >= 0 && x0[q] + extent_w < p.in_w;
      all_inside = all_inside && inside[q];
    }
    for (int32_t g = 0; g < p.groups; ++g) {
      if (gather && all_inside) {
        const int8_t* base[kPixels];
        for (int32_t q = 0; q < kPixels; ++q) base[q] = image[q] + (y0[q] * p.in_w + x0[q]) * p.in_c;
        gather_quad(base, taps, k, p.input_offset, scratch);
      } else {
        for (int32_t q = 0; q < kPixels; ++q) {
          if (runs_inside && inside[q])
            im2col_inside(p, image[q] + (y0[q] * p.in_w + x0[q]) * p.in_c, scratch + 2 * q);
          else
            im2col(p, image[q], y0[q], x0[q], g, fast, scratch + 2 * q);
        }
      }
      mat_mult_1x4(scratch, weights, k, g * group_out_c, (g + 1) * group_out_c, bias, rq, out, distinct);
    }
  }
}

}  // namespace

void conv2d_s8_dsp_pointwise(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                             int8_t* output, int16_t* scratch) {
  if (conv2d_s8_dsp_pointwise_narrow(p, input, weights, bias, output)) return;
  conv_pointwise(p, input, weights, bias, output, scratch);
}

void conv2d_s8_dsp_general(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                           int8_t* output, int16_t* scratch) {
  if (conv2d_s8_dsp_first_layer(p, input, weights, bias, output)) return;
  conv_general(p, input, weights, bias, output, scratch);
}

}  // namespace rt
}  // namespace tinyq

#endif  // TINYQ_PATH_ARM_DSP
