#pragma once
// Whether tinyq has an int8 kernel for a node, decided from the float graph alone (shapes,
// attributes, which inputs are constants), so that `inspect` can say up front what
// `quantize` would stop at after calibrating. Mirrors the checks of quantize_node and its
// helpers that do not depend on calibrated ranges; tests/test_quant_int8_support.cpp holds
// the two against each other.
#include <optional>
#include <string>

#include "ir/graph.hpp"

namespace tinyq {

// Why `node` cannot be quantized to int8 ("no int8 kernel for ..."), or nothing when it can.
std::optional<std::string> int8_unsupported(const Graph& graph, const Node& node);

}  // namespace tinyq
