// Pre-quantized CONCATENATION and PAD: an int8 model built here runs on the int8 executor as
// the byte copies TFLite Micro makes (pad with the zero point, or PADV2's value; channels of
// each input side by side), and operands quantized differently are refused by name.
#include <gtest/gtest.h>

#include "exec/int8_executor.hpp"
#include "frontend/tflite/tflite_import.hpp"
#include "frontend/tflite/tflite_model.hpp"
#include "frontend/tflite/tflite_prequantized.hpp"
#include "test_tflite_builder.hpp"
#include "util/error.hpp"

namespace {

using namespace tinyq_tflite_test;
using tinyq::tflite::BuiltinOp;

const Quant kQ{{0.05f}, {-3}};

// x [1,3,3,2] -> PAD (H by 1/1, W by 1/0) -> p [1,5,4,2]; CONCATENATION(p, p2 = PADV2 of x
// with value 7) on channels -> y [1,5,4,4].
std::string pad_concat_model(const Quant& second_pad_quant) {
  TfliteBuilder b;
  const int x = b.tensor("x", fb::TensorType::INT8, {1, 3, 3, 2}, {}, &kQ);
  b.extra_input(x);
  const int pads = b.int32_constant("pads", {4, 2}, {0, 0, 1, 1, 1, 0, 0, 0});
  const int p = b.tensor("p", fb::TensorType::INT8, {1, 5, 4, 2}, {}, &kQ);
  b.op(BuiltinOp::Pad, {x, pads}, {p});
  const int value = b.int8_constant("value", {1}, {7}, second_pad_quant);
  const int p2 = b.tensor("p2", fb::TensorType::INT8, {1, 5, 4, 2}, {}, &second_pad_quant);
  b.op(BuiltinOp::PadV2, {x, pads, value}, {p2});
  const int y = b.tensor("y", fb::TensorType::INT8, {1, 5, 4, 4}, {}, &kQ);
  b.op(BuiltinOp::Concatenation, {p, p2}, {y}, fb::BuiltinOptions::ConcatenationOptions,
       fb::CreateConcatenationOptions(b.fbb(), 3, fb::ActivationFunctionType::NONE).Union());
  b.output(y);
  return b.finish();
}

tinyq::QGraph import(const std::string& bytes) {
  const auto model = tinyq::tflite::read_tflite_bytes(bytes.data(), bytes.size(), "m.tflite");
  return tinyq::import_prequantized_tflite(model, tinyq::import_tflite_bytes(bytes.data(), bytes.size(), "m.tflite"));
}

TEST(PrequantizedMovement, PadAndConcatCopyTheBytes) {
  const tinyq::QGraph q = import(pad_concat_model(kQ));
  tinyq::Tensor x(tinyq::DType::i8, {1, 3, 3, 2});
  auto xs = x.data<std::int8_t>();
  for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = std::int8_t(10 * int(i) - 80);
  const auto y = tinyq::Int8Executor(q).run_int8({x})[0];
  ASSERT_EQ(y.shape(), (tinyq::Shape{1, 5, 4, 4}));
  const auto ys = y.data<std::int8_t>();
  for (int h = 0; h < 5; ++h)
    for (int w = 0; w < 4; ++w)
      for (int c = 0; c < 4; ++c) {
        const bool inside = h >= 1 && h <= 3 && w >= 1;                    // pads: top 1, bottom 1, left 1, right 0
        const std::int8_t pad = c < 2 ? std::int8_t(-3) : std::int8_t(7);  // PAD: zero point; PADV2: its value
        const std::int8_t want = inside ? xs[std::size_t(((h - 1) * 3 + (w - 1)) * 2 + c % 2)] : pad;
        EXPECT_EQ(ys[std::size_t((h * 4 + w) * 4 + c)], want) << h << "," << w << "," << c;
      }
}

TEST(PrequantizedMovement, OperandsQuantizedDifferentlyAreRefusedByName) {
  const Quant other{{0.1f}, {0}};
  try {
    import(pad_concat_model(other));
    FAIL() << "a PADV2 whose output scale differs from its input imported";
  } catch (const tinyq::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("PADV2"), std::string::npos) << what;
    EXPECT_NE(what.find("quantized differently"), std::string::npos) << what;
  }
}

}  // namespace
