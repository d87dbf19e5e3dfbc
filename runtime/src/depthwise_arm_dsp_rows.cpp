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
// Measured (docs/BENCHMARKS.md, "Depthwise on the DSP path"): this loop runs 3x3 at 0.25
// MACs/instruction on the M4 (0.30 without edge windows); 3x3 layers with stride 1 along rows
// or columns and 16-channel blocks take the four-pixel passes further down instead (0.42).
#include "tinyq/kernel_path.hpp"  // defines the TINYQ_PATH_* macro tested below

#if defined(TINYQ_PATH_ARM_DSP)

#include "conv_arm_common.hpp"
#include "high_mul_requant.hpp"
#include "kernel_features.hpp"
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

// ---- 3x3, stride 1 along rows: four output pixels per pass (depthwise_3x3_quads) ----
//
// The row-pair loop above pays its unpacking (LDR, PKH, SXTB16) once per tap and output, and
// hands 16 accumulators per pixel to tinyq_dsp_requantize. Here one pass computes four
// horizontally adjacent pixels for 2 channels, the 8 accumulators (r4-r11) staying in
// registers: an input column of two kernel rows is unpacked once (5 instructions) and feeds
// up to 3 pixels (an LDRD of the 2 channels' weights and 2 SMLAD each); the third kernel row
// pairs horizontally adjacent taps instead: (x0, x1), (x2, x3), (x4, x5) against the weight
// pairs (w0, w1) and (w1, w2), whose halves give the single products (SMLATB x1 * w0, SMLABT
// x2 * w2). 99 instructions for 72 MACs, then the requantization in the same registers (3 per
// output: SMMLA with the output offset folded into its addend, ASR, SSAT; then a BFI + STRH
// per pixel for the 2 channels). Every
// address is an immediate offset into a strip: for one output row, 16 channels, per input
// column the 3 kernel rows' 16 bytes (48 bytes a column), edge columns and rows holding the
// zero point (built by tinyq_dsp_depthwise_strip, 11 instructions a column).
//
// Per half group of 2 channels the packed weights are 24 words: 8 start values (the two
// channels' bias + offset * weight sum, repeated for the 4 pixels in register order), per
// kernel column k the (row 0, row 1) pairs of both channels, the third row's (w0, w1) and
// (w1, w2) pairs of both, then per channel multiplier, 2^(t-1) + output offset * 2^t, t.
// TFLite's rounding takes 4 instructions per output instead of 3 (TINYQ_DWQ_REQT: SMMLAR,
// ADD of the accumulator's sign, ASR, SSAT); its weights and start values are doubled.
struct DwQuadArgs {
  int32_t stride;        // 0: bytes between two pixels' outputs (fused modes)
  const int32_t* w_end;  // 4: end of the packed weights
  int32_t fused;         // 8: a kQuad* mode below
};
constexpr int32_t kQuadAccumulators = 0;  // store the accumulators (RowRequantizer finishes)
constexpr int32_t kQuadFusedSingle = 1;   // requantize (tinyq's rounding) and store bytes
constexpr int32_t kQuadFusedTflite = 2;   // the same with TFLite's two roundings

// clang-format off
// Unpacks two bytes of two words at r0 + A and r0 + B into int16 pairs of one channel each:
// r2 = (A.c0, B.c0), r3 = (A.c1, B.c1), c0/c1 = bytes 0/1 (lo) or 2/3 (hi) of the word.
#define TINYQ_DWQ_UNPACK(A, B, PKH)        \
  "  ldr r2, [r0, #" #A "]\n"              \
  "  ldr r3, [r0, #" #B "]\n"              \
  PKH                                      \
  "  sxtb16 r3, r2, ror #8\n"              \
  "  sxtb16 r2, r2\n"
#define TINYQ_DWQ_LO "  pkhbt r2, r2, r3, lsl #16\n"
#define TINYQ_DWQ_HI "  pkhtb r2, r3, r2, asr #16\n"
// Kernel column K's (row 0, row 1) weights of both channels into pixel accumulators A0, A1.
#define TINYQ_DWQ_V(K, A0, A1) TINYQ_DWQ_VB(0, K, A0, A1)
#define TINYQ_DWQ_VB(BASE, K, A0, A1)      \
  "  ldrd r12, lr, [r1, #" #BASE "+" #K "*8]\n" \
  "  smlad " A0 ", r2, r12, " A0 "\n"      \
  "  smlad " A1 ", r3, lr, " A1 "\n"
#define TINYQ_DWQ_REQ(R) TINYQ_DWQ_REQP(R, "r2", "r3", "r12")
// requantize_fast with the output offset in the addend (see pack_quad_weights), clamped to int8.
#define TINYQ_DWQ_REQP(R, M, A, T)         \
  "  smmla " R ", " R ", " M ", " A "\n"    \
  "  asr " R ", " R ", " T "\n"             \
  "  ssat " R ", #8, " R "\n"
// TFLite's two roundings on a doubled accumulator (see pack_quad_weights): SMMLAR gives
// SaturatingRoundingDoublingHighMul plus the addend, the sign of the accumulator the -1 of
// RoundingDivideByPOT's ties away from zero; lr is scratch.
#define TINYQ_DWQ_REQT(R) TINYQ_DWQ_REQTP(R, "r2", "r3", "r12")
#define TINYQ_DWQ_REQTP(R, M, A, T)        \
  "  smmlar lr, " R ", " M ", " A "\n"     \
  "  add " R ", lr, " R ", asr #31\n"      \
  "  asr " R ", " R ", " T "\n"             \
  "  ssat " R ", #8, " R "\n"
