// Hostile and unsupported .tflite files: one tinyq::Error naming the file and the tensor or
// operator at fault, never a crash; through the CLI, exit 2 with exactly one line.
#include "cli_fixture.hpp"
#include "test_tflite_reference.hpp"

namespace {

using namespace tinyq_tflite_test;
using tinyq::tflite::BuiltinOp;

// A valid model: x [1, 4] -> FULLY_CONNECTED (w [2, 4], b [2]) -> y [1, 2].
std::string small_model() {
  TfliteBuilder b;
  int t_x = b.input("x", {1, 4}), t_y = b.activation("y", {1, 2});
  b.op(BuiltinOp::FullyConnected,
       {t_x, b.constant("w", {2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}), b.constant("b", {2}, {0.5f, -0.5f})}, {t_y});
  b.output(t_y);
  return b.finish();
}

// The import fails with one line holding every fragment.
void expect_refused(const std::string& bytes, const std::vector<std::string>& fragments) {
  try {
    import(bytes);
    ADD_FAILURE() << "imported";
  } catch (const tinyq::Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_EQ(message.rfind("test.tflite: ", 0), 0u) << message;
    for (const auto& f : fragments) EXPECT_NE(message.find(f), std::string::npos) << "'" << f << "' in: " << message;
  }
}

// --- through the CLI: exit 2, one line naming the file ---

using TfliteCli = tinyq::testing::Cli;

TEST_F(TfliteCli, TruncatedFile) {
  const std::string bytes = small_model();
  expect_bad_input(run("inspect " + write("cut.tflite", bytes.substr(0, bytes.size() / 2)).string()), "cut.tflite");
}

TEST_F(TfliteCli, GarbageAfterTheIdentifier) {
  std::string junk = std::string("\x1c\x00\x00\x00TFL3", 8);
  for (int i = 0; i < 4096; ++i) junk += char((unsigned(i) * 2654435761u) >> 13);
  const auto r = run("inspect " + write("junk.tflite", junk).string());
  expect_bad_input(r, "junk.tflite");
}

TEST_F(TfliteCli, TensorIndexOutOfRange) {
  TfliteBuilder b;
  int t_x = b.input("x", {1, 4}), t_y = b.activation("y", {1, 4});
  b.op(BuiltinOp::Relu, {99}, {t_y});
  b.output(t_y);
  (void)t_x;
  const auto r = run("inspect " + write("index.tflite", b.finish()).string());
  expect_bad_input(r, "index.tflite: operator 0 (RELU): input tensor index 99 is out of range (2 tensors)");
}

TEST_F(TfliteCli, UnsupportedOperatorIsNamed) {
  TfliteBuilder b;
  int t_x = b.input("x", {3, 4}), t_i = b.int32_constant("i", {2}, {0, 2}), t_y = b.activation("y", {2, 4});
  b.op(36, {t_x, t_i}, {t_y});  // GATHER
  b.output(t_y);
  const auto r = run("inspect " + write("gather.tflite", b.finish()).string());
  expect_bad_input(r, "gather.tflite: operator 0 (GATHER): operator GATHER is not supported; supported: ");
}

TEST_F(TfliteCli, ValidModelRunsThroughEveryCommandThatTakesOne) {
  const auto model = write("fc.tflite", small_model()).string();
  auto r = run("inspect " + model);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Dense"), std::string::npos) << r.out;
  const auto x = write_npy("x.npy", {3, 4}, 1.0f);
  r = run("run " + model + " -i " + x.string() + " -o " + (dir_ / "y.npy").string());
  EXPECT_EQ(r.code, 0) << r.err;
}

// --- the parse layer's checks ---

TEST(TfliteBadInput, TooShortAndWrongIdentifier) {
  expect_refused("TFL3", {"too short"});
  std::string other = small_model();
  other[4] = 'X';
  expect_refused(other, {"no \"TFL3\" file identifier"});
}

TEST(TfliteBadInput, EveryTruncationIsRefused) {
  const std::string bytes = small_model();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    SCOPED_TRACE(n);
    EXPECT_THROW(import(bytes.substr(0, n)), tinyq::Error);
  }
}

// Flipping any byte of a valid file imports or fails with tinyq::Error; nothing else escapes.
TEST(TfliteBadInput, SingleByteCorruptionsNeverCrash) {
  const std::string bytes = small_model();
  int refused = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i)
    for (unsigned char value : {0x00, 0x7f, 0x80, 0xff}) {
      std::string bad = bytes;
      bad[i] = char(bad[i] ^ char(value));
      try {
        import(bad);
      } catch (const tinyq::Error&) {
        ++refused;
      }
    }
  EXPECT_GT(refused, 0);
}

