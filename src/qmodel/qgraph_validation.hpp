#pragma once
// Checks that a quantized graph is internally consistent before anything runs it or turns it
// into MCU code: every node's parameters match its tensors' sizes, arrays have the lengths
// the kernel will index, shifts and offsets are in the ranges kernels.hpp promises, and no
// int32 accumulator can overflow. The runtime kernels never check at run time (docs/DESIGN.md:
// every check happens on the host), so a .tqm file — possibly crafted — must pass this
// first. Every integer parameter is range-checked as the 64-bit value the file holds, before
// anything narrows it to the kernels' int32 (2^32 + 1 must not pass as 1). Throws
// tinyq::Error naming `where` and the node.
#include <string>

#include "ir/qgraph.hpp"

namespace tinyq {

void validate_qgraph(const QGraph& graph, const std::string& where);

// The range accepted for an activation scale. Real activations have scales of about
// 1e-10..1e6; the bounds are far outside that yet keep 1 / scale, scale * 2^31 (an int32
// bias range) and the generated C++ float literals finite, normal floats, and the product of
// two scales (a bias scale, Mul's s_a * s_b) a normal double. +inf, NaN, 0, negative or
// denormal scales would print as `inff` / `nanf` or divide by zero on the MCU.
inline constexpr float kMinScale = 1e-20f, kMaxScale = 1e20f;

}  // namespace tinyq
