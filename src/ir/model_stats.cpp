#include "ir/model_stats.hpp"

#include <algorithm>
#include <unordered_set>

#include "ir/recurrent.hpp"

namespace tinyq {

namespace {

std::int64_t node_macs(const Graph& g, const Node& n) {
  const Shape& out = g.value(n.outputs[0]).shape;
  auto in = [&](std::size_t i) -> const Shape& { return g.value(n.inputs[i]).shape; };
  switch (n.op) {
    case Op::Conv: {
      const Shape& w = in(1);  // [O, KH, KW, C/g]
      return element_count(out) * w[1] * w[2] * w[3];
    }
    case Op::ConvTranspose: {
      const Shape& w = in(1);  // [C, KH, KW, O/g]
      return element_count(in(0)) * w[1] * w[2] * w[3];
    }
    case Op::Conv3d: {
      const Shape& w = in(1);  // [O, C/g, KD, KH, KW]
      return element_count(out) * w[1] * w[2] * w[3] * w[4];
    }
    case Op::ConvTranspose3d: {
      const Shape& w = in(1);  // [C, O/g, KD, KH, KW]
      return element_count(in(0)) * w[1] * w[2] * w[3] * w[4];
    }
    case Op::Dense: return element_count(out) * in(1)[1];
    case Op::MatMul: {
      const Shape& a = in(0);
      return element_count(out) * (a.empty() ? 1 : a.back());
    }
    case Op::LSTM:
    case Op::GRU:
    case Op::RNN: return recurrent_macs(recurrent_dims(g, n));
    default: return 0;
  }
}

}  // namespace

ModelStats compute_stats(const Graph& g) {
  ModelStats stats;
  std::unordered_set<ValueId> counted;
  for (auto& node : g.nodes) {
    NodeStats ns;
    ns.name = node.name;
    ns.op = std::string(op_name(node.op));
    ns.output_shape = g.value(node.outputs[0]).source_shape();
    for (auto in : node.inputs)
      if (in != kNoValue && g.value(in).is_constant()) {
        ns.params += g.value(in).constant->numel();
        if (counted.insert(in).second) stats.params += g.value(in).constant->numel();
      }
    ns.macs = node_macs(g, node);
    stats.macs += ns.macs;
    stats.op_counts[ns.op]++;
    stats.nodes.push_back(std::move(ns));
  }

  // Liveness: a value lives from its definition to its last use (outputs: to the end).
  const int steps = int(g.nodes.size());
  std::vector<int> first(g.values.size(), -1), last(g.values.size(), -1);
  for (auto in : g.inputs) first[std::size_t(in)] = 0;
  for (int s = 0; s < steps; ++s) {
    for (auto out : g.nodes[std::size_t(s)].outputs) first[std::size_t(out)] = s;
    for (auto in : g.nodes[std::size_t(s)].inputs)
      if (in != kNoValue) last[std::size_t(in)] = std::max(last[std::size_t(in)], s);
  }
  for (auto out : g.outputs) last[std::size_t(out)] = steps - 1;
  for (int s = 0; s < steps; ++s) {
    std::int64_t live = 0;
    for (std::size_t v = 0; v < g.values.size(); ++v)
      if (!g.values[v].is_constant() && first[v] >= 0 && first[v] <= s && last[v] >= s)
        live += element_count(g.values[v].shape);
    stats.peak_activation_bytes_int8 = std::max(stats.peak_activation_bytes_int8, live);
  }

  for (auto& node : g.nodes) {
    std::int64_t inputs = 0;
    std::unordered_set<ValueId> seen;
    for (auto in : node.inputs)
      if (in != kNoValue && !g.value(in).is_constant() && seen.insert(in).second)
        inputs += element_count(g.value(in).shape);
    std::int64_t outputs = 0;
    for (auto out : node.outputs) outputs += element_count(g.value(out).shape);
    // Elementwise layers may write over an input of the same size (the planner does so for
    // table lookups, PReLU, add and mul); reshapes and identities are views of their input.
    const bool may_overlay = is_unary_elementwise(node.op) || is_binary_elementwise(node.op) || node.op == Op::Reshape;
    const std::int64_t working = may_overlay ? std::max(inputs, outputs) : inputs + outputs;
    stats.arena_lower_bound_bytes_int8 = std::max(stats.arena_lower_bound_bytes_int8, working);
  }
  return stats;
}

}  // namespace tinyq
