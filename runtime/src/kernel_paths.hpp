// tinyq runtime, internal: every implementation of every kernel that has more than one,
// callable one by one so that a test binary can compare them byte for byte. Not part of the
// API: the public kernels are those of kernels.hpp.
//
// The public kernels dispatch at compile time to the path of kernel_path.hpp (kNativePath).
// `*_portable` is compiled on every target; `*_dsp` only where TINYQ_PATH_ARM_DSP is defined
// (Cortex-M4/M7/M33: SMLAD on pairs of 16-bit values, SIMD on 4 int8 lanes, SMMULR), `*_mve`
// only where TINYQ_PATH_ARM_MVE is (Cortex-M55/M85: Helium). All paths give the same bytes
// for every parameter set the host can generate; an optimized path that cannot prove it for
// some parameters (see each source) hands that call to the portable path. Each conv path
// takes the scratch that conv2d_s8_scratch_bytes(p, <its path>) asks for. Kernels without a
// line for a path have no such path: the public kernel is the portable one.
// TFLite's rounding (kRoundTflite): the conv, depthwise and dense paths take it themselves;
// add_s8_dsp/_mve and avg_pool2d_s8_dsp/_mve are tinyq's rounding only: the public add_s8
// and avg_pool2d_s8 hand TFLite's to the portable path.
#ifndef TINYQ_RUNTIME_KERNEL_PATHS_HPP
#define TINYQ_RUNTIME_KERNEL_PATHS_HPP

#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {

// ---- MAC-heavy kernels: conv, depthwise, dense ----
void conv2d_s8_portable(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                        int8_t* output, int16_t* scratch);
void depthwise_conv2d_s8_portable(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                                  int8_t* output);
void dense_s8_portable(const DenseParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                       int8_t* output);
void dense_s8_packed_portable(const DenseParams& p, const int8_t* input, const int8_t* packed_weights,
                              const int32_t* packed_bias, int8_t* output);
void dense_s8_packed_fused_portable(const DenseParams& p, const int8_t* input, const int8_t* packed_weights,
                                    const int32_t* packed_params, int8_t* output);

// How depthwise_conv2d_s8_dsp runs a layer (depthwise_arm_dsp.cpp; tests and
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
constexpr int32_t depthwise_rows_group_words(const ConvParams& p) {
  return 4 + p.kernel_w * (4 * (p.kernel_h / 2) + 2 * (p.kernel_h % 2));
}
constexpr DepthwiseDspVariant depthwise_dsp_variant(const ConvParams& p) {
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

// Recurrent layers (recurrent.cpp): one body, the dot product of each projection row per path.
void recurrent_s8_portable(const RecurrentParams& p, const int8_t* x, const int8_t* w, const int8_t* r, int8_t* output,
                           int32_t* scratch);
#if defined(TINYQ_PATH_ARM_DSP)
void recurrent_s8_dsp(const RecurrentParams& p, const int8_t* x, const int8_t* w, const int8_t* r, int8_t* output,
                      int32_t* scratch);
#endif
#if defined(TINYQ_PATH_ARM_MVE)
void recurrent_s8_mve(const RecurrentParams& p, const int8_t* x, const int8_t* w, const int8_t* r, int8_t* output,
                      int32_t* scratch);
#endif
#if defined(TINYQ_PATH_ARM_DSP)
void conv2d_s8_dsp(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias, int8_t* output,
                   int16_t* scratch);
void depthwise_conv2d_s8_dsp(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                             int8_t* output);
// The Rows, Rows3x3 and Multiplier variants (depthwise_arm_dsp_rows.cpp), for
// depthwise_conv2d_s8_dsp.
void depthwise_rows_dsp(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                        int8_t* output);
// The Column variant (depthwise_arm_dsp_column.cpp), for depthwise_conv2d_s8_dsp.
void depthwise_column_dsp(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                          int8_t* output);
void dense_s8_dsp(const DenseParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                  int8_t* output);
void dense_s8_packed_dsp(const DenseParams& p, const int8_t* input, const int8_t* packed_weights,
                         const int32_t* packed_bias, int8_t* output);
void dense_s8_packed_fused_dsp(const DenseParams& p, const int8_t* input, const int8_t* packed_weights,
                               const int32_t* packed_params, int8_t* output);
#endif

#if defined(TINYQ_PATH_ARM_MVE)
void conv2d_s8_mve(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias, int8_t* output,
                   int16_t* scratch);
void depthwise_conv2d_s8_mve(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                             int8_t* output);
void dense_s8_mve(const DenseParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                  int8_t* output);
#endif

// ---- pooling, elementwise, lookup, concat, softmax ----
void max_pool2d_s8_portable(const PoolParams& p, const int8_t* input, int8_t* output);
void avg_pool2d_s8_portable(const AvgPoolParams& p, const int8_t* input, int8_t* output);
void add_s8_portable(const AddParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output);
void mul_s8_portable(const MulParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output);
void lookup_s8_portable(const int8_t* table, const int8_t* input, int8_t* output, int32_t count);
void concat_s8_portable(const ConcatParams& p, const int8_t* const* inputs, int8_t* output);
void softmax_s8_portable(const int32_t* exp_table, int32_t rows, int32_t depth, const int8_t* input, int8_t* output);

#if defined(TINYQ_PATH_ARM_DSP)
void max_pool2d_s8_dsp(const PoolParams& p, const int8_t* input, int8_t* output);
void avg_pool2d_s8_dsp(const AvgPoolParams& p, const int8_t* input, int8_t* output);
void add_s8_dsp(const AddParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output);
void mul_s8_dsp(const MulParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output);
void concat_s8_dsp(const ConcatParams& p, const int8_t* const* inputs, int8_t* output);
#endif

#if defined(TINYQ_PATH_ARM_MVE)
void max_pool2d_s8_mve(const PoolParams& p, const int8_t* input, int8_t* output);
void avg_pool2d_s8_mve(const AvgPoolParams& p, const int8_t* input, int8_t* output);
void add_s8_mve(const AddParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output);
void mul_s8_mve(const MulParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output);
void lookup_s8_mve(const int8_t* table, const int8_t* input, int8_t* output, int32_t count);
void concat_s8_mve(const ConcatParams& p, const int8_t* const* inputs, int8_t* output);
#endif

}  // namespace rt
}  // namespace tinyq

#endif
