// tinyq run MODEL --input x.npy -o y.npy: the float model on the caller's data.
#include <fmt/format.h>

#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "data/dataset.hpp"
#include "data/npy.hpp"
#include "exec/float_executor.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace tinyq::cli {

namespace {

struct RunArgs {
  std::string model;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  int threads = 0;
};

int run_run(const RunArgs& args) {
  // Before any work: no output may overwrite an input or another output.
  std::vector<std::string> inputs = args.inputs;
  inputs.push_back(args.model);
  for (const auto& out : args.outputs) check_output_file(out, inputs);
  check_distinct_outputs(args.outputs);
  Graph graph = load_model(args.model);
  if (args.inputs.size() != graph.inputs.size())
    fail("--input", "the model has {} inputs, {} given", graph.inputs.size(), args.inputs.size());
  if (args.outputs.size() > graph.outputs.size())
    fail("-o", "the model has {} outputs, {} paths given", graph.outputs.size(), args.outputs.size());
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
  auto results = executor.run(data);
  for (std::size_t i = 0; i < args.outputs.size(); ++i) {
    write_npy(args.outputs[i], results[i]);
    fmt::print("wrote {} {}\n", args.outputs[i], shape_string(results[i].shape()));  // stdout, as docs/CLI.md says
  }
  return kExitOk;
}

}  // namespace

void add_run_command(CLI::App& app, int& result) {
  auto args = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", "Run the float model on .npy inputs and write the outputs as .npy");
  cmd->add_option("model", args->model, "ONNX model")->required();
  cmd->add_option("--input,-i", args->inputs, "Input .npy (float32, the model's layout); once per model input")
      ->required();
  cmd->add_option("-o,--output", args->outputs, "Output .npy path; once per model output")->required();
  add_threads_option(*cmd, args->threads);
  cmd->callback([args, &result] { result = run_run(*args); });
}

}  // namespace tinyq::cli
