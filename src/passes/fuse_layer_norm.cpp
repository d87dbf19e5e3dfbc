#include <algorithm>

#include "passes/graph_queries.hpp"
#include "passes/passes.hpp"

namespace tinyq {

namespace {

const Node* producer_node(const Graph& g, ValueId v, Op op) {
  int p = g.producer(v);
  if (p < 0 || g.nodes[std::size_t(p)].op != op || has_fused_activation(g.nodes[std::size_t(p)])) return nullptr;
  return &g.nodes[std::size_t(p)];
}

bool reduces_last_axis(const Graph& g, const Node* n) {
  if (!n) return false;
  const std::size_t rank = g.value(n->inputs[0]).shape.size();
  return n->attrs.get_ints("axes") == std::vector<std::int64_t>{std::int64_t(rank) - 1} &&
         n->attrs.get_int("keepdims", 1) == 1;
}

// A constant holding one value `expected` (or any single value, returned via *out).
bool scalar_constant(const Graph& g, ValueId v, float* out) {
  const Tensor* t = constant_of(g, v);
  if (!t || t->numel() != 1) return false;
  *out = t->f32()[0];
  return true;
}

// A constant that broadcasts along the last axis only, expanded to `size` values.
std::optional<Tensor> last_axis_constant(const Graph& g, ValueId v, std::int64_t size) {
  const Tensor* t = constant_of(g, v);
  if (!t || (t->numel() != size && t->numel() != 1)) return std::nullopt;
  for (std::size_t d = 0; d + 1 < t->shape().size(); ++d)
    if (t->shape()[d] != 1) return std::nullopt;
  Tensor out(DType::f32, {size});
  for (std::int64_t i = 0; i < size; ++i) out.f32()[std::size_t(i)] = t->f32()[std::size_t(t->numel() == 1 ? 0 : i)];
  return out;
}

}  // namespace

// Matches  d = x - ReduceMean(x);  y = d / Sqrt(ReduceMean(d^2) + eps) [* gamma] [+ beta]
// over the last axis, which is what torch.onnx emits for nn.LayerNorm before opset 17.
bool fuse_layer_norm(Graph& graph) {
  bool changed = false;
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& div = graph.nodes[n];
    if (div.op != Op::Div || has_fused_activation(div)) continue;
    const Node* sub = producer_node(graph, div.inputs[0], Op::Sub);
    const Node* sqrt = producer_node(graph, div.inputs[1], Op::Sqrt);
    if (!sub || !sqrt) continue;
    ValueId x = sub->inputs[0];
    const Node* mean = producer_node(graph, sub->inputs[1], Op::ReduceMean);
    if (!reduces_last_axis(graph, mean) || mean->inputs[0] != x) continue;
    const Node* add_eps = producer_node(graph, sqrt->inputs[0], Op::Add);
    if (!add_eps) continue;
    float epsilon = 0;
    int var_side = scalar_constant(graph, add_eps->inputs[1], &epsilon) ? 0 : 1;
    if (var_side == 1 && !scalar_constant(graph, add_eps->inputs[0], &epsilon)) continue;
    const Node* var = producer_node(graph, add_eps->inputs[std::size_t(var_side)], Op::ReduceMean);
    if (!reduces_last_axis(graph, var)) continue;
    const Node* pow = producer_node(graph, var->inputs[0], Op::Pow);
    float exponent = 0;
    if (!pow || pow->inputs[0] != div.inputs[0] || !scalar_constant(graph, pow->inputs[1], &exponent) ||
        exponent != 2.0f)
      continue;

    const Shape shape = graph.value(x).shape;
    const std::int64_t size = shape.back();
    Tensor gamma(DType::f32, {size}), beta(DType::f32, {size});
    for (auto& v : gamma.f32()) v = 1.0f;
    ValueId result = div.outputs[0];
    std::vector<std::size_t> absorbed;
    // Optional affine: Mul by gamma, then Add beta, each the sole consumer of the previous.
    int m = sole_consumer(graph, result);
    if (m >= 0 && graph.nodes[std::size_t(m)].op == Op::Mul && !has_fused_activation(graph.nodes[std::size_t(m)])) {
      const Node& mul = graph.nodes[std::size_t(m)];
      if (auto g = last_axis_constant(graph, mul.inputs[mul.inputs[0] == result ? 1 : 0], size)) {
        gamma = *g;
        result = mul.outputs[0];
        absorbed.push_back(std::size_t(m));
        int a = sole_consumer(graph, result);
        if (a >= 0 && graph.nodes[std::size_t(a)].op == Op::Add) {
          const Node& add = graph.nodes[std::size_t(a)];
          if (auto b = last_axis_constant(graph, add.inputs[add.inputs[0] == result ? 1 : 0], size)) {
            beta = *b;
            result = add.outputs[0];
            absorbed.push_back(std::size_t(a));
          }
        }
      }
    }
    Node& ln = graph.nodes[n];
    ln.op = Op::LayerNorm;
    ln.attrs = {};
    // After the reset: a clamp fused into the absorbed beta Add must survive.
    for (std::size_t a : absorbed) transfer_activation(graph.nodes[a], ln);
    ln.attrs.set("axis", std::int64_t(shape.size()) - 1);
    ln.attrs.set("epsilon", epsilon);
    ln.inputs = {x, graph.add_constant(graph.unique_name(ln.name + "_gamma"), std::move(gamma)),
                 graph.add_constant(graph.unique_name(ln.name + "_beta"), std::move(beta))};
    ln.outputs = {result};
    // Erase absorbed nodes from the back so indices stay valid; the rest of the pattern
    // is now dead and goes with compact().
    std::sort(absorbed.rbegin(), absorbed.rend());
    for (std::size_t a : absorbed) graph.nodes.erase(graph.nodes.begin() + std::ptrdiff_t(a));
    changed = true;
  }
  return changed;
}

