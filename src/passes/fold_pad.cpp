#include <algorithm>
#include <limits>

#include "ir/shape_inference.hpp"
#include "passes/graph_queries.hpp"
#include "passes/passes.hpp"

namespace tinyq {

namespace {

// Does every max-pool window along one axis (no ceil_mode) cover at least one input element?
bool every_window_sees_input(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t dilation,
                             std::int64_t pad_begin, std::int64_t pad_end) {
  const std::int64_t out = window_output_size(in, kernel, stride, dilation, pad_begin, pad_end, false);
  for (std::int64_t o = 0; o < out; ++o) {
    bool seen = false;
    for (std::int64_t k = 0; k < kernel && !seen; ++k) {
      const std::int64_t i = o * stride - pad_begin + k * dilation;
      seen = i >= 0 && i < in;
    }
    if (!seen) return false;
  }
  return true;
}

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
    // "pad < kernel" is not enough once the pool is dilated (taps can step over a short
    // input), so walk the windows of each spatial axis.
    auto pads = pad.attrs.get_ints("pads");
    auto own = consumer.attrs.get_ints("pads", {0, 0, 0, 0});
    const Shape& in = g.value(pad.inputs[0]).shape;
    for (std::size_t axis = 0; axis < 2; ++axis)
      if (!every_window_sees_input(in[1 + axis], consumer.attrs.get_ints("kernel").at(axis),
                                   consumer.attrs.get_ints("strides", {1, 1}).at(axis),
                                   consumer.attrs.get_ints("dilations", {1, 1}).at(axis), pads[1 + axis] + own[axis],
                                   pads[5 + axis] + own[2 + axis]))
        return false;
    return true;
  }
  return false;
}

}  // namespace

bool fold_pad(Graph& graph) {
  bool changed = false;
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& pad = graph.nodes[n];
    if (pad.op != Op::Pad || pad.attrs.get_string("mode", "constant") != "constant" || has_fused_activation(pad))
      continue;
    ValueId out = pad.outputs[0];
    // Whatever the source layout (ONNX NCHW, TFLite/Keras NHWC), a 4-D tensor that a conv or
    // pool reads is stored NHWC.
    if (graph.value(out).shape.size() != 4 || graph.is_graph_output(out)) continue;
    auto pads = pad.attrs.get_ints("pads");  // [n, h, w, c] begins then ends
    if (pads[0] || pads[3] || pads[4] || pads[7]) continue;
    // A negative pad crops, and the consumer's own padding would have to come after the crop.
    if (std::any_of(pads.begin(), pads.end(), [](std::int64_t p) { return p < 0; })) continue;
    auto users = graph.consumers(out);
    bool all = !users.empty();
    for (int u : users)
      all = all && can_absorb(graph, pad, graph.nodes[std::size_t(u)]) && graph.nodes[std::size_t(u)].inputs[0] == out;
    if (!all) continue;
    for (int u : users) {
      Node& consumer = graph.nodes[std::size_t(u)];
      auto own = consumer.attrs.get_ints("pads", {0, 0, 0, 0});
      consumer.attrs.set(
          "pads", std::vector<std::int64_t>{own[0] + pads[1], own[1] + pads[2], own[2] + pads[5], own[3] + pads[6]});
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
