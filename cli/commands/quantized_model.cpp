#include "commands/quantized_model.hpp"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "frontend/tflite/tflite_import.hpp"
#include "frontend/tflite/tflite_model.hpp"
#include "frontend/tflite/tflite_prequantized.hpp"
#include "qmodel/tqm_file.hpp"
#include "util/error.hpp"

namespace tinyq::cli {

namespace {

bool starts_with_bytes(const std::string& path, const char* magic, std::size_t offset, std::size_t size) {
  std::ifstream file(path, std::ios::binary);
  std::string head(offset + size, '\0');
  return file && file.read(head.data(), std::streamsize(head.size())) &&
         std::memcmp(head.data() + offset, magic, size) == 0;
}

bool is_tqm_file(const std::string& path) { return starts_with_bytes(path, "TINYQTQM", 0, 8); }

// A float model the user meant to quantize first: ONNX (parses as a ModelProto with a graph),
// a float .tflite, or a Keras HDF5 file.
bool is_float_model(const std::string& path) {
  if (is_tflite_file(path) || starts_with_bytes(path, "\x89HDF\r\n\x1a\n", 0, 8)) return true;
  std::ifstream in(path, std::ios::binary);
  onnx::ModelProto model;
  return in && model.ParseFromIstream(&in) && model.has_graph();
}

}  // namespace

std::optional<QGraph> load_quantized(const std::string& path) {
  if (is_tqm_file(path)) return load_tqm(path);
  if (!is_tflite_file(path)) return std::nullopt;
  tflite::TfliteModel model = tflite::read_tflite(path);  // read once: checked, then imported
  if (!is_prequantized_tflite(model)) return std::nullopt;
  return import_prequantized_tflite(model, import_tflite_file(path));
}

QGraph load_quantized_model(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path, "is a folder, not a .tqm file");
  if (auto q = load_quantized(path)) return std::move(*q);
  if (is_float_model(path))
    fail(path, "is a float model: run `tinyq quantize` first and use its .tqm (an int8 .tflite is taken as it is)");
  return load_tqm(path);  // its parser says what is wrong with the file
}

}  // namespace tinyq::cli
