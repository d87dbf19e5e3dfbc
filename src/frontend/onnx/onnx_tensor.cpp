#include "frontend/onnx/onnx_tensor.hpp"

#include <cstring>

#include "util/error.hpp"

namespace tinyq {

namespace {

DType dtype_from_onnx(int type, const std::string& where) {
  switch (type) {
    case onnx::TensorProto::FLOAT: return DType::f32;
    case onnx::TensorProto::DOUBLE: return DType::f32;  // narrowed on load
    case onnx::TensorProto::INT64: return DType::i64;
    case onnx::TensorProto::INT32: return DType::i32;
    case onnx::TensorProto::INT8: return DType::i8;
    case onnx::TensorProto::UINT8: return DType::u8;
    case onnx::TensorProto::BOOL: return DType::boolean;
    default: fail(where, "tensor element type {} is not supported", onnx::TensorProto::DataType_Name(type));
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
  const std::size_t element_bytes = type == onnx::TensorProto::DOUBLE ? 8 : dtype_size(dtype);
  if (proto.has_raw_data() && proto.raw_data().size() != std::size_t(count) * element_bytes)
    fail(where, "tensor '{}': raw_data has {} bytes, shape {} needs {}", proto.name(), proto.raw_data().size(),
         shape_string(shape), std::size_t(count) * element_bytes);
  const int stored = type == onnx::TensorProto::FLOAT    ? proto.float_data_size()
                     : type == onnx::TensorProto::DOUBLE ? proto.double_data_size()
                     : type == onnx::TensorProto::INT64  ? proto.int64_data_size()
                                                         : proto.int32_data_size();
  if (!proto.has_raw_data() && stored != count)
    fail(where, "tensor holds {} values, its shape declares {}", stored, count);
  Tensor out(dtype, shape);

  if (proto.has_raw_data()) {
    const std::string& raw = proto.raw_data();
    const std::size_t element = type == onnx::TensorProto::DOUBLE ? 8 : dtype_size(dtype);
    if (raw.size() != std::size_t(count) * element)
      fail(where, "tensor '{}': raw_data has {} bytes, shape {} needs {}", proto.name(), raw.size(),
           shape_string(shape), std::size_t(count) * element);
    if (type == onnx::TensorProto::DOUBLE) {
      for (std::int64_t i = 0; i < count; ++i) {
        double v;
        std::memcpy(&v, raw.data() + i * 8, 8);
        out.data<float>()[std::size_t(i)] = float(v);
      }
    } else if (count > 0) {
      std::memcpy(out.bytes().data(), raw.data(), raw.size());  // little-endian host
    }
    return out;
  }
  switch (type) {
    case onnx::TensorProto::FLOAT: copy_typed(proto.float_data(), out, count, where); break;
    case onnx::TensorProto::DOUBLE: copy_typed(proto.double_data(), out, count, where); break;
    case onnx::TensorProto::INT64: copy_typed(proto.int64_data(), out, count, where); break;
    default: copy_typed(proto.int32_data(), out, count, where); break;  // int32, int8, uint8, bool
  }
  return out;
}

}  // namespace tinyq
