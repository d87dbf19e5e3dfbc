// tinyq runtime: int8 kernels. One implementation per op, called both by the host int8
// executor and by generated MCU code, so their results are bit-identical by construction.
//
// Conventions (docs/DESIGN.md, "Quantization conventions"):
//  - activations int8, real = scale * (q - zero_point); tensors NHWC, batch-major;
//  - weights int8 symmetric per output channel; bias int32 with scale s_in * s_w[c];
//  - `input_offset` is minus the input zero point (added to every input value, as in
//    CMSIS-NN), `output_offset` the output zero point; act_min/act_max clamp the result in
//    the output's int8 domain (a fused ReLU/ReLU6 costs nothing);
//  - the power-of-two scheme is the special case of zero offsets and power-of-two
//    multipliers (multiplier 2^30, shift = 1 - right_shift).
// Every parameter is checked on the host when the model is generated: kernels never fail.
// Output shapes (out_h, out_w, ...) are computed by the host too; kernels trust them.
// Wherever a formula below says clamp(output_offset + v, act_min, act_max), the kernels
// evaluate it without int32 overflow for any int32 v (they clamp v to [act_min - offset,
// act_max - offset] first), so saturation is exact however large the requantized value is.
#ifndef TINYQ_KERNELS_HPP
#define TINYQ_KERNELS_HPP

#include <stddef.h>
#include <stdint.h>

#include "tinyq/kernel_path.hpp"
#include "tinyq/requantize.hpp"

