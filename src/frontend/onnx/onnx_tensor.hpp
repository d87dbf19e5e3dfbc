#pragma once
#include <onnx/onnx_pb.h>

#include "ir/tensor.hpp"

namespace tinyq {

// Decode a TensorProto. Checks the declared size before allocating, that raw_data or the
// typed field holds exactly that many elements, and rejects external data.
Tensor tensor_from_onnx(const onnx::TensorProto& proto, const std::string& where);

}  // namespace tinyq
