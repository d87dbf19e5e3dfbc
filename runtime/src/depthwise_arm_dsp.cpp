// tinyq runtime: depthwise_conv2d_s8 on the ARMv7E-M DSP extension (Cortex-M4, M7, M33).
//
// Depthwise has no dot product to feed SMLAD: each output channel sums its own taps. NHWC
// keeps 4 neighbouring channels in one word for the input and for the weights ([1, kh, kw,
// out_c]), so with channel multiplier 1 a tap of 4 channels is 2 LDR, 2 SXTAB16 (input,
// offset added), 2 SXTB16 (weights) and 4 SMLABB/SMLATT, the pair layouts of input and
// weights being the same ([c0, c2], [c1, c3]). No scratch, no im2col.
// Variants (depthwise_dsp_variant, kernel_paths.hpp): most layers with multiplier 1 run the
// row-pair loops of depthwise_arm_dsp_rows.cpp, k x 1 kernels whose windows lie inside the
// image those of depthwise_arm_dsp_column.cpp; this file keeps the Window variant for the
// rest (fewer than 4 channels, kernels too large for that file's weight buffer): the valid
// taps one at a time (tinyq_dsp_depthwise_window), a pixel's accumulators (up to 32 channels
// at a time) requantized together by tinyq_dsp_requantize. A channel multiplier above 1 runs
// the row-pair loops too, over patches (the input channel repeats across neighbouring outputs,
// so the word trick does not apply in place).
// Sums are exact integers wrapping modulo 2^32 like the portable ones: same bytes.
#include "tinyq/kernel_path.hpp"  // defines the TINYQ_PATH_* macro tested below

#if defined(TINYQ_PATH_ARM_DSP)

#include "conv_arm_common.hpp"
#include "kernel_paths.hpp"

