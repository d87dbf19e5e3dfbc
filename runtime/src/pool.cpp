// tinyq runtime: max and average pooling, NHWC, int8: the portable path and the public
// kernels, which pick the native path at compile time (kernel_paths.hpp).
#include "kernel_paths.hpp"
#include "kernel_util.hpp"
#include "pool_window.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {

void max_pool2d_s8_portable(const PoolParams& p, const int8_t* input, int8_t* output) {
  detail::max_pool_portable(p, input, output);
}

void avg_pool2d_s8_portable(const AvgPoolParams& ap, const int8_t* input, int8_t* output) {
  detail::avg_pool_portable(ap, input, output);
}

void max_pool2d_s8(const PoolParams& p, const int8_t* input, int8_t* output) {
#if defined(TINYQ_PATH_ARM_MVE)
  max_pool2d_s8_mve(p, input, output);
#elif defined(TINYQ_PATH_ARM_DSP)
  max_pool2d_s8_dsp(p, input, output);
#else
  max_pool2d_s8_portable(p, input, output);
#endif
}

void avg_pool2d_s8(const AvgPoolParams& p, const int8_t* input, int8_t* output) {
  // TFLite's rounded division (pre-quantized models, usually one global pool): the native
  // paths' vector sums with the portable division per channel.
#if defined(TINYQ_PATH_ARM_MVE)
  avg_pool2d_s8_mve(p, input, output);
#elif defined(TINYQ_PATH_ARM_DSP)
  avg_pool2d_s8_dsp(p, input, output);
#else
  avg_pool2d_s8_portable(p, input, output);
#endif
}

}  // namespace rt
}  // namespace tinyq
