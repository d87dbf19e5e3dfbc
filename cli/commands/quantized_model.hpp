#pragma once
// The quantized models the MCU commands (run, generate, verify, bench) take: a .tqm written by
// `tinyq quantize`, or a pre-quantized int8 .tflite, whose own quantization is kept (imported
// as `quantize` would, with no calibration).
#include <optional>
#include <string>

#include "ir/qgraph.hpp"

namespace tinyq::cli {

// The model, if the file is a .tqm (by its magic) or an int8 .tflite; nothing for any other
// file. Throws tinyq::Error for a corrupt one of those two.
std::optional<QGraph> load_quantized(const std::string& path);

// load_quantized, or tinyq::Error naming the file: a folder, a float model ("run tinyq
// quantize first"), or not a model at all.
QGraph load_quantized_model(const std::string& path);

}  // namespace tinyq::cli