// 2 channels (bytes of PKH's half) of 4 pixels; r1 advances by 24 words.
#define TINYQ_DWQ_HALF(PKH)                                                           \
  "  ldm r1!, {r4-r11}\n"                                                             \
  TINYQ_DWQ_UNPACK(0*tqc+0*tqr, 0*tqc+1*tqr, PKH) TINYQ_DWQ_V(0, "r4", "r5")                             \
  TINYQ_DWQ_UNPACK(1*tqc+0*tqr, 1*tqc+1*tqr, PKH) TINYQ_DWQ_V(1, "r4", "r5") TINYQ_DWQ_V(0, "r6", "r7") \
  TINYQ_DWQ_UNPACK(2*tqc+0*tqr, 2*tqc+1*tqr, PKH) TINYQ_DWQ_V(2, "r4", "r5") TINYQ_DWQ_V(1, "r6", "r7")\
  TINYQ_DWQ_V(0, "r8", "r9")                                                          \
  TINYQ_DWQ_UNPACK(3*tqc+0*tqr, 3*tqc+1*tqr, PKH) TINYQ_DWQ_V(2, "r6", "r7") TINYQ_DWQ_V(1, "r8", "r9")\
  TINYQ_DWQ_V(0, "r10", "r11")                                                        \
  TINYQ_DWQ_UNPACK(4*tqc+0*tqr, 4*tqc+1*tqr, PKH) TINYQ_DWQ_V(2, "r8", "r9")                          \
  TINYQ_DWQ_V(1, "r10", "r11")                                                        \
  TINYQ_DWQ_UNPACK(5*tqc+0*tqr, 5*tqc+1*tqr, PKH) TINYQ_DWQ_V(2, "r10", "r11")                        \
  TINYQ_DWQ_UNPACK(0*tqc+2*tqr, 1*tqc+2*tqr, PKH)                                                       \
  "  ldrd r12, lr, [r1, #24]\n"                                                       \
  "  smlad r4, r2, r12, r4\n"                                                         \
  "  smlad r5, r3, lr, r5\n"                                                          \
  "  smlatb r6, r2, r12, r6\n"                                                        \
  "  smlatb r7, r3, lr, r7\n"                                                         \
  TINYQ_DWQ_UNPACK(2*tqc+2*tqr, 3*tqc+2*tqr, PKH)                                                     \
  "  smlad r8, r2, r12, r8\n"                                                         \
  "  smlad r9, r3, lr, r9\n"                                                          \
  "  smlatb r10, r2, r12, r10\n"                                                      \
  "  smlatb r11, r3, lr, r11\n"                                                       \
  "  ldrd r12, lr, [r1, #32]\n"                                                       \
  "  smlabt r4, r2, r12, r4\n"                                                        \
  "  smlabt r5, r3, lr, r5\n"                                                         \
  "  smlad r6, r2, r12, r6\n"                                                         \
  "  smlad r7, r3, lr, r7\n"                                                          \
  TINYQ_DWQ_UNPACK(4*tqc+2*tqr, 5*tqc+2*tqr, PKH)                                                     \
  "  smlabt r8, r2, r12, r8\n"                                                        \
  "  smlabt r9, r3, lr, r9\n"                                                         \
  "  smlad r10, r2, r12, r10\n"                                                       \
  "  smlad r11, r3, lr, r11\n"                                                        \
  TINYQ_DWQ_FINISH
// The fused TFLite rounding (DwQuadArgs::fused == kQuadFusedTflite), left out of builds whose
// model has no 3x3 depthwise layer with TFLite's rounding (kernel_features.hpp) and of -Os
// builds (about 1.1 KB over the four functions): r2 holds 0 or 2 here; 2 goes to its
// requantization (7:), which ends at the common store (6:).
#if TINYQ_DW_DSP_QUAD_TFLITE && !defined(__OPTIMIZE_SIZE__)
#define TINYQ_DWQ_FUSE_TFLITE 1
#else
#define TINYQ_DWQ_FUSE_TFLITE 0
#endif
// Four-pixel passes over blocks of 8 channels (a 3x3 layer with a multiple of 8 but not of 16
// channels: MobileNet's first depthwise layer), left out where no layer has them
// (kernel_features.hpp) and at -Os (about 1.5 KB).
#if TINYQ_DW_DSP_QUAD8 && !defined(__OPTIMIZE_SIZE__)
#define TINYQ_DWQ_BLOCK8 1
#else
#define TINYQ_DWQ_BLOCK8 0
#endif
#if TINYQ_DWQ_FUSE_TFLITE
#define TINYQ_DWQ_TFLITE_BRANCH "  cbnz r2, 7f\n"
#define TINYQ_DWQ_TFLITE_FINISH                                                       \
  "7:\n"                                                                              \
  "  add r1, #40\n"                                                                   \
  "  ldm r1!, {r2, r3, r12}\n"                                                        \
  TINYQ_DWQ_REQT("r4") TINYQ_DWQ_REQT("r6") TINYQ_DWQ_REQT("r8") TINYQ_DWQ_REQT("r10") \
  "  ldm r1!, {r2, r3, r12}\n"                                                        \
  TINYQ_DWQ_REQT("r5") TINYQ_DWQ_REQT("r7") TINYQ_DWQ_REQT("r9") TINYQ_DWQ_REQT("r11") \
  "  b 6f\n"
#define TINYQ_DWQ_TFLITE_FINISH2                                                      \
  "7:\n"                                                                              \
  "  add r1, #72\n"                                                                   \
  "  ldm r1!, {r8-r10}\n"                                                             \
  TINYQ_DWQ_REQTP("r4", "r8", "r9", "r10") TINYQ_DWQ_REQTP("r6", "r8", "r9", "r10")   \
  "  ldm r1!, {r8-r10}\n"                                                             \
  TINYQ_DWQ_REQTP("r5", "r8", "r9", "r10") TINYQ_DWQ_REQTP("r7", "r8", "r9", "r10")   \
  "  b 6f\n"
