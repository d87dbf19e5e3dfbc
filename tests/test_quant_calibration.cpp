// Calibration: the two-pass tensor histogram, its exact merge, and each range method on
// distributions whose right answer is known (Gaussian, uniform, ReLU-like, heavy tails,
// outliers, degenerate tensors).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <numeric>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "quant/calibration.hpp"
#include "quant/quantizer.hpp"
#include "util/error.hpp"

using tinyq::CalibrationMethod;
using tinyq::ClipRange;
using tinyq::TensorHistogram;

namespace {

// Deterministic everywhere: mt19937's output is fixed by the standard, <random>'s
// distributions are not, so the shapes are drawn here.
class Rng {
 public:
  explicit Rng(std::uint32_t seed) : gen_(seed) {}
  double uniform() { return (double(gen_()) + 0.5) / 4294967296.0; }  // (0, 1)
  double normal() {                                                   // Box-Muller
    const double r = std::sqrt(-2.0 * std::log(uniform()));
    return r * std::cos(2.0 * M_PI * uniform());
  }
  double laplace() {
    const double u = uniform() - 0.5;
    return u < 0 ? std::log(1 + 2 * u) : -std::log(1 - 2 * u);
  }

 private:
  std::mt19937 gen_;
};

std::vector<float> normal_samples(std::size_t n, std::uint32_t seed, double sigma = 1.0) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = float(sigma * rng.normal());
  return v;
}

std::vector<float> uniform_samples(std::size_t n, std::uint32_t seed, double lo, double hi) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = float(lo + (hi - lo) * rng.uniform());
  return v;
}

// Both passes over `values`, fed in chunks as the executor feeds one sample at a time.
TensorHistogram histogram_of(std::span<const float> values, std::size_t chunk = 1000) {
  TensorHistogram h;
  for (std::size_t i = 0; i < values.size(); i += chunk)
    h.observe_range(values.subspan(i, std::min(chunk, values.size() - i)));
  h.start_histograms();
  for (std::size_t i = 0; i < values.size(); i += chunk)
    h.observe(values.subspan(i, std::min(chunk, values.size() - i)));
  return h;
}

std::uint64_t sum(const std::vector<std::uint64_t>& bins) {
  return std::accumulate(bins.begin(), bins.end(), std::uint64_t{0});
}

void report(const char* what, ClipRange r) { std::printf("[   INFO   ] %s: [%g, %g]\n", what, r.lo, r.hi); }

}  // namespace

// ---- TensorHistogram ----------------------------------------------------------------------

TEST(TensorHistogram, CountsEveryValueOnceInEachHistogram) {
  const auto v = normal_samples(10000, 1);
  const TensorHistogram h = histogram_of(v);
  EXPECT_EQ(h.count(), v.size());
  EXPECT_EQ(sum(h.bins()), v.size());
  EXPECT_EQ(sum(h.abs_bins()), v.size());
  EXPECT_EQ(h.bins().size(), std::size_t(TensorHistogram::kBins));
  EXPECT_EQ(h.min(), *std::min_element(v.begin(), v.end()));
  EXPECT_EQ(h.max(), *std::max_element(v.begin(), v.end()));
  EXPECT_EQ(h.abs_max(), std::max(-h.min(), h.max()));
  // The extremes land in the end bins of the signed histogram, max|x| in the last magnitude bin.
  EXPECT_GT(h.bins().front(), 0u);
  EXPECT_GT(h.bins().back(), 0u);
  EXPECT_GT(h.abs_bins().back(), 0u);
}

TEST(TensorHistogram, IgnoresNanAndInfinity) {
  const auto v = normal_samples(5000, 2);
  std::vector<float> dirty = v;
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  dirty.insert(dirty.begin() + 100, {nan, inf, -inf, -nan});
  dirty.push_back(nan);
  const TensorHistogram clean = histogram_of(v), h = histogram_of(dirty);
  EXPECT_EQ(h.min(), clean.min());
  EXPECT_EQ(h.max(), clean.max());
  EXPECT_EQ(h.count(), clean.count());
  EXPECT_EQ(h.bins(), clean.bins());
  EXPECT_EQ(h.abs_bins(), clean.abs_bins());
}

