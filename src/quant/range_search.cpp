#include "quant/range_search.hpp"

#include <cmath>

#include "exec/float_executor.hpp"
#include "exec/int8_executor.hpp"

namespace tinyq {

namespace {

// The int8 model's output error energy against the float reference on `inputs`.
double output_noise(const QGraph& q, const std::vector<Tensor>& inputs, const std::vector<Tensor>& reference,
                    int threads) {
  const auto quantized = Int8Executor(q, {.threads = threads}).run(inputs);
  double noise = 0;
  for (std::size_t o = 0; o < reference.size(); ++o)
    for (std::int64_t i = 0; i < reference[o].numel(); ++i) {
      const double d = double(reference[o].f32()[std::size_t(i)]) - double(quantized[o].f32()[std::size_t(i)]);
      noise += d * d;
    }
  return noise;
}

double sqnr_db(double signal, double noise) {
  return noise > 0 ? 10.0 * std::log10(std::max(signal, 1e-30) / noise) : 200.0;
}

}  // namespace

RangeSearchResult search_ranges(const Graph& graph, const std::vector<ValueId>& tensors, const InputSamples& samples,
                                const std::function<QGraph(const RangeScales&)>& build,
                                const RangeSearchOptions& options) {
  const InputSamples subset = samples.head(graph, options.samples);
  const std::vector<Tensor> reference = FloatExecutor(graph, {.threads = options.threads}).run(subset.tensors());
  double signal = 0;
  for (const Tensor& r : reference)
    for (float f : r.f32()) signal += double(f) * double(f);
  RangeSearchResult result;
  double best = output_noise(build(result.scales), subset.tensors(), reference, options.threads);
  result.sqnr_before_db = sqnr_db(signal, best);
  RangeScales changed_once;
  for (int pass = 0; pass < options.passes && best > 0; ++pass) {
    bool moved = false;
    for (ValueId t : tensors) {
      const double current = result.scales.count(t) ? result.scales.at(t) : 1.0;
      double chosen = current;
      for (double f : options.factors) {
        RangeScales trial = result.scales;
        trial[t] = current * f;
        const double noise = output_noise(build(trial), subset.tensors(), reference, options.threads);
        // Strictly lower: ties keep the calibrated range.
        if (noise < best * (1 - 1e-9)) best = noise, chosen = current * f;
      }
      if (chosen != current) {
        result.scales[t] = chosen;
        changed_once[t] = chosen;
        moved = true;
      }
    }
    if (!moved) break;
  }
  result.sqnr_after_db = sqnr_db(signal, best);
  // The search fits the ranges to `subset`: keep them only if the error also drops on the
  // next samples of the calibration set, which it did not see.
  const InputSamples check = samples.range(graph, options.samples, options.samples);
  if (!result.scales.empty() && check.count(graph) > 0) {
    const std::vector<Tensor> check_reference = FloatExecutor(graph, {.threads = options.threads}).run(check.tensors());
    const double searched = output_noise(build(result.scales), check.tensors(), check_reference, options.threads);
    const double calibrated = output_noise(build({}), check.tensors(), check_reference, options.threads);
    if (!(searched < calibrated)) {
      result.scales.clear();
      changed_once.clear();
      result.sqnr_after_db = result.sqnr_before_db;
    }
  }
  result.changed = int(changed_once.size());
  return result;
}

}  // namespace tinyq
