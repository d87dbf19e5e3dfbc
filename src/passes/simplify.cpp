#include "ir/shape_inference.hpp"
#include "passes/passes.hpp"
#include "util/error.hpp"

namespace tinyq {

void simplify(Graph& graph) {
  // Each pass shrinks the graph or leaves it alone, so this terminates; the bound is a guard.
  for (int round = 0; round < 64; ++round) {
    bool changed = false;
    changed |= fold_constants(graph);
    changed |= remove_identities(graph);
    changed |= fold_transpose_chains(graph);
    changed |= fuse_layer_norm(graph);
    changed |= reduce_mean_to_pool(graph);
    graph.topological_sort();
    changed |= fold_batch_norm(graph);
    changed |= fold_bias_add(graph);
    changed |= fold_flatten_transpose(graph);
    changed |= fold_pad(graph);
    changed |= fuse_activations(graph);
    graph.compact();
    graph.topological_sort();
    if (!changed) break;
  }
  infer_shapes(graph);
  graph.validate();
}

}  // namespace tinyq