#else
#define TINYQ_DWQ_TFLITE_BRANCH
#define TINYQ_DWQ_TFLITE_FINISH
#define TINYQ_DWQ_TFLITE_FINISH2
#endif
// The 8 accumulators of 2 channels x 4 pixels (r4-r11, pixel q in r(4 + 2q), r(5 + 2q)) stored
// (accumulator mode) or requantized and stored as bytes (fused); then r1 at the next half's
// words and the output (or accumulator) pointer at [sp] advanced by 2 channels.
#define TINYQ_DWQ_FINISH                                                              \
  "  ldr r2, [sp, #12]\n"                                                             \
  "  cmp r2, #1\n"                                                                    \
  "  beq 8f\n"                                                                        \
  TINYQ_DWQ_TFLITE_BRANCH                                                             \
  "  ldr r2, [sp]\n"             /* accumulators: pixel q at 64 q bytes */            \
  "  strd r4, r5, [r2]\n"                                                             \
  "  strd r6, r7, [r2, #64]\n"                                                        \
  "  strd r8, r9, [r2, #128]\n"                                                       \
  "  strd r10, r11, [r2, #192]\n"                                                     \
  "  add r2, #8\n"                                                                    \
  "  str r2, [sp]\n"                                                                  \
  "  add r1, #64\n"                                                                   \
  "  b 9f\n"                                                                          \
  TINYQ_DWQ_TFLITE_FINISH                                                             \
  "8:\n"                                                                              \
  "  add r1, #40\n"                                                                   \
  "  ldm r1!, {r2, r3, r12}\n"                                                    \
  TINYQ_DWQ_REQ("r4") TINYQ_DWQ_REQ("r6") TINYQ_DWQ_REQ("r8") TINYQ_DWQ_REQ("r10")   \
  "  ldm r1!, {r2, r3, r12}\n"                                                    \
  TINYQ_DWQ_REQ("r5") TINYQ_DWQ_REQ("r7") TINYQ_DWQ_REQ("r9") TINYQ_DWQ_REQ("r11")   \
  "6:\n"                                                                              \
  "  bfi r4, r5, #8, #8\n"                                                            \
  "  bfi r6, r7, #8, #8\n"                                                            \
  "  bfi r8, r9, #8, #8\n"                                                            \
  "  bfi r10, r11, #8, #8\n"                                                          \
  "  ldrd r2, r3, [sp]\n"                                                             \
  "  strh r4, [r2]\n"                                                                 \
  "  strh r6, [r2, r3]\n"                                                             \
  "  add r12, r2, r3, lsl #1\n"                                                       \
  "  strh r8, [r12]\n"                                                                \
  "  strh r10, [r12, r3]\n"                                                           \
  "  add r2, #2\n"                                                                    \
  "  str r2, [sp]\n"                                                                  \
  "9:\n"

// One pass function: NAME over strips of COL bytes per column and ROW per kernel row (3
// rows of 16 or 8 channels), HALF the 2-channel body; every channel group up to w_end.
#define TINYQ_DWQ_FUNCTION(NAME, COL, ROW, HALF)                                  \
  TINYQ_ASM_BEGIN(NAME) \
  "  .set tqc, " #COL "\n"                                                        \
  "  .set tqr, " #ROW "\n"                                                        \
  "  push {r4-r11, lr}\n"                                                         \
  "  ldm r3, {r3, r12, lr}\n"                                                     \
  "  push {r2, r3, r12, lr}\n" /* [sp] dest, [sp, #4] stride, [sp, #8] w_end, [sp, #12] fused */ \
  "1:\n" HALF(TINYQ_DWQ_LO) HALF(TINYQ_DWQ_HI)                                    \
  "  add r0, #4\n"                                                                \
  "  ldr r2, [sp, #8]\n"                                                          \
  "  cmp r1, r2\n"                                                                \
  "  bne 1b\n"                                                                    \
  "  add sp, #16\n"                                                               \
  "  pop {r4-r11, pc}\n"                                                          \
  TINYQ_ASM_END(NAME)

// Four pixels of every channel group up to w_end. r0 strip at the first window's column (+4
// per group), r1 packed weights, r2 output of pixel 0's first channel (fused) or the
// accumulators (16 per pixel), r3 -> DwQuadArgs.
extern "C" void tinyq_dsp_depthwise_3x3_quad(const int8_t* strip, const int32_t* packed, void* dest,
                                             const DwQuadArgs* args);
__asm__(TINYQ_DWQ_FUNCTION("tinyq_dsp_depthwise_3x3_quad", 48, 16, TINYQ_DWQ_HALF));
// Blocks of 8 channels (TINYQ_DWQ_BLOCK8): strips of 3 rows of 8 bytes, stride 1 only.
#if TINYQ_DWQ_BLOCK8
extern "C" void tinyq_dsp_depthwise_3x3_quad8(const int8_t* strip, const int32_t* packed, void* dest,
                                              const DwQuadArgs* args);
__asm__(TINYQ_DWQ_FUNCTION("tinyq_dsp_depthwise_3x3_quad8", 24, 8, TINYQ_DWQ_HALF));
#endif

// clang-format off
// The same for 2 pixels (a line's last 1 or 2): accumulators r4-r7, the start values read
// without writeback (the weights then lie 32 bytes further), r8-r10 free for the
// requantization. 20 + 38 instructions for 36 MACs.
#define TINYQ_DWQ_HALF2(PKH)                                                                  \
  "  ldm r1, {r4-r7}\n"                                                                       \
  TINYQ_DWQ_UNPACK(0*tqc+0*tqr, 0*tqc+1*tqr, PKH) TINYQ_DWQ_VB(32, 0, "r4", "r5")                                \
  TINYQ_DWQ_UNPACK(1*tqc+0*tqr, 1*tqc+1*tqr, PKH) TINYQ_DWQ_VB(32, 1, "r4", "r5") TINYQ_DWQ_VB(32, 0, "r6", "r7")\
  TINYQ_DWQ_UNPACK(2*tqc+0*tqr, 2*tqc+1*tqr, PKH) TINYQ_DWQ_VB(32, 2, "r4", "r5") TINYQ_DWQ_VB(32, 1, "r6", "r7")\
  TINYQ_DWQ_UNPACK(3*tqc+0*tqr, 3*tqc+1*tqr, PKH) TINYQ_DWQ_VB(32, 2, "r6", "r7")                             \
  TINYQ_DWQ_UNPACK(0*tqc+2*tqr, 1*tqc+2*tqr, PKH)                                                               \
  "  ldrd r12, lr, [r1, #56]\n"                                                               \
  "  smlad r4, r2, r12, r4\n"                                                                 \
  "  smlad r5, r3, lr, r5\n"                                                                  \
  "  smlatb r6, r2, r12, r6\n"                                                                \
  "  smlatb r7, r3, lr, r7\n"                                                                 \
  TINYQ_DWQ_UNPACK(2*tqc+2*tqr, 3*tqc+2*tqr, PKH)                                                             \
  "  ldrd r12, lr, [r1, #64]\n"                                                               \
  "  smlabt r4, r2, r12, r4\n"                                                                \
  "  smlabt r5, r3, lr, r5\n"                                                                 \
  "  smlad r6, r2, r12, r6\n"                                                                 \
  "  smlad r7, r3, lr, r7\n"                                                                  \
  TINYQ_DWQ_FINISH2
