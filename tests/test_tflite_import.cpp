// TFLite import: small models built with the FlatBuffers builder, imported, run by the float
// executor and compared with plain loops written from the TFLite operator definitions.
#include "frontend/tflite/tflite_constants.hpp"
#include "test_tflite_reference.hpp"

namespace {

using namespace tinyq_tflite_test;
using tinyq::tflite::BuiltinOp;

// conv (SAME, ReLU) -> depthwise (SAME, stride 2, multiplier 2) -> average pool (VALID) ->
// reshape -> fully connected -> add (ReLU6) -> softmax (beta 0.5).
TEST(TfliteImport, SmallCnnMatchesReferenceLoops) {
  const Nhwc in{1, 6, 5, 2};
  const auto x = random_values(std::size_t(in.size()), 1);
  const auto conv_w = random_values(3 * 3 * 3 * 2, 2), conv_b = random_values(3, 3);
  const auto dw_w = random_values(3 * 3 * 6, 4), dw_b = random_values(6, 5);
  const auto fc_w = random_values(4 * 24, 6), fc_b = random_values(4, 7), add_c = random_values(4, 8, 0.0f, 3.0f);

  TfliteBuilder b;
  auto& f = b.fbb();
  int t_x = b.input("x", dims(in));
  int t_c = b.activation("conv", {1, 6, 5, 3});
  b.op(BuiltinOp::Conv2D, {t_x, b.constant("conv_w", {3, 3, 3, 2}, conv_w), b.constant("conv_b", {3}, conv_b)}, {t_c},
       fb::BuiltinOptions::Conv2DOptions,
       fb::CreateConv2DOptions(f, fb::Padding::SAME, 1, 1, fb::ActivationFunctionType::RELU).Union());
  int t_d = b.activation("dw", {1, 3, 3, 6});
  b.op(BuiltinOp::DepthwiseConv2D, {t_c, b.constant("dw_w", {1, 3, 3, 6}, dw_w), b.constant("dw_b", {6}, dw_b)}, {t_d},
       fb::BuiltinOptions::DepthwiseConv2DOptions,
       fb::CreateDepthwiseConv2DOptions(f, fb::Padding::SAME, 2, 2, 2).Union());
  int t_p = b.activation("pool", {1, 2, 2, 6});
  b.op(BuiltinOp::AveragePool2D, {t_d}, {t_p}, fb::BuiltinOptions::Pool2DOptions,
       fb::CreatePool2DOptions(f, fb::Padding::VALID, 1, 1, 2, 2).Union());
  int t_r = b.activation("flat", {1, 24});
  b.op(BuiltinOp::Reshape, {t_p, b.int32_constant("shape", {2}, {-1, 24})}, {t_r});
  int t_fc = b.activation("fc", {1, 4});
  b.op(BuiltinOp::FullyConnected, {t_r, b.constant("fc_w", {4, 24}, fc_w), b.constant("fc_b", {4}, fc_b)}, {t_fc},
       fb::BuiltinOptions::FullyConnectedOptions, fb::CreateFullyConnectedOptions(f).Union());
  int t_a = b.activation("add", {1, 4});
  b.op(BuiltinOp::Add, {t_fc, b.constant("add_c", {4}, add_c)}, {t_a}, fb::BuiltinOptions::AddOptions,
       fb::CreateAddOptions(f, fb::ActivationFunctionType::RELU6).Union());
  int t_s = b.activation("probs", {1, 4});
  b.op(BuiltinOp::Softmax, {t_a}, {t_s}, fb::BuiltinOptions::SoftmaxOptions, fb::CreateSoftmaxOptions(f, 0.5f).Union());
  b.output(t_s);
  const tinyq::Graph g = import(b.finish());

  // Reference, stage by stage.
  Nhwc s1, s2, s3;
  auto y = ref_conv(x, in, conv_w, 3, 3, 3, conv_b, {}, &s1);
  for (auto& v : y) v = std::max(v, 0.0f);
  y = ref_depthwise(y, s1, dw_w, 2, 3, 3, dw_b, {true, 2, 2, 1, 1}, &s2);
  y = ref_pool(y, s2, 2, 2, {false}, true, &s3);
  ASSERT_EQ(s3.size(), 24);
  y = ref_dense(y, fc_w, fc_b, 4);
  for (int i = 0; i < 4; ++i) y[std::size_t(i)] = std::clamp(y[std::size_t(i)] + add_c[std::size_t(i)], 0.0f, 6.0f);
  double sum = 0;
  for (auto v : y) sum += std::exp(0.5 * v);
  for (auto& v : y) v = float(std::exp(0.5 * v) / sum);

  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.value(g.inputs[0]).shape, (tinyq::Shape{1, 6, 5, 2}));
  EXPECT_EQ(g.value(g.inputs[0]).layout, tinyq::Layout::Plain);  // the file is NHWC already
  EXPECT_EQ(g.value(g.outputs[0]).name, "probs");
  expect_near(run(g, x, {1, 6, 5, 2}), y, 1e-5f);
}

