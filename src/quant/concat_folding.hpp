#pragma once
// Concat with channel-group scales (docs/QUANTIZATION.md, "Concat branches keep their
// scales"): a concat along channels whose every reader is a conv, depthwise or dense layer
// copies its branches' bytes as they are, each branch keeping its own scale, and each reader
// absorbs the branch scales into its per-input-channel weights before they are quantized.
// No requantization step, and no branch squeezed onto the widest branch's grid (the NNoM
// users' complaint of one concat format).
#include <unordered_map>
#include <vector>

#include "ir/graph.hpp"
#include "ir/qgraph.hpp"
#include "quant/quantize_node.hpp"

namespace tinyq::quant_detail {

// Concat outputs that can keep their branches' scales, with the real scale of each channel.
// Conditions: affine scheme (not the nnom preset), concat along the last (channel) axis, branches with one zero
// point between them and at least two scales, an output that is not a model output and
// that only conv (not transposed), depthwise and dense layers read, as their data input.
std::unordered_map<ValueId, std::vector<float>> foldable_concats(const Graph& graph, const QuantSettings& settings,
                                                                 const std::unordered_map<ValueId, QuantParam>& params);

// A conv, depthwise or dense layer reading a concat with channel scales `scales`: its float
// weights are multiplied by scale[c] / (the concat's nominal scale) for input channel c, then
// quantized as usual against the nominal scale.
QNode quantize_folded_reader(const Context& ctx, const Node& node, const std::vector<float>& scales);

}  // namespace tinyq::quant_detail
