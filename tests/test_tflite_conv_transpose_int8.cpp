// A float TFLite TRANSPOSE_CONV (SAME and VALID, strides 1-3) imports as the IR's
// ConvTranspose, so tinyq's own quantization runs it on conv_transpose2d_s8 and stays close
// to float.
#include <cmath>

#include "exec/int8_executor.hpp"
#include "quant/quantizer.hpp"
#include "test_tflite_reference.hpp"

namespace {

using namespace tinyq_tflite_test;
using tinyq::tflite::BuiltinOp;

TEST(TfliteConvTransposeInt8, OwnQuantizationRunsTheInt8KernelAndTracksFloat) {
  struct Case {
    bool same;
    int k, stride, out_h, out_w;
  };
  const Nhwc in{1, 5, 6, 4};
  for (const Case& c : {Case{true, 3, 2, 10, 12}, Case{false, 4, 3, 16, 19}, Case{true, 2, 1, 5, 6}}) {
    SCOPED_TRACE(::testing::Message() << (c.same ? "SAME" : "VALID") << " k " << c.k << " stride " << c.stride);
    TfliteBuilder b;
    int t_x = b.input("x", dims(in)), t_y = b.activation("y", {1, c.out_h, c.out_w, 3});
    b.op(BuiltinOp::TransposeConv,
         {b.int32_constant("shape", {4}, {1, c.out_h, c.out_w, 3}),
          b.constant("w", {3, c.k, c.k, 4}, random_values(std::size_t(3 * c.k * c.k * 4), 60)), t_x,
          b.constant("b", {3}, random_values(3, 61, -0.2f, 0.2f))},
         {t_y}, fb::BuiltinOptions::TransposeConvOptions,
         fb::CreateTransposeConvOptions(b.fbb(), c.same ? fb::Padding::SAME : fb::Padding::VALID, c.stride, c.stride)
             .Union());
    b.output(t_y);
    const tinyq::Graph g = import(b.finish());
    const tinyq::Tensor calib = tinyq::Tensor::from_floats({64, 5, 6, 4}, random_values(64 * 120, 62));
    tinyq::QuantizeOptions options;
    options.threads = 1;
    const tinyq::QGraph q = tinyq::quantize(g, calib, options);
    ASSERT_EQ(q.nodes.size(), 1u);
    EXPECT_EQ(q.nodes[0].kernel, tinyq::QKernel::ConvTranspose);
    const tinyq::Tensor test = tinyq::Tensor::from_floats({16, 5, 6, 4}, random_values(16 * 120, 63));
    const tinyq::Tensor want = tinyq::FloatExecutor(g).run({test})[0];
    const tinyq::Tensor got = tinyq::Int8Executor(q).run({test})[0];
    double signal = 0, noise = 0;
    for (std::int64_t i = 0; i < got.numel(); ++i) {
      const double e = want.f32()[std::size_t(i)], d = got.f32()[std::size_t(i)] - e;
      signal += e * e;
      noise += d * d;
    }
    EXPECT_GT(10 * std::log10(signal / std::max(noise, 1e-30)), 30.0);
  }
}

}  // namespace
