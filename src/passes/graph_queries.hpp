#pragma once
// Small questions passes ask about the graph.
#include "ir/graph.hpp"

namespace tinyq {

// The single node consuming `value`, if exactly one does and it is not a graph output.
inline int sole_consumer(const Graph& g, ValueId value) {
  if (g.is_graph_output(value)) return -1;
  auto users = g.consumers(value);
  if (users.size() != 1) return -1;
  // A node using the value twice is still one consumer, but rewriting it is not simple.
  const Node& n = g.nodes[std::size_t(users[0])];
  int count = 0;
  for (auto in : n.inputs) count += in == value;
  return count == 1 ? users[0] : -1;
}

inline const Tensor* constant_of(const Graph& g, ValueId value) {
  if (value == kNoValue) return nullptr;
  const Value& v = g.value(value);
  return v.is_constant() ? &*v.constant : nullptr;
}

inline bool has_fused_activation(const Node& n) { return n.attrs.has("act_min") || n.attrs.has("act_max"); }

// Move `from`'s fused clamp onto `to` (which has none) when `to` takes over from's output.
inline void transfer_activation(const Node& from, Node& to) {
  for (const char* key : {"act_min", "act_max"})
    if (from.attrs.has(key)) to.attrs.set(key, from.attrs.get_float(key, 0.0f));
}

}  // namespace tinyq
