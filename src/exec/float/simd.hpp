#pragma once
// 8-float vectors through the GCC / Clang vector extension: one AVX register on x86 (two SSE or
// NEON registers elsewhere), without intrinsics. Used where GCC does not vectorise the plain
// loop by itself (register tiles, NaN-propagating max).
#include <cstring>

namespace tinyq::fk::simd {

typedef float Vec __attribute__((vector_size(32)));
inline constexpr int kLanes = 8;

inline Vec load(const float* p) {
  Vec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, Vec v) { std::memcpy(p, &v, sizeof v); }
inline Vec broadcast(float x) {
  Vec v = {};
  return v + x;
}
// detail::clamp lane by lane: max then min, a NaN stays NaN.
inline Vec clamp(Vec v, Vec lo, Vec hi) {
  v = v < lo ? lo : v;
  return hi < v ? hi : v;
}

}  // namespace tinyq::fk::simd
