// tinyq generate MODEL.tqm --target T -o DIR: C++ sources that run the model on an MCU.
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "codegen/generated_sources.hpp"
#include "codegen/memory_fit.hpp"
#include "codegen/output_folder.hpp"
#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "commands/memory_check.hpp"
#include "commands/quantized_model.hpp"
#include "qmodel/tqm_file.hpp"
#include "util/error.hpp"

namespace tinyq::cli {

namespace {

struct GenerateArgs {
  std::string model, target, output, name;
  MemoryLimits limits;
  bool json = false, streaming = false;
};

// The file's stem as a C identifier: "models/dwsep-v2.tqm" → "dwsep_v2".
std::string default_name(const std::string& path) {
  std::string stem = std::filesystem::path(path).stem().string(), name;
  for (char c : stem) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) name = "model_" + name;
  return name;
}

int run_generate(const GenerateArgs& args) {
  const Target& target = target_by_name(args.target);
  check_output_folder(args.output);  // before any work: exit 2 without touching it
  const QGraph graph = load_quantized_model(args.model);
  const std::string name = args.name.empty() ? default_name(args.model) : args.name;
  GeneratedSources sources = generate_within_limits(graph, target, name, {.streaming = args.streaming}, args.limits);
  const MemoryLayout& m = sources.memory;
  const MemoryNeeds needs = memory_needs(graph, sources, target);
  const std::size_t code = needs.code_bytes, flash = needs.flash(), ram = needs.arena_bytes;
  const std::string breakdown = describe_needs(needs);
  if (const int refused = check_model_fits(args.model, needs, target, args.limits, false)) return refused;
  write_output_folder(args.output, sources.files);
  if (args.json) {
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : sources.files) files.push_back(f.path);
    nlohmann::json j = {{"output", args.output},
                        {"target", target.name},
                        {"name", name},
                        {"flash_bytes", flash},
                        {"const_data_bytes", sources.const_data_bytes},
                        {"code_bytes_estimate", code},
                        {"arena_bytes", ram},
                        {"arena_lower_bound_bytes", m.lower_bound},
                        {"tflm_greedy_arena_bytes", m.tflm_greedy_bytes},
                        {"scratch_bytes", sources.peak_scratch_bytes},
                        {"files", files}};
    if (const auto& patch = sources.patch) {
      j["patch_layers"] = patch->layers.size();
      j["layer_by_layer_arena_bytes"] = sources.layer_by_layer_arena_bytes;
    }
    if (const auto& plan = sources.streaming) {
      j["window_frames"] = plan->window_frames;
      j["frame_bytes"] = plan->frame_bytes;
      j["history_bytes"] = plan->history_bytes();
    }
    print_json(j);
  } else {
    // The result, not a diagnostic: stdout (docs/CLI.md).
    fmt::print("wrote {} files to {} for {}: {}\n", sources.files.size(), args.output, target.name, breakdown);
    fmt::print("arena planner: {} B vs TFLM greedy-by-size {} B\n", ram, m.tflm_greedy_bytes);
    if (sources.patch) fmt::print("{}\n", describe_patch(sources));
    if (const auto& plan = sources.streaming)
      fmt::print(
          "streaming: {} B per frame, a window of {} frames; {} B of layer history and recurrent state kept in the "
          "arena\n",
          plan->frame_bytes, plan->window_frames, plan->history_bytes());
  }
  return kExitOk;
}

}  // namespace

void add_generate_command(CLI::App& app, int& result) {
  auto args = std::make_shared<GenerateArgs>();
  auto* cmd = app.add_subcommand("generate", "Generate C++ sources (model, C header, runtime) for a microcontroller");
  cmd->add_option("model", args->model, "Quantized model: .tqm from tinyq quantize, or an int8 .tflite")->required();
  cmd->add_option("--target", args->target, "cortex-m4, cortex-m7, cortex-m55 or portable")->required();
  cmd->add_option("-o,--output", args->output, "Output folder (new, empty, or from a previous generate)")->required();
  cmd->add_option("--name", args->name, "C identifier prefixing the exported symbols (default: the file's stem)");
  args->limits.add_to(*cmd);
  cmd->add_flag("--streaming", args->streaming,
                "Per-frame code: NAME_reset() and NAME_step() compute only each new frame's rows, keeping the "
                "layers' past rows in the arena (docs/SEQUENCES.md)");
  cmd->add_flag("--json", args->json, "Print one JSON object on stdout");
  cmd->callback([args, &result] {
    try {
      result = run_generate(*args);
    } catch (const std::filesystem::filesystem_error& e) {
      // A bad output path is bad input (exit 2, one line), not an internal error.
      fail(e.path1().empty() ? args->output : e.path1().string(), "{}", e.code().message());
    }
  });
}

}  // namespace tinyq::cli
