// What the importer promises beyond single-op conformance: NCHW models run NHWC inside
// with no run-time transposes, shape subgraphs fold to constants, and PyTorch's export
// patterns (flatten via Shape/Gather, decomposed LayerNorm) import as single nodes.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "exec/float_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "onnx_builder.hpp"
#include "passes/passes.hpp"

namespace tinyq {
namespace {

using testing::OnnxBuilder;

Graph import(const OnnxBuilder& b) {
  auto bytes = b.bytes();
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "test.onnx");
  simplify(g);
  return g;
}

int count_ops(const Graph& g, Op op) {
  int n = 0;
  for (auto& node : g.nodes) n += node.op == op;
  return n;
}

std::vector<float> random_values(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// conv (NCHW reference semantics) -> flatten through a Shape/Gather/Unsqueeze/Concat/Reshape
// subgraph -> Gemm, the way `x.view(x.size(0), -1)` exports.
OnnxBuilder conv_flatten_gemm() {
  OnnxBuilder b;
  b.input("x", {-1, 2, 5, 4}).output("y");
  b.initializer("w", {3, 2, 3, 3}, random_values(54, 1));
  b.initializer("bias", {3}, {0.1f, -0.2f, 0.3f});
  auto& conv = b.node("Conv", {"x", "w", "bias"}, {"c"}, "conv");
  OnnxBuilder::set_ints(conv, "pads", {1, 1, 1, 1});
  b.node("Relu", {"c"}, {"r"}, "relu");
  b.node("Shape", {"r"}, {"shape"}, "shape");
  b.int_initializer("zero", {0});
  b.node("Gather", {"shape", "zero"}, {"batch"}, "gather");
  b.int_initializer("minus_one", {-1});
  b.node("Concat", {"batch", "minus_one"}, {"target"}, "concat");
  OnnxBuilder::set_int(*b.model().mutable_graph()->mutable_node(b.model().graph().node_size() - 1), "axis", 0);
  b.node("Reshape", {"r", "target"}, {"flat"}, "reshape");
  b.initializer("fc", {4, 60}, random_values(240, 2));
  auto& gemm = b.node("Gemm", {"flat", "fc"}, {"y"}, "gemm");
  OnnxBuilder::set_int(gemm, "transB", 1);
  return b;
}

// The same computation written out plainly in NCHW.
std::vector<float> conv_flatten_gemm_reference(const std::vector<float>& x) {
  auto w = random_values(54, 1), fc = random_values(240, 2);
  float bias[3] = {0.1f, -0.2f, 0.3f};
  std::vector<float> flat(60);
  for (int o = 0; o < 3; ++o)
    for (int y = 0; y < 5; ++y)
      for (int xx = 0; xx < 4; ++xx) {
        float acc = bias[o];
        for (int c = 0; c < 2; ++c)
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx) {
              int iy = y + ky - 1, ix = xx + kx - 1;
              if (iy < 0 || iy >= 5 || ix < 0 || ix >= 4) continue;
              acc += x[std::size_t((c * 5 + iy) * 4 + ix)] * w[std::size_t(((o * 2 + c) * 3 + ky) * 3 + kx)];
            }
        flat[std::size_t((o * 5 + y) * 4 + xx)] = std::max(acc, 0.0f);
      }
  std::vector<float> out(4, 0.0f);
  for (int j = 0; j < 4; ++j)
    for (int i = 0; i < 60; ++i) out[std::size_t(j)] += flat[std::size_t(i)] * fc[std::size_t(j * 60 + i)];
  return out;
}

TEST(OnnxImport, ShapeSubgraphFoldsAndFlattenNeedsNoTranspose) {
  Graph g = import(conv_flatten_gemm());
  EXPECT_EQ(count_ops(g, Op::Transpose), 0);
  EXPECT_EQ(count_ops(g, Op::Conv), 1);
  EXPECT_EQ(count_ops(g, Op::Dense), 1);
  EXPECT_EQ(count_ops(g, Op::Relu), 0) << "Relu is fused into the conv";
  EXPECT_EQ(g.nodes.size(), 3u);  // Conv, Reshape, Dense
}

TEST(OnnxImport, NchwModelGivesNchwResultsForAnyBatch) {
  Graph g = import(conv_flatten_gemm());
  const int batch = 3;
  auto x = random_values(std::size_t(batch) * 40, 7);
  Tensor input = Tensor::from_floats({batch, 2, 5, 4}, x);
  Tensor out = FloatExecutor(g).run({input})[0];
  ASSERT_EQ(out.shape(), (Shape{batch, 4}));
  for (int n = 0; n < batch; ++n) {
    auto expected = conv_flatten_gemm_reference(std::vector<float>(x.begin() + n * 40, x.begin() + (n + 1) * 40));
    for (int j = 0; j < 4; ++j) EXPECT_NEAR(out.f32()[std::size_t(n * 4 + j)], expected[std::size_t(j)], 1e-4f);
  }
}

TEST(OnnxImport, TransposeToNhwcOfNhwcStoredDataIsFree) {
  OnnxBuilder b;
  b.input("x", {1, 3, 4, 5}).output("y");
  auto& t = b.node("Transpose", {"x"}, {"t"}, "to_nhwc");
  OnnxBuilder::set_ints(t, "perm", {0, 2, 3, 1});
  b.node("Sigmoid", {"t"}, {"y"}, "sig");
  Graph g = import(b);
  EXPECT_EQ(count_ops(g, Op::Transpose), 0);
  auto x = random_values(60, 3);
  Tensor out = FloatExecutor(g).run({Tensor::from_floats({1, 3, 4, 5}, x)})[0];
  ASSERT_EQ(out.shape(), (Shape{1, 4, 5, 3}));
  // y[0,h,w,c] = sigmoid(x[0,c,h,w])
  for (int h = 0; h < 4; ++h)
    for (int w = 0; w < 5; ++w)
      for (int c = 0; c < 3; ++c)
        EXPECT_NEAR(out.f32()[std::size_t((h * 5 + w) * 3 + c)],
                    1.0f / (1.0f + std::exp(-x[std::size_t((c * 4 + h) * 5 + w)])), 1e-6f);
}

TEST(OnnxImport, ChannelBroadcastConstantIsReLaidOut) {
  OnnxBuilder b;
  b.input("x", {1, 3, 2, 2}).output("y");
  b.initializer("k", {3, 1, 1}, {1.0f, 10.0f, 100.0f});
  b.node("Mul", {"x", "k"}, {"y"}, "scale");
  Graph g = import(b);
  std::vector<float> x(12, 1.0f);
  Tensor out = FloatExecutor(g).run({Tensor::from_floats({1, 3, 2, 2}, x)})[0];
  ASSERT_EQ(out.shape(), (Shape{1, 3, 2, 2}));
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 4; ++i) EXPECT_EQ(out.f32()[std::size_t(c * 4 + i)], std::pow(10.0f, float(c)));
}

