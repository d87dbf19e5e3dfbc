#pragma once
// Cross-layer equalization (Nagel et al., "Data-Free Quantization Through Weight
// Equalization and Bias Correction", ICCV 2019, section 4.1). For two linear layers with
// only a positively homogeneous op between them (nothing, ReLU, ReLU6 with care: see the
// .cpp), scaling output channel i of the first by 1/s_i and input channel i of the second by
// s_i leaves the function unchanged. s_i = sqrt(r1_i / r2_i) makes both weight ranges
// sqrt(r1_i * r2_i): channel ranges even out, which is what per-tensor and power-of-two
// weight formats need.
#include "ir/graph.hpp"

namespace tinyq {

// Rewrites the float graph in place; returns the number of layer pairs equalized.
int equalize_cross_layer(Graph& graph, int iterations = 4);

}  // namespace tinyq