// SAME padding puts half of the total before and the odd pixel after: every input size,
// kernel, stride and dilation combination below against the reference loops.
TEST(TfliteImport, ConvPaddingMatchesTfliteForEvenAndOddSizes) {
  unsigned seed = 10;
  for (bool same : {true, false})
    for (int size : {4, 5, 6, 7})
      for (int k : {1, 2, 3, 4})
        for (int stride : {1, 2, 3})
          for (int dilation : {1, 2}) {
            const Nhwc in{1, size, size + 1, 2};
            if (out_size(same, size, k, stride, dilation) < 1) continue;
            const auto x = random_values(std::size_t(in.size()), ++seed);
            const auto w = random_values(std::size_t(2 * k * k * 2), ++seed), bias = random_values(2, ++seed);
            const Window win{same, stride, stride, dilation, dilation};
            Nhwc out;
            const auto want = ref_conv(x, in, w, 2, k, k, bias, win, &out);
            TfliteBuilder b;
            int t_x = b.input("x", dims(in)), t_y = b.activation("y", dims(out));
            b.op(BuiltinOp::Conv2D, {t_x, b.constant("w", {2, k, k, 2}, w), b.constant("b", {2}, bias)}, {t_y},
                 fb::BuiltinOptions::Conv2DOptions,
                 fb::CreateConv2DOptions(b.fbb(), same ? fb::Padding::SAME : fb::Padding::VALID, stride, stride,
                                         fb::ActivationFunctionType::NONE, dilation, dilation)
                     .Union());
            b.output(t_y);
            SCOPED_TRACE(::testing::Message() << (same ? "SAME" : "VALID") << " size " << size << " kernel " << k
                                              << " stride " << stride << " dilation " << dilation);
            expect_near(run(import(b.finish()), x, {1, size, size + 1, 2}), want, 1e-5f);
          }
}

TEST(TfliteImport, PoolPaddingMatchesTfliteForEvenAndOddSizes) {
  unsigned seed = 500;
  for (bool average : {true, false})
    for (bool same : {true, false})
      for (int size : {4, 5, 6, 7})
        for (int k : {1, 2, 3})
          for (int stride : {1, 2, 3}) {
            const Nhwc in{1, size, size + 1, 3};
            const auto x = random_values(std::size_t(in.size()), ++seed);
            Nhwc out;
            const auto want = ref_pool(x, in, k, k, {same, stride, stride}, average, &out);
            TfliteBuilder b;
            int t_x = b.input("x", dims(in)), t_y = b.activation("y", dims(out));
            b.op(average ? BuiltinOp::AveragePool2D : BuiltinOp::MaxPool2D, {t_x}, {t_y},
                 fb::BuiltinOptions::Pool2DOptions,
                 fb::CreatePool2DOptions(b.fbb(), same ? fb::Padding::SAME : fb::Padding::VALID, stride, stride, k, k)
                     .Union());
            b.output(t_y);
            SCOPED_TRACE(::testing::Message() << (average ? "avg " : "max ") << (same ? "SAME" : "VALID") << " size "
                                              << size << " kernel " << k << " stride " << stride);
            expect_near(run(import(b.finish()), x, {1, size, size + 1, 3}), want, 1e-6f);
          }
}