// The 4 accumulators of 2 channels x 2 pixels (r4-r7) stored or requantized, as
// TINYQ_DWQ_FINISH does for 4 pixels.
#define TINYQ_DWQ_FINISH2                                                                     \
  "  ldr r2, [sp, #12]\n"                                                                     \
  "  cmp r2, #1\n"                                                                            \
  "  beq 8f\n"                                                                                \
  TINYQ_DWQ_TFLITE_BRANCH                                                                     \
  "  ldr r8, [sp]\n"                                                                          \
  "  strd r4, r5, [r8]\n"                                                                     \
  "  strd r6, r7, [r8, #64]\n"                                                                \
  "  add r8, #8\n"                                                                            \
  "  str r8, [sp]\n"                                                                          \
  "  add r1, #96\n"                                                                           \
  "  b 9f\n"                                                                                  \
  TINYQ_DWQ_TFLITE_FINISH2                                                                    \
  "8:\n"                                                                                      \
  "  add r1, #72\n"                                                                           \
  "  ldm r1!, {r8-r10}\n"                                                                     \
  TINYQ_DWQ_REQP("r4", "r8", "r9", "r10") TINYQ_DWQ_REQP("r6", "r8", "r9", "r10")             \
  "  ldm r1!, {r8-r10}\n"                                                                     \
  TINYQ_DWQ_REQP("r5", "r8", "r9", "r10") TINYQ_DWQ_REQP("r7", "r8", "r9", "r10")             \
  "6:\n"                                                                                      \
  "  bfi r4, r5, #8, #8\n"                                                                    \
  "  bfi r6, r7, #8, #8\n"                                                                    \
  "  ldrd r8, r9, [sp]\n"                                                                     \
  "  strh r4, [r8]\n"                                                                         \
  "  strh r6, [r8, r9]\n"                                                                     \
  "  add r8, #2\n"                                                                            \
  "  str r8, [sp]\n"                                                                          \
  "9:\n"

// tinyq_dsp_depthwise_3x3_quad for 2 pixels: the same arguments, the same packed weights.
extern "C" void tinyq_dsp_depthwise_3x3_pair(const int8_t* strip, const int32_t* packed, void* dest,
                                             const DwQuadArgs* args);
__asm__(TINYQ_DWQ_FUNCTION("tinyq_dsp_depthwise_3x3_pair", 48, 16, TINYQ_DWQ_HALF2));
#if TINYQ_DWQ_BLOCK8
extern "C" void tinyq_dsp_depthwise_3x3_pair8(const int8_t* strip, const int32_t* packed, void* dest,
                                              const DwQuadArgs* args);
__asm__(TINYQ_DWQ_FUNCTION("tinyq_dsp_depthwise_3x3_pair8", 24, 8, TINYQ_DWQ_HALF2));
#endif
#undef TINYQ_DWQ_HALF2
// clang-format on

// clang-format off
// Stride 2 along the line: pixel q reads strip columns 2q .. 2q + 2, so 9 columns (and the
// row-2 word of a 10th, whose half is never used) feed the 4 pixels. Kernel rows 0-1 as above:
// column j is unpacked once and feeds pixel j / 2 (tap 0 or 1) and, j even, pixel j / 2 - 1
// (tap 2): 9 unpacks, 12 (pixel, tap) LDRD + 2 SMLAD. Kernel row 2 pairs the taps (x2q,
// x2q+1) of pixel q against (w0, w1) (SMLAD), whose low half x2q is also pixel q - 1's last tap
// (SMLABT against (w1, w2)): 5 unpacks, 4 weight reloads. 127 instructions for 72 MACs; the
// same packed weights and requantization as the stride-1 pass.
#define TINYQ_DWQ2_HALF(PKH)                                                                  \
  "  ldm r1!, {r4-r11}\n"                                                                     \
  TINYQ_DWQ_UNPACK(0*tqc+0*tqr, 0*tqc+1*tqr, PKH) TINYQ_DWQ_V(0, "r4", "r5")                                     \
  TINYQ_DWQ_UNPACK(1*tqc+0*tqr, 1*tqc+1*tqr, PKH) TINYQ_DWQ_V(1, "r4", "r5")                                    \
  TINYQ_DWQ_UNPACK(2*tqc+0*tqr, 2*tqc+1*tqr, PKH) TINYQ_DWQ_V(2, "r4", "r5") TINYQ_DWQ_V(0, "r6", "r7")        \
  TINYQ_DWQ_UNPACK(3*tqc+0*tqr, 3*tqc+1*tqr, PKH) TINYQ_DWQ_V(1, "r6", "r7")                                  \
  TINYQ_DWQ_UNPACK(4*tqc+0*tqr, 4*tqc+1*tqr, PKH) TINYQ_DWQ_V(2, "r6", "r7") TINYQ_DWQ_V(0, "r8", "r9")       \
  TINYQ_DWQ_UNPACK(5*tqc+0*tqr, 5*tqc+1*tqr, PKH) TINYQ_DWQ_V(1, "r8", "r9")                                  \
  TINYQ_DWQ_UNPACK(6*tqc+0*tqr, 6*tqc+1*tqr, PKH) TINYQ_DWQ_V(2, "r8", "r9") TINYQ_DWQ_V(0, "r10", "r11")     \
  TINYQ_DWQ_UNPACK(7*tqc+0*tqr, 7*tqc+1*tqr, PKH) TINYQ_DWQ_V(1, "r10", "r11")                                \
  TINYQ_DWQ_UNPACK(8*tqc+0*tqr, 8*tqc+1*tqr, PKH) TINYQ_DWQ_V(2, "r10", "r11")                                \
  TINYQ_DWQ_UNPACK(0*tqc+2*tqr, 1*tqc+2*tqr, PKH)                                                               \
  "  ldrd r12, lr, [r1, #24]\n"                                                               \
  "  smlad r4, r2, r12, r4\n"                                                                 \
  "  smlad r5, r3, lr, r5\n"                                                                  \
  TINYQ_DWQ_UNPACK(2*tqc+2*tqr, 3*tqc+2*tqr, PKH)                                                             \
  "  smlad r6, r2, r12, r6\n"                                                                 \
  "  smlad r7, r3, lr, r7\n"                                                                  \
  "  ldrd r12, lr, [r1, #32]\n"                                                               \
  "  smlabt r4, r2, r12, r4\n"                                                                \
  "  smlabt r5, r3, lr, r5\n"                                                                 \
  TINYQ_DWQ_UNPACK(4*tqc+2*tqr, 5*tqc+2*tqr, PKH)                                                             \
  "  smlabt r6, r2, r12, r6\n"                                                                \
  "  smlabt r7, r3, lr, r7\n"                                                                 \
  "  ldrd r12, lr, [r1, #24]\n"                                                               \
  "  smlad r8, r2, r12, r8\n"                                                                 \
  "  smlad r9, r3, lr, r9\n"                                                                  \
  TINYQ_DWQ_UNPACK(6*tqc+2*tqr, 7*tqc+2*tqr, PKH)                                                             \
  "  smlad r10, r2, r12, r10\n"                                                               \
  "  smlad r11, r3, lr, r11\n"                                                                \
  "  ldrd r12, lr, [r1, #32]\n"                                                               \
  "  smlabt r8, r2, r12, r8\n"                                                                \
  "  smlabt r9, r3, lr, r9\n"                                                                 \
  TINYQ_DWQ_UNPACK(8*tqc+2*tqr, 9*tqc+2*tqr, PKH)                                                             \
  "  smlabt r10, r2, r12, r10\n"                                                              \
  "  smlabt r11, r3, lr, r11\n"                                                               \
  TINYQ_DWQ_FINISH

