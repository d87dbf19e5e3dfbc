// tinyq runtime: dense_s8 on Helium (MVE: Cortex-M55, M85).
//
// Two output features per pass over the input: per 16 inputs one VLDRB of the input shared by
// two rows, each row a VLDRB, a VMLADAVA.S8 (16 MACs) and a VADDVA.S8 (its weight sum). The
// input offset is folded as in conv_arm_mve.cpp: sum (x + offset) * w = sum x * w +
// offset * sum w, all modulo 2^32 (the true sum fits int32: the host's guarantee), so the
// bytes equal the portable path's. The weight sums are taken in the same pass: unlike
// CMSIS-NN's MVE dense layer, no precomputed kernel-sum buffer is needed (or can be forgotten).
#include "tinyq/target.hpp"  // defines the TINYQ_PATH_* macro tested below

#if defined(TINYQ_PATH_ARM_MVE)

#include <arm_mve.h>

#include "conv_arm_common.hpp"
#include "tinyq/kernel_paths.hpp"

namespace tinyq {
namespace rt {

namespace {

using arm::OutputStage;

TINYQ_ALWAYS_INLINE int32_t fold(const int32_t* bias, int32_t o, int32_t dot, int32_t sum, int32_t offset) {
  return static_cast<int32_t>(static_cast<uint32_t>(bias != nullptr ? bias[o] : 0) + static_cast<uint32_t>(dot) +
                              static_cast<uint32_t>(offset) * static_cast<uint32_t>(sum));
}

}  // namespace

void dense_s8_mve(const DenseParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                  int8_t* output) {
  const OutputStage st(p.requant, p.output_offset, p.act_min, p.act_max);
  const int32_t n = p.in_features;
  for (int32_t r = 0; r < p.rows; ++r) {
    const int8_t* in = input + r * n;
    int32_t o = 0;
    for (; o + 2 <= p.out_features; o += 2) {
      const int8_t* w0 = weights + o * n;
      const int8_t* w1 = w0 + n;
      int32_t d0 = 0, d1 = 0, s0 = 0, s1 = 0;
      for (int32_t i = 0; i < n; i += 16) {
        const mve_pred16_t pr = vctp8q(static_cast<uint32_t>(n - i));
        const int8x16_t x = vldrbq_z_s8(in + i, pr);
        const int8x16_t a = vldrbq_z_s8(w0 + i, pr);
        const int8x16_t b = vldrbq_z_s8(w1 + i, pr);
        d0 = vmladavaq_s8(d0, x, a);
        s0 = vaddvaq_s8(s0, a);
        d1 = vmladavaq_s8(d1, x, b);
        s1 = vaddvaq_s8(s1, b);
      }
      output[o] = st.finish(fold(bias, o, d0, s0, p.input_offset), o);
      output[o + 1] = st.finish(fold(bias, o + 1, d1, s1, p.input_offset), o + 1);
    }
    if (o < p.out_features) {  // an odd last feature
      const int8_t* w0 = weights + o * n;
      int32_t d0 = 0, s0 = 0;
      for (int32_t i = 0; i < n; i += 16) {
        const mve_pred16_t pr = vctp8q(static_cast<uint32_t>(n - i));
        const int8x16_t a = vldrbq_z_s8(w0 + i, pr);
        d0 = vmladavaq_s8(d0, vldrbq_z_s8(in + i, pr), a);
        s0 = vaddvaq_s8(s0, a);
      }
      output[o] = st.finish(fold(bias, o, d0, s0, p.input_offset), o);
    }
    output += p.out_features;
  }
}

}  // namespace rt
}  // namespace tinyq

#endif  // TINYQ_PATH_ARM_MVE
