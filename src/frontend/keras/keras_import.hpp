// Keras 2 HDF5 (.h5, as saved by model.save) import into tinyq's IR.
#pragma once

#include <string>

#include "ir/graph.hpp"

namespace tinyq {

// The float function of a Keras Sequential or Functional model. Errors: one line naming the
// file and the layer.
Graph import_keras_file(const std::string& path);

}  // namespace tinyq
