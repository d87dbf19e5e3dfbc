// The command-line contract (DESIGN.md): exit 0 on success, 1 on a failed check, 2 on bad
// input or usage with exactly one line on stderr naming what is at fault, never a partial
// output file, and --json keys that scripts rely on.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "onnx_builder.hpp"

namespace {

namespace fs = std::filesystem;
const fs::path kTinyq = fs::path(TINYQ_BINARY_DIR) / "tinyq";
const fs::path kModels = fs::path(TINYQ_SOURCE_DIR) / "models";
const std::string kImages = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
const std::string kLabels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";

struct Result {
  int code;
  std::string out, err;
  int error_lines() const {
    int lines = 0;
    for (char c : err) lines += c == '\n';
    return lines;
  }
};

class Cli : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tinyq_cli_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result run(const std::string& args) {
    fs::path out = dir_ / "stdout.txt", err = dir_ / "stderr.txt";
    std::string cmd = kTinyq.string() + " " + args + " >" + out.string() + " 2>" + err.string();
    int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  }
  static std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  fs::path write(const std::string& name, const std::string& bytes) {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  // A float32 .npy of the given shape filled with `value`.
  fs::path write_npy(const std::string& name, std::vector<std::int64_t> shape, float value = 0.5f) {
    std::string dims;
    std::size_t count = 1;
    for (auto d : shape) {
      dims += std::to_string(d) + ",";
      count *= std::size_t(d);
    }
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
    while ((10 + header.size() + 1) % 64) header += ' ';
    header += '\n';
    std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
    bytes += char(header.size() & 0xff);
    bytes += char(header.size() >> 8);
    bytes += header;
    std::vector<float> data(count, value);
    bytes.append(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(float));
    return write(name, bytes);
  }
  void expect_bad_input(const Result& r, const std::string& must_mention) {
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(r.error_lines(), 1) << r.err;
    EXPECT_NE(r.err.find(must_mention), std::string::npos) << r.err;
  }
  fs::path dir_;
};

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
  auto r = run("eval --json --count 500 " + (kModels / "seed_cnn.onnx").string() + " --data " + kImages +
               " --labels " + kLabels);
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
  auto pass = run("eval --count 200 --min-accuracy 0.5 " + (kModels / "seed_cnn.onnx").string() + " --data " +
                  kImages + " --labels " + kLabels);
  EXPECT_EQ(pass.code, 0) << pass.err;
}

TEST_F(Cli, EvalWithLabelCountMismatchIsBadInput) {
  fs::path data = write_npy("x.npy", {4, 1, 28, 28});
  fs::path labels = write_npy("labels.npy", {3}, 1.0f);
  expect_bad_input(run("eval " + (kModels / "seed_cnn.onnx").string() + " --data " + data.string() + " --labels " +
                       labels.string()),
                   "labels.npy");
}

TEST_F(Cli, EvalWithNanDataIsBadInput) {
  fs::path data = write_npy("nan.npy", {2, 1, 28, 28}, std::nanf(""));
  fs::path labels = write_npy("labels.npy", {2}, 1.0f);
  expect_bad_input(run("eval " + (kModels / "seed_cnn.onnx").string() + " --data " + data.string() + " --labels " +
                       labels.string()),
                   "nan.npy");
}

TEST_F(Cli, EvalWithEmptyDataIsBadInput) {
  fs::path data = write_npy("empty.npy", {0, 1, 28, 28});
  fs::path labels = write_npy("labels.npy", {0}, 1.0f);
  expect_bad_input(run("eval " + (kModels / "seed_cnn.onnx").string() + " --data " + data.string() + " --labels " +
                       labels.string()),
                   "empty.npy");
}

}  // namespace