bool reduce_mean_to_pool(Graph& graph) {
  bool changed = false;
  for (auto& node : graph.nodes) {
    if (node.op != Op::ReduceMean || node.attrs.get_ints("axes") != std::vector<std::int64_t>{1, 2}) continue;
    // Axes 1 and 2 of a stored 4-D tensor are H and W whatever the source layout.
    if (graph.value(node.inputs[0]).shape.size() != 4) continue;
    bool keep = node.attrs.get_int("keepdims", 1) != 0;
    Node original = node;
    node.op = Op::GlobalAvgPool;
    node.attrs = {};
    transfer_activation(original, node);
    if (!keep) {
      // Pool into a new NHWC value, then drop the unit axes.
      const Shape in = graph.value(node.inputs[0]).shape;
      Value pooled;
      pooled.name = graph.unique_name(node.name + "_pooled");
      pooled.shape = {in[0], 1, 1, in[3]};
      pooled.layout = graph.value(node.inputs[0]).layout;
      ValueId pooled_id = graph.add_value(std::move(pooled));
      Node reshape;
      // A node name no other node has (validate() rejects duplicates).
      reshape.name = node.name + "_squeeze";
      auto taken = [&](const std::string& name) {
        return std::any_of(graph.nodes.begin(), graph.nodes.end(), [&](const Node& m) { return m.name == name; });
      };
      for (int i = 1; taken(reshape.name); ++i) reshape.name = node.name + "_squeeze_" + std::to_string(i);
      reshape.op = Op::Reshape;
      reshape.inputs = {pooled_id};
      reshape.outputs = node.outputs;
      reshape.attrs.set("shape", std::vector<std::int64_t>{in[0], in[3]});
      node.outputs = {pooled_id};
      graph.nodes.push_back(std::move(reshape));  // topological_sort() places it
      changed = true;
      break;  // the node vector grew: restart from simplify's loop
    }
    changed = true;
  }
  return changed;
}

}  // namespace tinyq
