#pragma once
// The C++ sources `tinyq generate` writes for one model and target: the model (weights as
// const arrays, parameters as constexpr structs, the static arena and the call sequence), a
// C header with extern "C" entry points, and the runtime kernels they call.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "codegen/memory_layout.hpp"
#include "codegen/patch_plan.hpp"
#include "codegen/streaming_plan.hpp"
#include "codegen/target.hpp"
#include "ir/qgraph.hpp"

namespace tinyq {

struct GeneratedFile {
  std::string path;  // relative to the output folder
  std::string content;
};

struct GeneratedSources {
  std::vector<GeneratedFile> files;
  MemoryLayout memory;
  std::size_t const_data_bytes = 0;  // weights, biases, tables, multipliers (flash)
  std::size_t peak_scratch_bytes = 0;
  std::size_t input_count = 1;   // input 0: NAME_input(); input k >= 1: NAME_inputk()
  std::size_t output_count = 1;  // output 0: NAME_output(); output k >= 1: NAME_outputk()
  // Streaming code (NAME_reset, NAME_step): the plan (its step graph is `graph` below).
  std::optional<StreamingPlan> streaming;
  // Patch-based first layers (NAME_read_input_rows): the stage, and the arena the model
  // would need layer by layer (with its input in the arena).
  std::optional<PatchPlan> patch;
  std::size_t layer_by_layer_arena_bytes = 0;
  // The graph the generated code runs, node for node: the model's (or the streaming step's),
  // with one-pixel convolutions as dense layers (single_pixel_conv.hpp).
  QGraph graph;
};

struct GenerateOptions {
  // Per-frame code for a model whose time axis is processed causally (streaming_plan.hpp).
  bool streaming = false;
  // Patch-based inference of the first layers (patch_plan.hpp): the stage that gives the
  // smallest arena, or with `patch_ram_limit` the shortest stage (the fewest layers called
  // row by row, so the fewest extra instructions) whose arena fits it.
  bool patch = false;
  std::size_t patch_ram_limit = 0;
};

// `name` must be a C identifier (it prefixes every exported symbol).
GeneratedSources generate_sources(const QGraph& graph, const Target& target, const std::string& name,
                                  const GenerateOptions& options = {});

// The model alone (no runtime files): what generate_sources puts in <name>.cpp and <name>.h.
// The target's kernel path decides weight layouts packed at generation time (DSP dense).
// `streaming`: the graph is plan->step, and the code is NAME_reset / NAME_step.
std::string emit_model_cpp(const QGraph& graph, const Target& target, const std::string& name,
                           const MemoryLayout& memory, std::size_t* const_data_bytes,
                           const StreamingPlan* streaming = nullptr, const PatchPlan* patch = nullptr);
std::string emit_model_header(const QGraph& graph, const Target& target, const std::string& name,
                              const MemoryLayout& memory, const StreamingPlan* streaming = nullptr,
                              const PatchPlan* patch = nullptr);

// The input/output helpers declared in the header, appended to <name>.cpp. With a patch
// stage the input has no buffer (the application gives rows), so it has no helpers.
std::string emit_io_functions(const QGraph& graph, const std::string& name, const MemoryLayout& memory,
                              const PatchPlan* patch = nullptr);

// `s` made safe inside a /* */ or // comment (no newlines, no "*/").
std::string comment_text(const std::string& s);

// The runtime sources embedded in the tinyq binary at build time: relative path → text.
const std::vector<GeneratedFile>& embedded_runtime_files();

}  // namespace tinyq