// Four pixels at stride 2: the arguments of tinyq_dsp_depthwise_3x3_quad.
extern "C" void tinyq_dsp_depthwise_3x3_quad_s2(const int8_t* strip, const int32_t* packed, void* dest,
                                                const DwQuadArgs* args);
__asm__(TINYQ_DWQ_FUNCTION("tinyq_dsp_depthwise_3x3_quad_s2", 48, 16, TINYQ_DWQ2_HALF));
#undef TINYQ_DWQ2_HALF

// clang-format off
// Two pixels at stride 2 (a line's last 1 or 2): strip columns 0 .. 4 (and the row-2 word of
// column 5), the packed words as tinyq_dsp_depthwise_3x3_pair reads them. 64 + 38
// instructions for 36 MACs.
#define TINYQ_DWQ2_HALF2(PKH)                                                                  \
  "  ldm r1, {r4-r7}\n"                                                                        \
  TINYQ_DWQ_UNPACK(0*tqc+0*tqr, 0*tqc+1*tqr, PKH) TINYQ_DWQ_VB(32, 0, "r4", "r5")                                 \
  TINYQ_DWQ_UNPACK(1*tqc+0*tqr, 1*tqc+1*tqr, PKH) TINYQ_DWQ_VB(32, 1, "r4", "r5")                                \
  TINYQ_DWQ_UNPACK(2*tqc+0*tqr, 2*tqc+1*tqr, PKH) TINYQ_DWQ_VB(32, 2, "r4", "r5") TINYQ_DWQ_VB(32, 0, "r6", "r7") \
  TINYQ_DWQ_UNPACK(3*tqc+0*tqr, 3*tqc+1*tqr, PKH) TINYQ_DWQ_VB(32, 1, "r6", "r7")                              \
  TINYQ_DWQ_UNPACK(4*tqc+0*tqr, 4*tqc+1*tqr, PKH) TINYQ_DWQ_VB(32, 2, "r6", "r7")                              \
  TINYQ_DWQ_UNPACK(0*tqc+2*tqr, 1*tqc+2*tqr, PKH)                                                                \
  "  ldrd r12, lr, [r1, #56]\n"                                                                \
  "  smlad r4, r2, r12, r4\n"                                                                  \
  "  smlad r5, r3, lr, r5\n"                                                                   \
  TINYQ_DWQ_UNPACK(2*tqc+2*tqr, 3*tqc+2*tqr, PKH)                                                              \
  "  smlad r6, r2, r12, r6\n"                                                                  \
  "  smlad r7, r3, lr, r7\n"                                                                   \
  "  ldrd r12, lr, [r1, #64]\n"                                                                \
  "  smlabt r4, r2, r12, r4\n"                                                                 \
  "  smlabt r5, r3, lr, r5\n"                                                                  \
  TINYQ_DWQ_UNPACK(4*tqc+2*tqr, 5*tqc+2*tqr, PKH)                                                              \
  "  smlabt r6, r2, r12, r6\n"                                                                 \
  "  smlabt r7, r3, lr, r7\n"                                                                  \
  TINYQ_DWQ_FINISH2

// Two pixels at stride 2: the arguments of tinyq_dsp_depthwise_3x3_quad.
extern "C" void tinyq_dsp_depthwise_3x3_pair_s2(const int8_t* strip, const int32_t* packed, void* dest,
                                                const DwQuadArgs* args);
__asm__(TINYQ_DWQ_FUNCTION("tinyq_dsp_depthwise_3x3_pair_s2", 48, 16, TINYQ_DWQ2_HALF2));
#undef TINYQ_DWQ2_HALF2
#undef TINYQ_DWQ_FINISH2
// clang-format on

// `cols` strip columns: per column 16 bytes from each of the three rows (row k from src[k],
// advancing by step[k]: 0 repeats a 16-byte block of zero points). Sources word-aligned.
struct DwStripArgs {
  const int8_t* src[3];
  int32_t step[3];
};
extern "C" void tinyq_dsp_depthwise_strip(int8_t* dst, const DwStripArgs* args, int32_t cols);
__asm__(
    "  .section .text.tinyq_dsp_depthwise_strip,\"ax\",%progbits\n"
    "  .syntax unified\n"
    "  .thumb\n"
    "  .align 2\n"
    "  .global tinyq_dsp_depthwise_strip\n"
    "  .hidden tinyq_dsp_depthwise_strip\n"
    "  .type tinyq_dsp_depthwise_strip, %function\n"
    "  .thumb_func\n"
    "tinyq_dsp_depthwise_strip:\n"
    "  push {r4-r11, lr}\n"
    "  mov r11, r2\n"
    "  ldm r1, {r1, r2, r3, r8, r9, r10}\n"
    "1:\n"
    "  ldm r1, {r4-r7}\n"
    "  add r1, r8\n"
    "  stm r0!, {r4-r7}\n"
    "  ldm r2, {r4-r7}\n"
    "  add r2, r9\n"
    "  stm r0!, {r4-r7}\n"
    "  ldm r3, {r4-r7}\n"
    "  add r3, r10\n"
    "  stm r0!, {r4-r7}\n"
    "  subs r11, #1\n"
    "  bne 1b\n"
    "  pop {r4-r11, pc}\n"
    "  .size tinyq_dsp_depthwise_strip, .-tinyq_dsp_depthwise_strip\n"
    "  .text\n");
