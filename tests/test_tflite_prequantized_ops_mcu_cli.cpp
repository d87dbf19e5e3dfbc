// A pre-quantized int8 .tflite chaining the operators of issue 11 (LOGISTIC, TANH, MUL, SUB,
// HARD_SWISH, LEAKY_RELU, RELU6, RESIZE_NEAREST_NEIGHBOR, STRIDED_SLICE, SPLIT, int8
// QUANTIZE, MEAN, RELU, TRANSPOSE_CONV) through generate and verify on cortex-m4 and cortex-m55
// (QEMU): the firmware's bytes equal the host int8 executor's, which the other tflite tests
// prove equal to TFLite Micro's reference arithmetic operator by operator.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "cli_fixture.hpp"
#include "data/npy.hpp"
#include "test_tflite_builder.hpp"

namespace tinyq {
namespace {

using namespace tinyq_tflite_test;
using tinyq::tflite::BuiltinOp;
using PrequantizedOpsMcuCli = tinyq::testing::Cli;
using tinyq::testing::Result;
namespace fs = std::filesystem;

std::string chain_model() {
  TfliteBuilder b;
  const Quant qx{{0.04f}, {5}}, qa{{1.0f / 256}, {-128}}, qb{{1.0f / 128}, {0}}, qc{{0.006f}, {-3}}, qd{{0.03f}, {10}},
      qe{{0.02f}, {-20}}, qf{{0.025f}, {-40}}, qr{{0.05f}, {-60}}, qm{{0.01f}, {-100}}, qt{{0.04f}, {-128}},
      qy{{0.002f}, {-128}};
  auto t = [&](const char* name, const Dims& shape, const Quant& q) {
    return b.tensor(name, fb::TensorType::INT8, shape, {}, &q);
  };
  const auto none = fb::ActivationFunctionType::NONE;
  const int x = t("x", {1, 6, 6, 4}, qx);
  b.extra_input(x);
  const int a = t("a", {1, 6, 6, 4}, qa), bt = t("b", {1, 6, 6, 4}, qb), c = t("c", {1, 6, 6, 4}, qc);
  b.op(BuiltinOp::Logistic, {x}, {a});
  b.op(BuiltinOp::Tanh, {x}, {bt});
  b.op(BuiltinOp::Mul, {a, bt}, {c}, fb::BuiltinOptions::MulOptions, fb::CreateMulOptions(b.fbb(), none).Union());
  const int d = t("d", {1, 6, 6, 4}, qd);
  b.op(BuiltinOp::Sub, {c, x}, {d}, fb::BuiltinOptions::SubOptions, fb::CreateSubOptions(b.fbb(), none).Union());
  const int e = t("e", {1, 6, 6, 4}, qe), f = t("f", {1, 6, 6, 4}, qf), g = t("g", {1, 6, 6, 4}, qf);
  b.op(BuiltinOp::HardSwish, {d}, {e});
  b.op(BuiltinOp::LeakyRelu, {e}, {f}, fb::BuiltinOptions::LeakyReluOptions,
       fb::CreateLeakyReluOptions(b.fbb(), 0.2f).Union());
  b.op(BuiltinOp::Relu6, {f}, {g});
  const int size = b.int32_constant("size", {2}, {12, 12});
  const int h = t("h", {1, 12, 12, 4}, qf);
  b.op(BuiltinOp::ResizeNearestNeighbor, {g, size}, {h}, fb::BuiltinOptions::ResizeNearestNeighborOptions,
       fb::CreateResizeNearestNeighborOptions(b.fbb(), false, true).Union());
  const int begin = b.int32_constant("begin", {4}, {0, 1, 0, 0});
  const int end = b.int32_constant("end", {4}, {1, 11, 12, 4});
  const int strides = b.int32_constant("strides", {4}, {1, 2, 3, 1});
  const int s = t("s", {1, 5, 4, 4}, qf);
  b.op(BuiltinOp::StridedSlice, {h, begin, end, strides}, {s}, fb::BuiltinOptions::StridedSliceOptions,
       fb::CreateStridedSliceOptions(b.fbb()).Union());
  const int axis = b.int32_constant("axis", {}, {3});
  const int p0 = t("p0", {1, 5, 4, 2}, qf), p1 = t("p1", {1, 5, 4, 2}, qf);
  b.op(BuiltinOp::Split, {axis, s}, {p0, p1}, fb::BuiltinOptions::SplitOptions,
       fb::CreateSplitOptions(b.fbb(), 2).Union());
  const int r = t("r", {1, 5, 4, 2}, qr), tt = t("relu", {1, 5, 4, 2}, qt);
  b.op(BuiltinOp::Quantize, {p0}, {r});
  b.op(BuiltinOp::Relu, {r}, {tt});
  const int axes = b.int32_constant("axes", {2}, {1, 2});
  const int m = t("m", {1, 1, 1, 2}, qm);
  b.op(BuiltinOp::Mean, {p1, axes}, {m}, fb::BuiltinOptions::ReducerOptions,
       fb::CreateReducerOptions(b.fbb(), true).Union());
  const int y = t("y", {1, 5, 4, 2}, qy);
  b.op(BuiltinOp::Mul, {tt, m}, {y}, fb::BuiltinOptions::MulOptions, fb::CreateMulOptions(b.fbb(), none).Union());
  // TRANSPOSE_CONV of p0 [1, 5, 4, 2], SAME, stride 2, per-channel weights: a third output.
  const Quant qw{{0.02f, 0.03f}, {0, 0}, 0}, qbias{{0.02f * 0.025f, 0.03f * 0.025f}, {0, 0}, 0};
  std::vector<std::int8_t> weights(2 * 3 * 3 * 2);
  for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = std::int8_t(int(i * 37 % 255) - 127);
  const int out_shape = b.int32_constant("output_shape", {4}, {1, 10, 8, 2});
  const int wt = b.int8_constant("weights", {2, 3, 3, 2}, weights, qw);
  const int bias = b.int32_constant("bias", {2}, {300, -700}, &qbias);
  const int z = t("z", {1, 10, 8, 2}, Quant{{0.05f}, {7}});
  b.op(BuiltinOp::TransposeConv, {out_shape, wt, p0, bias}, {z}, fb::BuiltinOptions::TransposeConvOptions,
       fb::CreateTransposeConvOptions(b.fbb(), fb::Padding::SAME, 2, 2, none).Union());
  b.output(y);
  b.output(m);
  b.output(z);
  return b.finish();
}

TEST_F(PrequantizedOpsMcuCli, GeneratedCodeGivesTheHostExecutorsBytesForEveryNewOperator) {
  const fs::path model = write("chain_int8.tflite", chain_model()), data = dir_ / "x.npy", out = dir_ / "fw";
  Tensor x(DType::i8, {8, 6, 6, 4});
  std::mt19937 rng(31);
  for (auto& v : x.data<std::int8_t>()) v = std::int8_t(std::uniform_int_distribution<int>(-128, 127)(rng));
  tinyq::write_npy(data.string(), x);

  const Result g =
      run_argv({"generate", model.string(), "--target", "cortex-m4", "-o", out.string(), "--name", "chain"});
  ASSERT_EQ(g.code, 0) << g.err;
  const std::string source = slurp(out / "chain.cpp");
  for (const char* kernel : {"lookup_s8", "mul_s8", "add_s8", "avg_pool2d_s8", "resize_nearest_s8", "strided_copy_s8",
                             "conv_transpose2d_s8"})
    EXPECT_NE(source.find(kernel), std::string::npos) << kernel;

  // The DSP build (M4) and the Helium one (M55): TFLite's MUL and SUB must leave their
  // native paths for the portable code on both.
  for (const char* target : {"cortex-m4", "cortex-m55"}) {
    const Result v =
        run_argv({"verify", model.string(), "--target", target, "--data", data.string(), "--count", "8", "--json"});
    ASSERT_EQ(v.code, 0) << target << ": " << v.err;
    const auto j = nlohmann::json::parse(v.out);
    EXPECT_EQ(j["count"], 8) << target;
    EXPECT_EQ(j["mismatches"], 0) << target;
  }
}

}  // namespace
}  // namespace tinyq
