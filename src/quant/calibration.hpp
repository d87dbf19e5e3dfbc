#pragma once
// Calibration: statistics of a float tensor over the calibration set, and the methods that
// turn them into a clipping range (docs/QUANTIZATION.md "Calibration").
#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tinyq {

// Statistics of one tensor over many samples. Built in two passes over the calibration
// data: the first finds min/max, the second fills histograms whose bin ranges come from
// the first (`start_histograms`). Histograms from different threads merge exactly: merge the
// per-thread pass-1 histograms, call start_histograms on the result, give every thread a copy
// for pass 2, merge those. One histogram is not thread-safe.
// Non-finite values (NaN, +-Inf) are ignored by both passes: not in the extremes, the bins or
// count(). -0 and denormals are taken as 0 (extremes, and abs_bins leaves them out), so that
// the statistics do not depend on how exactly a near-zero value was computed. Misuse (observe before start_histograms,
// observe_range after it, merging histograms of different passes or ranges, calibrating without pass 2) throws
// std::logic_error: it is a bug, not bad input.
//
// Lone outliers: pass 1 also counts values per power of two, per sign. At start_histograms,
// the values of one sign that sit more than kOutlierGapOctaves powers of two above the rest of
// that sign (nothing in between) and are at most kOutlierFraction of count() are "lone
// outliers": the bins span only the rest (bins_min()/bins_max()), and the outliers fall in the
// end bins. One 1e38 pixel among images in [0, 1] would otherwise put every other value in
// bin 0 and leave percentile/KL/MSE nothing to work with. min()/max() stay the observed
// extremes; without lone outliers the bins span exactly [min(), max()].
struct ClipRange;
enum class CalibrationMethod;

class TensorHistogram {
 public:
  static constexpr int kBins = 2048;
  static constexpr int kOutlierGapOctaves = 13;     // > 8192x above the rest
  static constexpr double kOutlierFraction = 0.01;  // at most 1% of the values

  // Pass 1: extremes only.
  void observe_range(std::span<const float> values);
  // Prepare pass 2 from pass 1's extremes (bins over [bins_min, bins_max] and over
  // [0, bins_abs_max]).
  // Zeroes the bins and count(). With no pass-1 data the range is [0, 0]: all values then
  // fall in the end bins.
  void start_histograms();
  // Pass 2: fill both histograms (values beyond the pass-1 range go to the end bins).
  void observe(std::span<const float> values);
  // Pass 1: extremes combine. Pass 2: bins add, and both must have the same range (i.e. be
  // copies of one start_histograms). An empty histogram (nothing observed, not started)
  // merges as the identity either way.
  void merge(const TensorHistogram& other);

  float min() const { return min_; }
  float max() const { return max_; }
  float abs_max() const;
  // The range the bins cover: [min(), max()] without lone outliers, else the rest's range
  // (to the power of two above its largest magnitude, at most the observed extreme).
  float bins_min() const { return bins_lo_; }
  float bins_max() const { return bins_hi_; }
  float bins_abs_max() const { return std::max(-bins_lo_, bins_hi_); }
  // True when start_histograms left lone outliers out of the bin range.
  bool has_outliers() const { return bins_lo_ != min_ || bins_hi_ != max_; }
  // Finite values seen by the current pass (start_histograms resets it).
  std::uint64_t count() const { return count_; }
  // Signed histogram: kBins bins over [bins_min(), bins_max()].
  const std::vector<std::uint64_t>& bins() const { return bins_; }
  // Magnitude histogram of the non-zero values: kBins bins over [0, bins_abs_max()]. Exact zeros
  // are left out (count() - sum = their number), as ncnn's KL calibration does: they quantize
  // exactly, and a ReLU output's spike at 0 would otherwise drag the KL threshold down.
  const std::vector<std::uint64_t>& abs_bins() const { return abs_bins_; }

