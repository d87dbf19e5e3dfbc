#pragma once
// Float graph + calibration data -> quantized graph (docs/DESIGN.md "Quantization conventions").
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "exec/input_samples.hpp"
#include "ir/qgraph.hpp"
#include "quant/calibration.hpp"
#include "quant/range_search.hpp"

namespace tinyq {

struct QuantizeOptions {
  std::string preset = "best";             // best | fast | cmsis | nnom | pow2
  std::optional<std::string> scheme;       // affine | pow2 (overrides the preset)
  std::optional<std::string> granularity;  // channel | tensor
  std::optional<std::string> calibration;  // minmax | percentile | kl | mse | auto
  std::optional<bool> bias_correction;     // overrides the preset (best: on)
  std::optional<bool> optimized_rounding;  // quant/rounding.hpp; on in best only
  std::optional<bool> range_search;        // quant/range_search.hpp; off in every preset (no held-back gain)
  // int16 activations (quant/widen.hpp): "auto", "off" or node names separated by commas.
  // Unset: the preset's (best, fast: auto; cmsis, nnom, pow2: off, the formats they emulate).
  std::optional<std::string> int16;
  std::int64_t int16_ram = 0;  // bytes auto may add to the arena; <= 0: the int8 arena's size
  int threads = 0;
  std::function<void(int pass, std::int64_t done, std::int64_t total)> progress;
  // When set, quantize checks the data and the result and appends one sentence per problem:
  // lone input outliers (clamped for calibration), identical inputs, inputs that look like
  // unscaled 8-bit pixels or lie beyond +-1e4, and a collapsed result (model output SQNR
  // < kMinOutputSqnrDb or top-1 agreement < kMinAgreement against float).
  std::vector<std::string>* warnings = nullptr;
  // Samples not used for calibration to check the result on (one tensor per model input);
  // without them (empty), the first 256 calibration samples.
  InputSamples holdout;
  // When set (with `warnings`), filled with the check's figures.
  struct Prediction* prediction = nullptr;
};

// What quantize measured of its own result, against the float model: the damage to expect.
struct Prediction {
  std::int64_t samples = 0;
  bool held_back = false;  // measured on samples calibration did not see
  double output_sqnr_db = 0;
  double agreement = 1;  // top-1 agreement; 1 for outputs of one element per sample
  // The layers with the lowest SQNR (at most three), worst first.
  std::vector<std::pair<std::string, double>> worst_layers;
};

// Below these the int8 model is predicted to lose accuracy visibly. On 256 held-back
// Fashion-MNIST samples every zoo model gives >= 19 dB and >= 97% with `best` and `pow2`;
// the `nnom` and `cmsis` baselines fall below 97% on densenet and dwsep (94.9-96.5%), and
// are warned about, as they should be. seed_cnn calibrated on blank images gives 4.9 dB and
// 71.5%, on the 1e38 pixel before outliers were handled 0.8 dB and 11%.
inline constexpr double kMinOutputSqnrDb = 15.0;
inline constexpr double kMinAgreement = 0.97;

// The settings a preset stands for, with explicit overrides applied; throws tinyq::Error
// naming the option for unknown values.
QuantSettings resolve_settings(const QuantizeOptions& options);

// Calibrates on `samples` (source layout, one N × input shape tensor per model input, in the
// model's input order) and quantizes. Lone outliers in
// the input (values more than 2^13 times beyond the rest, at most 1% of them; see
// TensorHistogram) are clamped to the rest's range first: the int8 input clamps them anyway,
// and left in they would set the ranges of every layer after the input. Throws
// tinyq::Error naming the node for an op without an int8 kernel or an accumulator that
// could overflow.
QGraph quantize(const Graph& graph, const InputSamples& samples, const QuantizeOptions& options);

// `samples` with the lone outliers of its values (see TensorHistogram) clamped to the range of
// the rest, as quantize calibrates on it; `samples` itself when there are none. With
// `warnings`, one sentence naming the first outlier, starting with `what`.
Tensor clamp_input_outliers(const Tensor& samples, std::vector<std::string>* warnings = nullptr,
                            const std::string& what = "calibration data");

// Quantizes with statistics already collected (keyed by ValueId of `graph`). `scales`
// multiplies the calibrated clipping range of a tensor's quantization group (range_search.hpp).
QGraph quantize_with_statistics(const Graph& graph, const std::unordered_map<ValueId, TensorHistogram>& stats,
                                const QuantSettings& settings, const RangeScales& scales = {});

}  // namespace tinyq
