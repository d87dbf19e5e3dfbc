// A .tqm file with a valid checksum but inconsistent contents (crafted, or written by a
// buggy tool) is rejected on load with one error naming the node, before any kernel or
// code generator indexes an array with the wrong length.
#include <gtest/gtest.h>

#include "frontend/onnx/onnx_import.hpp"
#include "passes/passes.hpp"
#include "quant/qgraph_validation.hpp"
#include "quant/quantizer.hpp"
#include "quant/tqm_file.hpp"
#include "small_cnn.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

class TqmValidation : public ::testing::Test {
 protected:
  void SetUp() override {
    auto bytes = testing::small_cnn().bytes();
    Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "test.onnx");
    simplify(g);
    q_ = quantize(g, Tensor::from_floats({32, 2, 8, 8}, testing::random_values(32 * 128, 5, 0.0f, 1.0f)), {});
  }
  QNode& first(QKernel k) {
    for (auto& n : q_.nodes)
      if (n.kernel == k) return n;
    throw std::runtime_error("no such node");
  }
  // Serializes (valid checksum) and loads: the error message, or "" if it loaded.
  std::string load_error() {
    auto bytes = serialize_tqm(q_);
    try {
      deserialize_tqm(bytes.data(), bytes.size(), "crafted.tqm");
      return "";
    } catch (const Error& e) {
      return e.what();
    }
  }
  QGraph q_;
};

TEST_F(TqmValidation, TheQuantizersOwnOutputPasses) {
  EXPECT_NO_THROW(validate_qgraph(q_, "model.tqm"));
  EXPECT_EQ(load_error(), "");
}

TEST_F(TqmValidation, ShortWeightsAreRejectedNamingTheNode) {
  QNode& conv = first(QKernel::Conv);
  conv.i8["weights"].pop_back();
  const std::string e = load_error();
  EXPECT_NE(e.find("crafted.tqm"), std::string::npos) << e;
  EXPECT_NE(e.find(conv.name), std::string::npos) << e;
  EXPECT_NE(e.find("weights"), std::string::npos) << e;
}

TEST_F(TqmValidation, ParametersThatDisagreeWithTheTensorSizesAreRejected) {
  first(QKernel::Conv).ints["out_h"] += 1;
  EXPECT_NE(load_error().find("output size"), std::string::npos);
}

TEST_F(TqmValidation, OutOfRangeShiftIsRejected) {
  first(QKernel::Dense).i32["requant_shift"][0] = 40;
  EXPECT_NE(load_error().find("shift"), std::string::npos);
}

TEST_F(TqmValidation, WeightsThatCouldOverflowTheAccumulatorAreRejected) {
  QNode& dense = first(QKernel::Dense);
  dense.i32["bias"][0] = 2147483000;
  EXPECT_NE(load_error().find("overflow"), std::string::npos);
}

TEST_F(TqmValidation, ANodeReadingAValueBeforeItIsComputedIsRejected) {
  std::swap(q_.nodes.front(), q_.nodes.back());
  EXPECT_NE(load_error().find("before it is computed"), std::string::npos);
}

TEST_F(TqmValidation, MissingParameterIsRejected) {
  first(QKernel::Conv).ints.erase("stride_h");
  EXPECT_NE(load_error().find("stride_h"), std::string::npos);
}

}  // namespace
}  // namespace tinyq
