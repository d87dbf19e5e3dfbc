#pragma once
// `auto` calibration (docs/QUANTIZATION.md "Calibration"): per activation tensor, the method
// whose clipping range minimises the error that matters, the error at the outputs of the
// layers that consume the tensor, not the tensor's own quantization error. A clipped
// outlier that a following conv amplifies, or a tail that a following tanh flattens anyway,
// weigh what they cost downstream.
//
// How: the float model runs on (a bounded part of) the calibration set. For each tensor T
// and each candidate range (minmax, percentile, kl, mse; identical quantizations counted
// once) T is fake-quantized (rounded to the int8 grid of that range and clamped) and only
// T's consumers are re-run in float, every other input exact. The error is the sum over
// the consumers' outputs of noise energy / signal energy. Ops that only move or select
// values (reshape, max pool, pad, resize, transpose, concat) are looked through: their
// consumers count. A tensor that is a model output also counts its own error. Ties go to
// the earlier method in the order above. A tensor with lone outliers (TensorHistogram) is not
// offered minmax. Deterministic: it depends on neither the thread
// count nor timing.
#include <cstdint>
#include <unordered_map>

#include "exec/input_samples.hpp"
#include "ir/graph.hpp"
#include "ir/qgraph.hpp"
#include "quant/calibration.hpp"

namespace tinyq {

struct AutoCalibrationOptions {
  int threads = 0;
  std::int64_t max_samples = 256;  // calibration samples the consumer error is measured on
};

struct AutoChoice {
  CalibrationMethod method = CalibrationMethod::minmax;
  ClipRange range;
  double error = 0;  // consumer-output noise / signal of that range (0 when nothing was measured)
};

// One choice per tensor of `stats` (pass-2 histograms of `graph`'s values, as
// collect_statistics gives them). `samples`: the calibration set, source layout.
std::unordered_map<ValueId, AutoChoice> choose_auto_calibration(
    const Graph& graph, const std::unordered_map<ValueId, TensorHistogram>& stats, const InputSamples& samples,
    const AutoCalibrationOptions& options = {});

// The affine int8 quantization of a clipping range (widened to hold 0): what the quantizer
// gives a tensor calibrated to `range`.
QuantParam affine_quant_param(ClipRange range);

}  // namespace tinyq
