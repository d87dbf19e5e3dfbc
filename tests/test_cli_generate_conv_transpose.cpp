// A conv autoencoder whose decoder is three ConvTranspose layers through the command line:
// quantize, generate (conv_transpose2d_s8 with its planned scratch), and the firmware on an
// emulated Cortex-M4 byte-identical to the host int8 executor.
#include <nlohmann/json.hpp>

#include "blob_images.hpp"
#include "cli_fixture.hpp"
#include "data/npy.hpp"

namespace tinyq::testing {
namespace {

class CliGenerateConvTranspose : public Cli {};

TEST_F(CliGenerateConvTranspose, DecoderFirmwareEqualsTheHostOnCortexM4) {
  const fs::path model = kModels / "upsampling" / "conv_autoencoder.onnx";
  if (!fs::exists(model)) GTEST_SKIP() << model << " absent";
  const fs::path data = dir_ / "blobs.npy", tqm = dir_ / "ae.tqm", out = dir_ / "fw";
  tinyq::write_npy(data.string(), blob_images(64, 7));
  Result q = run_argv({"quantize", model.string(), "--calib", data.string(), "-o", tqm.string()});
  ASSERT_EQ(q.code, 0) << q.err;
  Result g = run_argv({"generate", tqm.string(), "--target", "cortex-m4", "-o", out.string(), "--name", "ae"});
  ASSERT_EQ(g.code, 0) << g.err;
  const std::string source = slurp(out / "ae.cpp");
  std::size_t calls = 0;
  for (std::size_t at = 0; (at = source.find("rt::conv_transpose2d_s8(", at)) != std::string::npos; ++at) ++calls;
  EXPECT_EQ(calls, 3u);
  Result v =
      run_argv({"verify", tqm.string(), "--target", "cortex-m4", "--data", data.string(), "--count", "10", "--json"});
  ASSERT_EQ(v.code, 0) << v.err;
  auto j = nlohmann::json::parse(v.out);
  EXPECT_EQ(j["count"], 10);
  EXPECT_EQ(j["mismatches"], 0);
  EXPECT_GT(j["instructions"].get<double>(), 0);
}

}  // namespace
}  // namespace tinyq::testing
