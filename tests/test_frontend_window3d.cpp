// 3-D windows (N,C,D,H,W) through the importer and the float executor: a 3-D layer whose middle
// spatial axis has size 1 (kernel 1, stride 1, no pads) computes exactly its 2-D twin over the
// two other axes, which the 2-D path (checked against onnxruntime and ONNX's conformance tests)
// computes independently. Putting the 2-D axes on D and W checks that the importer reads
// kernel, strides, dilations, pads (begins D,H,W then ends) and output_padding per axis. The
// layers are float only (the quantizer's refusal: test_cli_window3d.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "exec/float_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "onnx_builder.hpp"
#include "passes/passes.hpp"
#include "small_cnn.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

using testing::OnnxBuilder;
using Ints = std::vector<std::int64_t>;

struct Case {
  std::string name, op;
  Ints input;                         // 2-D (N,C,H,W)
  std::map<std::string, Ints> attrs;  // 2-D form
  std::map<std::string, std::int64_t> ints;
  Ints weight;  // 2-D weight dims, empty for pooling
};

// The 3-D twin of a 2-D attribute: axes (H,W) become (D,W) around a size-1 H.
Ints to_3d(const std::string& name, const Ints& v) {
  if (name == "pads") return {v[0], 0, v[1], v[2], 0, v[3]};
  if (name == "output_padding") return {v[0], 0, v[1]};
  return {v[0], 1, v[1]};
}

Graph build(const Case& c, bool three_d, std::vector<float>& weight_values) {
  OnnxBuilder b;
  Ints in = c.input;
  if (three_d) in = {in[0], in[1], in[2], 1, in[3]};
  b.input("x", in).output("y");
  std::vector<std::string> inputs{"x"};
  if (!c.weight.empty()) {
    Ints w = c.weight;
    if (three_d) w = {w[0], w[1], w[2], 1, w[3]};
    b.initializer("w", w, weight_values);
    inputs.push_back("w");
    const std::int64_t out_c = c.op == "Conv" ? w[0] : w[1] * (c.ints.count("group") ? c.ints.at("group") : 1);
    b.initializer("b", {out_c}, testing::random_values(std::size_t(out_c), 7));
    inputs.push_back("b");
  }
  auto& node = b.node(c.op, inputs, {"y"}, "layer");
  for (const auto& [name, v] : c.attrs) OnnxBuilder::set_ints(node, name, three_d ? to_3d(name, v) : v);
  for (const auto& [name, v] : c.ints) OnnxBuilder::set_int(node, name, v);
  const std::string bytes = b.bytes();
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), c.name + (three_d ? "_3d" : "_2d") + ".onnx");
  simplify(g);
  return g;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class Window3dImport : public ::testing::TestWithParam<Case> {};

TEST_P(Window3dImport, MatchesTheTwoDimensionalLayer) {
  const Case& c = GetParam();
  std::int64_t weight_count = 1;
  for (auto d : c.weight) weight_count *= d;
  std::vector<float> w = c.weight.empty() ? std::vector<float>{} : testing::random_values(std::size_t(weight_count), 3);
  Graph two = build(c, false, w), three = build(c, true, w);
  bool has_3d_node = false;
  for (const Node& n : three.nodes) {
    const bool is_3d =
        n.op == Op::Conv3d || n.op == Op::ConvTranspose3d || n.op == Op::MaxPool3d || n.op == Op::AvgPool3d;
    has_3d_node = has_3d_node || is_3d;
  }
  // GlobalAveragePool becomes a ReduceMean; every other layer must be a 3-D op.
  if (c.op != "GlobalAveragePool") {
    EXPECT_TRUE(has_3d_node) << "a 3-D op in the imported graph";
  }

  std::int64_t count = 1;
  for (auto d : c.input) count *= d;
  const auto data = testing::random_values(std::size_t(count), 11);
  const Tensor x2 = Tensor::from_floats(c.input, data);
  const Tensor x3 = Tensor::from_floats({c.input[0], c.input[1], c.input[2], 1, c.input[3]}, data);
  const Tensor y2 = FloatExecutor(two, {.threads = 1}).run({x2})[0];
  const Tensor y3 = FloatExecutor(three, {.threads = 1}).run({x3})[0];
  const Shape& s = y2.shape();
  ASSERT_EQ(y3.shape(), (Shape{s[0], s[1], s[2], 1, s[3]}));
  for (std::int64_t i = 0; i < y2.numel(); ++i) {
    const float want = y2.f32()[std::size_t(i)];
    ASSERT_NEAR(y3.f32()[std::size_t(i)], want, 1e-5 * std::max(1.0f, std::abs(want))) << "element " << i;
  }
}

const Case kCases[] = {
    {"conv_group_pads_strides_dilations",
     "Conv",
     {1, 4, 9, 11},
     {{"kernel_shape", {3, 2}}, {"strides", {2, 1}}, {"dilations", {1, 2}}, {"pads", {1, 0, 2, 1}}},
     {{"group", 2}},
     {6, 2, 3, 2}},
    {"conv_strided_unpadded", "Conv", {1, 3, 7, 8}, {{"strides", {2, 3}}}, {{"group", 1}}, {5, 3, 3, 3}},
    {"conv_transpose_group_output_padding",
     "ConvTranspose",
     {1, 4, 4, 5},
     {{"strides", {2, 3}}, {"pads", {1, 0, 0, 2}}, {"output_padding", {1, 2}}, {"dilations", {1, 2}}},
     {{"group", 2}},
     {4, 3, 3, 2}},
    {"max_pool_ceil_dilated",
     "MaxPool",
     {2, 3, 9, 10},
     {{"kernel_shape", {3, 2}}, {"strides", {2, 3}}, {"dilations", {2, 1}}, {"pads", {1, 1, 2, 0}}},
     {{"ceil_mode", 1}},
     {}},
    {"avg_pool_count_include_pad_ceil",
     "AveragePool",
     {1, 3, 8, 9},
     {{"kernel_shape", {3, 2}}, {"strides", {2, 2}}, {"pads", {1, 0, 2, 1}}},
     {{"ceil_mode", 1}, {"count_include_pad", 1}},
     {}},
    {"avg_pool_excluding_pads",
     "AveragePool",
     {1, 2, 7, 6},
     {{"kernel_shape", {2, 3}}, {"pads", {1, 1, 1, 2}}},
     {},
     {}},
    {"global_avg_pool", "GlobalAveragePool", {2, 3, 5, 4}, {}, {}, {}},
    {"global_max_pool", "GlobalMaxPool", {2, 3, 5, 4}, {}, {}, {}},
};

INSTANTIATE_TEST_SUITE_P(Window3d, Window3dImport, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return info.param.name; });

TEST(Window3dImport, RejectsWindowsThatDoNotFitTheInput) {
  OnnxBuilder b;
  b.input("x", {1, 2, 4, 4, 4}).output("y");
  auto& pool = b.node("MaxPool", {"x"}, {"y"}, "pool3d");
  OnnxBuilder::set_ints(pool, "kernel_shape", {2, 2});  // a 2-D kernel on a 3-D input
  const std::string bytes = b.bytes();
  try {
    import_onnx_bytes(bytes.data(), bytes.size(), "bad.onnx");
    FAIL() << "a 2-D kernel on a 3-D input imported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pool3d"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("kernel must have 3 axes"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tinyq
