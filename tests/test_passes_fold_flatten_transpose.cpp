// fold_flatten_transpose: Transpose(NHWC->NCHW) -> flatten -> Dense permutes the Dense
// columns instead.
#include "test_passes_builder.hpp"

namespace tinyq::pass_test {
namespace {

// x [n, h, w, c] stored NHWC -> Transpose to [n, c, h, w] -> Reshape to [n, c*h*w].
ValueId nchw_flatten(GraphBuilder& b, ValueId x) {
  const Shape s = b.g.value(x).shape;
  ValueId t = b.node("to_nchw", Op::Transpose, {x}, attrs({{"perm", Ints{0, 3, 1, 2}}}));
  return b.node("flatten", Op::Reshape, {t}, attrs({{"shape", Ints{s[0], s[1] * s[2] * s[3]}}}));
}

TEST(FoldFlattenTransposePass, DenseColumnsArePermutedInsteadOfTransposing) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 3, 4, 5}, Layout::NHWC);
  ValueId f = nchw_flatten(b, x);
  ValueId y = b.dense("fc", f, 6);
  b.output(y);
  const ValueId old_w = b.g.nodes[2].inputs[1];
  auto r = run_pass(b.g, fold_flatten_transpose);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), (std::vector<Op>{Op::Reshape, Op::Dense}));
  EXPECT_EQ(b.g.nodes[0].inputs[0], x);
  EXPECT_EQ(b.g.nodes[0].outputs[0], f);
  EXPECT_EQ(b.g.nodes[1].outputs[0], y);
  EXPECT_NE(b.g.nodes[1].inputs[1], old_w);
  // Column (h, w, c) of the new weight is column (c, h, w) of the old one.
  auto before = floats(b.g, old_w), after = floats(b.g, b.g.nodes[1].inputs[1]);
  const std::size_t o = 2, h = 1, w = 3, c = 4;
  EXPECT_EQ(after[o * 60 + (h * 4 + w) * 5 + c], before[o * 60 + (c * 3 + h) * 4 + w]);
}

TEST(FoldFlattenTransposePass, BatchOfTwoIsFolded) {
  GraphBuilder b;
  ValueId x = b.input("x", {2, 2, 3, 4}, Layout::NHWC);
  b.output(b.dense("fc", nchw_flatten(b, x), 5));
  auto r = run_pass(b.g, fold_flatten_transpose);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(ops(b.g), (std::vector<Op>{Op::Reshape, Op::Dense}));
}

TEST(FoldFlattenTransposePass, EveryDenseReadingTheFlattenedVectorIsPermuted) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 2, 3, 4}, Layout::NHWC);
  ValueId f = nchw_flatten(b, x);
  b.output(b.dense("fc1", f, 5));
  b.output(b.dense("fc2", f, 3));
  auto r = run_pass(b.g, fold_flatten_transpose);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(ops(b.g), (std::vector<Op>{Op::Reshape, Op::Dense, Op::Dense}));
}

TEST(FoldFlattenTransposePass, FlattenAlsoFeedingAGraphOutputIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 2, 3, 4}, Layout::NHWC);
  ValueId f = nchw_flatten(b, x);
  b.output(b.dense("fc", f, 5));
  b.output(f);
  auto r = run_pass(b.g, fold_flatten_transpose);
  expect_unchanged(r, b.g);
}

TEST(FoldFlattenTransposePass, FlattenFeedingANonDenseIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 2, 3, 4}, Layout::NHWC);
  ValueId f = nchw_flatten(b, x);
  b.output(b.dense("fc", f, 5));
  b.output(b.node("relu", Op::Relu, {f}));
  auto r = run_pass(b.g, fold_flatten_transpose);
  expect_unchanged(r, b.g);
}

TEST(FoldFlattenTransposePass, TransposeWithAnotherPermIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 2, 3, 4}, Layout::NHWC);
  ValueId t = b.node("t", Op::Transpose, {x}, attrs({{"perm", Ints{0, 3, 2, 1}}}));
  ValueId f = b.node("flatten", Op::Reshape, {t}, attrs({{"shape", Ints{1, 24}}}));
  b.output(b.dense("fc", f, 5));
  auto r = run_pass(b.g, fold_flatten_transpose);
  expect_unchanged(r, b.g);
}

TEST(FoldFlattenTransposePass, ReshapeThatIsNotAFlattenIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 2, 3, 4}, Layout::NHWC);
  ValueId t = b.node("t", Op::Transpose, {x}, attrs({{"perm", Ints{0, 3, 1, 2}}}));
  ValueId f = b.node("reshape", Op::Reshape, {t}, attrs({{"shape", Ints{1, 4, 6}}}));
  b.output(b.dense("fc", f, 5));
  auto r = run_pass(b.g, fold_flatten_transpose);
  expect_unchanged(r, b.g);
}

TEST(FoldFlattenTransposePass, TransposeWithSecondConsumerIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 2, 3, 4}, Layout::NHWC);
  ValueId f = nchw_flatten(b, x);
  b.output(b.dense("fc", f, 5));
  b.output(b.node("sig", Op::Sigmoid, {b.g.nodes[0].outputs[0]}));
  auto r = run_pass(b.g, fold_flatten_transpose);
  expect_unchanged(r, b.g);
}

TEST(FoldFlattenTransposePass, DenseWithNonConstantWeightIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 2, 3, 4}, Layout::NHWC);
  ValueId w = b.input("w", {5, 24});
  ValueId f = nchw_flatten(b, x);
  b.output(b.node("fc", Op::Dense, {f, w, b.random("bias", {5})}));
  auto r = run_pass(b.g, fold_flatten_transpose);
  expect_unchanged(r, b.g);
}

}  // namespace
}  // namespace tinyq::pass_test
