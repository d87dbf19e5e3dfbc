// TFLite flatbuffer (.tflite) import into tinyq's IR.
#pragma once

#include <string>

#include "ir/graph.hpp"

namespace tinyq {

// The float function of a .tflite model (float, hybrid or int8: quantized tensors are
// dequantized), as the same NHWC IR the ONNX importer produces. Errors: one line naming
// the file and the operator or tensor.
Graph import_tflite_file(const std::string& path);

}  // namespace tinyq
