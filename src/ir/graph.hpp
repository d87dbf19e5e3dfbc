#pragma once
// The graph IR: values (tensors flowing between nodes, or constants) and nodes.
// Nodes are kept in a valid execution order (`topological_sort` restores it after a
// rewrite). Values are addressed by index; `compact` drops the unreferenced ones.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/attributes.hpp"
#include "ir/op.hpp"
#include "ir/tensor.hpp"

namespace tinyq {

using ValueId = std::int32_t;
inline constexpr ValueId kNoValue = -1;

// How a stored tensor's axes relate to the source model's axes. NHWC means the source
// (ONNX) tensor was [N,C,H,W] and it is stored [N,H,W,C].
enum class Layout : std::uint8_t { Plain, NHWC };

// Quantization parameters a value may carry once the quantizer has run (issue 3):
// real = scale * (q - zero_point), per tensor (one entry) or per channel along `axis`.
struct QuantParams {
  std::vector<float> scale;
  std::vector<std::int32_t> zero_point;
  int axis = -1;
};

struct Value {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;  // stored order
  Layout layout = Layout::Plain;
  std::optional<Tensor> constant;
  std::optional<QuantParams> quant;

  bool is_constant() const { return constant.has_value(); }
  // The shape in the source model's axis order.
  Shape source_shape() const;
};

struct Node {
  std::string name;
  Op op = Op::Identity;
  std::vector<ValueId> inputs;  // kNoValue marks an omitted optional input
  std::vector<ValueId> outputs;
  Attributes attrs;
};

class Graph {
 public:
  std::vector<Value> values;
  std::vector<Node> nodes;
  std::vector<ValueId> inputs;
  std::vector<ValueId> outputs;

  Value& value(ValueId id) { return values.at(std::size_t(id)); }
  const Value& value(ValueId id) const { return values.at(std::size_t(id)); }

  ValueId add_value(Value value);
  ValueId add_constant(std::string name, Tensor tensor);
  // A fresh name based on `base` that no value uses yet.
  std::string unique_name(const std::string& base) const;

  // Index of the node producing `id`, or -1 for graph inputs and constants.
  int producer(ValueId id) const;
  // Indices of nodes consuming `id`.
  std::vector<int> consumers(ValueId id) const;
  bool is_graph_output(ValueId id) const;

  // Replace every use of `from` (node inputs and graph outputs) by `to`.
  void replace_uses(ValueId from, ValueId to);

  // Order nodes so each runs after its producers; throws tinyq::Error naming a node on a cycle.
  void topological_sort();
  // Checks: every input is defined (graph input, constant or produced earlier), no value
  // produced twice, unique node and value names, shapes known. Throws tinyq::Error.
  void validate() const;
  // Part of validate(): refuses a node that computes on an empty tensor (see graph.cpp).
  void check_empty_tensors(const Node& node) const;
  // Drop nodes whose outputs nobody uses and values nobody references; renumbers values.
  void compact();

  std::int64_t parameter_count() const;
};

}  // namespace tinyq
