#pragma once
// A dense tensor: element type, shape and owned bytes. Used for constants (weights,
// folded shape values) and for data moving in and out of executors.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

namespace tinyq {

enum class DType : std::uint8_t { f32, i64, i32, i8, u8, boolean };

std::size_t dtype_size(DType type);
const char* dtype_name(DType type);

using Shape = std::vector<std::int64_t>;

// Number of elements; throws tinyq::Error on negative dims or when the count would
// exceed `kMaxElements` (hostile files declare 2^40-element tensors).
std::int64_t element_count(const Shape& shape, const std::string& where = {});
inline constexpr std::int64_t kMaxElements = std::int64_t{1} << 31;

std::string shape_string(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  Tensor(DType type, Shape shape);  // zero-filled

  static Tensor from_floats(Shape shape, std::span<const float> values);
  static Tensor from_i64(Shape shape, std::span<const std::int64_t> values);
  static Tensor scalar(float value) { return from_floats({}, std::span<const float>(&value, 1)); }

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  std::int64_t numel() const { return numel_; }
  std::size_t byte_size() const { return bytes_.size(); }

  template <typename T>
  std::span<T> data() {
    return {reinterpret_cast<T*>(bytes_.data()), size_t(numel_)};
  }
  template <typename T>
  std::span<const T> data() const {
    return {reinterpret_cast<const T*>(bytes_.data()), size_t(numel_)};
  }
  std::span<float> f32() { return data<float>(); }
  std::span<const float> f32() const { return data<float>(); }
  std::span<std::byte> bytes() { return bytes_; }
  std::span<const std::byte> bytes() const { return bytes_; }

  // Values converted to int64 / float whatever the stored type (shape arithmetic, casts).
  std::vector<std::int64_t> as_i64() const;
  std::vector<float> as_f32() const;
  Tensor cast(DType type) const;

  // Same elements, new shape (element counts must match).
  Tensor reshaped(Shape shape) const;
  // Axes permuted: result axis i is source axis perm[i].
  Tensor transposed(const std::vector<int>& perm) const;

 private:
  DType dtype_ = DType::f32;
  Shape shape_;
  std::int64_t numel_ = 0;
  std::vector<std::byte> bytes_;
};

// Generic strided permutation on raw element bytes, shared by Tensor::transposed and the
// float executor's Transpose.
void permute_elements(const std::byte* src, std::byte* dst, const Shape& src_shape, const std::vector<int>& perm,
                      std::size_t element_size);

}  // namespace tinyq
