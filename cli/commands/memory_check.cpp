#include "commands/memory_check.hpp"

#include <fmt/format.h>

#include "codegen/code_size.hpp"
#include "codegen/memory_fit.hpp"
#include "commands/common.hpp"
#include "util/error.hpp"

namespace tinyq::cli {

void MemoryLimits::add_to(CLI::App& app) {
  app.add_option("--ram-limit", ram, "Fail (exit 1) if the arena needs more bytes than this (0: no limit)")
      ->check(integer_range(0, kMaxCount));
  app.add_option("--flash-limit", flash, "Fail (exit 1) if weights + code need more bytes than this (0: no limit)")
      ->check(integer_range(0, kMaxCount));
}

MemoryNeeds memory_needs(const QGraph& graph, const GeneratedSources& sources, const Target& target) {
  return {sources.const_data_bytes, estimate_code_bytes(graph, target), sources.memory.arena_bytes(),
          sources.memory.lower_bound, sources.peak_scratch_bytes};
}

int check_model_fits(const std::string& model, const MemoryNeeds& needs, const Target& target,
                     const MemoryLimits& limits, bool on_emulator) {
  if (const auto limit = exceeded_limits(needs, std::size_t(limits.ram), std::size_t(limits.flash))) {
    fmt::print(stderr, "tinyq: {} exceeds {}: {}\n", model, *limit, describe_needs(needs));
    return kExitCheckFailed;
  }
  if (on_emulator)
    if (const auto overflow = exceeds_emulator(needs, target))
      fail(model, "does not fit the emulated board: {} (a real board: --flash-limit / --ram-limit)", *overflow);
  return 0;
}

}  // namespace tinyq::cli
