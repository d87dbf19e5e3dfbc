// Hostile and malformed ONNX input: every case is one tinyq::Error that names what is
// wrong and where, never a crash or an unbounded allocation.
#include <gtest/gtest.h>

#include <cmath>

#include "frontend/onnx/onnx_import.hpp"
#include "onnx_builder.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

using testing::OnnxBuilder;

// Import `bytes` and return the error message (fails the test if it imports).
std::string import_error(const std::string& bytes) {
  try {
    import_onnx_bytes(bytes.data(), bytes.size(), "model.onnx");
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "error must be one line: " << message;
    return message;
  }
  ADD_FAILURE() << "import succeeded";
  return {};
}

OnnxBuilder relu_model() {
  OnnxBuilder b;
  b.input("x", {1, 4}).output("y");
  b.node("Relu", {"x"}, {"y"}, "relu1");
  return b;
}

TEST(OnnxBadInput, ValidSmallModelImports) {
  auto bytes = relu_model().bytes();
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "model.onnx");
  EXPECT_EQ(g.nodes.size(), 1u);
}

TEST(OnnxBadInput, RandomBytesAreRejectedAsNotOnnx) {
  std::string bytes(512, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = char((i * 7919 + 13) % 251);
  auto message = import_error(bytes);
  EXPECT_NE(message.find("model.onnx"), std::string::npos) << message;
}

TEST(OnnxBadInput, TruncatedFileIsRejected) {
  OnnxBuilder b = relu_model();
  b.initializer("unused", {64}, std::vector<float>(64, 1.0f));
  std::string bytes = b.bytes();
  auto message = import_error(bytes.substr(0, bytes.size() / 2));
  EXPECT_NE(message.find("model.onnx"), std::string::npos);
}

TEST(OnnxBadInput, HugeDeclaredTensorIsRejectedBeforeAllocation) {
  OnnxBuilder b = relu_model();
  auto& t = b.initializer("huge", {}, {});
  t.add_dims(std::int64_t{1} << 20);
  t.add_dims(std::int64_t{1} << 20);  // 2^40 elements
  auto message = import_error(b.bytes());
  EXPECT_NE(message.find("2^31"), std::string::npos) << message;
}

TEST(OnnxBadInput, RawDataShorterThanDeclaredIsRejected) {
  OnnxBuilder b = relu_model();
  auto& t = b.initializer("w", {16}, {});
  t.set_raw_data(std::string(12, '\0'));  // 3 floats for 16
  auto message = import_error(b.bytes());
  EXPECT_NE(message.find("raw_data"), std::string::npos) << message;
  EXPECT_NE(message.find("'w'"), std::string::npos) << message;
}

TEST(OnnxBadInput, TypedDataCountMismatchIsRejected) {
  OnnxBuilder b = relu_model();
  b.initializer("w", {16}, {1, 2, 3});
  auto message = import_error(b.bytes());
  EXPECT_NE(message.find("shape declares 16"), std::string::npos) << message;
}

TEST(OnnxBadInput, UnsupportedOperatorNamesNodeOpAndSupportedList) {
  OnnxBuilder b;
  b.input("x", {1, 4}).output("y");
  b.node("Einsum", {"x"}, {"y"}, "mystery");
  auto message = import_error(b.bytes());
  EXPECT_NE(message.find("node 'mystery'"), std::string::npos) << message;
  EXPECT_NE(message.find("'Einsum'"), std::string::npos) << message;
  EXPECT_NE(message.find("supported:"), std::string::npos) << message;
  EXPECT_NE(message.find("Conv"), std::string::npos) << message;
}

TEST(OnnxBadInput, CyclicGraphNamesANodeOnTheCycle) {
  OnnxBuilder b;
  b.input("x", {1, 4}).output("c");
  b.node("Add", {"x", "c"}, {"a"}, "first");
  b.node("Relu", {"a"}, {"c"}, "second");
  auto message = import_error(b.bytes());
  EXPECT_NE(message.find("cycle"), std::string::npos) << message;
}

TEST(OnnxBadInput, MissingInitializerNamesTheInputAndNode) {
  OnnxBuilder b;
  b.input("x", {1, 1, 4, 4}).output("y");
  b.node("Conv", {"x", "weights_missing"}, {"y"}, "conv1");
  auto message = import_error(b.bytes());
  EXPECT_NE(message.find("weights_missing"), std::string::npos) << message;
  EXPECT_NE(message.find("conv1"), std::string::npos) << message;
}

TEST(OnnxBadInput, ExternalDataIsRejected) {
  OnnxBuilder b = relu_model();
  auto& t = b.initializer("w", {4}, {});
  t.set_data_location(onnx::TensorProto::EXTERNAL);
  auto message = import_error(b.bytes());
  EXPECT_NE(message.find("external data"), std::string::npos) << message;
}

TEST(OnnxBadInput, UnsupportedOpsetIsRejected) {
  OnnxBuilder b(99);
  b.input("x", {1, 4}).output("y");
  b.node("Relu", {"x"}, {"y"});
  auto message = import_error(b.bytes());
  EXPECT_NE(message.find("opset 99"), std::string::npos) << message;
}

TEST(OnnxBadInput, NonFloatInputIsRejected) {
  OnnxBuilder b;
  b.input("x", {1, 4}, onnx::TensorProto::INT32).output("y");
  b.node("Relu", {"x"}, {"y"});
  auto message = import_error(b.bytes());
  EXPECT_NE(message.find("input 'x'"), std::string::npos) << message;
}

TEST(OnnxBadInput, DynamicNonBatchDimensionIsRejected) {
  OnnxBuilder b;
  b.input("x", {1, -1}).output("y");
  b.node("Relu", {"x"}, {"y"});
  auto message = import_error(b.bytes());
  EXPECT_NE(message.find("dynamic"), std::string::npos) << message;
}

TEST(OnnxBadInput, DynamicBatchBecomesOne) {
  OnnxBuilder b;
  b.input("x", {-1, 4}).output("y");
  b.node("Relu", {"x"}, {"y"});
  auto bytes = b.bytes();
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "model.onnx");
  EXPECT_EQ(g.value(g.inputs[0]).shape, (Shape{1, 4}));
}

