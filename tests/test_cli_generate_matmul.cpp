// A self-attention block (two MatMuls between activations) through quantize, generate and
// verify: the generated code calls matmul_s8 and the firmware on an emulated Cortex-M4 is
// byte-identical to the host int8 executor.
#include <nlohmann/json.hpp>

#include "attention_model.hpp"
#include "cli_fixture.hpp"
#include "data/npy.hpp"

namespace tinyq::testing {
namespace {

class CliMatMul : public Cli {};

TEST_F(CliMatMul, AttentionFirmwareEqualsTheHostOnCortexM4) {
  const fs::path model = write("attention.onnx", attention_model_bytes());
  const fs::path data = dir_ / "x.npy", tqm = dir_ / "m.tqm", out = dir_ / "fw";
  const std::int64_t per = kAttentionSeq * kAttentionDim;
  tinyq::write_npy(data.string(), Tensor::from_floats({32, kAttentionSeq, kAttentionDim},
                                                      normal_values(std::size_t(32 * per), 3, 1.0f)));
  Result q = run_argv({"quantize", model.string(), "--calib", data.string(), "-o", tqm.string()});
  ASSERT_EQ(q.code, 0) << q.err;
  Result g = run_argv({"generate", tqm.string(), "--target", "cortex-m4", "-o", out.string(), "--name", "att"});
  ASSERT_EQ(g.code, 0) << g.err;
  const std::string source = slurp(out / "att.cpp");
  std::size_t calls = 0;
  for (std::size_t at = source.find("rt::matmul_s8("); at != std::string::npos;
       at = source.find("rt::matmul_s8(", at + 1))
    ++calls;
  EXPECT_EQ(calls, 2u);
  Result v =
      run_argv({"verify", tqm.string(), "--target", "cortex-m4", "--data", data.string(), "--count", "8", "--json"});
  ASSERT_EQ(v.code, 0) << v.err;
  const auto j = nlohmann::json::parse(v.out);
  EXPECT_EQ(j["count"], 8);
  EXPECT_EQ(j["mismatches"], 0);
}

}  // namespace
}  // namespace tinyq::testing
