#include "frontend/keras/keras_import.hpp"

#include "util/error.hpp"

namespace tinyq {

Graph import_keras_file(const std::string& path) { fail(path, "Keras import is not implemented yet"); }

}  // namespace tinyq
