// tinyq runtime, internal: the rows of an elementwise op over a broadcast shape, for the Arm
// paths of add and mul. Not part of the API.
#ifndef TINYQ_RUNTIME_BROADCAST_ROWS_HPP
#define TINYQ_RUNTIME_BROADCAST_ROWS_HPP

#include <stdint.h>

#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {
namespace detail {

// The rows of a broadcast shape (kernels.hpp, BroadcastShape). Inner axes that both inputs
// walk contiguously are merged first, so the common unbroadcast case becomes one long row:
// axis i - 1 folds into axis i when stepping it equals stepping shape[i] elements of axis i,
// for a and b alike.
struct BroadcastRows {
  int32_t n, a_step, b_step;  // row length, and each input's element step along it (0: broadcast)
  int32_t outer[3], outer_a[3], outer_b[3];
};
// The same shape with the two inputs' strides exchanged (kernels that want a particular input
// first).
inline void swap_inputs(BroadcastShape& s) {
  for (int i = 0; i < 4; ++i) {
    const int32_t u = s.a_strides[i];
    s.a_strides[i] = s.b_strides[i];
    s.b_strides[i] = u;
  }
}
inline BroadcastRows broadcast_rows(const BroadcastShape& s) {
  BroadcastShape m = s;
  int32_t inner = 3;
  while (inner > 0 && m.a_strides[inner - 1] == m.a_strides[inner] * m.shape[inner] &&
         m.b_strides[inner - 1] == m.b_strides[inner] * m.shape[inner]) {
    m.shape[inner - 1] *= m.shape[inner];
    m.a_strides[inner - 1] = m.a_strides[inner];
    m.b_strides[inner - 1] = m.b_strides[inner];
    m.shape[inner] = 1;
    --inner;
  }
  BroadcastRows r{m.shape[inner], m.a_strides[inner], m.b_strides[inner], {1, 1, 1}, {0, 0, 0}, {0, 0, 0}};
  for (int32_t i = 0; i < inner; ++i) {  // axes after `inner` now have size 1
    r.outer[i] = m.shape[i];
    r.outer_a[i] = m.a_strides[i];
    r.outer_b[i] = m.b_strides[i];
  }
  return r;
}
// Calls row(a_row, b_row, out_row) for each output row, in output order.
template <typename Row>
inline void for_each_row(const BroadcastRows& r, const int8_t* a, const int8_t* b, int8_t* out, const Row& row) {
  for (int32_t i0 = 0; i0 < r.outer[0]; ++i0) {
    for (int32_t i1 = 0; i1 < r.outer[1]; ++i1) {
      for (int32_t i2 = 0; i2 < r.outer[2]; ++i2, out += r.n) {
        row(a + i0 * r.outer_a[0] + i1 * r.outer_a[1] + i2 * r.outer_a[2],
            b + i0 * r.outer_b[0] + i1 * r.outer_b[1] + i2 * r.outer_b[2], out);
      }
    }
  }
}

}  // namespace detail
}  // namespace rt
}  // namespace tinyq

#endif
