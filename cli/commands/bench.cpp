// tinyq bench: instructions per inference and per layer on an emulated Cortex-M (QEMU with
// an exact instruction-count plugin), arena and flash; or the reference layers (bench/reference_layers).
// --cycles adds an estimate of cycles and milliseconds from the instruction mix
// (codegen/cycle_model.cpp).
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "codegen/cycle_model.hpp"
#include "codegen/firmware.hpp"
#include "codegen/generated_sources.hpp"
#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "commands/mcu_common.hpp"
#include "commands/memory_check.hpp"
#include "commands/quantized_model.hpp"
#include "qmodel/samples.hpp"
#include "qmodel/tqm_file.hpp"
#include "util/error.hpp"
#include "util/process.hpp"

namespace tinyq::cli {

namespace {

struct BenchArgs {
  std::string model, target = "cortex-m4", keep, optimization = "O3";
  bool reference_layers = false, json = false, streaming = false;
  bool cycles = false;
  double mhz = 0;  // 0: the core's default (default_mhz)
  unsigned wait_states = 0;
  bool mhz_given = false, wait_states_given = false;
  MemoryLimits limits;
};

int run_reference_layers(const BenchArgs& args) {
  const Target& target = target_by_name(args.target);
  if (target.qemu_machine.empty()) fail("--target", "'{}' has no emulator (use a cortex-m target)", target.name);
  WorkFolder work(args.keep);
  const auto script = cortex_m_dir().parent_path().parent_path() / "bench" / "reference_layers" / "run.sh";
  if (!std::filesystem::exists(script))
    fail(printable(script), "the reference-layer benchmark is missing (check TINYQ_HOME)");
  // No shell: the folder names go to the script as they are (run.sh quotes its variables).
  const auto log = work.path() / "run.log";
  const ProcessResult ran = run_process({"/bin/sh", script.string(), target.name, "--build-dir", work.path().string()},
                                        logged_in(work.path(), log));
  if (!ran.ok()) fail(target.name, "the reference-layer firmware failed ({}); see {}", ran.describe(), printable(log));
  std::ifstream results(work.path() / target.name / "results.tsv");
  nlohmann::json layers = nlohmann::json::array();
  std::int64_t total = 0, total_cmsis = 0;
  std::string line;
  std::getline(results, line);  // header
  if (!args.json) fmt::print("{:<5} {:>12} {:>12} {:>7} {:>10}\n", "layer", "tinyq", "CMSIS-NN", "ratio", "MACs/insn");
  while (std::getline(results, line)) {
    std::istringstream f(line);
    std::string id, mpi;
    std::int64_t insns = 0, cmsis = 0;
    double ratio = 0;
    f >> id >> insns >> cmsis >> ratio >> mpi;
    if (id == "all") {
      total = insns, total_cmsis = cmsis;
      continue;
    }
    nlohmann::json layer = {{"name", id}, {"instructions", insns}, {"cmsis_nn_instructions", cmsis}, {"ratio", ratio}};
    if (mpi != "-") layer["macs_per_instruction"] = std::stod(mpi);
    layers.push_back(layer);
    if (!args.json) fmt::print("{:<5} {:>12} {:>12} {:>7.2f} {:>10}\n", id, insns, cmsis, ratio, mpi);
  }
  if (layers.empty()) fail(target.name, "the reference-layer run wrote no results; see {}", printable(log));
  if (args.json)
    print_json({{"target", target.name},
                {"reference_layers", true},
                {"instructions", total},
                {"cmsis_nn_instructions", total_cmsis},
                {"layers", layers}});
  else
    fmt::print("{:<5} {:>12} {:>12} {:>7.2f}\n", "all", total, total_cmsis, double(total) / double(total_cmsis));
  return kExitOk;
}

int run_bench(const BenchArgs& args) {
  if (!args.cycles && (args.mhz_given || args.wait_states_given))
    fail(args.mhz_given ? "--mhz" : "--wait-states", "only means something with --cycles");
  if (args.reference_layers && args.cycles) fail("--cycles", "estimates a model's cycles, not --reference-layers");
  if (args.reference_layers && args.streaming) fail("--streaming", "benchmarks a model, not --reference-layers");
  if (args.reference_layers) return run_reference_layers(args);
  if (args.model.empty()) fail("bench", "give a model (.tqm) or --reference-layers");
  const Target& target = target_by_name(args.target);
  if (target.qemu_machine.empty()) fail("--target", "'{}' has no emulator (use a cortex-m target)", target.name);
  const std::optional<CycleCore> core = cycle_core(target.name);
  if (args.cycles && !core)
    fail("--cycles", "no cycle model for {} (Helium's beat-wise timing is not modelled); use cortex-m4 or cortex-m7",
         target.name);
  const double mhz = core ? (args.mhz > 0 ? args.mhz : default_mhz(*core)) : 0.0;
  if (args.optimization != "O3" && args.optimization != "O2" && args.optimization != "Os")
    fail("--opt", "'{}' is not O3, O2 or Os", args.optimization);
  const QGraph windowed = load_quantized_model(args.model);
  const std::string name = "model";
  GeneratedSources sources = generate_within_limits(windowed, target, name, {.streaming = args.streaming}, args.limits);
  if (const int refused =
          check_model_fits(args.model, memory_needs(windowed, sources, target), target, args.limits, true))
    return refused;
  // Streaming: one step, on one frame; its layers are the step graph's (one new row each).
  const QGraph& graph = sources.graph;
  WorkFolder work(args.keep);
  Firmware fw = build_firmware(sources, target, name, work.path(), {"-" + args.optimization, true});
  // One inference on inputs of real zeros (the zero points): the kernels' instruction
  // counts do not depend on the values except through clamping.
  // Streaming: a window of frames, and the last step counted (recurrent layers after
  // convolutions start once those have filled their windows).
  const std::size_t runs = sources.streaming ? std::size_t(sources.streaming->window_frames) : 1;
  std::vector<std::int8_t> zeros;
  for (std::size_t r = 0; r < runs; ++r)
    for (int in : graph.inputs) {
      const QValue& input = graph.values[std::size_t(in)];
      zeros.insert(zeros.end(), std::size_t(element_count(input.shape)), std::int8_t(input.quant.zero_point));
    }
  FirmwareRun run = run_firmware(fw, target, zeros, true, 600, args.cycles);

  std::vector<int> layers;  // nodes with a kernel call, in execution order
  for (int n : sources.memory.order)
    if (graph.nodes[std::size_t(n)].kernel != QKernel::Reshape) layers.push_back(n);
  // A patch stage runs its layers interleaved: one count for all, at its last layer.
  std::int64_t stage_macs = 0;
  if (const auto& patch = sources.patch) {
    for (const PatchLayer& l : patch->layers) stage_macs += node_macs(graph.nodes[std::size_t(l.node)]);
    std::erase_if(layers, [&](int n) { return patch->contains(n) && n != patch->layers.back().node; });
  }
  // Markers of one run: before, after each layer, after. Streaming counts the last step.
  const std::size_t per_run = layers.size() + 2;
  if (run.marker_counts.size() > per_run)
    run.marker_counts.erase(run.marker_counts.begin(), run.marker_counts.end() - std::ptrdiff_t(per_run));
  if (run.marker_mix.size() > per_run)
    run.marker_mix.erase(run.marker_mix.begin(), run.marker_mix.end() - std::ptrdiff_t(per_run));
  const auto& c = run.marker_counts;
  if (c.size() != layers.size() + 2)
    fail(target.name, "expected {} instruction-count markers, the run gave {}; see {}", layers.size() + 2, c.size(),
         printable(fw.dir / "counts.txt"));
  if (args.cycles && run.marker_mix.size() != c.size())
    fail(target.name, "the run gave {} instruction mixes for {} markers; see {}", run.marker_mix.size(), c.size(),
         printable(fw.dir / "counts.txt"));
  // The mix between two snapshots, without the marker overhead (two taken branches per interval).
  auto mix_between = [&](std::size_t from, std::size_t to) {
    InstructionMix m = run.marker_mix[to].since(run.marker_mix[from]);
    m.remove_marker_overhead(to - from);
    return m;
  };
  auto mix_json = [](const InstructionMix& m) {
    nlohmann::json j = nlohmann::json::object();
    for (std::size_t k = 0; k < kMixCounters; ++k) j[std::string(mix_name(Mix(k)))] = m.n[k];
    return j;
  };
  nlohmann::json layer_json = nlohmann::json::array();
  std::int64_t macs = 0;
  const std::uint64_t total = c.back() - c.front() - kMarkerOverhead * (layers.size() + 1);
  // Streaming: after its last layer the step moves every history up one row.
  const std::uint64_t shifts = c.back() - c[layers.size()] - kMarkerOverhead;
  if (!args.json)
    fmt::print("{:>3}  {:<32} {:<20} {:>10} {:>12} {:>9}{}\n", "#", "layer", "kernel", "MACs", "instructions",
               "MACs/insn", args.cycles ? fmt::format(" {:>12} {:>9}", "~cycles", "~ms") : "");
  for (std::size_t k = 0; k < layers.size(); ++k) {
    const QNode& n = graph.nodes[std::size_t(layers[k])];
    const std::uint64_t insns = c[k + 1] - c[k] - kMarkerOverhead;
    const bool stage = sources.patch && sources.patch->contains(layers[k]);
    const std::int64_t m = stage ? stage_macs : node_macs(n);
    const std::string layer_name = stage ? fmt::format("patch stage: {} layers", sources.patch->layers.size()) : n.name;
    macs += m;
    nlohmann::json layer = {{"name", layer_name},
                            {"op", n.op},
                            {"kernel", stage ? "RowStage" : qkernel_name(n.kernel)},
                            {"macs", m},
                            {"instructions", insns}};
    std::string cycle_columns;
    if (args.cycles) {
      const InstructionMix mix = mix_between(k, k + 1);
      const CycleEstimate e = estimate_cycles(mix, *core, args.wait_states);
      layer["cycles"] = e.cycles;
      layer["cycles_low"] = e.low;
      layer["cycles_high"] = e.high;
      layer["milliseconds"] = cycles_to_ms(e.cycles, mhz);
      layer["instruction_mix"] = mix_json(mix);
      cycle_columns = fmt::format(" {:>12} {:>9.3f}", e.cycles, cycles_to_ms(e.cycles, mhz));
    }
    layer_json.push_back(layer);
    if (!args.json)
      fmt::print("{:>3}  {:<32} {:<20} {:>10} {:>12} {:>9}{}\n", k, column_name(layer_name, 32),
                 stage ? "RowStage" : qkernel_name(n.kernel), m, insns,
                 m > 0 ? fmt::format("{:.3f}", double(m) / double(insns)) : "", cycle_columns);
  }
  nlohmann::json cycles_json;
  std::string cycles_text;
  if (args.cycles) {
    const InstructionMix mix = mix_between(0, c.size() - 1);
    const CycleEstimate e = estimate_cycles(mix, *core, args.wait_states);
    cycles_json = {{"cycles", e.cycles},
                   {"cycles_low", e.low},
                   {"cycles_high", e.high},
                   {"milliseconds", cycles_to_ms(e.cycles, mhz)},
                   {"milliseconds_low", cycles_to_ms(e.low, mhz)},
                   {"milliseconds_high", cycles_to_ms(e.high, mhz)},
                   {"mhz", mhz},
                   {"wait_states", args.wait_states},
                   {"cycles_are_estimate", true},
                   {"cycle_model", cycle_model_description(*core, args.wait_states)},
                   {"instruction_mix", mix_json(mix)}};
    cycles_text = fmt::format(
        "~{} cycles per inference (range {}..{}) = ~{:.3f} ms at {:g} MHz ({:.2f} cycles/instruction)\n"
        "  an ESTIMATE, not a measurement: {}\n",
        e.cycles, e.low, e.high, cycles_to_ms(e.cycles, mhz), mhz, total ? double(e.cycles) / double(total) : 0.0,
        cycle_model_description(*core, args.wait_states));
  }
  const FirmwareSizes& s = fw.sizes;
  if (args.json) {
    nlohmann::json out = {{"target", target.name},
                          {"model", args.model},
                          {"instructions", total},
                          {"macs", macs},
                          {"macs_per_instruction", total ? double(macs) / double(total) : 0.0},
                          {"layers", layer_json},
                          {"arena_bytes", sources.memory.arena_bytes()},
                          {"flash_bytes", s.flash()},
                          {"runtime_code_bytes", s.runtime_code},
                          {"model_code_bytes", s.model_code},
                          {"const_data_bytes", s.const_data},
                          {"optimization", "-" + args.optimization}};
    if (args.cycles) out.update(cycles_json);
    if (const auto& patch = sources.patch) {
      out["patch_layers"] = patch->layers.size();
      out["layer_by_layer_arena_bytes"] = sources.layer_by_layer_arena_bytes;
    }
    if (const auto& plan = sources.streaming) {
      out["streaming"] = true;
      out["window_frames"] = plan->window_frames;
      out["history_bytes"] = plan->history_bytes();
      out["history_shift_instructions"] = shifts;
    }
    print_json(out);
  } else {
    fmt::print("\n{} on {} (-{}): {} instructions per {}, {} MACs ({:.3f} MACs/instruction)\n", args.model, target.name,
               args.optimization, total, sources.streaming ? "frame (streaming step)" : "inference", macs,
               total ? double(macs) / double(total) : 0.0);
    if (const auto& plan = sources.streaming)
      fmt::print(
          "streaming: a window of {} frames; {} B of layer history in the arena, moved up one row per "
          "frame in {} instructions\n",
          plan->window_frames, plan->history_bytes(), shifts);
    if (sources.patch) fmt::print("{}\n", describe_patch(sources));
    fmt::print("arena {} B; flash {} B = runtime code {} B + model code {} B + weights and constants {} B\n",
               sources.memory.arena_bytes(), s.flash(), s.runtime_code, s.model_code, s.const_data);
    fmt::print("{}", cycles_text);
  }
  return kExitOk;
}

}  // namespace

void add_bench_command(CLI::App& app, int& result) {
  auto args = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand("bench", "Instructions per inference and per layer on an emulated Cortex-M (QEMU)");
  cmd->add_option("model", args->model, "Quantized model (.tqm, or an int8 .tflite)");
  cmd->add_option("--target", args->target, "cortex-m4 (default), cortex-m7 or cortex-m55");
  cmd->add_flag("--reference-layers", args->reference_layers,
                "Run the reference layer set (bench/reference_layers: L1 ... R1) instead of a model, next to CMSIS-NN");
  cmd->add_option("--opt", args->optimization, "Compiler optimization: O3 (default, as CMSIS-NN's figures), O2, Os");
  cmd->add_option("--keep", args->keep, "Build in this folder and keep it (sources, Makefile, ELF, map, counts)");
  cmd->add_flag("--json", args->json, "Print one JSON object on stdout");
  cmd->add_flag("--streaming", args->streaming,
                "Benchmark the streaming step (generate --streaming): instructions per input frame");
  cmd->add_flag("--cycles", args->cycles,
                "Also estimate cycles and milliseconds per inference and per layer from the instruction mix "
                "(cortex-m4, cortex-m7; an estimate, see docs/BENCHMARKS.md)");
  cmd->add_option("--mhz", args->mhz, "Clock for --cycles' milliseconds (default 168 on cortex-m4, 216 on cortex-m7)")
      ->check(positive_finite());
  cmd->add_option("--wait-states", args->wait_states,
                  "Flash wait states for --cycles: added to each data read from flash and each branch refill "
                  "(default 0)")
      ->check(integer_range(0, 15));
  args->limits.add_to(*cmd);
  cmd->callback([args, cmd, &result] {
    args->mhz_given = cmd->count("--mhz") > 0;
    args->wait_states_given = cmd->count("--wait-states") > 0;
    result = run_bench(*args);
  });
}

}  // namespace tinyq::cli
