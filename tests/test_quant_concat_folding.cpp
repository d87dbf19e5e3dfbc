// Concat branches that keep their own scales (quant/concat_folding.hpp). Two inputs of ranges
// 100 and 1 are concatenated and read by a 1x1 conv that weighs them alike: on one concat
// grid the small branch is lost (its values are below one step of the large one's), with
// channel-group scales each branch keeps its own resolution and the conv's weights absorb
// them. The concat becomes a plain copy, the result survives a .tqm round trip, and
// validation refuses a channel-scaled tensor anywhere but a linear layer's data input.
#include <gtest/gtest.h>

#include "frontend/onnx/onnx_import.hpp"
#include "passes/passes.hpp"
#include "qmodel/qgraph_validation.hpp"
#include "qmodel/tqm_file.hpp"
#include "quant/layer_error.hpp"
#include "quant/quantizer.hpp"
#include "small_cnn.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

using testing::random_values;

// big [N, 2, 4, 4] in [0, 100], small [N, 2, 4, 4] in [0, 1] (one zero point, as ReLU
// branches have); y = conv 1x1 of their concat: y_o = big_o / 100 + small_o (so both
// branches matter alike).
Graph two_range_model() {
  testing::OnnxBuilder b;
  b.input("big", {-1, 2, 4, 4}).input("small", {-1, 2, 4, 4}).output("y");
  auto& cat = b.node("Concat", {"big", "small"}, {"cat"}, "concat");
  testing::OnnxBuilder::set_int(cat, "axis", 1);
  b.initializer("w", {2, 4, 1, 1}, {0.01f, 0.0f, 1.0f, 0.0f, 0.0f, 0.01f, 0.0f, 1.0f});
  b.initializer("bias", {2}, {0.0f, 0.0f});
  b.node("Conv", {"cat", "w", "bias"}, {"y"}, "mix");
  const std::string bytes = b.bytes();
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "two_range.onnx");
  simplify(g);
  return g;
}

InputSamples samples(std::int64_t n, unsigned seed) {
  const std::size_t size = std::size_t(n) * 32;
  return InputSamples({Tensor::from_floats({n, 2, 4, 4}, random_values(size, seed, 0.0f, 100.0f)),
                       Tensor::from_floats({n, 2, 4, 4}, random_values(size, seed + 1, 0.0f, 1.0f))});
}

const QNode& node_named(const QGraph& q, const std::string& name) {
  for (const QNode& n : q.nodes)
    if (n.name == name) return n;
  throw std::runtime_error("no node " + name);
}

TEST(ConcatFolding, BranchesKeepTheirScalesAndTheReaderAbsorbsThem) {
  const Graph g = two_range_model();
  QuantizeOptions o;
  o.threads = 1;
  o.preset = "cmsis";  // min-max ranges: the branches' own, 100 and 1
  const QGraph q = quantize(g, samples(200, 1), o);
  const QNode& concat = node_named(q, "concat");
  const QValue& cat = q.values[std::size_t(concat.output)];
  ASSERT_EQ(cat.channel_scales.size(), 4u);
  EXPECT_GT(cat.channel_scales[0], 50 * cat.channel_scales[2]) << "each branch keeps its own scale";
  for (std::int32_t m : concat.words("multiplier")) EXPECT_EQ(m, 0) << "the concat is a plain copy";
  // The small branch survives: output SQNR well above what one concat grid leaves it.
  const double sqnr = output_sqnr_db(q, samples(100, 7), 1);
  EXPECT_GT(sqnr, 30.0);
  // The same model with a shared concat format (NNoM's preset keeps one) loses it.
  QuantizeOptions nnom = o;
  nnom.preset = "nnom";
  EXPECT_LT(output_sqnr_db(quantize(g, samples(200, 1), nnom), samples(100, 7), 1), sqnr - 15.0);
  // Round trip.
  const auto bytes = serialize_tqm(q);
  const QGraph loaded = deserialize_tqm(bytes.data(), bytes.size(), "folded.tqm");
  EXPECT_EQ(loaded.values[std::size_t(concat.output)].channel_scales, cat.channel_scales);
  EXPECT_EQ(serialize_tqm(loaded), bytes);
}

TEST(ConcatFolding, OnlyLinearReadersMayReadAChannelScaledTensor) {
  const Graph g = two_range_model();
  QuantizeOptions o;
  o.threads = 1;
  o.preset = "cmsis";
  QGraph q = quantize(g, samples(64, 3), o);
  EXPECT_NO_THROW(validate_qgraph(q, "test"));
  const int cat = node_named(q, "concat").output;
  // The concat made the model output: refused.
  QGraph as_output = q;
  as_output.outputs = {cat};
  EXPECT_THROW(validate_qgraph(as_output, "test"), Error);
  // Wrong count of channel scales: refused.
  QGraph wrong = q;
  wrong.values[std::size_t(cat)].channel_scales.pop_back();
  EXPECT_THROW(validate_qgraph(wrong, "test"), Error);
}

// A concat whose reader is not linear (small_cnn's concat feeds a flatten) keeps one format.
TEST(ConcatFolding, OtherReadersKeepOneConcatFormat) {
  auto bytes = testing::small_cnn().bytes();
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "small_cnn.onnx");
  simplify(g);
  QuantizeOptions o;
  o.threads = 1;
  const QGraph q = quantize(g, InputSamples(Tensor::from_floats({32, 2, 8, 8}, random_values(32 * 128, 4))), o);
  for (const QValue& v : q.values) EXPECT_TRUE(v.channel_scales.empty()) << v.name;
}

}  // namespace
}  // namespace tinyq
