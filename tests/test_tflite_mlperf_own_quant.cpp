// tinyq's own quantization of MLPerf Tiny float models, end to end through the command line:
// quantize from float calibrating on the benchmark's real samples, run the .tqm, compare with
// the float model (and with TF's own int8 model on the same inputs), and verify the generated
// firmware on the emulated Cortex-M4. AD (FC autoencoder, float .tflite) and SWW (streaming
// wakeword, Keras .h5: it has no float .tflite) are the two cheap ones; bench/mlperf_tiny.sh
// does all five on three cores. Skipped without TINYQ_MLPERF_TINY.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_fixture.hpp"
#include "data/npy.hpp"
#include "frontend/tflite/tflite_model.hpp"

namespace tinyq {
namespace {

namespace fs = std::filesystem;
using tinyq::testing::Result;

class MlperfOwnQuantization : public tinyq::testing::Cli {
 protected:
  void SetUp() override {
    const char* dir = std::getenv("TINYQ_MLPERF_TINY");
    if (dir == nullptr || *dir == '\0') GTEST_SKIP() << "TINYQ_MLPERF_TINY is not set (the MLPerf Tiny folder)";
    root_ = dir;
    for (const char* sub : {"models", "samples", "tflm"})
      if (!fs::is_directory(root_ / sub)) GTEST_SKIP() << "TINYQ_MLPERF_TINY=" << root_ << " has no " << sub << "/";
    Cli::SetUp();
  }
  std::string model(const std::string& name) const { return (root_ / "models" / name).string(); }

  // Runs `model_path` (float model, .tqm or int8 .tflite) on the samples of `x` with `tinyq run`.
  std::vector<float> outputs(const std::string& model_path, const fs::path& x) {
    const fs::path y = dir_ / "y.npy";
    const Result r = run_argv({"run", model_path, "-i", x.string(), "-o", y.string()});
    EXPECT_EQ(r.code, 0) << model_path << ": " << r.err;
    if (r.code != 0) return {};
    const Tensor t = read_npy(y.string());
    return {t.f32().begin(), t.f32().end()};
  }

  // Quantizes a float model calibrating on all of `calib` (preset best); its --json report
  // (empty on failure).
  nlohmann::json quantize(const std::string& float_model, const fs::path& calib, const fs::path& tqm) {
    const Result r = run_argv({"quantize", float_model, "--calib", calib.string(), "--calib-count", "0", "-o",
                               tqm.string(), "--threads", "2", "--json"});
    EXPECT_EQ(r.code, 0) << r.err;
    if (r.code != 0 || !fs::exists(tqm)) return {};
    return nlohmann::json::parse(r.out);
  }

