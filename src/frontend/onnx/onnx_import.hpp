#pragma once
// ONNX -> tinyq IR. The result keeps ONNX's semantics but stores 4-D activations NHWC:
// weights are re-laid out at import, and layout changes the model really needs appear as
// explicit Transpose nodes (which the passes remove where they are no-ops or foldable).
#include <string>
#include <vector>

#include "ir/graph.hpp"

namespace tinyq {

// Throws tinyq::Error (where = the file, or "file: node 'name'") on any bad input.
Graph import_onnx_file(const std::string& path);
Graph import_onnx_bytes(const void* data, std::size_t size, const std::string& where);

// The ONNX operator types the importer accepts, sorted.
std::vector<std::string> supported_onnx_ops();

}  // namespace tinyq
