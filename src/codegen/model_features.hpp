#pragma once
// tinyq/model_features.hpp of generated code: the kernel variants the model's layers can
// reach (runtime/src/kernel_features.hpp), so that the others are not linked.
#include <string>

#include "ir/qgraph.hpp"

namespace tinyq {

std::string emit_model_features(const QGraph& graph);

}  // namespace tinyq
