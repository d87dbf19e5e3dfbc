// Quantization fidelity of the sequence zoo (models/sequence: GRU, LSTM, bidirectional GRU,
// conv + GRU and Conv1d classifiers of Fashion-MNIST read row by row). Each is quantized with
// `best` and `nnom` on 500 training images and evaluated on the first 2000 test images: int8
// top-1 must stay within a bound of float top-1. The full figures (1000 calibration images,
// 10k test images) are bench/sequence_fidelity.sh in BENCHMARKS.md (best <= 0.10 pp there,
// issue 13's bound 0.3 pp); the bounds here allow for the smaller sets (one image is 0.05 pp).
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_fixture.hpp"

namespace tinyq::testing {
namespace {

const std::string kTrainImages = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

std::vector<std::string> sequence_models() {
  std::ifstream file(kModels / "sequence" / "sequence_zoo.json");
  if (!file) return {};
  const nlohmann::json list = nlohmann::json::parse(file);  // kept alive across the loop
  std::vector<std::string> names;
  for (auto& [name, _] : list.items()) names.push_back(name);
  return names;
}

struct Case {
  std::string model, preset;
  double max_drop_pp;
};

std::vector<Case> cases() {
  std::vector<Case> all;
  for (const auto& m : sequence_models()) {
    all.push_back({m, "best", 0.5});
    all.push_back({m, "nnom", 1.0});
  }
  return all;
}

class SequenceFidelity : public Cli, public ::testing::WithParamInterface<Case> {};

TEST_P(SequenceFidelity, Int8StaysNearFloat) {
  const Case& c = GetParam();
  const fs::path model = kModels / "sequence" / (c.model + ".onnx");
  if (!fs::exists(model) || !fs::exists(kImages) || !fs::exists(kTrainImages))
    GTEST_SKIP() << "needs " << model << " and dataset-fashion-mnist";
  const fs::path tqm = dir_ / "m.tqm";
  auto q = run_argv({"quantize", model.string(), "--calib", kTrainImages, "--calib-count", "500", "--preset", c.preset,
                     "-o", tqm.string(), "--json"});
  ASSERT_EQ(q.code, 0) << q.err;
  auto e = run_argv({"eval", tqm.string(), "--data", kImages, "--labels", kLabels, "--count", "2000", "--json"});
  ASSERT_EQ(e.code, 0) << e.err;
  const auto j = nlohmann::json::parse(e.out);
  const double drop = 100.0 * (j["float"]["top1"].get<double>() - j["int8"]["top1"].get<double>());
  EXPECT_LE(drop, c.max_drop_pp) << c.model << " " << c.preset << ": float " << j["float"]["top1"] << ", int8 "
                                 << j["int8"]["top1"];
}

INSTANTIATE_TEST_SUITE_P(Sequence, SequenceFidelity, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.model + "_" + info.param.preset;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SequenceFidelity);

}  // namespace
}  // namespace tinyq::testing
