// Pre-quantized TFLite models (int8 activations, as TensorFlow Lite's converter writes them)
// kept with their own quantization: the file's scales, zero points, per-channel int8 weights
// and int32 biases become a QGraph without calibration, and every node uses TFLite's integer
// arithmetic (rounding kRoundTflite: double-rounding requantization, TFLite's add, average
// pool and softmax), so the int8 executor and generated code give TFLite Micro's output
// bytes exactly (docs/TFLITE_INT8.md).
#pragma once

#include <string>

#include "frontend/tflite/tflite_model.hpp"
#include "ir/qgraph.hpp"

namespace tinyq {

// Whether the file is a TFLite FlatBuffer ("TFL3" at bytes 4..7); false when it cannot be read.
bool is_tflite_file(const std::string& path);

// Whether a parsed model is pre-quantized: the tensors its operators compute are quantized
// int8, as are its inputs and outputs once a QUANTIZE right after a float32 input or a
// DEQUANTIZE right before a float32 output is taken off (the int8 tensors become the model's
// edges; tinyq quantizes and dequantizes there itself).
bool is_prequantized_tflite(const tflite::TfliteModel& model);

// The QGraph of a pre-quantized model (QGraph::float_graph: the float importer's function of
// the same file, for reports and float references). Throws tinyq::Error naming the file and the
// operator for an operator or quantization it does not take (any float activation, per-axis
// activations, asymmetric weights, ...).
QGraph import_prequantized_tflite(const std::string& path);
QGraph import_prequantized_tflite(const tflite::TfliteModel& model, Graph float_graph);

// The builtin operators a pre-quantized model may use, by their TFLite names, sorted.
std::vector<std::string> supported_prequantized_tflite_ops();

}  // namespace tinyq