namespace tinyq {
namespace rt {

namespace {

using arm::offset_pair;
using arm::OutputStage;
using arm::RowRequantizer;

// Any window (the valid taps of an edge pixel, other kernel sizes, dilation), 4 channels, in
// assembly: a tap is 10 instructions plus 4 of loop
// (pointer steps by register, count). The 14 registers of the tap loop leave the row loop's
// state on the stack.
//   r0 input at the first valid tap, channel c; r1 its weights; r3 -> DwArgs (r2 unused).
struct DwArgs {
  int32_t out_c;       // bytes from a tap's weights to the next tap's
  int32_t row;         // unused (kept: the assembly reads fields by offset)
  int32_t offset2;     // input offset in both halves
  int32_t* acc;        // accumulators of channels c .. c + 3, in and out
  int32_t in_step;     // window: bytes from a tap's input to the next in a row (dilation_w * in_c)
  int32_t in_row;      // window: bytes from a row of taps to the next (dilation_h * in_w * in_c)
  int32_t w_row;       // window: bytes from a row of weights to the next (kernel_w * out_c)
  int32_t rows, cols;  // window: valid taps, both >= 1
};
extern "C" void tinyq_dsp_depthwise_window(const int8_t* input, const int8_t* weights, int32_t unused, DwArgs* args);
__asm__(R"(
  .section .text.tinyq_dsp_depthwise_window,"ax",%progbits
  .syntax unified
  .thumb
  .align 2
  .global tinyq_dsp_depthwise_window
  .hidden tinyq_dsp_depthwise_window
  .type tinyq_dsp_depthwise_window, %function
  .thumb_func
tinyq_dsp_depthwise_window:
  push {r4-r11, lr}
  push {r3}
  ldr r4, [r3]
  ldr r6, [r3, #8]
  ldr r12, [r3, #12]
  ldrd r7, r8, [r12]
  ldrd r9, r5, [r12, #8]
  ldr r2, [r3, #16]
  ldr r12, [r3, #28]
  push {r12}
5:
  push {r0, r1}
  ldr r3, [sp, #12]
  ldr r3, [r3, #32]
6:
  ldr r10, [r0]
  ldr r12, [r1]
  sxtab16 r11, r6, r10
  sxtab16 r10, r6, r10, ror #8
  sxtb16 lr, r12
  sxtb16 r12, r12, ror #8
  smlabb r7, r11, lr, r7
  smlatt r9, r11, lr, r9
  smlabb r8, r10, r12, r8
  smlatt r5, r10, r12, r5
  add r0, r2
  add r1, r4
  subs r3, r3, #1
  bne 6b
  pop {r0, r1}
  ldr r3, [sp, #4]
  ldr r10, [r3, #20]
  add r0, r10
  ldr r10, [r3, #24]
  add r1, r10
  ldr r10, [sp]
  subs r10, r10, #1
  str r10, [sp]
  bne 5b
  add sp, #4
  pop {r3}
  ldr r3, [r3, #12]
  strd r7, r8, [r3]
  strd r9, r5, [r3, #8]
  pop {r4-r11, pc}
  .size tinyq_dsp_depthwise_window, .-tinyq_dsp_depthwise_window
  .text
)");

void depthwise_mult1(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                     int8_t* output) {
  const OutputStage st(p.requant, p.output_offset, p.act_min, p.act_max);
  const int32_t c = p.in_c;
  const int32_t offset2 = offset_pair(p.input_offset);
  const int32_t row = p.in_w * c;             // input row stride
  const int32_t wrow = p.kernel_w * p.out_c;  // weight row stride
  RowRequantizer rq(st, p.requant);
  int32_t acc[RowRequantizer::kChunk];
  DwArgs args;
  args.out_c = p.out_c;
  args.row = row;
  args.offset2 = offset2;
  args.in_step = p.dilation_w * c;
  args.in_row = p.dilation_h * row;
  args.w_row = wrow;
  for (int32_t b = 0; b < p.batch; ++b) {
    const int8_t* image = input + b * p.in_h * row;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      const detail::TapRange ky = detail::valid_taps(y0, p.kernel_h, p.dilation_h, p.in_h);
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t x0 = ox * p.stride_w - p.pad_left;
        const detail::TapRange kx = detail::valid_taps(x0, p.kernel_w, p.dilation_w, p.in_w);
        const int32_t origin = y0 * row + x0 * c;  // offset of tap (0, 0), which may lie in the padding
        const bool any_tap = ky.last > ky.first && kx.last > kx.first;
        const int32_t first_tap = origin + ky.first * p.dilation_h * row + kx.first * p.dilation_w * c;
        const int32_t first_weight = (ky.first * p.kernel_w + kx.first) * p.out_c;
        args.rows = ky.last - ky.first;
        args.cols = kx.last - kx.first;
        for (int32_t ch0 = 0; ch0 < c; ch0 += RowRequantizer::kChunk) {
          const int32_t n = c - ch0 < RowRequantizer::kChunk ? c - ch0 : RowRequantizer::kChunk;
          for (int32_t j = 0; j < n; ++j) acc[j] = bias != nullptr ? bias[ch0 + j] : 0;
          int32_t j = 0;
          for (; j + 4 <= n; j += 4) {  // 4 channels at a time
            const int32_t ch = ch0 + j;
            args.acc = acc + j;
            if (any_tap) {
              tinyq_dsp_depthwise_window(image + (first_tap + ch), weights + (first_weight + ch), 0, &args);
            }
          }
          for (; j < n; ++j) {  // the c % 4 last channels, one at a time
            const int32_t ch = ch0 + j;
            for (int32_t ty = ky.first; ty < ky.last; ++ty) {
              for (int32_t tx = kx.first; tx < kx.last; ++tx) {
                const int32_t in = image[origin + ty * p.dilation_h * row + tx * p.dilation_w * c + ch];
                acc[j] += (in + p.input_offset) * weights[ty * wrow + tx * p.out_c + ch];
              }
            }
          }
          rq.run(acc, ch0, n, output + ch0, 1, 0);
        }
        output += c;
      }
    }
  }
}

}  // namespace

void depthwise_window_dsp(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                          int8_t* output) {
  depthwise_mult1(p, input, weights, bias, output);
}

}  // namespace rt
}  // namespace tinyq

#endif  // TINYQ_PATH_ARM_DSP
