#include <algorithm>
#include <limits>

#include "passes/graph_queries.hpp"
#include "passes/passes.hpp"

namespace tinyq {

namespace {

// Ops whose output can be clamped for free. In int8 the clamp is the requantization's
// saturation bounds, so ReLU / ReLU6 cost nothing.
bool can_clamp_output(Op op) {
  switch (op) {
    case Op::Conv:
    case Op::ConvTranspose:
    case Op::Dense:
    case Op::MatMul:
    case Op::Add:
    case Op::Sub:
    case Op::Mul:
    case Op::MaxPool:
    case Op::AvgPool:
    case Op::GlobalAvgPool:
    case Op::GlobalMaxPool:
    case Op::ChannelAffine: return true;
    default: return false;
  }
}

}  // namespace

bool fuse_activations(Graph& graph) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  bool changed = false;
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    Node& act = graph.nodes[n];
    if (act.op != Op::Relu && act.op != Op::Clip) continue;
    int p = graph.producer(act.inputs[0]);
    if (p < 0 || sole_consumer(graph, act.inputs[0]) != int(n)) continue;
    Node& prod = graph.nodes[std::size_t(p)];
    if (!can_clamp_output(prod.op)) continue;
    float lo = act.op == Op::Relu ? 0.0f : act.attrs.get_float("min", -kInf);
    float hi = act.op == Op::Relu ? kInf : act.attrs.get_float("max", kInf);
    // Clamps compose by intersection (clamp(clamp(x, a, b), c, d) for ranges that overlap).
    float old_lo = prod.attrs.get_float("act_min", -kInf), old_hi = prod.attrs.get_float("act_max", kInf);
    float new_lo = std::max(lo, old_lo), new_hi = std::min(hi, old_hi);
    if (new_lo > new_hi) continue;
    prod.attrs.set("act_min", new_lo);
    prod.attrs.set("act_max", new_hi);
    prod.outputs[0] = act.outputs[0];
    graph.nodes.erase(graph.nodes.begin() + std::ptrdiff_t(n));
    --n;
    changed = true;
  }
  return changed;
}

}  // namespace tinyq
