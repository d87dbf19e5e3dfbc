// Opsets 1-6: upgraded to opset 7 by ONNX's version converter before import, so that the
// attributes whose meaning changed at 7 (legacy broadcast with `axis`, `is_test`) are read as
// ONNX defines them rather than as today's operators would.
#include <gtest/gtest.h>

#include "exec/float_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "onnx_builder.hpp"
#include "passes/passes.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

using testing::OnnxBuilder;

// Old exporters typed their graph outputs, and ONNX's checker (run before the converter)
// requires it.
void type_outputs(OnnxBuilder& b, const std::vector<std::int64_t>& dims) {
  for (auto& out : *b.model().mutable_graph()->mutable_output()) {
    auto& tensor = *out.mutable_type()->mutable_tensor_type();
    tensor.set_elem_type(onnx::TensorProto::FLOAT);
    for (auto d : dims) tensor.mutable_shape()->add_dim()->set_dim_value(d);
  }
}

Graph import(OnnxBuilder& b, const std::vector<std::int64_t>& output_dims) {
  type_outputs(b, output_dims);
  auto bytes = b.bytes();
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "legacy.onnx");
  simplify(g);
  return g;
}

// Add-6 with broadcast=1, axis=1: B [3] lines up with A's axis 1 (the channels). Read with
// today's numpy rules it would line up with the last axis (size 2) and not broadcast at all.
TEST(OnnxLegacyOpset, Opset6AddBroadcastsAlongTheGivenAxis) {
  OnnxBuilder b(6);
  b.input("x", {1, 3, 2, 2}).output("y");
  b.initializer("bias", {3}, {1.0f, 10.0f, 100.0f});
  auto& add = b.node("Add", {"x", "bias"}, {"y"}, "legacy_add");
  OnnxBuilder::set_int(add, "broadcast", 1);
  OnnxBuilder::set_int(add, "axis", 1);
  Graph g = import(b, {1, 3, 2, 2});
  std::vector<float> x(12);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(i);
  Tensor out = FloatExecutor(g).run({Tensor::from_floats({1, 3, 2, 2}, x)})[0];
  ASSERT_EQ(out.shape(), (Shape{1, 3, 2, 2}));
  const float bias[3] = {1.0f, 10.0f, 100.0f};
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 4; ++i)
      EXPECT_EQ(out.f32()[std::size_t(c * 4 + i)], float(c * 4 + i) + bias[c]) << "channel " << c;
}

// Opset 1 GlobalAveragePool: the operator has not changed since; it imports and runs.
TEST(OnnxLegacyOpset, Opset1GlobalAveragePoolRuns) {
  OnnxBuilder b(1);
  b.input("x", {1, 2, 2, 2}).output("y");
  b.node("GlobalAveragePool", {"x"}, {"y"}, "gap");
  Graph g = import(b, {1, 2, 1, 1});
  const std::vector<float> x = {1, 2, 3, 4, 10, 20, 30, 40};
  Tensor out = FloatExecutor(g).run({Tensor::from_floats({1, 2, 2, 2}, x)})[0];
  ASSERT_EQ(out.shape(), (Shape{1, 2, 1, 1}));
  EXPECT_FLOAT_EQ(out.f32()[0], 2.5f);
  EXPECT_FLOAT_EQ(out.f32()[1], 25.0f);
}

// An opset the converter has no adapter for (Pad-1's `paddings`) is one error naming the file
// and the opset, not a crash or a silent misreading.
TEST(OnnxLegacyOpset, WhatTheConverterCannotUpgradeIsOneClearError) {
  OnnxBuilder b(1);
  b.input("x", {1, 1, 2, 2}).output("y");
  auto& pad = b.node("Pad", {"x"}, {"y"}, "old_pad");
  OnnxBuilder::set_ints(pad, "paddings", {0, 0, 1, 1, 0, 0, 1, 1});
  type_outputs(b, {1, 1, 4, 4});
  const auto bytes = b.bytes();
  try {
    import_onnx_bytes(bytes.data(), bytes.size(), "legacy.onnx");
    FAIL() << "an opset-1 Pad imported";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("legacy.onnx"), std::string::npos) << what;
    EXPECT_NE(what.find("opset 1"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

// A malformed legacy file (nodes without an op type: the fuzzer's find, which crashed ONNX's
// converter) is refused by ONNX's checker first, in one line.
TEST(OnnxLegacyOpset, MalformedLegacyGraphIsRefusedBeforeTheConverter) {
  OnnxBuilder b(1);
  b.input("x", {1, 2}).output("y");
  b.model().mutable_graph()->add_node();
  b.node("Relu", {"x"}, {"y"}, "r");
  type_outputs(b, {1, 2});
  const auto bytes = b.bytes();
  try {
    import_onnx_bytes(bytes.data(), bytes.size(), "legacy.onnx");
    FAIL() << "a node without an op type imported";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("malformed"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

// Gemm-6 with 1-D inputs, behind a legacy-broadcast Add: ONNX 1.13's shape inference for
// Gemm-6 (run to read the Add's ranks) reads the second dimension of a 1-D shape and crashes;
// the fuzzer found its sibling in the converter's Gemm adapter. The upgrade runs in a child process, so this is one
// error line, not a crashed tinyq.
TEST(OnnxLegacyOpset, AConverterCrashIsOneErrorLine) {
  OnnxBuilder b(6);
  b.input("a", {3}).output("y");
  b.initializer("w", {7}, std::vector<float>(7, 0.5f));
  b.initializer("c", {2}, {1.0f, 2.0f});
  b.initializer("k", {2}, {1.0f, 2.0f});
  b.node("Gemm", {"a", "w", "c"}, {"g"}, "gemm_1d");
  auto& add = b.node("Add", {"g", "k"}, {"y"}, "add_legacy");
  OnnxBuilder::set_int(add, "broadcast", 1);
  OnnxBuilder::set_int(add, "axis", 1);
  type_outputs(b, {1, 2});
  const auto bytes = b.bytes();
  try {
    import_onnx_bytes(bytes.data(), bytes.size(), "legacy.onnx");
    FAIL() << "a 1-D Gemm-6 input imported";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("legacy.onnx: ", 0), 0u) << what;
    EXPECT_NE(what.find("crashed upgrading opset 6"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

TEST(OnnxLegacyOpset, OpsetZeroAndBeyond18AreRefused) {
  for (int opset : {0, 19}) {
    OnnxBuilder b(opset);
    b.input("x", {1, 2}).output("y");
    b.node("Relu", {"x"}, {"y"}, "r");
    type_outputs(b, {1, 2});
    const auto bytes = b.bytes();
    EXPECT_THROW(import_onnx_bytes(bytes.data(), bytes.size(), "m.onnx"), Error) << "opset " << opset;
  }
}

TEST(OnnxImportLimits, MaxPoolIndicesOutputIsRefusedByName) {
  OnnxBuilder b;
  b.input("x", {1, 1, 4, 4}).output("y");
  auto& pool = b.node("MaxPool", {"x"}, {"y", "argmax"}, "pool_with_indices");
  OnnxBuilder::set_ints(pool, "kernel_shape", {2, 2});
  const auto bytes = b.bytes();
  try {
    import_onnx_bytes(bytes.data(), bytes.size(), "m.onnx");
    FAIL() << "MaxPool with Indices imported";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("pool_with_indices"), std::string::npos) << what;
    EXPECT_NE(what.find("Indices"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace tinyq
