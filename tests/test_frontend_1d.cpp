// 1-D layers on (N,C,L) inputs: PyTorch-exported temporal models match onnxruntime, every
// 1-D conv variant (dilated, causal, strided, depthwise, explicit Pad) matches a scalar
// reference, the layers run as 2-D ones inside tinyq, and outputs keep ONNX's rank.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "data/npy.hpp"
#include "exec/float_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "onnx_builder.hpp"
#include "passes/passes.hpp"
#include "small_cnn.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

using testing::OnnxBuilder;
using testing::random_values;
using Ints = std::vector<std::int64_t>;

const std::filesystem::path kOned = std::filesystem::path(TINYQ_SOURCE_DIR) / "models" / "oned";

Graph import(const OnnxBuilder& b) {
  auto bytes = b.bytes();
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "test.onnx");
  simplify(g);
  return g;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  double worst = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i)
    worst = std::max(worst, double(std::abs(a.f32()[std::size_t(i)] - b.f32()[std::size_t(i)])));
  return worst;
}

int count_ops(const Graph& g, Op op) {
  return int(std::count_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.op == op; }));
}

class OnedModel : public ::testing::TestWithParam<std::string> {};

TEST_P(OnedModel, MatchesOnnxRuntime) {
  const std::string name = GetParam();
  const auto reference = kOned / (name + ".ort.npy");
  if (!std::filesystem::exists(reference)) GTEST_SKIP() << reference << " absent (node models/oned/ort_reference.mjs)";
  Graph g = import_onnx_file((kOned / (name + ".onnx")).string());
  simplify(g);
  Tensor input = read_npy((kOned / (name + ".input.npy")).string());
  Tensor expected = read_npy(reference.string());
  Tensor got = FloatExecutor(g).run({input})[0];
  ASSERT_EQ(got.shape(), expected.shape()) << name;  // (N,C,L) outputs stay rank 3
  EXPECT_LE(max_abs_diff(got, expected), 1e-4) << name;
}

INSTANTIATE_TEST_SUITE_P(Oned, OnedModel, ::testing::Values("tcn", "decoder", "sequence_head"),
                         [](const auto& info) { return info.param; });

TEST(Lift1d, TemporalConvNetRunsAsTwoDLayersWithFoldsApplied) {
  const auto path = kOned / "tcn.onnx";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " absent";
  Graph g = import_onnx_file(path.string());
  simplify(g);
  // One-channel input: lifting it is a view; nothing moves data between the 1-D layers, the
  // causal Pad went into its Conv, BatchNorm into the weights, ReLU into the clamps.
  EXPECT_EQ(count_ops(g, Op::Conv), 4);
  for (Op op : {Op::Transpose, Op::Pad, Op::ChannelAffine, Op::Relu}) EXPECT_EQ(count_ops(g, op), 0) << op_name(op);
  for (const Node& n : g.nodes) {
    if (n.op == Op::Conv) {
      EXPECT_EQ(g.value(n.outputs[0]).layout, Layout::NHWC) << n.name;
    }
  }
}

TEST(Lift1d, TransposeToTimeMajorIsAReshape) {
  const auto path = kOned / "sequence_head.onnx";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " absent";
  Graph g = import_onnx_file(path.string());
  simplify(g);
  // (N,C,L) -> (N,L,C) is the stored (N,1,L,C) tensor itself: only the input transposes.
  EXPECT_EQ(count_ops(g, Op::Transpose), 1);
  EXPECT_EQ(g.value(g.outputs[0]).source_shape(), (Shape{1, 10, 4}));
}

// Scalar 1-D convolution: x [N,C,L], w [O,C/g,K], pads [begin, end].
Tensor conv1d_reference(const Tensor& x, const std::vector<float>& w, const std::vector<float>& b, std::int64_t out_c,
                        std::int64_t k, std::int64_t stride, std::int64_t dilation, std::int64_t group,
                        std::int64_t pad_begin, std::int64_t pad_end) {
  const std::int64_t n = x.shape()[0], c = x.shape()[1], l = x.shape()[2];
  const std::int64_t out_l = (l + pad_begin + pad_end - dilation * (k - 1) - 1) / stride + 1;
  const std::int64_t cg = c / group, og = out_c / group;
  Tensor y(DType::f32, {n, out_c, out_l});
  for (std::int64_t s = 0; s < n; ++s)
    for (std::int64_t o = 0; o < out_c; ++o)
      for (std::int64_t t = 0; t < out_l; ++t) {
        double acc = b[std::size_t(o)];
        for (std::int64_t ci = 0; ci < cg; ++ci)
          for (std::int64_t j = 0; j < k; ++j) {
            std::int64_t at = t * stride - pad_begin + j * dilation;
            if (at < 0 || at >= l) continue;
            acc += double(w[std::size_t((o * cg + ci) * k + j)]) *
                   x.f32()[std::size_t((s * c + (o / og) * cg + ci) * l + at)];
          }
        y.f32()[std::size_t((s * out_c + o) * out_l + t)] = float(acc);
      }
  return y;
}