TEST(TensorHistogram, OnlyNonFiniteValuesLeaveItEmpty) {
  const std::vector<float> v = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()};
  const TensorHistogram h = histogram_of(v);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(sum(h.bins()), 0u);
  const ClipRange r = tinyq::calibrate_kl(h);
  EXPECT_EQ(r.lo, 0.0f);
  EXPECT_EQ(r.hi, 1.0f);
}

TEST(TensorHistogram, PutsValuesBeyondThePass1RangeInTheEndBins) {
  TensorHistogram h;
  const std::vector<float> range = {-1.0f, 1.0f};
  h.observe_range(range);
  h.start_histograms();
  const std::vector<float> wider = {-5.0f, 0.0f, 7.0f};
  h.observe(wider);
  EXPECT_EQ(h.count(), 3u);
  EXPECT_EQ(h.bins().front(), 1u);
  EXPECT_EQ(h.bins().back(), 1u);
  EXPECT_EQ(h.bins()[TensorHistogram::kBins / 2], 1u);
  EXPECT_EQ(h.abs_bins().back(), 2u);
}

TEST(TensorHistogram, MagnitudeHistogramLeavesOutExactZeros) {
  const std::vector<float> v = {0.0f, -0.0f, 0.0f, 1e-30f, -2.0f, 4.0f};
  const TensorHistogram h = histogram_of(v);
  EXPECT_EQ(h.count(), 6u);
  EXPECT_EQ(sum(h.bins()), 6u);
  EXPECT_EQ(sum(h.abs_bins()), 3u);
  EXPECT_EQ(h.abs_bins().front(), 1u);  // 1e-30 is not zero
}

TEST(TensorHistogram, MergeOfTwoHalvesEqualsOnePass) {
  const auto v = normal_samples(20000, 3);
  const std::span<const float> all(v), first = all.first(v.size() / 2), second = all.subspan(v.size() / 2);
  // As collect_statistics does it: pass 1 per thread, merge, start, copy, pass 2, merge.
  TensorHistogram a, b;
  a.observe_range(first);
  b.observe_range(second);
  TensorHistogram range;
  range.merge(a);
  range.merge(b);
  range.start_histograms();
  a = range;
  b = range;
  a.observe(first);
  b.observe(second);
  a.merge(b);
  const TensorHistogram one = histogram_of(v);
  EXPECT_EQ(a.min(), one.min());
  EXPECT_EQ(a.max(), one.max());
  EXPECT_EQ(a.count(), one.count());
  EXPECT_EQ(a.bins(), one.bins());
  EXPECT_EQ(a.abs_bins(), one.abs_bins());
}

TEST(TensorHistogram, MergeWithAnEmptyHistogramIsTheIdentity) {
  const auto v = normal_samples(1000, 4);
  const TensorHistogram h = histogram_of(v);
  TensorHistogram merged = h;
  merged.merge(TensorHistogram{});
  EXPECT_EQ(merged.bins(), h.bins());
  TensorHistogram into_empty;
  into_empty.merge(h);
  EXPECT_EQ(into_empty.bins(), h.bins());
  EXPECT_EQ(into_empty.count(), h.count());
}

TEST(TensorHistogram, MergeRejectsHistogramsOverDifferentRanges) {
  TensorHistogram a = histogram_of(normal_samples(1000, 5)), b = histogram_of(normal_samples(1000, 6));
  EXPECT_THROW(a.merge(b), std::logic_error);
}

TEST(TensorHistogram, MergeRejectsMixingThePasses) {
  TensorHistogram started = histogram_of(normal_samples(100, 7)), pass1;
  const std::vector<float> v = {1.0f};
  pass1.observe_range(v);
  EXPECT_THROW(started.merge(pass1), std::logic_error);
  EXPECT_THROW(pass1.merge(started), std::logic_error);
}

TEST(TensorHistogram, ObserveBeforeStartHistogramsIsAnError) {
  TensorHistogram h;
  const std::vector<float> v = {1.0f};
  h.observe_range(v);
  EXPECT_THROW(h.observe(v), std::logic_error);
  h.start_histograms();
  EXPECT_THROW(h.observe_range(v), std::logic_error);
  EXPECT_THROW(tinyq::calibrate_kl(TensorHistogram{}), std::logic_error);
}

// ---- Method names -------------------------------------------------------------------------

