// int8_unsupported (what `inspect` reports up front) against what `quantize` actually does:
// for each small model, the prediction from the float graph and the quantizer's outcome on
// calibration data must agree, and a predicted refusal must name the node quantize stops at.
#include <gtest/gtest.h>

#include <functional>

#include "frontend/onnx/onnx_import.hpp"
#include "onnx_builder.hpp"
#include "passes/passes.hpp"
#include "quant/int8_support.hpp"
#include "quant/quantizer.hpp"
#include "small_cnn.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

using testing::OnnxBuilder;
using testing::random_values;

struct Case {
  std::string name;
  std::vector<std::int64_t> input;
  bool supported;  // what the case is built to show (the check below compares with quantize)
  std::function<void(OnnxBuilder&)> body;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::vector<Case> cases() {
  return {
      {"conv_relu_maxpool_gemm",
       {1, 2, 6, 6},
       true,
       [](OnnxBuilder& b) {
         b.initializer("w", {4, 2, 3, 3}, random_values(72, 1));
         b.node("Conv", {"x", "w"}, {"c"}, "conv");
         b.node("Relu", {"c"}, {"r"}, "relu");
         auto& p = b.node("MaxPool", {"r"}, {"p"}, "pool");
         OnnxBuilder::set_ints(p, "kernel_shape", {2, 2});
         OnnxBuilder::set_ints(p, "strides", {2, 2});
         b.node("Flatten", {"p"}, {"f"}, "flatten");
         b.initializer("wd", {3, 16}, random_values(48, 2));
         OnnxBuilder::set_int(b.node("Gemm", {"f", "wd"}, {"y"}, "dense"), "transB", 1);
         OnnxBuilder::set_int(b.node("Softmax", {"y"}, {"z"}, "softmax"), "axis", -1);
       }},
      {"conv_transpose",
       {1, 2, 4, 4},
       true,
       [](OnnxBuilder& b) {
         b.initializer("w", {2, 2, 2, 2}, random_values(16, 3));
         auto& n = b.node("ConvTranspose", {"x", "w"}, {"z"}, "upconv");
         OnnxBuilder::set_ints(n, "strides", {2, 2});
       }},
      {"matmul_of_activations",
       {1, 4, 8},
       true,
       [](OnnxBuilder& b) {
         OnnxBuilder::set_ints(b.node("Transpose", {"x"}, {"t"}, "transpose"), "perm", {0, 2, 1});
         b.node("MatMul", {"x", "t"}, {"z"}, "attention_scores");
       }},
      {"division_by_activation",
       {1, 8},
       false,
       [](OnnxBuilder& b) {
         b.node("Sigmoid", {"x"}, {"s"}, "gate");
         b.node("Div", {"x", "s"}, {"z"}, "divide");
       }},
      {"division_by_constant",
       {1, 8},
       true,
       [](OnnxBuilder& b) {
         b.initializer("k", {8}, random_values(8, 4, 1.0f, 2.0f));
         b.node("Div", {"x", "k"}, {"z"}, "divide");
       }},
      {"softmax_not_last_axis",
       {1, 4, 8},
       false,
       [](OnnxBuilder& b) { OnnxBuilder::set_int(b.node("Softmax", {"x"}, {"z"}, "softmax"), "axis", 1); }},
      {"reflect_pad",
       {1, 2, 4, 4},
       false,
       [](OnnxBuilder& b) {
         b.int_initializer("pads", {0, 0, 1, 1, 0, 0, 1, 1});
         auto& n = b.node("Pad", {"x", "pads"}, {"z"}, "mirror");
         n.add_attribute()->set_name("mode");
         n.mutable_attribute(0)->set_type(onnx::AttributeProto::STRING);
         n.mutable_attribute(0)->set_s("reflect");
       }},
      {"dilated_maxpool",
       {1, 2, 6, 6},
       false,
       [](OnnxBuilder& b) {
         auto& n = b.node("MaxPool", {"x"}, {"z"}, "pool");
         OnnxBuilder::set_ints(n, "kernel_shape", {2, 2});
         OnnxBuilder::set_ints(n, "dilations", {2, 2});
       }},
      {"bilinear_resize",
       {1, 2, 4, 4},
       true,
       [](OnnxBuilder& b) {
         b.initializer("scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
         auto& n = b.node("Resize", {"x", "", "scales"}, {"z"}, "upsample");
         n.add_attribute()->set_name("mode");
         n.mutable_attribute(0)->set_type(onnx::AttributeProto::STRING);
         n.mutable_attribute(0)->set_s("linear");
       }},
      {"bicubic_resize",
       {1, 2, 4, 4},
       false,
       [](OnnxBuilder& b) {
         b.initializer("scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
         auto& n = b.node("Resize", {"x", "", "scales"}, {"z"}, "upsample");
         n.add_attribute()->set_name("mode");
         n.mutable_attribute(0)->set_type(onnx::AttributeProto::STRING);
         n.mutable_attribute(0)->set_s("cubic");
       }},
      {"channel_transpose",
       {1, 2, 4, 4},
       true,
       [](OnnxBuilder& b) {
         OnnxBuilder::set_ints(b.node("Transpose", {"x"}, {"z"}, "t"), "perm", {0, 2, 3, 1});
       }},
  };
}

class Int8Support : public ::testing::TestWithParam<Case> {};

TEST_P(Int8Support, PredictionFromTheFloatGraphMatchesTheQuantizer) {
  const Case& c = GetParam();
  OnnxBuilder b;
  b.input("x", c.input);
  c.body(b);
  b.output("z");
  const std::string bytes = b.bytes();
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), c.name + ".onnx");
  simplify(g);

  std::vector<std::string> refused;  // "node: reason"
  std::string first_node;
  for (const Node& n : g.nodes)
    if (auto why = int8_unsupported(g, n)) {
      if (first_node.empty()) first_node = n.name;
      refused.push_back(n.name + ": " + *why);
    }
  EXPECT_EQ(refused.empty(), c.supported) << c.name << (refused.empty() ? "" : ": " + refused[0]);

  std::int64_t per_sample = 1;
  for (auto d : c.input) per_sample *= d;
  Shape shape = c.input;
  shape[0] = 8;
  QuantizeOptions options;
  options.preset = "fast";
  options.threads = 1;
  std::string quantize_error;
  try {
    quantize(g, Tensor::from_floats(shape, random_values(std::size_t(8 * per_sample), 9, -2.0f, 2.0f)), options);
  } catch (const Error& e) {
    quantize_error = e.what();
  }
  if (refused.empty()) {
    EXPECT_EQ(quantize_error, "") << "inspect would call " << c.name << " quantizable";
  } else {
    EXPECT_NE(quantize_error.find("int8 kernel"), std::string::npos)
        << "predicted '" << refused[0] << "' but quantize gave: '" << quantize_error << "'";
    EXPECT_NE(quantize_error.find(first_node), std::string::npos) << quantize_error << " vs " << refused[0];
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Int8Support, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace tinyq
