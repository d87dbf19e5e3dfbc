// The quantizer end to end on small graphs: int8 results track the float model, every
// preset produces a runnable model, the .tqm file round-trips and rejects corruption, and
// bad input is one clear error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "exec/float_executor.hpp"
#include "exec/int8_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "onnx_builder.hpp"
#include "passes/passes.hpp"
#include "qmodel/tqm_file.hpp"
#include "quant/collect_statistics.hpp"
#include "quant/equalization.hpp"
#include "quant/layer_error.hpp"
#include "quant/multiplier.hpp"
#include "quant/quantizer.hpp"
#include "small_cnn.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

using testing::OnnxBuilder;

using testing::random_values;
using testing::small_cnn;

Graph import(const OnnxBuilder& b) {
  auto bytes = b.bytes();
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "test.onnx");
  simplify(g);
  return g;
}

Tensor random_inputs(std::int64_t n, unsigned seed) {
  return Tensor::from_floats({n, 2, 8, 8}, random_values(std::size_t(n) * 128, seed, 0.0f, 1.0f));
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  double worst = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i)
    worst = std::max(worst, double(std::abs(a.f32()[std::size_t(i)] - b.f32()[std::size_t(i)])));
  return worst;
}

TEST(QuantizeMultiplier, EncodesRealValuesWithinOneUlpOfQ31) {
  for (double m : {1e-9, 3.7e-5, 0.0123, 0.5, 0.999999, 1.0, 1.5, 123.456}) {
    QuantizedMultiplier q = quantize_multiplier(m);
    EXPECT_NEAR(multiplier_value(q) / m, 1.0, 1e-9) << m;
    EXPECT_GE(std::abs(q.multiplier), 1 << 30);
  }
  EXPECT_LT(multiplier_value(quantize_multiplier(-0.3)), 0);
  EXPECT_EQ(quantize_multiplier(0.0).multiplier, 0);
  EXPECT_THROW(quantize_multiplier(std::ldexp(1.0, 40)), Error);
}

class QuantizePreset : public ::testing::TestWithParam<std::string> {};

TEST_P(QuantizePreset, Int8OutputsTrackTheFloatModel) {
  Graph g = import(small_cnn());
  QuantizeOptions options;
  options.preset = GetParam();
  QGraph q = quantize(g, random_inputs(64, 10), options);
  Tensor test = random_inputs(32, 11);
  Tensor expected = FloatExecutor(g).run({test})[0];
  Tensor got = Int8Executor(q).run({test})[0];
  ASSERT_EQ(got.shape(), expected.shape());
  // Softmax probabilities on a 1/256 grid: int8 must stay within a few steps of float.
  EXPECT_LT(max_abs_diff(got, expected), GetParam() == "nnom" ? 0.25 : 0.05);
  auto errors = measure_layer_error(q, test);
  ASSERT_EQ(errors.size(), q.nodes.size());
  for (auto& e : errors) EXPECT_GT(e.cosine, GetParam() == "nnom" ? 0.9 : 0.98) << e.name;
}

INSTANTIATE_TEST_SUITE_P(Presets, QuantizePreset, ::testing::Values("best", "cmsis", "nnom", "pow2"),
                         [](const auto& info) { return info.param; });

TEST(Quantize, AffinePresetBeatsNnomOnLayerSqnr) {
  Graph g = import(small_cnn());
  Tensor calib = random_inputs(64, 20), test = random_inputs(32, 21);
  QuantizeOptions best, nnom;
  nnom.preset = "nnom";
  auto e_best = measure_layer_error(quantize(g, calib, best), test);
  auto e_nnom = measure_layer_error(quantize(g, calib, nnom), test);
  EXPECT_GT(e_best.back().sqnr_db, e_nnom.back().sqnr_db);
}

