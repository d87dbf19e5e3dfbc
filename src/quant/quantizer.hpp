#pragma once
// Float graph + calibration data -> quantized graph (DESIGN.md "Quantization conventions").
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include "ir/qgraph.hpp"
#include "quant/calibration.hpp"

namespace tinyq {

struct QuantizeOptions {
  std::string preset = "best";             // best | cmsis | nnom | pow2
  std::optional<std::string> scheme;       // affine | pow2 (overrides the preset)
  std::optional<std::string> granularity;  // channel | tensor
  std::optional<std::string> calibration;  // minmax | percentile | kl | mse | auto
  std::optional<bool> bias_correction;     // overrides the preset (best: on)
  int threads = 0;
  std::function<void(int pass, std::int64_t done, std::int64_t total)> progress;
};

// The settings a preset stands for, with explicit overrides applied; throws tinyq::Error
// naming the option for unknown values.
QuantSettings resolve_settings(const QuantizeOptions& options);

// Calibrates on `samples` (source layout, N × input shape) and quantizes. Throws
// tinyq::Error naming the node for an op without an int8 kernel or an accumulator that
// could overflow.
QGraph quantize(const Graph& graph, const Tensor& samples, const QuantizeOptions& options);

// Quantizes with statistics already collected (keyed by ValueId of `graph`).
QGraph quantize_with_statistics(const Graph& graph, const std::unordered_map<ValueId, TensorHistogram>& stats,
                                const QuantSettings& settings);

}  // namespace tinyq