namespace tinyq {
namespace rt {

// The variant choices below fold away in generated code (constant parameters) only when they
// are inlined, which a -Os build does not do by itself.
#define TINYQ_DISPATCH_INLINE __attribute__((always_inline))

struct ConvParams {
  int32_t batch;
  int32_t in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t kernel_h, kernel_w;
  int32_t stride_h, stride_w;
  int32_t dilation_h, dilation_w;
  int32_t pad_top, pad_left;  // padded taps contribute real 0, i.e. are skipped
  int32_t groups;             // out_c and in_c divisible by groups (depthwise: ignored)
  int32_t input_offset;       // -input zero point
  int32_t output_offset;      // output zero point
  int32_t act_min, act_max;   // output clamp, within [-128, 127]
  Requant requant;            // per output channel; its rounding: tinyq's or TFLite's
};
// weights [out_c, kernel_h, kernel_w, in_c/groups]; bias [out_c] or null. Output channel o
// reads input channels [g * in_c/groups, (g + 1) * in_c/groups), g = o / (out_c/groups):
//   acc = bias[o] + sum over unpadded taps of (in + input_offset) * w
//   out = clamp(output_offset + requantize_channel(acc, requant, o), act_min, act_max)
// with input row oy * stride_h - pad_top + ky * dilation_h (columns alike). The host checks
// that |acc| fits int32 for every input.
// `scratch` holds conv2d_s8_scratch_bytes(p) bytes, 4-byte aligned. What it holds depends on
// the variant the build's path runs (conv2d_s8_variant below). The host's arena planner sizes
// scratch with this very function for the target's path, and generated code static_asserts
// the size, so the twin cannot drift from the kernel: both ask conv2d_s8_variant().
inline void conv2d_s8(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                      int8_t* output, int16_t* scratch);

// How conv2d_s8 runs a layer on each path (CMSIS-NN's wrapper, as a value the host can see).
enum class ConvVariant : int32_t {
  Portable,      // one im2col patch per pixel, int16 with the input offset added (any shape)
  DspPointwise,  // 1x1 kernel over real pixels: a pixel's channels are its patch (no window)
  DspGeneral,    // im2col of four pixels into 16-bit pairs, 1 channel x 4 pixels per SMLAD block
  MvePointwise,  // 1x1 kernel over real pixels: rows read in place, 1 pixel x 4 channels
                 // (conv2d_s8_mve_pairs: 2 pixels x 4 channels, copied interleaved)
  MveGeneral,    // im2col of one pixel into int8 (padding = the zero point), 1 pixel x 4 channels
                 // (conv2d_s8_mve_pairs: of two pixels, interleaved, 2 pixels x 4 channels)
};
// A 1x1 kernel whose every output pixel reads a real input pixel (no padding taps, also none
// from pad_bottom/pad_right, which the kernel only sees through out_h/out_w).
TINYQ_DISPATCH_INLINE constexpr bool conv2d_is_pointwise(const ConvParams& p) {
  return p.kernel_h == 1 && p.kernel_w == 1 && p.pad_top == 0 && p.pad_left == 0 && p.groups == 1 &&
         (p.out_h - 1) * p.stride_h < p.in_h && (p.out_w - 1) * p.stride_w < p.in_w;
}
TINYQ_DISPATCH_INLINE constexpr ConvVariant conv2d_s8_variant(const ConvParams& p, KernelPath path = kNativePath) {
  // The SIMD paths carry in + input_offset in 16-bit lanes (DSP) or pad with the int8 value
  // -input_offset (MVE): both need input_offset = -zero_point, i.e. in [-127, 128].
  const bool offset_fits = p.input_offset >= -127 && p.input_offset <= 128;
  if (path == KernelPath::ArmDsp && offset_fits)
    return conv2d_is_pointwise(p) ? ConvVariant::DspPointwise : ConvVariant::DspGeneral;
  if (path == KernelPath::ArmMve && offset_fits)
    return conv2d_is_pointwise(p) ? ConvVariant::MvePointwise : ConvVariant::MveGeneral;
  return ConvVariant::Portable;
}
// DSP, first layers (in_c / groups not a multiple of 4, groups 1, at most 48 values per
// patch: 3x3x3, 5x5x1, 10x4x1): windows inside the image are gathered through a table of
// (source, destination) offsets kept in scratch.
constexpr bool conv2d_s8_dsp_gathers(const ConvParams& p) {
  return p.groups == 1 && p.in_c % 4 != 0 && p.kernel_h * p.kernel_w * p.in_c <= 48;
}
// Helium, at most 16 values per patch and groups 1 (one-channel 3x3 stems): the patches of up
// to kMveNarrowPixels pixels of a row, 16 bytes apart, share one pass over each block of 4
// channels' weights.
constexpr int32_t kMveNarrowPixels = 16;
constexpr bool conv2d_s8_mve_narrow(const ConvParams& p) {
  return p.groups == 1 && p.kernel_h * p.kernel_w * p.in_c <= 16;
}
// Helium, groups 1, input channels a multiple of 16 and more than 64 values per patch (3x3
// convs of 16 channels or more: ResNet's; pointwise layers of 80 channels or more:
// MobileNet's): two pixels' patches, interleaved 16 bytes at a time, share each weight load
// (2 pixels x 4 channels per pass); whole blocks of 4 channels. A speed form: -Os builds run
// one patch at a time in the first half of the same scratch.
// The same for any patch of more than 16 values that is not a multiple of 16 (first layers:
// KWS's 10x4 stem of 40 values, RGB 3x3 stems of 27; SWW's pointwise layer of 40 channels):
// each pixel's patch is copied chunk by chunk into its half, the last chunk's weights read
// predicated (general layers build the patch in a third area first).
constexpr bool conv2d_s8_mve_pairs_tail(const ConvParams& p) {
  const int32_t k = p.kernel_h * p.kernel_w * p.in_c;
  return p.groups == 1 && k > 16 && k % 16 != 0 && p.out_c % 4 == 0;
}
constexpr bool conv2d_s8_mve_pairs(const ConvParams& p) {
  return (p.groups == 1 && p.in_c % 16 == 0 && p.kernel_h * p.kernel_w * p.in_c > 64 && p.out_c % 4 == 0) ||
         conv2d_s8_mve_pairs_tail(p);
}
constexpr size_t conv2d_s8_scratch_bytes(const ConvParams& p, KernelPath path = kNativePath) {
  // Values per output channel, and the same rounded up to whole groups of 4.
  const size_t patch =
      static_cast<size_t>(p.kernel_h) * static_cast<size_t>(p.kernel_w) * static_cast<size_t>(p.in_c / p.groups);
  const size_t patch4 = (patch + 3) / 4 * 4, patch16 = (patch + 15) / 16 * 16;
  switch (conv2d_s8_variant(p, path)) {
    case ConvVariant::DspPointwise:  // four pixels' channels as 16-bit pairs, zero-padded
      return 4 * patch4 * sizeof(int16_t);
    case ConvVariant::DspGeneral:  // the same for patches, then maybe the gather table
      return 4 * patch4 * sizeof(int16_t) + (conv2d_s8_dsp_gathers(p) ? patch * 2 * sizeof(int32_t) : 0);
    case ConvVariant::MvePointwise:  // per channel: bias + offset * weight sum, multiplier, shift
                                     // (pairs: then two pixels' channels, interleaved)
      return 3 * static_cast<size_t>(p.out_c) * sizeof(int32_t) + (conv2d_s8_mve_pairs(p) ? 2 * patch16 : 0);
    case ConvVariant::MveGeneral: {  // the same, then the int8 patches: one, two interleaved
                                     // (pairs), or a row's 16 bytes apart (narrow)
      const size_t patches = conv2d_s8_mve_narrow(p)  ? 16 * static_cast<size_t>(kMveNarrowPixels)
                             : conv2d_s8_mve_pairs(p) ? 2 * patch16 + (conv2d_s8_mve_pairs_tail(p) ? patch16 : 0)
                                                      : patch4;
      return 3 * static_cast<size_t>(p.out_c) * sizeof(int32_t) + patches;
    }
    case ConvVariant::Portable: break;
  }
  return patch * sizeof(int16_t);
}
// Depthwise: groups == in_c, out_c = in_c * multiplier; weights [1, kernel_h, kernel_w, out_c]
// (CMSIS-NN / TFLite depthwise layout: output channel o = c * multiplier + m).
// Native paths (src/kernel_paths.hpp, depthwise_dsp_variant): DSP, two kernel rows per SMLAD
// with the weights re-laid out per call on the stack (up to 2.5 KB), any multiplier; Helium: 16
// channels per step, any multiplier (the input offset folded into a per-window start value).
// Other cases run the portable kernel. No scratch.
inline void depthwise_conv2d_s8(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                                int8_t* output);

// Transposed convolution (ConvTranspose, Conv2DTranspose, TRANSPOSE_CONV) in the gather
// formulation: each output pixel sums the input pixels whose taps land on it, so every output
// is written once, from an int32 accumulator, and needs no zeroed output or int32 image.
// ConvParams means here: kernel, stride, dilation of the transposed op; pad_top/pad_left: input
// pixel (0,0)'s tap (0,0) lands on output (-pad_top, -pad_left) (end padding and
// output_padding only show in out_h/out_w). weights [out_c, kernel_h, kernel_w, in_c/groups]
// (conv's layout: the host re-lays ONNX's [in_c, kh, kw, out_c/groups] once). Output channel
// o of group g = o / (out_c/groups) at output (oy, ox):
//   acc = bias[o] + sum over (ky, kx, c) of (in[iy, ix, g * in_c/groups + c] + input_offset)
//                                          * w[o, ky, kx, c]
//   for every ky with oy + pad_top - ky * dilation_h = iy * stride_h, 0 <= iy < in_h (kx alike)
//   out = clamp(output_offset + requantize_channel(acc, requant, o), act_min, act_max)
// Every tap adds at most one input pixel, so conv's accumulator bound (|bias| + max|in +
// input_offset| * sum |w[o]|) holds and the host checks it. `scratch` holds
// conv_transpose2d_s8_scratch_bytes(p) bytes, 4-byte aligned: the valid taps of the current
// output row, column and pixel. One path (portable) on every target.
void conv_transpose2d_s8(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                         int8_t* output, int32_t* scratch);
constexpr size_t conv_transpose2d_s8_scratch_bytes(const ConvParams& p) {
  // Per valid tap of a row, a column and a pixel: its input offset and its weight offset.
  const size_t kh = static_cast<size_t>(p.kernel_h), kw = static_cast<size_t>(p.kernel_w);
  return 2 * (kh + kw + kh * kw) * sizeof(int32_t);
}

struct DenseParams {
  int32_t rows;  // independent input vectors
  int32_t in_features, out_features;
  int32_t input_offset, output_offset;
  int32_t act_min, act_max;
  Requant requant;  // per output feature
};
// weights [out_features, in_features]; bias [out_features] or null.
// Native paths: DSP 4 output features per pass (SMLAD, input offset folded by SXTAB16), Helium
// 3 per pass (VMLADAVA, offset folded through the weight sums). No scratch.
void dense_s8(const DenseParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias, int8_t* output);

// dense_s8 with its weights and bias re-laid out once, at generation time, for the DSP path
// (dense_s8_pack). Blocks of 4 output rows: rows 4b and 4b + 1 (and 4b + 2, 4b + 3) share
// each weight word, row 4b's bytes in the high byte of each 16-bit half, row 4b + 1's biased
// by 128 in the low byte, so that one SMLAD of the raw word against an input pair gives
// 256 * (row 4b's products) + (row 4b + 1's biased ones) and one UXTB16 + SMLAD the latter
// alone: 3 instructions per 4 MACs (dense_arm_dsp.cpp). Per block and group of 4 inputs,
// 16 bytes: row pair (4b, 4b + 1) for inputs (4g, 4g + 2), then (4g + 1, 4g + 3), then row
// pair (4b + 2, 4b + 3) alike; a half holds the first input of its pair in bits 0-15. Rows
// are padded with zeros to a multiple of 4. The packed bias (int32, one per padded row)
// includes input_offset * (sum of the row's weights), so the kernel multiplies raw inputs.
// Same bytes as dense_s8 on the unpacked weights.
constexpr int32_t dense_s8_packed_rows(const DenseParams& p) { return (p.out_features + 3) & ~3; }
// Packed weight bytes (4-byte aligned) and packed bias entries.
constexpr size_t dense_s8_packed_weight_bytes(const DenseParams& p) {
  return static_cast<size_t>(dense_s8_packed_rows(p)) * static_cast<size_t>(p.in_features);
}
// Packs (packed_params holds dense_s8_packed_param_words). Returns kDensePackRefused when the
// layer cannot take the packed form: in_features not a multiple of 4, or a row 4b whose
// products could leave [-2^23, 2^23) (128 * sum of |w| > 2^23 - 1), which the high-byte trick
// needs to recover its sum exactly. Otherwise kDensePackPlain: packed_params is the packed
// bias, one word per padded row, for dense_s8_packed; or kDensePackFused, when the
// requantization can run in the same registers (tinyq's rounding, every shift in [-31, -2],
// the full int8 output range, and |bias| + 128 * sum |w| small enough for the output offset to
// fold into the SMMLA addend, as in the depthwise 3x3 passes): per block of 4 rows 16 words,
// the 4 packed biases, then per row the multiplier, 2^(t-1) + output_offset * 2^t and
// t = -1 - shift, for dense_s8_packed_fused, which then reads neither p.requant nor the
// output offset and activation range.
enum : int32_t { kDensePackRefused = 0, kDensePackPlain = 1, kDensePackFused = 2 };
constexpr size_t dense_s8_packed_param_words(const DenseParams& p) {
  return 4 * static_cast<size_t>(dense_s8_packed_rows(p));
}
int32_t dense_s8_pack(const DenseParams& p, const int8_t* weights, const int32_t* bias, int8_t* packed_weights,
                      int32_t* packed_params);
// folded[o] = bias[o] (0 without a bias) + input_offset * (sum of row o's weights), modulo
// 2^32 like the kernels' sums: the bias of a kernel that multiplies the raw inputs, for
// p.out_features rows (dense_s8_pack's packed bias; Helium's generated code passes it to
// dense_s8 with input_offset 0).
void dense_s8_fold_offset(const DenseParams& p, const int8_t* weights, const int32_t* bias, int32_t* folded);
void dense_s8_packed(const DenseParams& p, const int8_t* input, const int8_t* packed_weights,
                     const int32_t* packed_bias, int8_t* output);
void dense_s8_packed_fused(const DenseParams& p, const int8_t* input, const int8_t* packed_weights,
                           const int32_t* packed_params, int8_t* output);

struct PoolParams {
  int32_t batch;
  int32_t in_h, in_w, channels;
  int32_t out_h, out_w;
  int32_t kernel_h, kernel_w;
  int32_t stride_h, stride_w;
  int32_t pad_top, pad_left, pad_bottom, pad_right;
  int32_t act_min, act_max;
};
// Max pooling keeps the input's quantization; padding never wins. A window made only of
// padding (pads >= kernel) yields clamp(-128, act_min, act_max). The result is clamped to
// [act_min, act_max] (a fused ReLU).
// Native paths (src/kernel_paths.hpp): Armv7E-M DSP takes 4 channels per SSUB8/SEL, Helium
// 16 per VMAX; no scratch.
void max_pool2d_s8(const PoolParams& p, const int8_t* input, int8_t* output);

struct AvgPoolParams {
  PoolParams pool;
  int32_t count_include_pad;  // divisor counts padded taps (not the ceil_mode overhang)
  int32_t input_offset, output_offset;
  // The output has its own scale: q_out = output_offset + requantize(sum(q - z_in), M[n], S[n])
  // with n the number of taps the divisor counts; M[n], S[n] encode s_in / (s_out * n),
  // precomputed for n = 1 .. kernel_h*kernel_w (entry 0 unused).
  const int32_t* count_multiplier;
  const int32_t* count_shift;
  // NNoM 0.4 compatibility (preset nnom): q_out = sum(q) / n truncated toward zero, same
  // scale in and out; count_multiplier is then unused. Precisely (the offsets are 0 there):
  // q_out = output_offset + sum(q + input_offset) / n, C integer division.
  int32_t truncate;
  // kRoundTflite: TFLite's int8 average pool (whose input and output share one quantization):
  // q_out = output_offset + round(s / n) with s = sum(q + input_offset), ties away from zero,
  // computed as (s + n / 2) / n for s > 0 and (s - n / 2) / n otherwise (C division);
  // count_multiplier is then unused and truncate is 0. TFLite's form has no offsets:
  // input_offset = output_offset = 0 gives its bytes.
  // kRoundTflite with count_multiplier set (one entry, index 0): TFLite's int8 MEAN over H and
  // W (reduce.h QuantizedMeanOrSum), the window the whole image: q_out = output_offset +
  // requantize_tflite(s, count_multiplier[0], count_shift[0]), s = sum(q + input_offset), the
  // multiplier TFLite's s_in / s_out with 1 / n folded in (not normalized: any value in
  // [0, 2^31)).
  int32_t rounding = kRoundSingle;
};
// Window of output (oy, ox): rows [y0, y0 + kernel_h), y0 = oy * stride_h - pad_top (columns
// alike). The sum runs over the taps inside the input. n counts, per axis, the rows in
// [max(y0, -pad_top), min(y0 + kernel_h, in_h + pad_bottom)) if count_include_pad, else
// those in [max(y0, 0), min(y0 + kernel_h, in_h)) (ONNX AveragePool, ceil_mode overhang
// never counted); n = rows * columns. A window with n == 0 outputs clamp(output_offset).
// Every result is clamped to [act_min, act_max].
// Native paths: DSP sums 4 channels per word with SXTAB16, Helium 8 per VADD (16-bit lanes,
// moved to 32 bits every 255 taps); both rescale with a 32-bit high multiply wherever that is
// provably the same requantize (src/high_mul_requant.hpp), else with requantize itself.
// TFLite's rounded division: the native paths' sums, then the portable division per channel. No
// scratch.
void avg_pool2d_s8(const AvgPoolParams& p, const int8_t* input, int8_t* output);

// Elementwise ops over up to 4-D NHWC shapes with numpy broadcasting: `shape` is the
// output shape, `a_strides`/`b_strides` the element strides of each input over the output's
// axes (0 on a broadcast axis). Unused leading axes have size 1.
struct BroadcastShape {
  int32_t shape[4];
  int32_t a_strides[4];
  int32_t b_strides[4];
};

struct AddParams {
  int32_t a_offset, b_offset, output_offset;  // offsets are -zero points for inputs
  int32_t left_shift;                         // headroom before rescaling (20, as TFLite)
  int32_t a_multiplier, a_shift;              // s_a / (2 * max(s_a, s_b))
  int32_t b_multiplier, b_shift;              // s_b / (2 * max(s_a, s_b)); negated for Sub
  int32_t output_multiplier, output_shift;    // 2 * max(s_a, s_b) / (2^left_shift * s_out)
  int32_t act_min, act_max;
  int32_t rounding = kRoundSingle;  // kRoundTflite: every requantize below is requantize_tflite
  int32_t subtract = 0;             // 1 (kRoundTflite only): TFLite's int8 SUB, the b term subtracted
};
// out = output_offset + requantize(requantize((a + a_offset) << left_shift, a_m, a_s) +
//                                  requantize((b + b_offset) << left_shift, b_m, b_s), out_m, out_s)
// clamped to [act_min, act_max]; with rounding = kRoundTflite this is TFLite's int8 add (its
// three MultiplyByQuantizedMultiplierSmallerThanOneExp). The shift is computed as a
// multiplication by 2^left_shift (left-shifting a negative value is undefined in C++17); the
// host keeps left_shift <= 22 (normally 20) so that 255 * 2^left_shift fits int32.
// Native paths: each of the three requantizations becomes one or two 32-bit instructions
// (DSP: SMMULR, SMMLA; Helium: VQRDMULH, VQDMULH) under bounds checked once per call from
// the parameters; parameters outside them (not produced by tinyq's quantizer) run the
// portable code. Same bytes either way. TFLite's rounding: with TFLite's own parameters (one
// input's multiplier exactly 1/2) a table of the other input's rescale, built per call, scalar
// on the DSP path and 4 lanes per step on Helium (elementwise_arm_tflite.cpp); otherwise, and
// on the host, the portable code (each input rescale one 64-bit multiply-accumulate).
// subtract = 1 is TFLite's int8 SUB (sub.h SubElementwise): the same with the rescaled b term
// subtracted instead of added. It is not a negated b multiplier: TFLite's roundings are not
// symmetric, so -requantize_tflite(x, M, S) and requantize_tflite(x, -M, S) differ on ties.
void add_s8(const AddParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output);
// The same sum with int16 tensors among its operands and output (`*_bits` 8 or 16; an int16
// tensor is symmetric: offset 0; act_min/act_max in the output's steps), tinyq's rounding.
// The host keeps left_shift <= 15 here, so that |q| * 2^left_shift <= 2^30 for an int16
// operand (and 255 * 2^15 for an int8 one) and the rescaled sum stays within int32. One
// portable loop for every path (the 16x8 scheme: a residual add).
void add_wide(const AddParams& p, const BroadcastShape& s, const void* a, int32_t a_bits, const void* b, int32_t b_bits,
              void* output, int32_t output_bits);

struct MulParams {
  int32_t a_offset, b_offset, output_offset;
  int32_t output_multiplier, output_shift;  // s_a * s_b / s_out
  int32_t act_min, act_max;
  int32_t rounding = kRoundSingle;  // kRoundTflite: requantize_tflite, TFLite's int8 MUL (mul.h)
};
// out = clamp(output_offset + requantize((a + a_offset) * (b + b_offset), out_m, out_s), act_min, act_max)
// TFLite's rounding runs the portable code on every path.
void mul_s8(const MulParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output);
// The same product with int16 tensors among its operands and output (`*_bits` 8 or 16; an
// int16 tensor is symmetric: its offset is 0; act_min/act_max in the output's steps),
// tinyq's rounding: |(a + a_offset) * (b + b_offset)| <= 2^30, exact in int32. One portable
// loop for every path (the 16x8 scheme: a squeeze-excitation gate on an int16 activation).
void mul_wide(const MulParams& p, const BroadcastShape& s, const void* a, int32_t a_bits, const void* b, int32_t b_bits,
              void* output, int32_t output_bits);

// Matrix product of two activations (attention: Q x K^T, scores x V), per-tensor affine
// operands and output: per batch b, A [m, k] x B [k, n] -> output [m, n], all row-major, the
// batches one after another. A batch stride of 0 shares one matrix across every batch (ONNX
// batch broadcasting of a size-1 batch).
struct MatMulParams {
  int32_t batch;                           // output matrices
  int32_t m, k, n;                         // A [m, k], B [k, n], output [m, n]
  int32_t a_batch_stride, b_batch_stride;  // elements between matrices: m * k (k * n), or 0
  int32_t a_offset, b_offset, output_offset;
  int32_t output_multiplier, output_shift;  // s_a * s_b / s_out
  int32_t act_min, act_max;
};
// out[b, i, j] = clamp(output_offset + requantize(acc, out_m, out_s), act_min, act_max),
// acc = sum over t of (A[b, i, t] + a_offset) * (B[b, t, j] + b_offset). Each product is at
// most 255 * 255 in magnitude; the host keeps k * 255 * 255 within int32 (k <= 33025), so acc
// is exact. One portable path on every target (src/matmul.cpp).
void matmul_s8(const MatMulParams& p, const int8_t* a, const int8_t* b, int8_t* output);

// Recurrent layers (ONNX LSTM, GRU, RNN with tanh) over a whole sequence: int8 input and
// output, int8 weights, and an integer state finer than int8, so that the quantization error
// of a step does not compound over the sequence (CMSIS-NN's s16 LSTM and TFLite's 16x8 LSTM
// keep 16-bit states for the same reason). Fixed-point formats:
//   gate pre-activations  Q12 in int32 (2^-12 per unit), clamped to +-2^27
//   gates, hidden state h Q15 (sigma in [0, 32768], tanh and h in [-32767, 32767])
//   LSTM cell state c     Q20 in int32 (range +-2048, resolution 1e-6: no calibration needed)
// Per step t, direction d, batch row n, gate row j of G*H (ONNX order: LSTM i,o,f,c; GRU
// z,r,h; RNN one):
//   x_j = requantize(bias_x[j] + sum_i w[j, i] * (x[t, n, i] + input_offset), x_requant[j])
//   h_j = requantize(bias_h[j] + sum_k r[j, k] * h_prev[k], h_requant[j])
// both Q12, each clamped to +-2^27. sigma and tanh come from one 513-entry table of
// round(32768 * sigma(v)), v = -16 + k/16, linearly interpolated (tanh(v) = 2 sigma(2v) - 1).
//   LSTM: i = sigma(x_i + h_i + p_i c), f = sigma(x_f + h_f + p_f c), g = tanh(x_c + h_c),
//         c' = (f c + (i g) 2^5) / 2^15 (one rounding), o = sigma(x_o + h_o + p_o c'),
//         h' = o tanh(c') / 2^15. Peepholes p (null: none) are Q16; p c is brought to Q12.
//   GRU:  z = sigma(x_z + h_z), r = sigma(x_r + h_r); candidate n = tanh(x_h + r h_h / 2^15)
//         with linear_before_reset (h_h holds R_h h + Rb_h), else tanh(x_h + h'_h) where h'_h
//         is the recurrent projection of (r h_prev / 2^15); h' = ((2^15 - z) n + z h) / 2^15.
//   RNN:  h' = tanh(x + h); with `relu`, h' = clamp(x + h, 0, 32767), where h has its own
//         scale s_h (calibrated; Relu bounds nothing) instead of Q15 and the two projections'
//         multipliers bring x and h to s_h units instead of Q12.
// Every "/ 2^k" rounds half up. Outputs: kRecurrentY writes every step's h, [T, D, N, H];
// kRecurrentYh the last h, kRecurrentYc the last c, [D, N, H]; each as
// clamp(output_offset + requantize(state, output_multiplier, output_shift), -128, 127).
// Host guarantees: |bias_x| + 255 * sum |w[j]| and |bias_h| + 32767 * sum |r[j]| fit int32,
// requantized values fit int32 (multipliers above 1 included), hidden <= 2^15.
enum : int32_t { kCellLstm = 0, kCellGru = 1, kCellRnn = 2 };
enum : int32_t { kRecurrentY = 0, kRecurrentYh = 1, kRecurrentYc = 2 };
struct RecurrentParams {
  int32_t cell;  // kCellLstm, kCellGru or kCellRnn (tanh)
  int32_t steps, batch, input, hidden, directions;
  int32_t reverse;  // one direction, run from the last step to the first (ONNX "reverse")
  int32_t linear_before_reset;
  int32_t output;  // kRecurrentY, kRecurrentYh or kRecurrentYc
  int32_t input_offset, output_offset;
  int32_t output_multiplier, output_shift;  // from Q15 h (Q20 c for kRecurrentYc) to the output
  const int32_t* bias_x;                    // [D, G*H], units of s_w[j] * s_x
  const int32_t* bias_h;                    // [D, G*H], units of s_r[j] * 2^-15
  Requant x_requant;                        // [D, G*H]: s_w[j] * s_x / 2^-12
  Requant h_requant;                        // [D, G*H]: s_r[j] * 2^-15 / 2^-12
  const int32_t* peephole;                  // LSTM [D, 3H] (i, o, f), Q16, or null
  const int32_t* initial_h;                 // [D, N, H] Q15, or null for zeros
  const int32_t* initial_c;                 // LSTM [D, N, H] Q20, or null for zeros
  int32_t cell_clip;                        // LSTM: > 0 clamps c to [-cell_clip, cell_clip] (Q20)
  int32_t relu;                             // RNN: h' = clamp(x + h, 0, 32767) instead of tanh
};
// x [T, N, I] (time-major), w [D, G*H, I], r [D, G*H, H]. `scratch` holds
// recurrent_s8_scratch_bytes(p) bytes, 4-byte aligned: one row's gates and state, and the
// vector being projected as int16. Native paths: DSP, two SMLAD per 4 weights (the vector
// packed in SXTB16's pair order); elsewhere the portable one.
void recurrent_s8(const RecurrentParams& p, const int8_t* x, const int8_t* w, const int8_t* r, int8_t* output,
                  int32_t* scratch);
constexpr int32_t recurrent_gate_count(int32_t cell) { return cell == kCellLstm ? 4 : (cell == kCellGru ? 3 : 1); }
// Streaming (generate --streaming): recurrent_s8 over p.steps frames (one per call) starting
// from `state` instead of the initial states, and writing the final state back: h [D, N, H]
// in Q15, then c [D, N, H] in Q20 (recurrent_s8_state_words(p) int32 words, kept between
// calls; a reset loads the initial states). A sequence fed one frame per call gives the
// bytes recurrent_s8 gives on the whole sequence.
void recurrent_s8_step(const RecurrentParams& p, const int8_t* x, const int8_t* w, const int8_t* r, int8_t* output,
                       int32_t* state, int32_t* scratch);
constexpr size_t recurrent_s8_state_words(const RecurrentParams& p) {
  return 2 * static_cast<size_t>(p.directions) * static_cast<size_t>(p.batch) * static_cast<size_t>(p.hidden);
}
constexpr size_t recurrent_s8_scratch_bytes(const RecurrentParams& p) {
  // x and h projections (G*H each), then c, h and GRU's r and r*h (H each), then the packed
  // int16 vector (input or state, rounded up to 4 elements).
  const size_t hidden = static_cast<size_t>(p.hidden), input = static_cast<size_t>(p.input);
  const size_t vector = ((input > hidden ? input : hidden) + 3) / 4 * 4;
  return (2 * static_cast<size_t>(recurrent_gate_count(p.cell)) + 4) * hidden * sizeof(int32_t) +
         vector * sizeof(int16_t);
}

// Concatenation along one axis: each input is `outer` rows of `input_row[i]` elements; the
// output row is their sum. Inputs whose quantization equals the output's are copied;
// others are requantized: q_out = output_offset + requantize(q + input_offset[i], M[i], S[i]),
// saturated to [-128, 127].
struct ConcatParams {
  int32_t inputs;
  int32_t outer;
  const int32_t* input_row;
  const int32_t* input_offset;
  const int32_t* multiplier;  // 0 marks "same quantization: copy"
  const int32_t* shift;
  int32_t output_offset;
};
void concat_s8(const ConcatParams& p, const int8_t* const* inputs, int8_t* output);

// Constant padding of a 4-D NHWC tensor with `value` (the quantized real 0, normally the
// zero point). pads: top, left, bottom, right on H and W; begin/end on C and N unsupported.
struct PadParams {
  int32_t batch, in_h, in_w, channels;
  int32_t pad_top, pad_left, pad_bottom, pad_right;
  int8_t value;
};
void pad_s8(const PadParams& p, const int8_t* input, int8_t* output);

// Nearest-neighbour resize, NHWC: source row/column index for each output row/column is
// precomputed on the host.
struct ResizeParams {
  int32_t batch, in_h, in_w, channels, out_h, out_w;
  const int32_t* source_y;  // [out_h]
  const int32_t* source_x;  // [out_w]
};
void resize_nearest_s8(const ResizeParams& p, const int8_t* input, int8_t* output);

// Bilinear resize, NHWC, output quantized like the input (a weighted mean of input values
// stays in their range). Per output row, two source rows y_index[2*oy], y_index[2*oy+1] with
// Q10 weights y_weight[2*oy], y_weight[2*oy+1] (each in [0, 1024], summing to 1024); columns
// likewise. Output = (sum of the four wy*wx*q + 2^19) >> 20, clamped to [-128, 127]:
// |accumulator| <= 128 * 2^20 = 2^27. Any ONNX coordinate mode is the host's business; a
// tf_crop_and_resize point outside the input has index -1 in its first row or column entry
// and gets `extrapolation` (the quantized extrapolation_value).
struct ResizeBilinearParams {
  int32_t batch, in_h, in_w, channels, out_h, out_w;
  const int32_t* y_index;   // [2 * out_h], in [0, in_h) (or -1 first)
  const int32_t* y_weight;  // [2 * out_h]
  const int32_t* x_index;   // [2 * out_w], in [0, in_w) (or -1 first)
  const int32_t* x_weight;  // [2 * out_w]
  int8_t extrapolation;
};
void resize_bilinear_s8(const ResizeBilinearParams& p, const int8_t* input, int8_t* output);

// Strided copy: Slice, Gather with constant indices and Transpose (data movement, so the
// output keeps the input's scale and zero point). Output element (i_0, ..., i_{rank-1}),
// row-major over `shape`, is
//   input[offset + sum over d of (d == index_axis ? index[i_d] : i_d * stride[d])].
// Strides may be negative or 0. The host merges axes that are contiguous in the input and
// guarantees every position lies inside the input (checked when a .tqm loads), 1 <= rank <=
// kMaxCopyRank. Runs along the last axis are one byte copy when its stride is 1.
// One path on every target; the byte copies use Helium where present (byte_copy.hpp).
constexpr int32_t kMaxCopyRank = 6;
struct StridedCopyParams {
  int32_t rank;
  const int32_t* shape;   // [rank] output dims
  const int32_t* stride;  // [rank] input step per output axis (ignored on index_axis)
  int32_t offset;         // input position of the first output element
  int32_t index_axis;     // -1, or the axis whose input offsets come from `index`
  const int32_t* index;   // [shape[index_axis]] input offsets along index_axis, or nullptr
};
void strided_copy_s8(const StridedCopyParams& p, const int8_t* input, int8_t* output);

// Any unary op with one input and output quantization: out = table[in + 128].
// Helium: 16 table reads per byte gather; elsewhere one load per element.
void lookup_s8(const int8_t* table, const int8_t* input, int8_t* output, int32_t count);
// The same for an int16 input and output (the 16x8 scheme): a table of kLookup16Entries values
// at inputs -32768 + 128 k, linearly interpolated between neighbours: with u = x + 32768,
// out = t[u >> 7] + (((t[(u >> 7) + 1] - t[u >> 7]) * (u & 127) + 64) >> 7) (TFLite's int16
// LUT form). One portable loop for every path.
constexpr int32_t kLookup16Entries = 513;
void lookup_s16(const int16_t* table, const int16_t* input, int16_t* output, int32_t count);

// Softmax over the last axis (`depth` values per row). exp_table[d] = round(2^16 * exp(-s_in * d))
// for d = max - q in 0..255, computed on the host. Output scale 1/256, zero point -128.
// Exactly, per row (all unsigned 32-bit integer arithmetic):
//   m = max(q);  e_i = exp_table[m - q_i];  sum = sum of e_i
//   out_i = clamp((e_i * 256 + sum / 2) / sum - 128, -128, 127)     (C integer division)
// i.e. round(256 * e_i / sum) with ties rounded up (sum / 2 is exact for an even sum; for
// an odd sum 256 * e_i / sum can never be a tie). Host guarantees: 0 <= exp_table[d] <= 2^16
// and exp_table[0] > 0 (so sum > 0), depth <= 65535 (so sum < 2^32 and
// e_i * 256 + sum / 2 < 2^24 + 2^31): no 64-bit arithmetic on the MCU. A row whose only
// contributor is itself gives 256 - 128, saturated to 127.
// One path everywhere: a few instructions per element (UDIV is one instruction).
void softmax_s8(const int32_t* exp_table, int32_t rows, int32_t depth, const int8_t* input, int8_t* output);

// TFLite's int8 softmax, bit for bit (its reference kernel and CMSIS-NN's arm_softmax_s8: the
// gemmlowp fixed-point recipe, tinyq/tflite_fixedpoint.hpp). Output scale 1/256, zero point
// -128. For int8 inputs every per-element quantity of that recipe depends only on the
// difference d = max - q in [0, 255], so the host precomputes
//   exp_table[d] = exp_on_negative_values(SRDHM(-d * 2^input_left_shift, input_multiplier))
// (Q0.31; 0 where -d < diff_min, which the recipe skips: such an element then adds 0 and
// outputs -128 either way). Per row:
//   m = max(q);  sum = sum of RoundingDivideByPOT(exp_table[m - q_i], 12)   (Q12.19)
//   scale = reciprocal(sum, 12, &bits)                                      (Q0.31)
//   out_i = clamp(RoundingDivideByPOT(SRDHM(scale, exp_table[m - q_i]), bits + 23) - 128)
// Host guarantees: 0 <= exp_table[d] <= 2^31 - 1, exp_table[0] = 2^31 - 1 (exp(0)), and
// 1 <= depth <= 511, so that 2^19 <= sum < 2^28 and the exponent bits + 23 lies in [23, 31].
// One path everywhere (per element: a table load, a multiply and a rounding shift).
void softmax_s8_tflite(const int32_t* exp_table, int32_t rows, int32_t depth, const int8_t* input, int8_t* output);

// Per-channel PReLU / leaky ReLU (channels on the last axis):
// q_out = output_offset + requantize(q + input_offset, x >= z_in ? pos : neg[c]),
// clamped to [act_min, act_max]; x >= z_in means q + input_offset >= 0. Negative slopes are
// negative multipliers.
struct PreluParams {
  int32_t outer, channels;
  int32_t input_offset, output_offset;
  int32_t positive_multiplier, positive_shift;
  Requant negative;  // per channel or per tensor
  int32_t act_min, act_max;
};
void prelu_s8(const PreluParams& p, const int8_t* input, int8_t* output);

// Layer normalisation over the last axis (`depth` values per row), integer only and exact as
// written here (the host int8 executor and the MCU run this very code). Per row of int8 q_i,
// N = depth, all sums exact (the zero point cancels, so there is no input offset):
//   S1 = sum q_i,  S2 = sum q_i^2,  V = N * S2 - S1^2        (= N^2 * variance, in q units)
//   D  = V * 2^16 + epsilon_q                                 (int64; 2^16 keeps epsilon's fraction)
//   a_i = N * q_i - S1                                        (= N * (q_i - mean))
// The real normalised value is (q_i - mean) / sqrt(var + eps / s_in^2) = 2^8 * a_i / sqrt(D).
// 2^23 / sqrt(D) is a per-row multiplier R * 2^(k - 37):
//   k  = the smallest integer >= 0 with D * 4^k >= 2^60          (D' = D * 4^k in [2^60, 2^62))
//   s  = floor(sqrt(D'))                                          (in [2^30, 2^31), bit by bit)
//   R  = (2^60 + s / 2) / s                                       (round(2^60 / s), in (2^29, 2^30])
//   y_i = requantize(a_i, R, k - 6)       (= round(2^15 * normalised), "normalised_q15")
// If D == 0 (a constant row and epsilon_q == 0) every y_i is 0. Then gamma and beta:
//   t_i = requantize_channel(y_i, gamma, i)   (gamma_i / (2^7 * s_out): output units * 2^8)
//   out_i = clamp(output_offset + ((t_i + beta_q[i] + 128) >> 8), act_min, act_max)
// with the last sum in int64 and >> an arithmetic (floor) shift, i.e. one final rounding,
// half up, of gamma * normalised + beta carried with 8 fraction bits: beta is not rounded to
// a whole output LSB first. Host guarantees (so every step fits its type):
//   1 <= depth <= 2^15 (S2 < 2^29, V * 2^16 < 2^60, |a_i| < 2^23),
//   0 <= epsilon_q <= 2^61 (so D < 2^62), epsilon_q = round(2^16 * N^2 * eps / s_in^2),
//   t_i fits int32 (requantize's precondition): |t_i| is about 2^8 * |gamma_i| * |normalised| / s_out
//   and |normalised| <= sqrt(N - 1), so |gamma_i| * sqrt(N) * 2^8 / s_out < 2^30 is ample.
struct LayerNormParams {
  int32_t rows, depth;
  int64_t epsilon_q;      // round(2^16 * depth^2 * epsilon / s_in^2), in [0, 2^61]
  Requant gamma;          // gamma_i * 2^-7 / s_out, per element (count == depth) or per tensor
                          // (count == 1); negative gamma = negative multiplier, 0 allowed
  const int32_t* beta_q;  // round(2^8 * beta_i / s_out) per element, or null for beta = 0
  int32_t output_offset;
  int32_t act_min, act_max;
};
void layer_norm_s8(const LayerNormParams& p, const int8_t* input, int8_t* output);

// Patch-based inference of a model's first layers (generate --patch; MCUNetV2, Lin et al.
// 2021, with horizontal strips one row high and no recomputation): a chain of layers runs
// row by row, each output row computed as soon as the rows it reads exist, so a layer's
// input is never whole in memory: it keeps only the rows its next output row reads. Only
// the stage's last output is stored whole (it is what the next, layer-by-layer part reads).
// The layers' kernels are the usual ones, called on a window of rows with out_h = 1, so the
// result is byte for byte the layer-by-layer one.
struct RowStageLayer {
  int32_t in_rows, out_rows;  // the layer's input and output heights
  // Output row q reads input rows [q * stride - pad, q * stride - pad + window) (those inside
  // [0, in_rows); the host checks that every window holds at least one).
  int32_t window, stride, pad;
  int32_t row_bytes;  // one input row
  // Output rows computed per call (narrow rows: the kernels' set-up and pixel blocks are
  // shared by several rows).
  int32_t group;
  // The input rows held: room for min(in_rows, window + (group - 1) * stride + g - 1) rows,
  // g the previous layer's group (1 for the input).
  int8_t* rows;
  // Computes `out_rows` output rows into `out` from `count` rows at `first`, the first
  // window starting `pad_top` rows above `first` (padding).
  void (*run)(const int8_t* first, int32_t count, int32_t pad_top, int32_t out_rows, int8_t* out);
};
// Fills `count` rows of the stage's input, starting at row `first_row`, into `rows`. Called
// with increasing rows, each at most once (rows no window reads are skipped).
typedef void (*RowStageReader)(int8_t* rows, int32_t first_row, int32_t count);
// Runs the stage: layers[0] reads the input through `read`, layers[k] reads layers[k - 1]'s
// rows, and the last layer's output rows go to `output` (output_row_bytes apart). `state`:
// 2 * count words of bookkeeping.
void row_stage_s8(const RowStageLayer* layers, int32_t count, int32_t* state, RowStageReader read, int8_t* output,
                  int32_t output_row_bytes);

// ---- Dispatch: which variant runs a layer ----
// int16 activations with int8 weights ("16x8", CMSIS-NN's s16 kernels and TFLite's 16x8
// mode), for the layers a model cannot hold at int8 (docs/QUANTIZATION.md, "int16 where int8
// cannot hold"). An int16 tensor is symmetric (zero point 0). Either side of a wide layer may
// be int8 instead, where an int16 region starts or ends: `input_bits` and `output_bits` are 8
// or 16. ConvParams / DenseParams mean what they mean for the int8 kernels, with act_min and
// act_max in the output's own range (int16: within [-32768, 32767]) and input_offset 0 for an
// int16 input. The accumulator is int64 (bias + sum of (in + input_offset) * w; the host
// bounds |acc| < 2^47) and is requantized by requantize_wide(), tinyq's single rounding. No
// scratch; one portable source on every path, but native forms at -O3 on the DSP (SMLALD) and
// Helium (VMLALDAVA) paths, the same bytes: dense and conv (groups 1) with an int16 or int8
// input, depthwise (channel multiplier 1) with an int16 input (wide.cpp).
//
// requantize() on an int64 accumulator: floor(acc * multiplier / 2^(31 - shift) + 1/2),
// exactly, for |acc| < 2^47 and shift <= 15 (the host guarantees both). acc = hi * 2^16 + lo
// with 0 <= lo < 2^16, so acc * multiplier = (hi * multiplier) * 2^16 + lo * multiplier; the
// low part and the rounding term are folded into the high one first, and since nested floor
// divisions by powers of two are one floor division, the result is exact. No term exceeds
// 2^62.
inline int32_t requantize_wide(int64_t acc, int32_t multiplier, int32_t shift) {
  const int32_t total_shift = 31 - shift;  // in [16, 62]
  const int64_t hi = acc >> 16;
  const int64_t lo = acc & 0xFFFF;
  const int64_t low_part = lo * multiplier + (static_cast<int64_t>(1) << (total_shift - 1));
  return static_cast<int32_t>((hi * multiplier + (low_part >> 16)) >> (total_shift - 16));
}
void conv2d_wide(const ConvParams& p, const void* input, int32_t input_bits, const int8_t* weights, const int32_t* bias,
                 void* output, int32_t output_bits);
// The portable loop conv2d_wide runs where no native form applies: for tests, the same bytes.
void conv2d_wide_portable(const ConvParams& p, const void* input, int32_t input_bits, const int8_t* weights,
                          const int32_t* bias, void* output, int32_t output_bits);
// Max pooling of an int16 tensor, as max_pool2d_s8 (padding never wins; act_min/act_max in
// int16 steps).
void max_pool2d_s16(const PoolParams& p, const int16_t* input, int16_t* output);
// Average pooling of an int16 tensor into an int16 one, as avg_pool2d_s8's tinyq rounding
// (the divisor folded into count_multiplier / count_shift per tap count, offsets 0: int16
// tensors are symmetric; act_min/act_max in int16 steps). At most 65,535 taps per window, so
// that the int32 sum cannot overflow (the .tqm validator checks it). One portable loop for
// every path.
void avg_pool2d_s16(const AvgPoolParams& p, const int16_t* input, int16_t* output);
void depthwise_conv2d_wide(const ConvParams& p, const void* input, int32_t input_bits, const int8_t* weights,
                           const int32_t* bias, void* output, int32_t output_bits);
// The portable loop depthwise_conv2d_wide runs where no native form applies: for tests, the
// same bytes.
void depthwise_conv2d_wide_portable(const ConvParams& p, const void* input, int32_t input_bits, const int8_t* weights,
                                    const int32_t* bias, void* output, int32_t output_bits);
void dense_wide(const DenseParams& p, const void* input, int32_t input_bits, const int8_t* weights, const int32_t* bias,
                void* output, int32_t output_bits);
// The portable loop dense_wide runs where no native form applies (int16 inputs on the DSP path
// have one): for tests, the same bytes.
void dense_wide_portable(const DenseParams& p, const void* input, int32_t input_bits, const int8_t* weights,
                         const int32_t* bias, void* output, int32_t output_bits);

// One tensor from one format into another (int8 <-> int16, or a scale change), where an int16
// region meets a layer that reads int8:
//   out = clamp(output_offset + requantize(in + input_offset, multiplier, shift), out's range)
// with |in + input_offset| < 2^17, so requantize()'s int32 accumulator holds it.
struct RequantizeParams {
  int32_t count;
  int32_t input_bits, output_bits;  // 8 or 16
  int32_t input_offset, output_offset;
  int32_t multiplier, shift;
};
void requantize_tensor(const RequantizeParams& p, const void* input, void* output);

// concat_s8 where an input or the output is int16 (an int16 region passing through a concat to
// the 16x8 layers reading it): input i has input_bits[i] (8 or 16) and the output output_bits;
// ConcatParams as for concat_s8, a copy (multiplier 0) only between tensors of one format, and
// each requantized value saturated to the output's range. |q + input_offset| < 2^17, so
// requantize()'s int32 accumulator holds it; the host bounds the shift (<= 14) so that the
// result fits int32. One portable loop on every path.
void concat_wide(const ConcatParams& p, const void* const* inputs, const int32_t* input_bits, void* output,
                 int32_t output_bits);

// conv2d_s8 and depthwise_conv2d_s8 choose a variant from the layer's parameters. They are
// inline so that generated code, whose parameters are constants, keeps only the variant each
// layer runs: out of line, a -Os build kept every variant of the path (KWS: 20.4 KB of
// runtime code instead of 14.4 KB). The variants are declared here for that reason only;
// callers use conv2d_s8 and depthwise_conv2d_s8.
void conv2d_s8_portable(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                        int8_t* output, int16_t* scratch);
void depthwise_conv2d_s8_portable(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                                  int8_t* output);
// How depthwise_conv2d_s8 runs a layer on the DSP path (tests and
// bench/kernel_variants name the variant through this function, so that they cannot drift).
// Rows*: taps of two kernel rows paired into SMLAD operands, weights re-laid out per call into
// a stack buffer of kDepthwiseRowsGroupWords words per 4 channels at most
// (depthwise_arm_dsp_rows.cpp); Multiplier: the same loops over a patch per window in which
// each input channel is repeated for its output channels; Window: the valid taps one by one
// (multiplier 1 with fewer than 4 channels or kernels too large for that buffer); Portable:
// the rest (multipliers above 1 on such shapes); Column: k x 1 kernels with multiplier 1 and
// every window inside the image (depthwise_arm_dsp_column.cpp: the row pairs without a column
// loop, the requantization in the same assembly).
enum class DepthwiseDspVariant : int32_t { Portable, Window, Rows, Rows3x3, Multiplier, Column };
constexpr int32_t kDepthwiseRowsGroupWords = 64;
// Words per 4 channels: 4 start values, then per kernel column 4 per row pair and 2 for an odd
// last row.
TINYQ_DISPATCH_INLINE constexpr int32_t depthwise_rows_group_words(const ConvParams& p) {
  return 4 + p.kernel_w * (4 * (p.kernel_h / 2) + 2 * (p.kernel_h % 2));
}
TINYQ_DISPATCH_INLINE constexpr DepthwiseDspVariant depthwise_dsp_variant(const ConvParams& p) {
  // The input offset must be minus an int8 zero point: padded taps of edge windows are
  // copied in as that byte (always so for input_offset = -zero_point).
  if (p.input_offset < -127 || p.input_offset > 128) return DepthwiseDspVariant::Portable;
  const bool rows =
      p.out_c >= 4 && p.kernel_h <= 32 && p.kernel_w <= 32 && depthwise_rows_group_words(p) <= kDepthwiseRowsGroupWords;
  if (p.out_c != p.in_c) return rows ? DepthwiseDspVariant::Multiplier : DepthwiseDspVariant::Portable;
  const bool column = p.out_c >= 4 && p.kernel_w == 1 && p.kernel_h >= 2 && p.kernel_h <= 32 && p.pad_top == 0 &&
                      p.pad_left == 0 && (p.out_h - 1) * p.stride_h + (p.kernel_h - 1) * p.dilation_h < p.in_h &&
                      (p.out_w - 1) * p.stride_w < p.in_w;
  if (column) return DepthwiseDspVariant::Column;
  if (!rows) return DepthwiseDspVariant::Window;
  return p.kernel_h == 3 && p.kernel_w == 3 ? DepthwiseDspVariant::Rows3x3 : DepthwiseDspVariant::Rows;
}

#if defined(TINYQ_PATH_ARM_DSP)
void conv2d_s8_dsp_pointwise(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                             int8_t* output, int16_t* scratch);
void conv2d_s8_dsp_general(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                           int8_t* output, int16_t* scratch);
// Rows, Rows3x3 and Multiplier (depthwise_arm_dsp_rows.cpp), Column
// (depthwise_arm_dsp_column.cpp), Window (depthwise_arm_dsp.cpp).
void depthwise_rows_dsp(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                        int8_t* output);
void depthwise_column_dsp(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                          int8_t* output);
void depthwise_window_dsp(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                          int8_t* output);
#endif
// Helium depthwise: calls of at most this many output pixels (a streaming step's) run each
// pixel's valid taps directly (depthwise_arm_mve.cpp, depthwise_few), others in blocks of 16
// channels.
constexpr int32_t kDepthwiseMveFewPixels = 2;
TINYQ_DISPATCH_INLINE constexpr bool depthwise_mve_few_pixels(const ConvParams& p) {
  return p.batch * p.out_h * p.out_w <= kDepthwiseMveFewPixels && p.out_c == p.in_c;
}
// Helium depthwise: a k x 1 window down a one-column image runs as a 1 x k window along a
// one-row image (the same bytes), one run of pixels per block of channels.
TINYQ_DISPATCH_INLINE constexpr bool depthwise_mve_column(const ConvParams& p) {
  return p.in_w == 1 && p.out_w == 1 && p.kernel_w == 1 && p.pad_left == 0 && p.in_h > 1;
}
// Helium depthwise over one line of pixels (a one-row image, or a one-column one:
// depthwise_mve_column), channel multiplier 1, stride 1 along the line, a window spanning at
// most kDepthwiseMveLineSpan inputs, 8 to 8191 channels (outputs 7 C apart in 16-bit scatter
// offsets), an input zero point in int8 (the padding): each channel's inputs are copied into a line of their own, so
// that one VMLADAV takes all the taps of an output (depthwise_arm_mve_line.cpp). Layers whose requantization has no
// vector form run depthwise_mve_blocks' code instead.
constexpr int32_t kDepthwiseMveLineSpan = 15;
TINYQ_DISPATCH_INLINE constexpr bool depthwise_mve_line(const ConvParams& p) {
  const bool column = depthwise_mve_column(p);
  const bool row = p.in_h == 1 && p.out_h == 1 && p.kernel_h == 1 && p.pad_top == 0;
  const int32_t taps = column ? p.kernel_h : p.kernel_w;
  const int32_t dilation = column ? p.dilation_h : p.dilation_w;
  const int32_t stride = column ? p.stride_h : p.stride_w;
  return (column || row) && p.out_c == p.in_c && p.out_c >= 8 && p.out_c <= 8191 && stride == 1 &&
         (taps - 1) * dilation + 1 <= kDepthwiseMveLineSpan && p.input_offset >= -127 && p.input_offset <= 128;
}
#if defined(TINYQ_PATH_ARM_MVE)
void conv2d_s8_mve_pointwise(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                             int8_t* output, int16_t* scratch);
void conv2d_s8_mve_general(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                           int8_t* output, int16_t* scratch);
void depthwise_mve_blocks(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                          int8_t* output);
void depthwise_mve_few(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                       int8_t* output);
#endif

TINYQ_DISPATCH_INLINE inline void conv2d_s8(const ConvParams& p, const int8_t* input, const int8_t* weights,
                                            const int32_t* bias, int8_t* output, int16_t* scratch) {
#if defined(TINYQ_PATH_ARM_DSP)
  switch (conv2d_s8_variant(p, KernelPath::ArmDsp)) {
    case ConvVariant::DspPointwise: return conv2d_s8_dsp_pointwise(p, input, weights, bias, output, scratch);
    case ConvVariant::DspGeneral: return conv2d_s8_dsp_general(p, input, weights, bias, output, scratch);
    default: return conv2d_s8_portable(p, input, weights, bias, output, scratch);
  }
#elif defined(TINYQ_PATH_ARM_MVE)
  switch (conv2d_s8_variant(p, KernelPath::ArmMve)) {
    case ConvVariant::MvePointwise: return conv2d_s8_mve_pointwise(p, input, weights, bias, output, scratch);
    case ConvVariant::MveGeneral: return conv2d_s8_mve_general(p, input, weights, bias, output, scratch);
    default: return conv2d_s8_portable(p, input, weights, bias, output, scratch);
  }
#else
  conv2d_s8_portable(p, input, weights, bias, output, scratch);
#endif
}

TINYQ_DISPATCH_INLINE inline void depthwise_conv2d_s8(const ConvParams& p, const int8_t* input, const int8_t* weights,
                                                      const int32_t* bias, int8_t* output) {
#if defined(TINYQ_PATH_ARM_DSP)
  switch (depthwise_dsp_variant(p)) {
    case DepthwiseDspVariant::Rows:
    case DepthwiseDspVariant::Rows3x3:
    case DepthwiseDspVariant::Multiplier: return depthwise_rows_dsp(p, input, weights, bias, output);
    case DepthwiseDspVariant::Column: return depthwise_column_dsp(p, input, weights, bias, output);
    case DepthwiseDspVariant::Window: return depthwise_window_dsp(p, input, weights, bias, output);
    case DepthwiseDspVariant::Portable: break;
  }
  depthwise_conv2d_s8_portable(p, input, weights, bias, output);
#elif defined(TINYQ_PATH_ARM_MVE)
  if (depthwise_mve_few_pixels(p)) return depthwise_mve_few(p, input, weights, bias, output);
  depthwise_mve_blocks(p, input, weights, bias, output);
#else
  depthwise_conv2d_s8_portable(p, input, weights, bias, output);
#endif
}

}  // namespace rt
}  // namespace tinyq

#endif
