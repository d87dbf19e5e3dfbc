#pragma once
// Checks that a quantized graph is internally consistent before anything runs it or turns it
// into MCU code: every node's parameters match its tensors' sizes, arrays have the lengths
// the kernel will index, shifts and offsets are in the ranges kernels.hpp promises, and no
// int32 accumulator can overflow. The runtime kernels never check at run time (DESIGN.md:
// every check happens on the host), so a .tqm file — possibly crafted — must pass this
// first. Throws tinyq::Error naming `where` and the node.
#include <string>

#include "ir/qgraph.hpp"

namespace tinyq {

void validate_qgraph(const QGraph& graph, const std::string& where);

}  // namespace tinyq
