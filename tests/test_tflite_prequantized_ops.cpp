// Pre-quantized MUL, SUB, MEAN, TRANSPOSE_CONV and the unary operators (LOGISTIC, TANH, RELU, RELU6,
// LEAKY_RELU, HARD_SWISH, int8 QUANTIZE): one-operator int8 models with random scales and
// zero points run on the int8 executor, every output byte compared with TFLite Micro's
// reference arithmetic transcribed in test_tflite_prequantized_reference_ops.hpp. Binary
// operators see every operand pair (a [256, 1] against b [1, 256]), unary ones every byte.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "exec/int8_executor.hpp"
#include "frontend/tflite/tflite_import.hpp"
#include "frontend/tflite/tflite_model.hpp"
#include "frontend/tflite/tflite_prequantized.hpp"
#include "qmodel/qgraph_validation.hpp"
#include "qmodel/tqm_file.hpp"
#include "test_tflite_builder.hpp"
#include "test_tflite_prequantized_chain.hpp"
#include "test_tflite_prequantized_reference_ops.hpp"
#include "util/error.hpp"

namespace {

using namespace tinyq_tflite_test;
using tinyq::tflite::BuiltinOp;

struct Q {
  float scale;
  std::int32_t zero_point;
  Quant quant() const { return {{scale}, {zero_point}}; }
};

class Random {
 public:
  explicit Random(unsigned seed) : rng_(seed) {}
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  float log_uniform(float lo, float hi) {
    return float(std::exp(std::uniform_real_distribution<double>(std::log(lo), std::log(hi))(rng_)));
  }
  Q quant(float lo = 1e-3f, float hi = 0.5f) { return {log_uniform(lo, hi), uniform(-128, 127)}; }

