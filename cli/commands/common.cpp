#include "commands/common.hpp"

#include <iostream>

#include "frontend/onnx/onnx_import.hpp"
#include "passes/passes.hpp"
#include "util/error.hpp"

namespace tinyq::cli {

Graph load_model(const std::string& path) {
  Graph graph = import_onnx_file(path);
  try {
    simplify(graph);
  } catch (const Error& e) {
    fail(path, "{}", e.what());
  }
  return graph;
}

void DataOptions::add_to(CLI::App& app) {
  app.add_option("--scale", scale, "Multiplier for uint8 data (default 1/255)");
  app.add_option("--mean", mean, "Mean to subtract after scaling: one value or one per channel")->delimiter(',');
  app.add_option("--std", std, "Standard deviation to divide by: one value or one per channel")->delimiter(',');
}

Tensor shape_for_model(const Graph& graph, Tensor data, const std::string& path) {
  if (graph.inputs.size() != 1) fail(path, "the model has {} inputs; this command feeds exactly one", graph.inputs.size());
  const Value& input = graph.value(graph.inputs[0]);
  Shape expected = input.source_shape();
  const std::int64_t per_sample = element_count(expected);
  if (data.shape().empty() || per_sample == 0) fail(path, "data has no samples");
  std::int64_t samples = data.numel() / per_sample;
  Shape got = data.shape();
  bool exact = got.size() == expected.size() && std::equal(got.begin() + 1, got.end(), expected.begin() + 1) &&
               got[0] % expected[0] == 0;
  if (exact) return data;
  std::int64_t got_per_sample = data.numel() / std::max<std::int64_t>(got[0], 1);
  if (got_per_sample * expected[0] != per_sample || data.numel() % per_sample != 0)
    fail(path, "data of shape {} does not fit the model input '{}' of shape {}", shape_string(got), input.name,
         shape_string(expected));
  expected[0] *= samples;
  return data.reshaped(expected);
}

void print_json(const nlohmann::json& value) { std::cout << value.dump(2) << std::endl; }

}  // namespace tinyq::cli
