// The command-line contract (docs/DESIGN.md): exit 0 on success, 1 on a failed check, 2 on bad
// input or usage with exactly one line on stderr naming what is at fault, never a partial
// output file, and --json keys that scripts rely on.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_fixture.hpp"
#include "onnx_builder.hpp"

namespace {

using namespace tinyq::testing;

TEST_F(Cli, HelpExitsZero) {
  auto r = run("--help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("inspect"), std::string::npos);
  for (auto cmd : {"inspect", "run", "eval"}) EXPECT_EQ(run(std::string(cmd) + " --help").code, 0) << cmd;
}

TEST_F(Cli, UnknownCommandIsAUsageErrorOnOneLine) {
  auto r = run("frobnicate");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.error_lines(), 1) << r.err;
}

TEST_F(Cli, MissingRequiredArgumentIsAUsageError) {
  auto r = run("eval " + (kModels / "seed_cnn.onnx").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.error_lines(), 1) << r.err;
}

TEST_F(Cli, InspectJsonHasTheContractKeys) {
  auto r = run("inspect --json " + (kModels / "seed_cnn.onnx").string());
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  for (auto key : {"inputs", "outputs", "nodes", "params", "macs", "ops"}) EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["inputs"][0]["shape"], nlohmann::json({1, 1, 28, 28}));
  EXPECT_GT(j["macs"].get<long>(), 0);
  EXPECT_GT(j["ops"]["Conv"].get<int>(), 0);
}

TEST_F(Cli, InspectOfAMissingFileNamesIt) {
  expect_bad_input(run("inspect " + (dir_ / "nope.onnx").string()), "nope.onnx");
}

TEST_F(Cli, InspectOfRandomBytesIsBadInput) {
  std::string junk(4096, '\0');
  for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = char((i * 2654435761u) >> 13);
  expect_bad_input(run("inspect " + write("junk.onnx", junk).string()), "junk.onnx");
}

TEST_F(Cli, InspectOfTruncatedModelIsBadInput) {
  std::string bytes = slurp(kModels / "seed_cnn.onnx");
  expect_bad_input(run("inspect " + write("cut.onnx", bytes.substr(0, bytes.size() / 3)).string()), "cut.onnx");
}

TEST_F(Cli, UnsupportedOperatorNamesTheNode) {
  tinyq::testing::OnnxBuilder b;
  b.input("x", {1, 4}).output("y");
  b.node("TopK", {"x"}, {"y"}, "the_topk");
  expect_bad_input(run("inspect " + write("topk.onnx", b.bytes()).string()), "the_topk");
}

TEST_F(Cli, RunWritesOutputsOfTheRightShape) {
  fs::path in = write_npy("x.npy", {3, 1, 28, 28});
  fs::path out = dir_ / "y.npy";
  auto r = run("run " + (kModels / "seed_cnn.onnx").string() + " -i " + in.string() + " -o " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(fs::exists(out));
  // 3×10 floats after a 128-byte v1 header.
  EXPECT_EQ(fs::file_size(out), 128u + 3 * 10 * 4);
}

TEST_F(Cli, RunWithWrongDataShapeWritesNothing) {
  fs::path in = write_npy("x.npy", {2, 3, 28, 28});
  fs::path out = dir_ / "y.npy";
  expect_bad_input(run("run " + (kModels / "seed_cnn.onnx").string() + " -i " + in.string() + " -o " + out.string()),
                   "x.npy");
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(dir_ / "y.npy.tmp"));
}

TEST_F(Cli, EvalJsonReportsFloatAccuracy) {
  if (!fs::exists(kImages)) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  auto r = run("eval --json --count 500 " + (kModels / "seed_cnn.onnx").string() + " --data " + kImages + " --labels " +
               kLabels);
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["count"], 500);
  EXPECT_GT(j["float"]["top1"].get<double>(), 0.7);
  EXPECT_GE(j["float"]["top5"].get<double>(), j["float"]["top1"].get<double>());
  EXPECT_TRUE(j.contains("seconds"));
}

TEST_F(Cli, EvalBelowMinAccuracyExitsOne) {
  if (!fs::exists(kImages)) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  auto r = run("eval --count 200 --min-accuracy 0.999 " + (kModels / "seed_cnn.onnx").string() + " --data " + kImages +
               " --labels " + kLabels);
  EXPECT_EQ(r.code, 1) << r.err;
  auto pass = run("eval --count 200 --min-accuracy 0.5 " + (kModels / "seed_cnn.onnx").string() + " --data " + kImages +
                  " --labels " + kLabels);
  EXPECT_EQ(pass.code, 0) << pass.err;
}

TEST_F(Cli, EvalWithLabelCountMismatchIsBadInput) {
  fs::path data = write_npy("x.npy", {4, 1, 28, 28});
  fs::path labels = write_npy("labels.npy", {3}, 1.0f);
  expect_bad_input(
      run("eval " + (kModels / "seed_cnn.onnx").string() + " --data " + data.string() + " --labels " + labels.string()),
      "labels.npy");
}

TEST_F(Cli, EvalWithNanDataIsBadInput) {
  fs::path data = write_npy("nan.npy", {2, 1, 28, 28}, std::nanf(""));
  fs::path labels = write_npy("labels.npy", {2}, 1.0f);
  expect_bad_input(
      run("eval " + (kModels / "seed_cnn.onnx").string() + " --data " + data.string() + " --labels " + labels.string()),
      "nan.npy");
}

TEST_F(Cli, EvalWithEmptyDataIsBadInput) {
  fs::path data = write_npy("empty.npy", {0, 1, 28, 28});
  fs::path labels = write_npy("labels.npy", {0}, 1.0f);
  expect_bad_input(
      run("eval " + (kModels / "seed_cnn.onnx").string() + " --data " + data.string() + " --labels " + labels.string()),
      "empty.npy");
}

}  // namespace