 private:
  std::mt19937 rng_;
};

tinyq::QGraph import(const std::string& bytes) {
  const auto model = tinyq::tflite::read_tflite_bytes(bytes.data(), bytes.size(), "m.tflite");
  return tinyq::import_prequantized_tflite(model, tinyq::import_tflite_bytes(bytes.data(), bytes.size(), "m.tflite"));
}

tinyq::Tensor int8_tensor(const tinyq::Shape& shape, const std::vector<std::int8_t>& values) {
  tinyq::Tensor t(tinyq::DType::i8, shape);
  auto d = t.data<std::int8_t>();
  std::copy(values.begin(), values.end(), d.begin());
  return t;
}

std::vector<std::int8_t> run(const tinyq::QGraph& q, const std::vector<tinyq::Tensor>& inputs) {
  const auto y = tinyq::Int8Executor(q).run_int8(inputs)[0];
  const auto d = y.data<std::int8_t>();
  return {d.begin(), d.end()};
}

std::vector<std::int8_t> all_bytes() {
  std::vector<std::int8_t> v(256);
  for (int i = 0; i < 256; ++i) v[std::size_t(i)] = std::int8_t(i - 128);
  return v;
}

// TFLite's fused-activation clamp for an int8 output (CalculateActivationRangeQuantized).
std::pair<std::int32_t, std::int32_t> clamp_of(fb::ActivationFunctionType act, const Q& out) {
  auto quantize = [&](float f) { return out.zero_point + std::int32_t(std::round(f / out.scale)); };
  std::int32_t lo = -128, hi = 127;
  if (act == fb::ActivationFunctionType::RELU || act == fb::ActivationFunctionType::RELU6)
    lo = std::max(lo, quantize(0.0f));
  if (act == fb::ActivationFunctionType::RELU6) hi = std::min(hi, quantize(6.0f));
  return {lo, hi};
}

// a [256, 1] (op) b [1, 256] -> y [256, 256]: every operand pair once.
std::string binary_model(BuiltinOp code, const Q& qa, const Q& qb, const Q& qy, fb::ActivationFunctionType act) {
  TfliteBuilder b;
  const Quant ua = qa.quant(), ub = qb.quant(), uy = qy.quant();
  const int a = b.tensor("a", fb::TensorType::INT8, {256, 1}, {}, &ua);
  const int bb = b.tensor("b", fb::TensorType::INT8, {1, 256}, {}, &ub);
  b.extra_input(a);
  b.extra_input(bb);
  const int y = b.tensor("y", fb::TensorType::INT8, {256, 256}, {}, &uy);
  if (code == BuiltinOp::Mul)
    b.op(code, {a, bb}, {y}, fb::BuiltinOptions::MulOptions, fb::CreateMulOptions(b.fbb(), act).Union());
  else
    b.op(code, {a, bb}, {y}, fb::BuiltinOptions::SubOptions, fb::CreateSubOptions(b.fbb(), act).Union());
  b.output(y);
  return b.finish();
}

fb::ActivationFunctionType random_activation(Random& r) {
  const fb::ActivationFunctionType acts[] = {fb::ActivationFunctionType::NONE, fb::ActivationFunctionType::RELU,
                                             fb::ActivationFunctionType::RELU6};
  return acts[r.uniform(0, 2)];
}

TEST(PrequantizedOps, MulMatchesTfliteOnEveryOperandPair) {
  Random r(11);
  int cases = 0, positive_shifts = 0, saturated = 0;
  for (int k = 0; k < 60; ++k) {
    const Q qa = r.quant(), qb = r.quant();
    // Output scales from well below to above s_a * s_b: multipliers above 1 (shift > 0) too.
    const Q qy{qa.scale * qb.scale * r.log_uniform(0.01f, 300.0f), r.uniform(-128, 127)};
    const auto act = random_activation(r);
    const auto p = tflite_ref::mul_params(qa.scale, qa.zero_point, qb.scale, qb.zero_point, qy.scale, qy.zero_point,
                                          clamp_of(act, qy).first, clamp_of(act, qy).second);
    if (p.output_shift > 15) continue;  // TFLite's own int32 product would overflow (refused)
    positive_shifts += p.output_shift > 0;
    const auto got = run(import(binary_model(BuiltinOp::Mul, qa, qb, qy, act)),
                         {int8_tensor({256, 1}, all_bytes()), int8_tensor({1, 256}, all_bytes())});
    ASSERT_EQ(got.size(), 65536u);
    for (int i = 0; i < 256; ++i)
      for (int j = 0; j < 256; ++j) {
        const std::int8_t want = tflite_ref::MulFunc(std::int8_t(i - 128), std::int8_t(j - 128), p);
        saturated += want == 127 || want == -128;
        ASSERT_EQ(got[std::size_t(i * 256 + j)], want) << "case " << k << " a=" << i - 128 << " b=" << j - 128;
      }
    ++cases;
  }
  EXPECT_GE(cases, 40);
  EXPECT_GT(positive_shifts, 0);  // multipliers of 1 or more were exercised
  EXPECT_GT(saturated, 0);
}

TEST(PrequantizedOps, SubMatchesTfliteOnEveryOperandPair) {
  Random r(12);
  int saturated = 0;
  for (int k = 0; k < 60; ++k) {
    Q qa = r.quant(), qb = r.quant();
    if (k % 5 == 0) qb.scale = qa.scale;  // equal scales
    // b's input multiplier (2^20 + 1) * 2^10 (s_b / 2 s_a = (2^20 + 1) / 2^22): every odd
    // (b - z_b) * 2^20 * M lands exactly halfway in SaturatingRoundingDoublingHighMul, where
    // TFLite's SUB and an ADD with b's multiplier negated round apart.
    if (k % 3 == 0) qa.scale = 1.0f, qb.scale = float((1 << 20) + 1) / float(1 << 21);
    // b's scale 10^-7 of a's: its input shift is below -(20 + 1), outside add_tflite's
    // identities, so the kernel takes its literal loop.
    if (k % 7 == 1) qb.scale = qa.scale * 1e-7f;
    const Q qy{std::max(qa.scale, qb.scale) * r.log_uniform(0.05f, 4.0f), r.uniform(-128, 127)};
    const auto act = random_activation(r);
    const auto p = tflite_ref::sub_params(qa.scale, qa.zero_point, qb.scale, qb.zero_point, qy.scale, qy.zero_point,
                                          clamp_of(act, qy).first, clamp_of(act, qy).second);
    const auto got = run(import(binary_model(BuiltinOp::Sub, qa, qb, qy, act)),
                         {int8_tensor({256, 1}, all_bytes()), int8_tensor({1, 256}, all_bytes())});
    ASSERT_EQ(got.size(), 65536u);
    for (int i = 0; i < 256; ++i)
      for (int j = 0; j < 256; ++j) {
        const auto a = std::int8_t(i - 128), b = std::int8_t(j - 128);
        const std::int8_t want = tflite_ref::SubFunc(a, b, p);
        ASSERT_EQ(got[std::size_t(i * 256 + j)], want) << "case " << k << " a=" << int(a) << " b=" << int(b);
        saturated += want == 127 || want == -128;
      }
  }
  EXPECT_GT(saturated, 0);
}

// x [1, 256] -> op -> y [1, 256]: every input byte once.
std::string unary_model(BuiltinOp code, const Q& qx, const Q& qy, float alpha = 0.0f) {
  TfliteBuilder b;
  const Quant ux = qx.quant(), uy = qy.quant();
  const int x = b.tensor("x", fb::TensorType::INT8, {1, 256}, {}, &ux);
  b.extra_input(x);
  const int y = b.tensor("y", fb::TensorType::INT8, {1, 256}, {}, &uy);
  if (code == BuiltinOp::LeakyRelu)
    b.op(code, {x}, {y}, fb::BuiltinOptions::LeakyReluOptions, fb::CreateLeakyReluOptions(b.fbb(), alpha).Union());
  else
    b.op(code, {x}, {y});
  b.output(y);
  return b.finish();
}

void expect_unary(BuiltinOp code, const Q& qx, const Q& qy, const std::function<std::int8_t(std::int8_t)>& ref,
                  float alpha = 0.0f) {
  const auto got = run(import(unary_model(code, qx, qy, alpha)), {int8_tensor({1, 256}, all_bytes())});
  ASSERT_EQ(got.size(), 256u);
  for (int i = 0; i < 256; ++i)
    ASSERT_EQ(int(got[std::size_t(i)]), int(ref(std::int8_t(i - 128))))
        << tinyq::tflite::builtin_name(std::int32_t(code)) << " x=" << i - 128 << " s_in=" << qx.scale
        << " z_in=" << qx.zero_point << " s_out=" << qy.scale << " z_out=" << qy.zero_point << " alpha=" << alpha;
}

TEST(PrequantizedOps, LogisticAndTanhMatchTfliteOnEveryByte) {
  Random r(13);
  for (int k = 0; k < 150; ++k) {
    // Input scales from where the whole int8 range is within +-0.1 to where it saturates.
    const Q qx = r.quant(1e-3f, 0.3f);
    const auto p = tflite_ref::q4_params(qx.scale);
    expect_unary(BuiltinOp::Logistic, qx, {1.0f / 256, -128},
                 [&](std::int8_t x) { return tflite_ref::Logistic(x, qx.zero_point, p); });
    expect_unary(BuiltinOp::Tanh, qx, {1.0f / 128, 0},
                 [&](std::int8_t x) { return tflite_ref::Tanh(x, qx.zero_point, p); });
    // The fixed-point results are the functions themselves to within one output step.
    const auto logistic =
        run(import(unary_model(BuiltinOp::Logistic, qx, {1.0f / 256, -128})), {int8_tensor({1, 256}, all_bytes())});
    for (int i = 0; i < 256; ++i) {
      const double real = double(qx.scale) * (i - 128 - qx.zero_point);
      const double want = std::clamp(std::round(256.0 / (1.0 + std::exp(-real))) - 128, -128.0, 127.0);
      ASSERT_LE(std::abs(logistic[std::size_t(i)] - want), 1.0) << real;
    }
  }
}

TEST(PrequantizedOps, ActivationsMatchTfliteOnEveryByte) {
  Random r(14);
  for (int k = 0; k < 150; ++k) {
    const Q qx = r.quant(1e-3f, 0.2f);
    const Q qy{qx.scale * r.log_uniform(0.3f, 3.0f), r.uniform(-128, 127)};
    expect_unary(BuiltinOp::Relu, qx, qy,
                 [&](std::int8_t x) { return tflite_ref::Relu(x, qx.scale, qx.zero_point, qy.scale, qy.zero_point); });
    expect_unary(BuiltinOp::Relu6, qx, qx,
                 [&](std::int8_t x) { return tflite_ref::Relu6(x, qx.scale, qx.zero_point); });
    expect_unary(BuiltinOp::Quantize, qx, qy, [&](std::int8_t x) {
      return tflite_ref::Requantize(x, qx.scale, qx.zero_point, qy.scale, qy.zero_point);
    });
    const float alpha = k % 7 == 0 ? -0.25f : (k % 5 == 0 ? 1.5f : float(r.uniform(1, 60)) / 100.0f);
    expect_unary(
        BuiltinOp::LeakyRelu, qx, qy,
        [&](std::int8_t x) {
          return tflite_ref::LeakyRelu(x, qx.scale, qx.zero_point, qy.scale, qy.zero_point, alpha);
        },
        alpha);
    const auto hp = tflite_ref::hard_swish_params(qx.scale, qx.zero_point, qy.scale, qy.zero_point);
    expect_unary(BuiltinOp::HardSwish, qx, qy, [&](std::int8_t x) { return tflite_ref::HardSwish(x, hp); });
  }
}

// x -> MEAN over `axes` (as written in the file: negative, repeated) -> y of the kept axes
// (keep_dims: reduced axes as 1).
std::string mean_model(const Dims& shape, const Q& qx, const Q& qy, bool keep_dims, const std::vector<int>& axes,
                       const Dims& declared_out = {}) {
  TfliteBuilder b;
  const Quant ux = qx.quant(), uy = qy.quant();
  const int x = b.tensor("x", fb::TensorType::INT8, shape, {}, &ux);
  b.extra_input(x);
  const int axis = b.int32_constant("axes", {std::int32_t(axes.size())}, {axes.begin(), axes.end()});
  Dims out;
  for (int d = 0; d < int(shape.size()); ++d) {
    const bool reduced =
        std::any_of(axes.begin(), axes.end(), [&](int a) { return (a + int(shape.size())) % int(shape.size()) == d; });
    if (!reduced)
      out.push_back(shape[std::size_t(d)]);
    else if (keep_dims)
      out.push_back(1);
  }
  const int y = b.tensor("y", fb::TensorType::INT8, declared_out.empty() ? out : declared_out, {}, &uy);
  b.op(BuiltinOp::Mean, {x, axis}, {y}, fb::BuiltinOptions::ReducerOptions,
       fb::CreateReducerOptions(b.fbb(), keep_dims).Union());
  b.output(y);
  return b.finish();
}

TEST(PrequantizedOps, MeanMatchesTflite) {
  Random r(15);
  int saturated = 0, other_than_hw = 0;
  for (int k = 0; k < 300; ++k) {
    const int rank = r.uniform(2, 4);
    Dims shape;
    for (int d = 0; d < rank; ++d) shape.push_back(r.uniform(1, d == 0 ? 2 : 9));
    // One contiguous run of axes, written in any order, negative or repeated.
    const int first = r.uniform(0, rank - 1), last = r.uniform(first, rank - 1);
    std::vector<int> axes, resolved;
    for (int a = last; a >= first; --a) {
      resolved.push_back(a);
      axes.push_back(r.uniform(0, 1) ? a - rank : a);
    }
    if (k % 5 == 0) axes.push_back(axes.front());
    other_than_hw += !(rank == 4 && first == 1 && last == 2);
    const Q qx = r.quant();
    // Output scales from a quarter of the input's (sums saturate, shift > 0) to 4 times it.
    const Q qy{k % 4 == 0 ? qx.scale : qx.scale * r.log_uniform(0.25f, 4.0f), r.uniform(-128, 127)};
    std::size_t count = 1;
    for (int d : shape) count *= std::size_t(d);
    std::vector<std::int8_t> x(count);
    // A third of the cases all extreme bytes, so that sums reach their bounds.
    for (auto& v : x) v = std::int8_t(k % 3 == 0 ? (r.uniform(0, 1) ? 127 : -128) : r.uniform(-128, 127));
    const bool keep_dims = k % 3 != 1 || (first == 0 && last == rank - 1);  // no scalar outputs
    const auto got = run(import(mean_model(shape, qx, qy, keep_dims, axes)),
                         {int8_tensor(tinyq::Shape(shape.begin(), shape.end()), x)});
    const auto want =
        tflite_ref::Mean(x, {shape.begin(), shape.end()}, resolved, qx.scale, qx.zero_point, qy.scale, qy.zero_point);
    ASSERT_EQ(got, want) << "case " << k;
    for (auto v : want) saturated += v == 127 || v == -128;
  }
  EXPECT_GT(saturated, 0);
  EXPECT_GT(other_than_hw, 100);
}

TEST(PrequantizedOps, TransposeConvMatchesTflite) {
  Random r(16);
  std::size_t unsaturated = 0, total = 0;
  for (int k = 0; k < 120; ++k) {
    const int n = r.uniform(1, 2), h = r.uniform(1, 5), w = r.uniform(1, 5), ci = r.uniform(1, 4);
    const int co = r.uniform(1, 4), kh = r.uniform(1, 4), kw = r.uniform(1, 4);
    const int sh = r.uniform(1, 3), sw = r.uniform(1, 3);
    const bool same = k % 2 == 0;
    const int oh = same ? h * sh : (h - 1) * sh + kh, ow = same ? w * sw : (w - 1) * sw + kw;
    const Q qx = r.quant(0.01f, 0.1f);
    const bool per_channel = k % 3 != 0;
    Quant qw{{}, {}, 0};
    std::vector<std::int32_t> multipliers;
    std::vector<int> shifts;
    const Q qy{qx.scale * r.log_uniform(0.3f, 3.0f) * std::sqrt(float(kh * kw * ci)), r.uniform(-128, 127)};
    for (int c = 0; c < (per_channel ? co : 1); ++c) {
      qw.scale.push_back(r.log_uniform(0.002f, 0.05f));
      qw.zero_point.push_back(0);
      std::int32_t m = 0;
      int s = 0;
      tflite_ref::QuantizeMultiplier(double(qx.scale) * double(qw.scale.back()) / double(qy.scale), &m, &s);
      multipliers.push_back(m);
      shifts.push_back(s);
    }
    std::vector<std::int8_t> weights(std::size_t(co * kh * kw * ci)), x(std::size_t(n * h * w * ci));
    for (auto& v : weights) v = std::int8_t(r.uniform(-127, 127));
    for (auto& v : x) v = std::int8_t(r.uniform(-128, 127));
    std::vector<std::int32_t> bias(static_cast<std::size_t>(co));
    for (auto& v : bias) v = r.uniform(-3000, 3000);
    const auto act = random_activation(r);

    TfliteBuilder b;
    const Quant ux = qx.quant(), uy = qy.quant(),
                ub{std::vector<float>(qw.scale.size(), 1.0f), std::vector<std::int64_t>(qw.scale.size(), 0), 0};
    const int shape = b.int32_constant("output_shape", {4}, {n, oh, ow, co});
    const int wt = b.int8_constant("weights", {co, kh, kw, ci}, weights, qw);
    const int xt = b.tensor("x", fb::TensorType::INT8, {n, h, w, ci}, {}, &ux);
    b.extra_input(xt);
    const int bt = b.int32_constant("bias", {co}, bias, &ub);
    const int yt = b.tensor("y", fb::TensorType::INT8, {n, oh, ow, co}, {}, &uy);
    b.op(BuiltinOp::TransposeConv, {shape, wt, xt, bt}, {yt}, fb::BuiltinOptions::TransposeConvOptions,
         fb::CreateTransposeConvOptions(b.fbb(), same ? fb::Padding::SAME : fb::Padding::VALID, sw, sh, act).Union());
    b.output(yt);
    const auto got = run(import(b.finish()), {int8_tensor({n, h, w, ci}, x)});
    const auto [lo, hi] = clamp_of(act, qy);
    const auto want = tflite_ref::TransposeConv(
        x, n, h, w, ci, weights, co, kh, kw, bias, oh, ow, sh, sw, tflite_ref::TransposeConvPadding(same, sh, oh, kh),
        tflite_ref::TransposeConvPadding(same, sw, ow, kw), -qx.zero_point, qy.zero_point, multipliers, shifts, lo, hi);
    ASSERT_EQ(got, want) << "case " << k;
    for (auto v : want) unsaturated += v != lo && v != hi;
    total += want.size();
  }
  EXPECT_GT(unsaturated, total / 2);  // the comparison is about real values, not clamps
}

void expect_refused(const std::string& bytes, const std::string& op_name, const std::string& why) {
  try {
    import(bytes);
    FAIL() << "imported: " << why;
  } catch (const tinyq::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(op_name), std::string::npos) << what;
    EXPECT_NE(what.find(why), std::string::npos) << what;
  }
}

