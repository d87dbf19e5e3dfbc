#pragma once
// What `tinyq inspect` reports: per-node cost and the graph's totals.
#include <map>
#include <string>
#include <vector>

#include "ir/graph.hpp"

namespace tinyq {

struct NodeStats {
  std::string name;
  std::string op;
  Shape output_shape;  // source (ONNX) order
  std::int64_t params = 0;
  std::int64_t macs = 0;
};

struct ModelStats {
  std::vector<NodeStats> nodes;
  std::int64_t params = 0;
  std::int64_t macs = 0;
  std::map<std::string, int> op_counts;
  // Largest sum of activation tensors alive at once over the import order, one byte per
  // element: what a plain layer-by-layer arena needs in this order. Not a bound: the planner
  // reorders branches, runs elementwise layers in place and aliases reshapes.
  std::int64_t peak_activation_bytes_int8 = 0;
  // A true lower bound of any int8 arena for layer-by-layer execution, whatever the order:
  // the largest set of tensors one layer needs at once (its distinct activation inputs and
  // its output; the inputs alone for layers that may run in place; nothing extra for
  // reshapes, which are views).
  std::int64_t arena_lower_bound_bytes_int8 = 0;
};

ModelStats compute_stats(const Graph& graph);

}  // namespace tinyq
