#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "codegen/generated_sources.hpp"
#include "codegen/model_features.hpp"
#include "codegen/single_pixel_conv.hpp"
#include "util/error.hpp"

namespace tinyq {

std::string comment_text(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '/' && !out.empty() && out.back() == '*') out += ' ';  // "*/" would end the comment
    out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out;
}

namespace {

// The kernel calls a stage makes (each runs its kernel's set-up: the stage's extra cost).
std::int64_t stage_calls(const PatchPlan& plan) {
  std::int64_t calls = 0;
  for (const PatchLayer& l : plan.layers) calls += (l.out_rows + l.group - 1) / l.group;
  return calls;
}

// The patch stage: every prefix of the row-wise chain is planned, with one output row per
// kernel call and with kPixelsPerCall pixels per call. Under a RAM limit the stage that fits
// with the fewest kernel calls wins; otherwise the smallest arena (on ties the fewer calls).
void choose_patch_stage(const QGraph& graph, const Target& target, std::size_t ram_limit, GeneratedSources& out) {
  const std::vector<PatchLayer> grouped = patch_candidates(graph, kPixelsPerCall), single = patch_candidates(graph, 1);
  bool fits = false;
  for (std::size_t count = 1; count <= single.size(); ++count)
    for (const std::vector<PatchLayer>* candidates : {&single, &grouped}) {
      PatchPlan plan = patch_plan(graph, *candidates, count);
      MemoryLayout memory = plan_memory(graph, target, {}, {}, &plan);
      const bool plan_fits = ram_limit > 0 && memory.arena_bytes() <= ram_limit;
      bool better = !out.patch;
      if (!better && plan_fits)
        better = !fits || stage_calls(plan) < stage_calls(*out.patch) ||
                 (stage_calls(plan) == stage_calls(*out.patch) && memory.arena_bytes() < out.memory.arena_bytes());
      if (!better && !fits && !plan_fits)
        better = memory.arena_bytes() < out.memory.arena_bytes() ||
                 (memory.arena_bytes() == out.memory.arena_bytes() && stage_calls(plan) < stage_calls(*out.patch));
      if (better) {
        out.patch = std::move(plan);
        out.memory = std::move(memory);
        fits = plan_fits;
      }
    }
}

}  // namespace

GeneratedSources generate_sources(const QGraph& windowed, const Target& target, const std::string& name,
                                  const GenerateOptions& options) {
  if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_') ||
      !std::all_of(name.begin(), name.end(),
                   [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }))
    fail("--name", "'{}' is not a C identifier (letters, digits and _, not starting with a digit)", name);
  if (windowed.inputs.empty()) fail("generate", "the model has no inputs");
  if (windowed.outputs.empty()) fail("generate", "the model has no outputs");
  GeneratedSources out;
  out.input_count = windowed.inputs.size();
  out.output_count = windowed.outputs.size();
  if (options.streaming && options.patch)
    fail("--patch", "streams images row by row within one inference; it does not combine with --streaming");
  if (options.streaming) out.streaming = plan_streaming(windowed);
  out.graph = out.streaming ? out.streaming->step : windowed;
  run_single_pixel_convs_as_dense(out.graph);
  const QGraph& graph = out.graph;
  const StreamingPlan* plan = out.streaming ? &*out.streaming : nullptr;
  std::vector<std::size_t> state_bytes;  // recurrent states kept across steps
  if (plan)
    for (const RecurrentState& r : plan->states) state_bytes.push_back(r.words * sizeof(std::int32_t));
  out.memory = plan_memory(graph, target, plan ? plan->storage_bytes : std::vector<std::size_t>{}, state_bytes);
  out.layer_by_layer_arena_bytes = out.memory.arena_bytes();
  if (options.patch) choose_patch_stage(graph, target, options.patch_ram_limit, out);
  const PatchPlan* patch = out.patch ? &*out.patch : nullptr;
  if (plan) out.memory.view_bytes = plan->view_bytes;
  for (std::size_t b : out.memory.scratch_bytes) out.peak_scratch_bytes = std::max(out.peak_scratch_bytes, b);
  std::string cpp = emit_model_cpp(graph, target, name, out.memory, &out.const_data_bytes, plan, patch);
  cpp += emit_io_functions(graph, name, out.memory, patch);
  out.files.push_back({name + ".h", emit_model_header(graph, target, name, out.memory, plan, patch)});
  out.files.push_back({name + ".cpp", std::move(cpp)});
  for (const auto& f : embedded_runtime_files()) out.files.push_back(f);
  out.files.push_back({"tinyq/include/tinyq/model_features.hpp", emit_model_features(graph)});
  return out;
}

}  // namespace tinyq
