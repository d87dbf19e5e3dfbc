#include "ir/tensor.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <limits>

#include "util/error.hpp"

namespace tinyq {

std::size_t dtype_size(DType type) {
  switch (type) {
    case DType::f32: return 4;
    case DType::i64: return 8;
    case DType::i32: return 4;
    case DType::i8: return 1;
    case DType::u8: return 1;
    case DType::boolean: return 1;
  }
  return 0;
}

const char* dtype_name(DType type) {
  switch (type) {
    case DType::f32: return "float32";
    case DType::i64: return "int64";
    case DType::i32: return "int32";
    case DType::i8: return "int8";
    case DType::u8: return "uint8";
    case DType::boolean: return "bool";
  }
  return "?";
}

std::int64_t element_count(const Shape& shape, const std::string& where) {
  std::int64_t count = 1;
  for (auto dim : shape) {
    if (dim < 0) fail(where, "negative dimension in shape {}", shape_string(shape));
    if (dim != 0 && count > kMaxElements / dim)
      fail(where, "shape {} has more than 2^31 elements", shape_string(shape));
    count *= dim;
  }
  return count;
}

std::string shape_string(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ",")); }

Tensor::Tensor(DType type, Shape shape) : dtype_(type), shape_(std::move(shape)) {
  numel_ = element_count(shape_);
  bytes_.resize(std::size_t(numel_) * dtype_size(type));
}

Tensor Tensor::from_floats(Shape shape, std::span<const float> values) {
  Tensor t(DType::f32, std::move(shape));
  if (std::size_t(t.numel_) != values.size())
    fail("", "tensor: {} values for shape {}", values.size(), shape_string(t.shape_));
  if (!values.empty()) std::memcpy(t.bytes_.data(), values.data(), t.bytes_.size());  // memcpy(null, .., 0) is UB
  return t;
}

Tensor Tensor::from_i64(Shape shape, std::span<const std::int64_t> values) {
  Tensor t(DType::i64, std::move(shape));
  if (std::size_t(t.numel_) != values.size())
    fail("", "tensor: {} values for shape {}", values.size(), shape_string(t.shape_));
  if (!values.empty()) std::memcpy(t.bytes_.data(), values.data(), t.bytes_.size());  // memcpy(null, .., 0) is UB
  return t;
}

template <typename Out>
static std::vector<Out> convert_all(const Tensor& t) {
  std::vector<Out> out(std::size_t(t.numel()));
  auto convert = [&](auto span) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      // A float outside the integer range (a float tensor used as Slice starts, found by
      // fuzz_onnx_import) saturates, NaN gives 0: the plain cast would be undefined behaviour.
      if constexpr (std::is_integral_v<Out> && std::is_floating_point_v<typename decltype(span)::value_type>) {
        const auto v = span[i];
        out[i] = v >= 9.2e18f    ? std::numeric_limits<Out>::max()
                 : v <= -9.2e18f ? std::numeric_limits<Out>::min()
                 : v == v        ? static_cast<Out>(v)
                                 : Out(0);
      } else {
        out[i] = static_cast<Out>(span[i]);
      }
    }
  };
  switch (t.dtype()) {
    case DType::f32: convert(t.data<float>()); break;
    case DType::i64: convert(t.data<std::int64_t>()); break;
    case DType::i32: convert(t.data<std::int32_t>()); break;
    case DType::i8: convert(t.data<std::int8_t>()); break;
    case DType::u8: convert(t.data<std::uint8_t>()); break;
    case DType::boolean: convert(t.data<std::uint8_t>()); break;
  }
  return out;
}

std::vector<std::int64_t> Tensor::as_i64() const { return convert_all<std::int64_t>(*this); }
std::vector<float> Tensor::as_f32() const { return convert_all<float>(*this); }

Tensor Tensor::cast(DType type) const {
  if (type == dtype_) return *this;
  Tensor out(type, shape_);
  auto store = [&](auto values) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      switch (type) {
        case DType::f32: out.data<float>()[i] = float(values[i]); break;
        case DType::i64: out.data<std::int64_t>()[i] = std::int64_t(values[i]); break;
        case DType::i32: out.data<std::int32_t>()[i] = std::int32_t(values[i]); break;
        case DType::i8: out.data<std::int8_t>()[i] = std::int8_t(values[i]); break;
        case DType::u8: out.data<std::uint8_t>()[i] = std::uint8_t(values[i]); break;
        case DType::boolean: out.data<std::uint8_t>()[i] = values[i] != 0; break;
      }
    }
  };
  if (dtype_ == DType::f32)
    store(as_f32());
  else
    store(as_i64());
  return out;
}

Tensor Tensor::reshaped(Shape shape) const {
  if (element_count(shape) != numel_) fail("", "cannot reshape {} to {}", shape_string(shape_), shape_string(shape));
  Tensor out = *this;
  out.shape_ = std::move(shape);
  return out;
}

void permute_elements(const std::byte* src, std::byte* dst, const Shape& src_shape, const std::vector<int>& perm,
                      std::size_t element_size) {
  // An empty tensor may have other dimensions too large for a stride (fuzzing found
  // [0, 3, 4, 2^62]): nothing to move, and nothing to multiply.
  if (element_count(src_shape) == 0) return;
  const int rank = int(src_shape.size());
  std::vector<std::int64_t> src_strides(rank, 1);
  for (int i = rank - 2; i >= 0; --i) src_strides[i] = src_strides[i + 1] * src_shape[i + 1];
  Shape dst_shape(rank);
  std::vector<std::int64_t> strides(rank);  // source stride of each destination axis
  for (int i = 0; i < rank; ++i) {
    dst_shape[i] = src_shape[perm[i]];
    strides[i] = src_strides[perm[i]];
  }
  const std::int64_t total = element_count(dst_shape);
  std::vector<std::int64_t> index(rank, 0);
  std::int64_t offset = 0;
  for (std::int64_t n = 0; n < total; ++n) {
    std::memcpy(dst + n * element_size, src + offset * element_size, element_size);
    for (int axis = rank - 1; axis >= 0; --axis) {
      offset += strides[axis];
      if (++index[axis] < dst_shape[axis]) break;
      offset -= strides[axis] * dst_shape[axis];
      index[axis] = 0;
    }
  }
}

Tensor Tensor::transposed(const std::vector<int>& perm) const {
  Shape dst_shape(shape_.size());
  for (std::size_t i = 0; i < perm.size(); ++i) dst_shape[i] = shape_[perm[i]];
  Tensor out(dtype_, dst_shape);
  if (numel_ > 0) permute_elements(bytes_.data(), out.bytes_.data(), shape_, perm, dtype_size(dtype_));
  return out;
}

}  // namespace tinyq
