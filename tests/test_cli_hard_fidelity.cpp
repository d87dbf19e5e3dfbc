// Quantization fidelity on the adversarial zoo (models/hard: zoo models under function-preserving
// rescaling, outlier and dead channels, standalone BatchNormalization). Each variant is
// quantized with `best` and `pow2` on 500 training images and evaluated on the first 2000
// test images: int8 top-1 must stay within a bound of float top-1. The full figures (1000
// calibration images, 10k test images) are bench/quant_fidelity.sh --hard in BENCHMARKS.md;
// the bounds here allow for the smaller sets (one image is 0.05 pp).
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_fidelity.hpp"

namespace tinyq::testing {
namespace {

std::vector<std::string> hard_variants() {
  std::ifstream file(kModels / "hard" / "hard.json");
  if (!file) return {};
  const nlohmann::json list = nlohmann::json::parse(file);  // kept alive across the loop
  std::vector<std::string> names;
  for (auto& [name, _] : list["variants"].items()) names.push_back(name);
  return names;
}

struct Case {
  std::string variant, preset;
  double max_drop_pp;
};

std::vector<Case> cases() {
  std::vector<Case> all;
  for (const auto& v : hard_variants()) {
    all.push_back({v, "best", 0.5});
    all.push_back({v, "pow2", 1.0});
  }
  return all;
}

class HardFidelity : public FidelityCli, public ::testing::WithParamInterface<Case> {};

TEST_P(HardFidelity, Int8StaysNearFloat) {
  const Case& c = GetParam();
  expect_int8_near_float(kModels / "hard" / (c.variant + ".onnx"), c.preset, c.max_drop_pp);
}

INSTANTIATE_TEST_SUITE_P(Hard, HardFidelity, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.variant + "_" + info.param.preset;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(HardFidelity);

}  // namespace
}  // namespace tinyq::testing
