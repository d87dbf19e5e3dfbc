#pragma once
// Graph rewrites. Each returns true when it changed the graph; `simplify` runs them to a
// fixed point. Every pass keeps the graph's results unchanged (up to float rounding).
#include "ir/graph.hpp"

namespace tinyq {

// Nodes whose inputs are all constants are evaluated now and become constants.
bool fold_constants(Graph& graph);
// Identity nodes and Reshapes that change nothing are bypassed; Reshape chains collapse;
// Transposes that only move size-1 axes become Reshapes.
bool remove_identities(Graph& graph);
// ChannelAffine (an unfused BatchNormalization) after a Conv / ConvTranspose / Dense whose
// output has no other use is folded into its weights and bias.
bool fold_batch_norm(Graph& graph);
// Add of a per-channel constant after Conv / Dense goes into the bias.
bool fold_bias_add(Graph& graph);
// Relu / Clip after a producer that can clamp its output becomes that producer's clamp
// (attributes act_min / act_max).
bool fuse_activations(Graph& graph);
// A constant-mode spatial Pad before Conv / AvgPool / MaxPool becomes the window's padding
// where that is exact.
bool fold_pad(Graph& graph);
// Transpose(NHWC->NCHW) -> Reshape(flatten) -> Dense: the Dense weights' columns are
// permuted instead, so no transpose runs.
bool fold_flatten_transpose(Graph& graph);
// A chain of Transposes and Reshapes (ShuffleNet's exported channel shuffle) becomes at most
// one Transpose between two Reshapes, found by running the chain on element indices.
bool fold_transpose_chains(Graph& graph);
// The nine-op LayerNorm that PyTorch exports at opset 13 becomes one LayerNorm node.
bool fuse_layer_norm(Graph& graph);
// ReduceMean over H and W of an NHWC tensor is a GlobalAvgPool.
bool reduce_mean_to_pool(Graph& graph);

// All of the above, to a fixed point, then dead-value removal, ordering and validation.
void simplify(Graph& graph);

}  // namespace tinyq
