// tinyq runtime: depthwise_conv2d_s8 on the ARMv7E-M DSP extension, the row-pair variants
// (DepthwiseDspVariant::Rows3x3, ::Rows and ::Multiplier of kernel_paths.hpp).
//
// Depthwise has no dot product across channels, but it has one across taps: SMLAD multiplies
// two 16-bit pairs and adds both products to one accumulator, so two taps of the same channel
// cost one instruction. NHWC gives the pair cheaply for two kernel rows: x0 = 4 channels of
// row r, x1 = the same 4 channels of row r + 1, PKHBT / PKHTB interleave their halves into
// [x0.c0 x0.c1 x1.c0 x1.c1] and [x0.c2 x0.c3 x1.c2 x1.c3], and SXTB16 / SXTB16 ROR 8 turn each
// into (row r, row r + 1) int16 pairs of one channel. Two taps of 4 channels: 2 LDR, 2 PKH,
// 4 SXTB16, 1 LDM of the 4 weight pairs, 4 SMLAD = 13 instructions for 8 MACs (the tap-by-tap
// form, depthwise_arm_dsp.cpp's window loop, takes 20). An odd last kernel row is taken tap by
// tap: LDR, 2 SXTB16, LDRD of 2 weight pairs, 4 SMLAxy.
//
// The weights are re-laid out once per call, per block of 16 channels, into a stack buffer in
// the order the loop reads them (int16 pairs; per 4 channels: 4 start values, then per kernel
// column 4 words per row pair and 2 for an odd row), so that the generated code and the host
// executor keep passing the TFLite layout. The input offset is folded into the start value:
// bias + input_offset * (sum of the channel's weights), so the loop multiplies raw int8
// inputs and needs no register for the offset. That holds for windows with every tap inside
// the image; an edge window is first copied into a small patch whose padded taps hold the
// zero point (-input_offset), which contributes (zero point + offset) * w = 0, so edges run the
// same loop; so does every window of a channel multiplier above 1, whose patch repeats each
// input channel for its output channels. Accumulators of 4 consecutive output pixels are
// requantized together (RowRequantizer's four-pixel mode shares the per-channel work). Sums
// are exact integers wrapping modulo 2^32 like the portable ones: same bytes.
// Measured (docs/BENCHMARKS.md, "Depthwise on the DSP path"): 3x3 0.25 MACs/instruction on
// the M4, 0.30 without edge windows; the goal of 0.40 needs two pixels per pass.
#include "tinyq/kernel_path.hpp"  // defines the TINYQ_PATH_* macro tested below

#if defined(TINYQ_PATH_ARM_DSP)

#include "conv_arm_common.hpp"
#include "kernel_paths.hpp"

