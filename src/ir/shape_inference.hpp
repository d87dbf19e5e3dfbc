#pragma once
#include "ir/graph.hpp"

namespace tinyq {

// Output shape of one node from its inputs' stored shapes and its attributes. Throws
// tinyq::Error naming the node when the shapes do not fit the op.
Shape infer_output_shape(const Graph& graph, const Node& node);

// numpy broadcasting of two shapes; throws when they are incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& where);

// Spatial output size of a sliding window (conv / pool).
std::int64_t window_output_size(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t dilation,
                                std::int64_t pad_begin, std::int64_t pad_end, bool ceil_mode);

// Recompute every node's output shape in execution order.
void infer_shapes(Graph& graph);

}  // namespace tinyq
