#include <optional>

#include "passes/graph_queries.hpp"
#include "passes/passes.hpp"

namespace tinyq {

namespace {

// Scale output channel c of a weight tensor whose output channels sit on axis `axis`.
void scale_output_channels(Tensor& w, int axis, std::span<const float> scale) {
  const Shape& s = w.shape();
  const std::int64_t outer = element_count(Shape(s.begin(), s.begin() + axis));
  const std::int64_t inner = element_count(Shape(s.begin() + axis + 1, s.end()));
  const std::int64_t channels = s[std::size_t(axis)];
  auto data = w.f32();
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t c = 0; c < channels; ++c)
      for (std::int64_t i = 0; i < inner; ++i)
        data[std::size_t((o * channels + c) * inner + i)] *= scale[std::size_t(c)];
}

// The producer's bias; zeros when the optional bias input is omitted (fewer than three
// inputs, or kNoValue), nullopt when it is there but not a constant. (Indexing inputs[2]
// unchecked read past the end of a two-input Conv / Dense.)
std::optional<Tensor> bias_of(const Graph& g, const Node& prod) {
  if (prod.inputs.size() < 3 || prod.inputs[2] == kNoValue)
    return Tensor(DType::f32, {g.value(prod.outputs[0]).shape.back()});
  if (const Tensor* b = constant_of(g, prod.inputs[2])) return *b;
  return std::nullopt;
}

}  // namespace

bool fold_batch_norm(Graph& graph) {
  bool changed = false;
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    Node& affine = graph.nodes[n];
    if (affine.op != Op::ChannelAffine) continue;
    int p = graph.producer(affine.inputs[0]);
    if (p < 0 || sole_consumer(graph, affine.inputs[0]) != int(n)) continue;
    Node& prod = graph.nodes[std::size_t(p)];
    if ((prod.op != Op::Conv && prod.op != Op::Dense && prod.op != Op::ConvTranspose) || has_fused_activation(prod))
      continue;
    const std::size_t rank = graph.value(affine.inputs[0]).shape.size();
    if (affine.attrs.get_int("axis", 1) != std::int64_t(rank) - 1) continue;  // must be the producer's channel axis
    const Tensor *scale = constant_of(graph, affine.inputs[1]), *shift = constant_of(graph, affine.inputs[2]);
    const Tensor* w = constant_of(graph, prod.inputs[1]);
    std::optional<Tensor> b = bias_of(graph, prod);
    if (!scale || !shift || !w || !b) continue;
    Tensor new_w = *w, new_b = std::move(*b);
    if (prod.op == Op::ConvTranspose) {
      // weight [C, KH, KW, O/group]: output channel o = g*(O/group) + j
      const std::int64_t group = prod.attrs.get_int("group", 1), per = w->shape()[3];
      const std::int64_t in_per_group = w->shape()[0] / group, taps = w->shape()[1] * w->shape()[2];
      auto data = new_w.f32();
      for (std::int64_t c = 0; c < w->shape()[0]; ++c)
        for (std::int64_t t = 0; t < taps; ++t)
          for (std::int64_t j = 0; j < per; ++j)
            data[std::size_t((c * taps + t) * per + j)] *= scale->f32()[std::size_t((c / in_per_group) * per + j)];
    } else {
      scale_output_channels(new_w, 0, scale->f32());
    }
    for (std::size_t c = 0; c < new_b.f32().size(); ++c)
      new_b.f32()[c] = new_b.f32()[c] * scale->f32()[c] + shift->f32()[c];
    prod.inputs[1] = graph.add_constant(graph.unique_name(prod.name + "_weight_bn"), std::move(new_w));
    prod.inputs.resize(3, kNoValue);
    prod.inputs[2] = graph.add_constant(graph.unique_name(prod.name + "_bias_bn"), std::move(new_b));
    // The producer now computes the affine's output, with its clamp if it had one.
    transfer_activation(affine, prod);
    ValueId out = graph.nodes[n].outputs[0];
    graph.value(out).layout = graph.value(prod.outputs[0]).layout;
    prod.outputs[0] = out;
    graph.nodes.erase(graph.nodes.begin() + std::ptrdiff_t(n));
    --n;
    changed = true;
  }
  return changed;
}

bool fold_bias_add(Graph& graph) {
  bool changed = false;
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    Node& add = graph.nodes[n];
    if (add.op != Op::Add) continue;
    for (int side = 0; side < 2; ++side) {
      ValueId x = add.inputs[std::size_t(side)];
      const Tensor* c = constant_of(graph, add.inputs[std::size_t(1 - side)]);
      int p = graph.producer(x);
      if (!c || p < 0 || sole_consumer(graph, x) != int(n)) continue;
      Node& prod = graph.nodes[std::size_t(p)];
      if ((prod.op != Op::Conv && prod.op != Op::Dense) || has_fused_activation(prod)) continue;
      std::optional<Tensor> b = bias_of(graph, prod);
      const std::int64_t channels = graph.value(x).shape.back();
      // The constant must vary only along the channel (last) axis and not widen the output.
      bool per_channel = c->numel() == channels || c->numel() == 1;
      for (std::size_t d = 0; per_channel && d + 1 < c->shape().size(); ++d) per_channel = c->shape()[d] == 1;
      if (!b || !per_channel || c->shape().size() > graph.value(x).shape.size()) continue;
      Tensor new_b = std::move(*b);
      for (std::int64_t i = 0; i < channels; ++i)
        new_b.f32()[std::size_t(i)] += c->f32()[std::size_t(c->numel() == 1 ? 0 : i)];
      prod.inputs.resize(3, kNoValue);
      prod.inputs[2] = graph.add_constant(graph.unique_name(prod.name + "_bias_add"), std::move(new_b));
      transfer_activation(add, prod);
      ValueId out = add.outputs[0];
      prod.outputs[0] = out;
      graph.nodes.erase(graph.nodes.begin() + std::ptrdiff_t(n));
      --n;
      changed = true;
      break;
    }
  }
  return changed;
}

}  // namespace tinyq
