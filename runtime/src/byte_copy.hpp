// tinyq runtime, internal: byte copy and fill for the data-movement kernels (concat, pad,
// resize) and Helium conv's im2col. Not part of the API.
#ifndef TINYQ_RUNTIME_BYTE_COPY_HPP
#define TINYQ_RUNTIME_BYTE_COPY_HPP

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tinyq/kernel_path.hpp"
#if defined(TINYQ_PATH_ARM_MVE)
#include <arm_mve.h>
#endif

namespace tinyq {
namespace rt {
namespace detail {

// The runs are often one pixel's channels (a few to a few dozen bytes). memcpy/memset, except
// on Helium cores: there newlib's memcpy costs about 60 instructions for 16 bytes (call and
// set-up included), a predicated vector loop 16 bytes per load/store pair.
inline void copy_bytes(int8_t* dst, const int8_t* src, int32_t n) {
#if defined(TINYQ_PATH_ARM_MVE)
  for (; n >= 16; n -= 16, dst += 16, src += 16) vstrbq_s8(dst, vldrbq_s8(src));
  if (n > 0) {
    const mve_pred16_t lanes = vctp8q(static_cast<uint32_t>(n));
    vstrbq_p_s8(dst, vldrbq_z_s8(src, lanes), lanes);
  }
#else
  memcpy(dst, src, static_cast<size_t>(n));
#endif
}
inline void fill_bytes(int8_t* dst, int8_t value, int32_t n) {
#if defined(TINYQ_PATH_ARM_MVE)
  const int8x16_t v = vdupq_n_s8(value);
  for (; n >= 16; n -= 16, dst += 16) vstrbq_s8(dst, v);
  if (n > 0) vstrbq_p_s8(dst, v, vctp8q(static_cast<uint32_t>(n)));
#else
  memset(dst, value, static_cast<size_t>(n));
#endif
}

}  // namespace detail
}  // namespace rt
}  // namespace tinyq

#endif
