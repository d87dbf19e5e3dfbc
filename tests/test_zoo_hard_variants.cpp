// The adversarial zoo (models/hard, made by models/make_hard_variants.py): every variant is a zoo model
// (or a base model stored in models/hard) under function-preserving transforms (per-channel rescaling,
// outlier channels, standalone BatchNormalization, dead channels), so through tinyq's ONNX importer,
// simplify pass and float executor it must compute what its base computes. Their int8 fidelity is measured
// by bench/quant_fidelity.sh --hard, not asserted here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <ostream>

#include "data/dataset.hpp"
#include "data/npy.hpp"
#include "exec/classification.hpp"
#include "exec/float_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "passes/passes.hpp"

namespace tinyq {
namespace {

const std::filesystem::path kModels = std::filesystem::path(TINYQ_SOURCE_DIR) / "models";
const std::filesystem::path kHard = kModels / "hard";

struct HardModel {
  std::string name;
  std::string file;        // relative to models/
  std::string base_file;   // relative to models/; empty for a base model stored in models/hard
  double float_top1 = -1;  // as measured by tinyq eval when the file was made; < 0 if not recorded
};

// The models of hard.json's sections ("bases": trained base models stored in models/hard, "variants").
std::vector<HardModel> hard_models(std::initializer_list<const char*> sections) {
  std::vector<HardModel> models;
  std::ifstream file(kHard / "hard.json");
  if (!file) return models;
  auto meta = nlohmann::json::parse(file);
  for (const char* section : sections) {
    if (!meta.contains(section)) continue;
    for (auto& [name, entry] : meta[section].items()) {
      HardModel m{name, entry.value("file", ""), entry.value("base_file", ""), entry.value("float_top1", -1.0)};
      if (!m.file.empty()) models.push_back(m);
    }
  }
  return models;
}

// gtest prints a failing parameter with this (instead of its bytes).
void PrintTo(const HardModel& m, std::ostream* os) { *os << m.name; }

Graph load(const std::filesystem::path& path) {
  Graph g = import_onnx_file(path.string());
  simplify(g);
  return g;
}

class HardVariant : public ::testing::TestWithParam<HardModel> {};
class HardModelTop1 : public ::testing::TestWithParam<HardModel> {};

// Each variant imports and its float outputs equal its base model's on the first 16 test images.
TEST_P(HardVariant, FloatOutputsEqualBaseModel) {
  const HardModel& m = GetParam();
  ASSERT_FALSE(m.base_file.empty()) << m.name << ": no base_file in hard.json";
  const auto path = kModels / m.file, base_path = kModels / m.base_file, input_path = kHard / "ref_input.npy";
  for (const auto& p : {path, base_path, input_path})
    if (!std::filesystem::exists(p)) GTEST_SKIP() << p << " is absent";
  Tensor input = read_npy(input_path.string());
  Tensor got = FloatExecutor(load(path)).run({input})[0];
  Tensor want = FloatExecutor(load(base_path)).run({input})[0];
  ASSERT_EQ(got.shape(), want.shape());
  float worst = 0, range = 0;
  for (std::int64_t i = 0; i < got.numel(); ++i) {
    const auto k = std::size_t(i);
    worst = std::max(worst, std::abs(got.f32()[k] - want.f32()[k]));
    range = std::max(range, std::abs(want.f32()[k]));
  }
  ASSERT_GT(range, 0.0f);
  // Rescaling by factors up to 10^4 and back costs float rounding only (~1e-7 relative today).
  EXPECT_LE(worst, 1e-4f * range) << m.name << ": max |variant - base| " << worst << ", max |base| " << range;
}

// The float top-1 on the full test set is the one recorded in hard.json (for a variant: equal to its base's).
TEST_P(HardModelTop1, FullTestSetTop1AsRecorded) {
  const HardModel& m = GetParam();
  const auto path = kModels / m.file;
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent";
  if (m.float_top1 < 0) GTEST_SKIP() << m.name << ": no float_top1 in hard.json";
  if (!std::filesystem::exists(fashion_mnist_path(false, false))) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  Tensor images = fashion_mnist(false, false);
  std::vector<std::int64_t> labels = fashion_mnist(false, true).as_i64();
  Tensor scores = FloatExecutor(load(path)).run({images})[0];
  // Float rounding may flip a near-tie or two out of 10,000.
  EXPECT_NEAR(top_k_accuracy(scores, labels, 1), m.float_top1, 0.0005) << m.name;
}

TEST(HardVariants, AtLeastEightVariants) {
  if (!std::filesystem::exists(kHard / "hard.json")) GTEST_SKIP() << "models/hard/hard.json is absent";
  EXPECT_GE(hard_models({"variants"}).size(), 8u);
}

std::string param_name(const ::testing::TestParamInfo<HardModel>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Hard, HardVariant, ::testing::ValuesIn(hard_models({"variants"})), param_name);
INSTANTIATE_TEST_SUITE_P(Hard, HardModelTop1, ::testing::ValuesIn(hard_models({"bases", "variants"})), param_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(HardVariant);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(HardModelTop1);

}  // namespace
}  // namespace tinyq
