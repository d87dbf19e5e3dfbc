// tinyq runtime, internal: every implementation of the MAC-heavy kernels (conv, depthwise,
// dense), callable one by one so that a test binary can compare them byte for byte.
//
// The public kernels in kernels.hpp dispatch at compile time to the path of target.hpp
// (kNativePath). `*_portable` is compiled on every target; `*_dsp` only where
// TINYQ_PATH_ARM_DSP is defined (Cortex-M4/M7/M33: SMLAD on pairs of 16-bit values), `*_mve`
// only where TINYQ_PATH_ARM_MVE is (Cortex-M55/M85: Helium). All paths give the same bytes
// for every parameter set the host can generate. Each path takes the scratch that
// conv2d_s8_scratch_bytes(p, <its path>) asks for.
#ifndef TINYQ_KERNEL_PATHS_HPP
#define TINYQ_KERNEL_PATHS_HPP

#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {

void conv2d_s8_portable(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                        int8_t* output, int16_t* scratch);
void depthwise_conv2d_s8_portable(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                                  int8_t* output);
void dense_s8_portable(const DenseParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                       int8_t* output);

#if defined(TINYQ_PATH_ARM_DSP)
void conv2d_s8_dsp(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias, int8_t* output,
                   int16_t* scratch);
void depthwise_conv2d_s8_dsp(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                             int8_t* output);
void dense_s8_dsp(const DenseParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                  int8_t* output);
#endif

#if defined(TINYQ_PATH_ARM_MVE)
void conv2d_s8_mve(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias, int8_t* output,
                   int16_t* scratch);
void depthwise_conv2d_s8_mve(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                             int8_t* output);
void dense_s8_mve(const DenseParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                  int8_t* output);
#endif

}  // namespace rt
}  // namespace tinyq

#endif
