// The sequence-model zoo (issue 13: Fashion-MNIST read row by row, models/sequence/): each
// trained model runs in the float executor on its 8 saved test images and must give torch's
// logits (saved at export by models/sequence/train_sequence_zoo.py) and the same class.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <ostream>
#include <string>

#include "data/npy.hpp"
#include "exec/float_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "passes/passes.hpp"

namespace tinyq {
namespace {

const std::filesystem::path kZoo = std::filesystem::path(TINYQ_SOURCE_DIR) / "models" / "sequence";

struct SequenceModel {
  std::string name;
  Op layer;   // the layer the model is about: it must survive the import as this op
  int count;  // how many of them
};

// gtest prints the parameter in each test's ctest name: the model name, not its bytes.
void PrintTo(const SequenceModel& m, std::ostream* os) { *os << m.name; }

int count_ops(const Graph& g, Op op) {
  return int(std::count_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.op == op; }));
}

std::int64_t argmax_row(const Tensor& t, std::int64_t row, std::int64_t classes) {
  const float* p = t.f32().data() + row * classes;
  return std::max_element(p, p + classes) - p;
}

class SequenceZoo : public ::testing::TestWithParam<SequenceModel> {};

TEST_P(SequenceZoo, FloatExecutorMatchesTorch) {
  const SequenceModel& m = GetParam();
  const auto model = kZoo / (m.name + ".onnx");
  const auto input = kZoo / (m.name + ".input.npy");
  const auto output = kZoo / (m.name + ".output.npy");
  if (!std::filesystem::exists(model) || !std::filesystem::exists(input) || !std::filesystem::exists(output))
    GTEST_SKIP() << model << " or its saved inputs/outputs absent (models/sequence/train_sequence_zoo.py)";
  Graph g = import_onnx_file(model.string());
  simplify(g);
  EXPECT_EQ(count_ops(g, m.layer), m.count) << m.name;

  const Tensor x = read_npy(input.string());
  const Tensor expected = read_npy(output.string());
  const Tensor got = FloatExecutor(g).run({x})[0];
  ASSERT_EQ(got.shape(), expected.shape());
  ASSERT_EQ(expected.shape().size(), 2u);
  const std::int64_t rows = expected.shape()[0], classes = expected.shape()[1];
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* e = expected.f32().data() + r * classes;
    const float* o = got.f32().data() + r * classes;
    // Tolerance relative to the spread of this sample's logits: float summation order differs
    // from torch's, which over 28 recurrent steps gives ~1e-7 of it.
    const auto [lo, hi] = std::minmax_element(e, e + classes);
    const double tolerance = 1e-4 * std::max(1.0, double(*hi - *lo));
    for (std::int64_t c = 0; c < classes; ++c)
      EXPECT_NEAR(o[c], e[c], tolerance) << m.name << " sample " << r << " class " << c;
    EXPECT_EQ(argmax_row(got, r, classes), argmax_row(expected, r, classes)) << m.name << " sample " << r;
  }
}

INSTANTIATE_TEST_SUITE_P(Sequence, SequenceZoo,
                         ::testing::Values(SequenceModel{"gru_rows", Op::GRU, 1},
                                           SequenceModel{"lstm_rows", Op::LSTM, 1},
                                           SequenceModel{"bigru_rows", Op::GRU, 1},
                                           SequenceModel{"conv_gru", Op::GRU, 1},
                                           SequenceModel{"conv1d_rows", Op::Conv, 3}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace tinyq
