#include "frontend/tflite/tflite_import.hpp"

#include "util/error.hpp"

namespace tinyq {

Graph import_tflite_file(const std::string& path) { fail(path, "TFLite import is not implemented yet"); }

}  // namespace tinyq
