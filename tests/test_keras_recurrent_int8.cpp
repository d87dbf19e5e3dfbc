// A Keras recurrent model (make_h5.py's "recurrent_int8": LSTM into GRU with reset_after=False
// into a Bidirectional GRU with reset_after, Dense softmax head) on the command line: quantize
// puts its three recurrent layers on recurrent_s8 and stays close to float, and the firmware
// on an emulated Cortex-M4 gives the host's bytes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "cli_fixture.hpp"
#include "data/npy.hpp"
#include "keras/keras_test_data.hpp"
#include "qmodel/tqm_file.hpp"

namespace tinyq::testing {
namespace {

class KerasRecurrentInt8 : public Cli {};

TEST_F(KerasRecurrentInt8, QuantizesOntoTheRecurrentKernelAndVerifiesOnCortexM4) {
  std::string why;
  const auto cases = keras_testing::generated_cases(&why);
  if (cases.empty()) GTEST_SKIP() << why;
  const fs::path model = cases / "recurrent_int8.h5";
  ASSERT_TRUE(fs::exists(model));
  // 16 sequences of 7 steps of 5 features in [-1, 1].
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> values(16 * 7 * 5);
  for (auto& v : values) v = dist(rng);
  const fs::path data = dir_ / "sequences.npy", tqm = dir_ / "model.tqm";
  tinyq::write_npy(data.string(), Tensor::from_floats({16, 7, 5}, values));

  const Result q = run_argv({"quantize", model.string(), "--calib", data.string(), "-o", tqm.string(), "--json"});
  ASSERT_EQ(q.code, 0) << q.err;
  const auto j = nlohmann::json::parse(q.out);
  EXPECT_GT(j["prediction"]["output_sqnr_db"].get<double>(), 35.0) << q.out;
  const QGraph g = load_tqm(tqm.string());
  int recurrent = 0;
  for (const QNode& n : g.nodes) recurrent += n.kernel == QKernel::Recurrent;
  EXPECT_EQ(recurrent, 3);  // LSTM, GRU, the Bidirectional GRU as one two-direction node

  const Result v =
      run_argv({"verify", tqm.string(), "--target", "cortex-m4", "--data", data.string(), "--count", "8", "--json"});
  ASSERT_EQ(v.code, 0) << v.err;
  const auto vj = nlohmann::json::parse(v.out);
  EXPECT_EQ(vj["count"], 8);
  EXPECT_EQ(vj["mismatches"], 0);
}

}  // namespace
}  // namespace tinyq::testing