#if TINYQ_DWQ_BLOCK8
// The same for blocks of 8 channels: 8 bytes from each row per column.
extern "C" void tinyq_dsp_depthwise_strip8(int8_t* dst, const DwStripArgs* args, int32_t cols);
__asm__(
    "  .section .text.tinyq_dsp_depthwise_strip8,\"ax\",%progbits\n"
    "  .syntax unified\n"
    "  .thumb\n"
    "  .align 2\n"
    "  .global tinyq_dsp_depthwise_strip8\n"
    "  .hidden tinyq_dsp_depthwise_strip8\n"
    "  .type tinyq_dsp_depthwise_strip8, %function\n"
    "  .thumb_func\n"
    "tinyq_dsp_depthwise_strip8:\n"
    "  push {r4-r11, lr}\n"
    "  mov r11, r2\n"
    "  ldm r1, {r1, r2, r3, r8, r9, r10}\n"
    "1:\n"
    "  ldrd r4, r5, [r1]\n"
    "  add r1, r8\n"
    "  ldrd r6, r7, [r2]\n"
    "  add r2, r9\n"
    "  ldrd r12, lr, [r3]\n"
    "  add r3, r10\n"
    "  stm r0!, {r4-r7, r12, lr}\n"
    "  subs r11, #1\n"
    "  bne 1b\n"
    "  pop {r4-r11, pc}\n"
    "  .size tinyq_dsp_depthwise_strip8, .-tinyq_dsp_depthwise_strip8\n"
    "  .text\n");
#endif
#undef TINYQ_DWQ_HALF
#undef TINYQ_DWQ_FINISH
#undef TINYQ_DWQ_TFLITE_BRANCH
#undef TINYQ_DWQ_TFLITE_FINISH
#undef TINYQ_DWQ_TFLITE_FINISH2
#undef TINYQ_DWQ_REQ
#undef TINYQ_DWQ_REQP
#undef TINYQ_DWQ_REQT
#undef TINYQ_DWQ_REQTP
#undef TINYQ_DWQ_V
#undef TINYQ_DWQ_VB
#undef TINYQ_DWQ_HI
#undef TINYQ_DWQ_LO
#undef TINYQ_DWQ_UNPACK
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

// The layout depthwise_3x3_quads runs a Rows3x3 layer in. The four pixels of a pass are
// adjacent along a line: an output row (`transposed` false), or an output column for layers
// that are taller than wide (KWS: 25 x 5, where rows would compute 8 pixels for 5), with the
// kernel transposed to match. Stride and dilation along the line must be 1 (the pixels share
// input columns), or, for rows only, stride 2 with dilation 1 (RowsStride2: MobileNet's
// downsampling layers); a line at least 4 pixels long; whole blocks of 16 channels (of 8 for
// a multiple of 8 but not of 16, stride 1 only: quad_block) and a word-aligned input (the strip
// is copied with LDM and LDRD, which fault on unaligned words).
enum class QuadLayout { None, Rows, Columns, RowsStride2 };
// Pixels computed for a line of n pixels, in strips of kQuadChunk.
constexpr int32_t kQuadChunk = 16;  // pixels per strip: 18 columns of 48 bytes
int32_t quad_cover(int32_t n) {
  const int32_t m = n % kQuadChunk;  // a last chunk: passes of 4, then 3 as 4 and 1 or 2 as 2
  return n - m + m / 4 * 4 + (m % 4 == 3 ? 4 : m % 4 != 0 ? 2 : 0);
}
int32_t quad_block(const ConvParams& p) { return p.out_c % 16 == 0 ? 16 : 8; }
QuadLayout quad_layout(const ConvParams& p, const int8_t* input) {
  const bool block8 = TINYQ_DWQ_BLOCK8 && p.out_c % 16 != 0 && p.out_c % 8 == 0;
  if (p.out_c != p.in_c || (p.out_c % 16 != 0 && !block8) || (reinterpret_cast<uintptr_t>(input) & 3u) != 0) {
    return QuadLayout::None;
  }
  const bool rows = p.stride_w == 1 && p.dilation_w == 1 && p.out_w >= 4;
  const bool columns = p.stride_h == 1 && p.dilation_h == 1 && p.out_h >= 4;
  if (rows && (!columns || p.out_h * quad_cover(p.out_w) <= p.out_w * quad_cover(p.out_h))) return QuadLayout::Rows;
  if (columns) return QuadLayout::Columns;
  const bool s2 = p.stride_w == 2 && p.dilation_w == 1 && p.out_w >= 4 && !block8;
  return s2 ? QuadLayout::RowsStride2 : QuadLayout::None;
}

constexpr int32_t kQuadHalfWords = 24;  // packed words per 2 channels

