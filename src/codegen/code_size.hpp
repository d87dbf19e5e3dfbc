#pragma once
// An estimate of the flash the kernels' code takes, for `generate`'s limits and breakdown
// (generate does not compile; `tinyq bench` reports the real figure from the linked ELF).
// Per kernel family, bytes of .text measured with arm-none-eabi-g++ 12 -O3 on the target
// (docs/BENCHMARKS.md, "Code size"), plus the model's own call sequence.
#include <cstddef>

#include "codegen/target.hpp"
#include "ir/qgraph.hpp"

namespace tinyq {

std::size_t estimate_code_bytes(const QGraph& graph, const Target& target);

}  // namespace tinyq
