// TFLite flatbuffer (.tflite) import into tinyq's IR.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "ir/graph.hpp"

namespace tinyq {

// The float function of a .tflite model (float, hybrid or int8: quantized tensors are
// dequantized), as the same NHWC IR the ONNX importer produces. Errors: one line naming
// the file and the operator or tensor.
Graph import_tflite_file(const std::string& path);
// The same from bytes in memory (`where` names them in errors).
Graph import_tflite_bytes(const void* data, std::size_t size, const std::string& where);

// The builtin operators the importer converts, by their TFLite names, sorted.
std::vector<std::string> supported_tflite_ops();

}  // namespace tinyq