TEST(Quantize, ReluOutputUsesTheWholeInt8RangeFromZero) {
  Graph g = import(small_cnn());
  QGraph q = quantize(g, random_inputs(64, 30), {});
  for (auto& n : q.nodes) {
    if (n.name != "conv1") continue;
    EXPECT_EQ(q.values[std::size_t(n.output)].quant.zero_point, -128);
  }
}

TEST(Quantize, MaxPoolAndReshapeKeepTheirInputQuantization) {
  Graph g = import(small_cnn());
  QGraph q = quantize(g, random_inputs(64, 31), {});
  for (auto& n : q.nodes)
    if (n.kernel == QKernel::MaxPool || n.kernel == QKernel::Reshape) {
      const QuantParam &in = q.values[std::size_t(n.inputs[0])].quant, &out = q.values[std::size_t(n.output)].quant;
      EXPECT_EQ(in.scale, out.scale) << n.name;
      EXPECT_EQ(in.zero_point, out.zero_point) << n.name;
    }
}

TEST(Quantize, NnomConcatForcesBranchesOntoOneFormat) {
  Graph g = import(small_cnn());
  QuantizeOptions nnom;
  nnom.preset = "nnom";
  QGraph q = quantize(g, random_inputs(64, 32), nnom);
  for (auto& n : q.nodes) {
    if (n.kernel != QKernel::Concat) continue;
    for (int in : n.inputs)
      EXPECT_EQ(q.values[std::size_t(in)].quant.scale, q.values[std::size_t(n.output)].quant.scale);
  }
}

TEST(Quantize, UnknownPresetIsAnErrorNamingTheOption) {
  QuantizeOptions o;
  o.preset = "fastest";
  try {
    resolve_settings(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "--preset");
  }
}

