// The command line on pre-quantized models: `tinyq quantize model_int8.tflite -o m.tqm` needs
// no calibration data (and refuses options that would choose a quantization), and `tinyq run`
// takes the .tqm or the .tflite itself, an int8 input as already quantized, a float input
// quantized first, and writes TFLite Micro's bytes (--raw) or their dequantized values.
// Skipped without TINYQ_MLPERF_TINY.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_fixture.hpp"
#include "data/npy.hpp"
#include "frontend/tflite/tflite_model.hpp"
#include "test_tflite_prequantized_mlperf.hpp"

namespace tinyq {
namespace {

using PrequantizedCli = tinyq::testing::Cli;
using tinyq::testing::Result;
namespace fs = std::filesystem;
using tinyq_test::MlperfPaths;

// The paths of benchmark `bench`, or why they cannot be had (empty: they can).
std::string mlperf(const std::string& bench, MlperfPaths& paths) {
  for (const auto& m : tinyq_test::mlperf_int8_models())
    if (m.bench == bench) return tinyq_test::mlperf_paths(m, paths);
  return "no benchmark " + bench;
}

std::vector<std::int8_t> int8_values(const fs::path& npy) {
  const Tensor t = read_npy(npy.string());
  EXPECT_EQ(t.dtype(), DType::i8);
  const auto d = t.data<std::int8_t>();
  return {d.begin(), d.end()};
}

TEST_F(PrequantizedCli, QuantizeWithoutDataThenRunGivesTfliteMicrosBytes) {
  for (const auto& m : tinyq_test::mlperf_int8_models()) {
    MlperfPaths paths;
    if (const std::string why = tinyq_test::mlperf_paths(m, paths); !why.empty()) GTEST_SKIP() << why;
    const fs::path tqm = dir_ / (m.bench + ".tqm"), raw = dir_ / (m.bench + "_raw.npy");
    Result r = run_argv({"quantize", paths.model.string(), "-o", tqm.string()});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_NE(r.out.find("pre-quantized"), std::string::npos) << r.out;
    const std::vector<std::int8_t> want = int8_values(paths.output);
    // The .tqm, and the .tflite itself.
    for (const fs::path& model : {tqm, paths.model}) {
      r = run_argv({"run", model.string(), "-i", paths.input.string(), "-o", raw.string(), "--raw"});
      ASSERT_EQ(r.code, 0) << r.err;
      EXPECT_EQ(int8_values(raw), want) << m.bench << " " << model;
    }
  }
}

TEST_F(PrequantizedCli, RunDequantizesByDefaultAndQuantizesFloatInputs) {
  MlperfPaths paths;
  if (const std::string why = mlperf("kws", paths); !why.empty()) GTEST_SKIP() << why;
  // KWS: output scale 1/256, zero point -128; the input's quantization as the file stores it.
  const Tensor q_in = read_npy(paths.input.string());
  const tflite::TfliteModel model = tflite::read_tflite(paths.model.string());
  const tflite::Quantization& in_q = model.tensors[std::size_t(model.inputs[0])].quant;
  const float in_scale = in_q.scale[0];
  const auto in_zero = std::int32_t(in_q.zero_point[0]);
  // Real inputs whose quantization gives the same bytes back: the dequantized int8 samples.
  Tensor real(DType::f32, q_in.shape());
  for (std::size_t k = 0; k < real.f32().size(); ++k)
    real.f32()[k] = in_scale * float(q_in.data<std::int8_t>()[k] - in_zero);
  const fs::path real_in = dir_ / "real.npy", out = dir_ / "out.npy", raw = dir_ / "raw.npy";
  tinyq::write_npy(real_in.string(), real);
  Result r = run_argv({"run", paths.model.string(), "-i", real_in.string(), "-o", raw.string(), "--raw"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(int8_values(raw), int8_values(paths.output));
  r = run_argv({"run", paths.model.string(), "-i", paths.input.string(), "-o", out.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const Tensor y = read_npy(out.string());
  ASSERT_EQ(y.dtype(), DType::f32);
  const std::vector<std::int8_t> want = int8_values(paths.output);
  ASSERT_EQ(y.f32().size(), want.size());
  for (std::size_t k = 0; k < want.size(); ++k) EXPECT_EQ(y.f32()[k], float(want[k] + 128) / 256.0f) << k;
}

TEST_F(PrequantizedCli, OptionsThatWouldChooseAQuantizationAreRefused) {
  MlperfPaths paths;
  if (const std::string why = mlperf("ad", paths); !why.empty()) GTEST_SKIP() << why;
  const fs::path tqm = dir_ / "ad.tqm";
  for (const std::vector<std::string>& extra : {std::vector<std::string>{"--calib", paths.input.string()},
                                                {"--preset", "cmsis"},
                                                {"--calibration", "kl"},
                                                {"--report", (dir_ / "r.html").string()}}) {
    std::vector<std::string> args{"quantize", paths.model.string(), "-o", tqm.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    const Result r = run_argv(args);
    EXPECT_EQ(r.code, 2) << extra[0];
    EXPECT_EQ(r.error_lines(), 1) << r.err;
    EXPECT_TRUE(r.err.find(extra[0]) != std::string::npos || r.err.find("already quantized") != std::string::npos)
        << r.err;
    EXPECT_FALSE(fs::exists(tqm)) << extra[0];
  }
  const Result r = run_argv({"quantize", paths.model.string(), "-o", tqm.string(), "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["prequantized"], true);
  EXPECT_EQ(j["preset"], "tflite");
  EXPECT_EQ(j["calibration_samples"], 0);
  EXPECT_EQ(j["layers"].size(), 10u);  // AD: ten fully connected layers
}

TEST_F(PrequantizedCli, RawOnAFloatModelAndMissingCalibrationAreBadUsage) {
  const std::string onnx = (tinyq::testing::kModels / "mlp.onnx").string();
  Result r = run_argv({"quantize", onnx, "-o", (dir_ / "m.tqm").string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--calib"), std::string::npos) << r.err;
  const fs::path x = dir_ / "x.npy";
  tinyq::write_npy(x.string(), Tensor(DType::f32, {1, 1, 28, 28}));
  r = run_argv({"run", onnx, "-i", x.string(), "-o", (dir_ / "y.npy").string(), "--raw"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.error_lines(), 1) << r.err;
  EXPECT_NE(r.err.find("--raw"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tinyq
