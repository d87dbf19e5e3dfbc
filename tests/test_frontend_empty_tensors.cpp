// Empty tensors (a zero dimension): a Slice or Split part that selects nothing and an input
// declared with a 0 dimension are passed through Slice, Reshape and Identity to the graph
// outputs, where they come out with their shape and no data; any node that would compute on
// one is refused at import in one line naming it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "exec/float_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "onnx_builder.hpp"
#include "passes/passes.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

using testing::OnnxBuilder;

Graph import(const OnnxBuilder& b) {
  const std::string bytes = b.bytes();
  return import_onnx_bytes(bytes.data(), bytes.size(), "empty.onnx");
}

// x[N,4] -> Slice(axis 1, [10, 20)) = y[N,0], and Sigmoid(x) = z beside it.
OnnxBuilder empty_slice_model() {
  OnnxBuilder b;
  b.input("x", {-1, 4}).output("y").output("z");
  b.int_initializer("starts", {10});
  b.int_initializer("ends", {20});
  b.int_initializer("axes", {1});
  b.node("Slice", {"x", "starts", "ends", "axes"}, {"y"}, "nothing");
  b.node("Sigmoid", {"x"}, {"z"}, "sigmoid");
  return b;
}

TEST(EmptyTensors, AnEmptySliceIsAGraphOutputWithItsShape) {
  for (bool simplified : {false, true}) {
    Graph g = import(empty_slice_model());
    if (simplified) simplify(g);
    const Tensor x = Tensor::from_floats({3, 4}, std::vector<float>(12, 0.0f));
    const auto out = FloatExecutor(g, {.threads = 1}).run({x});
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].shape(), (Shape{3, 0}));
    EXPECT_EQ(out[0].numel(), 0);
    ASSERT_EQ(out[1].shape(), (Shape{3, 4}));
    EXPECT_FLOAT_EQ(out[1].f32()[0], 0.5f);
  }
}

TEST(EmptyTensors, AZeroDimensionInputPassesThroughReshapeAndSplit) {
  OnnxBuilder b(14);
  b.input("x", {0, 3}).output("a").output("b");
  b.int_initializer("shape", {3, 0});
  b.int_initializer("split", {0, 0});
  auto& reshape = b.node("Reshape", {"x", "shape"}, {"a"}, "reshape");
  OnnxBuilder::set_int(reshape, "allowzero", 1);
  b.node("Split", {"x", "split"}, {"b", "c"}, "split");
  Graph g = import(b);
  simplify(g);
  const auto out = FloatExecutor(g, {.threads = 1}).run({Tensor(DType::f32, {0, 3})});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].shape(), (Shape{3, 0}));
  EXPECT_EQ(out[1].shape(), (Shape{0, 3}));
  // Data for an empty input must have its exact shape: a batch of 0 is not a multiple.
  EXPECT_THROW(FloatExecutor(g, {.threads = 1}).run({Tensor(DType::f32, {2, 3})}), Error);
}

TEST(EmptyTensors, ANodeComputingOnAnEmptyTensorIsRefusedNamingIt) {
  OnnxBuilder b = empty_slice_model();
  b.output("w");
  b.node("Relu", {"y"}, {"w"}, "relu_of_nothing");
  try {
    import(b);
    FAIL() << "a Relu of an empty tensor imported";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("relu_of_nothing"), std::string::npos) << what;
    EXPECT_NE(what.find("empty tensor"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace tinyq
