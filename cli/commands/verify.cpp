// tinyq verify: the generated firmware on QEMU against the host int8 executor, sample by
// sample and byte by byte — the proof that the MCU build is the model that was evaluated.
#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "codegen/firmware.hpp"
#include "codegen/generated_sources.hpp"
#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "commands/mcu_common.hpp"
#include "commands/memory_check.hpp"
#include "commands/quantized_model.hpp"
#include "commands/verify_streaming.hpp"
#include "data/dataset.hpp"
#include "data/npy.hpp"
#include "exec/int8_executor.hpp"
#include "qmodel/samples.hpp"
#include "qmodel/tqm_file.hpp"
#include "util/error.hpp"

namespace tinyq::cli {

namespace {

Tensor first_int8_samples(const Tensor& samples, std::int64_t count) {
  Shape s = samples.shape();
  const std::int64_t per = samples.numel() / s[0];
  s[0] = count;
  Tensor head(DType::i8, s);
  std::copy_n(samples.data<std::int8_t>().begin(), count * per, head.data<std::int8_t>().begin());
  return head;
}

// The stored bytes of `tensors` (int8, source layout, one per value of `values`) as the
// firmware reads and writes them: for each of the `n` samples, every value's bytes in turn.
std::vector<std::int8_t> interleave_samples(const QGraph& graph, const std::vector<int>& values,
                                            const std::vector<Tensor>& tensors, std::int64_t n) {
  std::vector<std::vector<std::int8_t>> stored;
  std::vector<std::size_t> bytes;  // per sample
  for (std::size_t k = 0; k < values.size(); ++k) {
    const QValue& v = graph.values[std::size_t(values[k])];
    stored.push_back(to_stored_bytes(v, tensors[k]));
    bytes.push_back(std::size_t(element_count(v.shape)));
  }
  std::vector<std::int8_t> out;
  for (std::int64_t s = 0; s < n; ++s)
    for (std::size_t k = 0; k < stored.size(); ++k) {
      const auto first = stored[k].begin() + std::ptrdiff_t(std::size_t(s) * bytes[k]);
      out.insert(out.end(), first, first + std::ptrdiff_t(bytes[k]));
    }
  return out;
}

struct VerifyArgs {
  std::string model, target, labels, keep;
  std::vector<std::string> data;  // one file per model input
  std::int64_t count = 100;
  DataOptions data_options;
  MemoryLimits limits;
  bool json = false, streaming = false;
};

int run_verify(const VerifyArgs& args) {
  const Target& target = target_by_name(args.target);
  if (target.qemu_machine.empty()) fail("--target", "'{}' has no emulator (use a cortex-m target)", target.name);
  if (args.count <= 0) fail("--count", "must be at least 1");
  const QGraph graph = load_quantized_model(args.model);
  // Before any work: a model the board cannot hold is refused in one line, not by the linker.
  GeneratedSources sources = generate_within_limits(graph, target, "model", {.streaming = args.streaming}, args.limits);
  if (const int refused = check_model_fits(args.model, memory_needs(graph, sources, target), target, args.limits, true))
    return refused;
  // int8 .npy samples are the model's input bytes already (as `run` takes them, and as TFLite
  // Micro's reference inputs come); anything else is real values, quantized here. One file
  // per model input, in its input order.
  if (args.data.size() != graph.inputs.size())
    fail("--data", "was given {} time(s); the model has {} input(s): give --data once per input, in that order",
         args.data.size(), graph.inputs.size());
  std::vector<Tensor> q_in;  // per input: the first n samples, int8, source layout
  std::int64_t n = args.count;
  std::vector<Tensor> samples;
  for (std::size_t i = 0; i < args.data.size(); ++i) {
    const std::string& path = args.data[i];
    std::optional<Tensor> npy;
    if (path.ends_with(".npy")) npy = read_npy(path);
    const bool int8_data = npy && npy->dtype() == DType::i8;
    samples.push_back(shape_for_input(
        graph.float_graph, i, int8_data ? std::move(*npy) : load_samples(path, args.data_options.preprocess()), path));
    const std::int64_t per_run = graph.values[std::size_t(graph.inputs[i])].source_shape()[0];
    n = std::min(n, samples.back().shape()[0] / per_run);
  }
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const QValue& input = graph.values[std::size_t(graph.inputs[i])];
    const std::int64_t rows = n * input.source_shape()[0];
    q_in.push_back(samples[i].dtype() == DType::i8 ? first_int8_samples(samples[i], rows)
                                                   : quantize_samples(input, head_samples(samples[i], rows)));
  }
  std::vector<std::int64_t> labels;
  if (!args.labels.empty()) {
    labels = load_labels(args.labels);
    check_labels(labels, class_count(graph.float_graph), args.labels);
    if (std::int64_t(labels.size()) < n) fail(args.labels, "{} labels for {} samples", labels.size(), n);
    labels.resize(std::size_t(n));
  }

  if (args.streaming)
    return verify_streaming(
        {args.model, args.keep, &graph, &sources, &target, std::move(q_in[0]), std::move(labels), args.json});

