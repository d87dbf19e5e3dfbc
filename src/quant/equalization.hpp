#pragma once
// Cross-layer equalization (Nagel et al., "Data-Free Quantization Through Weight
// Equalization and Bias Correction", ICCV 2019, section 4.1), over every region where a
// positive per-channel rescale preserves the function (equalization_regions.hpp: through
// ReLU, LeakyReLU, PReLU, pooling, zero padding, flatten and concat, never across a residual
// add). Output channel c of every producer is divided by s_c and the matching input weights
// of every consumer multiplied by s_c.
//
// Two ways to choose s_c, each balancing what the preset's formats quantize badly:
// - weight ranges (Nagel): s_c = sqrt(r1_c / r2_c), r1 the producer's output-channel weight
//   range, r2 the consumers' input-channel weight range. Both become sqrt(r1 r2): what
//   per-tensor and power-of-two weight formats need.
// - activation ranges: s_c = sqrt(a_c / r2_c), a_c the channel's largest |activation| on
//   calibration data. The shared activation scale then sees channels of even range, at the
//   cost of spreading the consumers' input weights as much (the square-root balance of
//   SmoothQuant, Xiao et al., ICML 2023, with migration strength 0.5). This is what
//   per-channel weights (`best`) need when channel ranges of one tensor differ by 100x.
// Both iterate over all regions until the scales settle (a layer can be a consumer in one
// region and a producer in the next).
#include <unordered_map>
#include <vector>

#include "exec/input_samples.hpp"
#include "ir/graph.hpp"
#include "ir/tensor.hpp"

namespace tinyq {

enum class EqualizeBy { weight_ranges, activation_ranges };

// Largest |value| per channel (last axis) of each listed tensor, over `samples` (at most
// `max_samples` of them).
using ChannelRanges = std::unordered_map<ValueId, std::vector<float>>;
ChannelRanges collect_channel_ranges(const Graph& graph, const InputSamples& samples,
                                     const std::vector<ValueId>& values, int threads, std::int64_t max_samples = 256);

// Rewrites the float graph in place; returns the number of regions rescaled. Activation
// ranges need `samples`.
int equalize_cross_layer(Graph& graph, EqualizeBy by = EqualizeBy::weight_ranges, const InputSamples* samples = nullptr,
                         int threads = 0);

}  // namespace tinyq
