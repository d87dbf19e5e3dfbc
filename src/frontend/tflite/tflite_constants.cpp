#include "frontend/tflite/tflite_constants.hpp"

#include <cmath>
#include <cstring>
#include <limits>

#include "util/error.hpp"

namespace tinyq::tflite {

namespace {

// Element i of the stored bytes as T (little-endian host; memcpy because buffers carry no
// alignment promise for every type).
template <typename T>
T element(const std::vector<std::uint8_t>& data, std::size_t i) {
  T v;
  std::memcpy(&v, data.data() + i * sizeof(T), sizeof(T));
  return v;
}

// The stored integers, exactly.
std::vector<std::int64_t> stored_integers(const TensorInfo& t, const std::string& where) {
  const auto count = std::size_t(element_count(t.shape, where));
  std::vector<std::int64_t> out(count);
  for (std::size_t i = 0; i < count; ++i) {
    switch (t.type) {
      case TensorType::Int8: out[i] = element<std::int8_t>(t.data, i); break;
      case TensorType::UInt8: out[i] = element<std::uint8_t>(t.data, i); break;
      case TensorType::Int16: out[i] = element<std::int16_t>(t.data, i); break;
      case TensorType::Int32: out[i] = element<std::int32_t>(t.data, i); break;
      case TensorType::Int64: out[i] = element<std::int64_t>(t.data, i); break;
      default: fail(where, "constants of type {} are not supported here", tensor_type_name(t.type));
    }
  }
  return out;
}

}  // namespace

float half_to_float(std::uint16_t h) {
  const int sign = h >> 15, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  float magnitude;
  if (exponent == 0)
    magnitude = std::ldexp(float(mantissa), -24);  // zero and subnormals
  else if (exponent == 31)
    magnitude = mantissa ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  else
    magnitude = std::ldexp(float(mantissa | 0x400), exponent - 25);
  return sign ? -magnitude : magnitude;
}

Tensor float_constant(const TensorInfo& t, const std::string& where) {
  if (!t.has_data) fail(where, "tensor '{}' is not a constant", t.name);
  Tensor out(DType::f32, t.shape);
  auto values = out.f32();
  if (t.type == TensorType::Float32) {
    if (!values.empty()) std::memcpy(values.data(), t.data.data(), values.size_bytes());
  } else if (t.type == TensorType::Float16) {
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = half_to_float(element<std::uint16_t>(t.data, i));
  } else {
    if (!t.quant.present())
      fail(where, "constant '{}' of type {} has no quantization parameters, so it has no float value", t.name,
           tensor_type_name(t.type));
    for (float s : t.quant.scale)
      if (!(s > 0)) fail(where, "constant '{}' has quantization scale {} (must be > 0)", t.name, s);
    const std::vector<std::int64_t> q = stored_integers(t, where);
    // Per-channel: the channel of element i is its index along quantized_dimension, i.e.
    // (i / inner) % channels with inner the product of the dimensions after it.
    const std::size_t channels = t.quant.scale.size();
    std::size_t inner = 1;
    if (channels > 1)
      for (std::size_t d = std::size_t(t.quant.quantized_dimension) + 1; d < t.shape.size(); ++d)
        inner *= std::size_t(t.shape[d]);
    for (std::size_t i = 0; i < values.size(); ++i) {
      const std::size_t c = channels > 1 ? (i / inner) % channels : 0;
      const double real = double(t.quant.scale[c]) * (double(q[i]) - double(t.quant.zero_point[c]));
      // Checked before narrowing: a double outside float's range has no float value (UB).
      if (!(std::fabs(real) <= double(std::numeric_limits<float>::max())))
        fail(where, "constant '{}' dequantizes to {} at element {}, outside float's range", t.name, real, i);
      values[i] = float(real);
    }
  }
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i])) fail(where, "constant '{}' contains {} at element {}", t.name, values[i], i);
  return out;
}

std::vector<std::int64_t> integer_constant(const TensorInfo& t, const std::string& where) {
  if (!t.has_data) fail(where, "tensor '{}' must be a constant, but is computed at run time", t.name);
  return stored_integers(t, where);
}

}  // namespace tinyq::tflite
