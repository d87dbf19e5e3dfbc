// tinyq runtime, internal: four int8 lanes in a 32-bit word (Armv7E-M SIMD), for the DSP
// paths of pooling and elementwise ops. Not part of the API.
#ifndef TINYQ_RUNTIME_INT8_LANES_HPP
#define TINYQ_RUNTIME_INT8_LANES_HPP

#include <stdint.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>

namespace tinyq {
namespace rt {
namespace arm {

// v's low byte in all four lanes.
inline uint32_t splat4(int32_t v) { return static_cast<uint8_t>(v) * 0x01010101u; }
// Lane-wise signed max / min: SSUB8 sets the GE flag of each lane where a >= b, SEL picks.
inline uint32_t max4(uint32_t a, uint32_t b) {
  (void)__ssub8(static_cast<int8x4_t>(a), static_cast<int8x4_t>(b));
  return __sel(a, b);
}
inline uint32_t min4(uint32_t a, uint32_t b) {
  (void)__ssub8(static_cast<int8x4_t>(a), static_cast<int8x4_t>(b));
  return __sel(b, a);
}

}  // namespace arm
}  // namespace rt
}  // namespace tinyq

#endif
#endif