struct Conv1dCase {
  const char* name;
  std::int64_t channels, out_c, k, stride, dilation, group, pad_begin, pad_end;
  bool explicit_pad;  // a Pad node before the Conv, as some causal exports do
};

class Conv1d : public ::testing::TestWithParam<Conv1dCase> {};

TEST_P(Conv1d, MatchesTheScalarReference) {
  const Conv1dCase& p = GetParam();
  const std::int64_t l = 23;
  OnnxBuilder b;
  b.input("x", {-1, p.channels, l}).output("y");
  const std::size_t wn = std::size_t(p.out_c * p.channels / p.group * p.k);
  std::vector<float> w = random_values(wn, 3), bias = random_values(std::size_t(p.out_c), 4, -0.2f, 0.2f);
  b.initializer("w", {p.out_c, p.channels / p.group, p.k}, w);
  b.initializer("b", {p.out_c}, bias);
  std::string conv_in = "x";
  if (p.explicit_pad) {
    b.int_initializer("pads", {0, 0, p.pad_begin, 0, 0, p.pad_end});
    b.node("Pad", {"x", "pads"}, {"padded"});
    conv_in = "padded";
  }
  auto& conv = b.node("Conv", {conv_in, "w", "b"}, {"y"});
  OnnxBuilder::set_ints(conv, "kernel_shape", {p.k});
  OnnxBuilder::set_ints(conv, "strides", {p.stride});
  OnnxBuilder::set_ints(conv, "dilations", {p.dilation});
  if (!p.explicit_pad) OnnxBuilder::set_ints(conv, "pads", {p.pad_begin, p.pad_end});
  OnnxBuilder::set_int(conv, "group", p.group);
  Graph g = import(b);
  EXPECT_EQ(count_ops(g, Op::Pad), 0) << "the explicit Pad folds into the Conv";
  Tensor x = Tensor::from_floats({3, p.channels, l}, random_values(std::size_t(3 * p.channels * l), 5));
  Tensor expected = conv1d_reference(x, w, bias, p.out_c, p.k, p.stride, p.dilation, p.group, p.pad_begin, p.pad_end);
  Tensor got = FloatExecutor(g).run({x})[0];
  ASSERT_EQ(got.shape(), expected.shape());
  EXPECT_LE(max_abs_diff(got, expected), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Lift1d, Conv1d,
                         ::testing::Values(Conv1dCase{"dilated_causal", 4, 6, 3, 1, 2, 1, 4, 0, false},
                                           Conv1dCase{"explicit_pad_causal", 4, 6, 5, 1, 1, 1, 4, 0, true},
                                           Conv1dCase{"strided", 3, 5, 4, 2, 1, 1, 1, 2, false},
                                           Conv1dCase{"depthwise", 6, 6, 3, 1, 1, 6, 1, 1, false},
                                           Conv1dCase{"grouped_dilated_strided", 4, 8, 3, 2, 3, 2, 3, 1, false}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Lift1d, PerChannelConstantsAndConcatBroadcastLikeOnnx) {
  // conv -> + bias[C,1] -> PRelu(slope[C,1]) -> concat with itself along time (axis -1) and
  // along channels (axis 1): constants shaped for (N,C,L) must still mean per channel.
  OnnxBuilder b;
  b.input("x", {-1, 2, 9}).output("time").output("chan");
  std::vector<float> w = random_values(3 * 2 * 3, 7), zero(3, 0.0f);
  std::vector<float> add = {0.5f, -1.0f, 2.0f}, slope = {0.1f, 0.2f, 0.3f};
  b.initializer("w", {3, 2, 3}, w);
  b.initializer("b", {3}, zero);
  b.initializer("add", {3, 1}, add);
  b.initializer("slope", {3, 1}, slope);
  OnnxBuilder::set_ints(b.node("Conv", {"x", "w", "b"}, {"c"}), "pads", {1, 1});
  b.node("Add", {"c", "add"}, {"a"});
  b.node("PRelu", {"a", "slope"}, {"p"});
  OnnxBuilder::set_int(b.node("Concat", {"p", "a"}, {"time"}), "axis", -1);
  OnnxBuilder::set_int(b.node("Concat", {"a", "p"}, {"chan"}), "axis", 1);
  Graph g = import(b);
  Tensor x = Tensor::from_floats({2, 2, 9}, random_values(36, 8));
  Tensor c = conv1d_reference(x, w, zero, 3, 3, 1, 1, 1, 1, 1);
  auto outs = FloatExecutor(g).run({x});
  ASSERT_EQ(outs[0].shape(), (Shape{2, 3, 18}));
  ASSERT_EQ(outs[1].shape(), (Shape{2, 6, 9}));
  for (std::int64_t s = 0; s < 2; ++s)
    for (std::int64_t ch = 0; ch < 3; ++ch)
      for (std::int64_t t = 0; t < 9; ++t) {
        float a = c.f32()[std::size_t((s * 3 + ch) * 9 + t)] + add[std::size_t(ch)];
        float p = a >= 0 ? a : a * slope[std::size_t(ch)];
        EXPECT_NEAR(outs[0].f32()[std::size_t((s * 3 + ch) * 18 + t)], p, 1e-5);
        EXPECT_NEAR(outs[0].f32()[std::size_t((s * 3 + ch) * 18 + 9 + t)], a, 1e-5);
        EXPECT_NEAR(outs[1].f32()[std::size_t((s * 6 + ch) * 9 + t)], a, 1e-5);
        EXPECT_NEAR(outs[1].f32()[std::size_t((s * 6 + 3 + ch) * 9 + t)], p, 1e-5);
      }
}

TEST(Lift1d, BatchNormAndGlobalPoolOnAnInputKeepOnnxShapes) {
  OnnxBuilder b;
  b.input("x", {-1, 3, 5}).output("bn").output("gmax");
  b.initializer("scale", {3}, {1.0f, 2.0f, 0.5f});
  b.initializer("bias", {3}, {0.0f, 1.0f, -1.0f});
  b.initializer("mean", {3}, {0.5f, 0.0f, 1.0f});
  b.initializer("var", {3}, {1.0f, 4.0f, 0.25f});
  b.node("BatchNormalization", {"x", "scale", "bias", "mean", "var"}, {"bn"});
  b.node("GlobalMaxPool", {"bn"}, {"gmax"});
  Graph g = import(b);
  Tensor x = Tensor::from_floats({1, 3, 5}, random_values(15, 9));
  auto outs = FloatExecutor(g).run({x});
  ASSERT_EQ(outs[0].shape(), (Shape{1, 3, 5}));
  ASSERT_EQ(outs[1].shape(), (Shape{1, 3, 1}));
  const float scale[] = {1.0f, 2.0f, 0.5f}, bias[] = {0.0f, 1.0f, -1.0f}, mean[] = {0.5f, 0.0f, 1.0f},
              var[] = {1.0f, 4.0f, 0.25f};
  for (int ch = 0; ch < 3; ++ch) {
    float best = -1e30f;
    for (int t = 0; t < 5; ++t) {
      float v = (x.f32()[std::size_t(ch * 5 + t)] - mean[ch]) / std::sqrt(var[ch] + 1e-5f) * scale[ch] + bias[ch];
      EXPECT_NEAR(outs[0].f32()[std::size_t(ch * 5 + t)], v, 1e-5);
      best = std::max(best, v);
    }
    EXPECT_NEAR(outs[1].f32()[std::size_t(ch)], best, 1e-5);
  }
}

TEST(Lift1d, AOneDConvWithATwoDWeightIsOneErrorNamingTheNode) {
  OnnxBuilder b;
  b.input("x", {1, 2, 8}).output("y");
  b.initializer("w", {1, 2, 1, 3}, random_values(6, 1));
  b.node("Conv", {"x", "w"}, {"y"}, "bad_conv");
  auto bytes = b.bytes();
  try {
    import_onnx_bytes(bytes.data(), bytes.size(), "test.onnx");
    FAIL() << "imported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad_conv"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("rank 3"), std::string::npos) << e.what();
  }
}

TEST(Lift1d, ATwoDWindowOnAnNclInputIsOneErrorNamingTheNode) {
  OnnxBuilder b;
  b.input("x", {1, 2, 8}).output("y");
  OnnxBuilder::set_ints(b.node("MaxPool", {"x"}, {"y"}, "pool2d"), "kernel_shape", {2, 2});
  auto bytes = b.bytes();
  try {
    import_onnx_bytes(bytes.data(), bytes.size(), "test.onnx");
    FAIL() << "imported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pool2d"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("kernel_shape has 2 values"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tinyq
