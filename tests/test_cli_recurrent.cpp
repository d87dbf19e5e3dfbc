// PyTorch-exported LSTM / GRU / RNN models (models/recurrent/) on the command line: the float
// path works (run gives torch's outputs, inspect and eval read the model); LSTM and GRU (and
// RNN with tanh) quantize, generate, and run on an emulated Cortex-M4 byte-identical to the
// host (rnn.onnx's second layer is an RNN with Relu, whose state takes its output's scale). The GRU also verifies on
// Cortex-M7.
#include <nlohmann/json.hpp>

#include "cli_fixture.hpp"
#include "data/npy.hpp"

namespace tinyq::testing {
namespace {

const fs::path kRecurrent = kModels / "recurrent";

class CliRecurrent : public Cli, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    Cli::SetUp();
    if (!fs::exists(kRecurrent / (GetParam() + ".onnx"))) GTEST_SKIP() << "models/recurrent/ absent";
  }
  std::string model() const { return (kRecurrent / (GetParam() + ".onnx")).string(); }
  std::string input() const { return (kRecurrent / (GetParam() + ".input.npy")).string(); }
  std::string op() const { return GetParam() == "lstm" ? "LSTM" : GetParam() == "gru" ? "GRU" : "RNN"; }
};

TEST_P(CliRecurrent, RunGivesTorchOutputs) {
  const fs::path out = dir_ / "out.npy";
  const Result r = run_argv({"run", model(), "-i", input(), "-o", out.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const Tensor got = read_npy(out.string());
  const Tensor want = read_npy((kRecurrent / (GetParam() + ".output.npy")).string());
  ASSERT_EQ(got.shape(), want.shape());
  for (std::int64_t i = 0; i < got.numel(); ++i)
    EXPECT_NEAR(got.f32()[std::size_t(i)], want.f32()[std::size_t(i)], 1e-5) << i;
}

TEST_P(CliRecurrent, InspectSaysEveryLayerIsInt8Ready) {
  const Result r = run_argv({"inspect", model(), "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["int8_ready"].get<bool>()) << r.out;
  bool counted = false;
  for (const auto& layer : j["layers"])
    if (layer["op"] == op()) counted = counted || layer["macs"].get<std::int64_t>() > 0;
  EXPECT_TRUE(counted) << "a recurrent layer's MACs";
}

TEST_P(CliRecurrent, EvalRunsTheFloatModel) {
  // Labels 0..4 repeated: only that eval accepts the float model is checked here.
  Tensor labels(DType::i64, {8});
  for (int i = 0; i < 8; ++i) labels.data<std::int64_t>()[std::size_t(i)] = i % 5;
  const fs::path labels_path = dir_ / "labels.npy";
  tinyq::write_npy(labels_path.string(), labels);
  const Result r = run_argv({"eval", model(), "--data", input(), "--labels", labels_path.string(), "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("float"), std::string::npos) << r.out;
}

TEST_P(CliRecurrent, QuantizeGenerateVerifyOnCortexM4) {
  const fs::path tqm = dir_ / "model.tqm";
  const Result q = run_argv({"quantize", model(), "--calib", input(), "-o", tqm.string(), "--json"});
  ASSERT_EQ(q.code, 0) << q.err;
  // 8 random sequences, float vs int8 on the same data: the Q15 state keeps the error small.
  const auto j = nlohmann::json::parse(q.out);
  EXPECT_GT(j["prediction"]["output_sqnr_db"].get<double>(), 30.0) << q.out;
  const fs::path out = dir_ / "fw";
  const Result g = run_argv({"generate", tqm.string(), "--target", "cortex-m4", "-o", out.string(), "--name", "seq"});
  ASSERT_EQ(g.code, 0) << g.err;
  EXPECT_NE(slurp(out / "seq.cpp").find("rt::recurrent_s8("), std::string::npos);
  const Result v =
      run_argv({"verify", tqm.string(), "--target", "cortex-m4", "--data", input(), "--count", "8", "--json"});
  ASSERT_EQ(v.code, 0) << v.err;
  const auto vj = nlohmann::json::parse(v.out);
  EXPECT_EQ(vj["count"], 8);
  EXPECT_EQ(vj["mismatches"], 0);
  if (GetParam() != "gru") return;
  // The DSP build of the same kernel on Cortex-M7 (about 2 s), the GRU only to keep the
  // suite's time. Cortex-M55 (Helium) also gives 0 mismatches, but its firmware build takes
  // 4-5 s: tests/mcu's path tests cover that build.
  const Result t =
      run_argv({"verify", tqm.string(), "--target", "cortex-m7", "--data", input(), "--count", "8", "--json"});
  ASSERT_EQ(t.code, 0) << t.err;
  const auto tj = nlohmann::json::parse(t.out);
  EXPECT_EQ(tj["count"], 8);
  EXPECT_EQ(tj["mismatches"], 0);
}

INSTANTIATE_TEST_SUITE_P(Recurrent, CliRecurrent, ::testing::Values("lstm", "gru", "rnn"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tinyq::testing
