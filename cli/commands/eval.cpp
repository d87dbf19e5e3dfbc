// tinyq eval MODEL --data X --labels Y: accuracy of the float model (int8 comes with the quantizer).
#include <fmt/format.h>

#include <chrono>

#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "exec/classification.hpp"
#include "exec/float_executor.hpp"
#include "util/error.hpp"

namespace tinyq::cli {

namespace {

struct EvalArgs {
  std::string model, data, labels;
  DataOptions data_options;
  std::int64_t count = 0;
  int threads = 0;
  double min_accuracy = -1;
  bool json = false;
};

int run_eval(const EvalArgs& args) {
  auto start = std::chrono::steady_clock::now();
  Graph graph = load_model(args.model);
  Tensor samples = shape_for_model(graph, load_samples(args.data, args.data_options.preprocess()), args.data);
  std::vector<std::int64_t> labels = load_labels(args.labels);
  const std::int64_t per_run = graph.value(graph.inputs[0]).source_shape()[0];
  std::int64_t n = samples.shape()[0] / per_run;
  if (std::int64_t(labels.size()) != n)
    fail(args.labels, "{} labels for {} samples in {}", labels.size(), n, args.data);
  if (args.count > 0 && args.count < n) {
    Shape s = samples.shape();
    s[0] = args.count * per_run;
    Tensor head(DType::f32, s);
    std::copy_n(samples.f32().begin(), head.numel(), head.f32().begin());
    samples = std::move(head);
    labels.resize(std::size_t(args.count));
    n = args.count;
  }
  if (graph.outputs.empty()) fail(args.model, "model has no outputs");
  FloatExecutor executor(graph, {.threads = args.threads});
  Tensor scores = executor.run({samples})[0];
  scores = scores.reshaped({n, scores.numel() / n});
  const double top1 = top_k_accuracy(scores, labels, 1), top5 = top_k_accuracy(scores, labels, 5);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (args.json) {
    print_json({{"model", args.model}, {"count", n}, {"float", {{"top1", top1}, {"top5", top5}}}, {"seconds", seconds}});
  } else {
    fmt::print("{} samples: float top-1 {:.4f}, top-5 {:.4f} ({:.2f} s, {} threads)\n", n, top1, top5, seconds,
               executor.threads());
  }
  if (args.min_accuracy >= 0 && top1 < args.min_accuracy) {
    fmt::print(stderr, "tinyq: check failed: top-1 {:.4f} is below --min-accuracy {:.4f}\n", top1, args.min_accuracy);
    return kExitCheckFailed;
  }
  return kExitOk;
}

}  // namespace

void add_eval_command(CLI::App& app, int& result) {
  auto args = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("eval", "Top-1/top-5 accuracy of the model on labelled data");
  cmd->add_option("model", args->model, "ONNX model")->required();
  cmd->add_option("--data", args->data, "Samples: .npy (N×C×H×W or N×features) or IDX (.gz)")->required();
  cmd->add_option("--labels", args->labels, "Labels: .npy or IDX")->required();
  args->data_options.add_to(*cmd);
  cmd->add_option("--count", args->count, "Use only the first N samples");
  cmd->add_option("--threads", args->threads, "Worker threads (default: all cores)");
  cmd->add_option("--min-accuracy", args->min_accuracy, "Exit 1 if top-1 is below this fraction");
  cmd->add_flag("--json", args->json, "Print one JSON object on stdout");
  cmd->callback([args, &result] { result = run_eval(*args); });
}

}  // namespace tinyq::cli
