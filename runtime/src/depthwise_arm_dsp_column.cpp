// tinyq runtime: depthwise_conv2d_s8 on the ARMv7E-M DSP extension, the Column variant
// (DepthwiseDspVariant::Column of kernel_paths.hpp): k x 1 kernels, channel multiplier 1,
// every window inside the image (MLPerf Tiny's streaming wakeword: time along H, W = 1, one
// output pixel per window in its streaming step).
//
// The kernel rows pair into SMLAD operands as in depthwise_arm_dsp_rows.cpp (two input words
// of 4 channels, PKHBT / PKHTB, SXTB16 / SXTB16 ROR 8: one (row r, row r + 1) int16 pair per
// channel, the weights packed alike once per call). With one kernel column there is no column
// loop, so a row pair is 15 instructions for 8 MACs
// and a group of 4 channels has about 15 of bookkeeping. On such layers (3 to 15 MACs per
// output) the requantization costs as much as the MACs: tinyq_dsp_requantize takes 10 to 15
// instructions per output. So the requantization runs here, in the accumulators' registers,
// when the layer allows it (full int8 output range, shifts in [-22, -2], TFLite multipliers 0
// or in [2^30, 2^31)): 4 instructions per output for tinyq's rounding (SMMLA, ASR, SSAT), 7 for
// TFLite's (arm::requantize_tflite_fast's SMLAL), the output offset folded into the addend
// (constants packed per channel after the weights, see pack_column). Otherwise the
// accumulators of four pixels go to RowRequantizer as in the Rows variant.
// Sums are exact integers wrapping modulo 2^32 like the portable ones: same bytes.
#include "tinyq/kernel_path.hpp"  // defines the TINYQ_PATH_* macro tested below

#if defined(TINYQ_PATH_ARM_DSP)

#include "conv_arm_common.hpp"
#include "kernel_paths.hpp"