// A window over the whole input is the IR's global pooling (what the int8 kernels expect).
TEST(TfliteImport, WholeInputAveragePoolIsGlobal) {
  TfliteBuilder b;
  int t_x = b.input("x", {1, 5, 3, 4}), t_y = b.activation("y", {1, 1, 1, 4});
  b.op(BuiltinOp::AveragePool2D, {t_x}, {t_y}, fb::BuiltinOptions::Pool2DOptions,
       fb::CreatePool2DOptions(b.fbb(), fb::Padding::VALID, 5, 3, 3, 5).Union());
  b.output(t_y);
  const tinyq::Graph g = import(b.finish());
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op, tinyq::Op::GlobalAvgPool);
}

// Quantized weights are dequantized per channel along quantized_dimension with their zero
// points, biases (int32) with their own scales: the float function of a hybrid model.
TEST(TfliteImport, DequantizesPerChannelWeightsAndBiases) {
  const Nhwc in{1, 4, 4, 2};
  const auto x = random_values(std::size_t(in.size()), 20);
  // conv: int8 [3, 2, 2, 2] per output channel (dimension 0), zero points 0.
  std::vector<std::int8_t> conv_q(3 * 2 * 2 * 2);
  for (std::size_t i = 0; i < conv_q.size(); ++i) conv_q[i] = std::int8_t(int(i * 37 % 255) - 127);
  const Quant conv_wq{{0.01f, 0.02f, 0.005f}, {0, 0, 0}, 0};
  const std::vector<std::int32_t> conv_bias_q{100, -250, 7};
  const Quant conv_bq{{0.001f, 0.002f, 0.004f}, {0, 0, 0}, 0};
  // depthwise: int8 [1, 2, 2, 3] per channel along dimension 3, nonzero zero points.
  std::vector<std::int8_t> dw_q(2 * 2 * 3);
  for (std::size_t i = 0; i < dw_q.size(); ++i) dw_q[i] = std::int8_t(int(i * 53 % 200) - 100);
  const Quant dw_wq{{0.03f, 0.01f, 0.02f}, {3, -2, 0}, 3};

  std::vector<float> conv_w(conv_q.size()), conv_b(3), dw_w(dw_q.size());
  for (std::size_t i = 0; i < conv_q.size(); ++i) conv_w[i] = conv_wq.scale[i / 8] * float(conv_q[i]);
  for (std::size_t o = 0; o < 3; ++o) conv_b[o] = conv_bq.scale[o] * float(conv_bias_q[o]);
  for (std::size_t i = 0; i < dw_q.size(); ++i)
    dw_w[i] = dw_wq.scale[i % 3] * float(dw_q[i] - std::int8_t(dw_wq.zero_point[i % 3]));
  const std::vector<float> dw_b{0.5f, -0.25f, 0.125f};

  TfliteBuilder b;
  int t_x = b.input("x", dims(in)), t_c = b.activation("conv", {1, 4, 4, 3}), t_d = b.activation("dw", {1, 4, 4, 3});
  b.op(BuiltinOp::Conv2D,
       {t_x, b.int8_constant("w", {3, 2, 2, 2}, conv_q, conv_wq), b.int32_constant("b", {3}, conv_bias_q, &conv_bq)},
       {t_c}, fb::BuiltinOptions::Conv2DOptions, fb::CreateConv2DOptions(b.fbb(), fb::Padding::SAME, 1, 1).Union());
  b.op(BuiltinOp::DepthwiseConv2D,
       {t_c, b.int8_constant("dw_w", {1, 2, 2, 3}, dw_q, dw_wq), b.constant("dw_b", {3}, dw_b)}, {t_d},
       fb::BuiltinOptions::DepthwiseConv2DOptions,
       fb::CreateDepthwiseConv2DOptions(b.fbb(), fb::Padding::SAME, 1, 1, 1).Union());
  b.output(t_d);

  Nhwc s1;
  auto want = ref_conv(x, in, conv_w, 3, 2, 2, conv_b, {}, &s1);
  want = ref_depthwise(want, s1, dw_w, 1, 2, 2, dw_b, {}, nullptr);
  expect_near(run(import(b.finish()), x, {1, 4, 4, 2}), want, 1e-5f);
}

