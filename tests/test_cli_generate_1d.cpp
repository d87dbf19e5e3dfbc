// A 1-D temporal conv net through the command line: quantize, generate, and the firmware on
// an emulated Cortex-M4 byte-identical to the host int8 executor.
#include <nlohmann/json.hpp>
#include <random>

#include "cli_fixture.hpp"
#include "data/npy.hpp"

namespace tinyq::testing {
namespace {

class CliGenerate1d : public Cli {
 protected:
  // 64 random signals of `channels` x `length`, as (N,C,L) .npy.
  fs::path signals(std::int64_t channels = 1, std::int64_t length = 64) {
    std::mt19937 rng(7);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> v(std::size_t(64 * channels * length));
    for (auto& x : v) x = dist(rng);
    fs::path p = dir_ / "signals.npy";
    tinyq::write_npy(p.string(), Tensor::from_floats({64, channels, length}, v));
    return p;
  }
};

TEST_F(CliGenerate1d, TemporalConvNetFirmwareEqualsTheHostOnCortexM4) {
  const fs::path model = kModels / "oned" / "tcn.onnx";
  if (!fs::exists(model)) GTEST_SKIP() << model << " absent";
  const fs::path data = signals(), tqm = dir_ / "tcn.tqm", out = dir_ / "fw";
  Result q = run_argv({"quantize", model.string(), "--calib", data.string(), "-o", tqm.string()});
  ASSERT_EQ(q.code, 0) << q.err;
  Result g = run_argv({"generate", tqm.string(), "--target", "cortex-m4", "-o", out.string(), "--name", "tcn"});
  ASSERT_EQ(g.code, 0) << g.err;
  // The user sees ONNX's (N,C,L) input; inside it is the (N,1,L,C) tensor of the 2-D kernels.
  EXPECT_NE(slurp(out / "tcn.h").find("1x1x64 in the model"), std::string::npos);
  EXPECT_NE(slurp(out / "tcn.cpp").find("conv2d_s8"), std::string::npos);
  Result v =
      run_argv({"verify", tqm.string(), "--target", "cortex-m4", "--data", data.string(), "--count", "10", "--json"});
  ASSERT_EQ(v.code, 0) << v.err;
  auto j = nlohmann::json::parse(v.out);
  EXPECT_EQ(j["count"], 10);
  EXPECT_EQ(j["mismatches"], 0);
  EXPECT_GT(j["instructions"].get<double>(), 0);
}

TEST_F(CliGenerate1d, MultiChannelSequenceModelFirmwareEqualsTheHostOnCortexM55) {
  // Three input channels (the input is transposed once into (N,1,L,C)), BatchNorm on the
  // input, a (N,L,C) time-major output: the Helium build of the same kernels.
  const fs::path model = kModels / "oned" / "sequence_head.onnx";
  if (!fs::exists(model)) GTEST_SKIP() << model << " absent";
  const fs::path data = signals(3, 20), tqm = dir_ / "seq.tqm";
  Result q = run_argv({"quantize", model.string(), "--calib", data.string(), "-o", tqm.string()});
  ASSERT_EQ(q.code, 0) << q.err;
  Result v =
      run_argv({"verify", tqm.string(), "--target", "cortex-m55", "--data", data.string(), "--count", "10", "--json"});
  ASSERT_EQ(v.code, 0) << v.err;
  auto j = nlohmann::json::parse(v.out);
  EXPECT_EQ(j["count"], 10);
  EXPECT_EQ(j["mismatches"], 0);
}

}  // namespace
}  // namespace tinyq::testing