  fs::path root_;
};

double sqnr_db(const std::vector<float>& ref, const std::vector<float>& got) {
  EXPECT_EQ(ref.size(), got.size());
  double signal = 0, noise = 0;
  for (std::size_t i = 0; i < ref.size() && i < got.size(); ++i) {
    signal += double(ref[i]) * ref[i];
    noise += (double(ref[i]) - got[i]) * (double(ref[i]) - got[i]);
  }
  return noise > 0 ? 10 * std::log10(signal / noise) : 200.0;
}

// Samples (of `per` values each) whose largest output is at the same index in both.
int same_top1(const std::vector<float>& a, const std::vector<float>& b, std::size_t per) {
  int same = 0;
  for (std::size_t s = 0; (s + 1) * per <= a.size() && (s + 1) * per <= b.size(); ++s) {
    const auto fa = a.begin() + std::ptrdiff_t(s * per), fb = b.begin() + std::ptrdiff_t(s * per);
    same += std::max_element(fa, fa + std::ptrdiff_t(per)) - fa == std::max_element(fb, fb + std::ptrdiff_t(per)) - fb;
  }
  return same;
}

// AD: the 196 windows of 5 consecutive log-mel frames of the one real recording, calibration
// and check alike. Measured: tinyq 47.0 dB output SQNR against the float model, TF's int8 model
// 32.0 dB on the same windows; the anomaly score (mean squared reconstruction error per window)
// 45.1 dB against 23.8 dB.
TEST_F(MlperfOwnQuantization, AnomalyDetectionFromFloatBeatsTfInt8OnTheRealRecording) {
  const fs::path bin = root_ / "samples" / "normal_id_01_00000000_hist_librosa.bin";
  if (!fs::is_regular_file(bin)) GTEST_SKIP() << "TINYQ_MLPERF_TINY has no " << bin;
  std::ifstream f(bin, std::ios::binary);
  std::vector<float> frames(200 * 128);  // float32 little-endian, as the host is
  f.read(reinterpret_cast<char*>(frames.data()), std::streamsize(frames.size() * sizeof(float)));
  ASSERT_TRUE(f) << bin << " holds fewer than 200 x 128 values";
  constexpr std::size_t kWindows = 200 - 4, kIn = 5 * 128;
  Tensor windows(DType::f32, {std::int64_t(kWindows), std::int64_t(kIn)});
  for (std::size_t w = 0; w < kWindows; ++w)
    std::copy_n(frames.begin() + std::ptrdiff_t(w * 128), kIn, windows.f32().begin() + std::ptrdiff_t(w * kIn));
  const fs::path x = dir_ / "ad.npy", tqm = dir_ / "ad.tqm";
  tinyq::write_npy(x.string(), windows);

  ASSERT_FALSE(quantize(model("ad01_fp32.tflite"), x, tqm).empty());
  const auto reference = outputs(model("ad01_fp32.tflite"), x);
  const auto own = outputs(tqm.string(), x);
  const auto tf_int8 = outputs(model("ad01_int8.tflite"), x);
  ASSERT_EQ(reference.size(), kWindows * kIn);
  const double own_db = sqnr_db(reference, own), tf_db = sqnr_db(reference, tf_int8);
  EXPECT_GE(own_db, 40.0);
  EXPECT_GT(own_db, tf_db + 5.0) << "tinyq " << own_db << " dB, TF int8 " << tf_db << " dB";

  // The benchmark's metric: the reconstruction error is the anomaly score.
  auto scores = [&](const std::vector<float>& y) {
    std::vector<float> s(kWindows, 0.0f);
    for (std::size_t i = 0; i < y.size() && i < kWindows * kIn; ++i) {
      const float d = windows.f32()[i] - y[i];
      s[i / kIn] += d * d / float(kIn);
    }
    return s;
  };
  EXPECT_GE(sqnr_db(scores(reference), scores(own)), 38.0);
}

// SWW: the 8 spectrograms of tflm/sww_input.npy (8 of the 45 real calibration spectrograms, as
// the int8 model's input holds them), dequantized. The float model is the Keras .h5. Its softmax
// is saturated on these 8 (each near 1.0), so the logits are checked too, through quantize's
// per-layer SQNR. Measured: same top-1 on all 8, output SQNR 48.2 dB (TF's int8 model gives the
// same bytes), logits 43.3 dB, lowest layer 31.7 dB.
TEST_F(MlperfOwnQuantization, StreamingWakewordFromKerasAgreesWithFloatAndRunsOnCortexM4) {
  const fs::path input = root_ / "tflm" / "sww_input.npy";
  if (!fs::is_regular_file(input)) GTEST_SKIP() << "TINYQ_MLPERF_TINY has no " << input;
  const Tensor q = read_npy(input.string());
  ASSERT_EQ(q.dtype(), DType::i8);
  const tflite::TfliteModel int8_model = tflite::read_tflite(model("str_ww_ref_model.tflite"));
  const tflite::Quantization& in_q = int8_model.tensors[std::size_t(int8_model.inputs[0])].quant;
  Tensor real(DType::f32, q.shape());
  for (std::size_t k = 0; k < real.f32().size(); ++k)
    real.f32()[k] = in_q.scale[0] * float(q.data<std::int8_t>()[k] - std::int32_t(in_q.zero_point[0]));
  const fs::path x = dir_ / "sww.npy", tqm = dir_ / "sww.tqm";
  tinyq::write_npy(x.string(), real);

  const nlohmann::json report = quantize(model("str_ww_ref_model.h5"), x, tqm);
  ASSERT_FALSE(report.empty());
  ASSERT_EQ(report["layers"].size(), 11u);  // 4 depthwise, 4 conv, flatten, dense, softmax
  for (const auto& layer : report["layers"]) {
    EXPECT_GE(layer["sqnr_db"].get<double>(), 28.0) << layer["name"];
    if (layer["op"] == "Dense") {
      EXPECT_GE(layer["sqnr_db"].get<double>(), 38.0) << "logits";
    }
  }
  const auto reference = outputs(model("str_ww_ref_model.h5"), x);
  const auto own = outputs(tqm.string(), x);
  ASSERT_EQ(reference.size(), 8u * 3u);
  EXPECT_EQ(same_top1(reference, own, 3), 8);
  EXPECT_GE(sqnr_db(reference, own), 32.0);

  // The generated firmware on the emulated Cortex-M4 gives the host's bytes.
  const Result r =
      run_argv({"verify", tqm.string(), "--target", "cortex-m4", "--data", x.string(), "--count", "8", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["count"], 8);
  EXPECT_EQ(j["mismatches"], 0);
  EXPECT_GT(j["instructions"].get<double>(), 0);
}

}  // namespace
}  // namespace tinyq