TEST(PrequantizedOps, WhatTfliteMicroWouldNotComputeIsRefusedByName) {
  const Q q{0.05f, 3};
  expect_refused(mean_model({1, 4, 4, 3}, q, q, true, {1, 3}), "MEAN", "not contiguous");
  expect_refused(mean_model({2, 3}, q, q, false, {0, 1}), "'y'", "scalar outputs are not supported");
  expect_refused(unary_model(BuiltinOp::Logistic, q, {1.0f / 128, 0}), "LOGISTIC", "scale 0.00390625");
  expect_refused(unary_model(BuiltinOp::Relu6, q, {0.1f, 3}), "RELU6", "zero point 3");
  // An operator the pre-quantized path does not map: one error naming it.
  {
    TfliteBuilder b;
    const Quant u = q.quant();
    const int x = b.tensor("x", fb::TensorType::INT8, {1, 8}, {}, &u),
              y = b.tensor("y", fb::TensorType::INT8, {1, 8}, {}, &u);
    b.extra_input(x);
    b.op(BuiltinOp::Div, {x, x}, {y}, fb::BuiltinOptions::DivOptions,
         fb::CreateDivOptions(b.fbb(), fb::ActivationFunctionType::NONE).Union());
    b.output(y);
    expect_refused(b.finish(), "operator 0 (DIV)", "is not supported in a pre-quantized int8 model");
  }
  // A multiplier of 2^16 on MUL: TFLite's int32 product would overflow.
  expect_refused(binary_model(BuiltinOp::Mul, {1.0f, 0}, {1.0f, 0}, {1e-5f, 0}, fb::ActivationFunctionType::NONE),
                 "MUL", "overflows");
}