TEST(Quantize, OpWithoutInt8KernelNamesTheNode) {
  OnnxBuilder b;
  b.input("x", {1, 2, 4, 4}).output("y");
  auto& n = b.node("MaxPool", {"x"}, {"y"}, "dilated_pool");
  OnnxBuilder::set_ints(n, "kernel_shape", {2, 2});
  OnnxBuilder::set_ints(n, "dilations", {2, 2});
  Graph g = import(b);
  try {
    quantize(g, Tensor::from_floats({4, 2, 4, 4}, random_values(128, 6)), {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dilated_pool"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("int8"), std::string::npos) << e.what();
  }
}

TEST(Quantize, AccumulatorThatCouldOverflowIsDetected) {
  const std::int64_t k = 70000;  // 70000 * 127 * 255 > 2^31
  OnnxBuilder b;
  b.input("x", {1, k}).output("y");
  b.initializer("w", {k, 1}, std::vector<float>(std::size_t(k), 1.0f));
  b.node("MatMul", {"x", "w"}, {"y"}, "wide_dense");
  Graph g = import(b);
  try {
    // Non-negative inputs put the zero point at -128, so an input can reach 255 above it.
    quantize(g, Tensor::from_floats({2, k}, random_values(std::size_t(2 * k), 7, 0.0f, 1.0f)), {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("overflow"), std::string::npos) << e.what();
    EXPECT_EQ(e.where(), "wide_dense");
  }
}

TEST(Quantize, CalibrationDataOfTheWrongShapeIsRejected) {
  Graph g = import(small_cnn());
  EXPECT_THROW(quantize(g, Tensor::from_floats({3, 3, 8, 8}, random_values(576, 8)), {}), Error);
}

TEST(Quantize, EmptyCalibrationSetIsRejected) {
  Graph g = import(small_cnn());
  EXPECT_THROW(quantize(g, Tensor(DType::f32, {0, 2, 8, 8}), {}), Error);
}

class TqmFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() / ("tinyq_test_" + std::to_string(::getpid()) + ".tqm");
    Graph g = import(small_cnn());
    q_ = quantize(g, random_inputs(32, 40), {});
    save_tqm(q_, path_.string());
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::vector<std::uint8_t> bytes() const {
    std::ifstream in(path_, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  std::filesystem::path path_;
  QGraph q_;
};

TEST_F(TqmFile, RoundTripGivesBitIdenticalResults) {
  QGraph loaded = load_tqm(path_.string());
  Tensor test = random_inputs(8, 41);
  Tensor a = Int8Executor(q_).run_int8({Tensor(DType::i8, {8, 2, 8, 8})})[0];
  Tensor b = Int8Executor(loaded).run_int8({Tensor(DType::i8, {8, 2, 8, 8})})[0];
  EXPECT_TRUE(std::equal(a.bytes().begin(), a.bytes().end(), b.bytes().begin()));
  Tensor fa = Int8Executor(q_).run({test})[0], fb = Int8Executor(loaded).run({test})[0];
  EXPECT_EQ(max_abs_diff(fa, fb), 0.0);
  EXPECT_EQ(serialize_tqm(loaded), serialize_tqm(q_));
}

TEST_F(TqmFile, FlippedByteFailsTheChecksum) {
  auto data = bytes();
  data[data.size() / 2] ^= 0x40;
  try {
    deserialize_tqm(data.data(), data.size(), "model.tqm");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
  }
}

TEST_F(TqmFile, TruncatedFileIsRejected) {
  auto data = bytes();
  for (std::size_t cut : {std::size_t(0), std::size_t(10), std::size_t(27), data.size() / 3, data.size() - 1})
    EXPECT_THROW(deserialize_tqm(data.data(), cut, "model.tqm"), Error) << cut;
}

TEST_F(TqmFile, OtherFilesAndVersionsAreRejected) {
  auto data = bytes();
  auto wrong_version = data;
  wrong_version[8] = 99;
  EXPECT_THROW(deserialize_tqm(wrong_version.data(), wrong_version.size(), "m.tqm"), Error);
  auto wrong_magic = data;
  wrong_magic[0] = 'X';
  EXPECT_THROW(deserialize_tqm(wrong_magic.data(), wrong_magic.size(), "m.tqm"), Error);
  EXPECT_THROW(load_tqm("/nonexistent/model.tqm"), Error);
}

}  // namespace
}  // namespace tinyq

namespace tinyq {
namespace {

// Σ_c |mean over samples and positions of (float - dequantized int8)| at node `name`.
double total_channel_bias(const QGraph& q, const Tensor& samples, const std::string& name) {
  int k = 0;
  while (q.nodes[std::size_t(k)].name != name) ++k;
  const QNode& node = q.nodes[std::size_t(k)];
  const std::size_t channels = q.values[std::size_t(node.output)].shape.back();
  std::vector<std::vector<float>> reference(std::size_t(samples.shape()[0]));
  FloatExecutor(q.float_graph, {.threads = 1})
      .run({samples}, [&](int, std::int64_t s, ValueId v, std::span<const float> d) {
        if (v == node.source_output) reference[std::size_t(s)].assign(d.begin(), d.end());
      });
  std::vector<double> error(channels, 0.0);
  const QuantParam p = q.values[std::size_t(node.output)].quant;
  Int8Executor(q, {.threads = 1}).run({samples}, [&](int, std::int64_t s, int index, std::span<const std::int8_t> d) {
    if (index != k) return;
    for (std::size_t i = 0; i < d.size(); ++i)
      error[i % channels] += reference[std::size_t(s)][i] - p.scale * float(d[i] - p.zero_point);
  });
  double total = 0;
  for (double e : error) total += std::abs(e);
  return total;
}

TEST(BiasCorrection, ShrinksTheMeanChannelErrorOfCorrectedLayers) {
  Graph g = import(small_cnn());
  Tensor calib = random_inputs(128, 50);
  QuantizeOptions off, on;
  off.bias_correction = false;
  on.bias_correction = true;
  QGraph before = quantize(g, calib, off), after = quantize(g, calib, on);
  // The depthwise layer's 9-tap weights quantize coarsely: the clearest mean shift.
  EXPECT_LT(total_channel_bias(after, calib, "depthwise"), total_channel_bias(before, calib, "depthwise"));
  EXPECT_TRUE(after.settings.bias_correction);
  EXPECT_FALSE(before.settings.bias_correction);
}

}  // namespace
}  // namespace tinyq

namespace tinyq {
namespace {

// conv (channels of very different weight ranges) -> relu -> conv.
OnnxBuilder imbalanced_pair() {
  OnnxBuilder b;
  b.input("x", {-1, 3, 6, 6}).output("y");
  auto w1 = random_values(4 * 3 * 9, 60, -1.0f, 1.0f);
  for (std::size_t i = 0; i < w1.size(); ++i) w1[i] *= (i / 27 == 0) ? 20.0f : (i / 27 == 1 ? 0.05f : 1.0f);
  b.initializer("w1", {4, 3, 3, 3}, w1);
  b.initializer("b1", {4}, {0.5f, 0.01f, 0.1f, -0.1f});
  auto& c1 = b.node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1");
  OnnxBuilder::set_ints(c1, "pads", {1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"r1"}, "relu");
  // conv2 amplifies conv1's tiny channel 1: per-tensor weights that zero it out show.
  auto w2 = random_values(20, 61);
  for (std::size_t i = 0; i < w2.size(); ++i) w2[i] *= (i % 4 == 1) ? 20.0f : (i % 4 == 0 ? 0.05f : 1.0f);
  b.initializer("w2", {5, 4, 1, 1}, w2);
  b.initializer("b2", {5}, std::vector<float>(5, 0.0f));
  b.node("Conv", {"r1", "w2", "b2"}, {"y"}, "conv2");
  return b;
}

TEST(CrossLayerEqualization, KeepsTheFunctionAndEvensOutChannelRanges) {
  Graph g = import(imbalanced_pair());
  Graph e = g;
  EXPECT_EQ(equalize_cross_layer(e), 1);
  Tensor x = Tensor::from_floats({4, 3, 6, 6}, random_values(432, 62, 0.0f, 1.0f));
  EXPECT_LT(max_abs_diff(FloatExecutor(g).run({x})[0], FloatExecutor(e).run({x})[0]), 1e-4);
  auto spread = [](const Graph& graph) {
    const Tensor& w = *graph.value(graph.nodes[0].inputs[1]).constant;
    float lo = 1e30f, hi = 0;
    for (std::int64_t c = 0; c < 4; ++c) {
      float m = 0;
      for (std::int64_t i = 0; i < 27; ++i) m = std::max(m, std::abs(w.f32()[std::size_t(c * 27 + i)]));
      lo = std::min(lo, m), hi = std::max(hi, m);
    }
    return hi / lo;
  };
  EXPECT_LT(spread(e), spread(g) / 10);
}

TEST(CrossLayerEqualization, ImprovesPerTensorQuantization) {
  Graph g = import(imbalanced_pair());
  Tensor calib = Tensor::from_floats({64, 3, 6, 6}, random_values(64 * 108, 63, 0.0f, 1.0f));
  QuantizeOptions per_tensor;
  per_tensor.preset = "cmsis";
  per_tensor.granularity = "tensor";  // equalization is applied for per-tensor weights
  QGraph with = quantize(g, calib, per_tensor);
  EXPECT_TRUE(with.settings.equalization);
  // The same settings without equalization: quantize the raw graph's statistics directly.
  QuantSettings settings = resolve_settings(per_tensor);
  QGraph without = quantize_with_statistics(g, collect_statistics(g, calib, {}), settings);
  EXPECT_GT(output_sqnr_db(with, calib), output_sqnr_db(without, calib) + 3.0);
}

}  // namespace
}  // namespace tinyq

namespace tinyq {
namespace {

TEST(Quantize, NearestResizeCopiesTheSamePixelsAsFloat) {
  OnnxBuilder b;
  b.input("x", {-1, 3, 5, 4}).output("y");
  b.initializer("roi", {0}, {});
  b.initializer("scales", {4}, {1.0f, 1.0f, 2.0f, 1.5f});
  auto& n = b.node("Resize", {"x", "roi", "scales"}, {"y"}, "upsample");
  auto* mode = n.add_attribute();
  mode->set_name("mode");
  mode->set_type(onnx::AttributeProto::STRING);
  mode->set_s("nearest");
  Graph g = import(b);
  Tensor calib = Tensor::from_floats({16, 3, 5, 4}, random_values(16 * 60, 70));
  QGraph q = quantize(g, calib, {});
  ASSERT_EQ(q.nodes.back().kernel, QKernel::Resize);
  // Resizing moves values without arithmetic: int8 equals float up to the input's rounding.
  Tensor test = Tensor::from_floats({4, 3, 5, 4}, random_values(240, 71));
  const float step = q.values[std::size_t(q.inputs[0])].quant.scale;
  EXPECT_LE(max_abs_diff(Int8Executor(q).run({test})[0], FloatExecutor(g).run({test})[0]), step / 2 + 1e-6);
}

}  // namespace
}  // namespace tinyq

namespace tinyq {
namespace {

// A BatchNorm-folded channel that is all but dead: weights of 1e-9 beside a bias of 0.5 (as in
// MLPerf Tiny's VWW). Its weight scale is raised until the int32 bias fits, in every preset.
TEST(Quantize, NearDeadChannelWithABiasQuantizesInEveryPreset) {
  OnnxBuilder b;
  b.input("x", {-1, 2, 4, 4}).output("y");
  std::vector<float> w = random_values(36, 71, -0.5f, 0.5f);
  for (std::size_t i = 18; i < 36; ++i) w[i] = 1e-9f;  // output channel 1
  b.initializer("w", {2, 2, 3, 3}, w);
  b.initializer("b", {2}, {0.1f, 0.5f});
  auto& c = b.node("Conv", {"x", "w", "b"}, {"y"}, "conv");
  OnnxBuilder::set_ints(c, "pads", {1, 1, 1, 1});
  Graph g = import(b);
  const Tensor x = Tensor::from_floats({16, 2, 4, 4}, random_values(512, 72, 0.0f, 1.0f));
  for (const char* preset : {"best", "fast", "cmsis", "nnom", "pow2"}) {
    QuantizeOptions options;
    options.preset = preset;
    QGraph q = quantize(g, x, options);
    EXPECT_GT(output_sqnr_db(q, x), 25.0) << preset;
  }
}

}  // namespace
}  // namespace tinyq

namespace tinyq {
namespace {

// Negative pads crop (Keras Cropping2D imports so; the ONNX importer refuses them). The int8
// pad kernel cannot crop: a clear error naming the node, not a crash in the kernel.
TEST(Quantize, CroppingPadIsRefusedNamingTheNode) {
  OnnxBuilder b;
  b.input("x", {-1, 2, 6, 6}).output("y");
  b.int_initializer("pads", {0, 0, 1, 1, 0, 0, 1, 2});
  b.node("Pad", {"x", "pads"}, {"y"}, "crop");
  Graph g = import(b);
  // The IR Cropping2D becomes: stored NHWC, begins then ends.
  g.nodes[0].attrs.set("pads", std::vector<std::int64_t>{0, -1, -1, 0, 0, -1, -2, 0});
  g.value(g.nodes[0].outputs[0]).shape = {g.value(g.inputs[0]).shape[0], 4, 3, 2};
  const Tensor x = Tensor::from_floats({4, 2, 6, 6}, random_values(288, 73, 0.0f, 1.0f));
  try {
    quantize(g, x, QuantizeOptions{});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("crop"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cropping"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tinyq