namespace tinyq {
namespace rt {

namespace {

using arm::OutputStage;
using arm::RowRequantizer;

// What the assembly reads; offsets fixed by the assembly.
struct DwColumnArgs {
  int32_t row;           // 0: bytes from a kernel row's input to the next (dilation included)
  int32_t pair_bytes;    // 4: packed bytes of a group's row pairs (16 per pair, at least 1 pair)
  int32_t back;          // 8: from the input after the last pair to the next group's first row
  const int32_t* w_end;  // 12: end of the packed words of this call's groups
  int32_t flags;         // 16: bit 0: an odd last row; bit 1: an odd number of row pairs
};

// clang-format off
// One output pixel, every group of 4 channels up to w_end. r0 input at the window's first row,
// first channel; r1 packed words; r2 the accumulators (4 per group, mode 0) or the output bytes
// (modes 1 and 2); r3 -> DwColumnArgs. Per group: 4 start values, 4 words per row pair, 2 for
// an odd last row, then in modes 1 and 2 per channel (multiplier, addend, t).
// Registers in the group loop: r0 input, r1 packed, r2 row stride, r3 flags, r4-r7 the
// accumulators of channels 0-3, r11 end of the pairs; r8-r10, r12, lr scratch. Stack: [sp]
// destination, [sp, #4] w_end, [sp, #8] pair bytes, [sp, #12] back.
__asm__(R"(
  .syntax unified
  .thumb
  .macro TINYQ_DWC_PAIR
  ldr r12, [r0]
  ldr lr, [r0, r2]
  add r0, r0, r2, lsl #1
  ldrd r8, r9, [r1], #8
  pkhbt r10, r12, lr, lsl #16
  pkhtb lr, lr, r12, asr #16
  sxtb16 r12, r10
  smlad r4, r12, r8, r4
  sxtb16 r10, r10, ror #8
  smlad r5, r10, r9, r5
  ldrd r8, r9, [r1], #8
  sxtb16 r12, lr
  smlad r6, r12, r8, r6
  sxtb16 lr, lr, ror #8
  smlad r7, lr, r9, r7
  .endm
  @ tinyq's rounding: requantize_fast with the output offset in the addend, SSAT clamps.
  .macro TINYQ_DWC_REQ_SINGLE reg
  ldm r1!, {r8, r9, r10}
  smmla \reg, \reg, r8, r9
  asr \reg, \reg, r10
  ssat \reg, #8, \reg
  .endm
  @ TFLite's: requantize_tflite_smlal, the output offset times 2^t in the high word's constant.
  .macro TINYQ_DWC_REQ_TFLITE reg
  ldm r1!, {r8, r9, r10}
  and r11, \reg, #0x80000000
  orr r11, r11, #0x40000000
  add r12, r9, \reg, asr #31
  smlal r11, r12, \reg, r8
  asr \reg, r12, r10
  ssat \reg, #8, \reg
  .endm
  .macro TINYQ_DWC_FUNC name, mode
  .section .text.\name,"ax",%progbits
  .align 2
  .global \name
  .hidden \name
  .type \name, %function
  .thumb_func
\name:
  push {r4-r11, lr}
  ldr r8, [r3, #4]
  ldr r9, [r3, #8]
  ldr r12, [r3, #12]
  push {r2, r12}
  sub sp, #8
  strd r8, r9, [sp]
  ldr r2, [r3]
  ldr r3, [r3, #16]
  @ now [sp] pair bytes, [sp, #4] back, [sp, #8] destination, [sp, #12] w_end
1:
  ldm r1!, {r4-r7}
  ldr r11, [sp]
  add r11, r1
  tst r3, #2
  bne 3f
2:
  TINYQ_DWC_PAIR
3:
  TINYQ_DWC_PAIR
  cmp r1, r11
  bne 2b
  tst r3, #1
  beq 4f
  ldr r12, [r0]
  ldrd r8, r9, [r1], #8
  sxtb16 r10, r12
  sxtb16 r12, r12, ror #8
  smlabb r4, r10, r8, r4
  smlatt r6, r10, r8, r6
  smlabb r5, r12, r9, r5
  smlatt r7, r12, r9, r7
4:
  .if \mode == 0
  ldr r12, [sp, #8]
  stm r12!, {r4-r7}
  .else
  .if \mode == 1
  TINYQ_DWC_REQ_SINGLE r4
  TINYQ_DWC_REQ_SINGLE r5
  TINYQ_DWC_REQ_SINGLE r6
  TINYQ_DWC_REQ_SINGLE r7
  .else
  TINYQ_DWC_REQ_TFLITE r4
  TINYQ_DWC_REQ_TFLITE r5
  TINYQ_DWC_REQ_TFLITE r6
  TINYQ_DWC_REQ_TFLITE r7
  .endif
  bfi r4, r5, #8, #8
  bfi r4, r6, #16, #8
  bfi r4, r7, #24, #8
  ldr r12, [sp, #8]
  str r4, [r12], #4
  .endif
  str r12, [sp, #8]
  ldr r12, [sp, #4]
  add r0, r12
  ldr r12, [sp, #12]
  cmp r1, r12
  bne 1b
  add sp, #16
  pop {r4-r11, pc}
  .size \name, .-\name
  .endm
  TINYQ_DWC_FUNC tinyq_dsp_depthwise_column_acc, 0
  TINYQ_DWC_FUNC tinyq_dsp_depthwise_column_single, 1
  TINYQ_DWC_FUNC tinyq_dsp_depthwise_column_tflite, 2
  .purgem TINYQ_DWC_FUNC
  .purgem TINYQ_DWC_REQ_TFLITE
  .purgem TINYQ_DWC_REQ_SINGLE
  .purgem TINYQ_DWC_PAIR
  .text
)");
// clang-format on
// What the one-pixel assembly reads; offsets fixed by the assembly. The pointers advance as
// it goes (the caller resets them per pixel).
struct DwColumnRawArgs {
  int32_t delta;            // 0: bytes from the input to the weights of the same row and channel
  int32_t row;              // 4: bytes between kernel rows, the same in the input and the weights
  int32_t offset2;          // 8: input offset in both halves (SXTAB16)
  int32_t pair_bytes;       // 12: input bytes the row pairs walk (2 * pairs * row)
  int32_t back;             // 16: from the input after the last pair to the next group's first row
  int32_t odd;              // 20: nonzero for an odd last row
  const int32_t* bias;      // 24: of the next group
  const int32_t* mult;      // 28: multiplier of the next channel (per-channel requantization)
  const int32_t* shift;     // 32: its shift
  int8_t* dest;             // 36: outputs of the next group
  const int8_t* input_end;  // 40: the input pointer after the last group
  int32_t addend_base;      // 44: 2 * output_offset + 1 (the addend is this << (t - 1))
};

// clang-format off
// One output pixel of a layer whose weight rows are as far apart as its input rows (W = 1,
// no dilation), for one or a few pixels per call: the weights are read as the layer holds
// them and paired like the inputs (4 LDR, 4 PKH, 8 SXTB16 / SXTAB16, 4 SMLAD, 2 ADD per row
// pair of 4 channels; SXTAB16 adds the input offset), nothing is packed; the start values are
// the biases, and each channel's requantization constants are derived from its shift on the
// way (5 instructions). r0 input at the window's first row, first channel; r3 -> DwColumnRawArgs
// (r1, r2 unused). Registers in the group loop: r0 input, r1 delta, r2 row, r3 offset2, r4-r7
// accumulators, r8-r12 and lr scratch; [sp] args, [sp, #4] the input pointer after the pairs.
__asm__(R"(
  .syntax unified
  .thumb
  @ r8 multiplier, r9 t = -1 - shift, r10 the addend; t outside [1, 21] returns 1 at once.
  .macro TINYQ_DWR_PARAMS
  ldr r8, [r1], #4
  ldr r9, [r2], #4
  mvn r9, r9
  sub r10, r9, #1
  cmp r10, #21
  bhs 9f
  lsl r10, r3, r10
  .endm
  .macro TINYQ_DWR_REQ_SINGLE reg
  TINYQ_DWR_PARAMS
  smmla \reg, \reg, r8, r10
  asr \reg, \reg, r9
  ssat \reg, #8, \reg
  .endm
  .macro TINYQ_DWR_REQ_TFLITE reg
  TINYQ_DWR_PARAMS
  and r11, \reg, #0x80000000
  orr r11, r11, #0x40000000
  add r12, r10, \reg, asr #31
  smlal r11, r12, \reg, r8
  asr \reg, r12, r9
  ssat \reg, #8, \reg
  .endm
  .macro TINYQ_DWR_FUNC name, tflite
  .section .text.\name,"ax",%progbits
  .align 2
  .global \name
  .hidden \name
  .type \name, %function
  .thumb_func
\name:
  push {r4-r11, lr}
  sub sp, #8
  str r3, [sp]
1:
  ldr lr, [sp]
  ldm lr, {r1-r3}
  ldr r8, [lr, #24]
  ldm r8!, {r4-r7}
  str r8, [lr, #24]
  ldr r8, [lr, #12]
  add r8, r0
  str r8, [sp, #4]
2:
  ldr r12, [r0]
  ldr lr, [r0, r2]
  ldr r8, [r0, r1]
  add r0, r0, r2
  ldr r9, [r0, r1]
  add r0, r0, r2
  pkhbt r10, r12, lr, lsl #16
  pkhtb lr, lr, r12, asr #16
  pkhbt r12, r8, r9, lsl #16
  pkhtb r9, r9, r8, asr #16
  sxtab16 r8, r3, r10
  sxtb16 r11, r12
  smlad r4, r8, r11, r4
  sxtab16 r10, r3, r10, ror #8
  sxtb16 r12, r12, ror #8
  smlad r5, r10, r12, r5
  sxtab16 r8, r3, lr
  sxtb16 r11, r9
  smlad r6, r8, r11, r6
  sxtab16 lr, r3, lr, ror #8
  sxtb16 r9, r9, ror #8
  smlad r7, lr, r9, r7
  ldr r8, [sp, #4]
  cmp r0, r8
  bne 2b
  ldr lr, [sp]
  ldr r8, [lr, #20]
  cmp r8, #0
  beq 3f
  ldr r12, [r0]
  ldr r9, [r0, r1]
  sxtab16 r10, r3, r12
  sxtab16 r12, r3, r12, ror #8
  sxtb16 r8, r9
  sxtb16 r9, r9, ror #8
  smlabb r4, r10, r8, r4
  smlatt r6, r10, r8, r6
  smlabb r5, r12, r9, r5
  smlatt r7, r12, r9, r7
3:
  ldr r1, [lr, #28]
  ldr r2, [lr, #32]
  ldr r3, [lr, #44]
  .if \tflite
  TINYQ_DWR_REQ_TFLITE r4
  TINYQ_DWR_REQ_TFLITE r5
  TINYQ_DWR_REQ_TFLITE r6
  TINYQ_DWR_REQ_TFLITE r7
  .else
  TINYQ_DWR_REQ_SINGLE r4
  TINYQ_DWR_REQ_SINGLE r5
  TINYQ_DWR_REQ_SINGLE r6
  TINYQ_DWR_REQ_SINGLE r7
  .endif
  str r1, [lr, #28]
  str r2, [lr, #32]
  bfi r4, r5, #8, #8
  bfi r4, r6, #16, #8
  bfi r4, r7, #24, #8
  ldr r8, [lr, #36]
  str r4, [r8], #4
  str r8, [lr, #36]
  ldr r8, [lr, #16]
  add r0, r8
  ldr r8, [lr, #40]
  cmp r0, r8
  bne 1b
  movs r0, #0
  add sp, #8
  pop {r4-r11, pc}
9:
  movs r0, #1
  add sp, #8
  pop {r4-r11, pc}
  .size \name, .-\name
  .endm
  TINYQ_DWR_FUNC tinyq_dsp_depthwise_column_raw_single, 0
  TINYQ_DWR_FUNC tinyq_dsp_depthwise_column_raw_tflite, 1
  .purgem TINYQ_DWR_FUNC
  .purgem TINYQ_DWR_REQ_TFLITE
  .purgem TINYQ_DWR_REQ_SINGLE
  .purgem TINYQ_DWR_PARAMS
  .text
)");
// clang-format on
// Both return 0, or 1 having met a shift outside [-22, -2] (outputs partly written).
extern "C" int32_t tinyq_dsp_depthwise_column_raw_single(const int8_t* input, int32_t, int32_t, DwColumnRawArgs* args);
extern "C" int32_t tinyq_dsp_depthwise_column_raw_tflite(const int8_t* input, int32_t, int32_t, DwColumnRawArgs* args);

extern "C" void tinyq_dsp_depthwise_column_acc(const int8_t* input, const int32_t* packed, void* dest,
                                               const DwColumnArgs* args);
extern "C" void tinyq_dsp_depthwise_column_single(const int8_t* input, const int32_t* packed, void* dest,
                                                  const DwColumnArgs* args);
extern "C" void tinyq_dsp_depthwise_column_tflite(const int8_t* input, const int32_t* packed, void* dest,
                                                  const DwColumnArgs* args);

constexpr int32_t kBlock = RowRequantizer::kQuadChannels;  // channels per block without fusing: 16
// Words per group at most: 4 start values, 16 row pairs of 4 (kernel_h <= 32), 12 constants.
constexpr int32_t kGroupWords = 4 + 4 * 16 + 12;
// The packed buffer on the stack (1.75 KB: with the accumulators and RowRequantizer the frame
// is the Rows variant's, about 2.6 KB, as docs/MCU.md budgets the depthwise kernel): with the
// requantization fused, as many groups per block as fit, so that a pixel is one or a few calls.
constexpr int32_t kPackedWords = 448;
static_assert(kBlock / 4 * kGroupWords <= kPackedWords, "a block of 16 channels must fit");
// At most this many output pixels take the one-pixel form (weights read unpacked): packing
// costs about as much as 2 to 4 pixels of that form's extra unpacking.
constexpr int32_t kRawPixels = 2;

// The output range the fused requantization clamps to: int8's (SSAT).
bool full_range(const OutputStage& st) { return st.lo == -128 - st.offset && st.hi == 127 - st.offset; }

// Whether the requantization can run in the assembly for every channel (see the file comment;
// the bounds keep the addend, |2^(t-1) + offset * 2^t| < 2^29, and the high word in int32).
// TFLite's multipliers are 0 or in [2^30, 2^31), as arm::requantize_tflite_fast assumes too.
bool column_fusable(const ConvParams& p, const OutputStage& st) {
  if (!full_range(st)) return false;
  for (int32_t i = 0; i < p.requant.count; ++i) {
    if (p.requant.shift[i] > -2 || p.requant.shift[i] < -22) return false;
  }
  return true;
}

// Packs `groups` groups of 4 channels from ch0 in the order the assembly reads them; the input
// offset goes into the start values, bias + input_offset * (sum of the channel's weights), as
// no tap of a window is padded. Pairs: (row r, row r + 1) int16 pairs of channels 0, 1, 2, 3
// (SXTB16 splits a row's word into channels (0, 2) and (1, 3)); an odd last row: channels
// (0, 2) and (1, 3). The weight sums in 16-bit lanes (SADD16): 32 taps of |w| <= 128 fit.
void pack_column(const ConvParams& p, const OutputStage& st, const int8_t* weights, const int32_t* bias, int32_t ch0,
                 int32_t groups, bool fused, int32_t* packed) {
  const int32_t c = p.out_c, kh = p.kernel_h;  // weights [kh, 1, out_c]
  uint32_t* w = reinterpret_cast<uint32_t*>(packed);
  for (int32_t g = 0; g < groups; ++g) {
    const int32_t ch = ch0 + 4 * g;
    uint32_t* start = w;
    w += 4;
    int32_t sum02 = 0, sum13 = 0;
    const int8_t* a = weights + ch;
    for (int32_t ty = 0; ty + 1 < kh; ty += 2, a += 2 * c) {
      const uint32_t wa = arm::load_u32(a), wb = arm::load_u32(a + c);
      const uint32_t a02 = static_cast<uint32_t>(__sxtb16(static_cast<int32_t>(wa))), a13 = arm::sxtb16_ror8(wa);
      const uint32_t b02 = static_cast<uint32_t>(__sxtb16(static_cast<int32_t>(wb))), b13 = arm::sxtb16_ror8(wb);
      w[0] = (a02 & 0xFFFFu) | (b02 << 16);
      w[1] = (a13 & 0xFFFFu) | (b13 << 16);
      w[2] = (b02 & 0xFFFF0000u) | (a02 >> 16);
      w[3] = (b13 & 0xFFFF0000u) | (a13 >> 16);
      w += 4;
      sum02 = __sadd16(sum02, __sadd16(static_cast<int32_t>(a02), static_cast<int32_t>(b02)));
      sum13 = __sadd16(sum13, __sadd16(static_cast<int32_t>(a13), static_cast<int32_t>(b13)));
    }
    if (kh % 2 != 0) {
      const uint32_t wa = arm::load_u32(a);
      const uint32_t a02 = static_cast<uint32_t>(__sxtb16(static_cast<int32_t>(wa))), a13 = arm::sxtb16_ror8(wa);
      w[0] = a02;
      w[1] = a13;
      w += 2;
      sum02 = __sadd16(sum02, static_cast<int32_t>(a02));
      sum13 = __sadd16(sum13, static_cast<int32_t>(a13));
    }
    const int32_t sum[4] = {static_cast<int16_t>(sum02), static_cast<int16_t>(sum13), sum02 >> 16, sum13 >> 16};
    for (int32_t i = 0; i < 4; ++i) {
      const uint32_t b = bias != nullptr ? static_cast<uint32_t>(bias[ch + i]) : 0u;
      start[i] = b + static_cast<uint32_t>(p.input_offset) * static_cast<uint32_t>(sum[i]);
    }
    if (fused) {
      for (int32_t i = 0; i < 4; ++i) {
        const int32_t k = (ch + i) & st.requant_mask;
        const int32_t t = -1 - st.shift[k];  // 1 ... 21
        w[0] = static_cast<uint32_t>(st.multiplier[k]);
        w[1] = (1u << (t - 1)) + (static_cast<uint32_t>(st.offset) << t);
        w[2] = static_cast<uint32_t>(t);
        w += 3;
      }
    }
  }
}

// The channels [ch0 + j0, ch0 + n) of one pixel (the n % 4 last ones of a block), one at a
// time, requantized into out[j] or, with out null, summed into acc[j]. Out of line: rare, and
// the requantization it inlines is large.
__attribute__((noinline)) void column_tail(const ConvParams& p, const OutputStage& st, const int8_t* src, int32_t row,
                                           const int8_t* weights, const int32_t* bias, int32_t ch0, int32_t j0,
                                           int32_t n, int8_t* out, int32_t* acc) {
  for (int32_t j = j0; j < n; ++j) {
    int32_t s = bias != nullptr ? bias[ch0 + j] : 0;
    for (int32_t ty = 0; ty < p.kernel_h; ++ty)
      s += (src[ty * row + j] + p.input_offset) * weights[ty * p.out_c + ch0 + j];
    if (out != nullptr) {
      out[j] = st.finish(s, ch0 + j);
    } else {
      acc[j] = s;
    }
  }
}

// The one-pixel form for every pixel (few of them): all groups of a pixel in one call, the
// n % 4 last channels in C. Returns false as soon as a shift is outside [-22, -2] (checked by
// the assembly as it goes: a test of every channel would cost a tenth of a streaming step).
bool column_raw(const ConvParams& p, const OutputStage& st, const int8_t* input, const int8_t* weights,
                const int32_t* bias, int8_t* output) {
  const int32_t c = p.out_c, kh = p.kernel_h, row = p.in_w * c, groups = c / 4;
  const auto run = p.requant.rounding == kRoundTflite ? tinyq_dsp_depthwise_column_raw_tflite
                                                      : tinyq_dsp_depthwise_column_raw_single;
  DwColumnRawArgs a;
  a.row = c;
  a.offset2 = arm::offset_pair(p.input_offset);
  a.pair_bytes = 2 * (kh / 2) * c;
  a.back = 4 - a.pair_bytes;
  a.odd = kh % 2;
  a.addend_base = 2 * p.output_offset + 1;
  int8_t* out = output;
  for (int32_t b = 0; b < p.batch; ++b) {
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int8_t* src = input + (b * p.in_h + oy * p.stride_h) * row;
      for (int32_t ox = 0; ox < p.out_w; ++ox, src += p.stride_w * c, out += c) {
        a.delta = static_cast<int32_t>(reinterpret_cast<uintptr_t>(weights) - reinterpret_cast<uintptr_t>(src));
        a.bias = bias;
        a.mult = p.requant.multiplier;
        a.shift = p.requant.shift;
        a.dest = out;
        a.input_end = src + 4 * groups;
        if (run(src, 0, 0, &a) != 0) return false;
        if (4 * groups < c) column_tail(p, st, src, c, weights, bias, 0, 4 * groups, c, out, nullptr);
      }
    }
  }
  return true;
}

}  // namespace

void depthwise_column_dsp(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                          int8_t* output) {
  const OutputStage st(p.requant, p.output_offset, p.act_min, p.act_max);
  const int32_t c = p.out_c, kh = p.kernel_h;
  const int32_t row = p.in_w * c;
  // The one-pixel form: weight rows as far apart as input rows, per-channel parameters (the
  // assembly walks their arrays), a bias to start from. A shift it cannot fuse sends the
  // layer (again, from its first pixel) to the loops below.
  if (full_range(st) && p.batch * p.out_h * p.out_w <= kRawPixels && p.dilation_h * row == c && p.requant.count > 1 &&
      bias != nullptr && column_raw(p, st, input, weights, bias, output)) {
    return;
  }
  const bool fused = column_fusable(p, st);
  RowRequantizer rq(st, p.requant);
  const auto run = !fused                               ? tinyq_dsp_depthwise_column_acc
                   : p.requant.rounding == kRoundTflite ? tinyq_dsp_depthwise_column_tflite
                                                        : tinyq_dsp_depthwise_column_single;
  const int32_t pairs = kh / 2;
  const int32_t group_words = 4 + 4 * pairs + 2 * (kh % 2) + (fused ? 12 : 0);
  const int32_t block = fused ? kPackedWords / group_words * 4 : kBlock;
  DwColumnArgs args;
  args.row = p.dilation_h * row;
  args.pair_bytes = 16 * pairs;
  args.back = 4 - 2 * pairs * args.row;
  args.flags = (kh % 2) | ((pairs % 2) << 1);
  alignas(8) int32_t packed[kPackedWords];
  alignas(8) int32_t acc[4 * kBlock];
  const int32_t pixel_step = p.stride_w * c, line_step = p.stride_h * row;
  for (int32_t ch0 = 0; ch0 < c; ch0 += block) {
    const int32_t n = c - ch0 < block ? c - ch0 : block;
    const int32_t groups = n / 4;  // 0 in a last block of 1 to 3 channels: the tail loop only
    pack_column(p, st, weights, bias, ch0, groups, fused, packed);
    args.w_end = packed + groups * group_words;
    int8_t* out = output + ch0;
    int32_t q = 0;  // pixels waiting in acc (not fused)
    for (int32_t b = 0; b < p.batch; ++b) {
      const int8_t* line = input + b * p.in_h * row + ch0;
      for (int32_t oy = 0; oy < p.out_h; ++oy, line += line_step) {
        const int8_t* src = line;
        for (int32_t ox = 0; ox < p.out_w; ++ox, src += pixel_step) {
          if (groups > 0)
            run(src, packed, fused ? static_cast<void*>(out) : static_cast<void*>(acc + q * kBlock), &args);
          if (groups * 4 < n) {
            column_tail(p, st, src, args.row, weights, bias, ch0, groups * 4, n, fused ? out : nullptr,
                        acc + q * kBlock);
          }
          if (fused) {
            out += c;
          } else if (++q == 4) {
            rq.run(acc, ch0, n, out, 4, c);
            out += 4 * c;
            q = 0;
          }
        }
      }
    }
    for (int32_t i = 0; i < q; ++i) {
      rq.run(acc + i * kBlock, ch0, n, out, 1, 0);
      out += c;
    }
  }
}

}  // namespace rt
}  // namespace tinyq

#endif  // TINYQ_PATH_ARM_DSP
