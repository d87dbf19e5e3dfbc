#pragma once
// IEEE half and bfloat16 to float32: the one conversion every reader of 16-bit float data
// (ONNX tensors, .npy files) goes through. tinyq computes in float32, so 16-bit and 64-bit
// float inputs are widened or narrowed where they are read and nowhere else.
#include <bit>
#include <cmath>
#include <cstdint>

namespace tinyq {

// Exact: every half value is a float32 value (subnormals included; NaN payloads kept).
inline float float16_to_float(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
    const float magnitude = std::ldexp(float(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  const std::uint32_t bits =
      exponent == 31 ? sign | 0x7f800000u | (mantissa << 13) : sign | ((exponent + 112u) << 23) | (mantissa << 13);
  return std::bit_cast<float>(bits);
}

// bfloat16 is the upper half of a float32.
inline float bfloat16_to_float(std::uint16_t b) { return std::bit_cast<float>(std::uint32_t(b) << 16); }

}  // namespace tinyq
