#include "passes/graph_queries.hpp"
#include "passes/passes.hpp"

namespace tinyq {

namespace {

bool moves_only_unit_axes(const Shape& shape, const std::vector<std::int64_t>& perm) {
  // The relative order of the axes longer than 1 is unchanged: the bytes stay where they are.
  std::int64_t last = -1;
  for (auto axis : perm) {
    if (shape[std::size_t(axis)] == 1) continue;
    if (axis < last) return false;
    last = axis;
  }
  return true;
}

}  // namespace

bool remove_identities(Graph& graph) {
  bool changed = false;
  for (auto& node : graph.nodes) {
    if (node.op == Op::Transpose && !has_fused_activation(node) &&
        moves_only_unit_axes(graph.value(node.inputs[0]).shape, node.attrs.get_ints("perm"))) {
      const Shape& out = graph.value(node.outputs[0]).shape;
      node.op = Op::Reshape;
      node.attrs = {};
      node.attrs.set("shape", std::vector<std::int64_t>(out.begin(), out.end()));
      changed = true;
    }
    if (node.op == Op::Reshape && !has_fused_activation(node)) {
      // Reshape of a Reshape: go straight from the first input.
      int p = graph.producer(node.inputs[0]);
      if (p >= 0 && graph.nodes[std::size_t(p)].op == Op::Reshape &&
          !has_fused_activation(graph.nodes[std::size_t(p)])) {
        node.inputs[0] = graph.nodes[std::size_t(p)].inputs[0];
        changed = true;
      }
    }
  }
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    Node& node = graph.nodes[n];
    bool identity = node.op == Op::Identity ||
                    (node.op == Op::Reshape && graph.value(node.inputs[0]).shape == graph.value(node.outputs[0]).shape);
    if (!identity || has_fused_activation(node)) continue;
    ValueId in = node.inputs[0], out = node.outputs[0];
    if (graph.is_graph_output(out)) {
      // Keep the output's name and layout: bypass only if the input is an ordinary
      // intermediate that can take the output's place.
      int p = graph.producer(in);
      if (p < 0 || graph.is_graph_output(in) || graph.consumers(in).size() != 1 ||
          graph.value(in).layout != graph.value(out).layout)
        continue;
      for (auto& o : graph.nodes[std::size_t(p)].outputs)
        if (o == in) o = out;
    } else {
      graph.replace_uses(out, in);
    }
    graph.nodes.erase(graph.nodes.begin() + std::ptrdiff_t(n));
    --n;
    changed = true;
  }
  return changed;
}

}  // namespace tinyq
