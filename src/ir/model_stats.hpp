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
  // Largest sum of activation tensors alive at once over the execution order, counting
  // one byte per element: the lower bound of an int8 arena for this node order.
  std::int64_t peak_activation_bytes_int8 = 0;
};

ModelStats compute_stats(const Graph& graph);

}  // namespace tinyq
