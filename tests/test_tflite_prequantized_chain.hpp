#pragma once
// A pre-quantized int8 .tflite chaining the operators of issue 11: LOGISTIC and TANH of x,
// their MUL, SUB of x, HARD_SWISH, LEAKY_RELU, RELU6, RESIZE_NEAREST_NEIGHBOR, STRIDED_SLICE,
// SPLIT into p0 and p1; then QUANTIZE and RELU of p0 times the MEAN of p1 (output y), the
// MEAN itself (output m) and a TRANSPOSE_CONV of p0 (output z). Input x [1, 6, 6, 4].
#include <string>
#include <vector>

#include "test_tflite_builder.hpp"

namespace tinyq_tflite_test {

inline std::string chain_model() {
  using tinyq::tflite::BuiltinOp;
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

}  // namespace tinyq_tflite_test
