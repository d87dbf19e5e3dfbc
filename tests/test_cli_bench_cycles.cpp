// tinyq bench --cycles: the cycle estimate from the instruction mix, on a zoo model on the
// emulated Cortex-M4 (and the M7), and its bad input. Skipped without QEMU or arm-none-eabi-g++.
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli_fixture.hpp"

namespace tinyq::testing {
namespace {

const std::string kTrain = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

bool in_path(const std::string& tool) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string d; std::getline(dirs, d, ':');)
    if (!d.empty() && ::access((fs::path(d) / tool).c_str(), X_OK) == 0) return true;
  return false;
}

class CliBenchCycles : public Cli {
 protected:
  void SetUp() override {
    Cli::SetUp();
    if (!in_path("qemu-system-arm") || !in_path("arm-none-eabi-g++"))
      GTEST_SKIP() << "needs qemu-system-arm and arm-none-eabi-g++";
  }
  fs::path quantized(const std::string& model) {
    fs::path tqm = dir_ / (model + ".tqm");
    Result r = run_argv({"quantize", (kModels / (model + ".onnx")).string(), "--calib", kTrain, "--calib-count", "100",
                         "-o", tqm.string()});
    EXPECT_EQ(r.code, 0) << r.err;
    return tqm;
  }
  static std::uint64_t classes(const nlohmann::json& mix) {
    std::uint64_t sum = 0;
    for (const char* k : {"alu", "it", "load", "load_pipelined", "store", "store_reg", "ldm", "stm", "mul", "div",
                          "branch_taken", "branch_not_taken"})
      sum += mix.at(k).get<std::uint64_t>();
    return sum;
  }
};

TEST_F(CliBenchCycles, EstimatesAtLeastOneCyclePerInstructionOnM4AndLeavesTheCountsAlone) {
  const fs::path tqm = quantized("dwsep");
  Result r = run_argv({"bench", tqm.string(), "--target", "cortex-m4", "--cycles", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const auto insns = j["instructions"].get<std::uint64_t>();
  const auto cycles = j["cycles"].get<std::uint64_t>();
  EXPECT_TRUE(j["cycles_are_estimate"].get<bool>());
  // Every M4 instruction takes at least one cycle; loads, LDM and taken branches more.
  EXPECT_GT(cycles, insns);
  EXPECT_LE(j["cycles_low"].get<std::uint64_t>(), cycles);
  EXPECT_GE(j["cycles_high"].get<std::uint64_t>(), cycles);
  EXPECT_EQ(j["mhz"].get<double>(), 168.0);
  EXPECT_NEAR(j["milliseconds"].get<double>(), double(cycles) / 168e3, 1e-9);
  // The plugin's classes cover every instruction the exact count has, per layer and in all.
  EXPECT_EQ(classes(j["instruction_mix"]), insns);
  std::uint64_t layer_cycles = 0;
  for (const auto& l : j["layers"]) {
    EXPECT_EQ(classes(l["instruction_mix"]), l["instructions"].get<std::uint64_t>()) << l["name"];
    EXPECT_GE(l["cycles"].get<std::uint64_t>(), l["instructions"].get<std::uint64_t>()) << l["name"];
    layer_cycles += l["cycles"].get<std::uint64_t>();
  }
  EXPECT_LE(layer_cycles, cycles);
  // A kernel-heavy model reads its weights from flash and multiplies.
  EXPECT_GT(j["instruction_mix"]["flash_reads"].get<std::uint64_t>(), 0u);
  EXPECT_GT(j["instruction_mix"]["mul"].get<std::uint64_t>(), 0u);

  // Counting the mix leaves the exact instruction counts unchanged.
  Result plain = run_argv({"bench", tqm.string(), "--target", "cortex-m4", "--json"});
  ASSERT_EQ(plain.code, 0) << plain.err;
  EXPECT_EQ(nlohmann::json::parse(plain.out)["instructions"].get<std::uint64_t>(), insns);

  // Wait states add cycles for every flash read; the clock scales the milliseconds only.
  Result slow = run_argv(
      {"bench", tqm.string(), "--target", "cortex-m4", "--cycles", "--json", "--wait-states", "2", "--mhz", "84"});
  ASSERT_EQ(slow.code, 0) << slow.err;
  const auto s = nlohmann::json::parse(slow.out);
  EXPECT_GE(s["cycles"].get<std::uint64_t>(), cycles + 2 * j["instruction_mix"]["flash_reads"].get<std::uint64_t>());
  EXPECT_NEAR(s["milliseconds"].get<double>(), double(s["cycles"].get<std::uint64_t>()) / 84e3, 1e-9);
}

TEST_F(CliBenchCycles, TextOutputSaysItIsAnEstimateAndM7Works) {
  const fs::path tqm = quantized("mlp");
  Result r = run_argv({"bench", tqm.string(), "--target", "cortex-m7", "--cycles"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("ESTIMATE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("at 216 MHz"), std::string::npos) << r.out;
}

TEST_F(CliBenchCycles, BadInputIsOneErrorLine) {
  const fs::path tqm = quantized("mlp");
  expect_bad_input(run_argv({"bench", tqm.string(), "--target", "cortex-m55", "--cycles"}), "cortex-m55");
  expect_bad_input(run_argv({"bench", tqm.string(), "--target", "cortex-m4", "--mhz", "100"}), "--cycles");
  expect_bad_input(run_argv({"bench", tqm.string(), "--target", "cortex-m4", "--cycles", "--mhz", "0"}), "--mhz");
  expect_bad_input(run_argv({"bench", tqm.string(), "--target", "cortex-m4", "--cycles", "--wait-states", "-1"}),
                   "--wait-states");
  expect_bad_input(run_argv({"bench", "--reference-layers", "--cycles"}), "--cycles");
}

}  // namespace
}  // namespace tinyq::testing
