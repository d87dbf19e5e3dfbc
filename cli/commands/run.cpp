// tinyq run MODEL --input x.npy -o y.npy: a model on the caller's data. A float model runs in
// float; a quantized one (.tqm, or a pre-quantized int8 .tflite) runs on the int8 executor,
// the MCU's arithmetic.
#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "commands/quantized_model.hpp"
#include "data/dataset.hpp"
#include "data/npy.hpp"
#include "exec/float_executor.hpp"
#include "exec/int8_executor.hpp"
#include "frontend/tflite/tflite_model.hpp"
#include "frontend/tflite/tflite_prequantized.hpp"
#include "qmodel/tqm_file.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace tinyq::cli {

namespace {

struct RunArgs {
  std::string model;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  int threads = 0;
  bool raw = false;
};

void check_counts(const RunArgs& args, std::size_t model_inputs, std::size_t model_outputs) {
  if (args.inputs.size() != model_inputs && model_inputs == 0)
    fail("--input", "the model has no inputs (its outputs are constants): run it without --input");
  if (args.inputs.size() != model_inputs)
    fail("--input", "the model has {} inputs, {} given", model_inputs, args.inputs.size());
  if (args.outputs.size() > model_outputs)
    fail("-o", "the model has {} outputs, {} paths given", model_outputs, args.outputs.size());
}

void write_outputs(const RunArgs& args, const std::vector<Tensor>& results) {
  for (std::size_t i = 0; i < args.outputs.size(); ++i) {
    write_npy(args.outputs[i], results[i]);
    fmt::print("wrote {} {}\n", args.outputs[i], shape_string(results[i].shape()));  // stdout, as docs/CLI.md says
  }
}

// The float model, float32 in and out.
int run_float(const RunArgs& args) {
  if (args.raw) fail("--raw", "{} is a float model: it has no int8 outputs (quantize it first)", args.model);
  Graph graph = load_model(args.model);
  check_counts(args, graph.inputs.size(), graph.outputs.size());
  std::vector<Tensor> data;
  for (auto& path : args.inputs) {
    Tensor t = read_npy(path);
    if (t.dtype() != DType::f32) t = t.cast(DType::f32);
    check_finite(path, t);  // NaN in gives NaN out, silently
    data.push_back(std::move(t));
  }
  try {
    sample_count(graph, data);
  } catch (const Error& e) {
    fail(args.inputs[0], "{}", e.what());
  }
  FloatExecutor executor(graph, {.threads = args.threads});
  write_outputs(args, executor.run(data));
  return kExitOk;
}

// The int8 model: an int8 input is taken as already quantized with the input's scale and
// zero point (as the MCU receives it), anything else is read as real values and quantized
// here. Outputs: int8 as the model holds them (--raw) or dequantized float32.
int run_int8(const RunArgs& args, const QGraph& q) {
  check_counts(args, q.inputs.size(), q.outputs.size());
  std::vector<Tensor> data;
  for (std::size_t i = 0; i < args.inputs.size(); ++i) {
    Tensor t = read_npy(args.inputs[i]);
    if (t.dtype() == DType::i8) {
      data.push_back(std::move(t));
      continue;
    }
    if (t.dtype() != DType::f32) t = t.cast(DType::f32);
    check_finite(args.inputs[i], t);
    Tensor quantized(DType::i8, t.shape());
    const QuantParam& p = q.values[std::size_t(q.inputs[i])].quant;
    auto src = t.f32();
    auto dst = quantized.data<std::int8_t>();
    for (std::size_t k = 0; k < src.size(); ++k) dst[k] = quantize_to_int8(src[k], p);
    data.push_back(std::move(quantized));
  }
  const Int8Executor executor(q, {.threads = args.threads});
  std::vector<Tensor> results;
  try {
    results = executor.run_int8(data);
  } catch (const Error& e) {  // shapes that do not fit the model: bad input, naming the file
    fail(args.inputs[0], "{}", e.what());
  }
  if (!args.raw) {
    for (std::size_t o = 0; o < results.size(); ++o) {
      const QuantParam& p = q.values[std::size_t(q.outputs[o])].quant;
      Tensor real(DType::f32, results[o].shape());
      auto src = results[o].data<std::int8_t>();
      auto dst = real.f32();
      for (std::size_t k = 0; k < src.size(); ++k) dst[k] = p.scale * float(src[k] - p.zero_point);
      results[o] = std::move(real);
    }
  }
  write_outputs(args, results);
  return kExitOk;
}

int run_run(const RunArgs& args) {
  // Before any work: no output may overwrite an input or another output.
  std::vector<std::string> inputs = args.inputs;
  inputs.push_back(args.model);
  for (const auto& out : args.outputs) check_output_file(out, inputs);
  check_distinct_outputs(args.outputs);
  if (std::error_code ec; std::filesystem::is_directory(args.model, ec))
    fail(args.model, "is a folder, not a model file");
  if (std::optional<QGraph> q = load_quantized(args.model)) return run_int8(args, *q);
  return run_float(args);
}

}  // namespace

void add_run_command(CLI::App& app, int& result) {
  auto args = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand(
      "run", "Run a model on .npy inputs and write the outputs as .npy (a .tqm or int8 .tflite on the int8 executor)");
  cmd->add_option("model", args->model, "Float model (ONNX, TFLite, Keras), .tqm, or pre-quantized int8 .tflite")
      ->required();
  cmd->add_option("--input,-i", args->inputs,
                  "Input .npy, once per model input: float32 in the model's layout; for an int8 model an int8 "
                  "array is taken as already quantized (the input's scale and zero point); none for a model "
                  "without inputs");
  cmd->add_option("-o,--output", args->outputs, "Output .npy path; once per model output")->required();
  cmd->add_flag("--raw", args->raw,
                "int8 models: write the outputs as int8, as the model holds them (default: dequantized float32)");
  add_threads_option(*cmd, args->threads);
  cmd->callback([args, &result] { result = run_run(*args); });
}

}  // namespace tinyq::cli
