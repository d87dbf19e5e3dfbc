// tinyq quantize MODEL.onnx --calib DATA -o MODEL.tqm: calibrate and quantize. A pre-quantized
// int8 .tflite needs no data: it keeps TFLite's own quantization and arithmetic.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "frontend/tflite/tflite_model.hpp"
#include "frontend/tflite/tflite_prequantized.hpp"
#include "qmodel/samples.hpp"
#include "qmodel/tqm_file.hpp"
#include "quant/layer_error.hpp"
#include "quant/quantizer.hpp"
#include "report/html_report.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace tinyq::cli {

namespace {

struct QuantizeArgs {
  std::string model, output, report;
  std::vector<std::string> calib;  // one file per model input
  QuantizeCliOptions quant;
  DataOptions data_options;
  bool json = false, strict = false;
};

nlohmann::json prediction_json(const Prediction& p) {
  nlohmann::json worst = nlohmann::json::array();
  for (auto& [name, sqnr] : p.worst_layers) worst.push_back({{"name", name}, {"sqnr_db", sqnr}});
  return {{"samples", p.samples},
          {"held_back", p.held_back},
          {"output_sqnr_db", p.output_sqnr_db},
          {"top1_agreement", p.agreement},
          {"worst_layers", worst}};
}

bool is_prequantized_model(const std::string& path) {
  return is_tflite_file(path) && is_prequantized_tflite(tflite::read_tflite(path));
}

// A pre-quantized TFLite model: its own scales, zero points and TFLite's arithmetic, nothing
// to calibrate. Options that would choose a quantization are refused rather than ignored, so
// that nobody believes they took effect.
// A concat that keeps its branches' scales: how many there are (0 for any other tensor).
std::size_t branch_scales(const QValue& v) {
  std::vector<float> distinct = v.channel_scales;
  std::sort(distinct.begin(), distinct.end());
  return std::size_t(std::unique(distinct.begin(), distinct.end()) - distinct.begin());
}

// The nodes with an int16 output, in model order.
std::vector<std::string> int16_layers(const QGraph& q) {
  std::vector<std::string> names;
  for (const QNode& n : q.nodes)
    if (q.values[std::size_t(n.output)].quant.bits == 16) names.push_back(n.name);
  return names;
}

// The share of the model's MACs in 16x8 layers (an int16 input or output): what int16 costs in
// speed, about 2-5x their int8 instructions on Cortex-M (docs/BENCHMARKS.md).
double int16_mac_share(const QGraph& q) {
  std::int64_t all = 0, wide = 0;
  for (const QNode& n : q.nodes) {
    const std::int64_t macs = node_macs(n);
    all += macs;
    if (has_int16_tensor(q, n)) wide += macs;
  }
  return all > 0 ? double(wide) / double(all) : 0.0;
}

nlohmann::json int16_json(const QGraph& q) {
  nlohmann::json j{{"mode", q.settings.int16}, {"layers", int16_layers(q)}, {"mac_share", int16_mac_share(q)}};
  if (q.settings.int16_searched) {
    j["sqnr_before_db"] = q.settings.int16_sqnr_before_db;
    j["sqnr_after_db"] = q.settings.int16_sqnr_after_db;
    j["arena_bytes_before"] = q.settings.int16_arena_before;
    j["arena_bytes_after"] = q.settings.int16_arena_after;
    j["ram_budget_bytes"] = q.settings.int16_ram_budget;
  }
  return j;
}

void print_int16_summary(const QGraph& q) {
  const std::vector<std::string> layers = int16_layers(q);
  // Many layers are counted, not listed: the table's bits column and --json list them all.
  constexpr std::size_t kListed = 8;
  std::string names;
  for (const std::string& n : layers) names += (names.empty() ? "" : ", ") + n;
  if (layers.size() > kListed) names = fmt::format("{} tensors (the bits column below)", layers.size());
  if (q.settings.int16_searched && layers.empty())
    fmt::print("int16 auto: int8 output SQNR {:.1f} dB; no int16 layers within the arena budget raised it by 0.5 dB\n",
               q.settings.int16_sqnr_before_db);
  else if (q.settings.int16_searched)
    fmt::print(
        "int16 auto: output SQNR {:.1f} -> {:.1f} dB on calibration data with int16 outputs of {}; arena {} -> "
        "{} bytes (portable kernels, budget +{}); {:.0f}% of the MACs in 16x8 layers\n",
        q.settings.int16_sqnr_before_db, q.settings.int16_sqnr_after_db, names, q.settings.int16_arena_before,
        q.settings.int16_arena_after, q.settings.int16_ram_budget, 100.0 * int16_mac_share(q));
  else if (!layers.empty())
    fmt::print("int16 outputs: {}; {:.0f}% of the MACs in 16x8 layers\n", names, 100.0 * int16_mac_share(q));
}

int run_prequantized(const QuantizeArgs& args) {
  const auto start = std::chrono::steady_clock::now();
  if (!args.calib.empty())
    fail("--calib", "{} is already quantized (int8 TFLite): it keeps its own quantization, no calibration data",
         args.model);
  if (!args.report.empty()) fail("--report", "needs calibration data; {} is already quantized", args.model);
  const QuantizeCliOptions defaults;
  const QuantizeCliOptions& o = args.quant;
  if (o.preset != defaults.preset || !o.scheme.empty() || !o.granularity.empty() || !o.calibration.empty() ||
      !o.bias_correction.empty() || !o.rounding.empty() || !o.range_search.empty() || !o.int16.empty())
    fail(args.model,
         "is already quantized (int8 TFLite): --preset, --scheme, --granularity, --calibration, "
         "--bias-correction, --rounding, --range-search and --int16 do not apply");
  check_output_file(args.output, {args.model});
  const QGraph q = import_prequantized_tflite(args.model);
  const auto bytes = serialize_tqm(q);
  AtomicFile tqm(args.output);
  tqm.write(bytes.data(), bytes.size());
  tqm.commit();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (args.json) {
    nlohmann::json layers = nlohmann::json::array();
    for (const QNode& n : q.nodes) {
      const QValue& out = q.values[std::size_t(n.output)];
      layers.push_back({{"name", n.name},
                        {"op", n.op},
                        {"kernel", qkernel_name(n.kernel)},
                        {"method", out.calibration.method},
                        {"scale", out.quant.scale},
                        {"zero_point", out.quant.zero_point},
                        {"sqnr_db", nullptr}});  // nothing to measure against without data
    }
    print_json({{"output", args.output},
                {"preset", q.settings.preset},
                {"scheme", q.settings.scheme},
                {"granularity", q.settings.granularity},
                {"calibration", q.settings.calibration},
                {"calibration_samples", 0},
                {"prequantized", true},
                {"seconds", seconds},
                {"layers", layers},
                {"warnings", nlohmann::json::array()}});
    return kExitOk;
  }
  fmt::print(
      "imported pre-quantized int8 model {} -> {} in {:.2f} s: TFLite's own scales, zero points and "
      "arithmetic (TFLite Micro's rounding), no calibration\n",
      args.model, args.output, seconds);
  fmt::print("\n{:<30} {:<14} {:>12} {:>5}\n", "layer", "op", "scale", "zp");
  for (const QNode& n : q.nodes) {
    const QValue& out = q.values[std::size_t(n.output)];
    fmt::print("{:<30} {:<14} {:>12.6g} {:>5}\n", column_name(n.name, 30), n.op, out.quant.scale, out.quant.zero_point);
  }
  return kExitOk;
}

int run_quantize(const QuantizeArgs& args) {
  if (is_prequantized_model(args.model)) return run_prequantized(args);
  if (args.calib.empty()) fail("--calib", "is required: calibration samples (.npy or IDX) for {}", args.model);
  auto start = std::chrono::steady_clock::now();
  // Every output checked before the long work and before any is written: a bad --report
  // must not leave the .tqm behind, and no output may overwrite an input.
  std::vector<std::string> inputs{args.model};
  inputs.insert(inputs.end(), args.calib.begin(), args.calib.end());
  check_output_file(args.output, inputs);
  if (!args.report.empty()) {
    check_output_file(args.report, inputs);
    check_distinct_outputs({args.output, args.report});
  }
  Graph graph = load_model(args.model);
  InputSamples holdout;  // samples past --calib-count: the result is checked on them
  const InputSamples calib = load_calibration(graph, args.calib, args.data_options, args.quant.calib_count, &holdout);
  std::vector<std::string> warnings;
  Prediction prediction;
  QGraph q = quantize_model(graph, calib, args.quant, &warnings, holdout, &prediction);
  print_warnings(warnings);
  if (args.strict && !warnings.empty()) {
    fmt::print(stderr, "tinyq: check failed: --strict and {} warning(s); nothing written\n", warnings.size());
    return kExitCheckFailed;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // Per-layer error on (a bounded part of) the calibration set: what each layer costs.
  InputSamples probe = calib.head(graph, 256);
  for (Tensor& t : probe.tensors()) t = clamp_input_outliers(t);  // as calibrated: lone outliers clamped
  auto errors = measure_layer_error(q, probe, args.quant.threads);
  // The .tqm is staged and renamed into place only after the report is written: a failed
  // report leaves neither a new .tqm nor a temporary behind.
  const auto bytes = serialize_tqm(q);
  AtomicFile tqm(args.output);
  tqm.write(bytes.data(), bytes.size());
  if (!args.report.empty()) write_html_report({args.model, &q, errors, std::nullopt}, args.report);
  tqm.commit();
  if (args.json) {
    nlohmann::json layers = nlohmann::json::array();
    for (std::size_t k = 0; k < q.nodes.size(); ++k) {
      const QValue& out = q.values[std::size_t(q.nodes[k].output)];
      layers.push_back({{"name", q.nodes[k].name},
                        {"op", q.nodes[k].op},
                        {"kernel", qkernel_name(q.nodes[k].kernel)},
                        {"method", out.calibration.method},
                        {"scale", out.quant.scale},
                        {"zero_point", out.quant.zero_point},
                        {"bits", out.quant.bits},
                        {"branch_scales", branch_scales(out)},
                        {"sqnr_db", errors[k].sqnr_db}});
    }
    nlohmann::json j{{"output", args.output},
                     {"preset", q.settings.preset},
                     {"scheme", q.settings.scheme},
                     {"granularity", q.settings.granularity},
                     {"calibration", q.settings.calibration},
                     {"calibration_samples", q.settings.calibration_samples},
                     {"rounded_layers", q.settings.rounded_layers},
                     {"searched_ranges", q.settings.searched_ranges},
                     {"int16", int16_json(q)},
                     {"seconds", seconds},
                     {"layers", layers},
                     {"prediction", prediction_json(prediction)},
                     {"warnings", warnings}};
    if (!args.report.empty()) j["report"] = args.report;
    print_json(j);
    return kExitOk;
  }
  fmt::print("quantized {} -> {} (preset {}: {} scheme, per-{} weights, {} calibration on {} samples) in {:.2f} s\n",
             args.model, args.output, q.settings.preset, q.settings.scheme, q.settings.granularity,
             q.settings.calibration, q.settings.calibration_samples, seconds);
  if (q.settings.range_search)
    fmt::print("whole-model range search: {} tensor range(s) moved\n", q.settings.searched_ranges);
  print_int16_summary(q);
  for (const QNode& n : q.nodes)
    if (const std::size_t b = branch_scales(q.values[std::size_t(n.output)]); b > 0)
      fmt::print("{}: its {} branches keep their own scales, folded into the weights of the layers reading it\n",
                 n.name, b);
  fmt::print("\n{:<30} {:<14} {:>12} {:>5} {:>4} {:>9}\n", "layer", "op", "scale", "zp", "bits", "SQNR dB");
  for (std::size_t k = 0; k < q.nodes.size(); ++k) {
    const QValue& out = q.values[std::size_t(q.nodes[k].output)];
    fmt::print("{:<30} {:<14} {:>12.6g} {:>5} {:>4} {:>9.1f}\n", column_name(q.nodes[k].name, 30), q.nodes[k].op,
               out.quant.scale, out.quant.zero_point, out.quant.bits, errors[k].sqnr_db);
  }
  if (prediction.samples > 0)
    fmt::print("\npredicted: output SQNR {:.1f} dB, top-1 agreement with float {:.1f}% on {} {} samples\n",
               prediction.output_sqnr_db, 100 * prediction.agreement, prediction.samples,
               prediction.held_back ? "held-back" : "calibration");
  if (!args.report.empty()) fmt::print("\nreport: {}\n", args.report);
  return kExitOk;
}

}  // namespace

void add_quantize_command(CLI::App& app, int& result) {
  auto args = std::make_shared<QuantizeArgs>();
  auto* cmd = app.add_subcommand(
      "quantize", "Calibrate a float model and quantize it to int8 (.tqm), or import a pre-quantized int8 .tflite");
  cmd->add_option("model", args->model, "Model: ONNX, TFLite or Keras; an int8 .tflite keeps its own quantization")
      ->required();
  cmd->add_option("--calib", args->calib,
                  "Calibration samples: .npy or IDX (.gz); required, except for a pre-quantized int8 .tflite. A model "
                  "of several inputs takes one --calib per input, in its input order")
      ->allow_extra_args(false);
  cmd->add_option("-o,--output", args->output, "Output .tqm file")->required();
  cmd->add_option("--report", args->report,
                  "Also write an HTML report: calibration histograms with the chosen ranges, per-layer SQNR");
  cmd->add_flag("--json", args->json, "Print one JSON object on stdout");
  cmd->add_flag("--strict", args->strict,
                "Exit 1 and write nothing when there is a warning (implausible data, collapsed int8 output)");
  args->quant.add_to(*cmd);
  args->data_options.add_to(*cmd);
  cmd->callback([args, &result] {
    try {
      result = run_quantize(*args);
    } catch (const std::filesystem::filesystem_error& e) {
      // A bad output path is bad input (exit 2, one line), not an internal error.
      fail(e.path1().empty() ? args->output : e.path1().string(), "{}", e.code().message());
    }
  });
}

}  // namespace tinyq::cli
