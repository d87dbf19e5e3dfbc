// quantize is byte-reproducible: the same model and data give the same .tqm bytes whatever the
// thread count and however the threads were scheduled. An EfficientNet-B0 .tqm once differed
// between two runs: a histogram minimum of -0 in one and 0 in the other (std::min of the two is
// whichever came first), and sigmoid values that were 0 or a denormal depending on the alignment
// of the buffer Eigen computed them in.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <random>

#include "frontend/onnx/onnx_import.hpp"
#include "onnx_builder.hpp"
#include "passes/passes.hpp"
#include "qmodel/tqm_file.hpp"
#include "quant/calibration.hpp"
#include "quant/quantizer.hpp"
#include "small_cnn.hpp"

namespace tinyq {
namespace {

using testing::OnnxBuilder;
using testing::random_values;

Graph import(const OnnxBuilder& b) {
  auto bytes = b.bytes();
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "test.onnx");
  simplify(g);
  return g;
}

std::vector<std::uint8_t> quantized_bytes(const Graph& g, const Tensor& samples, const std::string& preset,
                                          int threads) {
  QuantizeOptions options;
  options.preset = preset;
  options.threads = threads;
  return serialize_tqm(quantize(g, samples, options));
}

// Every preset, 1 to 3 threads and twice with 2: one set of bytes.
void expect_reproducible(const Graph& g, const Tensor& samples) {
  for (const char* preset : {"best", "cmsis", "nnom", "pow2"}) {
    const auto reference = quantized_bytes(g, samples, preset, 1);
    for (int threads : {2, 2, 3})
      EXPECT_TRUE(quantized_bytes(g, samples, preset, threads) == reference)
          << preset << " with " << threads << " threads";
  }
}

// Samples of the small CNN with exact zeros, negative zeros and denormals among them.
Tensor awkward_samples(std::int64_t n) {
  std::vector<float> v = random_values(std::size_t(n) * 128, 7, -1.0f, 1.0f);
  for (std::size_t i = 0; i < v.size(); i += 5) v[i] = (i / 5) % 2 ? -0.0f : 0.0f;
  for (std::size_t i = 2; i < v.size(); i += 11)
    v[i] = ((i / 11) % 2 ? -1 : 1) * std::numeric_limits<float>::denorm_min() * float(i % 7 + 1);
  return Tensor::from_floats({n, 2, 8, 8}, v);
}

TEST(QuantReproducible, SmallCnnSameBytesForAnyThreadCount) {
  expect_reproducible(import(testing::small_cnn()), awkward_samples(150));
}

// Sigmoid of large negative values (0 or a denormal depending on the code path) feeding a
// dense layer run over chunks of samples (chunks once depended on the thread count).
TEST(QuantReproducible, SaturatedSigmoidIntoDenseSameBytesForAnyThreadCount) {
  OnnxBuilder b;
  b.input("x", {-1, 24}).output("y");
  b.initializer("w1", {24, 40}, random_values(960, 11, -40.0f, 40.0f));
  b.node("MatMul", {"x", "w1"}, {"h"}, "fc1");
  b.node("Sigmoid", {"h"}, {"s"}, "sigmoid");
  b.initializer("w2", {40, 10}, random_values(400, 12, -1.0f, 1.0f));
  b.node("MatMul", {"s", "w2"}, {"y"}, "fc2");
  const Graph g = import(b);
  expect_reproducible(g, Tensor::from_floats({203, 24}, random_values(203 * 24, 13, -1.0f, 1.0f)));
}

// A tensor's statistics do not depend on whether its zeros are +0, -0 or denormals.
TEST(QuantReproducible, HistogramTakesNegativeZeroAndDenormalsAsZero) {
  const float denormal = std::numeric_limits<float>::denorm_min() * 100;
  TensorHistogram a, b;
  const std::vector<float> plain = {0.0f, 0.5f, 1.0f, 0.0f}, odd = {-0.0f, 0.5f, 1.0f, denormal};
  a.observe_range(plain);
  b.observe_range(odd);
  EXPECT_EQ(std::signbit(b.min()), false);
  EXPECT_EQ(a.min(), b.min());
  a.start_histograms();
  b.start_histograms();
  a.observe(plain);
  b.observe(odd);
  EXPECT_EQ(a.bins(), b.bins());
  EXPECT_EQ(a.abs_bins(), b.abs_bins());
  EXPECT_EQ(a.count(), b.count());
  const std::vector<float> negative = {-denormal, -0.0f, 0.25f};
  TensorHistogram c;
  c.observe_range(negative);
  EXPECT_EQ(c.min(), 0.0f);
  EXPECT_FALSE(std::signbit(c.min()));
}

// calibrate_kl sums its logarithms per level (and reads whole bins from prefix sums): the
// threshold it picks must be a minimum of the divergence written the plain way, one log per bin
// (the reference implementations' form, quantization/calibration.cpp before the speed-up).
double reference_kl(const std::vector<double>& bins, double outliers, double total, int i) {
  constexpr int levels = 128;
  std::vector<double> mass(levels, 0.0), weight(levels, 0.0), q(std::size_t(i), 0.0);
  auto p_of = [&](int j) { return j == i - 1 ? bins[std::size_t(j)] + outliers : bins[std::size_t(j)]; };
  auto for_levels = [&](int j, auto&& f) {
    const long start = long(levels) * j, stop = start + levels;
    const int l = int(start / i);
    const long edge = long(l + 1) * i;
    if (edge >= stop) {
      f(l, 1.0);
    } else {
      f(l, double(edge - start) / levels);
      f(l + 1, double(stop - edge) / levels);
    }
  };
  for (int j = 0; j < i; ++j)
    for_levels(j, [&](int l, double w) {
      mass[std::size_t(l)] += w * bins[std::size_t(j)];
      if (p_of(j) > 0) weight[std::size_t(l)] += w;
    });
  double q_total = 0;
  for (int j = 0; j < i; ++j) {
    if (p_of(j) > 0)
      for_levels(j, [&](int l, double w) { q[std::size_t(j)] += w * mass[std::size_t(l)] / weight[std::size_t(l)]; });
    q_total += q[std::size_t(j)];
  }
  double kl = 0;
  for (int j = 0; j < i; ++j) {
    const double p = p_of(j) / total;
    if (p == 0) continue;
    double qn = q_total > 0 ? q[std::size_t(j)] / q_total : 0.0;
    if (qn <= 0) qn = 1e-4 / total;
    kl += p * std::log(p / qn);
  }
  return kl;
}

TEST(QuantReproducible, KlThresholdMinimisesThePlainDivergence) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 6; ++trial) {
    std::vector<float> x(20000);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::exponential_distribution<float> tail(trial % 2 ? 0.3f : 2.0f);
    for (std::size_t k = 0; k < x.size(); ++k) x[k] = k % 3 ? normal(rng) : tail(rng);
    if (trial >= 4)
      for (std::size_t k = 0; k < x.size(); k += 7) x[k] = 0.0f;  // a spike of zeros, as after ReLU
    TensorHistogram h;
    h.observe_range(x);
    h.start_histograms();
    h.observe(x);
    const ClipRange r = calibrate_kl(h);
    const double width = double(h.bins_abs_max()) / TensorHistogram::kBins;
    // The side holding max|x| is not clipped by [min, max] (unless nothing was clipped at all).
    const int chosen = int(std::lround(std::max(-double(r.lo), double(r.hi)) / width - 0.5));
    const std::vector<double> bins(h.abs_bins().begin(), h.abs_bins().end());
    double total = 0;
    for (double b : bins) total += b;
    double best = std::numeric_limits<double>::infinity();
    for (int i = 128; i <= TensorHistogram::kBins; ++i) {
      double outliers = 0;
      for (int j = i; j < TensorHistogram::kBins; ++j) outliers += bins[std::size_t(j)];
      best = std::min(best, reference_kl(bins, outliers, total, i));
    }
    double outliers = 0;
    for (int j = chosen; j < TensorHistogram::kBins; ++j) outliers += bins[std::size_t(j)];
    ASSERT_GE(chosen, 128) << trial;
    ASSERT_LE(chosen, TensorHistogram::kBins) << trial;
    EXPECT_LE(reference_kl(bins, outliers, total, chosen), best * (1 + 1e-9) + 1e-15) << trial;
  }
}

}  // namespace
}  // namespace tinyq
