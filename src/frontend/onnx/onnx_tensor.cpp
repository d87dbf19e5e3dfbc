#include "frontend/onnx/onnx_tensor.hpp"

#include <bit>
#include <cstring>
#include <limits>

#include "ir/float16.hpp"
#include "util/error.hpp"

namespace tinyq {

namespace {

DType dtype_from_onnx(int type, const std::string& where) {
  switch (type) {
    case onnx::TensorProto::FLOAT: return DType::f32;
    case onnx::TensorProto::DOUBLE: return DType::f32;    // narrowed on load
    case onnx::TensorProto::FLOAT16: return DType::f32;   // widened on load
    case onnx::TensorProto::BFLOAT16: return DType::f32;  // widened on load
    case onnx::TensorProto::UINT32: return DType::i64;
    case onnx::TensorProto::UINT64: return DType::i64;  // values above 2^63-1 are refused
    case onnx::TensorProto::INT64: return DType::i64;
    case onnx::TensorProto::INT32: return DType::i32;
    case onnx::TensorProto::INT8: return DType::i8;
    case onnx::TensorProto::UINT8: return DType::u8;
    case onnx::TensorProto::BOOL: return DType::boolean;
    default: fail(where, "tensor element type {} is not supported", onnx::TensorProto::DataType_Name(type));
  }
}

// Bytes per element in raw_data.
std::size_t stored_element_bytes(int type, DType dtype) {
  switch (type) {
    case onnx::TensorProto::DOUBLE:
    case onnx::TensorProto::UINT64: return 8;
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16: return 2;
    case onnx::TensorProto::UINT32: return 4;
    default: return dtype_size(dtype);
  }
}

// Types whose stored elements are not the bytes tinyq keeps, decoded one by one.
bool converted_on_load(int type) {
  return type == onnx::TensorProto::DOUBLE || type == onnx::TensorProto::FLOAT16 ||
         type == onnx::TensorProto::BFLOAT16 || type == onnx::TensorProto::UINT32 || type == onnx::TensorProto::UINT64;
}

// Element i of a converted_on_load type, from its stored bits (raw_data bytes or the typed
// field's value), into out.
void store_converted(int type, std::uint64_t bits, Tensor& out, std::size_t i, const std::string& where) {
  switch (type) {
    case onnx::TensorProto::FLOAT16: out.data<float>()[i] = float16_to_float(std::uint16_t(bits)); break;
    case onnx::TensorProto::BFLOAT16: out.data<float>()[i] = bfloat16_to_float(std::uint16_t(bits)); break;
    case onnx::TensorProto::UINT32: out.data<std::int64_t>()[i] = std::int64_t(std::uint32_t(bits)); break;
    case onnx::TensorProto::UINT64:
      if (bits > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
        fail(where, "UINT64 value {} at element {} does not fit int64", bits, i);
      out.data<std::int64_t>()[i] = std::int64_t(bits);
      break;
    default: out.data<float>()[i] = float(std::bit_cast<double>(bits)); break;  // DOUBLE
  }
}

template <typename Field>
void copy_typed(const Field& field, Tensor& out, std::int64_t count, const std::string& where) {
  if (field.size() != count) fail(where, "tensor holds {} values, its shape declares {}", field.size(), count);
  auto store = [&](auto* dst) {
    for (std::int64_t i = 0; i < count; ++i)
      dst[i] = static_cast<std::remove_pointer_t<decltype(dst)>>(field.Get(int(i)));
  };
  switch (out.dtype()) {
    case DType::f32: store(out.data<float>().data()); break;
    case DType::i64: store(out.data<std::int64_t>().data()); break;
    case DType::i32: store(out.data<std::int32_t>().data()); break;
    case DType::i8: store(out.data<std::int8_t>().data()); break;
    case DType::u8:
    case DType::boolean: store(out.data<std::uint8_t>().data()); break;
  }
}

}  // namespace

Tensor tensor_from_onnx(const onnx::TensorProto& proto, const std::string& where) {
  if (proto.data_location() == onnx::TensorProto::EXTERNAL)
    fail(where, "tensor '{}' uses external data, which tinyq does not load", proto.name());
  if (proto.has_segment()) fail(where, "segmented tensors are not supported");
  const int type = proto.data_type();
  DType dtype = dtype_from_onnx(type, where);
  Shape shape(proto.dims().begin(), proto.dims().end());
  const std::int64_t count = element_count(shape, where);  // throws before any allocation
  // The values must all be there before the tensor is allocated: dims [2^31] over 4 bytes of
  // raw_data would otherwise allocate 8 GB first (found by fuzz_onnx_import). Same messages
  // as the checks below.
  const std::size_t element_bytes = stored_element_bytes(type, dtype);
  if (proto.has_raw_data() && proto.raw_data().size() != std::size_t(count) * element_bytes)
    fail(where, "tensor '{}': raw_data has {} bytes, shape {} needs {}", proto.name(), proto.raw_data().size(),
         shape_string(shape), std::size_t(count) * element_bytes);
  const int stored = type == onnx::TensorProto::FLOAT    ? proto.float_data_size()
                     : type == onnx::TensorProto::DOUBLE ? proto.double_data_size()
                     : type == onnx::TensorProto::INT64  ? proto.int64_data_size()
                     : type == onnx::TensorProto::UINT32 || type == onnx::TensorProto::UINT64
                         ? proto.uint64_data_size()
                         : proto.int32_data_size();  // FLOAT16 and BFLOAT16 keep their bits there
  if (!proto.has_raw_data() && stored != count)
    fail(where, "tensor holds {} values, its shape declares {}", stored, count);
  Tensor out(dtype, shape);

  if (proto.has_raw_data()) {
    const std::string& raw = proto.raw_data();
    const std::size_t element = element_bytes;
    if (raw.size() != std::size_t(count) * element)
      fail(where, "tensor '{}': raw_data has {} bytes, shape {} needs {}", proto.name(), raw.size(),
           shape_string(shape), std::size_t(count) * element);
    if (converted_on_load(type)) {
      for (std::size_t i = 0; i < std::size_t(count); ++i) {
        std::uint64_t bits = 0;
        std::memcpy(&bits, raw.data() + i * element, element);  // little-endian host
        store_converted(type, bits, out, i, where);
      }
    } else if (count > 0) {
      std::memcpy(out.bytes().data(), raw.data(), raw.size());  // little-endian host
    }
    return out;
  }
  if (converted_on_load(type)) {
    for (std::size_t i = 0; i < std::size_t(count); ++i) {
      const int k = int(i);
      const std::uint64_t bits = type == onnx::TensorProto::DOUBLE ? std::bit_cast<std::uint64_t>(proto.double_data(k))
                                 : type == onnx::TensorProto::UINT32 || type == onnx::TensorProto::UINT64
                                     ? proto.uint64_data(k)
                                     : std::uint64_t(std::uint32_t(proto.int32_data(k)));
      store_converted(type, bits, out, i, where);
    }
    return out;
  }
  switch (type) {
    case onnx::TensorProto::FLOAT: copy_typed(proto.float_data(), out, count, where); break;
    case onnx::TensorProto::INT64: copy_typed(proto.int64_data(), out, count, where); break;
    default: copy_typed(proto.int32_data(), out, count, where); break;  // int32, int8, uint8, bool
  }
  return out;
}

}  // namespace tinyq