  // Host: the int8 executor on the same int8 inputs, its outputs laid out as the firmware
  // writes them: for each sample, every output in the model's order.
  Int8Executor exec(graph);
  const std::vector<Tensor> host = exec.run_int8(q_in);
  const std::vector<std::int8_t> expected = interleave_samples(graph, graph.outputs, host, n);
  std::vector<std::size_t> output_bytes;  // per sample, per output
  std::size_t out_bytes = 0;              // per sample, all outputs
  for (int out : graph.outputs) {
    output_bytes.push_back(std::size_t(element_count(graph.values[std::size_t(out)].shape)));
    out_bytes += output_bytes.back();
  }

  // MCU: the generated sources, built for the target, on QEMU.
  WorkFolder work(args.keep);
  Firmware fw = build_firmware(sources, target, "model", work.path(), {});
  FirmwareRun run = run_firmware(fw, target, interleave_samples(graph, graph.inputs, q_in, n), true, 1800);
  if (run.outputs.size() != expected.size())
    fail(target.name, "the firmware produced {} output bytes, expected {} ({} samples); see {}", run.outputs.size(),
         expected.size(), n, work.shown());

  std::vector<std::int64_t> mismatches;
  std::int64_t correct = 0;
  for (std::int64_t s = 0; s < n; ++s) {
    const auto* mcu = reinterpret_cast<const std::int8_t*>(run.outputs.data()) + std::size_t(s) * out_bytes;
    if (!std::equal(mcu, mcu + out_bytes, expected.data() + std::size_t(s) * out_bytes)) mismatches.push_back(s);
    // Top-1 on the first output (the classifier's, by the convention the header follows).
    if (!labels.empty()) correct += std::max_element(mcu, mcu + output_bytes[0]) - mcu == labels[std::size_t(s)];
  }
  // Instructions per inference: the markers around each invoke.
  std::vector<std::uint64_t> per_inference;
  for (std::size_t k = 0; k + 1 < run.marker_counts.size(); k += 2)
    per_inference.push_back(run.marker_counts[k + 1] - run.marker_counts[k] - kMarkerOverhead);
  std::sort(per_inference.begin(), per_inference.end());
  const std::uint64_t median = per_inference.empty() ? 0 : per_inference[per_inference.size() / 2];

  if (args.json) {
    nlohmann::json j = {{"target", target.name},           {"count", n},
                        {"mismatches", mismatches.size()}, {"mismatched_samples", mismatches},
                        {"instructions", median},          {"arena_bytes", sources.memory.arena_bytes()},
                        {"flash_bytes", fw.sizes.flash()}};
    if (!labels.empty()) j["top1"] = double(correct) / double(n);
    print_json(j);
  } else {
    fmt::print("{} on {} (QEMU): {} samples, {} differ from the host int8 executor\n", args.model, target.name, n,
               mismatches.size());
    if (!labels.empty())
      fmt::print("on-MCU top-1 accuracy: {:.2f}% ({}/{})\n", 100.0 * double(correct) / double(n), correct, n);
    fmt::print("instructions per inference: {} (median); arena {} B, flash {} B\n", median,
               sources.memory.arena_bytes(), fw.sizes.flash());
  }
  if (!mismatches.empty()) {
    std::string list;
    for (std::size_t i = 0; i < std::min<std::size_t>(mismatches.size(), 10); ++i)
      list += fmt::format("{}{}", i ? ", " : "", mismatches[i]);
    fmt::print(stderr, "tinyq: {} of {} samples differ between {} and the host (first: {})\n", mismatches.size(), n,
               target.name, list);
    return kExitCheckFailed;
  }
  return kExitOk;
}

}  // namespace

void add_verify_command(CLI::App& app, int& result) {
  auto args = std::make_shared<VerifyArgs>();
  auto* cmd = app.add_subcommand("verify",
                                 "Run samples through the generated firmware on QEMU and compare every byte "
                                 "with the host int8 executor");
  cmd->add_option("model", args->model, "Quantized model (.tqm, or an int8 .tflite)")->required();
  cmd->add_option("--target", args->target, "cortex-m4, cortex-m7 or cortex-m55")->required();
  cmd->add_option("--data", args->data, "Samples: .npy or IDX (.gz); once per model input, in its input order")
      ->required()
      ->allow_extra_args(false);
  cmd->add_option("--labels", args->labels, "Labels (.npy or IDX): also report the on-MCU top-1 accuracy");
  cmd->add_option("--count", args->count, "Number of samples, N >= 1 (default 100)")
      ->check(integer_range(1, kMaxCount));
  cmd->add_option("--keep", args->keep, "Build in this folder and keep it");
  cmd->add_flag("--streaming", args->streaming,
                "Verify the streaming step (generate --streaming): the samples are played as one stream of frames, "
                "and after each frame the output must equal the windowed model's on the window ending there");
  cmd->add_flag("--json", args->json, "Print one JSON object on stdout");
  args->data_options.add_to(*cmd);
  args->limits.add_to(*cmd);
  cmd->callback([args, &result] { result = run_verify(*args); });
}

}  // namespace tinyq::cli
