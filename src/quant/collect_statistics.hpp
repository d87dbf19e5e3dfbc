#pragma once
// Runs the float model over the calibration set and gathers every activation's statistics.
#include <functional>
#include <unordered_map>

#include "exec/input_samples.hpp"
#include "ir/graph.hpp"
#include "quant/calibration.hpp"

namespace tinyq {

struct CollectOptions {
  int threads = 0;
  bool histograms = true;  // second pass; minmax-only calibration can skip it
  // Called from the calling thread with (samples done, samples total) per pass.
  std::function<void(int pass, std::int64_t done, std::int64_t total)> progress;
};

// Statistics of the graph inputs and of every node output, keyed by ValueId.
std::unordered_map<ValueId, TensorHistogram> collect_statistics(const Graph& graph, const InputSamples& samples,
                                                                const CollectOptions& options);

}  // namespace tinyq
