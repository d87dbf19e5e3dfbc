// tinyq eval MODEL.tqm|MODEL.onnx --data X --labels Y: float and int8 accuracy side by side.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "exec/classification.hpp"
#include "exec/float_executor.hpp"
#include "exec/int8_executor.hpp"
#include "qmodel/tqm_file.hpp"
#include "quant/layer_error.hpp"
#include "report/html_report.hpp"
#include "util/error.hpp"

namespace tinyq::cli {

namespace {

struct EvalArgs {
  std::string model, labels, report;
  std::vector<std::string> data, calib;  // one file per model input
  DataOptions data_options;
  QuantizeCliOptions quant;
  std::int64_t count = 0;
  double min_accuracy = -1, max_drop = -1;
  bool json = false;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

struct Scores {
  double top1 = 0, top5 = 0;
  std::vector<std::int64_t> predictions;
};

Scores score(const Tensor& outputs, std::int64_t n, const std::vector<std::int64_t>& labels) {
  Tensor s = outputs.reshaped({n, outputs.numel() / n});
  return {top_k_accuracy(s, labels, 1), top_k_accuracy(s, labels, 5), argmax_rows(s)};
}

// The bit width of node k's output (8, or 16 for an int16 layer): measure_layer_error
// lists the nodes in order.
int output_bits(const QGraph& q, std::size_t k) { return q.values[std::size_t(q.nodes[k].output)].quant.bits; }

int run_eval(const EvalArgs& args) {
  auto start = std::chrono::steady_clock::now();
  std::optional<QGraph> q;
  Graph graph;
  if (!args.report.empty()) {
    // The report is about the int8 model; fail before the long work when it cannot be written.
    if (!ends_with(args.model, ".tqm") && args.calib.empty())
      fail("--report", "needs an int8 model (.tqm, or --calib to quantize the ONNX model)");
    if (auto dir = std::filesystem::path(args.report).parent_path();
        !dir.empty() && !std::filesystem::is_directory(dir))
      fail(args.report, "folder {} does not exist", dir.string());
  }
  if (ends_with(args.model, ".tqm")) {
    if (!args.calib.empty()) fail("--calib", "a .tqm model is already quantized");
    q = load_tqm(args.model);
    graph = q->float_graph;
  } else {
    graph = load_model(args.model);
  }
  InputSamples samples = load_inputs(graph, args.data, args.data_options, "--data");
  std::vector<std::int64_t> labels = load_labels(args.labels);
  check_labels(labels, class_count(graph), args.labels);
  std::int64_t n = samples.count(graph);
  if (std::int64_t(labels.size()) != n)
    fail(args.labels, "{} labels for {} samples in {}", labels.size(), n, args.data.front());
  if (args.count > 0 && args.count < n) {
    samples = samples.head(graph, args.count);
    labels.resize(std::size_t(args.count));
    n = args.count;
  }
  if (!args.calib.empty()) {
    std::vector<std::string> warnings;
    q = quantize_model(graph, load_calibration(graph, args.calib, args.data_options, args.quant.calib_count),
                       args.quant, &warnings);
    print_warnings(warnings);
  }

  FloatExecutor float_exec(graph, {.threads = args.quant.threads});
  Scores f = score(float_exec.run(samples.tensors())[0], n, labels);
  std::optional<Scores> i;
  std::vector<LayerError> layers;
  double agreement = 0;
  if (q) {
    Int8Executor int8_exec(*q, {.threads = args.quant.threads});
    i = score(int8_exec.run(samples.tensors())[0], n, labels);
    for (std::int64_t k = 0; k < n; ++k) agreement += f.predictions[std::size_t(k)] == i->predictions[std::size_t(k)];
    agreement /= double(n);
    layers = measure_layer_error(*q, samples.head(graph, 256), args.quant.threads);
    if (!args.report.empty()) {
      auto confusion = [&](const Scores& s) {
        try {
          return confusion_matrix(labels, s.predictions);
        } catch (const Error& e) {
          fail(args.labels, "{}", e.what());  // a negative or huge label
        }
      };
      EvalSummary summary{n, f.top1, f.top5, i->top1, i->top5, agreement, confusion(f), confusion(*i)};
      write_html_report({args.model, &*q, layers, std::move(summary)}, args.report);
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (args.json) {
    nlohmann::json j{
        {"model", args.model}, {"count", n}, {"float", {{"top1", f.top1}, {"top5", f.top5}}}, {"seconds", seconds}};
    if (i) {
      j["int8"] = {{"top1", i->top1}, {"top5", i->top5}};
      j["agreement"] = agreement;
      j["preset"] = q->settings.preset;
      nlohmann::json per_layer = nlohmann::json::array();
      for (std::size_t k = 0; k < layers.size(); ++k)
        per_layer.push_back({{"name", layers[k].name},
                             {"op", layers[k].op},
                             {"bits", output_bits(*q, k)},
                             {"sqnr_db", layers[k].sqnr_db},
                             {"cosine", layers[k].cosine}});
      j["layers"] = per_layer;
    }
    if (!args.report.empty()) j["report"] = args.report;
    print_json(j);
  } else {
    fmt::print("{} samples\n  float: top-1 {:.4f}  top-5 {:.4f}\n", n, f.top1, f.top5);
    if (i) {
      fmt::print("  int8:  top-1 {:.4f}  top-5 {:.4f}   (preset {}; drop {:+.2f} pp; agreement {:.4f})\n", i->top1,
                 i->top5, q->settings.preset, 100.0 * (f.top1 - i->top1), agreement);
      fmt::print("\n  {:<30} {:<14} {:>4} {:>8} {:>8}\n", "layer", "op", "bits", "SQNR dB", "cosine");
      for (std::size_t k = 0; k < layers.size(); ++k)
        fmt::print("  {:<30} {:<14} {:>4} {:>8.1f} {:>8.5f}\n", column_name(layers[k].name, 30), layers[k].op,
                   output_bits(*q, k), layers[k].sqnr_db, layers[k].cosine);
    }
    if (!args.report.empty()) fmt::print("report: {}\n", args.report);
    fmt::print("({:.2f} s)\n", seconds);
  }
  const double checked = i ? i->top1 : f.top1;
  if (args.min_accuracy >= 0 && checked < args.min_accuracy) {
    fmt::print(stderr, "tinyq: check failed: {} top-1 {:.4f} is below --min-accuracy {:.4f}\n", i ? "int8" : "float",
               checked, args.min_accuracy);
    return kExitCheckFailed;
  }
  if (args.max_drop >= 0) {
    if (!i) fail("--max-drop", "needs an int8 model (.tqm, or --calib)");
    const double drop = 100.0 * (f.top1 - i->top1);
    if (drop > args.max_drop) {
      fmt::print(stderr, "tinyq: check failed: int8 top-1 drops {:.2f} pp, more than --max-drop {:.2f}\n", drop,
                 args.max_drop);
      return kExitCheckFailed;
    }
  }
  return kExitOk;
}

}  // namespace

void add_eval_command(CLI::App& app, int& result) {
  auto args = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("eval", "Top-1/top-5 accuracy of the float and int8 model on labelled data");
  cmd->add_option("model", args->model, "Quantized model (.tqm) or ONNX model")->required();
  cmd->add_option("--data", args->data,
                  "Samples: .npy (N×C×H×W or N×features) or IDX (.gz); once per model input, in its input order")
      ->required()
      ->allow_extra_args(false);
  cmd->add_option("--labels", args->labels, "Labels: .npy or IDX")->required();
  cmd->add_option("--calib", args->calib,
                  "With a float model: quantize it first on these samples (once per model input)")
      ->allow_extra_args(false);
  args->data_options.add_to(*cmd);
  args->quant.add_to(*cmd);
  cmd->add_option("--count", args->count, "Use only the first N samples, N >= 1 (default: all)")
      ->check(integer_range(1, kMaxCount));
  cmd->add_option("--min-accuracy", args->min_accuracy,
                  "Exit 1 if top-1 (int8 if present) is below this fraction, 0..1")
      ->check(finite_range(0.0, 1.0));
  cmd->add_option("--max-drop", args->max_drop,
                  "Exit 1 if int8 top-1 is more than this many percentage points below float, 0..100")
      ->check(finite_range(0.0, 100.0));
  cmd->add_option("--report", args->report,
                  "Also write an HTML report: accuracy, confusion matrices, per-layer SQNR and calibration histograms "
                  "(needs an int8 model)");
  cmd->add_flag("--json", args->json, "Print one JSON object on stdout");
  cmd->callback([args, &result] { result = run_eval(*args); });
}

}  // namespace tinyq::cli
