// fold_transpose_chains: Transpose/Reshape chains (ShuffleNet's exported channel shuffle)
// become one Transpose between reshapes; run_pass checks the outputs are unchanged.
#include "test_passes_builder.hpp"

namespace tinyq::pass_test {
namespace {

std::int64_t transposes(const Graph& g) {
  return std::count_if(g.nodes.begin(), g.nodes.end(), [](const Node& n) { return n.op == Op::Transpose; });
}

// What the ONNX importer makes of torch's channel_shuffle on NHWC data: to ONNX order,
// Reshape (N, g, C/g, H, W), Transpose (0, 2, 1, 3, 4), Reshape (N, C, H, W), back to NHWC.
TEST(FoldTransposeChainsPass, ExportedChannelShuffleIsOneTranspose) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 3, 5, 8}, Layout::NHWC);
  ValueId t = b.node("to_nchw", Op::Transpose, {x}, attrs({{"perm", Ints{0, 3, 1, 2}}}));
  ValueId r = b.node("split_groups", Op::Reshape, {t}, attrs({{"shape", Ints{1, 2, 4, 3, 5}}}));
  ValueId s = b.node("shuffle", Op::Transpose, {r}, attrs({{"perm", Ints{0, 2, 1, 3, 4}}}));
  ValueId m = b.node("merge_groups", Op::Reshape, {s}, attrs({{"shape", Ints{1, 8, 3, 5}}}));
  b.output(b.node("to_nhwc", Op::Transpose, {m}, attrs({{"perm", Ints{0, 2, 3, 1}}})));
  auto run = run_pass(b.g, fold_transpose_chains);
  EXPECT_TRUE(run.changed);
  const Graph after = live(b.g);
  EXPECT_EQ(transposes(after), 1);
  // In NHWC the shuffle only permutes each pixel's channels: [15 pixels, 2, 4] -> [15, 4, 2].
  for (const Node& n : after.nodes) {
    if (n.op == Op::Transpose) {
      EXPECT_EQ(after.value(n.inputs[0]).shape, (Shape{15, 2, 4}));
    }
  }
}

TEST(FoldTransposeChainsPass, TwoTransposesComposeIntoOne) {
  GraphBuilder b;
  ValueId x = b.input("x", {2, 3, 4});
  ValueId t = b.node("first", Op::Transpose, {x}, attrs({{"perm", Ints{1, 2, 0}}}));
  b.output(b.node("second", Op::Transpose, {t}, attrs({{"perm", Ints{1, 0, 2}}})));
  auto run = run_pass(b.g, fold_transpose_chains);
  EXPECT_TRUE(run.changed);
  EXPECT_EQ(transposes(live(b.g)), 1);
}

TEST(FoldTransposeChainsPass, ChainsWhoseMiddleIsUsedElsewhereAreLeftAlone) {
  GraphBuilder b;
  ValueId x = b.input("x", {2, 3, 4});
  ValueId t = b.node("first", Op::Transpose, {x}, attrs({{"perm", Ints{1, 2, 0}}}));
  b.output(b.node("second", Op::Transpose, {t}, attrs({{"perm", Ints{1, 0, 2}}})));
  b.output(t);  // the middle is a model output too
  auto run = run_pass(b.g, fold_transpose_chains);
  expect_unchanged(run, b.g);
}

TEST(FoldTransposeChainsPass, ASingleTransposeIsLeftAlone) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 3, 5, 8}, Layout::NHWC);
  ValueId t = b.node("to_nchw", Op::Transpose, {x}, attrs({{"perm", Ints{0, 3, 1, 2}}}));
  b.output(b.node("flatten", Op::Reshape, {t}, attrs({{"shape", Ints{1, 120}}})));
  auto run = run_pass(b.g, fold_transpose_chains);
  expect_unchanged(run, b.g);
}

}  // namespace
}  // namespace tinyq::pass_test
