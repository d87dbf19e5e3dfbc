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
// add_s8_dsp/_mve and avg_pool2d_s8_mve are tinyq's rounding only: the public add_s8
// hands TFLite's to add_s8_tflite_arm on both Arm paths (to the portable path elsewhere and
// for parameters TFLite does not make); avg_pool2d_s8_dsp takes TFLite's rounded division
// itself, avg_pool2d_s8 hands it to the portable path on Helium.
#ifndef TINYQ_RUNTIME_KERNEL_PATHS_HPP
#define TINYQ_RUNTIME_KERNEL_PATHS_HPP

#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {

// ---- MAC-heavy kernels: conv, depthwise, dense ----
void dense_s8_portable(const DenseParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                       int8_t* output);
void dense_s8_packed_portable(const DenseParams& p, const int8_t* input, const int8_t* packed_weights,
                              const int32_t* packed_bias, int8_t* output);
void dense_s8_packed_fused_portable(const DenseParams& p, const int8_t* input, const int8_t* packed_weights,
                                    const int32_t* packed_params, int8_t* output);

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
void dense_s8_dsp(const DenseParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                  int8_t* output);
void dense_s8_packed_dsp(const DenseParams& p, const int8_t* input, const int8_t* packed_weights,
                         const int32_t* packed_bias, int8_t* output);
void dense_s8_packed_fused_dsp(const DenseParams& p, const int8_t* input, const int8_t* packed_weights,
                               const int32_t* packed_params, int8_t* output);
#endif

#if defined(TINYQ_PATH_ARM_MVE)
// depthwise_mve_line's layers (kernels.hpp) in row form (a one-row image: a one-column layer
// through column_as_row): runs the layer and returns true, or false when its requantization has
// no vector form (depthwise_arm_mve_line.cpp; depthwise_mve_blocks calls it).
bool depthwise_mve_line_run(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
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
// DspPointwise layers with 8 or 16 input channels whose requantization the assembly can fuse
// (conv_arm_dsp_narrow.cpp); false, having written nothing, for the others.
bool conv2d_s8_dsp_pointwise_narrow(const ConvParams& p, const int8_t* input, const int8_t* weights,
                                    const int32_t* bias, int8_t* output);
// DspGeneral layers with in_c not a multiple of 4 and at most 28 values per patch (first
// layers: 3x3x1, 3x3x3) whose requantization the assembly can fuse; false, having written
// nothing, for the others (conv_arm_dsp_narrow.cpp).
bool conv2d_s8_dsp_first_layer(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                               int8_t* output);
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

#if defined(TINYQ_PATH_ARM_DSP) || defined(TINYQ_PATH_ARM_MVE)
// TFLite's add and sub (kRoundTflite) when one input's multiplier is exactly 1/2, as TFLite's
// are (elementwise_arm_tflite.cpp, scalar code for both Arm paths); false, having written
// nothing, for other parameters (the portable path's then).
bool add_s8_tflite_arm(const AddParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output);
#endif

}  // namespace rt
}  // namespace tinyq

#endif
