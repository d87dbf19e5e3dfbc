// tinyq runtime: depthwise_conv2d_s8 on Helium for layers over one line of pixels
// (depthwise_mve_line, kernels.hpp: the streaming wakeword's k x 1 layers down a one-column
// image, 1-D signals).
//
// The block runs of depthwise_arm_mve.cpp keep 16 channels in the lanes and loop over the taps:
// about 13 instructions a tap for 16 outputs, plus the output stage, so a 10-tap window costs
// about 14 instructions per output. Here the taps are the lanes instead. For a block of
// channels, each channel's inputs along the line are copied into a line of its own
// (channel-major, VSTRB.16 scatters: 2 instructions per 8 channels and pixel); then an output's
// window is 16 contiguous bytes of its channel's line, and one VMLADAV.S8 against the
// channel's weights (tap t at lane t * dilation, zero elsewhere) is the whole window, for any
// span up to 15. The same 16 bytes against the weights one lane up give the next pixel, so one
// VLDRB serves two pixels. Eight pixels of a channel go to eight accumulators (r0 .. r14), one
// STM and two VLDRW make them two vectors of 4 pixels, whose requantization uses the channel's
// multiplier and shift broadcast, and a VSTRB.16 scatter writes the 8 bytes C apart: about 4
// instructions per output whatever the window (SWW's 10 x 1 layer with the set-up: 27,978 ->
// 16,387 instructions).
//
// The padding is the input zero point (x + offset = 0 there, as in im2col), so one folded base
// per channel (bias + offset * sum of its weights) serves every window. Sums are exact (16
// products of int8 in int32) and wrap like the portable kernel's: same bytes. Blocks of 16
// channels, the last of 8 where at most 8 are left; a last partial block is the block of the
// last 16 or 8 (channels computed twice, same bytes). Long lines go in tiles. Stack: the lines
// (1 KB) and the channels' records (768 B).
#include "tinyq/kernel_path.hpp"  // defines the TINYQ_PATH_* macro tested below

#if defined(TINYQ_PATH_ARM_MVE)

#include <arm_mve.h>
#include <stddef.h>  // offsetof

#include "arm_instructions.hpp"
#include "conv_arm_common.hpp"
#include "kernel_features.hpp"
#include "kernel_paths.hpp"

