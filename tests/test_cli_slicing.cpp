// A ShuffleNet-style model (channel split, channel shuffle, crops, a stepped slice, a channel
// gather: models/slicing/) through the whole command line: quantize, generate, and the
// firmware on emulated Cortex-M4 and M55 byte for byte equal to the host int8 executor.
#include <nlohmann/json.hpp>

#include "cli_fixture.hpp"

namespace tinyq::testing {
namespace {

const std::string kTrain = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
const fs::path kModel = kModels / "slicing" / "shufflenet_tiny.onnx";

class CliSlicing : public Cli {
 protected:
  void SetUp() override {
    Cli::SetUp();
    if (!fs::exists(kTrain) || !fs::exists(kImages)) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  }
  fs::path quantized() {
    const fs::path tqm = dir_ / "shufflenet_tiny.tqm";
    const Result r =
        run("quantize " + kModel.string() + " --calib " + kTrain + " --calib-count 100 -o " + tqm.string());
    EXPECT_EQ(r.code, 0) << r.err;
    return tqm;
  }
};

TEST_F(CliSlicing, GeneratedCodeCallsTheStridedCopyForSlicesGathersAndTransposes) {
  const fs::path tqm = quantized(), out = dir_ / "fw";
  const Result r = run("generate " + tqm.string() + " --target cortex-m4 -o " + out.string() + " --name shuffle");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string code = slurp(out / "shuffle.cpp");
  for (const char* op : {": Slice (strided_copy_s8)", ": Gather (strided_copy_s8)", ": Transpose (strided_copy_s8)"})
    EXPECT_NE(code.find(op), std::string::npos) << op;
}

class CliSlicingVerify : public CliSlicing, public ::testing::WithParamInterface<std::string> {};

TEST_P(CliSlicingVerify, FirmwareOutputsEqualTheHostInt8Executor) {
  const fs::path tqm = quantized();
  const Result r =
      run("verify " + tqm.string() + " --target " + GetParam() + " --data " + kImages + " --count 10 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["count"], 10);
  EXPECT_EQ(j["mismatches"], 0);
  EXPECT_GT(j["instructions"].get<double>(), 0);
}

INSTANTIATE_TEST_SUITE_P(Cores, CliSlicingVerify, ::testing::Values("cortex-m4", "cortex-m55"), [](const auto& info) {
  std::string name = info.param;
  for (char& c : name)
    if (c == '-') c = '_';
  return name;
});

}  // namespace
}  // namespace tinyq::testing
