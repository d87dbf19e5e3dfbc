#pragma once
// How far each quantized layer's output is from the float model's, on real data.
#include <string>
#include <vector>

#include "exec/input_samples.hpp"
#include "ir/qgraph.hpp"

namespace tinyq {

struct LayerError {
  std::string name, op;
  double sqnr_db = 0;  // 10 log10(Σ float² / Σ (float - dequantized int8)²)
  double cosine = 0;   // cosine similarity of the two activations
};

// Runs the float graph and the quantized graph on `samples` (source layout) and compares
// every node's output. Each layer sees the int8 model's own inputs: errors accumulate as
// they will on the MCU.
std::vector<LayerError> measure_layer_error(const QGraph& graph, const InputSamples& samples, int threads = 0);

// SQNR of `got` against `reference`, every output tensor together (200 for no noise).
double outputs_sqnr_db(const std::vector<Tensor>& reference, const std::vector<Tensor>& got);

// SQNR of the model's outputs (all of them together) on up to `max_samples` samples.
double output_sqnr_db(const QGraph& graph, const InputSamples& samples, int threads = 0,
                      std::int64_t max_samples = 256);

}  // namespace tinyq
