// BatchNormalization with training_mode=1 (batch statistics) against a scalar reference of
// ONNX's definition, for (N,C,H,W) and (N,C) inputs with all three outputs, (N,C,L) with Y; and Dropout in
// training mode, which imports only with a constant ratio of 0.
#include <gtest/gtest.h>

#include <cmath>
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
using testing::random_values;

void set_float(onnx::NodeProto& n, const std::string& name, float value) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

TEST(BatchNormTraining, MatchesBatchStatisticsReference) {
  for (const std::vector<std::int64_t>& shape : {std::vector<std::int64_t>{3, 4, 2, 5}, {6, 3}}) {
    SCOPED_TRACE(shape.size());
    const std::int64_t n = shape[0], c = shape[1];
    std::int64_t inner = 1;
    for (std::size_t d = 2; d < shape.size(); ++d) inner *= shape[d];
    const float epsilon = 0.01f, momentum = 0.8f;
    const auto gamma = random_values(std::size_t(c), 1, 0.5f, 2.0f), beta = random_values(std::size_t(c), 2),
               mean = random_values(std::size_t(c), 3), var = random_values(std::size_t(c), 4, 0.5f, 2.0f);
    OnnxBuilder b(15);
    b.input("x", shape);
    b.initializer("s", {c}, gamma);
    b.initializer("b", {c}, beta);
    b.initializer("m", {c}, mean);
    b.initializer("v", {c}, var);
    auto& node = b.node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y", "running_mean", "running_var"}, "bn");
    OnnxBuilder::set_int(node, "training_mode", 1);
    set_float(node, "epsilon", epsilon);
    set_float(node, "momentum", momentum);
    b.output("y").output("running_mean").output("running_var");
    const std::string bytes = b.bytes();
    Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "bn.onnx");
    simplify(g);

    const std::vector<float> xs = random_values(std::size_t(n * c * inner), 5, -3.0f, 5.0f);
    const auto out = FloatExecutor(g, {.threads = 1}).run({Tensor::from_floats(Shape(shape), xs)});
    ASSERT_EQ(out.size(), 3u);
    ASSERT_EQ(out[0].shape(), Shape(shape));
    ASSERT_EQ(out[1].shape(), (Shape{c}));
    for (std::int64_t ch = 0; ch < c; ++ch) {
      double sum = 0, sq = 0;
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t k = 0; k < inner; ++k) sum += xs[std::size_t((i * c + ch) * inner + k)];
      const double mu = sum / double(n * inner);
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t k = 0; k < inner; ++k) {
          const double d = xs[std::size_t((i * c + ch) * inner + k)] - mu;
          sq += d * d;
        }
      const double sigma2 = sq / double(n * inner);  // population variance, as ONNX's reference
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t k = 0; k < inner; ++k) {
          const std::size_t at = std::size_t((i * c + ch) * inner + k);
          const double want =
              (xs[at] - mu) / std::sqrt(sigma2 + epsilon) * gamma[std::size_t(ch)] + beta[std::size_t(ch)];
          EXPECT_NEAR(out[0].f32()[at], want, 1e-4) << "channel " << ch;
        }
      EXPECT_NEAR(out[1].f32()[std::size_t(ch)], mean[std::size_t(ch)] * momentum + mu * (1 - momentum), 1e-5);
      EXPECT_NEAR(out[2].f32()[std::size_t(ch)], var[std::size_t(ch)] * momentum + sigma2 * (1 - momentum), 1e-5);
    }
  }
}

// A 1-D layer is lifted to (N,1,L,C): Y only (the [C] running statistics are refused there).
TEST(BatchNormTraining, OneDimensionalInputGivesY) {
  const std::int64_t n = 2, c = 3, l = 7;
  OnnxBuilder b(15);
  b.input("x", {n, c, l});
  b.initializer("s", {c}, {1, 2, 3});
  b.initializer("b", {c}, {0, 1, -1});
  b.initializer("m", {c}, {0, 0, 0});
  b.initializer("v", {c}, {1, 1, 1});
  OnnxBuilder::set_int(b.node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y"}, "bn1d"), "training_mode", 1);
  b.output("y");
  const std::string bytes = b.bytes();
  const Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "bn1d.onnx");
  const std::vector<float> xs = random_values(std::size_t(n * c * l), 7, -2.0f, 3.0f);
  const Tensor y = FloatExecutor(g, {.threads = 1}).run({Tensor::from_floats({n, c, l}, xs)})[0];
  ASSERT_EQ(y.shape(), (Shape{n, c, l}));
  for (std::int64_t ch = 0; ch < c; ++ch) {
    // Per channel, the output has mean B and population standard deviation |scale|.
    double sum = 0, sq = 0;
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t k = 0; k < l; ++k) sum += y.f32()[std::size_t((i * c + ch) * l + k)];
    const double mean = sum / double(n * l);
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t k = 0; k < l; ++k) sq += std::pow(y.f32()[std::size_t((i * c + ch) * l + k)] - mean, 2);
    const double betas[] = {0, 1, -1};
    EXPECT_NEAR(mean, betas[ch], 1e-5);
    EXPECT_NEAR(std::sqrt(sq / double(n * l)), double(ch + 1), 1e-2);  // epsilon shrinks it slightly
  }
}

TEST(BatchNormTraining, RefusesFiveDimensionalInputs) {
  OnnxBuilder b5(15);
  b5.input("x", {2, 3, 2, 2, 2});
  for (const char* p : {"s", "b", "m", "v"}) b5.initializer(p, {3}, {1, 1, 1});
  OnnxBuilder::set_int(b5.node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y"}, "bn5d"), "training_mode", 1);
  b5.output("y");
  const std::string bytes5 = b5.bytes();
  try {
    import_onnx_bytes(bytes5.data(), bytes5.size(), "bn5.onnx");
    FAIL() << "a 5-D training-mode BatchNormalization imported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bn5d"), std::string::npos) << e.what();
  }
}

TEST(DropoutTraining, ImportsOnlyWithAConstantZeroRatio) {
  for (float ratio : {0.0f, 0.5f}) {
    OnnxBuilder b(13);
    b.input("x", {2, 3});
    b.initializer("r", {}, {ratio});
    auto& t = *b.model().mutable_graph()->add_initializer();
    t.set_name("t");
    t.set_data_type(onnx::TensorProto::BOOL);
    t.add_int32_data(1);
    b.node("Dropout", {"x", "r", "t"}, {"y"}, "drop");
    b.output("y");
    const std::string bytes = b.bytes();
    if (ratio == 0.0f) {
      const Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "d.onnx");
      const std::vector<float> xs = {1, -2, 3, -4, 5, -6};
      const Tensor y = FloatExecutor(g, {.threads = 1}).run({Tensor::from_floats({2, 3}, xs)})[0];
      for (std::size_t i = 0; i < xs.size(); ++i) EXPECT_EQ(y.f32()[i], xs[i]);
    } else {
      EXPECT_THROW(import_onnx_bytes(bytes.data(), bytes.size(), "d.onnx"), Error);
    }
  }
}

}  // namespace
}  // namespace tinyq