// A fully int8 model (int8 input and output, int8 weights, int32 bias) imports as its float
// function: a float input holding the real values, QUANTIZE/DEQUANTIZE as identities.
TEST(TfliteImport, Int8ModelIsItsFloatFunction) {
  const Quant in_q{{0.05f}, {-3}, 0}, out_q{{0.1f}, {5}, 0}, w_q{{0.02f}, {0}, 0}, b_q{{0.001f}, {0}, 0};
  const std::vector<std::int8_t> w{10, -20, 30, -40, 50, -60, 70, -80, 90, -100, 110, -120};  // [3, 4]
  const std::vector<std::int32_t> bias{1000, -2000, 500};
  TfliteBuilder b;
  int t_x = b.tensor("x_int8", fb::TensorType::INT8, {1, 4}, {}, &in_q);
  b.extra_input(t_x);
  int t_fc = b.tensor("fc_int8", fb::TensorType::INT8, {1, 3}, {}, &out_q);
  int t_y = b.activation("y", {1, 3});
  b.op(BuiltinOp::FullyConnected, {t_x, b.int8_constant("w", {3, 4}, w, w_q), b.int32_constant("b", {3}, bias, &b_q)},
       {t_fc}, fb::BuiltinOptions::FullyConnectedOptions,
       fb::CreateFullyConnectedOptions(b.fbb(), fb::ActivationFunctionType::RELU).Union());
  b.op(BuiltinOp::Dequantize, {t_fc}, {t_y});
  b.output(t_y);
  const tinyq::Graph g = import(b.finish());
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.value(g.inputs[0]).dtype, tinyq::DType::f32);
  EXPECT_EQ(g.value(g.outputs[0]).name, "y");  // the graph output keeps the file's output name
  const std::vector<float> x{0.5f, -1.0f, 2.0f, 0.25f};
  std::vector<float> wf(w.size()), bf(3);
  for (std::size_t i = 0; i < w.size(); ++i) wf[i] = 0.02f * float(w[i]);
  for (std::size_t i = 0; i < 3; ++i) bf[i] = 0.001f * float(bias[i]);
  auto want = ref_dense(x, wf, bf, 3);
  for (auto& v : want) v = std::max(v, 0.0f);
  expect_near(run(g, x, {1, 4}), want, 1e-6f);
}

// Operator codes: old files hold them only in the one-byte field; the table may list codes
// no operator uses (MLPerf Tiny's VWW and IC list QUANTIZE and DEQUANTIZE).
TEST(TfliteImport, OperatorCodesFromEitherFieldAndUnusedCodes) {
  for (bool deprecated_only : {false, true}) {
    TfliteBuilder b;
    b.deprecated_only = deprecated_only;
    b.opcode(std::int32_t(BuiltinOp::Quantize));
    b.opcode(std::int32_t(BuiltinOp::Dequantize));
    int t_x = b.input("x", {1, 3}), t_y = b.activation("y", {1, 3});
    b.op(BuiltinOp::Relu, {t_x}, {t_y});
    b.output(t_y);
    const tinyq::Graph g = import(b.finish());
    ASSERT_EQ(g.nodes.size(), 1u);
    EXPECT_EQ(g.nodes[0].op, tinyq::Op::Relu);
    expect_near(run(g, {-1.0f, 0.5f, 2.0f}, {1, 3}), {0.0f, 0.5f, 2.0f}, 0.0f);
  }
}

// A code beyond the one-byte field (127 there, the real code in builtin_code): the larger
// of the two is the operator.
TEST(TfliteImport, LargeBuiltinCodeIsReadFromTheFourByteField) {
  TfliteBuilder b;
  int t_x = b.input("x", {1, 3}), t_y = b.activation("y", {1, 3});
  b.op(150, {t_x}, {t_y});  // GELU: its code does not fit the deprecated byte
  b.output(t_y);
  const std::string bytes = b.finish();
  const auto model = tinyq::tflite::read_tflite_bytes(bytes.data(), bytes.size(), "m.tflite");
  EXPECT_EQ(model.operators.at(0).builtin_code, 150);
  try {
    import(bytes);
    FAIL() << "GELU imported";
  } catch (const tinyq::Error& e) {
    EXPECT_NE(std::string(e.what()).find("operator 0 (GELU)"), std::string::npos) << e.what();
  }
}

