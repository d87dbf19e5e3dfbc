// tinyq runtime: int8 matrix product of two activations (attention scores and their weighted
// sum of values). One portable path: a model's attention matmuls are small next to its dense
// projections, which carry the DSP/Helium work.
#include "kernel_util.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {

void matmul_s8(const MatMulParams& p, const int8_t* a, const int8_t* b, int8_t* output) {
  for (int32_t batch = 0; batch < p.batch; ++batch) {
    const int8_t* a_matrix = a + batch * p.a_batch_stride;
    const int8_t* b_matrix = b + batch * p.b_batch_stride;
    for (int32_t i = 0; i < p.m; ++i) {
      const int8_t* a_row = a_matrix + i * p.k;
      for (int32_t j = 0; j < p.n; ++j) {
        // Column j of B is strided by n; on the MCU (no data cache) a column walk costs the
        // same as a row walk, and it keeps the kernel free of scratch.
        const int8_t* b_column = b_matrix + j;
        int32_t acc = 0;
        for (int32_t t = 0; t < p.k; ++t) acc += (a_row[t] + p.a_offset) * (b_column[t * p.n] + p.b_offset);
        *output++ = detail::offset_and_clamp(requantize(acc, p.output_multiplier, p.output_shift), p.output_offset,
                                             p.act_min, p.act_max);
      }
    }
  }
}

}  // namespace rt
}  // namespace tinyq
