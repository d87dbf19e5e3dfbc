// The float importer: parse (tflite_model.cpp), then convert (tflite_converter.cpp).
#include "frontend/tflite/tflite_import.hpp"

#include <algorithm>

#include "frontend/tflite/tflite_converter.hpp"
#include "frontend/tflite/tflite_model.hpp"

namespace tinyq {

Graph import_tflite_file(const std::string& path) {
  const tflite::TfliteModel model = tflite::read_tflite(path);
  return tflite::Converter(model).convert();
}

Graph import_tflite_bytes(const void* data, std::size_t size, const std::string& where) {
  const tflite::TfliteModel model = tflite::read_tflite_bytes(data, size, where);
  return tflite::Converter(model).convert();
}

std::vector<std::string> supported_tflite_ops() {
  std::vector<std::string> ops;
  for (const auto& [code, _] : tflite::converters()) ops.push_back(tflite::builtin_name(code));
  std::sort(ops.begin(), ops.end());
  return ops;
}

}  // namespace tinyq