TEST(TfliteBadInput, WrongSchemaVersion) {
  TfliteBuilder b;
  b.version = 2;
  int t_x = b.input("x", {1}), t_y = b.activation("y", {1});
  b.op(BuiltinOp::Relu, {t_x}, {t_y});
  b.output(t_y);
  expect_refused(b.finish(), {"schema version 2"});
}

TEST(TfliteBadInput, BufferIndexOutOfRange) {
  TfliteBuilder b;
  int t_x = b.input("x", {1, 4}), t_w = b.tensor_in_buffer("w", {2, 4}, 7), t_y = b.activation("y", {1, 2});
  b.op(BuiltinOp::FullyConnected, {t_x, t_w, -1}, {t_y});
  b.output(t_y);
  expect_refused(b.finish(), {"tensor 1 'w'", "buffer index 7 is out of range"});
}

TEST(TfliteBadInput, BufferSizeDoesNotMatchTheShape) {
  TfliteBuilder b;
  int t_x = b.input("x", {1, 4}), t_y = b.activation("y", {1, 2});
  int t_w = b.tensor("w", fb::TensorType::FLOAT32, {2, 4}, bytes_of(std::vector<float>(7, 1.0f)));
  b.op(BuiltinOp::FullyConnected, {t_x, t_w, -1}, {t_y});
  b.output(t_y);
  expect_refused(b.finish(), {"tensor 2 'w'", "buffer holds 28 bytes, shape [2,4] of FLOAT32 needs 32"});
}

TEST(TfliteBadInput, OpcodeIndexOutOfRange) {
  TfliteBuilder b;
  int t_x = b.input("x", {1}), t_y = b.activation("y", {1});
  b.raw_op(5, {t_x}, {t_y});
  b.output(t_y);
  expect_refused(b.finish(), {"operator 0", "opcode index 5 is out of range (0 operator codes)"});
}

TEST(TfliteBadInput, QuantizationScalesDoNotMatchTheChannels) {
  TfliteBuilder b;
  const Quant q{{0.1f, 0.2f}, {0, 0}, 0};
  int t_x = b.input("x", {1, 4}), t_y = b.activation("y", {1, 3});
  int t_w = b.int8_constant("w", {3, 4}, std::vector<std::int8_t>(12, 1), q);
  b.op(BuiltinOp::FullyConnected, {t_x, t_w, -1}, {t_y});
  b.output(t_y);
  expect_refused(b.finish(), {"tensor 2 'w'", "2 quantization scales for dimension 0 of size 3"});
}

TEST(TfliteBadInput, ZeroStrideIsRefused) {
  TfliteBuilder b;
  int t_x = b.input("x", {1, 4, 4, 1}), t_y = b.activation("y", {1, 4, 4, 1});
  b.op(BuiltinOp::Conv2D, {t_x, b.constant("w", {1, 1, 1, 1}, {1.0f}), -1}, {t_y}, fb::BuiltinOptions::Conv2DOptions,
       fb::CreateConv2DOptions(b.fbb(), fb::Padding::SAME, 0, 1).Union());
  b.output(t_y);
  expect_refused(b.finish(), {"operator 0 (CONV_2D)", "stride 0 outside [1, 4096]"});
}

TEST(TfliteBadInput, DeclaredShapeDisagreesWithTheOperator) {
  TfliteBuilder b;
  int t_x = b.input("x", {1, 5, 5, 1}), t_y = b.activation("y", {1, 2, 2, 1});  // SAME stride 2 gives 3x3
  b.op(BuiltinOp::MaxPool2D, {t_x}, {t_y}, fb::BuiltinOptions::Pool2DOptions,
       fb::CreatePool2DOptions(b.fbb(), fb::Padding::SAME, 2, 2, 2, 2).Union());
  b.output(t_y);
  expect_refused(b.finish(),
                 {"operator 0 (MAX_POOL_2D)", "would have shape [1,3,3,1], but the file declares [1,2,2,1]"});
}

TEST(TfliteBadInput, OptionsOfAnotherOperator) {
  TfliteBuilder b;
  int t_x = b.input("x", {1, 4, 4, 1}), t_y = b.activation("y", {1, 4, 4, 1});
  b.op(BuiltinOp::Conv2D, {t_x, b.constant("w", {1, 1, 1, 1}, {1.0f}), -1}, {t_y}, fb::BuiltinOptions::Pool2DOptions,
       fb::CreatePool2DOptions(b.fbb(), fb::Padding::SAME, 1, 1, 1, 1).Union());
  b.output(t_y);
  expect_refused(b.finish(), {"operator 0 (CONV_2D)", "option table 5 which does not belong to CONV_2D"});
}