// A dynamic batch (-1 in shape_signature, as in MLPerf Tiny's SWW) runs one sample at a time.
TEST(TfliteImport, DynamicBatchRunsAnyNumberOfSamples) {
  TfliteBuilder b;
  int t_x = b.input("x", {1, 2}, {-1, 2}), t_y = b.activation("y", {1, 3}, {-1, 3});
  const std::vector<float> w{1, 2, 3, 4, 5, 6}, bias{0.5f, 0, -0.5f};
  b.op(BuiltinOp::FullyConnected, {t_x, b.constant("w", {3, 2}, w), b.constant("b", {3}, bias)}, {t_y});
  b.output(t_y);
  const tinyq::Graph g = import(b.finish());
  EXPECT_EQ(g.value(g.inputs[0]).shape, (tinyq::Shape{1, 2}));
  const std::vector<float> x{1, 0, 0, 1, 2, -1};
  expect_near(run(g, x, {3, 2}), ref_dense(x, w, bias, 3), 1e-6f);
}

// Omitted optional inputs (-1): a conv without bias.
TEST(TfliteImport, OmittedBiasIsZero) {
  const Nhwc in{1, 3, 3, 1};
  const auto x = random_values(9, 30), w = random_values(4, 31);
  TfliteBuilder b;
  int t_x = b.input("x", dims(in)), t_y = b.activation("y", {1, 2, 2, 1});
  b.op(BuiltinOp::Conv2D, {t_x, b.constant("w", {1, 2, 2, 1}, w), -1}, {t_y}, fb::BuiltinOptions::Conv2DOptions,
       fb::CreateConv2DOptions(b.fbb(), fb::Padding::VALID, 1, 1).Union());
  b.output(t_y);
  expect_near(run(import(b.finish()), x, {1, 3, 3, 1}), ref_conv(x, in, w, 1, 2, 2, {}, {false}, nullptr), 1e-6f);
}

// Float16 models store weights as FLOAT16 constants behind a DEQUANTIZE: the weights are the
// widened values, and the operator reading them sees a constant.
TEST(TfliteImport, Float16WeightsBehindDequantize) {
  // 0.5, -1.25, 2, 0, 1, -0.75, 0.25, 3 as IEEE half bit patterns.
  const std::vector<std::uint16_t> half{0x3800, 0xBD00, 0x4000, 0x0000, 0x3C00, 0xBA00, 0x3400, 0x4200};
  const std::vector<float> w{0.5f, -1.25f, 2.0f, 0.0f, 1.0f, -0.75f, 0.25f, 3.0f};
  TfliteBuilder b;
  int t_x = b.input("x", {1, 4}), t_w16 = b.tensor("w16", fb::TensorType::FLOAT16, {2, 4}, bytes_of(half));
  int t_w = b.activation("w", {2, 4}), t_y = b.activation("y", {1, 2});
  b.op(BuiltinOp::Dequantize, {t_w16}, {t_w});
  b.op(BuiltinOp::FullyConnected, {t_x, t_w, -1}, {t_y});
  b.output(t_y);
  const tinyq::Graph g = import(b.finish());
  ASSERT_EQ(g.nodes.size(), 1u);  // the DEQUANTIZE of a constant is no node
  const std::vector<float> x{1.0f, 2.0f, -1.0f, 0.5f};
  expect_near(run(g, x, {1, 4}), ref_dense(x, w, {0.0f, 0.0f}, 2), 1e-6f);
}

TEST(TfliteImport, HalfToFloatCoversEveryClass) {
  using tinyq::tflite::half_to_float;
  EXPECT_EQ(half_to_float(0x0000), 0.0f);
  EXPECT_TRUE(std::signbit(half_to_float(0x8000)));
  EXPECT_EQ(half_to_float(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(half_to_float(0x03ff), std::ldexp(1023.0f, -24));
  EXPECT_EQ(half_to_float(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_EQ(half_to_float(0x7bff), 65504.0f);
  EXPECT_EQ(half_to_float(0x7c00), INFINITY);
  EXPECT_EQ(half_to_float(0xfc00), -INFINITY);
  EXPECT_TRUE(std::isnan(half_to_float(0x7e00)));
  EXPECT_EQ(half_to_float(0xc500), -5.0f);
}

}  // namespace