// What a .tqm may say about the new modes is checked when it loads: a MUL shift TFLite's
// int32 product would overflow at, a subtraction with tinyq's rounding (whose native paths
// add), a MEAN window that is not the whole image or has a negative multiplier.
TEST(PrequantizedOps, TheNewModesAreValidatedLikeAnyQuantizedModel) {
  const Q q{0.05f, 3};
  const auto none = fb::ActivationFunctionType::NONE;
  auto refused = [](tinyq::QGraph g, const char* what, const std::function<void(tinyq::QNode&)>& mutate) {
    tinyq::validate_qgraph(g, "test");  // as imported: valid
    mutate(g.nodes.at(0));
    EXPECT_THROW(tinyq::validate_qgraph(g, "test"), tinyq::Error) << what;
  };
  const tinyq::QGraph mul = import(binary_model(BuiltinOp::Mul, q, q, {0.01f, 0}, none));
  refused(mul, "MUL shift 16", [](tinyq::QNode& n) { n.ints["output_shift"] = 16; });
  refused(mul, "MUL rounding 2", [](tinyq::QNode& n) { n.ints["rounding"] = 2; });
  const tinyq::QGraph sub = import(binary_model(BuiltinOp::Sub, q, q, {0.1f, 0}, none));
  EXPECT_EQ(sub.nodes.at(0).get("subtract"), 1);
  refused(sub, "subtract with tinyq's rounding", [](tinyq::QNode& n) { n.ints["rounding"] = 0; });
  refused(sub, "subtract 2", [](tinyq::QNode& n) { n.ints["subtract"] = 2; });
  const tinyq::QGraph mean = import(mean_model({1, 4, 5, 3}, q, {0.02f, -7}, true, {1, 2}));
  refused(mean, "MEAN window", [](tinyq::QNode& n) { n.ints["kernel_h"] = 3; });
  refused(mean, "MEAN multiplier", [](tinyq::QNode& n) { n.i32["count_multiplier"][0] = -5; });
  refused(mean, "MEAN multipliers", [](tinyq::QNode& n) { n.i32["count_multiplier"].push_back(1); });
  refused(mean, "MEAN offset", [](tinyq::QNode& n) { n.ints["input_offset"] = 0; });
}

