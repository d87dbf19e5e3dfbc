// Models of several inputs (a sensor-fusion head: two feature branches added together)
// through quantize, eval, generate and verify: one --calib / --data per input in the model's
// input order, each input calibrated on its own data, one C buffer per input.
#include <nlohmann/json.hpp>

#include "cli_fixture.hpp"
#include "data/npy.hpp"
#include "onnx_builder.hpp"
#include "small_cnn.hpp"

namespace tinyq::testing {
namespace {

class CliMultiInput : public Cli {
 protected:
  // y = W_a a + W_b b, with `a` in [0, 1] and `b` in [0, 100]: one shared input range would
  // leave `a` a couple of int8 steps.
  fs::path two_input_model() {
    OnnxBuilder b;
    b.input("a", {1, 6}).input("b", {1, 3}).output("y");
    b.initializer("wa", {6, 4}, random_values(24, 1, -1.0f, 1.0f));
    b.initializer("wb", {3, 4}, random_values(12, 2, -0.01f, 0.01f));
    b.node("MatMul", {"a", "wa"}, {"ya"}, "branch_a");
    b.node("MatMul", {"b", "wb"}, {"yb"}, "branch_b");
    b.node("Add", {"ya", "yb"}, {"y"}, "sum");
    return write("two_inputs.onnx", b.bytes());
  }
  fs::path npy(const std::string& name, std::int64_t rows, std::int64_t cols, unsigned seed, float hi) {
    return write_npy_values(name, {rows, cols}, random_values(std::size_t(rows * cols), seed, 0.0f, hi));
  }
  fs::path write_npy_values(const std::string& name, const std::vector<std::int64_t>& shape,
                            const std::vector<float>& values) {
    const fs::path p = dir_ / name;
    Tensor t(DType::f32, Shape(shape.begin(), shape.end()));
    std::copy(values.begin(), values.end(), t.f32().begin());
    tinyq::write_npy(p.string(), t);
    return p;
  }
};

TEST_F(CliMultiInput, QuantizeCalibratesEachInputOnItsOwnDataAndEvalRunsIt) {
  const fs::path model = two_input_model(), tqm = dir_ / "m.tqm";
  const fs::path a = npy("a.npy", 300, 6, 3, 1.0f), b = npy("b.npy", 300, 3, 4, 100.0f);
  const Result q = run_argv(
      {"quantize", model.string(), "--calib", a.string(), "--calib", b.string(), "-o", tqm.string(), "--json"});
  ASSERT_EQ(q.code, 0) << q.err;
  const auto j = nlohmann::json::parse(q.out);
  EXPECT_EQ(j["calibration_samples"], 300);
  // With one range for both inputs, `a` would fall on 3 int8 steps and the output SQNR below
  // 15 dB: only per-input ranges give this.
  EXPECT_GT(j["prediction"]["output_sqnr_db"].get<double>(), 30.0) << q.out;

  // eval takes the inputs in the same order (the labels do not matter here: the int8 model's
  // top-1 must agree with the float model's).
  const fs::path ea = npy("ea.npy", 50, 6, 5, 1.0f), eb = npy("eb.npy", 50, 3, 6, 100.0f);
  const fs::path zero_labels = write_npy_values("labels.npy", {50}, std::vector<float>(50, 0.0f));
  const Result e = run_argv(
      {"eval", tqm.string(), "--data", ea.string(), "--labels", zero_labels.string(), "--data", eb.string(), "--json"});
  ASSERT_EQ(e.code, 0) << e.err;
  const auto ej = nlohmann::json::parse(e.out);
  EXPECT_EQ(ej["count"], 50);
  EXPECT_GE(ej["agreement"].get<double>(), 0.95) << e.out;
}

TEST_F(CliMultiInput, ACountOfDataFilesThatDoesNotMatchTheInputsIsOneLine) {
  const fs::path model = two_input_model();
  const fs::path a = npy("a.npy", 20, 6, 3, 1.0f);
  const Result q = run_argv({"quantize", model.string(), "--calib", a.string(), "-o", (dir_ / "m.tqm").string()});
  expect_bad_input(q, "give --calib once per input");
  EXPECT_NE(q.err.find("(a, b)"), std::string::npos) << q.err;
  EXPECT_FALSE(fs::exists(dir_ / "m.tqm"));
}

TEST_F(CliMultiInput, InputsWithDifferentSampleCountsAreOneLine) {
  const fs::path model = two_input_model();
  const fs::path a = npy("a.npy", 20, 6, 3, 1.0f), b = npy("b.npy", 19, 3, 4, 100.0f);
  const Result q = run_argv(
      {"quantize", model.string(), "--calib", a.string(), "--calib", b.string(), "-o", (dir_ / "m.tqm").string()});
  expect_bad_input(q, "different numbers of samples");
  EXPECT_FALSE(fs::exists(dir_ / "m.tqm"));
}

// The generated C API gets NAME_input1() / NAME_quantize_input1() beside input 0's names, and
// the firmware on QEMU gives the host int8 executor's bytes with both inputs fed.
TEST_F(CliMultiInput, GenerateAndVerifyFeedEveryInput) {
  const fs::path model = two_input_model(), tqm = dir_ / "m.tqm";
  const fs::path a = npy("a.npy", 40, 6, 3, 1.0f), b = npy("b.npy", 40, 3, 4, 100.0f);
  ASSERT_EQ(
      run_argv({"quantize", model.string(), "--calib", a.string(), "--calib", b.string(), "-o", tqm.string()}).code, 0);
  const Result g =
      run_argv({"generate", tqm.string(), "--target", "cortex-m4", "--name", "fusion", "-o", (dir_ / "out").string()});
  ASSERT_EQ(g.code, 0) << g.err;
  const std::string header = slurp(dir_ / "out" / "fusion.h");
  for (const char* part :
       {"#define FUSION_INPUT_COUNT 2", "#define FUSION_INPUT1_SIZE 3", "int8_t* fusion_input1(void);",
        "void fusion_quantize_input1(const float* input);", "#define FUSION_INPUT_SIZE 6"})
    EXPECT_NE(header.find(part), std::string::npos) << part;

  const Result v = run_argv({"verify", tqm.string(), "--target", "cortex-m4", "--data", a.string(), "--data",
                             b.string(), "--count", "10", "--json"});
  ASSERT_EQ(v.code, 0) << v.err;
  const auto j = nlohmann::json::parse(v.out);
  EXPECT_EQ(j["count"], 10);
  EXPECT_EQ(j["mismatches"], 0);
  const Result one = run_argv({"verify", tqm.string(), "--target", "cortex-m4", "--data", a.string()});
  expect_bad_input(one, "give --data once per input");
}

}  // namespace
}  // namespace tinyq::testing
