// MatMul between activations at int8 (matmul_s8): a self-attention block quantizes with the
// `best` preset, both activation x activation MatMuls become matmul_s8 nodes, its output is
// close to float (SQNR >= 25 dB) and the .tqm round trip keeps them; batch dims that neither
// match nor are 1 are refused in one line naming the node.
#include <gtest/gtest.h>

#include "attention_model.hpp"
#include "exec/input_samples.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "passes/passes.hpp"
#include "qmodel/tqm_file.hpp"
#include "quant/int8_support.hpp"
#include "quant/layer_error.hpp"
#include "quant/quantizer.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

using testing::OnnxBuilder;

Graph import(const std::string& bytes, const std::string& name) {
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), name);
  simplify(g);
  return g;
}

TEST(QuantMatMul, AttentionBlockQuantizesCloseToFloat) {
  const Graph g = import(testing::attention_model_bytes(), "attention.onnx");
  const std::int64_t n = 128, per = testing::kAttentionSeq * testing::kAttentionDim;
  const Tensor calib = Tensor::from_floats({n, testing::kAttentionSeq, testing::kAttentionDim},
                                           testing::normal_values(std::size_t(n * per), 5, 1.0f));
  QuantizeOptions options;
  options.preset = "best";
  options.threads = 1;
  const QGraph q = quantize(g, calib, options);
  int matmuls = 0;
  for (const QNode& node : q.nodes) matmuls += node.kernel == QKernel::MatMul;
  EXPECT_EQ(matmuls, 2);
  const Tensor test = Tensor::from_floats({64, testing::kAttentionSeq, testing::kAttentionDim},
                                          testing::normal_values(std::size_t(64 * per), 6, 1.0f));
  const double sqnr = output_sqnr_db(q, InputSamples(test), 1);
  std::printf("attention int8 output SQNR: %.2f dB\n", sqnr);
  EXPECT_GE(sqnr, 25.0);

  // Serialization and validation keep the kernel and its parameters.
  const std::vector<std::uint8_t> bytes = serialize_tqm(q);
  const QGraph back = deserialize_tqm(bytes.data(), bytes.size(), "attention.tqm");
  EXPECT_DOUBLE_EQ(output_sqnr_db(back, InputSamples(test), 1), sqnr);

  // A tampered batch stride (neither 0 nor m * k) does not load.
  QGraph bad = q;
  for (QNode& node : bad.nodes)
    if (node.kernel == QKernel::MatMul) node.ints["a_batch_stride"] += 1;
  const std::vector<std::uint8_t> bad_bytes = serialize_tqm(bad);
  EXPECT_THROW(deserialize_tqm(bad_bytes.data(), bad_bytes.size(), "bad.tqm"), Error);
}

TEST(QuantMatMul, MismatchedBatchDimsAreRefusedInOneLine) {
  OnnxBuilder b;
  b.input("a", {2, 1, 3, 4});
  b.input("b", {1, 3, 4, 5});
  b.node("MatMul", {"a", "b"}, {"y"}, "mixed_batch");
  b.output("y");
  const Graph g = import(b.bytes(), "mixed.onnx");
  bool found = false;
  for (const Node& node : g.nodes)
    if (node.op == Op::MatMul) {
      found = true;
      const auto why = int8_unsupported(g, node);
      ASSERT_TRUE(why.has_value());
      EXPECT_NE(why->find("batch dims must match or be all 1"), std::string::npos) << *why;
      EXPECT_EQ(why->find('\n'), std::string::npos);
    }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace tinyq