// The chain of every new operator through a .tqm and back (as `tinyq quantize` then `tinyq
// run`): the loaded model passes the loader's checks and computes the same bytes.
TEST(PrequantizedOps, TheChainModelSurvivesATqmRoundTrip) {
  const tinyq::QGraph q = import(chain_model());
  const std::vector<std::uint8_t> bytes = tinyq::serialize_tqm(q);
  const tinyq::QGraph loaded = tinyq::deserialize_tqm(bytes.data(), bytes.size(), "memory");
  std::mt19937 rng(18);
  std::vector<std::int8_t> x(6 * 6 * 4);
  for (auto& v : x) v = std::int8_t(std::uniform_int_distribution<int>(-128, 127)(rng));
  const auto want = tinyq::Int8Executor(q).run_int8({int8_tensor({1, 6, 6, 4}, x)});
  const auto got = tinyq::Int8Executor(loaded).run_int8({int8_tensor({1, 6, 6, 4}, x)});
  ASSERT_EQ(got.size(), 3u);
  for (std::size_t o = 0; o < got.size(); ++o) {
    const auto a = want[o].data<std::int8_t>(), b = got[o].data<std::int8_t>();
    EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end())) << "output " << o;
  }
}

// Mutated copies of the chain model (random bytes overwritten: indices, shapes, options,
// scales, operator codes) import or fail with tinyq::Error, and what imports runs: no crash,
// no other exception. The CI fuzzer covers the float path; this covers the pre-quantized one.
TEST(PrequantizedOps, MutatedFilesImportOrFailCleanly) {
  const std::string base = chain_model();
  std::mt19937 rng(17);
  int imported = 0, refused = 0;
  for (int k = 0; k < 4000; ++k) {
    std::string bytes = base;
    for (int f = std::uniform_int_distribution<int>(1, 4)(rng); f > 0; --f)
      bytes[std::uniform_int_distribution<std::size_t>(0, bytes.size() - 1)(rng)] =
          char(std::uniform_int_distribution<int>(0, 255)(rng));
    try {
      const auto model = tinyq::tflite::read_tflite_bytes(bytes.data(), bytes.size(), "m.tflite");
      if (!tinyq::is_prequantized_tflite(model)) continue;
      const tinyq::QGraph q =
          tinyq::import_prequantized_tflite(model, tinyq::import_tflite_bytes(bytes.data(), bytes.size(), "m.tflite"));
      std::int64_t elements = 0;
      for (const auto& v : q.values) elements += tinyq::element_count(v.shape);
      if (elements > 200000) continue;  // a mutated shape: running it would only take time
      std::vector<tinyq::Tensor> inputs;
      for (int i : q.inputs) inputs.emplace_back(tinyq::DType::i8, q.values[std::size_t(i)].source_shape());
      tinyq::Int8Executor(q, {.threads = 1}).run_int8(inputs);
      ++imported;
    } catch (const tinyq::Error&) {
      ++refused;
    }
  }
  EXPECT_GT(imported, 50);  // scales, zero points and options mutated and still computed
  EXPECT_GT(refused, 1000);
}

}  // namespace