TEST(CalibrationMethodName, RoundTrips) {
  for (auto m :
       {CalibrationMethod::minmax, CalibrationMethod::percentile, CalibrationMethod::kl, CalibrationMethod::mse})
    EXPECT_EQ(tinyq::calibration_method_from_name(tinyq::calibration_method_name(m)), m);
}

TEST(CalibrationMethodName, UnknownNameIsATinyqError) {
  EXPECT_THROW(tinyq::calibration_method_from_name("entropy"), tinyq::Error);
  EXPECT_THROW(tinyq::calibration_method_from_name(""), tinyq::Error);
}

// ---- minmax, percentile -------------------------------------------------------------------

TEST(CalibrateMinmax, ReturnsTheObservedExtremes) {
  const std::vector<float> v = {0.5f, -3.25f, 2.0f, 7.5f, 0.0f};
  const ClipRange r = tinyq::calibrate_minmax(histogram_of(v));
  EXPECT_EQ(r.lo, -3.25f);
  EXPECT_EQ(r.hi, 7.5f);
  // Pass 1 alone is enough for minmax.
  TensorHistogram pass1;
  pass1.observe_range(v);
  EXPECT_EQ(tinyq::calibrate_minmax(pass1).hi, 7.5f);
}

TEST(CalibratePercentile, ClipsASingleOutlierInSignedData) {
  auto v = normal_samples(10000, 8);
  v.push_back(1000.0f);
  const TensorHistogram h = histogram_of(v);
  // 99.9%: 5 values per tail; the outlier is one of them.
  const ClipRange r = tinyq::calibrate_percentile(h, 99.9);
  report("percentile 99.9, 10k N(0,1) + 1000", r);
  EXPECT_LT(r.hi, 5.0f);
  EXPECT_GT(r.hi, 2.5f);
  EXPECT_LT(r.lo, -2.5f);
  EXPECT_GE(r.lo, h.min());
}

TEST(CalibratePercentile, ClipsASingleOutlierInNonNegativeDataAtTheDefault) {
  auto v = normal_samples(10000, 9);
  for (float& x : v) x = std::fabs(x);
  v.push_back(1000.0f);
  const TensorHistogram h = histogram_of(v);
  // 99.99% of 10001 values leaves 1.0001 values for the upper tail alone.
  const ClipRange r = tinyq::calibrate_percentile(h);
  EXPECT_EQ(r.lo, h.min());
  EXPECT_LT(r.hi, 6.0f);
}

TEST(CalibratePercentile, HundredKeepsTheWholeRange) {
  const auto v = normal_samples(10000, 10);
  const TensorHistogram h = histogram_of(v);
  const ClipRange r = tinyq::calibrate_percentile(h, 100.0);
  EXPECT_FLOAT_EQ(r.lo, h.min());
  EXPECT_FLOAT_EQ(r.hi, h.max());
}

TEST(CalibratePercentile, RejectsAPercentileOutsideZeroToHundred) {
  const TensorHistogram h = histogram_of(normal_samples(100, 11));
  EXPECT_THROW(tinyq::calibrate_percentile(h, 0.0), tinyq::Error);
  EXPECT_THROW(tinyq::calibrate_percentile(h, 100.5), tinyq::Error);
  EXPECT_THROW(tinyq::calibrate_percentile(h, std::nan("")), tinyq::Error);
}

// ---- KL -----------------------------------------------------------------------------------

TEST(CalibrateKl, GaussianThresholdIsBetween2p5And5Sigma) {
  const auto v = normal_samples(200000, 12);
  const TensorHistogram h = histogram_of(v);
  const ClipRange r = tinyq::calibrate_kl(h);
  report("kl, 200k N(0,1)", r);
  std::printf("[   INFO   ] (max|x| = %g)\n", h.abs_max());
  EXPECT_GT(r.hi, 2.5f);
  EXPECT_LT(r.hi, 5.0f);
  EXPECT_FLOAT_EQ(r.lo, std::max(-r.hi, h.min()));  // [-T, T] clipped to [min, max]
}

