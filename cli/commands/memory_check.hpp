#pragma once
// `--ram-limit` / `--flash-limit` for generate, verify and bench, and the emulated board's
// own memory for verify and bench: checked before anything is written or linked.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "codegen/generated_sources.hpp"
#include "codegen/memory_fit.hpp"
#include "codegen/target.hpp"
#include "ir/qgraph.hpp"

namespace tinyq::cli {

struct MemoryLimits {
  std::int64_t ram = 0, flash = 0;  // bytes, 0: no limit
  bool patch = false;               // --patch: patch-based first layers (codegen/patch_plan.hpp)
  void add_to(CLI::App& app);
};

// The model's sources with `options` and --patch. When the arena exceeds --ram-limit layer
// by layer and patch-based first layers bring it within, those are chosen (a note on stderr
// says so and why: the input then comes through NAME_read_input_rows); under a limit the
// stage is the shortest that fits (the fewest extra instructions), else the smallest arena.
GeneratedSources generate_within_limits(const QGraph& graph, const Target& target, const std::string& name,
                                        GenerateOptions options, const MemoryLimits& limits);

// One line on the patch stage: its layers, and the arena with it and layer by layer.
std::string describe_patch(const GeneratedSources& sources);

// What the generated model needs: constants, the code estimate, the arena.
MemoryNeeds memory_needs(const QGraph& graph, const GeneratedSources& sources, const Target& target);

// 0 when the model fits. Over the user's limits: one line on stderr naming the limit and what
// the model needs, and kExitCheckFailed. Too large for the QEMU machine of `target` (when
// `on_emulator`): tinyq::Error (exit 2) with what it needs and what the machine has.
int check_model_fits(const std::string& model, const MemoryNeeds& needs, const Target& target,
                     const MemoryLimits& limits, bool on_emulator);

}  // namespace tinyq::cli
