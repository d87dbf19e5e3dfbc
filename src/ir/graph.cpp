#include "ir/graph.hpp"

#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "util/error.hpp"

namespace tinyq {

Shape Value::source_shape() const {
  if (layout == Layout::NHWC && shape.size() == 4) return {shape[0], shape[3], shape[1], shape[2]};
  return shape;
}

ValueId Graph::add_value(Value value) {
  values.push_back(std::move(value));
  return ValueId(values.size() - 1);
}

ValueId Graph::add_constant(std::string name, Tensor tensor) {
  Value value;
  value.name = std::move(name);
  value.dtype = tensor.dtype();
  value.shape = tensor.shape();
  value.constant = std::move(tensor);
  return add_value(std::move(value));
}

std::string Graph::unique_name(const std::string& base) const {
  std::unordered_set<std::string> used;
  for (auto& v : values) used.insert(v.name);
  if (!used.count(base)) return base;
  for (int i = 1;; ++i) {
    auto candidate = base + "_" + std::to_string(i);
    if (!used.count(candidate)) return candidate;
  }
}

int Graph::producer(ValueId id) const {
  for (std::size_t n = 0; n < nodes.size(); ++n)
    for (auto out : nodes[n].outputs)
      if (out == id) return int(n);
  return -1;
}

std::vector<int> Graph::consumers(ValueId id) const {
  std::vector<int> result;
  for (std::size_t n = 0; n < nodes.size(); ++n)
    if (std::find(nodes[n].inputs.begin(), nodes[n].inputs.end(), id) != nodes[n].inputs.end())
      result.push_back(int(n));
  return result;
}

bool Graph::is_graph_output(ValueId id) const { return std::find(outputs.begin(), outputs.end(), id) != outputs.end(); }

void Graph::replace_uses(ValueId from, ValueId to) {
  for (auto& node : nodes)
    for (auto& in : node.inputs)
      if (in == from) in = to;
  for (auto& out : outputs)
    if (out == from) out = to;
}

void Graph::topological_sort() {
  std::unordered_map<ValueId, int> producer_of;
  for (std::size_t n = 0; n < nodes.size(); ++n)
    for (auto out : nodes[n].outputs) producer_of[out] = int(n);

  // Kahn's algorithm, stable: among ready nodes, keep the original order.
  std::vector<int> pending(nodes.size(), 0);
  std::vector<std::vector<int>> users(nodes.size());
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    std::set<int> deps;
    for (auto in : nodes[n].inputs) {
      auto it = producer_of.find(in);
      if (in != kNoValue && it != producer_of.end()) deps.insert(it->second);
    }
    if (deps.count(int(n))) fail(nodes[n].name, "node consumes its own output (cycle)");
    pending[n] = int(deps.size());
    for (int d : deps) users[std::size_t(d)].push_back(int(n));
  }
  std::set<int> ready;
  for (std::size_t n = 0; n < nodes.size(); ++n)
    if (pending[n] == 0) ready.insert(int(n));
  std::vector<Node> ordered;
  ordered.reserve(nodes.size());
  while (!ready.empty()) {
    int n = *ready.begin();
    ready.erase(ready.begin());
    ordered.push_back(std::move(nodes[std::size_t(n)]));
    for (int u : users[std::size_t(n)])
      if (--pending[std::size_t(u)] == 0) ready.insert(u);
  }
  if (ordered.size() != nodes.size()) {
    for (std::size_t n = 0; n < nodes.size(); ++n)
      if (pending[n] > 0) fail(nodes[n].name, "graph has a cycle through node '{}'", nodes[n].name);
  }
  nodes = std::move(ordered);
}

