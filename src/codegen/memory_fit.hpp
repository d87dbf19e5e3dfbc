#pragma once
// Does a generated model fit? Checked before anything is written or linked, so that a model
// too large for the board (the user's --flash-limit / --ram-limit, or the emulated machine's
// memory for verify and bench) gets one line saying what it needs and what there is, instead
// of a linker's "region overflowed" deep in a build log.
#include <cstddef>
#include <optional>
#include <string>

#include "codegen/target.hpp"

namespace tinyq {

struct MemoryNeeds {
  std::size_t const_bytes = 0;  // weights, biases, requantization parameters, tables
  std::size_t code_bytes = 0;   // kernels + the model's call sequence (estimate before linking)
  std::size_t arena_bytes = 0;  // activations, input and output, scratch
  std::size_t arena_lower_bound = 0, scratch_bytes = 0;  // for the message: why the arena is that size
  std::size_t flash() const { return const_bytes + code_bytes; }
};

// "weights and constants X B, code ~Y B (estimate) = flash Z B; arena W B (lower bound L B, largest scratch S B)"
std::string describe_needs(const MemoryNeeds& needs);

// The user's board: flash (constants + code) and RAM (arena) limits in bytes, 0 = none.
// Returns "--ram-limit N" / "--flash-limit N" / both when exceeded, nothing when it fits.
std::optional<std::string> exceeded_limits(const MemoryNeeds& needs, std::size_t ram_limit, std::size_t flash_limit);

// The emulated machine a cortex-m target runs on, with the room the verify/bench firmware
// itself takes (newlib, semihosting, stack and heap) set aside. Returns a sentence naming
// the region that overflows, nothing when the model fits; always nothing for targets
// without an emulator.
std::optional<std::string> exceeds_emulator(const MemoryNeeds& needs, const Target& target);

}  // namespace tinyq
