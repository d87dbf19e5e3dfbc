// tinyq inspect MODEL: the graph as tinyq will run it, with per-node cost.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>

#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "ir/model_stats.hpp"
#include "quant/int8_support.hpp"

namespace tinyq::cli {

namespace {

struct InspectArgs {
  std::string model;
  bool json = false;
};

nlohmann::json io_json(const Graph& g, const std::vector<ValueId>& ids) {
  auto list = nlohmann::json::array();
  for (auto id : ids) {
    const Value& v = g.value(id);
    list.push_back(
        {{"name", v.name}, {"shape", v.source_shape()}, {"layout", v.layout == Layout::NHWC ? "NCHW" : "plain"}});
  }
  return list;
}

// What stops `quantize` (and so `generate`), known from the float graph: nodes without an
// int8 kernel, or no input at all.
struct Int8Blockers {
  std::vector<std::pair<std::string, std::string>> nodes;  // name, reason
  std::string graph;                                       // a whole-model reason, or empty
  bool none() const { return nodes.empty() && graph.empty(); }
};

Int8Blockers int8_blockers(const Graph& graph) {
  Int8Blockers b;
  for (const Node& n : graph.nodes)
    if (auto why = int8_unsupported(graph, n)) b.nodes.emplace_back(n.name, *why);
  if (graph.inputs.empty()) b.graph = "quantization needs a model with at least one input";
  return b;
}

int run_inspect(const InspectArgs& args) {
  Graph graph = load_model(args.model);
  ModelStats stats = compute_stats(graph);
  const Int8Blockers blockers = int8_blockers(graph);
  auto blocked = [&](const std::string& name) {
    for (auto& [node, _] : blockers.nodes)
      if (node == name) return true;
    return false;
  };
  if (args.json) {
    nlohmann::json layers = nlohmann::json::array();
    for (auto& n : stats.nodes)
      layers.push_back({{"name", n.name},
                        {"op", n.op},
                        {"shape", n.output_shape},
                        {"params", n.params},
                        {"macs", n.macs},
                        {"int8", !blocked(n.name)}});
    nlohmann::json unsupported = nlohmann::json::array();
    for (auto& [node, reason] : blockers.nodes) unsupported.push_back({{"name", node}, {"reason", reason}});
    print_json({{"model", args.model},
                {"inputs", io_json(graph, graph.inputs)},
                {"outputs", io_json(graph, graph.outputs)},
                {"nodes", stats.nodes.size()},
                {"params", stats.params},
                {"macs", stats.macs},
                {"ops", stats.op_counts},
                {"peak_activation_bytes_int8", stats.peak_activation_bytes_int8},
                {"arena_lower_bound_bytes_int8", stats.arena_lower_bound_bytes_int8},
                {"int8_ready", blockers.none()},
                {"int8_unsupported", unsupported},
                {"layers", layers}});
    return kExitOk;
  }
  auto print_io = [&](const char* label, const std::vector<ValueId>& ids) {
    for (auto id : ids) {
      const Value& v = graph.value(id);
      fmt::print("{:<9}{} {}{}\n", label, v.name, shape_string(v.source_shape()),
                 v.layout == Layout::NHWC ? " (NCHW in the model, NHWC inside tinyq)" : "");
    }
  };
  fmt::print("model:   {}\n", args.model);
  print_io("input:", graph.inputs);
  print_io("output:", graph.outputs);
  fmt::print("\n{:>3}  {:<28} {:<14} {:<18} {:>10} {:>12}\n", "#", "node", "op", "output shape", "params", "MACs");
  int index = 0;
  for (auto& n : stats.nodes)
    fmt::print("{:>3}  {:<28} {:<14} {:<18} {:>10} {:>12}\n", index++, column_name(n.name, 28), n.op,
               shape_string(n.output_shape), n.params, n.macs);
  fmt::print("\n{} nodes, {} parameters ({:.1f} KB as int8), {} MACs per inference\n", stats.nodes.size(), stats.params,
             double(stats.params) / 1024.0, stats.macs);
  fmt::print(
      "int8 activations: {} B live at the peak of this node order; any layer-by-layer arena needs at least {} B "
      "(the largest layer's inputs and output); `generate` plans the arena\n",
      stats.peak_activation_bytes_int8, stats.arena_lower_bound_bytes_int8);
  std::string ops;
  for (auto& [op, count] : stats.op_counts) ops += fmt::format("{}{}×{}", ops.empty() ? "" : ", ", op, count);
  fmt::print("ops: {}\n", ops);
  if (blockers.none()) {
    fmt::print("int8: every node has an int8 kernel (quantize, generate)\n");
  } else {
    if (!blockers.graph.empty()) fmt::print("int8: {}\n", blockers.graph);
    for (auto& [node, reason] : blockers.nodes) fmt::print("int8: node '{}' cannot be quantized: {}\n", node, reason);
  }
  return kExitOk;
}

}  // namespace

void add_inspect_command(CLI::App& app, int& result) {
  auto args = std::make_shared<InspectArgs>();
  auto* cmd = app.add_subcommand("inspect", "Show the graph, shapes, parameters, MACs and RAM estimate of a model");
  cmd->add_option("model", args->model, "ONNX model")->required();
  cmd->add_flag("--json", args->json, "Print one JSON object on stdout");
  cmd->callback([args, &result] { result = run_inspect(*args); });
}

}  // namespace tinyq::cli
