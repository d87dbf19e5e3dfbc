// Cross-layer equalization over regions: the function is kept through every op a region may
// contain, channel ranges even out, residual adds and ReLU6 are left alone, and `best` gains
// from it on a model whose channels differ by 10^4.
#include <gtest/gtest.h>

#include <cmath>

#include "exec/float_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "onnx_builder.hpp"
#include "passes/passes.hpp"
#include "quant/collect_statistics.hpp"
#include "quant/equalization.hpp"
#include "quant/equalization_regions.hpp"
#include "quant/layer_error.hpp"
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

// Channel c of a conv's output multiplied by factor[c] (weights and bias).
std::vector<float> scaled_rows(std::vector<float> w, const std::vector<float>& factor) {
  const std::size_t per = w.size() / factor.size();
  for (std::size_t i = 0; i < w.size(); ++i) w[i] *= factor[i / per];
  return w;
}

// Two branches (conv+ReLU, conv+PReLU) concatenated, max pool, zero pad, average pool, a 1x1
// conv, ReLU, flatten, dense. The branch channels are scaled by 10^-2..10^2 and the 1x1 conv
// compensates, so the float function is a plain network's but one tensor's channels span 10^4.
OnnxBuilder branchy_model() {
  OnnxBuilder b;
  b.input("x", {-1, 2, 8, 8}).output("y");
  const std::vector<float> fa{100.0f, 0.01f, 1.0f, 10.0f}, fb{0.05f, 20.0f, 0.3f};
  b.initializer("wa", {4, 2, 3, 3}, scaled_rows(random_values(72, 11, -0.5f, 0.5f), fa));
  b.initializer("ba", {4}, scaled_rows(random_values(4, 12, -0.1f, 0.2f), fa));
  b.initializer("wb", {3, 2, 3, 3}, scaled_rows(random_values(54, 13, -0.5f, 0.5f), fb));
  b.initializer("bb", {3}, scaled_rows(random_values(3, 14, -0.1f, 0.2f), fb));
  b.initializer("slope", {3, 1, 1}, {0.1f, 0.2f, 0.05f});
  auto& ca = b.node("Conv", {"x", "wa", "ba"}, {"a"}, "conv_a");
  OnnxBuilder::set_ints(ca, "pads", {1, 1, 1, 1});
  b.node("Relu", {"a"}, {"ar"}, "relu_a");
  auto& cb = b.node("Conv", {"x", "wb", "bb"}, {"b"}, "conv_b");
  OnnxBuilder::set_ints(cb, "pads", {1, 1, 1, 1});
  b.node("PRelu", {"b", "slope"}, {"bp"}, "prelu_b");
  auto& cat = b.node("Concat", {"ar", "bp"}, {"cat"}, "concat");
  OnnxBuilder::set_int(cat, "axis", 1);
  auto& mp = b.node("MaxPool", {"cat"}, {"mp"}, "maxpool");
  OnnxBuilder::set_ints(mp, "kernel_shape", {2, 2});
  OnnxBuilder::set_ints(mp, "strides", {2, 2});
  b.int_initializer("pads", {0, 0, 1, 1, 0, 0, 1, 1});
  b.node("Pad", {"mp", "pads"}, {"padded"}, "pad");
  auto& ap = b.node("AveragePool", {"padded"}, {"ap"}, "avgpool");
  OnnxBuilder::set_ints(ap, "kernel_shape", {2, 2});
  OnnxBuilder::set_ints(ap, "strides", {2, 2});
  // The 1x1 conv undoes the branch factors on its input channels.
  std::vector<float> wc = random_values(5 * 7, 15, -0.5f, 0.5f);
  const std::vector<float> f{100.0f, 0.01f, 1.0f, 10.0f, 0.05f, 20.0f, 0.3f};
  for (std::size_t i = 0; i < wc.size(); ++i) wc[i] /= f[i % 7];
  b.initializer("wc", {5, 7, 1, 1}, wc);
  b.initializer("bc", {5}, random_values(5, 16, -0.1f, 0.1f));
  b.node("Conv", {"ap", "wc", "bc"}, {"c"}, "conv_c");
  b.node("Relu", {"c"}, {"cr"}, "relu_c");
  auto& fl = b.node("Flatten", {"cr"}, {"flat"}, "flatten");
  OnnxBuilder::set_int(fl, "axis", 1);
  b.initializer("wd", {45, 6}, random_values(270, 17, -0.3f, 0.3f));
  b.initializer("bd", {6}, random_values(6, 18, -0.1f, 0.1f));
  b.node("MatMul", {"flat", "wd"}, {"mm"}, "matmul");
  b.node("Add", {"mm", "bd"}, {"y"}, "bias");
  return b;
}

Tensor inputs(std::int64_t n, unsigned seed) {
  return Tensor::from_floats({n, 2, 8, 8}, random_values(std::size_t(n) * 128, seed, 0.0f, 1.0f));
}

