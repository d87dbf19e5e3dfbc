#pragma once
// Calibration: statistics of a float tensor over the calibration set, and the methods that
// turn them into a clipping range (DESIGN.md "Calibration methods").
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tinyq {

// Statistics of one tensor over many samples. Built in two passes over the calibration
// data: the first finds min/max, the second fills histograms whose bin ranges come from
// the first (`with_range`). Histograms from different threads merge exactly.
class TensorHistogram {
public:
  static constexpr int kBins = 2048;

  // Pass 1: extremes only.
  void observe_range(std::span<const float> values);
  // Prepare pass 2 from pass 1's extremes (bins over [min, max] and over [0, max|x|]).
  void start_histograms();
  // Pass 2: fill both histograms (values beyond the pass-1 range go to the end bins).
  void observe(std::span<const float> values);
  void merge(const TensorHistogram& other);

  float min() const { return min_; }
  float max() const { return max_; }
  float abs_max() const;
  std::uint64_t count() const { return count_; }
  // Signed histogram: kBins bins over [min(), max()].
  const std::vector<std::uint64_t>& bins() const { return bins_; }
  // Magnitude histogram: kBins bins over [0, abs_max()].
  const std::vector<std::uint64_t>& abs_bins() const { return abs_bins_; }

private:
  float min_ = 0, max_ = 0;
  bool seen_ = false;
  std::uint64_t count_ = 0;
  std::vector<std::uint64_t> bins_, abs_bins_;
};

// A clipping range; quantization maps [lo, hi] onto the int8 grid.
struct ClipRange {
  float lo = 0, hi = 0;
};

enum class CalibrationMethod { minmax, percentile, kl, mse };
const char* calibration_method_name(CalibrationMethod m);
// Throws tinyq::Error for an unknown name.
CalibrationMethod calibration_method_from_name(const std::string& name);

// [min, max] as observed.
ClipRange calibrate_minmax(const TensorHistogram& h);
// Clip the tails holding (100 - percentile)% of the values (split between the two tails
// for signed data; the upper tail only for non-negative data).
ClipRange calibrate_percentile(const TensorHistogram& h, double percentile = 99.99);
// TensorRT entropy calibration on the magnitude histogram: candidate thresholds from bin
// 128 upward, values beyond a candidate clipped into its last bin, 128 quantization levels,
// empty bins stay empty, KL(P||Q) minimised. Returns [-T, T] for signed data, [0, T] for
// non-negative data (and never wider than [min, max]).
ClipRange calibrate_kl(const TensorHistogram& h);
// The range that minimises the expected squared error of affine int8 quantization
// (rounding noise inside, clipping error outside) over the histogram.
ClipRange calibrate_mse(const TensorHistogram& h);

ClipRange calibrate(const TensorHistogram& h, CalibrationMethod method);

// Expected squared error of quantizing the histogram's values with affine int8 on `range`
// (what `mse` minimises; `auto` and the reports use it too).
double quantization_mse(const TensorHistogram& h, ClipRange range);

// Power-of-two scheme: the number of fractional bits f (real = q * 2^-f, q in [-128, 127])
// that minimises the quantization MSE over the histogram, searched around
// floor(log2(127 / max|x|)) (NNoM's choice) so that clipping outliers can win.
int choose_pow2_frac_bits(const TensorHistogram& h);
// NNoM 0.4's choice: the largest f such that max|x| fits, i.e. floor(log2(127/max|x|))... as
// NNoM computes it: int_bits = ceil(log2(max|x|)), f = 7 - int_bits.
int nnom_frac_bits(float abs_max);

}  // namespace tinyq
