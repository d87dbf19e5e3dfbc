// Bad data and bad numbers on the command line: NaN/Inf in any command's data, numeric options
// out of range, labels that are not classes of the model, and calibration data that would give
// a useless int8 model (a lone 1e38 pixel, unscaled integer pixels, --scale 0).
#include <cstdint>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "cli_fixture.hpp"
#include "data/idx.hpp"

namespace {

using namespace tinyq::testing;

const std::string kTrainImages = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

class BadData : public Cli {
 protected:
  static std::string model() { return (kModels / "seed_cnn.onnx").string(); }
  static bool have_data() { return fs::exists(kImages) && fs::exists(kTrainImages) && fs::exists(model()); }

  // A .npy of any dtype from raw little-endian element bytes.
  fs::path npy(const std::string& name, const std::string& descr, const std::vector<std::int64_t>& shape,
               const void* data, std::size_t bytes) {
    std::string dims;
    for (auto d : shape) dims += std::to_string(d) + ",";
    std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
    while ((10 + header.size() + 1) % 64) header += ' ';
    header += '\n';
    std::string out = std::string("\x93NUMPY\x01\x00", 8);
    out += char(header.size() & 0xff);
    out += char(header.size() >> 8);
    out += header;
    out.append(static_cast<const char*>(data), bytes);
    return write(name, out);
  }
  fs::path npy_f32(const std::string& name, const std::vector<std::int64_t>& shape, const std::vector<float>& v) {
    return npy(name, "<f4", shape, v.data(), v.size() * 4);
  }
  fs::path npy_i64(const std::string& name, const std::vector<std::int64_t>& v) {
    return npy(name, "<i8", {std::int64_t(v.size())}, v.data(), v.size() * 8);
  }
  // The first `n` Fashion-MNIST training images' pixels, through the project's IDX reader.
  std::vector<std::uint8_t> train_pixels(std::size_t n) {
    const tinyq::Tensor images = tinyq::read_idx(kTrainImages);
    const auto bytes = images.data<std::uint8_t>();
    EXPECT_GE(bytes.size(), n * 784);
    return std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + std::ptrdiff_t(n * 784));
  }
  static std::string tqm_path() {
    return (fs::temp_directory_path() / ("tinyq_bad_data_seed_" + std::to_string(::getpid()) + ".tqm")).string();
  }
  static void TearDownTestSuite() { fs::remove(tqm_path()); }
  // One small int8 model for verify's data checks, made once.
  std::string tqm() {
    if (!fs::exists(tqm_path())) {
      auto r = run("quantize --calib-count 32 " + model() + " --calib " + kImages + " -o " + tqm_path());
      EXPECT_EQ(r.code, 0) << r.err;
    }
    return tqm_path();
  }
};

// ---- NaN / Inf in data (item 9) -------------------------------------------------------------

