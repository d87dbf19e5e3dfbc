// tinyq runtime: int8 kernels. One implementation per op, called both by the host int8
// executor and by generated MCU code, so their results are bit-identical by construction.
//
// Conventions (DESIGN.md, "Quantization conventions"):
//  - activations int8, real = scale * (q - zero_point); tensors NHWC, batch-major;
//  - weights int8 symmetric per output channel; bias int32 with scale s_in * s_w[c];
//  - `input_offset` is minus the input zero point (added to every input value, as in
//    CMSIS-NN), `output_offset` the output zero point; act_min/act_max clamp the result in
//    the output's int8 domain (a fused ReLU/ReLU6 costs nothing);
//  - the power-of-two scheme is the special case of zero offsets and power-of-two
//    multipliers (multiplier 2^30, shift = 1 - right_shift).
// Every parameter is checked on the host when the model is generated: kernels never fail.
#ifndef TINYQ_KERNELS_HPP
#define TINYQ_KERNELS_HPP

#include <stddef.h>
#include <stdint.h>

#include "tinyq/requantize.hpp"

namespace tinyq {
namespace rt {

struct ConvParams {
  int32_t batch;
  int32_t in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t kernel_h, kernel_w;
  int32_t stride_h, stride_w;
  int32_t dilation_h, dilation_w;
  int32_t pad_top, pad_left;  // padded taps contribute real 0, i.e. are skipped
  int32_t groups;             // out_c and in_c divisible by groups
  int32_t input_offset;       // -input zero point
  int32_t output_offset;      // output zero point
  int32_t act_min, act_max;   // output clamp, within [-128, 127]
  Requant requant;            // per output channel
};
// weights [out_c, kernel_h, kernel_w, in_c/groups]; bias [out_c] or null.
void conv2d_s8(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
               int8_t* output);
// Depthwise: groups == in_c, out_c = in_c * multiplier; weights [1, kernel_h, kernel_w, out_c]
// (CMSIS-NN / TFLite depthwise layout: output channel o = c * multiplier + m).
void depthwise_conv2d_s8(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                         int8_t* output);

struct DenseParams {
  int32_t rows;  // independent input vectors
  int32_t in_features, out_features;
  int32_t input_offset, output_offset;
  int32_t act_min, act_max;
  Requant requant;  // per output feature
};
// weights [out_features, in_features]; bias [out_features] or null.
void dense_s8(const DenseParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
              int8_t* output);

struct PoolParams {
  int32_t batch;
  int32_t in_h, in_w, channels;
  int32_t out_h, out_w;
  int32_t kernel_h, kernel_w;
  int32_t stride_h, stride_w;
  int32_t pad_top, pad_left, pad_bottom, pad_right;
  int32_t act_min, act_max;
};
// Max pooling keeps the input's quantization; padding never wins.
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
  // scale in and out; count_multiplier is then unused.
  int32_t truncate;
};
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
};
// out = output_offset + requantize(requantize((a + a_offset) << left_shift, a_m, a_s) +
//                                  requantize((b + b_offset) << left_shift, b_m, b_s), out_m, out_s)
void add_s8(const AddParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output);

struct MulParams {
  int32_t a_offset, b_offset, output_offset;
  int32_t output_multiplier, output_shift;  // s_a * s_b / s_out
  int32_t act_min, act_max;
};
void mul_s8(const MulParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output);

// Concatenation along one axis: each input is `outer` rows of `input_row[i]` elements; the
// output row is their sum. Inputs whose quantization equals the output's are copied;
// others are requantized: q_out = output_offset + requantize(q + input_offset[i], M[i], S[i]).
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

// Any unary op with one input and output quantization: out = table[in + 128].
void lookup_s8(const int8_t* table, const int8_t* input, int8_t* output, int32_t count);

// Softmax over the last axis (`depth` values per row). exp_table[d] = round(2^16 * exp(-s_in * d))
// for d = max - q in 0..255, computed on the host. Output scale 1/256, zero point -128.
void softmax_s8(const int32_t* exp_table, int32_t rows, int32_t depth, const int8_t* input, int8_t* output);

// Per-channel PReLU / leaky ReLU (channels on the last axis):
// q_out = output_offset + requantize(q + input_offset, x >= z_in ? pos : neg[c]).
struct PreluParams {
  int32_t outer, channels;
  int32_t input_offset, output_offset;
  int32_t positive_multiplier, positive_shift;
  Requant negative;  // per channel or per tensor
  int32_t act_min, act_max;
};
void prelu_s8(const PreluParams& p, const int8_t* input, int8_t* output);

// Layer normalisation over the last axis (`depth` values per row), integer only:
// mean and variance from exact int64 sums, 1/sqrt by integer Newton iterations, then
// q_out = output_offset + requantize(normalised_q15 * gamma_q[i], M, S) + beta_q[i] where
// normalised_q15 = round(2^15 * (x - mean) / sqrt(var + epsilon_q)).
struct LayerNormParams {
  int32_t rows, depth;
  int64_t epsilon_q;      // epsilon / s_in^2 scaled by depth^2 (see runtime/src/layer_norm.cpp)
  const int32_t* gamma_q; // per element, quantized with scale gamma_scale
  const int32_t* beta_q;  // per element, in output units (already / s_out)
  int32_t multiplier, shift;  // 2^-15 * gamma_scale / s_out
  int32_t output_offset;
  int32_t act_min, act_max;
};
void layer_norm_s8(const LayerNormParams& p, const int8_t* input, int8_t* output);

}  // namespace rt
}  // namespace tinyq

#endif
