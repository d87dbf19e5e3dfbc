#include <limits>

#include "passes/graph_queries.hpp"
#include "passes/passes.hpp"

namespace tinyq {

namespace {

// Can `consumer` absorb a spatial zero/constant pad (stored NHWC pads) exactly?
bool can_absorb(const Graph& g, const Node& pad, const Node& consumer) {
  float value = pad.attrs.get_float("value", 0.0f);
  // With ceil_mode the last window's admission rule depends on where the padding is.
  if (consumer.attrs.get_int("ceil_mode", 0) != 0) return false;
  if (consumer.op == Op::Conv) return value == 0.0f;
  if (consumer.op == Op::AvgPool) {
    // Explicit zeros are counted: only equivalent to count_include_pad=1, and only if the
    // pool's own padding (if any) is counted too.
    auto own = consumer.attrs.get_ints("pads");
    bool own_zero = own.empty() || (own[0] == 0 && own[1] == 0 && own[2] == 0 && own[3] == 0);
    return value == 0.0f && (own_zero || consumer.attrs.get_int("count_include_pad", 0) != 0);
  }
  if (consumer.op == Op::MaxPool) {
    // Max pooling pads with -inf. A constant pad is equivalent when it can never win: the
    // padded tensor is never below `value` (a producer clamped at act_min >= value) and
    // every window still covers at least one real element (pad < kernel).
    if (value == -std::numeric_limits<float>::infinity()) return true;
    int p = g.producer(pad.inputs[0]);
    if (p < 0) return false;
    const Node& prod = g.nodes[std::size_t(p)];
    if (prod.attrs.get_float("act_min", -std::numeric_limits<float>::infinity()) < value) return false;
    auto pads = pad.attrs.get_ints("pads");
    auto kernel = consumer.attrs.get_ints("kernel");
    auto own = consumer.attrs.get_ints("pads", {0, 0, 0, 0});
    return pads[1] + own[0] < kernel[0] && pads[5] + own[2] < kernel[0] && pads[2] + own[1] < kernel[1] &&
           pads[6] + own[3] < kernel[1];
  }
  return false;
}

}  // namespace

bool fold_pad(Graph& graph) {
  bool changed = false;
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& pad = graph.nodes[n];
    if (pad.op != Op::Pad || pad.attrs.get_string("mode", "constant") != "constant" || has_fused_activation(pad)) continue;
    ValueId out = pad.outputs[0];
    if (graph.value(out).layout != Layout::NHWC || graph.value(out).shape.size() != 4 || graph.is_graph_output(out))
      continue;
    auto pads = pad.attrs.get_ints("pads");  // [n, h, w, c] begins then ends
    if (pads[0] || pads[3] || pads[4] || pads[7]) continue;
    auto users = graph.consumers(out);
    bool all = !users.empty();
    for (int u : users) all = all && can_absorb(graph, pad, graph.nodes[std::size_t(u)]) && graph.nodes[std::size_t(u)].inputs[0] == out;
    if (!all) continue;
    for (int u : users) {
      Node& consumer = graph.nodes[std::size_t(u)];
      auto own = consumer.attrs.get_ints("pads", {0, 0, 0, 0});
      consumer.attrs.set("pads", std::vector<std::int64_t>{own[0] + pads[1], own[1] + pads[2], own[2] + pads[5],
                                                           own[3] + pads[6]});
      if (consumer.op == Op::AvgPool) consumer.attrs.set("count_include_pad", std::int64_t{1});
      consumer.inputs[0] = pad.inputs[0];
    }
    graph.nodes.erase(graph.nodes.begin() + std::ptrdiff_t(n));
    --n;
    changed = true;
  }
  return changed;
}

}  // namespace tinyq