TEST(OnnxBadInput, ConvWeightsComputedAtRunTimeAreRejected) {
  OnnxBuilder b;
  b.input("x", {1, 1, 4, 4}).input("w", {1, 1, 3, 3}).output("y");
  b.node("Conv", {"x", "w"}, {"y"}, "conv1");
  auto message = import_error(b.bytes());
  EXPECT_NE(message.find("must be a constant"), std::string::npos) << message;
}

TEST(OnnxBadInput, ShapeMismatchInsideTheGraphNamesTheNode) {
  OnnxBuilder b;
  b.input("x", {1, 4}).input("z", {1, 5}).output("y");
  b.node("Add", {"x", "z"}, {"y"}, "add1");
  auto message = import_error(b.bytes());
  EXPECT_NE(message.find("add1"), std::string::npos) << message;
  EXPECT_NE(message.find("broadcast"), std::string::npos) << message;
}

TEST(OnnxBadInput, ValueDefinedTwiceIsRejected) {
  OnnxBuilder b;
  b.input("x", {1, 4}).output("y");
  b.node("Relu", {"x"}, {"y"}, "a");
  b.node("Sigmoid", {"x"}, {"y"}, "b");
  auto message = import_error(b.bytes());
  EXPECT_NE(message.find("defined twice"), std::string::npos) << message;
}

TEST(OnnxBadInput, MissingFileIsReportedWithItsPath) {
  try {
    import_onnx_file("/nonexistent/model.onnx");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "/nonexistent/model.onnx");
  }
}

TEST(OnnxBadInput, HugeConvKernelAttributeIsRejected) {
  OnnxBuilder b;
  b.input("x", {1, 1, 4, 4}).output("y");
  b.initializer("w", {1, 1, 1, 1}, {1.0f});
  auto& n = b.node("Conv", {"x", "w"}, {"y"}, "conv1");
  OnnxBuilder::set_ints(n, "strides", {std::int64_t{1} << 40, 1});
  auto message = import_error(b.bytes());
  EXPECT_NE(message.find("conv1"), std::string::npos) << message;
}

// Found by fuzzing (docs/FUZZING.md): an empty Clip bound escaped as std::out_of_range.
TEST(OnnxBadInput, ClipWithAnEmptyBoundNamesTheNode) {
  OnnxBuilder b;
  b.input("x", {1, 4}).output("y");
  b.initializer("lo", {0}, {});
  b.node("Clip", {"x", "lo"}, {"y"}, "clip1");
  auto message = import_error(b.bytes());
  EXPECT_NE(message.find("clip1"), std::string::npos) << message;
  EXPECT_NE(message.find("one value"), std::string::npos) << message;
}

// Found by fuzzing: ConvTranspose strides of 2^62 overflowed int64 (now bounded at import).
TEST(OnnxBadInput, ConvTransposeWithHugeStridesIsRejected) {
  OnnxBuilder b;
  b.input("x", {1, 2, 3, 3}).output("y");
  b.initializer("w", {2, 2, 2, 2}, std::vector<float>(16, 0.5f));
  auto& n = b.node("ConvTranspose", {"x", "w"}, {"y"}, "deconv");
  OnnxBuilder::set_ints(n, "strides", {std::int64_t{1} << 62, std::int64_t{1} << 62});
  auto message = import_error(b.bytes());
  EXPECT_NE(message.find("deconv"), std::string::npos) << message;
  EXPECT_NE(message.find("stride"), std::string::npos) << message;
}

}  // namespace
}  // namespace tinyq

namespace tinyq {
namespace {

TEST(OnnxBadInput, NanWeightIsRejectedNamingTheInitializer) {
  OnnxBuilder b;
  b.input("x", {1, 2}).output("y");
  b.initializer("w", {2}, {1.0f, std::nanf("")});
  b.node("Mul", {"x", "w"}, {"y"}, "scale");
  auto message = import_error(b.bytes());
  EXPECT_NE(message.find("initializer 'w'"), std::string::npos) << message;
  EXPECT_NE(message.find("nan"), std::string::npos) << message;
}

}  // namespace
}  // namespace tinyq