// Empty tensors (a zero dimension: an empty slice or split part, an input declared so) are
// passed through, never computed on: only Slice, Reshape and Identity, which copy none of their
// elements, may read or make one; they reach the graph outputs as they are. Every kernel
// elsewhere may then assume data (no division by a zero size, no zero-sized buffer).
void Graph::check_empty_tensors(const Node& node) const {
  if (node.op == Op::Slice || node.op == Op::Reshape || node.op == Op::Identity) return;
  auto check = [&](ValueId id, const char* role) {
    if (id == kNoValue || std::size_t(id) >= values.size()) return;
    const Value& v = values[std::size_t(id)];
    if (element_count(v.shape) == 0)
      fail(
          node.name,
          "{} {} '{}' of shape {}, an empty tensor: tinyq only passes empty tensors through (Slice, Reshape, Identity)",
          op_name(node.op), role, v.name, shape_string(v.shape));
  };
  for (auto in : node.inputs) check(in, "reads");
  for (auto out : node.outputs) check(out, "makes");
}

void Graph::validate() const {
  std::vector<bool> defined(values.size(), false);
  std::unordered_set<std::string> names;
  for (std::size_t v = 0; v < values.size(); ++v) {
    if (values[v].is_constant()) defined[v] = true;
  }
  for (auto in : inputs) defined.at(std::size_t(in)) = true;
  for (auto& node : nodes) {
    if (!node.name.empty() && !names.insert(node.name).second) fail(node.name, "duplicate node name '{}'", node.name);
    for (auto in : node.inputs) {
      if (in == kNoValue) continue;
      if (in < 0 || std::size_t(in) >= values.size()) fail(node.name, "input index out of range");
      if (!defined[std::size_t(in)])
        fail(node.name, "input '{}' is not produced by an earlier node, a graph input or a constant",
             values[std::size_t(in)].name);
    }
    check_empty_tensors(node);
    for (auto out : node.outputs) {
      if (out < 0 || std::size_t(out) >= values.size()) fail(node.name, "output index out of range");
      if (defined[std::size_t(out)]) fail(node.name, "value '{}' is produced twice", values[std::size_t(out)].name);
      defined[std::size_t(out)] = true;
    }
  }
  for (auto out : outputs)
    if (!defined.at(std::size_t(out))) fail(values[std::size_t(out)].name, "graph output is never produced");
}

void Graph::compact() {
  // Drop nodes whose outputs are all unused, repeatedly (a dead chain dies from its end).
  for (bool changed = true; changed;) {
    changed = false;
    std::vector<int> uses(values.size(), 0);
    for (auto& node : nodes)
      for (auto in : node.inputs)
        if (in != kNoValue) ++uses[std::size_t(in)];
    for (auto out : outputs) ++uses[std::size_t(out)];
    for (std::size_t n = nodes.size(); n-- > 0;) {
      bool used = std::any_of(nodes[n].outputs.begin(), nodes[n].outputs.end(),
                              [&](ValueId v) { return uses[std::size_t(v)] > 0; });
      if (!used) {
        nodes.erase(nodes.begin() + std::ptrdiff_t(n));
        changed = true;
      }
    }
  }
  std::vector<ValueId> remap(values.size(), kNoValue);
  std::vector<Value> kept;
  auto keep = [&](ValueId id) {
    if (id == kNoValue || remap[std::size_t(id)] != kNoValue) return;
    remap[std::size_t(id)] = ValueId(kept.size());
    kept.push_back(std::move(values[std::size_t(id)]));
  };
  for (auto in : inputs) keep(in);
  for (auto& node : nodes) {
    for (auto in : node.inputs) keep(in);
    for (auto out : node.outputs) keep(out);
  }
  for (auto out : outputs) keep(out);
  auto apply = [&](ValueId& id) {
    if (id != kNoValue) id = remap[std::size_t(id)];
  };
  for (auto& in : inputs) apply(in);
  for (auto& out : outputs) apply(out);
  for (auto& node : nodes) {
    for (auto& in : node.inputs) apply(in);
    for (auto& out : node.outputs) apply(out);
  }
  values = std::move(kept);
}

std::int64_t Graph::parameter_count() const {
  std::int64_t total = 0;
  std::unordered_set<ValueId> seen;
  for (auto& node : nodes)
    for (auto in : node.inputs)
      if (in != kNoValue && value(in).is_constant() && value(in).dtype == DType::f32 && seen.insert(in).second)
        total += value(in).constant->numel();
  return total;
}

}  // namespace tinyq