TEST(CalibrateKl, ClipsALongTail) {
  // 99.9% N(0, 1), 0.1% Laplace with scale 20: the tail reaches ~130 sigma.
  Rng rng(13);
  std::vector<float> v(100000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = float(i % 1000 == 0 ? 20.0 * rng.laplace() : rng.normal());
  const TensorHistogram h = histogram_of(v);
  const ClipRange r = tinyq::calibrate_kl(h);
  report("kl, N(0,1) + 0.1% Laplace(20)", r);
  std::printf("[   INFO   ] (max|x| = %g)\n", h.abs_max());
  EXPECT_LT(r.hi, 0.25f * h.abs_max());
  EXPECT_GT(r.hi, 2.5f);
}

TEST(CalibrateKl, NonNegativeDataStartsAtZero) {
  auto v = normal_samples(100000, 14);
  for (float& x : v) x = std::max(x, 0.0f);  // ReLU: half the values are exactly 0
  const TensorHistogram h = histogram_of(v);
  const ClipRange r = tinyq::calibrate_kl(h);
  report("kl, ReLU(N(0,1))", r);
  EXPECT_EQ(r.lo, 0.0f);
  EXPECT_GT(r.hi, 2.0f);
  EXPECT_LE(r.hi, h.max());
}

TEST(CalibrateKl, UniformDataKeepsNearlyTheWholeRange) {
  const auto v = uniform_samples(100000, 15, -1.0, 1.0);
  const TensorHistogram h = histogram_of(v);
  const ClipRange r = tinyq::calibrate_kl(h);
  report("kl, U(-1,1)", r);
  EXPECT_GT(r.hi, 0.98f * h.max());
  EXPECT_LT(r.lo, 0.98f * h.min());
}

// ---- MSE ----------------------------------------------------------------------------------

TEST(QuantizationMse, IsTheRoundingNoiseWhenNothingIsClipped) {
  const auto v = uniform_samples(100000, 16, -1.0, 1.0);
  const TensorHistogram h = histogram_of(v);
  const double step = (h.max() - h.min()) / 255.0;
  EXPECT_NEAR(tinyq::quantization_mse(h, tinyq::calibrate_minmax(h)), step * step / 12, 1e-12);
}

TEST(QuantizationMse, ChargesTheSquaredDistanceOfClippedValues) {
  const auto v = uniform_samples(100000, 17, -1.0, 1.0);
  const TensorHistogram h = histogram_of(v);
  // Clipping U(-1, 1) to [-0.5, 0.5]: half the values clipped, E[(|x| - 0.5)^2 | |x| > 0.5] = 1/12.
  const double step = 1.0 / 255.0;
  const double expected = 0.5 * (1.0 / 12.0) + 0.5 * step * step / 12.0;
  EXPECT_NEAR(tinyq::quantization_mse(h, {-0.5f, 0.5f}), expected, 0.02 * expected);
}

TEST(CalibrateMse, BeatsMinmaxOnHeavyTailedData) {
  Rng rng(18);
  std::vector<float> v(100000);
  for (float& x : v) {  // Student's t with 3 degrees of freedom
    const double a = rng.normal(), b = rng.normal(), c = rng.normal();
    x = float(rng.normal() / std::sqrt((a * a + b * b + c * c) / 3));
  }
  const TensorHistogram h = histogram_of(v);
  const ClipRange mse = tinyq::calibrate_mse(h), minmax = tinyq::calibrate_minmax(h);
  report("mse, Student t(3)", mse);
  const double e_mse = tinyq::quantization_mse(h, mse), e_minmax = tinyq::quantization_mse(h, minmax);
  std::printf("[   INFO   ] mse error %g vs minmax %g\n", e_mse, e_minmax);
  EXPECT_LT(e_mse, 0.9 * e_minmax);
  EXPECT_LT(mse.hi, minmax.hi);
  EXPECT_GT(mse.lo, minmax.lo);
}

TEST(CalibrateMse, IsNoWorseThanAnyScaledMinmaxRange) {
  Rng rng(25);
  std::vector<float> v(50000);
  for (float& x : v) x = float(rng.laplace() + (rng.uniform() < 0.001 ? 30.0 : 0.0));
  const TensorHistogram h = histogram_of(v);
  const double best = tinyq::quantization_mse(h, tinyq::calibrate_mse(h));
  for (int k = 1; k <= 200; ++k) {
    const float a = float(k) / 200;
    EXPECT_LE(best, tinyq::quantization_mse(h, {a * h.min(), a * h.max()}) * (1 + 1e-9)) << "scale " << a;
  }
}

TEST(CalibrateMse, MatchesMinmaxOnUniformData) {
  const auto v = uniform_samples(100000, 19, -2.0, 3.0);
  const TensorHistogram h = histogram_of(v);
  const ClipRange mse = tinyq::calibrate_mse(h), minmax = tinyq::calibrate_minmax(h);
  EXPECT_NEAR(mse.lo, minmax.lo, 0.01 * 2.0);
  EXPECT_NEAR(mse.hi, minmax.hi, 0.01 * 3.0);
  EXPECT_LE(tinyq::quantization_mse(h, mse), tinyq::quantization_mse(h, minmax));
}

TEST(CalibrateMse, KeepsZeroAsTheLowerEndOfNonNegativeData) {
  Rng rng(20);
  std::vector<float> v(50000);
  for (float& x : v) x = float(std::fabs(rng.laplace()));
  const ClipRange r = tinyq::calibrate_mse(histogram_of(v));
  EXPECT_EQ(r.lo, 0.0f);
  EXPECT_GT(r.hi, 0.0f);
}

// ---- Power-of-two formats -----------------------------------------------------------------

TEST(NnomFracBits, FollowsNnom04) {
  // f = 7 - ceil(log2(max|x|)).
  EXPECT_EQ(tinyq::nnom_frac_bits(1.0f), 7);  // top value 127/128: NNoM clips 1.0 by one step
  EXPECT_EQ(tinyq::nnom_frac_bits(0.99f), 7);
  EXPECT_EQ(tinyq::nnom_frac_bits(1.01f), 6);
  EXPECT_EQ(tinyq::nnom_frac_bits(0.5f), 8);
  EXPECT_EQ(tinyq::nnom_frac_bits(0.3f), 8);
  EXPECT_EQ(tinyq::nnom_frac_bits(3.0f), 5);
  EXPECT_EQ(tinyq::nnom_frac_bits(127.0f), 0);
  EXPECT_EQ(tinyq::nnom_frac_bits(200.0f), -1);
}

TEST(NnomFracBits, ZeroGivesTheFormatOfMinusOneToOne) {
  EXPECT_EQ(tinyq::nnom_frac_bits(0.0f), 7);
  EXPECT_THROW(tinyq::nnom_frac_bits(std::numeric_limits<float>::infinity()), tinyq::Error);
  EXPECT_THROW(tinyq::nnom_frac_bits(std::nanf("")), tinyq::Error);
  EXPECT_THROW(tinyq::nnom_frac_bits(-1.0f), tinyq::Error);
}

TEST(ChoosePow2FracBits, IsAtLeastNnomsChoiceOnGaussianData) {
  for (std::uint32_t seed : {21u, 22u, 23u}) {
    const TensorHistogram h = histogram_of(normal_samples(20000, seed, 0.1 * seed));
    EXPECT_GE(tinyq::choose_pow2_frac_bits(h), tinyq::nnom_frac_bits(h.abs_max())) << "seed " << seed;
  }
}

TEST(ChoosePow2FracBits, ClipsARareOutlierThatNnomKeeps) {
  auto v = normal_samples(10000, 24);
  v.push_back(20.0f);  // NNoM: f = 2 (step 0.25) to keep it
  const TensorHistogram h = histogram_of(v);
  const int nnom = tinyq::nnom_frac_bits(h.abs_max()), chosen = tinyq::choose_pow2_frac_bits(h);
  EXPECT_EQ(nnom, 2);
  EXPECT_GT(chosen, nnom);
  auto error = [&](int f) {
    const float step = std::ldexp(1.0f, -f);
    return tinyq::quantization_mse(h, {-128 * step, 127 * step});
  };
  EXPECT_LT(error(chosen), error(nnom));
}

// ---- Degenerate tensors -------------------------------------------------------------------

const CalibrationMethod kAllMethods[] = {CalibrationMethod::minmax, CalibrationMethod::percentile,
                                         CalibrationMethod::kl, CalibrationMethod::mse};

TEST(DegenerateTensor, ConstantGivesTheRangeFromZeroToTheValue) {
  const std::vector<float> v(500, 3.5f);
  const TensorHistogram h = histogram_of(v);
  for (auto m : kAllMethods) {
    const ClipRange r = tinyq::calibrate(h, m);
    EXPECT_EQ(r.lo, 0.0f) << tinyq::calibration_method_name(m);
    EXPECT_EQ(r.hi, 3.5f) << tinyq::calibration_method_name(m);
  }
  EXPECT_EQ(tinyq::choose_pow2_frac_bits(h), tinyq::nnom_frac_bits(3.5f));
}

TEST(DegenerateTensor, NegativeSingleValueGivesTheRangeFromTheValueToZero) {
  const std::vector<float> v = {-0.75f};
  const TensorHistogram h = histogram_of(v);
  for (auto m : kAllMethods) {
    const ClipRange r = tinyq::calibrate(h, m);
    EXPECT_EQ(r.lo, -0.75f) << tinyq::calibration_method_name(m);
    EXPECT_EQ(r.hi, 0.0f) << tinyq::calibration_method_name(m);
  }
}

TEST(DegenerateTensor, AllZerosGiveZeroToOne) {
  const std::vector<float> v(1000, 0.0f);
  const TensorHistogram h = histogram_of(v);
  for (auto m : kAllMethods) {
    const ClipRange r = tinyq::calibrate(h, m);
    EXPECT_EQ(r.lo, 0.0f) << tinyq::calibration_method_name(m);
    EXPECT_EQ(r.hi, 1.0f) << tinyq::calibration_method_name(m);
  }
  EXPECT_EQ(tinyq::choose_pow2_frac_bits(h), 7);
  EXPECT_EQ(tinyq::quantization_mse(h, {0.0f, 1.0f}), 1.0 / (255.0 * 255.0 * 12.0));
}

TEST(DegenerateTensor, NeverObservedGivesZeroToOne) {
  TensorHistogram h;
  h.start_histograms();
  for (auto m : kAllMethods) {
    const ClipRange r = tinyq::calibrate(h, m);
    EXPECT_EQ(r.lo, 0.0f) << tinyq::calibration_method_name(m);
    EXPECT_EQ(r.hi, 1.0f) << tinyq::calibration_method_name(m);
  }
  EXPECT_EQ(tinyq::quantization_mse(h, {0.0f, 1.0f}), 0.0);
}

TEST(DegenerateTensor, TwoCloseValuesKeepTheirOwnRange) {
  const std::vector<float> v = {1.0f, std::nextafter(1.0f, 2.0f)};
  const TensorHistogram h = histogram_of(v);
  for (auto m : kAllMethods) {
    const ClipRange r = tinyq::calibrate(h, m);
    EXPECT_GT(r.hi, r.lo) << tinyq::calibration_method_name(m);
    EXPECT_LE(r.hi, v[1]) << tinyq::calibration_method_name(m);
  }
}

// ---- Lone outliers ------------------------------------------------------------------------
// One 1e38 pixel among 20 images of 784 pixels in [0, 1]: before, every range method but
// minmax saw all other values in bin 0 and returned a range near 1e38 too.

namespace {

std::vector<float> images_with_one_huge_pixel() {
  auto v = uniform_samples(20 * 784, 31, 0.0, 1.0);
  v[5 * 784 + 300] = 1e38f;
  return v;
}

}  // namespace

TEST(LoneOutlier, BinsSpanTheRestAndMinMaxStayTheObservedExtremes) {
  const auto v = images_with_one_huge_pixel();
  const TensorHistogram h = histogram_of(v);
  EXPECT_TRUE(h.has_outliers());
  EXPECT_EQ(h.max(), 1e38f);
  EXPECT_GE(h.bins_max(), 0.99f);
  EXPECT_LE(h.bins_max(), 2.0f);  // the power of two above the rest
  EXPECT_EQ(h.bins_min(), h.min());
  // The rest is spread over the bins, the outlier in the last one.
  const auto used = std::count_if(h.bins().begin(), h.bins().end(), [](std::uint64_t c) { return c > 0; });
  EXPECT_GT(used, 500);
  EXPECT_GE(h.bins().back(), 1u);  // with the rest's top values
  EXPECT_EQ(sum(h.bins()), v.size());
}

TEST(LoneOutlier, EveryMethodButMinmaxIgnoresIt) {
  const TensorHistogram h = histogram_of(images_with_one_huge_pixel());
  EXPECT_EQ(tinyq::calibrate_minmax(h).hi, 1e38f);  // minmax is what it says
  for (auto m : {CalibrationMethod::percentile, CalibrationMethod::kl, CalibrationMethod::mse}) {
    const ClipRange r = tinyq::calibrate(h, m);
    report(tinyq::calibration_method_name(m), r);
    EXPECT_GT(r.hi, 0.9f) << tinyq::calibration_method_name(m);
    EXPECT_LE(r.hi, 2.0f) << tinyq::calibration_method_name(m);
  }
  EXPECT_GE(tinyq::choose_pow2_frac_bits(h), 6);  // NNoM's rule on max|x| gives -120
}

TEST(LoneOutlier, NegativeOutliersAreTrimmedOnTheirOwnSide) {
  auto v = normal_samples(20000, 32);
  v[123] = -3e30f;
  v[456] = -1e25f;
  const TensorHistogram h = histogram_of(v);
  EXPECT_TRUE(h.has_outliers());
  EXPECT_EQ(h.bins_max(), h.max());
  EXPECT_GT(h.bins_min(), -16.0f);
  EXPECT_EQ(h.min(), -3e30f);
  const ClipRange r = tinyq::calibrate_mse(h);
  EXPECT_GT(r.lo, -16.0f);
  EXPECT_LT(r.hi, 16.0f);
}

TEST(LoneOutlier, OrdinaryTailsAndFrequentFarValuesAreKept) {
  // Heavy tails and a 1000x outlier are calibration's ordinary business: bins over [min, max].
  auto v = normal_samples(20000, 33);
  for (std::size_t i = 0; i < v.size(); i += 97) v[i] *= 50;
  v[7] = 1000.0f;
  TensorHistogram h = histogram_of(v);
  EXPECT_FALSE(h.has_outliers());
  EXPECT_EQ(h.bins_min(), h.min());
  EXPECT_EQ(h.bins_max(), h.max());
  // Far values that are more than 1% of the data are data, not outliers.
  auto w = uniform_samples(10000, 34, 0.0, 1.0);
  for (std::size_t i = 0; i < w.size(); i += 50) w[i] = 1e20f;  // 2%
  h = histogram_of(w);
  EXPECT_FALSE(h.has_outliers());
  EXPECT_EQ(h.bins_max(), 1e20f);
}

TEST(LoneOutlier, MergedPass1HalvesTrimLikeOnePass) {
  const auto v = images_with_one_huge_pixel();
  const TensorHistogram whole = histogram_of(v);
  TensorHistogram a, b;
  a.observe_range(std::span(v).first(v.size() / 2));
  b.observe_range(std::span(v).subspan(v.size() / 2));
  a.merge(b);
  a.start_histograms();
  EXPECT_EQ(a.bins_min(), whole.bins_min());
  EXPECT_EQ(a.bins_max(), whole.bins_max());
}

TEST(LoneOutlier, QuantizeClampsItInTheInputAndSaysSo) {
  const auto v = images_with_one_huge_pixel();
  tinyq::Tensor samples(tinyq::DType::f32, {20, 1, 28, 28});
  std::copy(v.begin(), v.end(), samples.f32().begin());
  std::vector<std::string> warnings;
  const tinyq::Tensor clamped = tinyq::clamp_input_outliers(samples, &warnings);
  auto rest = v;
  rest[5 * 784 + 300] = 0;
  EXPECT_EQ(clamped.f32()[5 * 784 + 300], *std::max_element(rest.begin(), rest.end()));  // the rest's maximum
  EXPECT_LE(*std::max_element(clamped.f32().begin(), clamped.f32().end()), 1.0f);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("element 4220 = 1e+38, sample 5"), std::string::npos) << warnings[0];
  // Clean data comes back as it is, without a warning.
  warnings.clear();
  tinyq::Tensor clean(tinyq::DType::f32, {2, 4});
  std::fill(clean.f32().begin(), clean.f32().end(), 0.5f);
  EXPECT_EQ(tinyq::clamp_input_outliers(clean, &warnings).f32()[0], 0.5f);
  EXPECT_TRUE(warnings.empty());
}