// One channel of pack_quad_weights into half group w, entry e: whether its bound allows the
// fused form (true when not Fused). Templated on the mode, so that TFLite's doubling and the
// requantization parameters cost nothing where they do not apply (this runs per inference).
template <bool Fused, bool Tflite>
TINYQ_ALWAYS_INLINE bool pack_quad_channel(const ConvParams& p, const OutputStage& st, const int8_t* weights,
                                           const int32_t* bias, int32_t ch, bool transposed, int32_t e, int32_t* w) {
  const int32_t c = p.out_c;
  constexpr int32_t kScale = Tflite ? 2 : 1;
  int32_t tap[9];
  int32_t sum = 0, sum_abs = 0;
  for (int32_t r = 0; r < 3; ++r) {
    for (int32_t k = 0; k < 3; ++k) {
      const int32_t v = weights[(transposed ? 3 * k + r : 3 * r + k) * c + ch];
      tap[3 * r + k] = kScale * v;
      sum += v;
      sum_abs += v < 0 ? -v : v;
    }
  }
  const int32_t b = bias != nullptr ? bias[ch] : 0;
  const uint32_t start =
      (static_cast<uint32_t>(b) + static_cast<uint32_t>(p.input_offset) * static_cast<uint32_t>(sum)) * kScale;
  for (int32_t q = 0; q < 4; ++q) w[2 * q + e] = static_cast<int32_t>(start);
  const auto pair = [](int32_t lo, int32_t hi) {
    return static_cast<int32_t>((static_cast<uint32_t>(lo) & 0xFFFFu) | (static_cast<uint32_t>(hi) << 16));
  };
  for (int32_t k = 0; k < 3; ++k) w[8 + 2 * k + e] = pair(tap[k], tap[3 + k]);
  w[14 + e] = pair(tap[6], tap[7]);
  w[16 + e] = pair(tap[7], tap[8]);
  if (!Fused) return true;
  const int32_t i = ch & st.requant_mask;
  const int64_t bound = (b < 0 ? -int64_t{b} : int64_t{b}) + 255 * int64_t{sum_abs};
  const detail::FusedRequant f = detail::fused_requant(st.multiplier[i], st.shift[i], st.offset, bound, Tflite);
  int32_t* rq = w + 18 + 3 * e;
  rq[0] = st.multiplier[i];
  rq[1] = f.addend;
  rq[2] = f.shift;
  return f.valid;
}

// Channels [ch0, ch0 + block): whether every bound allows the fused form.
template <bool Fused, bool Tflite>
bool pack_quad_block(const ConvParams& p, const OutputStage& st, const int8_t* weights, const int32_t* bias,
                     int32_t ch0, int32_t block, bool transposed, int32_t* packed) {
  bool fused = true;
  for (int32_t j = 0; j < block; ++j) {
    fused = pack_quad_channel<Fused, Tflite>(p, st, weights, bias, ch0 + j, transposed, j & 1,
                                             packed + (j >> 1) * kQuadHalfWords) &&
            fused;
  }
  return fused;
}

// Packs the block / 2 half groups of channels [ch0, ch0 + block) (see the assembly's comment);
// tap(r, k) is kernel row r, column k of the line's orientation. With a fused `mode` it also
// writes the requantization parameters and returns the mode the assembly may use for these
// channels (kQuadAccumulators when a bound fails: the caller then packs again in that mode, as
// kQuadFusedTflite's weights are doubled). The clamp is SSAT #8 (the caller checks that the
// activation range is the full int8 range). The requantization is detail::fused_requant
// (high_mul_requant.hpp, with its proof) for |accumulator| <= |bias| + 255 * sum |w|:
// kQuadFusedSingle for tinyq's rounding (every shift <= -2), kQuadFusedTflite for TFLite's
// (every shift in [-31, -1], multipliers >= 0), whose weights and start values are doubled.
int32_t pack_quad_weights(const ConvParams& p, const OutputStage& st, const int8_t* weights, const int32_t* bias,
                          int32_t ch0, int32_t block, bool transposed, int32_t mode, int32_t* packed) {
  switch (mode) {
    case kQuadFusedSingle:
      return pack_quad_block<true, false>(p, st, weights, bias, ch0, block, transposed, packed) ? mode
                                                                                                : kQuadAccumulators;
#if TINYQ_DWQ_FUSE_TFLITE
    case kQuadFusedTflite:
      return pack_quad_block<true, true>(p, st, weights, bias, ch0, block, transposed, packed) ? mode
                                                                                               : kQuadAccumulators;
#endif
    default:
      pack_quad_block<false, false>(p, st, weights, bias, ch0, block, transposed, packed);
      return kQuadAccumulators;
  }
}

