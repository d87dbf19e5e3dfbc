#include "passes/graph_queries.hpp"
#include "passes/passes.hpp"

namespace tinyq {

// An ONNX Flatten of an NCHW tensor orders features (c, h, w); our NHWC data is ordered
// (h, w, c). Instead of transposing at run time, reorder the columns of every Dense that
// reads the flattened vector.
bool fold_flatten_transpose(Graph& graph) {
  bool changed = false;
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& transpose = graph.nodes[n];
    if (transpose.op != Op::Transpose || has_fused_activation(transpose)) continue;
    if (transpose.attrs.get_ints("perm") != std::vector<std::int64_t>{0, 3, 1, 2}) continue;
    int r = sole_consumer(graph, transpose.outputs[0]);
    if (r < 0 || graph.nodes[std::size_t(r)].op != Op::Reshape || has_fused_activation(graph.nodes[std::size_t(r)]))
      continue;
    const Shape nhwc = graph.value(transpose.inputs[0]).shape;
    const Shape flat = graph.value(graph.nodes[std::size_t(r)].outputs[0]).shape;
    const std::int64_t features = nhwc[1] * nhwc[2] * nhwc[3];
    if (flat.size() != 2 || flat[0] != nhwc[0] || flat[1] != features) continue;
    ValueId flat_value = graph.nodes[std::size_t(r)].outputs[0];
    auto users = graph.consumers(flat_value);
    bool all_dense = !users.empty() && !graph.is_graph_output(flat_value);
    for (int u : users)
      all_dense = all_dense && graph.nodes[std::size_t(u)].op == Op::Dense &&
                  graph.nodes[std::size_t(u)].inputs[0] == flat_value &&
                  constant_of(graph, graph.nodes[std::size_t(u)].inputs[1]);
    if (!all_dense) continue;
    const std::int64_t h = nhwc[1], w = nhwc[2], c = nhwc[3];
    for (int u : users) {
      Node& dense = graph.nodes[std::size_t(u)];
      const Tensor& weight = *constant_of(graph, dense.inputs[1]);
      const std::int64_t outs = weight.shape()[0];
      Tensor permuted(DType::f32, weight.shape());
      auto src = weight.f32();
      auto dst = permuted.f32();
      for (std::int64_t o = 0; o < outs; ++o)
        for (std::int64_t y = 0; y < h; ++y)
          for (std::int64_t x = 0; x < w; ++x)
            for (std::int64_t ch = 0; ch < c; ++ch)
              dst[std::size_t(o * features + (y * w + x) * c + ch)] =
                  src[std::size_t(o * features + (ch * h + y) * w + x)];
      dense.inputs[1] = graph.add_constant(graph.unique_name(dense.name + "_weight_hwc"), std::move(permuted));
    }
    // The Reshape now reads the NHWC data directly.
    graph.nodes[std::size_t(r)].inputs[0] = transpose.inputs[0];
    graph.nodes.erase(graph.nodes.begin() + std::ptrdiff_t(n));
    --n;
    changed = true;
  }
  return changed;
}

}  // namespace tinyq
