#pragma once
// Empirical bias correction (Nagel et al., "Data-Free Quantization Through Weight
// Equalization and Bias Correction", ICCV 2019, section 4.2, empirical variant): quantized
// weights shift each output channel's mean; measure that shift on calibration data and
// subtract it from the int32 bias, layer by layer so later layers see corrected inputs.
#include "exec/input_samples.hpp"
#include "ir/qgraph.hpp"

namespace tinyq {

// Adjusts the bias of every conv / depthwise / dense node of `graph` in place, using up to
// `max_samples` of `samples` (source layout). Returns the number of layers corrected.
int correct_bias(QGraph& graph, const InputSamples& samples, int threads = 0, std::int64_t max_samples = 256);

}  // namespace tinyq