// A Rows3x3 layer with a quad_layout: per block of 16 (or 8) channels and line, the three input lines
// go into strips of up to 18 columns, and the assembly computes four pixels per call; a last
// group of fewer than four pixels is computed as the four ending at the line's end (pixels
// written twice get the same bytes). Requantization is fused where pack_quad_weights allows; otherwise the
// accumulators go to RowRequantizer.
// Returns false, having done nothing, for layers without a quad_layout (out of line: the
// row-pair loops of the caller keep their registers).
__attribute__((noinline)) bool depthwise_3x3_quads(const ConvParams& p, const int8_t* input, const int8_t* weights,
                                                   const int32_t* bias, int8_t* output) {
  const QuadLayout layout = quad_layout(p, input);
  if (layout == QuadLayout::None) return false;
  const OutputStage st(p.requant, p.output_offset, p.act_min, p.act_max);
  RowRequantizer rq(st, p.requant);
  // The fused mode every channel allows (pack_quad_weights checks the bounds per block).
  const bool full_range = st.lo == -128 - st.offset && st.hi == 127 - st.offset;
  bool single = full_range && p.requant.rounding == kRoundSingle;
  bool tflite = TINYQ_DWQ_FUSE_TFLITE && full_range && p.requant.rounding == kRoundTflite;
  for (int32_t i = 0; i < p.requant.count; ++i) {
    const int32_t shift = p.requant.shift[i];
    single = single && shift <= -2 && shift >= -31;
    tflite = tflite && shift <= -1 && shift >= -31 && p.requant.multiplier[i] >= 0;
  }
  const int32_t fusable = single ? kQuadFusedSingle : tflite ? kQuadFusedTflite : kQuadAccumulators;
  const bool transposed = layout == QuadLayout::Columns;
  // Stride 2 along the line: 2 strip columns per pixel, chunks of 8 pixels (18 columns).
  const bool s2 = layout == QuadLayout::RowsStride2;
  const int32_t chunk = s2 ? kQuadChunk / 2 : kQuadChunk;
  const int32_t c = p.out_c, row = p.in_w * c;
  // Along a line (a) and across lines (l): output pixels, input extent, strides in bytes.
  const int32_t n_lines = transposed ? p.out_w : p.out_h, n_pixels = transposed ? p.out_h : p.out_w;
  const int32_t in_a = transposed ? p.in_h : p.in_w, in_l = transposed ? p.in_w : p.in_h;
  const int32_t pad_a = transposed ? p.pad_top : p.pad_left, pad_l = transposed ? p.pad_left : p.pad_top;
  const int32_t stride_l = transposed ? p.stride_w : p.stride_h, dil_l = transposed ? p.dilation_w : p.dilation_h;
  const int32_t step_a = transposed ? row : c, step_l = transposed ? c : row;
  const int32_t out_a = transposed ? p.out_w * c : c, out_l = transposed ? c : p.out_w * c;
  alignas(8) int32_t packed[8 * kQuadHalfWords];
  alignas(8) int32_t acc[4 * kBlock];
  alignas(8) int8_t strip[(kQuadChunk + 2) * 48];
  const int32_t block = quad_block(p), col_bytes = 3 * block;  // strip bytes per column
  alignas(8) uint32_t zeros[4];
  const uint32_t zero_word = static_cast<uint32_t>(static_cast<uint8_t>(-p.input_offset)) * 0x01010101u;
  for (uint32_t& z : zeros) z = zero_word;
  const int8_t* zero_block = reinterpret_cast<const int8_t*>(zeros);
  DwStripArgs pad;
  for (int32_t k = 0; k < 3; ++k) {
    pad.src[k] = zero_block;
    pad.step[k] = 0;
  }
  auto run4 = s2 ? tinyq_dsp_depthwise_3x3_quad_s2 : tinyq_dsp_depthwise_3x3_quad;
  auto run2 = s2 ? tinyq_dsp_depthwise_3x3_pair_s2 : tinyq_dsp_depthwise_3x3_pair;
  auto copy_strip = tinyq_dsp_depthwise_strip;
#if TINYQ_DWQ_BLOCK8
  if (block == 8) {
    run4 = tinyq_dsp_depthwise_3x3_quad8;
    run2 = tinyq_dsp_depthwise_3x3_pair8;
    copy_strip = tinyq_dsp_depthwise_strip8;
  }
#endif
  const int32_t col_step = s2 ? 2 * col_bytes : col_bytes;  // strip bytes per pixel
  DwQuadArgs args;
  args.stride = out_a;
  args.w_end = packed + block / 2 * kQuadHalfWords;
  for (int32_t ch0 = 0; ch0 < c; ch0 += block) {
    int32_t mode = pack_quad_weights(p, st, weights, bias, ch0, block, transposed, fusable, packed);
    if (mode == kQuadAccumulators && fusable == kQuadFusedTflite) {  // undo the doubling
      pack_quad_weights(p, st, weights, bias, ch0, block, transposed, kQuadAccumulators, packed);
    }
    args.fused = mode;
    const bool fused = mode != kQuadAccumulators;
    // Four or two pixels from the strip column `src`, their outputs from `out`.
    const auto quad = [&](const int8_t* src, int8_t* out, int32_t n) {
      const auto run = n == 4 ? run4 : run2;
      if (fused) {
        run(src, packed, out, &args);
        return;
      }
      run(src, packed, acc, &args);
      if (n == 4) {
        rq.run(acc, ch0, block, out, 4, out_a);
      } else {
        rq.run(acc, ch0, block, out, 1, 0);
        rq.run(acc + kBlock, ch0, block, out + out_a, 1, 0);
      }
    };
    for (int32_t b = 0; b < p.batch; ++b) {
      const int8_t* image = input + b * p.in_h * row + ch0;
      int8_t* out_image = output + b * p.out_h * p.out_w * c + ch0;
      for (int32_t line = 0; line < n_lines; ++line) {
        DwStripArgs in_lines;
        for (int32_t k = 0; k < 3; ++k) {
          const int32_t y = line * stride_l - pad_l + k * dil_l;
          const bool valid = y >= 0 && y < in_l;
          in_lines.src[k] = valid ? image + y * step_l : zero_block;
          in_lines.step[k] = valid ? step_a : 0;
        }
        int8_t* out_line = out_image + line * out_l;
        for (int32_t cs = 0; cs < n_pixels; cs += chunk) {
          const int32_t ce = cs + chunk < n_pixels ? cs + chunk : n_pixels;
          // A chunk of 3 pixels is one pass of 4 reaching back, of 1 a pass of 2.
          const int32_t s = ce - cs == 3 ? ce - 4 : (ce - cs == 1 ? ce - 2 : cs);
          // Strip columns: input positions from s - pad_a, ce - s + 2 of them; at stride 2
          // from 2 s - pad_a, 2 (ce - s) + 2 (the last one's row-2 word is read, not used).
          const int32_t x_first = s2 ? 2 * s - pad_a : s - pad_a, cols = s2 ? 2 * (ce - s) + 2 : ce - s + 2;
          int32_t lead = x_first < 0 ? -x_first : 0;
          lead = lead > cols ? cols : lead;
          const int32_t x_end = x_first + cols > in_a ? in_a : x_first + cols;
          int32_t inner = x_end - (x_first + lead);
          inner = inner < 0 ? 0 : inner;
          const int32_t trail = cols - lead - inner;
          int8_t* dst = strip;
          if (lead > 0) {
            copy_strip(dst, &pad, lead);
            dst += lead * col_bytes;
          }
          if (inner > 0) {
            DwStripArgs a = in_lines;
            const int32_t x0 = x_first + lead;
            for (int32_t k = 0; k < 3; ++k) a.src[k] += x0 * a.step[k];
            copy_strip(dst, &a, inner);
            dst += inner * col_bytes;
          }
          if (trail > 0) copy_strip(dst, &pad, trail);
          // Passes of 4, then the 1 to 3 pixels left: 3 as the 4 ending at ce, 1 or 2 as the
          // 2 ending there (pixels computed twice get the same bytes).
          int32_t ox = s;
          if (fused) {  // the common case without the lambda's tests and products per pass
            const int8_t* src = strip;
            int8_t* out = out_line + ox * out_a;
            for (; ce - ox >= 4; ox += 4, src += 4 * col_step, out += 4 * out_a) run4(src, packed, out, &args);
          } else {
            for (; ce - ox >= 4; ox += 4) quad(strip + (ox - s) * col_step, out_line + ox * out_a, 4);
          }
          if (ox < ce) {
            const int32_t n = ce - ox == 3 ? 4 : 2;
            quad(strip + (ce - n - s) * col_step, out_line + (ce - n) * out_a, n);
          }
        }
      }
    }
  }
  return true;
}

}  // namespace

void depthwise_rows_dsp(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                        int8_t* output) {
  if (p.kernel_h == 3 && p.kernel_w == 3 && depthwise_3x3_quads(p, input, weights, bias, output)) return;
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
