#include "quant/calibration.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "util/error.hpp"

namespace tinyq {

namespace {

constexpr int kBins = TensorHistogram::kBins;

// The span given to a tensor that was zero (or never seen) during calibration. Not a tiny
// epsilon: the consumer's bias scale is s_in * s_w, and s_in = 1e-6 / 255 would push its
// int32 bias out of range; pow2 gets frac_bits 7 instead of 27. Any span represents 0 exactly.
constexpr float kZeroTensorSpan = 1.0f;

// TensorRT entropy calibration: 128 quantization levels, thresholds from bin 128 upward.
constexpr int kKlLevels = 128;
// MSE search: candidate ends at k/kMseSteps of the observed extreme, k = 1..kMseSteps.
constexpr int kMseSteps = 200;

// The rule of every calibrate_* result (documented in calibration.hpp at ClipRange): an empty
// range (one distinct value, or no data) is widened to hold 0, and an all-zero one to
// [0, kZeroTensorSpan]. Non-empty ranges are returned unchanged.
ClipRange valid_range(ClipRange r) {
  if (r.hi > r.lo) return r;
  r.lo = std::min(r.lo, 0.0f);
  r.hi = std::max(r.hi, 0.0f);
  if (r.hi > r.lo) return r;
  return {0.0f, kZeroTensorSpan};
}

void require_histograms(const TensorHistogram& h, const char* who) {
  if (h.bins().size() != std::size_t(kBins) || h.abs_bins().size() != std::size_t(kBins))
    throw std::logic_error(std::string(who) + " needs the pass-2 histograms (start_histograms + observe)");
}

// 1 / bin width for binning, as a finite float. An empty range gives FLT_MAX: the value at the
// range maps to bin 0 (0 * FLT_MAX = 0, no NaN), anything above it to the last bin.
float inverse_width(float lo, float hi) {
  const double width = double(hi) - double(lo);
  if (!(width > 0)) return std::numeric_limits<float>::max();
  return float(std::min(double(kBins) / width, double(std::numeric_limits<float>::max())));
}

double signed_bin_width(const TensorHistogram& h) { return (double(h.bins_max()) - double(h.bins_min())) / kBins; }
double signed_bin_centre(const TensorHistogram& h, int i) {
  return double(h.bins_min()) + (i + 0.5) * signed_bin_width(h);
}

// [bins_min, bins_max]: the observed range without lone outliers (minmax when there are none).
ClipRange binned_range(const TensorHistogram& h) { return valid_range({h.bins_min(), h.bins_max()}); }

// Magnitude of the values of one sign without their lone outliers (see TensorHistogram): walking
// down from the largest exponent, each run of more than kOutlierGapOctaves empty exponents with
// values below it is a cut, kept while everything above it is at most kOutlierFraction of
// `total`. Returns the power of two above the lowest such cut's values, or -1 for no cut.
float trimmed_magnitude(const std::uint64_t* counts, int octaves, std::uint64_t total) {
  int e = octaves - 1;
  while (e > 0 && counts[e] == 0) --e;
  std::uint64_t above = 0;
  int cut = -1;
  while (e > 0) {
    above += counts[e];
    if (double(above) > TensorHistogram::kOutlierFraction * double(total)) break;
    int below = e - 1;
    while (below > 0 && counts[below] == 0) --below;
    if (below == 0) break;  // nothing below: these are all the values of this sign
    if (e - below - 1 >= TensorHistogram::kOutlierGapOctaves) cut = below;
    e = below;
  }
  return cut < 0 ? -1.0f : std::ldexp(1.0f, cut - 126);  // exponent field e: [2^(e-127), 2^(e-126))
}

// Expected squared error per value over the signed histogram, each bin's mass at its centre:
// values outside [lo, hi] are clipped, (x - clip)^2; values inside get uniform rounding noise
// delta^2 / 12.
double expected_error(const TensorHistogram& h, double lo, double hi, double delta) {
  const auto& bins = h.bins();
  double clipped = 0;
  std::uint64_t inside = 0, total = 0;
  for (int i = 0; i < kBins; ++i) {
    const std::uint64_t c = bins[std::size_t(i)];
    if (c == 0) continue;
    total += c;
    const double x = signed_bin_centre(h, i);
    if (x < lo)
      clipped += double(c) * (lo - x) * (lo - x);
    else if (x > hi)
      clipped += double(c) * (x - hi) * (x - hi);
    else
      inside += c;
  }
  if (total == 0) return 0;
  return (clipped + double(inside) * delta * delta / 12.0) / double(total);
}

// Lower and upper end of the part of the signed histogram that leaves `lower` values below and
// `upper` values above, interpolating linearly inside the bin where the count is reached.
ClipRange quantile_range(const TensorHistogram& h, double lower, double upper) {
  const auto& bins = h.bins();
  const double lo0 = h.bins_min(), w = signed_bin_width(h);
  ClipRange r{h.bins_min(), h.bins_max()};
  double seen = 0;
  for (int i = 0; i < kBins; ++i) {
    const double c = double(bins[std::size_t(i)]);
    if (seen + c > lower) {
      r.lo = float(lo0 + (i + (lower - seen) / c) * w);
      break;
    }
    seen += c;
  }
  seen = 0;
  for (int i = kBins - 1; i >= 0; --i) {
    const double c = double(bins[std::size_t(i)]);
    if (seen + c > upper) {
      r.hi = float(lo0 + (i + 1 - (upper - seen) / c) * w);
      break;
    }
    seen += c;
  }
  r.lo = std::clamp(r.lo, h.bins_min(), h.bins_max());
  r.hi = std::clamp(r.hi, h.bins_min(), h.bins_max());
  return r;
}

// Prefix sums over the magnitude histogram that every KL candidate reads.
struct KlPrefix {
  std::vector<double> bins;     // the histogram as doubles
  std::vector<double> raw;      // raw[j] = sum of bins[0, j)
  std::vector<double> nonzero;  // nonzero[j] = number of non-empty bins in [0, j)
  std::vector<double> plogp;    // plogp[j] = sum over k < j of p_k log p_k, p_k = bins[k] / total
  KlPrefix(const std::vector<std::uint64_t>& counts, double total)
      : bins(counts.begin(), counts.end()),
        raw(counts.size() + 1),
        nonzero(counts.size() + 1),
        plogp(counts.size() + 1) {
    for (std::size_t k = 0; k < counts.size(); ++k) {
      const double p = bins[k] / total;
      raw[k + 1] = raw[k] + bins[k];
      nonzero[k + 1] = nonzero[k] + (bins[k] > 0 ? 1 : 0);
      plogp[k + 1] = plogp[k] + (p > 0 ? p * std::log(p) : 0.0);
    }
  }
};

// KL(P || Q) of candidate threshold i (bins [0, i) kept) on the magnitude histogram.
//
// TensorRT's entropy calibration (S. Migacz, "8-bit Inference with TensorRT", GTC 2017), with
// the details of the reference implementations, MXNet's contrib/quantization.py
// `_get_optimal_threshold` and ncnn's tools/quantize/ncnn2table.cpp
// `QuantizeData::threshold_distribution` (2018-2020 versions):
// - P = bins[0, i) with the outliers (bins[i..]) added to P[i-1];
// - Q = the raw bins[0, i) merged into 128 levels, each level's mass spread back uniformly
//   over its source bins where P is non-zero, so empty bins stay empty (MXNet's is_nonzeros);
// - both normalised; KL sums over P > 0, where a Q of 0 becomes eps (MXNet's
//   _smooth_distribution adds 1e-4 in count units, i.e. 1e-4 / total once normalised; ncnn
//   adds a flat 1 to the divergence instead).
// A level covers i / 128 bins, splitting boundary bins fractionally as ncnn does, rather than
// MXNet's integer merge whose last level takes the remainder (up to 127 extra bins) and makes
// the divergence jump with i mod 128. `mass`, `weight`, `single` and `count` are scratch
// buffers of kKlLevels; `plogp[j]` = sum over k < j of p_k log p_k (bins with p_k > 0,
// p_k = bins[k] / total), the part of the sum that does not depend on i.
//
// KL = sum p log p - sum p log q. Q is constant over the bins that lie inside one level, so
// that level's share of the second sum is (their P mass) * log q: one logarithm per level and
// per bin that straddles two, not one per bin (the logarithms were most of `auto`'s KL cost).
double kl_divergence(const KlPrefix& pre, double outliers, double total, int i, std::vector<double>& mass,
                     std::vector<double>& weight, std::vector<double>& single, std::vector<double>& count) {
  const std::vector<double>& bins = pre.bins;
  // In units of 1/128 bin, bin j spans [128 j, 128 (j + 1)) and level l spans [l i, (l + 1) i):
  // a bin overlaps at most two levels since i >= 128; integer arithmetic keeps edges exact.
  // Level l holds whole bins [first, end) and shares bin `end` with level l + 1 when its upper
  // edge falls inside it. The whole bins come from prefix sums: O(levels) per candidate, not
  // O(bins). Every mass and weight is a sum of count * k/128 terms, exact in double, so the
  // order of the additions does not matter.
  struct Straddle {
    double p, q;
    int level;  // shared by this level and the next
    double w1;  // its share in `level`
  };
  Straddle straddles[kKlLevels];
  int straddle_count = 0;
  std::fill(mass.begin(), mass.end(), 0.0);
  std::fill(weight.begin(), weight.end(), 0.0);
  for (int l = 0; l < kKlLevels; ++l) {
    const long lower = long(l) * i, upper = lower + i;
    const int first = int((lower + kKlLevels - 1) / kKlLevels), end = int(upper / kKlLevels);
    const double raw = pre.raw[std::size_t(end)] - pre.raw[std::size_t(first)];
    const double nonzero = pre.nonzero[std::size_t(end)] - pre.nonzero[std::size_t(first)];
    mass[std::size_t(l)] += raw;
    weight[std::size_t(l)] += nonzero;
    single[std::size_t(l)] = raw;
    count[std::size_t(l)] = nonzero;
    if (upper % kKlLevels != 0) {  // bin `end` straddles levels l and l + 1 (never the last)
      const double w1 = double(upper - long(kKlLevels) * end) / kKlLevels, w2 = 1.0 - w1;
      const double b = bins[std::size_t(end)];
      mass[std::size_t(l)] += w1 * b;
      mass[std::size_t(l) + 1] += w2 * b;
      if (b > 0) {
        weight[std::size_t(l)] += w1;
        weight[std::size_t(l) + 1] += w2;
        straddles[straddle_count++] = {b, 0.0, l, w1};
      }
    }
  }
  // P's last bin i - 1 (always whole in the last level) also holds the outliers.
  if (outliers > 0) {
    single[kKlLevels - 1] += outliers;
    if (bins[std::size_t(i) - 1] == 0) weight[kKlLevels - 1] += 1, count[kKlLevels - 1] += 1;
  }
  // Q, unnormalised: mass / weight of a bin's level, or the mix of two levels' for a bin that
  // straddles them.
  double q_total = 0;
  for (int k = 0; k < straddle_count; ++k) {
    Straddle& s = straddles[k];
    const std::size_t l = std::size_t(s.level);
    s.q = s.w1 * mass[l] / weight[l] + (1.0 - s.w1) * mass[l + 1] / weight[l + 1];
    q_total += s.q;
  }
  for (int l = 0; l < kKlLevels; ++l)
    if (count[std::size_t(l)] > 0) q_total += count[std::size_t(l)] * (mass[std::size_t(l)] / weight[std::size_t(l)]);
  const double eps = 1e-4 / total;
  auto log_qn = [&](double q) {
    const double qn = q_total > 0 ? q / q_total : 0.0;
    return std::log(qn <= 0 ? eps : qn);
  };
  // sum p log p, p = P / total: the bins before i - 1 from the prefix, the last one here.
  double kl = pre.plogp[std::size_t(i - 1)];
  if (const double last = (bins[std::size_t(i) - 1] + outliers) / total; last > 0) kl += last * std::log(last);
  for (int l = 0; l < kKlLevels; ++l)
    if (single[std::size_t(l)] > 0)
      kl -= single[std::size_t(l)] / total * log_qn(mass[std::size_t(l)] / weight[std::size_t(l)]);
  for (int k = 0; k < straddle_count; ++k) kl -= straddles[k].p / total * log_qn(straddles[k].q);
  return kl;
}

}  // namespace

// ---- TensorHistogram ----------------------------------------------------------------------

// Pass 1. Non-finite values are skipped (neither extremes nor counted): the executor rejects
// NaN earlier, and an Inf would make every bin width infinite.
void TensorHistogram::observe_range(std::span<const float> values) {
  if (!bins_.empty()) throw std::logic_error("TensorHistogram::observe_range after start_histograms");
  forget_ranges();
  constexpr float big = std::numeric_limits<float>::max(), tiny = std::numeric_limits<float>::min();
  constexpr float inf = std::numeric_limits<float>::infinity();
  if (octaves_.empty()) octaves_.assign(2 * kOctaves + 1, 0);  // + 1: where non-finite values go
  std::uint64_t* octaves = octaves_.data();
  // As observe: blocks of branch-free work the compiler vectorises (extremes, octave of each
  // value), then the counts. -0 and denormals count as 0: whether a value is 0, -0 or 1e-41 can
  // depend on the code path that computed it (vector or scalar), and std::min(0.0f, -0.0f) on
  // which came first (thread scheduling); a minimum of -0 or 1e-41 made two runs' .tqm differ.
  constexpr std::size_t kBlock = 256, kLanes = 8;
  std::uint32_t octave[kBlock];
  float low[kBlock], high[kBlock];
  float lo_lane[kLanes], hi_lane[kLanes];
  std::fill(lo_lane, lo_lane + kLanes, inf);
  std::fill(hi_lane, hi_lane + kLanes, -inf);
  std::uint64_t n = 0;
  for (std::size_t start = 0; start < values.size(); start += kBlock) {
    const float* x = values.data() + start;
    const std::size_t m = std::min(kBlock, values.size() - start);
    std::uint32_t finite_count = 0;
    for (std::size_t i = 0; i < m; ++i) {
      const float magnitude = std::fabs(x[i]);
      const bool finite = magnitude <= big;  // false for NaN too
      const float v = magnitude < tiny ? 0.0f : x[i];
      low[i] = finite ? v : inf;
      high[i] = finite ? v : -inf;
      // Exponent field and sign: which power of two, positive or negative (0: zero).
      const std::uint32_t bits = std::bit_cast<std::uint32_t>(v);
      octave[i] = finite ? (bits >> 31) * kOctaves + ((bits >> 23) & 0xff) : 2 * kOctaves;
      finite_count += finite;
    }
    // The extremes lane by lane (the set's minimum is one value whatever the order: zeros are +0).
    std::fill(low + m, low + kBlock, inf);
    std::fill(high + m, high + kBlock, -inf);
    for (std::size_t i = 0; i < kBlock; i += kLanes)
      for (std::size_t l = 0; l < kLanes; ++l) {
        lo_lane[l] = low[i + l] < lo_lane[l] ? low[i + l] : lo_lane[l];
        hi_lane[l] = high[i + l] > hi_lane[l] ? high[i + l] : hi_lane[l];
      }
    for (std::size_t i = 0; i < m; ++i) octaves[octave[i]] += 1;
    n += finite_count;
  }
  float lo = inf, hi = -inf;
  for (std::size_t l = 0; l < kLanes; ++l) lo = std::min(lo, lo_lane[l]), hi = std::max(hi, hi_lane[l]);
  octaves[2 * kOctaves] = 0;
  if (n == 0) return;
  if (!seen_) min_ = lo, max_ = hi;
  min_ = std::min(min_, lo);
  max_ = std::max(max_, hi);
  seen_ = true;
  count_ += n;
}

void TensorHistogram::start_histograms() {
  forget_ranges();
  bins_lo_ = min_, bins_hi_ = max_;
  if (!octaves_.empty()) {
    if (float hi = trimmed_magnitude(octaves_.data(), kOctaves, count_); hi >= 0) bins_hi_ = std::min(max_, hi);
    if (float lo = trimmed_magnitude(octaves_.data() + kOctaves, kOctaves, count_); lo >= 0)
      bins_lo_ = std::max(min_, -lo);
    octaves_.clear();
    octaves_.shrink_to_fit();
  }
  bins_.assign(kBins, 0);
  abs_bins_.assign(kBins, 0);
  count_ = 0;
}

// Pass 2: the hot loop (every value of every tensor of every sample). Blocks of bin indices
// are computed without branches, a form compilers vectorise (GCC at -O3, clang at -O2), then
// added to the bins: about twice as fast as one loop doing both. The clamps also send NaN to
// bin 0 (NaN > 0 is false) and +-Inf to an end bin, where non-finite values add 0.
void TensorHistogram::observe(std::span<const float> values) {
  if (bins_.empty()) throw std::logic_error("TensorHistogram::observe before start_histograms");
  forget_ranges();
  const float lo = bins_lo_;
  const float inv = inverse_width(bins_lo_, bins_hi_);
  const float abs_inv = inverse_width(0.0f, bins_abs_max());
  constexpr float top = float(kBins - 1), big = std::numeric_limits<float>::max();
  constexpr float tiny = std::numeric_limits<float>::min();
  constexpr std::size_t kBlock = 256;
  std::int32_t signed_index[kBlock], abs_index[kBlock];
  std::uint32_t finite[kBlock], nonzero[kBlock];
  std::uint64_t* bins = bins_.data();
  std::uint64_t* abs_bins = abs_bins_.data();
  std::uint64_t n = 0;
  for (std::size_t start = 0; start < values.size(); start += kBlock) {
    const float* x = values.data() + start;
    const std::size_t m = std::min(kBlock, values.size() - start);
    for (std::size_t i = 0; i < m; ++i) {
      const float magnitude = std::fabs(x[i]);
      finite[i] = magnitude <= big;
      // Denormals are zeros (observe_range); & not &&: a branch here stops vectorisation.
      nonzero[i] = std::uint32_t(magnitude <= big) & std::uint32_t(magnitude >= tiny);
      float s = (x[i] - lo) * inv;
      s = s > 0.0f ? s : 0.0f;
      s = s < top ? s : top;
      float a = magnitude * abs_inv;
      a = a > 0.0f ? a : 0.0f;
      a = a < top ? a : top;
      signed_index[i] = std::int32_t(s);
      abs_index[i] = std::int32_t(a);
    }
    for (std::size_t i = 0; i < m; ++i) {
      bins[signed_index[i]] += finite[i];
      abs_bins[abs_index[i]] += nonzero[i];
      n += finite[i];
    }
  }
  count_ += n;
}

void TensorHistogram::merge(const TensorHistogram& other) {
  forget_ranges();
  const bool empty = !seen_ && bins_.empty(), other_empty = !other.seen_ && other.bins_.empty();
  if (other_empty) return;
  if (empty) {
    *this = other;
    return;
  }
  if (bins_.empty() != other.bins_.empty())
    throw std::logic_error("TensorHistogram::merge of a pass-1 histogram with a pass-2 histogram");
  if (bins_.empty()) {  // pass 1: extremes
    if (other.seen_) {
      min_ = seen_ ? std::min(min_, other.min_) : other.min_;
      max_ = seen_ ? std::max(max_, other.max_) : other.max_;
      seen_ = true;
    }
    if (!other.octaves_.empty()) {
      if (octaves_.empty()) octaves_.assign(other.octaves_.size(), 0);
      for (std::size_t i = 0; i < octaves_.size(); ++i) octaves_[i] += other.octaves_[i];
    }
    count_ += other.count_;
    return;
  }
  // Pass 2: bins are comparable only over the very same range.
  if (min_ != other.min_ || max_ != other.max_ || bins_lo_ != other.bins_lo_ || bins_hi_ != other.bins_hi_ ||
      seen_ != other.seen_)
    throw std::logic_error("TensorHistogram::merge of histograms over different ranges");
  for (std::size_t i = 0; i < bins_.size(); ++i) {
    bins_[i] += other.bins_[i];
    abs_bins_[i] += other.abs_bins_[i];
  }
  count_ += other.count_;
}

float TensorHistogram::abs_max() const { return std::max(std::fabs(min_), std::fabs(max_)); }

// ---- Methods ------------------------------------------------------------------------------

const char* calibration_method_name(CalibrationMethod m) {
  switch (m) {
    case CalibrationMethod::minmax: return "minmax";
    case CalibrationMethod::percentile: return "percentile";
    case CalibrationMethod::kl: return "kl";
    case CalibrationMethod::mse: return "mse";
  }
  return "?";
}

CalibrationMethod calibration_method_from_name(const std::string& name) {
  for (auto m :
       {CalibrationMethod::minmax, CalibrationMethod::percentile, CalibrationMethod::kl, CalibrationMethod::mse})
    if (name == calibration_method_name(m)) return m;
  fail("calibration method", "unknown '{}' (expected minmax, percentile, kl or mse)", name);
}

ClipRange calibrate_minmax(const TensorHistogram& h) { return valid_range({h.min(), h.max()}); }

ClipRange calibrate_percentile(const TensorHistogram& h, double percentile) {
  if (!(percentile > 0 && percentile <= 100)) fail("percentile", "{} is outside (0, 100]", percentile);
  require_histograms(h, "calibrate_percentile");
  if (h.count() == 0 || !(h.bins_max() > h.bins_min())) return binned_range(h);
  const auto& bins = h.bins();
  const double total = double(std::accumulate(bins.begin(), bins.end(), std::uint64_t{0}));
  const double tail = (100.0 - percentile) / 100.0 * total;
  const bool is_signed = h.bins_min() < 0;
  ClipRange r = quantile_range(h, is_signed ? tail / 2 : 0.0, is_signed ? tail / 2 : tail);
  if (!is_signed) r.lo = h.bins_min();
  return valid_range(r);
}

ClipRange calibrate_kl(const TensorHistogram& h) {
  require_histograms(h, "calibrate_kl");
  if (!(h.bins_max() > h.bins_min())) return binned_range(h);
  const std::vector<double> bins(h.abs_bins().begin(), h.abs_bins().end());
  std::vector<double> suffix(kBins + 1, 0.0);  // suffix[i] = sum of bins[i..]
  for (int i = kBins - 1; i >= 0; --i) suffix[std::size_t(i)] = suffix[std::size_t(i) + 1] + bins[std::size_t(i)];
  const double total = suffix[0];
  if (total == 0) return binned_range(h);  // only zeros besides non-finite values
  std::vector<double> mass(kKlLevels), weight(kKlLevels), single(kKlLevels), count(kKlLevels);
  const KlPrefix prefix(h.abs_bins(), total);
  int best = kBins;
  double best_kl = std::numeric_limits<double>::infinity();
  // TensorRT's pseudo-code stops at 2047 bins; MXNet also tries the whole histogram (no
  // clipping), without which data bunched at max|x| (a constant) would be cut to 128 bins.
  for (int i = kKlLevels; i <= kBins; ++i) {
    const double kl = kl_divergence(prefix, suffix[std::size_t(i)], total, i, mass, weight, single, count);
    if (kl < best_kl) best_kl = kl, best = i;
  }
  // Half a bin past the kept bins' upper edge, as the reference implementations do.
  const float t = float((best + 0.5) * (double(h.bins_abs_max()) / kBins));
  if (h.bins_min() >= 0) return valid_range({0.0f, std::min(t, h.bins_max())});
  return valid_range({std::max(-t, h.bins_min()), std::min(t, h.bins_max())});
}

double quantization_mse(const TensorHistogram& h, ClipRange range) {
  require_histograms(h, "quantization_mse");
  // The affine quantizer holds real 0 exactly (docs/DESIGN.md): judge the range it will really use.
  const double lo = std::min(range.lo, 0.0f), hi = std::max(range.hi, 0.0f);
  return expected_error(h, lo, hi, (hi - lo) / 255.0);
}

// A grid search over both ends: lo at k/N of min(min, 0), hi at k/N of max(max, 0). With the
// clipping error of each end precomputed per candidate, all N^2 pairs cost O(N^2 + N * bins).
// k = N is [min, max] itself, so the result is never worse than minmax by this measure.
ClipRange calibrate_mse(const TensorHistogram& h) {
  require_histograms(h, "calibrate_mse");
  if (h.count() == 0 || !(h.bins_max() > h.bins_min())) return binned_range(h);
  const auto& bins = h.bins();
  struct End {
    double value = 0, clipped = 0;  // the end; sum of count * (x - end)^2 beyond it
    std::uint64_t beyond = 0;       // values beyond it
  };
  auto ends = [&](double extreme, bool upper) {
    std::vector<End> out;
    for (int k = extreme == 0 ? kMseSteps : 1; k <= kMseSteps; ++k) {
      End e{extreme * k / kMseSteps};
      for (int i = 0; i < kBins; ++i) {
        const double x = signed_bin_centre(h, i);
        if (upper ? x > e.value : x < e.value) {
          const std::uint64_t c = bins[std::size_t(i)];
          e.clipped += double(c) * (x - e.value) * (x - e.value);
          e.beyond += c;
        }
      }
      out.push_back(e);
    }
    return out;
  };
  const std::vector<End> los = ends(std::min(double(h.bins_min()), 0.0), false);
  const std::vector<End> his = ends(std::max(double(h.bins_max()), 0.0), true);
  const std::uint64_t total = std::accumulate(bins.begin(), bins.end(), std::uint64_t{0});
  ClipRange best = binned_range(h);
  double best_error = std::numeric_limits<double>::infinity();
  for (const End& lo : los)
    for (const End& hi : his) {
      const double delta = (hi.value - lo.value) / 255.0;
      const double error = lo.clipped + hi.clipped + double(total - lo.beyond - hi.beyond) * delta * delta / 12.0;
      if (error < best_error) best_error = error, best = {float(lo.value), float(hi.value)};
    }
  return valid_range(best);
}

ClipRange calibrate(const TensorHistogram& h, CalibrationMethod method) {
  switch (method) {
    case CalibrationMethod::minmax: return calibrate_minmax(h);
    case CalibrationMethod::percentile: return calibrate_percentile(h);
    case CalibrationMethod::kl:
      if (!h.kl_cached_) {
        const ClipRange r = calibrate_kl(h);
        h.kl_lo_ = r.lo, h.kl_hi_ = r.hi, h.kl_cached_ = true;
      }
      return {h.kl_lo_, h.kl_hi_};
    case CalibrationMethod::mse:
      if (!h.mse_cached_) {
        const ClipRange r = calibrate_mse(h);
        h.mse_lo_ = r.lo, h.mse_hi_ = r.hi, h.mse_cached_ = true;
      }
      return {h.mse_lo_, h.mse_hi_};
  }
  throw std::logic_error("calibrate: unknown CalibrationMethod");
}

// ---- Power-of-two formats -----------------------------------------------------------------

int nnom_frac_bits(float abs_max) {
  if (!(abs_max >= 0) || !std::isfinite(abs_max))
    fail("", "nnom_frac_bits: max|x| = {} is not a finite non-negative number", abs_max);
  // NNoM would take log2(0) and fail; any format holds 0, so take the one of [-1, 1).
  if (abs_max == 0) return 7;
  return 7 - int(std::ceil(std::log2(double(abs_max))));
}

int choose_pow2_frac_bits(const TensorHistogram& h) {
  require_histograms(h, "choose_pow2_frac_bits");
  // From the binned range: a lone outlier would start the search 100 bits too coarse.
  const int nnom = nnom_frac_bits(h.bins_abs_max());
  if (h.count() == 0 || h.bins_abs_max() == 0) return nnom;
  // One bit coarser than NNoM (its rule can clip max|x| by up to one step) to 8 finer: the
  // finest keeps only 1/256 of max|x| unclipped, rarely worth it already.
  int best = nnom;
  double best_error = std::numeric_limits<double>::infinity();
  for (int f = nnom - 1; f <= nnom + 8; ++f) {
    const double step = std::ldexp(1.0, -f);
    const double error = expected_error(h, -128.0 * step, 127.0 * step, step);
    if (error < best_error) best_error = error, best = f;
  }
  return best;
}

}  // namespace tinyq
