// tinyq runtime: integer layer normalisation over the last axis. The exact math (and the
// bounds that keep every step in range) is specified next to LayerNormParams in kernels.hpp.
#include "integer_sqrt.hpp"
#include "kernel_util.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {

void layer_norm_s8(const LayerNormParams& p, const int8_t* input, int8_t* output) {
  const int32_t n = p.depth;
  for (int32_t row = 0; row < p.rows; ++row, input += n, output += n) {
    // depth <= 2^15: |S1| <= 2^22 and S2 <= 2^29, exact in int32.
    int32_t s1 = 0;
    int32_t s2 = 0;
    for (int32_t i = 0; i < n; ++i) {
      s1 += input[i];
      s2 += input[i] * input[i];
    }
    // N^2 * variance, exact: N * S2 - S1^2 >= 0 (Cauchy-Schwarz) and < 2^44.
    const int64_t v = static_cast<int64_t>(n) * s2 - static_cast<int64_t>(s1) * s1;
    const uint64_t d = (static_cast<uint64_t>(v) << 16) + static_cast<uint64_t>(p.epsilon_q);
    // d == 0 only for a constant row without epsilon, where every a_i is 0 anyway.
    const detail::InverseSqrt inv = d != 0 ? detail::inverse_sqrt(d) : detail::InverseSqrt{0, 0};
    for (int32_t i = 0; i < n; ++i) {
      const int32_t a = n * input[i] - s1;                         // N * (q - mean), |a| < 2^23
      const int32_t y = requantize(a, inv.multiplier, inv.shift);  // normalised, Q15
      const int32_t t = requantize_channel(y, p.gamma, i);         // gamma * normalised, output LSB * 2^8
      const int64_t beta = p.beta_q != nullptr ? p.beta_q[i] : 0;
      // One rounding (half up) of gamma * x + beta, carried with 8 fraction bits.
      const int32_t out = static_cast<int32_t>((static_cast<int64_t>(t) + beta + 128) >> 8);
      output[i] = detail::offset_and_clamp(out, p.output_offset, p.act_min, p.act_max);
    }
  }
}

}  // namespace rt
}  // namespace tinyq
