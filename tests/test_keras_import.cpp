// The Keras importer against a float64 numpy reference: small Keras 2 .h5 files written by
// tests/keras/make_h5.py (Sequential in its three saved forms, Functional with branches and
// a shared layer, every supported layer family, 'same' padding over odd/even sizes and
// strides), imported, run by the float executor as imported and after simplify (what the
// CLI runs), and compared output by output. Skipped, saying why, without python3-h5py.
#include <gtest/gtest.h>

#include "exec/float_executor.hpp"
#include "frontend/keras/keras_import.hpp"
#include "keras/keras_test_data.hpp"
#include "passes/passes.hpp"

namespace tinyq {
namespace {

namespace fs = std::filesystem;
using keras_testing::expect_close;
using keras_testing::generated_cases;

// float32 executor against float64 numpy: sums of a few hundred products.
constexpr double kTolerance = 1e-5;

class KerasCase : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    std::string why;
    dir_ = generated_cases(&why);
    if (dir_.empty()) GTEST_SKIP() << why;
  }
  fs::path dir_;
};

std::vector<Tensor> numbered(const fs::path& dir, const std::string& prefix) {
  std::vector<Tensor> tensors;
  for (int i = 0; fs::exists(dir / (prefix + std::to_string(i) + ".npy")); ++i)
    tensors.push_back(read_npy((dir / (prefix + std::to_string(i) + ".npy")).string()));
  return tensors;
}

TEST_P(KerasCase, MatchesNumpyReference) {
  const std::string name = GetParam();
  const std::vector<Tensor> inputs = numbered(dir_, name + "_in");
  const std::vector<Tensor> expected = numbered(dir_, name + "_out");
  ASSERT_FALSE(inputs.empty());
  ASSERT_FALSE(expected.empty());
  for (bool simplified : {false, true}) {
    Graph graph = import_keras_file((dir_ / (name + ".h5")).string());
    if (simplified) simplify(graph);
    ASSERT_EQ(graph.inputs.size(), inputs.size());
    ASSERT_EQ(graph.outputs.size(), expected.size());
    FloatExecutor executor(graph, {.threads = 1});
    const std::vector<Tensor> outputs = executor.run(inputs);
    for (std::size_t j = 0; j < outputs.size(); ++j)
      expect_close(outputs[j], expected[j], kTolerance,
                   name + (simplified ? " (simplified)" : "") + " output " + std::to_string(j) + " '" +
                       graph.value(graph.outputs[j]).name + "'");
  }
}

INSTANTIATE_TEST_SUITE_P(Generated, KerasCase,
                         ::testing::Values("sequential_input", "sequential_shape", "sequential_list", "branches",
                                           "same_padding", "spatial", "one_d", "activations", "shared",
                                           "flatten_channels_first", "recurrent", "recurrent_int8"),
                         [](const ::testing::TestParamInfo<const char*>& info) { return std::string(info.param); });

class KerasGraph : public KerasCase {};

int count(const Graph& g, Op op) {
  int n = 0;
  for (auto& node : g.nodes) n += node.op == op;
  return n;
}

// Keras' channels-last order is the IR's stored order: Flatten is a Reshape and the Dense
// after it keeps Keras' kernel (transposed to [units, in]) with no column permutation or
// transpose node; BatchNormalization folds into the convolution; names are Keras' names.
TEST_F(KerasGraph, FlattenDenseNeedsNoPermutation) {
  Graph g = import_keras_file((dir_ / "sequential_input.h5").string());
  EXPECT_EQ(count(g, Op::Transpose), 0);
  EXPECT_EQ(count(g, Op::Reshape), 1);
  EXPECT_EQ(g.value(g.inputs[0]).layout, Layout::Plain);
  EXPECT_EQ(g.value(g.inputs[0]).name, "input");
  EXPECT_EQ(shape_string(g.value(g.inputs[0]).shape), "[1,9,11,3]");
  EXPECT_EQ(g.value(g.outputs[0]).name, "dense");
  simplify(g);
  EXPECT_EQ(count(g, Op::ChannelAffine), 0) << "BatchNormalization should fold into the Conv";
  EXPECT_EQ(count(g, Op::Transpose), 0);
}

// A layer called twice gives two values; the second call's is named layer_call1.
TEST_F(KerasGraph, SharedLayerCallsAreSeparateNodes) {
  Graph g = import_keras_file((dir_ / "shared.h5").string());
  EXPECT_EQ(count(g, Op::Dense), 3);
  ASSERT_EQ(g.outputs.size(), 2u);
  EXPECT_EQ(g.value(g.outputs[1]).name, "dense_call1");
  EXPECT_EQ(g.inputs.size(), 2u);
}

// 1-D layers run as 2-D ops on [N, 1, L, C], the layout TensorFlow gives them.
TEST_F(KerasGraph, OneDimensionalLayersUseHeightOne) {
  Graph g = import_keras_file((dir_ / "one_d.h5").string());
  for (auto& node : g.nodes) {
    if (node.op == Op::Conv || node.op == Op::MaxPool || node.op == Op::AvgPool) {
      EXPECT_EQ(g.value(node.inputs[0]).shape[1], 1) << node.name;
    }
  }
}

}  // namespace
}  // namespace tinyq