namespace tinyq {
namespace rt {

namespace {

// One channel of a block, as the assembly reads it.
struct LineChannel {
  int8_t w[16];        // 0: tap t's weight at lane t * dilation, zero elsewhere
  int8_t shifted[16];  // 16: the same one lane up (the next pixel's window from the same load)
  int32_t mult;        // 32: the multiplier
  int32_t negt;        // 36: the shift, + 1 for tinyq's rounding (requantize_lanes' -t)
  int32_t base;        // 40: bias + input offset * the sum of the weights
  int32_t unused;
};
static_assert(sizeof(LineChannel) == 48, "the assembly's record size");

// A block's call of tinyq_mve_dw_line_*: `count` channels, each with `groups` whole groups of
// 8 output pixels and a last group of `tail` pixels (0: none). Channel j's line starts at
// lines + j * (8 * (groups + (tail != 0)) + 16), its outputs at out + j, pixel i's C * i later.
struct LineArgs {
  const LineChannel* channels;  // 0
  int32_t count;                // 4
  const int8_t* lines;          // 8
  int8_t* out;                  // 12
  int32_t groups;               // 16
  int32_t tail;                 // 20
  int32_t group_step;           // 24: 8 * C
  int32_t offset;               // 28: the output offset
  int32_t rewind;               // 32: from past a channel's last group to the next channel's outputs
  int32_t unused[3];
  int16x8_t lo, hi;    // 48, 64: act_min, act_max (the clamping forms)
  uint16x8_t scatter;  // 80: pixel i's output at C * i
};
static_assert(offsetof(LineArgs, rewind) == 32 && offsetof(LineArgs, lo) == 48 && offsetof(LineArgs, scatter) == 80,
              "the assembly's offsets");

// The output stage of a form: rq and clamp as DwRunForms' (depthwise_arm_mve.cpp): rq 0 tinyq's
// rounding, 1 TFLite's with shifts <= 0, 2 TFLite's with every shift < 0; clamp: the activation
// range is narrower than int8 (otherwise saturating to int8 is the clamp).
#define TINYQ_DW_LINE_DECLARE(form) extern "C" void tinyq_mve_dw_line_##form(const LineArgs* args);
TINYQ_DW_LINE_DECLARE(00)
TINYQ_DW_LINE_DECLARE(01)
TINYQ_DW_LINE_DECLARE(10)
TINYQ_DW_LINE_DECLARE(11)
TINYQ_DW_LINE_DECLARE(20)
TINYQ_DW_LINE_DECLARE(21)
#undef TINYQ_DW_LINE_DECLARE

// Registers: r0, r8, r2, r10, r4, r12, r6, lr the accumulators of pixels 0 .. 7 (STM stores
// them as pixels 0, 2, 4, 6, 1, 3, 5, 7: two vectors of even and odd pixels, which VQMOVNB /
// VQMOVNT narrow into pixel order), r1 the channel's line (8 bytes further per group), r3 its
// outputs, r5 the group step, r7 the base, r9 a counter, r11 the output offset; q4 the weights
// and q3 the shifted weights (one load of 16 bytes serves two pixels: the window of the next
// pixel is the same bytes one lane up), q5 the scatter offsets, q6 / q7 the multiplier / shift
// in every lane, q0 the loads and temporaries. The channel loop comes in two forms, chosen once
// per call: without a last partial group (then at least one whole group: no tests per
// channel), and with one. The frame: [sp, 0 .. 31]
// the accumulators, 32 the next channel's record, 36 channels left, 40 groups, 44 tail, 48 / 64
// lo / hi, 80 rewind.
// clang-format off
__asm__(R"(
  .macro TINYQ_DW_LINE_REQUANT acc, rq
  .if \rq == 0
  vmulh.s32 \acc, \acc, q6
  .elseif \rq == 1
  vqrdmulh.s32 \acc, \acc, q6
  vand q0, \acc, q7
  vshr.s32 q0, q0, #31
  vqadd.s32 \acc, \acc, q0
  .else
  vqrdmulh.s32 \acc, \acc, q6
  vshr.s32 q0, \acc, #31
  vadd.i32 \acc, \acc, q0
  .endif
  vrshl.s32 \acc, \acc, q7
  .endm
  .macro TINYQ_DW_LINE_GROUP rq, clamp, tail
  vldrb.u8 q0, [r1, #2]
  vmladav.s8 r2, q0, q4
  vmladav.s8 r10, q0, q3
  vldrb.u8 q0, [r1, #4]
  vmladav.s8 r4, q0, q4
  vmladav.s8 r12, q0, q3
  vldrb.u8 q0, [r1, #6]
  vmladav.s8 r6, q0, q4
  vmladav.s8 lr, q0, q3
  vldrb.u8 q0, [r1], #8
  vmladav.s8 r0, q0, q4
  vmladav.s8 r8, q0, q3
  stm sp, {r0, r2, r4, r6, r8, r10, r12, lr}
  vldrw.u32 q1, [sp]
  vldrw.u32 q2, [sp, #16]
  vadd.i32 q1, q1, r7
  vadd.i32 q2, q2, r7
  TINYQ_DW_LINE_REQUANT q1, \rq
  TINYQ_DW_LINE_REQUANT q2, \rq
  vqmovnb.s32 q1, q1
  vqmovnt.s32 q1, q2
  vqadd.s16 q1, q1, r11
  .if \clamp
  vldrw.u32 q0, [sp, #48]
  vmax.s16 q1, q1, q0
  vldrw.u32 q0, [sp, #64]
  vmin.s16 q1, q1, q0
  .else
  vqmovnb.s16 q1, q1
  .endif
  .if \tail
  vctp.16 r9
  vpst
  vstrbt.16 q1, [r3, q5]
  .else
  vstrb.16 q1, [r3, q5]
  .endif
  add r3, r5
  .endm
  .macro TINYQ_DW_LINE_CHANNELS rq, clamp, tail
1:
  ldr r9, [sp, #32]
  vldrw.u32 q4, [r9]
  vldrw.u32 q3, [r9, #16]
  ldrd r7, r0, [r9, #32]
  vdup.32 q6, r7
  vdup.32 q7, r0
  ldr r7, [r9, #40]
  adds r9, #48
  str r9, [sp, #32]
  ldr r9, [sp, #40]
  .if \tail
  cmp r9, #0
  beq 3f
  .endif
2:
  TINYQ_DW_LINE_GROUP \rq, \clamp, 0
  subs r9, #1
  bne 2b
3:
  .if \tail
  ldr r9, [sp, #44]
  TINYQ_DW_LINE_GROUP \rq, \clamp, 1
  .endif
  adds r1, #16
  ldr r9, [sp, #80]
  add r3, r9
  ldr r9, [sp, #36]
  subs r9, #1
  str r9, [sp, #36]
  bne 1b
  .endm
  .macro TINYQ_DW_LINE rq, clamp
)" TINYQ_ASM_BEGIN("tinyq_mve_dw_line_\\rq\\clamp") R"(
  push {r4-r11, lr}
  vpush {d8-d15}
  sub sp, #96
  ldrd r1, r2, [r0, #0]
  strd r1, r2, [sp, #32]
  ldrd r1, r2, [r0, #16]
  strd r1, r2, [sp, #40]
  ldr r1, [r0, #32]
  str r1, [sp, #80]
  vldrw.u32 q0, [r0, #48]
  vstrw.32 q0, [sp, #48]
  vldrw.u32 q0, [r0, #64]
  vstrw.32 q0, [sp, #64]
  vldrw.u32 q5, [r0, #80]
  ldr r11, [r0, #28]
  ldr r5, [r0, #24]
  ldr r3, [r0, #12]
  ldr r1, [r0, #8]
  cmp r2, #0
  bne 5f
  TINYQ_DW_LINE_CHANNELS \rq, \clamp, 0
  b 6f
5:
  TINYQ_DW_LINE_CHANNELS \rq, \clamp, 1
6:
  add sp, #96
  vpop {d8-d15}
  pop {r4-r11, pc}
)" TINYQ_ASM_END("tinyq_mve_dw_line_\\rq\\clamp") R"(
  .endm
  .irp form, "0, 0", "0, 1", "1, 0", "1, 1", "2, 0", "2, 1"
  TINYQ_DW_LINE \form
  .endr
  .purgem TINYQ_DW_LINE
  .purgem TINYQ_DW_LINE_CHANNELS
  .purgem TINYQ_DW_LINE_GROUP
  .purgem TINYQ_DW_LINE_REQUANT
  .text
)");
// clang-format on

using LineRun = void (*)(const LineArgs*);

// The form of output stage rq, clamp. Only the forms the model uses are built
// (kernel_features.hpp, as the block runs').
LineRun line_form(int32_t rq, bool clamp) {
  if constexpr (TINYQ_DW_MVE_CLAMP) {
    if (clamp || !TINYQ_DW_MVE_FULL_RANGE) {
      if (TINYQ_DW_MVE_ROUND_SINGLE && rq == 0) return tinyq_mve_dw_line_01;
      if (TINYQ_DW_MVE_TFLITE_ZERO_SHIFT && rq == 1) return tinyq_mve_dw_line_11;
      if (TINYQ_DW_MVE_ROUND_TFLITE && rq == 2) return tinyq_mve_dw_line_21;
    }
  }
  if constexpr (TINYQ_DW_MVE_FULL_RANGE) {
    if (TINYQ_DW_MVE_ROUND_SINGLE && rq == 0) return tinyq_mve_dw_line_00;
    if (TINYQ_DW_MVE_TFLITE_ZERO_SHIFT && rq == 1) return tinyq_mve_dw_line_10;
    if (TINYQ_DW_MVE_ROUND_TFLITE && rq == 2) return tinyq_mve_dw_line_20;
  }
  __builtin_trap();  // mismatched sources: the model's features leave out a form it uses
}

// The lines of one call: at most 1 KB (16 channels of up to 64 bytes, 8 of 128).
constexpr int32_t kLineBytes = 1024;

// The records of `count` (8 or 16) channels from c0: the weights spread by the dilation (and
// one lane up) over records whose other lanes are zero already (zero_records), the multiplier
// and shift, the folded base. Scatters into the records' fields (channel j's at 48 j bytes),
// 8 channels at a time; the weight sums in 16-bit lanes (at most 15 taps of |w| <= 128),
// widened as even and odd channels.
void set_channels(const ConvParams& p, const int8_t* weights, const int32_t* bias, int32_t c0, int32_t count,
                  int32_t negt_bias, LineChannel* ch) {
  const int32_t taps = p.kernel_w, dilation = p.dilation_w, c = p.out_c, offset = p.input_offset;
  const bool per_channel = p.requant.count != 1;
  const uint16x8_t w_at = vmulq_n_u16(vidupq_n_u16(0, 1), sizeof(LineChannel));
  const uint32x4_t rec = vmulq_n_u32(vidupq_n_u32(0, 1), sizeof(LineChannel));
  const uint32x4_t even = vidupq_n_u32(0, 2), odd = vidupq_n_u32(1, 2);
  const uint32x4_t rec_even = vmulq_n_u32(even, sizeof(LineChannel)), rec_odd = vmulq_n_u32(odd, sizeof(LineChannel));
  for (int32_t h = 0; h < count; h += 8) {
    int16x8_t sum = vdupq_n_s16(0);
    const int8_t* w = weights + c0 + h;
    int8_t* at = ch[h].w;
    for (int32_t t = 0; t < taps; ++t, w += c, at += dilation) {
      const int16x8_t v = vldrbq_s16(w);
      vstrbq_scatter_offset_s16(at, w_at, v);
      vstrbq_scatter_offset_s16(at + sizeof(ch->w) + 1, w_at, v);
      sum = vaddq_s16(sum, v);
    }
    int32x4_t base_even = vmulq_n_s32(vmovlbq_s16(sum), offset), base_odd = vmulq_n_s32(vmovltq_s16(sum), offset);
    if (bias != nullptr) {
      base_even = vaddq_s32(base_even, vldrwq_gather_shifted_offset_s32(bias + c0 + h, even));
      base_odd = vaddq_s32(base_odd, vldrwq_gather_shifted_offset_s32(bias + c0 + h, odd));
    }
    int32x4_t mult0, mult1, negt0, negt1;
    if (per_channel) {
      mult0 = vldrwq_s32(p.requant.multiplier + c0 + h);
      mult1 = vldrwq_s32(p.requant.multiplier + c0 + h + 4);
      negt0 = vaddq_n_s32(vldrwq_s32(p.requant.shift + c0 + h), negt_bias);
      negt1 = vaddq_n_s32(vldrwq_s32(p.requant.shift + c0 + h + 4), negt_bias);
    } else {
      mult0 = mult1 = vdupq_n_s32(p.requant.multiplier[0]);
      negt0 = negt1 = vdupq_n_s32(p.requant.shift[0] + negt_bias);
    }
    // Channels h .. h + 3's fields from channel h's, h + 4 .. h + 7's 4 records further.
    int8_t* bytes = reinterpret_cast<int8_t*>(ch + h);
    auto field = [&](int32_t at_byte) { return reinterpret_cast<int32_t*>(bytes + at_byte); };
    vstrwq_scatter_offset_s32(field(offsetof(LineChannel, mult)), rec, mult0);
    vstrwq_scatter_offset_s32(field(4 * sizeof(LineChannel) + offsetof(LineChannel, mult)), rec, mult1);
    vstrwq_scatter_offset_s32(field(offsetof(LineChannel, negt)), rec, negt0);
    vstrwq_scatter_offset_s32(field(4 * sizeof(LineChannel) + offsetof(LineChannel, negt)), rec, negt1);
    vstrwq_scatter_offset_s32(field(offsetof(LineChannel, base)), rec_even, base_even);
    vstrwq_scatter_offset_s32(field(offsetof(LineChannel, base)), rec_odd, base_odd);
  }
}

// Zeroes the records' weight lanes once per layer: set_channels writes the same lanes (the
// taps') for every block.
void zero_records(LineChannel* ch) {
  for (int32_t j = 0; j < 16; ++j) {
    vstrbq_s8(ch[j].w, vdupq_n_s8(0));
    vstrbq_s8(ch[j].shifted, vdupq_n_s8(0));
  }
}

// Copies pixels [x0, x0 + n) of kCount (8 or 16) channels at `in` (pixel 0's; the zero point
// outside [0, in_w)) into the lines, `stride` bytes apart: per pixel one VLDRB.S16 and one
// VSTRB.16 scatter per 8 channels, two pixels a pass.
template <int32_t kCount>
void copy_lines(const int8_t* in, int32_t c, int32_t in_w, int32_t x0, int32_t n, int8_t zero, int8_t* lines,
                int32_t stride) {
  const uint16x8_t lo = vmulq_n_u16(vidupq_n_u16(0, 1), static_cast<uint16_t>(stride));
  const uint16x8_t hi = vaddq_n_u16(lo, static_cast<uint16_t>(8 * stride));
  const int16x8_t pad = vdupq_n_s16(zero);
  const int32_t before = x0 < 0 ? (-x0 < n ? -x0 : n) : 0;
  const int32_t inside_end = in_w - x0 < n ? in_w - x0 : n;
  auto store = [&](int8_t* to, int16x8_t a, int16x8_t b) {
    vstrbq_scatter_offset_s16(to, lo, a);
    if (kCount == 16) vstrbq_scatter_offset_s16(to, hi, b);
  };
  int8_t* to = lines;
  int32_t i = 0;
  for (; i < before; ++i) store(to++, pad, pad);
  const int8_t* from = in + (x0 + before) * c;
  const int32_t pairs = i < inside_end ? (inside_end - i) / 2 : 0;
  if (kCount == 16 && pairs > 0) {
    // In assembly: GCC 12 spent 17 instructions per two pixels here, this loop 13.
    int16x8_t t0, t1, t2, t3;
    __asm__ volatile(
        "wls lr, %[pairs], 2f\n"
        "1:\n\t"
        "vldrb.s16 %q[t0], [%[from]]\n\t"
        "vldrb.s16 %q[t1], [%[from], #8]\n\t"
        "add %[from], %[c]\n\t"
        "vldrb.s16 %q[t2], [%[from]]\n\t"
        "vldrb.s16 %q[t3], [%[from], #8]\n\t"
        "add %[from], %[c]\n\t"
        "vstrb.16 %q[t0], [%[to], %q[lo]]\n\t"
        "vstrb.16 %q[t1], [%[to], %q[hi]]\n\t"
        "adds %[to], #1\n\t"
        "vstrb.16 %q[t2], [%[to], %q[lo]]\n\t"
        "vstrb.16 %q[t3], [%[to], %q[hi]]\n\t"
        "adds %[to], #1\n\t"
        "le lr, 1b\n"
        "2:"
        : [from] "+l"(from), [to] "+l"(to), [t0] "=&w"(t0), [t1] "=&w"(t1), [t2] "=&w"(t2), [t3] "=&w"(t3)
        : [pairs] "r"(pairs), [c] "r"(c), [lo] "w"(lo), [hi] "w"(hi)
        : "lr", "memory");
    i += 2 * pairs;
  }
  for (; i + 2 <= inside_end; i += 2, from += 2 * c, to += 2) {
    const int16x8_t a0 = vldrbq_s16(from), b0 = kCount == 16 ? vldrbq_s16(from + 8) : pad;
    const int16x8_t a1 = vldrbq_s16(from + c), b1 = kCount == 16 ? vldrbq_s16(from + c + 8) : pad;
    store(to, a0, b0);
    store(to + 1, a1, b1);
  }
  for (; i < inside_end; ++i, from += c) store(to++, vldrbq_s16(from), kCount == 16 ? vldrbq_s16(from + 8) : pad);
  for (; i < n; ++i) store(to++, pad, pad);
}

}  // namespace

bool depthwise_mve_line_run(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                            int8_t* output) {
  // The requantization's vector forms (depthwise_any's conditions).
  const bool tflite = p.requant.rounding == kRoundTflite;
  const int32_t widest = arm::widest_shift(p.requant);
  if (widest > (tflite ? 0 : -2)) return false;
  const int32_t rq = !tflite ? 0 : (widest < 0 ? 2 : 1);
  const LineRun run = line_form(rq, p.act_min != -128 || p.act_max != 127);
  const int32_t c = p.out_c, span = (p.kernel_w - 1) * p.dilation_w + 1;
  // Output pixels per call: whole groups of 8 within a line of kLineBytes / 16 bytes.
  const int32_t tile = 8 * ((kLineBytes / 16 - 16) / 8);
  LineArgs a;
  a.group_step = 8 * c;
  a.offset = p.output_offset;
  a.lo = vdupq_n_s16(static_cast<int16_t>(p.act_min));
  a.hi = vdupq_n_s16(static_cast<int16_t>(p.act_max));
  a.scatter = vmulq_n_u16(vidupq_n_u16(0, 1), static_cast<uint16_t>(c));
  alignas(16) LineChannel channels[16];
  alignas(16) int8_t lines[kLineBytes];
  a.channels = channels;
  a.lines = lines;
  zero_records(channels);
  const int8_t zero = static_cast<int8_t>(-p.input_offset);
  for (int32_t c0 = 0, count = 16; c0 < c; c0 += count) {
    // Blocks of 16 channels, the last of 8 where at most 8 are left; a last block overlaps the
    // one before where fewer are left (c >= 8: the same bytes again).
    count = c - c0 <= 8 || c < 16 ? 8 : 16;
    if (c0 + count > c) c0 = c - count;
    a.count = count;
    set_channels(p, weights, bias, c0, count, tflite ? 0 : 1, channels);
    for (int32_t b = 0; b < p.batch; ++b) {
      const int8_t* in = input + b * p.in_w * c + c0;
      for (int32_t x = 0; x < p.out_w; x += tile) {
        const int32_t n = p.out_w - x < tile ? p.out_w - x : tile;
        a.groups = n / 8;
        a.tail = n % 8;
        const int32_t groups = a.groups + (a.tail != 0);
        const int32_t stride = 8 * groups + 16;
        a.rewind = 1 - groups * a.group_step;
        if (count == 16) {
          copy_lines<16>(in, c, p.in_w, x - p.pad_left, n + span - 1, zero, lines, stride);
        } else {
          copy_lines<8>(in, c, p.in_w, x - p.pad_left, n + span - 1, zero, lines, stride);
        }
        a.out = output + (b * p.out_w + x) * c + c0;
        run(&a);
      }
    }
  }
  return true;
}

}  // namespace rt
}  // namespace tinyq

#endif  // TINYQ_PATH_ARM_MVE