namespace tinyq {
namespace rt {

namespace {

using arm::OutputStage;
using arm::RowRequantizer;

// What the assembly loops read; offsets fixed by the assembly.
struct DwRowsArgs {
  int32_t row;           // 0: bytes from a kernel row's input to the next (dilation included)
  int32_t col;           // 4: 3x3: bytes from a kernel column's input to the next; generic: the
                         //    same minus the rows the pairs walked (2 * pairs * row)
  int32_t group;         // 8: after the last column: to the first tap of the next 4 channels
  const int32_t* w_end;  // 12: end of the packed weights of this call's channel groups
  int32_t pairs;         // 16: generic: row pairs per kernel column
  int32_t cols;          // 20: generic: kernel columns
  int32_t odd;           // 24: generic: nonzero when the kernel has an odd last row
};

// clang-format off
// Two kernel rows of one kernel column, 4 channels: r0 input at the upper row, r2 row stride,
// r1 packed weights (advanced by 16), r4-r7 accumulators; r3, r8-r12, lr clobbered.
#define TINYQ_DW_PAIR(X0, X1)              \
  "  ldr r12, " X0 "\n"                    \
  "  ldr lr, " X1 "\n"                     \
  "  pkhbt r3, r12, lr, lsl #16\n"         \
  "  pkhtb lr, lr, r12, asr #16\n"         \
  "  ldm r1!, {r8-r11}\n"                  \
  "  sxtb16 r12, r3\n"                     \
  "  smlad r4, r12, r8, r4\n"              \
  "  sxtb16 r3, r3, ror #8\n"              \
  "  smlad r5, r3, r9, r5\n"               \
  "  sxtb16 r12, lr\n"                     \
  "  smlad r6, r12, r10, r6\n"             \
  "  sxtb16 lr, lr, ror #8\n"              \
  "  smlad r7, lr, r11, r7\n"
// One tap, 4 channels: weights (c0, c2), (c1, c3) as int16 pairs (advanced by 8).
#define TINYQ_DW_SINGLE(X)                 \
  "  ldr r12, " X "\n"                     \
  "  ldrd r8, r9, [r1], #8\n"              \
  "  sxtb16 r3, r12\n"                     \
  "  sxtb16 r12, r12, ror #8\n"            \
  "  smlabb r4, r3, r8, r4\n"              \
  "  smlatt r6, r3, r8, r6\n"              \
  "  smlabb r5, r12, r9, r5\n"             \
  "  smlatt r7, r12, r9, r7\n"
#define TINYQ_DW_COL3                      \
  TINYQ_DW_PAIR("[r0]", "[r0, r2]")        \
  TINYQ_DW_SINGLE("[r0, r2, lsl #1]")

// A 3x3 window (any dilation), every channel group of the call, fully unrolled: 63
// instructions of taps and 13 of bookkeeping per 36 MACs.
//   r0 input at tap (0, 0) of the first channel; r1 packed weights; r2 accumulators out (4
//   per group, in channel order); r3 -> DwRowsArgs.
extern "C" void tinyq_dsp_depthwise_rows_3x3(const int8_t* input, const int32_t* packed, int32_t* acc,
                                             const DwRowsArgs* args);
__asm__(
    "  .section .text.tinyq_dsp_depthwise_rows_3x3,\"ax\",%progbits\n"
    "  .syntax unified\n"
    "  .thumb\n"
    "  .align 2\n"
    "  .global tinyq_dsp_depthwise_rows_3x3\n"
    "  .hidden tinyq_dsp_depthwise_rows_3x3\n"
    "  .type tinyq_dsp_depthwise_rows_3x3, %function\n"
    "  .thumb_func\n"
    "tinyq_dsp_depthwise_rows_3x3:\n"
    "  push {r4-r11, lr}\n"
    "  ldr r12, [r3, #4]\n"
    "  ldr lr, [r3, #8]\n"
    "  push {r2, r12, lr}\n"   // [sp, #4] accumulators out, [sp, #8] col, [sp, #12] group
    "  ldr r12, [r3, #12]\n"
    "  push {r12}\n"           // [sp] end of the weights
    "  ldr r2, [r3]\n"
    "1:\n"
    "  ldm r1!, {r4-r7}\n"     // start values: bias + offset * weight sums
    TINYQ_DW_COL3
    "  ldr r12, [sp, #8]\n"
    "  add r0, r12\n"
    TINYQ_DW_COL3
    "  ldr r12, [sp, #8]\n"
    "  add r0, r12\n"
    TINYQ_DW_COL3
    "  ldr r12, [sp, #4]\n"
    "  stm r12!, {r4-r7}\n"
    "  str r12, [sp, #4]\n"
    "  ldr r12, [sp, #12]\n"
    "  add r0, r12\n"
    "  ldr r12, [sp]\n"
    "  cmp r1, r12\n"
    "  bne 1b\n"
    "  add sp, #16\n"
    "  pop {r4-r11, pc}\n"
    "  .size tinyq_dsp_depthwise_rows_3x3, .-tinyq_dsp_depthwise_rows_3x3\n"
    "  .text\n");

// Any other window: per kernel column, the row pairs (a loop unrolled twice, entered in its
// middle for an odd count), then the odd last row. The same arguments; the loop state that
// does not fit the 14 registers lives on the stack, precomputed once per call so that a
// column costs 13 instructions of bookkeeping (plus 3 per two pairs).
extern "C" void tinyq_dsp_depthwise_rows(const int8_t* input, const int32_t* packed, int32_t* acc,
                                         const DwRowsArgs* args);
__asm__(
    "  .section .text.tinyq_dsp_depthwise_rows,\"ax\",%progbits\n"
    "  .syntax unified\n"
    "  .thumb\n"
    "  .align 2\n"
    "  .global tinyq_dsp_depthwise_rows\n"
    "  .hidden tinyq_dsp_depthwise_rows\n"
    "  .type tinyq_dsp_depthwise_rows, %function\n"
    "  .thumb_func\n"
    "tinyq_dsp_depthwise_rows:\n"
    "  push {r4-r11, lr}\n"
    "  sub sp, #40\n"
    // [sp] accumulators out, [sp, #4] weight bytes of a column's pairs, [sp, #8] end of a
    // column's pairs, [sp, #12] col, [sp, #16] group, [sp, #20] end of the weights,
    // [sp, #24] where a column's pairs start (Thumb address), [sp, #28] weight bytes of all
    // columns, [sp, #32] end of a group's columns, [sp, #36] odd
    "  str r2, [sp]\n"
    "  ldr r12, [r3, #4]\n"
    "  str r12, [sp, #12]\n"
    "  ldr r12, [r3, #8]\n"
    "  str r12, [sp, #16]\n"
    "  ldr r12, [r3, #12]\n"
    "  str r12, [sp, #20]\n"
    "  ldr r12, [r3, #24]\n"
    "  str r12, [sp, #36]\n"
    "  cmp r12, #0\n"
    "  ite ne\n"
    "  movne r4, #8\n"
    "  moveq r4, #0\n"           // r4: weight bytes of the odd row per column
    "  ldr r12, [r3, #16]\n"     // pairs
    "  lsl lr, r12, #4\n"
    "  str lr, [sp, #4]\n"
    "  add r4, lr\n"
    "  ldr r5, [r3, #20]\n"      // cols
    "  mul r4, r4, r5\n"
    "  str r4, [sp, #28]\n"
    "  adr lr, 4f\n"
    "  cmp r12, #0\n"
    "  beq 7f\n"
    "  adr lr, 3f\n"
    "  tst r12, #1\n"
    "  bne 7f\n"
    "  adr lr, 6f\n"
    "7:\n"
    "  orr lr, lr, #1\n"
    "  str lr, [sp, #24]\n"
    "  ldr r2, [r3]\n"
    "1:\n"                       // a group of 4 channels
    "  ldm r1!, {r4-r7}\n"
    "  ldr r12, [sp, #28]\n"
    "  add r12, r1\n"
    "  str r12, [sp, #32]\n"
    "2:\n"                       // a kernel column
    "  ldr r12, [sp, #4]\n"
    "  add r12, r1\n"
    "  str r12, [sp, #8]\n"
    "  ldr r12, [sp, #24]\n"
    "  bx r12\n"
    "  .align 2\n"
    "6:\n"
    TINYQ_DW_PAIR("[r0]", "[r0, r2]")
    "  add r0, r0, r2, lsl #1\n"
    "  .align 2\n"
    "3:\n"
    TINYQ_DW_PAIR("[r0]", "[r0, r2]")
    "  add r0, r0, r2, lsl #1\n"
    "  ldr r12, [sp, #8]\n"
    "  cmp r1, r12\n"
    "  bne 6b\n"
    "  .align 2\n"
    "4:\n"
    "  ldr r12, [sp, #36]\n"
    "  cmp r12, #0\n"
    "  beq 5f\n"
    TINYQ_DW_SINGLE("[r0]")
    "5:\n"
    "  ldr r12, [sp, #12]\n"
    "  add r0, r12\n"
    "  ldr r12, [sp, #32]\n"
    "  cmp r1, r12\n"
    "  bne 2b\n"
    "  ldr r12, [sp]\n"
    "  stm r12!, {r4-r7}\n"
    "  str r12, [sp]\n"
    "  ldr r12, [sp, #16]\n"
    "  add r0, r12\n"
    "  ldr r12, [sp, #20]\n"
    "  cmp r1, r12\n"
    "  bne 1b\n"
    "  add sp, #40\n"
    "  pop {r4-r11, pc}\n"
    "  .size tinyq_dsp_depthwise_rows, .-tinyq_dsp_depthwise_rows\n"
    "  .text\n");
#undef TINYQ_DW_COL3
#undef TINYQ_DW_SINGLE
#undef TINYQ_DW_PAIR
// clang-format on

constexpr int32_t kBlock = RowRequantizer::kQuadChannels;  // channels per block: 16
// Bytes of a window of a block: depthwise_rows_group_words <= 64 allows at most 30 taps.
constexpr int32_t kMaxPatch = 32 * 16;

// Packs `groups` groups of 4 channels from channel ch0 in the order the assembly reads them,
// 4 weights per word load: SXTB16 splits a row's word into channels (0, 2) and (1, 3), PKHBT /
// PKHTB pair them with the next row's, SADD16 sums each channel's weights in a 16-bit lane
// (at most 32 x 32 taps of |w| <= 128 would be needed to leave int16; the variant allows at
// most 30 taps).
void pack_weights(const ConvParams& p, const int8_t* weights, const int32_t* bias, int32_t ch0, int32_t groups,
                  int32_t* packed) {
  const int32_t c = p.out_c, kh = p.kernel_h, kw = p.kernel_w;  // weights [kh, kw, out_c]
  uint32_t* w = reinterpret_cast<uint32_t*>(packed);
  for (int32_t g = 0; g < groups; ++g) {
    const int32_t ch = ch0 + 4 * g;
    uint32_t* start = w;
    w += 4;
    int32_t sum02 = 0, sum13 = 0;  // channels (0, 2) and (1, 3) in 16-bit lanes
    for (int32_t tx = 0; tx < kw; ++tx) {
      for (int32_t ty = 0; ty + 1 < kh; ty += 2) {
        const int8_t* a = weights + (ty * kw + tx) * c + ch;
        const uint32_t wa = arm::load_u32(a), wb = arm::load_u32(a + kw * c);
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
        const uint32_t wa = arm::load_u32(weights + ((kh - 1) * kw + tx) * c + ch);
        const uint32_t a02 = static_cast<uint32_t>(__sxtb16(static_cast<int32_t>(wa))), a13 = arm::sxtb16_ror8(wa);
        w[0] = a02;
        w[1] = a13;
        w += 2;
        sum02 = __sadd16(sum02, static_cast<int32_t>(a02));
        sum13 = __sadd16(sum13, static_cast<int32_t>(a13));
      }
    }
    const int32_t sum[4] = {static_cast<int16_t>(sum02), static_cast<int16_t>(sum13), sum02 >> 16, sum13 >> 16};
    for (int32_t i = 0; i < 4; ++i) {
      const uint32_t b = bias != nullptr ? static_cast<uint32_t>(bias[ch + i]) : 0u;
      start[i] = b + static_cast<uint32_t>(p.input_offset) * static_cast<uint32_t>(sum[i]);
    }
  }
}

// A channel multiplier above 1: the valid taps of a window into the patch, output channel j
// of the block reading input channel source[j] (out of line: it keeps the multiplier-1 loop
// of the caller in registers).
__attribute__((noinline)) void gather_repeated(const ConvParams& p, const int8_t* image, int32_t y0, int32_t x0,
                                               detail::TapRange ky, detail::TapRange kx, const int32_t* source,
                                               int32_t count, int8_t* patch) {
  for (int32_t ty = ky.first; ty < ky.last; ++ty) {
    for (int32_t tx = kx.first; tx < kx.last; ++tx) {
      const int8_t* src = image + ((y0 + ty * p.dilation_h) * p.in_w + x0 + tx * p.dilation_w) * p.in_c;
      int8_t* dst = patch + (ty * p.kernel_w + tx) * kBlock;
      for (int32_t j = 0; j < count; ++j) dst[j] = src[source[j]];
    }
  }
}

}  // namespace

void depthwise_rows_dsp(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                        int8_t* output) {
  const OutputStage st(p.requant, p.output_offset, p.act_min, p.act_max);
  RowRequantizer rq(st, p.requant);
  const int32_t in_c = p.in_c, out_c = p.out_c, kh = p.kernel_h, kw = p.kernel_w;
  const int32_t multiplier = out_c / in_c;
  const int32_t row = p.in_w * in_c;
  const bool three = kh == 3 && kw == 3;
  const int32_t pairs = kh / 2;
  const int8_t zero_point = static_cast<int8_t>(-p.input_offset);
  const uint32_t zero_word = static_cast<uint32_t>(static_cast<uint8_t>(zero_point)) * 0x01010101u;
  // In place: rows and columns as the image lays them out; in the patch: kw * 16 and 16 bytes.
  DwRowsArgs in_args, patch_args;
  in_args.row = p.dilation_h * row;
  patch_args.row = kw * kBlock;
  const int32_t in_col = p.dilation_w * in_c;
  in_args.col = three ? in_col : in_col - 2 * pairs * in_args.row;
  patch_args.col = three ? kBlock : kBlock - 2 * pairs * patch_args.row;
  in_args.group = 4 - (three ? 2 : kw) * in_args.col - (three ? 0 : kw * 2 * pairs * in_args.row);
  patch_args.group = 4 - (three ? 2 : kw) * patch_args.col - (three ? 0 : kw * 2 * pairs * patch_args.row);
  in_args.pairs = patch_args.pairs = pairs;
  in_args.cols = patch_args.cols = kw;
  in_args.odd = patch_args.odd = kh % 2;
  const auto run = three ? tinyq_dsp_depthwise_rows_3x3 : tinyq_dsp_depthwise_rows;
  const int32_t group_words = depthwise_rows_group_words(p);
  alignas(8) int32_t packed[kBlock / 4 * kDepthwiseRowsGroupWords];
  alignas(8) int32_t acc[4 * kBlock];
  alignas(4) int8_t patch[kMaxPatch];
  int32_t source[kBlock];  // channel multiplier above 1: the input channel of each output channel
  const int32_t extent_h = (kh - 1) * p.dilation_h + 1, extent_w = (kw - 1) * p.dilation_w + 1;
  // Output columns whose windows lie inside the image horizontally: [ox_lo, ox_hi).
  const int32_t ox_lo = (p.pad_left + p.stride_w - 1) / p.stride_w;
  int32_t ox_hi = p.in_w - extent_w + p.pad_left < 0 ? 0 : (p.in_w - extent_w + p.pad_left) / p.stride_w + 1;
  ox_hi = ox_hi > p.out_w ? p.out_w : ox_hi;
  const int32_t step = p.stride_w * in_c;
  // Output rows whose windows lie inside the image vertically: [oy_lo, oy_hi). When every
  // column is inside too, those rows run as one loop (tall kernels over a one-pixel-wide
  // image have one pixel per row: the per-row work would cost more than the pixel).
  const int32_t oy_lo = (p.pad_top + p.stride_h - 1) / p.stride_h;
  int32_t oy_hi = p.in_h - extent_h + p.pad_top < 0 ? 0 : (p.in_h - extent_h + p.pad_top) / p.stride_h + 1;
  oy_hi = oy_hi > p.out_h ? p.out_h : oy_hi;
  const bool whole_rows = ox_lo == 0 && ox_hi == p.out_w && oy_lo < oy_hi;
  for (int32_t ch0 = 0; ch0 < out_c; ch0 += kBlock) {
    const int32_t n = out_c - ch0 < kBlock ? out_c - ch0 : kBlock;
    const int32_t groups = n / 4;  // 0 in a last block of 1 to 3 channels: the tail loop only
    pack_weights(p, weights, bias, ch0, groups, packed);
    in_args.w_end = patch_args.w_end = packed + groups * group_words;
    for (int32_t j = 0; j < n; ++j) source[j] = (ch0 + j) / multiplier;
    // In place, without the tail loop: multiplier 1 and whole groups of 4 channels.
    const bool in_place = multiplier == 1 && groups * 4 == n && ox_lo < ox_hi;
    int8_t* out = output + ch0;
    int32_t q = 0;  // pixels waiting in acc
    for (int32_t b = 0; b < p.batch; ++b) {
      const int8_t* image = input + b * p.in_h * row;
      for (int32_t oy = 0; oy < p.out_h; ++oy) {
        if (in_place && whole_rows && oy == oy_lo) {
          const int8_t* row_src = image + (oy * p.stride_h - p.pad_top) * row - p.pad_left * in_c + ch0;
          for (; oy < oy_hi; ++oy, row_src += p.stride_h * row) {
            const int8_t* src = row_src;
            for (int32_t ox = 0; ox < p.out_w; ++ox, src += step) {
              run(src, packed, acc + q * kBlock, &in_args);
              if (++q == 4) {
                rq.run(acc, ch0, n, out, 4, out_c);
                out += 4 * out_c;
                q = 0;
              }
            }
          }
          if (oy == p.out_h) break;
        }
        const int32_t y0 = oy * p.stride_h - p.pad_top;
        const bool rows_inside = y0 >= 0 && y0 + extent_h <= p.in_h;
        const bool fast_row = in_place && rows_inside;
        for (int32_t ox = 0; ox < p.out_w; ++ox) {
          if (fast_row && ox == ox_lo) {  // the windows inside the image: no test but the quad's
            const int8_t* src = image + y0 * row + (ox * p.stride_w - p.pad_left) * in_c + ch0;
            for (; ox < ox_hi; ++ox, src += step) {
              run(src, packed, acc + q * kBlock, &in_args);
              if (++q == 4) {
                rq.run(acc, ch0, n, out, 4, out_c);
                out += 4 * out_c;
                q = 0;
              }
            }
            if (ox == p.out_w) break;
          }
          const int32_t x0 = ox * p.stride_w - p.pad_left;
          int32_t* a = acc + q * kBlock;
          const bool inside = rows_inside && x0 >= 0 && x0 + extent_w <= p.in_w;
          detail::TapRange ky{0, kh}, kx{0, kw};
          if (!inside) {
            ky = detail::valid_taps(y0, kh, p.dilation_h, p.in_h);
            kx = detail::valid_taps(x0, kw, p.dilation_w, p.in_w);
          }
          // The assembly runs its group loop at least once: not called for groups == 0.
          if (groups > 0 && inside && multiplier == 1) {
            run(image + y0 * row + x0 * in_c + ch0, packed, a, &in_args);
          } else if (groups > 0) {
            // The window's valid taps into the patch, the zero point elsewhere.
            uint32_t* words = reinterpret_cast<uint32_t*>(patch);
            for (int32_t i = 0; i < kh * kw * kBlock / 4; ++i) words[i] = zero_word;
            if (multiplier == 1) {
              for (int32_t ty = ky.first; ty < ky.last; ++ty) {
                const int8_t* src =
                    image + (y0 + ty * p.dilation_h) * row + (x0 + kx.first * p.dilation_w) * in_c + ch0;
                uint32_t* dst = words + (ty * kw + kx.first) * (kBlock / 4);
                for (int32_t tx = kx.first; tx < kx.last; ++tx, src += in_col, dst += kBlock / 4) {
                  for (int32_t i = 0; i < groups; ++i) dst[i] = arm::load_u32(src + 4 * i);
                }
              }
            } else {
              gather_repeated(p, image, y0, x0, ky, kx, source, 4 * groups, patch);
            }
            run(patch, packed, a, &patch_args);
          }
          for (int32_t j = groups * 4; j < n; ++j) {  // the n % 4 last channels, one at a time
            const int32_t ch = ch0 + j;
            int32_t s = bias != nullptr ? bias[ch] : 0;
            for (int32_t ty = ky.first; ty < ky.last; ++ty) {
              for (int32_t tx = kx.first; tx < kx.last; ++tx) {
                const int32_t in = image[(y0 + ty * p.dilation_h) * row + (x0 + tx * p.dilation_w) * in_c + source[j]];
                s += (in + p.input_offset) * weights[(ty * kw + tx) * out_c + ch];
              }
            }
            a[j] = s;
          }
          if (++q == 4) {
            rq.run(acc, ch0, n, out, 4, out_c);
            out += 4 * out_c;
            q = 0;
          }
        }
      }
    }
    for (int32_t i = 0; i < q; ++i) {
      rq.run(acc + i * kBlock, ch0, n, out, 1, 0);
      out += out_c;
    }
  }
}

}  // namespace rt
}  // namespace tinyq

#endif  // TINYQ_PATH_ARM_DSP
