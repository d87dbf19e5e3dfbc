// The model zoo runs in tinyq exactly as in PyTorch: the outputs saved at export match,
// and the full Fashion-MNIST test accuracy equals the one PyTorch measured.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/dataset.hpp"
#include "data/npy.hpp"
#include "exec/classification.hpp"
#include "exec/float_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "passes/passes.hpp"

namespace tinyq {
namespace {

const std::filesystem::path kModels = std::filesystem::path(TINYQ_SOURCE_DIR) / "models";

std::vector<std::string> zoo_names() {
  std::vector<std::string> names;
  std::ifstream file(kModels / "zoo.json");
  if (!file) return names;
  auto zoo = nlohmann::json::parse(file);
  for (auto& [name, _] : zoo.items()) names.push_back(name);
  return names;
}

Graph load(const std::string& name) {
  Graph g = import_onnx_file((kModels / (name + ".onnx")).string());
  simplify(g);
  return g;
}

class ZooModel : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooModel, MatchesTorchOutputsSavedAtExport) {
  const std::string name = GetParam();
  Graph g = load(name);
  Tensor input = read_npy((kModels / "ref" / (name + ".input.npy")).string());
  Tensor expected = read_npy((kModels / "ref" / (name + ".output.npy")).string());
  Tensor got = FloatExecutor(g).run({input})[0];
  ASSERT_EQ(got.shape(), expected.shape());
  float worst = 0;
  for (std::int64_t i = 0; i < got.numel(); ++i)
    worst = std::max(worst, std::abs(got.f32()[std::size_t(i)] - expected.f32()[std::size_t(i)]));
  EXPECT_LE(worst, 1e-4f) << name;
}

TEST_P(ZooModel, FullTestSetAccuracyEqualsTorch) {
  const std::string name = GetParam();
  if (!std::filesystem::exists(fashion_mnist_path(false, false))) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  std::ifstream file(kModels / "zoo.json");
  const double torch_top1 = nlohmann::json::parse(file)[name]["float_top1"].get<double>();
  Graph g = load(name);
  Tensor images = fashion_mnist(false, false);
  Tensor labels = fashion_mnist(false, true);
  std::vector<std::int64_t> label_values = labels.as_i64();
  Tensor scores = FloatExecutor(g).run({images})[0];
  double top1 = top_k_accuracy(scores, label_values, 1);
  // Float rounding may flip a near-tie or two out of 10,000.
  EXPECT_NEAR(top1, torch_top1, 0.0005) << name;
}

// Keep parameter names printable for ctest.
std::string param_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

INSTANTIATE_TEST_SUITE_P(Zoo, ZooModel, ::testing::ValuesIn(zoo_names()), param_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ZooModel);

}  // namespace
}  // namespace tinyq
