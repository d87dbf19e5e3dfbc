// generate, verify and bench take a pre-quantized int8 .tflite as they take a .tqm, and
// verify takes int8 .npy samples as the model's input bytes (TFLite Micro's reference inputs
// as they are). A float model given to them is one error line saying to quantize first.
// The MLPerf parts are skipped without TINYQ_MLPERF_TINY.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_fixture.hpp"
#include "test_tflite_prequantized_mlperf.hpp"

namespace tinyq {
namespace {

using PrequantizedMcuCli = tinyq::testing::Cli;
using tinyq::testing::Result;
namespace fs = std::filesystem;

TEST_F(PrequantizedMcuCli, GenerateAndVerifyTakeTheInt8TfliteAndTfliteMicrosInputs) {
  tinyq_test::MlperfPaths paths;
  for (const auto& m : tinyq_test::mlperf_int8_models()) {
    if (m.bench != "ad") continue;  // the smallest: a 10-layer dense autoencoder
    if (const std::string why = tinyq_test::mlperf_paths(m, paths); !why.empty()) GTEST_SKIP() << why;
  }
  const fs::path out = dir_ / "fw";
  const Result g =
      run_argv({"generate", paths.model.string(), "--target", "cortex-m4", "-o", out.string(), "--name", "ad"});
  ASSERT_EQ(g.code, 0) << g.err;
  EXPECT_TRUE(fs::exists(out / "ad.h"));

  const Result v = run_argv({"verify", paths.model.string(), "--target", "cortex-m4", "--data", paths.input.string(),
                             "--count", "8", "--json"});
  ASSERT_EQ(v.code, 0) << v.err;
  const auto j = nlohmann::json::parse(v.out);
  EXPECT_EQ(j["count"], 8);
  EXPECT_EQ(j["mismatches"], 0);
}

TEST_F(PrequantizedMcuCli, AFloatModelIsRefusedWithAHintToQuantizeFirst) {
  const fs::path onnx = tinyq::testing::kModels / "mlp.onnx";
  if (!fs::exists(onnx)) GTEST_SKIP() << onnx << " absent";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"generate", onnx.string(), "--target", "portable", "-o", (dir_ / "g").string()},
        std::vector<std::string>{"bench", onnx.string()}}) {
    const Result r = run_argv(args);
    expect_bad_input(r, "run `tinyq quantize` first");
  }
  EXPECT_FALSE(fs::exists(dir_ / "g"));
}

}  // namespace
}  // namespace tinyq
