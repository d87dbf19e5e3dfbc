#pragma once
// Whole-model range search (preset `best`): the clipping ranges that per-tensor calibration
// chose (each tensor judged by its own consumers' error, auto_calibration.hpp) are refined
// for the model as a whole. Coordinate descent over the tensors' ranges: each in turn is
// narrowed or widened by a few factors, the whole int8 model is re-run on a subset of the
// calibration data, and a factor is kept when it lowers the model's output error against
// float; passes repeat until none changes (or the pass budget ends). Greedy per-tensor
// choices miss interactions: a range clipped harder upstream changes what is best
// downstream, and concat branches or residual adds meet on one grid. The search fits a
// subset, so its result is kept only if the output error also drops on the calibration
// samples after that subset (when there are any).
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "exec/input_samples.hpp"
#include "ir/graph.hpp"
#include "ir/qgraph.hpp"

namespace tinyq {

// Per tensor (a quantization group's root): the factor its calibrated clipping range is
// multiplied by (absent: 1).
using RangeScales = std::unordered_map<ValueId, double>;

struct RangeSearchOptions {
  int threads = 0;
  std::int64_t samples = 256;                      // calibration samples the output error is measured on
  std::vector<double> factors = {0.8, 0.9, 1.12};  // tried on each tensor's current range
  int passes = 2;
};

struct RangeSearchResult {
  RangeScales scales;
  int changed = 0;  // tensors whose range moved
  double sqnr_before_db = 0, sqnr_after_db = 0;
};

// `tensors`: the group roots to refine, in model order. `build` quantizes the model with
// given scales.
RangeSearchResult search_ranges(const Graph& graph, const std::vector<ValueId>& tensors, const InputSamples& samples,
                                const std::function<QGraph(const RangeScales&)>& build,
                                const RangeSearchOptions& options = {});

}  // namespace tinyq
