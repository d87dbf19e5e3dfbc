#pragma once
// Moving a quantized model's data in and out: quantizing float samples for its inputs, and
// permuting samples between the model's own (source) layout and the stored layout its
// buffers hold (NHWC for 4-D activations). The host int8 executor, `tinyq verify` (which
// sends samples to the MCU) and the MAC counts of `tinyq bench` all use these.
#include <cstdint>
#include <vector>

#include "ir/qgraph.hpp"
#include "ir/tensor.hpp"

namespace tinyq {

// One sample of `v`, source layout → stored layout, and back.
void sample_to_stored(const QValue& v, const std::int8_t* src, std::int8_t* dst);
void sample_to_source(const QValue& v, const std::int8_t* src, std::int8_t* dst);

// int8 samples in the source layout (what Int8Executor::run_int8 takes and returns) → bytes
// in the stored layout, sample after sample.
std::vector<std::int8_t> to_stored_bytes(const QValue& value, const Tensor& samples);

// Float samples quantized exactly as the host int8 executor quantizes its inputs.
Tensor quantize_samples(const QValue& input, const Tensor& samples);

// MACs of one quantized node (conv, depthwise, dense; 0 for the rest).
std::int64_t node_macs(const QNode& n);

}  // namespace tinyq
