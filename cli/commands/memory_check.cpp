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
  app.add_flag("--patch", patch,
               "Patch-based inference: the first layers run row by row, the input is read in rows through "
               "NAME_read_input_rows (chosen by itself when the arena exceeds --ram-limit; docs/MEMORY.md)");
}

GeneratedSources generate_within_limits(const QGraph& graph, const Target& target, const std::string& name,
                                        GenerateOptions options, const MemoryLimits& limits) {
  const std::size_t ram = std::size_t(limits.ram);
  options.patch = options.patch || limits.patch;
  options.patch_ram_limit = ram;  // with --patch: the cheapest stage that fits
  GeneratedSources sources = generate_sources(graph, target, name, options);
  if (ram == 0 || sources.memory.arena_bytes() <= ram || options.patch || options.streaming) return sources;
  options.patch = true;
  std::optional<GeneratedSources> patched;
  try {
    patched = generate_sources(graph, target, name, options);
  } catch (const Error&) {
    return sources;  // no row-wise first layers: the limit check reports the layer-by-layer arena
  }
  if (patched->memory.arena_bytes() > ram) return sources;
  fmt::print(stderr,
             "tinyq: note: layer by layer the arena needs {} B, over --ram-limit {}; patch-based first layers ({} "
             "layers row by row) need {} B, so they are used: the input comes through {}_read_input_rows\n",
             sources.memory.arena_bytes(), ram, patched->patch->layers.size(), patched->memory.arena_bytes(), name);
  return std::move(*patched);
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

std::string describe_patch(const GeneratedSources& sources) {
  const PatchPlan& p = *sources.patch;
  const QGraph& graph = sources.graph;
  return fmt::format(
      "patch: the first {} layers (up to {}) run row by row, the input read in rows; arena {} B (layer by layer, "
      "input in the arena: {} B)",
      p.layers.size(), graph.nodes[std::size_t(p.layers.back().node)].name, sources.memory.arena_bytes(),
      sources.layer_by_layer_arena_bytes);
}

}  // namespace tinyq::cli