double relative_diff(const Tensor& a, const Tensor& b) {
  double worst = 0, scale = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    worst = std::max(worst, double(std::abs(a.f32()[std::size_t(i)] - b.f32()[std::size_t(i)])));
    scale = std::max(scale, double(std::abs(a.f32()[std::size_t(i)])));
  }
  return worst / scale;
}

// max over channels / min over channels of the per-channel |activation| of the concat output.
double concat_channel_spread(const Graph& g, const Tensor& x) {
  ValueId cat = kNoValue;
  for (auto& n : g.nodes)
    if (n.op == Op::Concat) cat = n.outputs[0];
  const auto ranges = collect_channel_ranges(g, x, {cat}, 1).at(cat);
  return *std::max_element(ranges.begin(), ranges.end()) / *std::min_element(ranges.begin(), ranges.end());
}

TEST(EqualizationRegions, SpanConcatBranchesPoolingPaddingAndFlatten) {
  Graph g = import(branchy_model());
  const auto regions = equalization::find_regions(g);
  ASSERT_EQ(regions.size(), 2u);  // both branches -> conv_c; conv_c -> dense
  EXPECT_EQ(regions[0].producers.size(), 2u);
  EXPECT_EQ(regions[0].consumers.size(), 1u);
  EXPECT_EQ(regions[0].classes, 7);
  EXPECT_EQ(regions[1].classes, 5);  // the flattened features fold onto conv_c's 5 channels
  EXPECT_EQ(regions[1].consumers[0].channel_class.size(), 45u);
}

TEST(CrossLayerEqualization, KeepsTheFunctionThroughEveryRegionOp) {
  Graph g = import(branchy_model());
  const Tensor x = inputs(16, 21);
  for (EqualizeBy by : {EqualizeBy::weight_ranges, EqualizeBy::activation_ranges}) {
    Graph e = g;
    const InputSamples samples(x);
    EXPECT_EQ(equalize_cross_layer(e, by, &samples, 1), 2);
    EXPECT_LT(relative_diff(FloatExecutor(g).run({x})[0], FloatExecutor(e).run({x})[0]), 1e-5);
  }
}

TEST(CrossLayerEqualization, ActivationRangesEvenOutTheConcatChannels) {
  Graph g = import(branchy_model());
  const Tensor x = inputs(16, 22);
  Graph e = g;
  const InputSamples samples(x);
  equalize_cross_layer(e, EqualizeBy::activation_ranges, &samples, 1);
  const double before = concat_channel_spread(g, x), after = concat_channel_spread(e, x);
  EXPECT_GT(before, 1000.0);
  EXPECT_LT(after, before / 100.0);
}

TEST(CrossLayerEqualization, LeavesResidualAddsAndRelu6Alone) {
  for (const char* between : {"add", "relu6"}) {
    OnnxBuilder b;
    b.input("x", {-1, 2, 6, 6}).output("y");
    b.initializer("w1", {2, 2, 1, 1}, {10.0f, 0.1f, 0.01f, 0.5f});
    b.initializer("b1", {2}, {0.1f, 0.2f});
    b.initializer("w2", {2, 2, 1, 1}, {0.01f, 1.0f, 5.0f, 0.2f});
    b.initializer("b2", {2}, {0.0f, 0.1f});
    b.node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1");
    if (std::string(between) == "add") {
      b.node("Relu", {"c1"}, {"r1"}, "relu1");
      b.node("Conv", {"r1", "w2", "b2"}, {"c2"}, "conv2");
      b.node("Add", {"r1", "c2"}, {"y"}, "residual");
    } else {
      b.initializer("lo", {}, {0.0f});
      b.initializer("hi", {}, {6.0f});
      b.node("Clip", {"c1", "lo", "hi"}, {"r1"}, "relu6");
      b.node("Conv", {"r1", "w2", "b2"}, {"y"}, "conv2");
    }
    Graph g = import(b);
    EXPECT_TRUE(equalization::find_regions(g).empty()) << between;
    const Tensor x = Tensor::from_floats({4, 2, 6, 6}, random_values(288, 23, 0.0f, 1.0f));
    const InputSamples samples(x);
    EXPECT_EQ(equalize_cross_layer(g, EqualizeBy::activation_ranges, &samples, 1), 0) << between;
  }
}

TEST(CrossLayerEqualization, BestGainsOnChannelsSpanningTenThousand) {
  Graph g = import(branchy_model());
  const Tensor calib = inputs(128, 24);
  QuantizeOptions best;
  QGraph with = quantize(g, calib, best);
  EXPECT_TRUE(with.settings.equalization);
  QuantSettings settings = resolve_settings(best);
  settings.calibration = "mse";  // the same formats without equalization (no consumer search)
  QGraph without = quantize_with_statistics(g, collect_statistics(g, calib, {}), settings);
  EXPECT_GT(output_sqnr_db(with, calib), output_sqnr_db(without, calib) + 10.0);
}

}  // namespace
}  // namespace tinyq