TEST_F(BadData, RunRejectsNaNNamingTheFileAndTheElement) {
  std::vector<float> x(3 * 784, 0.25f);
  x[784 + 450] = std::numeric_limits<float>::quiet_NaN();
  x[2 * 784] = std::numeric_limits<float>::infinity();
  const fs::path in = npy_f32("x.npy", {3, 1, 28, 28}, x), out = dir_ / "y.npy";
  auto r = run_argv({"run", model(), "-i", in.string(), "-o", out.string()});
  expect_bad_input(r, "x.npy: element 1234 (sample 1, index 450) is NaN");
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(BadData, RunRejectsInfAndFloat64BeyondFloat32) {
  std::vector<float> x(784, 0.25f);
  x[7] = -std::numeric_limits<float>::infinity();
  auto r =
      run_argv({"run", model(), "-i", npy_f32("x.npy", {1, 1, 28, 28}, x).string(), "-o", (dir_ / "y.npy").string()});
  expect_bad_input(r, "element 7 (sample 0, index 7) is -Inf");

  std::vector<double> d(2 * 784, 0.5);
  d[784 + 3] = 1e300;  // finite as float64, Inf as float32
  const fs::path in = npy("d.npy", "<f8", {2, 1, 28, 28}, d.data(), d.size() * 8);
  r = run_argv({"run", model(), "-i", in.string(), "-o", (dir_ / "y.npy").string()});
  expect_bad_input(r, "d.npy: element 787 (sample 1, index 3) is infinite or a float64 beyond the float32 range");
  EXPECT_FALSE(fs::exists(dir_ / "y.npy"));
}

TEST_F(BadData, EveryCommandThatReadsDataRejectsNaN) {
  if (!have_data()) GTEST_SKIP() << "needs dataset-fashion-mnist";
  std::vector<float> x(4 * 784, 0.5f);
  x[2 * 784 + 10] = std::numeric_limits<float>::quiet_NaN();
  const std::string in = npy_f32("x.npy", {4, 1, 28, 28}, x).string();
  const std::string labels = npy_i64("y.npy", {0, 1, 2, 3}).string();
  const std::string want = "x.npy: element 1578 (sample 2, index 10) is NaN";
  expect_bad_input(run_argv({"quantize", model(), "--calib", in, "-o", (dir_ / "m.tqm").string()}), want);
  EXPECT_FALSE(fs::exists(dir_ / "m.tqm"));
  expect_bad_input(run_argv({"eval", model(), "--data", in, "--labels", labels}), want);
  expect_bad_input(run_argv({"eval", model(), "--data", kImages, "--labels", kLabels, "--count", "10", "--calib", in}),
                   want);
  expect_bad_input(run_argv({"verify", tqm(), "--target", "cortex-m4", "--data", in}), want);
}

TEST_F(BadData, PreprocessingThatOverflowsIsNamed) {
  if (!have_data()) GTEST_SKIP() << "needs dataset-fashion-mnist";
  // uint8 pixels times 1e37 overflow float32.
  auto r = run_argv({"eval", model(), "--data", kImages, "--labels", kLabels, "--scale", "1e37"});
  expect_bad_input(r, "becomes +Inf after --scale/--mean/--std");
}

TEST_F(BadData, RunPrintsItsSummaryOnStdout) {
  const fs::path in = write_npy("x.npy", {2, 1, 28, 28}), out = dir_ / "y.npy";
  auto r = run_argv({"run", model(), "-i", in.string(), "-o", out.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("wrote " + out.string()), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");
}

// ---- Numeric options (item 10) --------------------------------------------------------------

TEST_F(BadData, NumericOptionsOutOfRangeAreUsageErrors) {
  const std::string in = write_npy("x.npy", {2, 1, 28, 28}).string(), out = (dir_ / "o").string();
  const std::string labels = npy_i64("y.npy", {0, 1}).string();
  struct Case {
    std::vector<std::string> args;
    std::string option;
  };
  const std::string huge = "99999999999999999999";  // beyond int64
  const std::vector<Case> cases = {
      {{"run", model(), "-i", in, "-o", out, "--threads", "1000000"}, "--threads"},
      {{"run", model(), "-i", in, "-o", out, "--threads", "-1"}, "--threads"},
      {{"quantize", model(), "--calib", in, "-o", out, "--threads", "257"}, "--threads"},
      {{"quantize", model(), "--calib", in, "-o", out, "--calib-count", "-1"}, "--calib-count"},
      {{"quantize", model(), "--calib", in, "-o", out, "--calib-count", huge}, "--calib-count"},
      {{"quantize", model(), "--calib", in, "-o", out, "--scale", "0"}, "--scale"},
      {{"quantize", model(), "--calib", in, "-o", out, "--scale", "nan"}, "--scale"},
      {{"quantize", model(), "--calib", in, "-o", out, "--scale", "-1"}, "--scale"},
      {{"quantize", model(), "--calib", in, "-o", out, "--std", "0.5,0"}, "--std"},
      {{"quantize", model(), "--calib", in, "-o", out, "--mean", "inf"}, "--mean"},
      {{"eval", model(), "--data", in, "--labels", labels, "--count", "0"}, "--count"},
      {{"eval", model(), "--data", in, "--labels", labels, "--count", "-3"}, "--count"},
      {{"eval", model(), "--data", in, "--labels", labels, "--count", huge}, "--count"},
      {{"eval", model(), "--data", in, "--labels", labels, "--threads", "-2"}, "--threads"},
      {{"eval", model(), "--data", in, "--labels", labels, "--min-accuracy", "nan"}, "--min-accuracy"},
      {{"eval", model(), "--data", in, "--labels", labels, "--max-drop", "101"}, "--max-drop"},
      {{"generate", "m.tqm", "--target", "cortex-m4", "-o", out, "--ram-limit", "-1"}, "--ram-limit"},
      {{"generate", "m.tqm", "--target", "cortex-m4", "-o", out, "--flash-limit", "-5"}, "--flash-limit"},
      {{"generate", "m.tqm", "--target", "cortex-m4", "-o", out, "--ram-limit", huge}, "--ram-limit"},
      {{"verify", "m.tqm", "--target", "cortex-m4", "--data", in, "--count", "-3"}, "--count"},
      {{"verify", "m.tqm", "--target", "cortex-m4", "--data", in, "--count", "0"}, "--count"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args[0] + " " + c.option + " " + c.args.back());
    expect_bad_input(run_argv(c.args), c.option);
    EXPECT_FALSE(fs::exists(out));
  }
}

TEST_F(BadData, HelpStatesRangesAndWhatZeroMeans) {
  auto q = run_argv({"quantize", "--help"});
  EXPECT_NE(q.out.find("0: all cores"), std::string::npos) << q.out;
  EXPECT_NE(q.out.find("0: all)"), std::string::npos) << q.out;
  EXPECT_NE(q.out.find("--strict"), std::string::npos) << q.out;
  auto g = run_argv({"generate", "--help"});
  EXPECT_NE(g.out.find("0: no limit"), std::string::npos) << g.out;
  auto r = run_argv({"run", "--help"});
  EXPECT_NE(r.out.find("INT:[0, 256]"), std::string::npos) << r.out;
}

TEST_F(BadData, ZeroThreadsMeansAllCoresAndWorks) {
  const fs::path in = write_npy("x.npy", {2, 1, 28, 28}), out = dir_ / "y.npy";
  EXPECT_EQ(run_argv({"run", model(), "-i", in.string(), "-o", out.string(), "--threads", "0"}).code, 0);
  EXPECT_EQ(run_argv({"run", model(), "-i", in.string(), "-o", out.string(), "--threads", "256"}).code, 0);
}

// ---- Labels that are not classes (item 12) --------------------------------------------------

TEST_F(BadData, EvalRefusesLabelsThatAreNotClasses) {
  const std::string in = write_npy("x.npy", {4, 1, 28, 28}).string();
  for (std::int64_t bad : {std::int64_t(10), std::int64_t(255), std::int64_t(1) << 40}) {
    SCOPED_TRACE(bad);
    const std::string labels = npy_i64("y.npy", {0, 9, bad, 1}).string();
    auto r = run_argv({"eval", model(), "--data", in, "--labels", labels});
    expect_bad_input(r, "y.npy: label " + std::to_string(bad) + " at index 2 is not a class of the model");
    EXPECT_EQ(r.out, "");
  }
  expect_bad_input(run_argv({"eval", model(), "--data", in, "--labels", npy_i64("n.npy", {0, -1, 2, 3}).string()}),
                   "n.npy: negative label -1 at index 1");
}

TEST_F(BadData, VerifyRefusesLabelsThatAreNotClasses) {
  if (!have_data()) GTEST_SKIP() << "needs dataset-fashion-mnist";
  const std::string in = write_npy("x.npy", {4, 1, 28, 28}).string();
  auto r = run_argv({"verify", tqm(), "--target", "cortex-m4", "--data", in, "--count", "4", "--labels",
                     npy_i64("y.npy", {3, 255, 1, 2}).string()});
  expect_bad_input(r, "y.npy: label 255 at index 1 is not a class of the model");
}

// ---- Calibration data that would give a useless model (item 13) -----------------------------

double int8_top1(const std::string& json) { return nlohmann::json::parse(json)["int8"]["top1"].get<double>(); }
double float_top1(const std::string& json) { return nlohmann::json::parse(json)["float"]["top1"].get<double>(); }

TEST_F(BadData, OneHugePixelInTheCalibrationDataNoLongerRuinsTheModel) {
  if (!have_data()) GTEST_SKIP() << "needs dataset-fashion-mnist";
  const auto pixels = train_pixels(20);
  std::vector<float> x(pixels.size());
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(pixels[i]) / 255.0f;
  x[5 * 784 + 300] = 1e38f;  // one value in 15,680
  const fs::path calib = npy_f32("calib.npy", {20, 1, 28, 28}, x), out = dir_ / "m.tqm";
  auto q = run_argv({"quantize", "--json", model(), "--calib", calib.string(), "-o", out.string()});
  ASSERT_EQ(q.code, 0) << q.err;
  // Loud about it: the clamped outlier is named on stderr and in the JSON.
  EXPECT_NE(q.err.find("tinyq: warning: calibration data: 1 of 15680 input values"), std::string::npos) << q.err;
  EXPECT_NE(q.err.find("element 4220 = 1e+38, sample 5"), std::string::npos) << q.err;
  const auto j = nlohmann::json::parse(q.out);
  ASSERT_EQ(j["warnings"].size(), 1u) << q.out;
  for (auto& layer : j["layers"]) {
    EXPECT_LT(layer["scale"].get<double>(), 1.0) << layer["name"];  // was ~1e35
    EXPECT_GT(layer["sqnr_db"].get<double>(), 15.0) << layer["name"];
  }
  auto e = run_argv({"eval", "--json", "--count", "300", out.string(), "--data", kImages, "--labels", kLabels});
  ASSERT_EQ(e.code, 0) << e.err;
  std::printf("[   INFO   ] 1e38 pixel: float top-1 %.4f, int8 top-1 %.4f\n", float_top1(e.out), int8_top1(e.out));
  EXPECT_GT(int8_top1(e.out), float_top1(e.out) - 0.03);  // was 0.05 against 0.90
}

TEST_F(BadData, UnscaledIntegerPixelsWarnAndStrictWritesNothing) {
  if (!have_data()) GTEST_SKIP() << "needs dataset-fashion-mnist";
  const auto pixels = train_pixels(64);
  std::vector<std::int32_t> x(pixels.begin(), pixels.end());  // 0..255, read unscaled (int32)
  const fs::path calib = npy("calib.npy", "<i4", {64, 1, 28, 28}, x.data(), x.size() * 4), out = dir_ / "m.tqm";
  auto q = run_argv({"quantize", "--json", model(), "--calib", calib.string(), "-o", out.string()});
  ASSERT_EQ(q.code, 0) << q.err;
  EXPECT_NE(q.err.find("tinyq: warning: calibration data: every input value is an integer in [0, 255]"),
            std::string::npos)
      << q.err;
  EXPECT_FALSE(nlohmann::json::parse(q.out)["warnings"].empty());
  EXPECT_TRUE(fs::exists(out));
  fs::remove(out);

  auto strict = run_argv({"quantize", "--strict", model(), "--calib", calib.string(), "-o", out.string()});
  EXPECT_EQ(strict.code, 1) << strict.err;
  EXPECT_NE(strict.err.find("tinyq: warning:"), std::string::npos) << strict.err;
  EXPECT_NE(strict.err.find("--strict"), std::string::npos) << strict.err;
  EXPECT_FALSE(fs::exists(out));
  for (const auto& f : fs::directory_iterator(dir_))
    EXPECT_EQ(f.path().filename().string().find("m.tqm"), std::string::npos) << f.path();
}

TEST_F(BadData, IdenticalInputsWarnAndCleanDataDoesNot) {
  if (!have_data()) GTEST_SKIP() << "needs dataset-fashion-mnist";
  const fs::path blank = write_npy("blank.npy", {8, 1, 28, 28}, 0.0f), out = dir_ / "m.tqm";
  auto q = run_argv({"quantize", model(), "--calib", blank.string(), "-o", out.string()});
  ASSERT_EQ(q.code, 0) << q.err;
  EXPECT_NE(q.err.find("tinyq: warning: calibration data: every input value is 0"), std::string::npos) << q.err;

  // Real images, checked on the held-back samples past --calib-count: no warning.
  auto clean = run_argv(
      {"quantize", "--json", "--strict", "--calib-count", "200", model(), "--calib", kImages, "-o", out.string()});
  ASSERT_EQ(clean.code, 0) << clean.err;
  EXPECT_EQ(clean.err.find("warning"), std::string::npos) << clean.err;
  EXPECT_TRUE(nlohmann::json::parse(clean.out)["warnings"].empty());
}

TEST_F(BadData, ACollapsedResultOnHeldBackSamplesWarns) {
  if (!have_data()) GTEST_SKIP() << "needs dataset-fashion-mnist";
  // Calibrated on 8 blank images, checked on the 200 real ones after them: every range is tiny
  // and real images saturate.
  const auto pixels = train_pixels(200);
  std::vector<float> x(8 * 784, 0.0f);
  for (auto p : pixels) x.push_back(float(p) / 255.0f);
  const fs::path calib = npy_f32("calib.npy", {208, 1, 28, 28}, x), out = dir_ / "m.tqm";
  auto q =
      run_argv({"quantize", "--json", "--calib-count", "8", model(), "--calib", calib.string(), "-o", out.string()});
  ASSERT_EQ(q.code, 0) << q.err;
  EXPECT_NE(q.err.find("tinyq: warning: the int8 model is far from the float model on 200 held-back samples"),
            std::string::npos)
      << q.err;
  EXPECT_EQ(nlohmann::json::parse(q.out)["warnings"].size(), 2u) << q.out;  // identical inputs + collapse
}

TEST_F(BadData, ScaleZeroIsBadInput) {
  if (!have_data()) GTEST_SKIP() << "needs dataset-fashion-mnist";
  const fs::path out = dir_ / "m.tqm";
  expect_bad_input(run_argv({"quantize", model(), "--calib", kImages, "--scale", "0", "-o", out.string()}), "--scale");
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