 private:
  static constexpr int kOctaves = 256;  // float exponent field values
  float min_ = 0, max_ = 0;
  float bins_lo_ = 0, bins_hi_ = 0;
  bool seen_ = false;
  // Pass 1: counts per float exponent of the positive and the negative values (zeros left out).
  std::vector<std::uint64_t> octaves_;
  std::uint64_t count_ = 0;
  std::vector<std::uint64_t> bins_, abs_bins_;
  // calibrate_kl's and calibrate_mse's results, computed once: `auto` tries every method and
  // the quantizer then asks again for the one chosen (KL costs milliseconds per tensor).
  // Cleared by whatever changes the statistics.
  friend ClipRange calibrate(const TensorHistogram& h, CalibrationMethod method);
  mutable bool kl_cached_ = false, mse_cached_ = false;
  mutable float kl_lo_ = 0, kl_hi_ = 0, mse_lo_ = 0, mse_hi_ = 0;
  void forget_ranges() { kl_cached_ = mse_cached_ = false; }
};

// A clipping range; quantization maps [lo, hi] onto the int8 grid.
// Every calibrate_* result has hi > lo: a range with one distinct value c (constant tensor,
// single sample) becomes [min(c, 0), max(c, 0)]; an all-zero or never-observed tensor gets
// [0, 1] (a deliberately ordinary scale: a tiny one would overflow the consumer's int32 bias,
// whose scale is s_in * s_w). Other ranges need not hold 0: the affine quantizer widens them.
struct ClipRange {
  float lo = 0, hi = 0;
};

enum class CalibrationMethod { minmax, percentile, kl, mse };
const char* calibration_method_name(CalibrationMethod m);
// Throws tinyq::Error for an unknown name.
CalibrationMethod calibration_method_from_name(const std::string& name);

// [min, max] as observed (lone outliers included: `auto` does not offer it then).
ClipRange calibrate_minmax(const TensorHistogram& h);
// Clip the tails holding (100 - percentile)% of the values (split between the two tails
// for signed data, min < 0; the upper tail only for non-negative data, whose lo is min),
// interpolating inside a bin. Throws tinyq::Error unless 0 < percentile <= 100.
ClipRange calibrate_percentile(const TensorHistogram& h, double percentile = 99.99);
// TensorRT entropy calibration on the magnitude histogram: candidate thresholds from bin
// 128 up to the whole histogram, values beyond a candidate clipped into its last bin, 128
// quantization levels, empty bins stay empty, KL(P||Q) minimised, T = (i + 0.5) * bin width
// for the best bin count i. Returns [0, T] for non-negative data (min >= 0; lo is 0 even
// when min > 0) and [-T, T] clipped to [min, max] for signed data.
ClipRange calibrate_kl(const TensorHistogram& h);
// The range that minimises the expected squared error of affine int8 quantization
// (rounding noise inside, clipping error outside) over the histogram: a grid search over lo
// in {k/200 * min(min, 0)} and hi in {k/200 * max(max, 0)}, k = 1..200 (non-negative data
// keeps lo = 0). Includes [min, max] itself, so never worse than minmax by quantization_mse.
ClipRange calibrate_mse(const TensorHistogram& h);

ClipRange calibrate(const TensorHistogram& h, CalibrationMethod method);

// Expected squared error per value of quantizing the histogram's values with affine int8 on
// `range` widened to hold 0 (as the affine quantizer does), from the signed histogram with
// each bin's mass at its centre: (x - clip)^2 outside, step^2 / 12 inside, step = span / 255.
// What `mse` minimises; `auto` and the reports use it too.
double quantization_mse(const TensorHistogram& h, ClipRange range);

// Power-of-two scheme: the number of fractional bits f (real = q * 2^-f, q in [-128, 127])
// that minimises the quantization MSE over the histogram (same error model as
// quantization_mse, step 2^-f), searched over nnom_frac_bits - 1 .. nnom_frac_bits + 8 so
// that clipping outliers can win. Needs the pass-2 histograms.
int choose_pow2_frac_bits(const TensorHistogram& h);
// NNoM 0.4.0/0.4.1's choice (scripts/nnom.py find_dec_bits_max_min): int_bits =
// ceil(log2(max|x|)), f = 7 - int_bits. Not quite "the largest f such that max|x| fits":
// 127 * 2^-f < max|x| <= 128 * 2^-f is possible (max|x| = 1 gives f = 7, top value 127/128),
// clipping max|x| by up to one step; kept as the baseline. max|x| = 0 gives 7 (NNoM fails on
// log2(0)); a negative or non-finite max|x| throws tinyq::Error. No upper cap (0.4.2 added 16).
int nnom_frac_bits(float abs_max);

}  // namespace tinyq
