#include "exec/float_executor.hpp"
#include "passes/graph_queries.hpp"
#include "passes/passes.hpp"

namespace tinyq {

bool fold_constants(Graph& graph) {
  bool changed = false;
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    bool all_constant = !node.inputs.empty();
    for (auto in : node.inputs) all_constant = all_constant && (in == kNoValue || graph.value(in).is_constant());
    if (!all_constant) continue;
    // Evaluate the node alone: a one-node graph whose inputs are the constants.
    Graph single;
    Node copy = node;
    for (auto& in : copy.inputs)
      if (in != kNoValue) in = single.add_constant(graph.value(in).name, *graph.value(in).constant);
    Value out = graph.value(node.outputs[0]);
    out.layout = Layout::Plain;  // evaluate in stored order; no boundary transposes
    copy.outputs = {single.add_value(out)};
    single.outputs = copy.outputs;
    single.nodes.push_back(copy);
    // A graph with no inputs runs once.
    auto results = FloatExecutor(single, {.threads = 1}).run({});
    Value& target = graph.value(node.outputs[0]);
    target.constant = results[0].reshaped(target.shape);
    graph.nodes.erase(graph.nodes.begin() + std::ptrdiff_t(n));
    --n;
    changed = true;
  }
  return changed;
}

}  // namespace tinyq
