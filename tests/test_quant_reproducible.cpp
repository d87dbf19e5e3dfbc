// quantize is byte-reproducible: the same model and data give the same .tqm bytes whatever the
// thread count and however the threads were scheduled. An EfficientNet-B0 .tqm once differed
// between two runs: a histogram minimum of -0 in one and 0 in the other (std::min of the two is
// whichever came first), and sigmoid values that were 0 or a denormal depending on the alignment
// of the buffer Eigen computed them in.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

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

}  // namespace
}  // namespace tinyq
