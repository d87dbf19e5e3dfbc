// The command-line contract of `quantize` and int8 `eval`: JSON keys, exit codes, one error
// line, and no .tqm left behind on failure.
#include <nlohmann/json.hpp>

#include "cli_fixture.hpp"
#include "onnx_builder.hpp"

namespace {

using namespace tinyq::testing;

class CliQuantize : public Cli {
 protected:
  std::string model() const { return (kModels / "seed_cnn.onnx").string(); }
  bool have_data() const { return fs::exists(kImages) && fs::exists(model()); }
};

TEST_F(CliQuantize, QuantizeJsonHasTheContractKeysAndWritesTheModel) {
  if (!have_data()) GTEST_SKIP() << "needs dataset-fashion-mnist and models/seed_cnn.onnx";
  fs::path out = dir_ / "m.tqm";
  auto r = run("quantize --json --calib-count 100 " + model() + " --calib " + kImages + " -o " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  for (auto key : {"output", "preset", "scheme", "calibration", "seconds", "layers"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["preset"], "best");
  ASSERT_FALSE(j["layers"].empty());
  for (auto key : {"name", "op", "method", "scale", "sqnr_db"}) EXPECT_TRUE(j["layers"][0].contains(key)) << key;
  // auto resolves per tensor: each layer names the method it actually used.
  for (auto& layer : j["layers"]) {
    const std::string method = layer["method"];
    EXPECT_NE(method, "auto") << layer["name"];
    EXPECT_TRUE(method == "minmax" || method == "percentile" || method == "kl" || method == "mse" ||
                method == "shared" || method == "fixed")
        << method;
  }
  EXPECT_TRUE(fs::exists(out));
  EXPECT_FALSE(fs::exists(dir_ / "m.tqm.tmp"));
}

TEST_F(CliQuantize, EvalOfTqmReportsFloatAndInt8) {
  if (!have_data()) GTEST_SKIP() << "needs dataset-fashion-mnist and models/seed_cnn.onnx";
  fs::path out = dir_ / "m.tqm";
  ASSERT_EQ(run("quantize --calib-count 100 " + model() + " --calib " + kImages + " -o " + out.string()).code, 0);
  auto r = run("eval --json --count 300 " + out.string() + " --data " + kImages + " --labels " + kLabels);
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  for (auto key : {"count", "float", "int8", "agreement", "seconds", "layers"}) EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_GT(j["int8"]["top1"].get<double>(), 0.7);
  EXPECT_GT(j["agreement"].get<double>(), 0.9);
  // A negative tolerance is meaningless: a usage error, not a silently ignored option.
  auto negative = run("eval --count 300 --max-drop -1 " + out.string() + " --data " + kImages + " --labels " + kLabels);
  EXPECT_EQ(negative.code, 2) << negative.err;
}

TEST_F(CliQuantize, MaxDropCheckFailsWithExitOne) {
  if (!have_data()) GTEST_SKIP() << "needs dataset-fashion-mnist and models/seed_cnn.onnx";
  // Calibrated on blank images, every range is tiny and real images saturate: a large drop.
  fs::path blank = write_npy("blank.npy", {8, 1, 28, 28}, 0.0f);
  const std::string common =
      " --count 300 --calib " + blank.string() + " " + model() + " --data " + kImages + " --labels " + kLabels;
  auto strict = run("eval --max-drop 1" + common);
  EXPECT_EQ(strict.code, 1) << strict.err;
  EXPECT_NE(strict.err.find("--max-drop"), std::string::npos) << strict.err;
  EXPECT_EQ(run("eval --max-drop 100" + common).code, 0);
}

TEST_F(CliQuantize, CalibrationDataOfTheWrongShapeWritesNothing) {
  fs::path calib = write_npy("calib.npy", {4, 3, 10, 10});
  fs::path out = dir_ / "m.tqm";
  expect_bad_input(run("quantize " + model() + " --calib " + calib.string() + " -o " + out.string()), "calib.npy");
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(CliQuantize, EmptyCalibrationSetIsBadInput) {
  fs::path calib = write_npy("empty.npy", {0, 1, 28, 28});
  fs::path out = dir_ / "m.tqm";
  expect_bad_input(run("quantize " + model() + " --calib " + calib.string() + " -o " + out.string()), "empty.npy");
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(CliQuantize, NanCalibrationDataIsBadInput) {
  fs::path calib = write_npy("nan.npy", {2, 1, 28, 28}, std::nanf(""));
  expect_bad_input(run("quantize " + model() + " --calib " + calib.string() + " -o " + (dir_ / "m.tqm").string()),
                   "nan.npy");
}

TEST_F(CliQuantize, UnknownPresetIsBadUsage) {
  fs::path calib = write_npy("calib.npy", {2, 1, 28, 28});
  expect_bad_input(
      run("quantize --preset fastest " + model() + " --calib " + calib.string() + " -o " + (dir_ / "m.tqm").string()),
      "--preset");
}

TEST_F(CliQuantize, OpWithoutInt8KernelNamesTheNode) {
  tinyq::testing::OnnxBuilder b;
  b.input("x", {1, 2, 4, 4}).output("y");
  auto& n = b.node("MaxPool", {"x"}, {"y"}, "the_pool");
  tinyq::testing::OnnxBuilder::set_ints(n, "kernel_shape", {2, 2});
  tinyq::testing::OnnxBuilder::set_ints(n, "dilations", {2, 2});
  fs::path m = write("pool.onnx", b.bytes());
  fs::path calib = write_npy("calib.npy", {2, 2, 4, 4});
  fs::path out = dir_ / "m.tqm";
  expect_bad_input(run("quantize " + m.string() + " --calib " + calib.string() + " -o " + out.string()), "the_pool");
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(CliQuantize, CorruptTqmIsBadInput) {
  if (!have_data()) GTEST_SKIP() << "needs dataset-fashion-mnist and models/seed_cnn.onnx";
  fs::path out = dir_ / "m.tqm";
  ASSERT_EQ(run("quantize --calib-count 50 " + model() + " --calib " + kImages + " -o " + out.string()).code, 0);
  std::string bytes = slurp(out);
  bytes[bytes.size() / 2] ^= 1;
  fs::path bad = write("bad.tqm", bytes);
  expect_bad_input(run("eval " + bad.string() + " --data " + kImages + " --labels " + kLabels), "bad.tqm");
  fs::path cut = write("cut.tqm", bytes.substr(0, bytes.size() / 2));
  expect_bad_input(run("eval " + cut.string() + " --data " + kImages + " --labels " + kLabels), "cut.tqm");
}

}  // namespace