TEST(TfliteBadInput, CustomOperatorIsNamed) {
  TfliteBuilder b;
  int t_x = b.input("x", {1, 4}), t_y = b.activation("y", {1, 4});
  b.custom_op("TFLite_Detection_PostProcess", {t_x}, {t_y});
  b.output(t_y);
  expect_refused(b.finish(), {"operator 0 (CUSTOM)", "custom operator 'TFLite_Detection_PostProcess'"});
}

TEST(TfliteBadInput, UndefinedInputAndUncomputedOutput) {
  TfliteBuilder b;
  int t_x = b.input("x", {1, 4}), t_h = b.activation("h", {1, 4}), t_y = b.activation("y", {1, 4});
  b.op(BuiltinOp::Relu, {t_h}, {t_y});  // h is written by nobody
  b.output(t_y);
  (void)t_x;
  expect_refused(b.finish(), {"operator 0 (RELU)", "input tensor 1 'h' is not computed by an earlier operator"});
  TfliteBuilder c;
  int u_x = c.input("x", {1, 4}), u_y = c.activation("y", {1, 4});
  c.output(u_y);
  (void)u_x;
  expect_refused(c.finish(), {"output tensor 1 'y'", "is never computed"});
}

TEST(TfliteBadInput, DynamicDimensionOtherThanTheBatch) {
  TfliteBuilder b;
  int t_x = b.input("x", {1, 4}, {1, -1}), t_y = b.activation("y", {1, 4});
  b.op(BuiltinOp::Relu, {t_x}, {t_y});
  b.output(t_y);
  expect_refused(b.finish(), {"input tensor 0 'x'", "dimension 1 of [1,-1] is dynamic"});
}

// Empty activations: refused where they appear (the kernels would loop over the other
// dimensions for nothing; fuzz).
TEST(TfliteBadInput, EmptyTensorsAreRefused) {
  TfliteBuilder b;
  int t_x = b.input("x", {12, 1040, 131072, 0}), t_y = b.activation("y", {12, 1040, 131072, 0});
  b.op(BuiltinOp::Relu, {t_x}, {t_y});
  b.output(t_y);
  expect_refused(b.finish(), {"input tensor 0 'x'", "has no elements (shape [12,1040,131072,0])"});
  TfliteBuilder c;
  int u_x = c.input("x", {1, 4}), u_y = c.activation("y", {0, 4});
  c.op(BuiltinOp::StridedSlice,
       {u_x, c.int32_constant("begin", {2}, {0, 0}), c.int32_constant("end", {2}, {0, 4}),
        c.int32_constant("strides", {2}, {1, 1})},
       {u_y});
  c.output(u_y);
  expect_refused(c.finish(), {"operator 0 (STRIDED_SLICE)"});
}

TEST(TfliteBadInput, IntegerInputIsRefused) {
  TfliteBuilder b;
  int t_x = b.tensor("ids", fb::TensorType::INT32, {1, 4}, {});
  b.extra_input(t_x);
  int t_y = b.activation("y", {1, 4});
  b.op(BuiltinOp::Relu, {t_x}, {t_y});
  b.output(t_y);
  expect_refused(b.finish(), {"input tensor 0 'ids'", "has type INT32"});
}

TEST(TfliteBadInput, IntegerConstantWithoutQuantizationHasNoFloatValue) {
  TfliteBuilder b;
  int t_x = b.input("x", {1, 4}), t_y = b.activation("y", {1, 2});
  int t_w = b.tensor("w", fb::TensorType::INT8, {2, 4}, std::vector<std::uint8_t>(8, 1));
  b.op(BuiltinOp::FullyConnected, {t_x, t_w, -1}, {t_y});
  b.output(t_y);
  expect_refused(b.finish(), {"operator 0 (FULLY_CONNECTED)", "constant 'w' of type INT8 has no quantization"});
}

TEST(TfliteBadInput, NonFiniteWeights) {
  TfliteBuilder b;
  int t_x = b.input("x", {1, 2}), t_y = b.activation("y", {1, 1});
  b.op(BuiltinOp::FullyConnected, {t_x, b.constant("w", {1, 2}, {1.0f, NAN}), -1}, {t_y});
  b.output(t_y);
  expect_refused(b.finish(), {"constant 'w' contains nan at element 1"});
}

}  // namespace
