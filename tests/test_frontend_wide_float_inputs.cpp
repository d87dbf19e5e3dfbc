// Float16, bfloat16 and double run-time inputs, and unsigned integer tensors: decoded where
// they are read (tensor_from_onnx) into what tinyq computes with (float32, int64), so a
// model declaring such an input imports and runs in float32.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "exec/float_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "frontend/onnx/onnx_tensor.hpp"
#include "onnx_builder.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

using testing::OnnxBuilder;

onnx::TensorProto raw_tensor(int type, std::vector<std::int64_t> dims, const void* data, std::size_t bytes) {
  onnx::TensorProto t;
  t.set_name("t");
  t.set_data_type(type);
  for (auto d : dims) t.add_dims(d);
  t.set_raw_data(std::string(static_cast<const char*>(data), bytes));
  return t;
}

TEST(WideFloatInputs, Float16AndBfloat16AreWidenedExactly) {
  // 1.0, -2.5, 65504 (largest half), 2^-24 (smallest subnormal), +inf, -0.0
  const std::vector<std::uint16_t> half = {0x3c00, 0xc100, 0x7bff, 0x0001, 0x7c00, 0x8000};
  const std::vector<float> want = {1.0f, -2.5f, 65504.0f, std::ldexp(1.0f, -24), INFINITY, -0.0f};
  for (bool typed : {false, true}) {
    SCOPED_TRACE(typed ? "int32_data" : "raw_data");
    onnx::TensorProto t = raw_tensor(onnx::TensorProto::FLOAT16, {2, 3}, half.data(), half.size() * 2);
    if (typed) {
      t.clear_raw_data();
      for (auto h : half) t.add_int32_data(h);
    }
    const Tensor got = tensor_from_onnx(t, "half");
    ASSERT_EQ(got.dtype(), DType::f32);
    EXPECT_EQ(got.shape(), (Shape{2, 3}));
    for (std::size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got.f32()[i], want[i]) << i;
      EXPECT_EQ(std::signbit(got.f32()[i]), std::signbit(want[i])) << i;
    }
  }
  // bfloat16: the top 16 bits of a float32 (1.0, -3.0, 1.5e38-ish, NaN)
  const std::vector<std::uint16_t> bf = {0x3f80, 0xc040, 0x7f00, 0x7fc0};
  const Tensor got = tensor_from_onnx(raw_tensor(onnx::TensorProto::BFLOAT16, {4}, bf.data(), 8), "bf16");
  EXPECT_EQ(got.f32()[0], 1.0f);
  EXPECT_EQ(got.f32()[1], -3.0f);
  EXPECT_EQ(got.f32()[2], std::ldexp(1.0f, 127));
  EXPECT_TRUE(std::isnan(got.f32()[3]));
}

TEST(WideFloatInputs, UnsignedIntegersBecomeInt64AndOverflowIsRefused) {
  const std::vector<std::uint32_t> u32 = {0, 7, 4000000000u};
  Tensor t = tensor_from_onnx(raw_tensor(onnx::TensorProto::UINT32, {3}, u32.data(), 12), "u32");
  EXPECT_EQ(t.dtype(), DType::i64);
  EXPECT_EQ(t.as_i64(), (std::vector<std::int64_t>{0, 7, 4000000000}));

  onnx::TensorProto u64;
  u64.set_data_type(onnx::TensorProto::UINT64);
  u64.add_dims(2);
  u64.add_uint64_data(5);
  u64.add_uint64_data(std::uint64_t{1} << 40);
  EXPECT_EQ(tensor_from_onnx(u64, "u64").as_i64(), (std::vector<std::int64_t>{5, std::int64_t{1} << 40}));
  u64.set_uint64_data(1, ~std::uint64_t{0});
  EXPECT_THROW(tensor_from_onnx(u64, "u64"), Error);
  // raw_data must have 8 bytes per UINT64 element, 4 per UINT32, 2 per FLOAT16
  EXPECT_THROW(tensor_from_onnx(raw_tensor(onnx::TensorProto::UINT64, {3}, u32.data(), 12), "short"), Error);
  EXPECT_THROW(tensor_from_onnx(raw_tensor(onnx::TensorProto::FLOAT16, {3}, u32.data(), 12), "long"), Error);
}

// A model whose input is declared float16 (or bfloat16 or double) imports, and runs on the
// widened float32 values: Cast(to float) of a float input is the identity, so the output is
// exactly Relu of the decoded input.
TEST(WideFloatInputs, ModelWithHalfPrecisionInputRunsInFloat32) {
  const std::vector<std::uint16_t> half = {0x3c00, 0xc100, 0x3555, 0x0001};  // 1, -2.5, 0.33325..., 2^-24
  for (int type : {int(onnx::TensorProto::FLOAT16), int(onnx::TensorProto::BFLOAT16), int(onnx::TensorProto::DOUBLE)}) {
    SCOPED_TRACE(onnx::TensorProto::DataType_Name(type));
    OnnxBuilder b;
    b.input("x", {1, 4}, type);
    OnnxBuilder::set_int(b.node("Cast", {"x"}, {"c"}, "cast"), "to", onnx::TensorProto::FLOAT);
    b.node("Relu", {"c"}, {"y"}, "relu");
    b.output("y");
    const std::string bytes = b.bytes();
    const Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "wide.onnx");

    onnx::TensorProto data;
    if (type == onnx::TensorProto::DOUBLE) {
      const std::vector<double> d = {1.0, -2.5, 1.0 / 3.0, 1e-40};
      data = raw_tensor(type, {1, 4}, d.data(), d.size() * 8);
    } else {
      data = raw_tensor(type, {1, 4}, half.data(), half.size() * 2);
    }
    const Tensor x = tensor_from_onnx(data, "x");
    FloatExecutor executor(g, {.threads = 1});
    const Tensor y = executor.run({x}).at(0);
    ASSERT_EQ(y.numel(), 4);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(y.f32()[i], std::max(0.0f, x.f32()[i])) << i;
    EXPECT_EQ(y.f32()[1], 0.0f);
    EXPECT_GT(y.f32()[0], 0.0f);  // 0x3c00 is 1.0 as a half, 2^-7 as a bfloat16
  }
}

TEST(WideFloatInputs, StringInputsAreStillRefused) {
  OnnxBuilder b;
  b.input("x", {1, 4}, onnx::TensorProto::STRING);
  OnnxBuilder::set_int(b.node("Cast", {"x"}, {"y"}, "cast"), "to", onnx::TensorProto::FLOAT);
  b.output("y");
  const std::string bytes = b.bytes();
  try {
    import_onnx_bytes(bytes.data(), bytes.size(), "s.onnx");
    FAIL() << "a STRING input imported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("element type STRING is not supported"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tinyq