TEST(OnnxImport, DecomposedLayerNormBecomesOneNode) {
  // The nine-op pattern torch.onnx emits for nn.LayerNorm at opset 13.
  OnnxBuilder b;
  b.input("x", {-1, 6}).output("y");
  auto& m1 = b.node("ReduceMean", {"x"}, {"mean"}, "mean");
  OnnxBuilder::set_ints(m1, "axes", {-1});
  b.node("Sub", {"x", "mean"}, {"d"}, "sub");
  b.initializer("two", {}, {2.0f});
  b.node("Pow", {"d", "two"}, {"sq"}, "pow");
  auto& m2 = b.node("ReduceMean", {"sq"}, {"var"}, "var");
  OnnxBuilder::set_ints(m2, "axes", {-1});
  b.initializer("eps", {}, {1e-5f});
  b.node("Add", {"var", "eps"}, {"ve"}, "add_eps");
  b.node("Sqrt", {"ve"}, {"std"}, "sqrt");
  b.node("Div", {"d", "std"}, {"n"}, "div");
  b.initializer("gamma", {6}, {1, 2, 3, 4, 5, 6});
  b.node("Mul", {"n", "gamma"}, {"s"}, "mul");
  b.initializer("beta", {6}, {0, 0, 0, 1, 1, 1});
  b.node("Add", {"s", "beta"}, {"y"}, "add_beta");
  Graph g = import(b);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op, Op::LayerNorm);
  EXPECT_FLOAT_EQ(g.nodes[0].attrs.get_float("epsilon", 0), 1e-5f);
  std::vector<float> x{1, 2, 3, 4, 5, 6};
  Tensor out = FloatExecutor(g).run({Tensor::from_floats({1, 6}, x)})[0];
  const float mean = 3.5f, inv = 1.0f / std::sqrt(17.5f / 6.0f + 1e-5f);
  float beta[6] = {0, 0, 0, 1, 1, 1};
  for (int i = 0; i < 6; ++i)
    EXPECT_NEAR(out.f32()[std::size_t(i)], (x[std::size_t(i)] - mean) * inv * float(i + 1) + beta[i], 1e-5f);
}

TEST(OnnxImport, BatchNormWithoutProducerBecomesChannelAffine) {
  OnnxBuilder b;
  b.input("x", {1, 2, 2, 2}).output("y");
  b.initializer("g", {2}, {2.0f, 3.0f});
  b.initializer("b", {2}, {1.0f, -1.0f});
  b.initializer("m", {2}, {0.5f, 0.0f});
  b.initializer("v", {2}, {4.0f, 1.0f});
  auto& bn = b.node("BatchNormalization", {"x", "g", "b", "m", "v"}, {"y"}, "bn");
  auto* eps = bn.add_attribute();
  eps->set_name("epsilon");
  eps->set_type(onnx::AttributeProto::FLOAT);
  eps->set_f(0.0f);
  Graph g = import(b);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op, Op::ChannelAffine);
  std::vector<float> x(8, 1.0f);
  Tensor out = FloatExecutor(g).run({Tensor::from_floats({1, 2, 2, 2}, x)})[0];
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(out.f32()[std::size_t(i)], 2.0f * (1.0f - 0.5f) / 2.0f + 1.0f);
  for (int i = 4; i < 8; ++i) EXPECT_FLOAT_EQ(out.f32()[std::size_t(i)], 3.0f * 1.0f / 1.0f - 1.0f);
}

TEST(OnnxImport, ReshapeWithZeroCopiesTheInputDimension) {
  OnnxBuilder b;
  b.input("x", {2, 3, 4}).output("y");
  b.int_initializer("shape", {0, -1});
  b.node("Reshape", {"x", "shape"}, {"y"}, "reshape");
  Graph g = import(b);
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{2, 12}));
}

}  // namespace
}  // namespace tinyq
