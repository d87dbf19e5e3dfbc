// remove_identities (Identity / no-op Reshape bypass, Reshape chains, unit-axis Transposes)
// and fold_constants (nodes of constants evaluated now).
#include "test_passes_builder.hpp"

namespace tinyq::pass_test {
namespace {

TEST(RemoveIdentitiesPass, IdentityBetweenNodesIsBypassed) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6});
  ValueId r1 = b.node("relu", Op::Relu, {x});
  ValueId id = b.node("id", Op::Identity, {r1});
  b.output(b.node("sig", Op::Sigmoid, {id}));
  auto r = run_pass(b.g, remove_identities);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), (std::vector<Op>{Op::Relu, Op::Sigmoid}));
  EXPECT_EQ(b.g.nodes[1].inputs[0], r1);
}

TEST(RemoveIdentitiesPass, ReshapeToTheSameShapeIsBypassed) {
  GraphBuilder b;
  ValueId x = b.input("x", {2, 3});
  ValueId r1 = b.node("relu", Op::Relu, {x});
  ValueId same = b.node("reshape", Op::Reshape, {r1}, attrs({{"shape", Ints{2, 3}}}));
  b.output(b.node("sig", Op::Sigmoid, {same}));
  auto r = run_pass(b.g, remove_identities);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), (std::vector<Op>{Op::Relu, Op::Sigmoid}));
  EXPECT_EQ(b.g.nodes[1].inputs[0], r1);
}

TEST(RemoveIdentitiesPass, ReshapeChainReadsTheFirstInput) {
  GraphBuilder b;
  ValueId x = b.input("x", {2, 12});
  ValueId r1 = b.node("relu", Op::Relu, {x});
  ValueId a = b.node("r_a", Op::Reshape, {r1}, attrs({{"shape", Ints{2, 3, 4}}}));
  ValueId c = b.node("r_b", Op::Reshape, {a}, attrs({{"shape", Ints{6, 4}}}));
  b.output(b.node("sig", Op::Sigmoid, {c}));
  auto r = run_pass(b.g, remove_identities);
  EXPECT_TRUE(r.changed);
  const Node* second = find_node(b.g, "r_b");
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->inputs[0], r1);
  EXPECT_EQ(ops(live(b.g)), (std::vector<Op>{Op::Relu, Op::Reshape, Op::Sigmoid}));
}

TEST(RemoveIdentitiesPass, ReshapeChainBackToTheSameShapeDisappears) {
  GraphBuilder b;
  ValueId x = b.input("x", {2, 12});
  ValueId r1 = b.node("relu", Op::Relu, {x});
  ValueId a = b.node("r_a", Op::Reshape, {r1}, attrs({{"shape", Ints{2, 3, 4}}}));
  ValueId c = b.node("r_b", Op::Reshape, {a}, attrs({{"shape", Ints{2, 12}}}));
  b.output(b.node("sig", Op::Sigmoid, {c}));
  auto r = run_pass(b.g, remove_identities);
  EXPECT_TRUE(r.changed);
  Graph g = live(b.g);
  ASSERT_EQ(ops(g), (std::vector<Op>{Op::Relu, Op::Sigmoid}));
  EXPECT_EQ(g.nodes[1].inputs[0], g.nodes[0].outputs[0]);
}

TEST(RemoveIdentitiesPass, TransposeMovingOnlyUnitAxesBecomesReshape) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 1, 1, 8}, Layout::NHWC);
  ValueId t = b.node("t", Op::Transpose, {x}, attrs({{"perm", Ints{0, 3, 1, 2}}}));
  b.output(b.node("flatten", Op::Reshape, {t}, attrs({{"shape", Ints{1, 8}}})));
  auto r = run_pass(b.g, remove_identities);
  EXPECT_TRUE(r.changed);
  const Node* n = find_node(b.g, "t");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->op, Op::Reshape);
  EXPECT_EQ(n->attrs.get_ints("shape"), (Ints{1, 8, 1, 1}));
  EXPECT_FALSE(n->attrs.has("perm"));
  EXPECT_EQ(find_node(b.g, "flatten")->inputs[0], x);  // and the chain collapses in the same run
}

TEST(RemoveIdentitiesPass, TransposeMovingANonUnitAxisIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 3, 1, 4});
  b.output(b.node("t", Op::Transpose, {x}, attrs({{"perm", Ints{0, 3, 2, 1}}})));  // swaps the 3 and the 4
  ValueId z = b.input("z", {1, 2, 3, 4});
  b.output(b.node("t2", Op::Transpose, {z}, attrs({{"perm", Ints{0, 3, 1, 2}}})));
  auto r = run_pass(b.g, remove_identities);
  expect_unchanged(r, b.g);
}

TEST(RemoveIdentitiesPass, IdentityFeedingAGraphOutputTakesOverTheProducerOutput) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6});
  ValueId r1 = b.node("relu", Op::Relu, {x});
  ValueId y = b.node("id", Op::Identity, {r1});
  b.output(y);
  auto r = run_pass(b.g, remove_identities);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::Relu});
  EXPECT_EQ(b.g.nodes[0].outputs[0], y);  // the output keeps its name
}

TEST(RemoveIdentitiesPass, IdentityFromGraphInputToGraphOutputIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6});
  b.output(b.node("id", Op::Identity, {x}));
  auto r = run_pass(b.g, remove_identities);
  expect_unchanged(r, b.g);
}

TEST(RemoveIdentitiesPass, IdentityToGraphOutputWhoseInputHasOtherUsesIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6});
  ValueId r1 = b.node("relu", Op::Relu, {x});
  b.output(b.node("id", Op::Identity, {r1}));
  b.output(b.node("sig", Op::Sigmoid, {r1}));
  auto r = run_pass(b.g, remove_identities);
  expect_unchanged(r, b.g);
}

TEST(RemoveIdentitiesPass, IdentityBetweenTwoGraphOutputsIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6});
  ValueId r1 = b.node("relu", Op::Relu, {x});
  b.output(r1);
  b.output(b.node("id", Op::Identity, {r1}));
  auto r = run_pass(b.g, remove_identities);
  expect_unchanged(r, b.g);
}

TEST(RemoveIdentitiesPass, LayoutRelabellingReshapeToGraphOutputIsKept) {
  // Same bytes, but the NHWC value leaves the graph as NCHW and the plain one as stored.
  GraphBuilder b;
  ValueId x = b.input("x", {1, 2, 3, 4}, Layout::NHWC);
  ValueId r1 = b.node("relu", Op::Relu, {x}, {}, Layout::NHWC);
  b.output(b.node("relabel", Op::Reshape, {r1}, attrs({{"shape", Ints{1, 2, 3, 4}}})));
  auto r = run_pass(b.g, remove_identities);
  expect_unchanged(r, b.g);
}

TEST(RemoveIdentitiesPass, IdentityWithAFusedClampIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6});
  ValueId r1 = b.node("tanh", Op::Tanh, {x});
  ValueId id = b.node("id", Op::Identity, {r1}, attrs({{"act_min", 0.0f}}));
  b.output(b.node("sig", Op::Sigmoid, {id}));
  auto r = run_pass(b.g, remove_identities);
  expect_unchanged(r, b.g);
}

TEST(RemoveIdentitiesPass, ReshapeOfAClampedReshapeIsNotCollapsed) {
  GraphBuilder b;
  ValueId x = b.input("x", {2, 12});
  ValueId a = b.node("r_a", Op::Reshape, {x}, attrs({{"shape", Ints{2, 3, 4}}, {"act_max", 0.5f}}));
  b.output(b.node("r_b", Op::Reshape, {a}, attrs({{"shape", Ints{6, 4}}})));
  auto r = run_pass(b.g, remove_identities);
  expect_unchanged(r, b.g);
}

TEST(FoldConstantsPass, NodeOfConstantsBecomesAConstant) {
  GraphBuilder b;
  ValueId x = b.input("x", {2, 3});
  ValueId c1 = b.constant("c1", {3}, {1, 2, 3});
  ValueId c2 = b.constant("c2", {3}, {10, 20, 30});
  ValueId sum = b.node("sum", Op::Add, {c1, c2});
  b.output(b.node("mul", Op::Mul, {x, sum}));
  auto r = run_pass(b.g, fold_constants);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::Mul});
  EXPECT_EQ(b.g.nodes[0].inputs[1], sum);
  EXPECT_EQ(floats(b.g, sum), (std::vector<float>{11, 22, 33}));
}

TEST(FoldConstantsPass, ChainOfConstantNodesFoldsInOneRun) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6});
  ValueId c = b.constant("c", {2, 3}, {1, 2, 3, 4, 5, 6});
  ValueId t = b.node("t", Op::Transpose, {c}, attrs({{"perm", Ints{1, 0}}}));
  ValueId flat = b.node("flat", Op::Reshape, {t}, attrs({{"shape", Ints{1, 6}}}));
  ValueId neg = b.node("neg", Op::Neg, {flat});
  b.output(b.node("add", Op::Add, {x, neg}));
  auto r = run_pass(b.g, fold_constants);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::Add});
  EXPECT_EQ(floats(b.g, b.g.nodes[0].inputs[1]), (std::vector<float>{-1, -4, -2, -5, -3, -6}));
  EXPECT_EQ(b.g.value(b.g.nodes[0].inputs[1]).shape, (Shape{1, 6}));
}

TEST(FoldConstantsPass, FusedClampOfTheFoldedNodeIsApplied) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 4});
  ValueId c = b.constant("c", {4}, {-2, -0.5f, 0.5f, 2});
  ValueId k = b.node("k", Op::Mul, {c, b.scalar("two", 2.0f)}, attrs({{"act_min", -1.0f}, {"act_max", 1.0f}}));
  b.output(b.node("add", Op::Add, {x, k}));
  auto r = run_pass(b.g, fold_constants);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(floats(b.g, k), (std::vector<float>{-1, -1, 1, 1}));
}

TEST(FoldConstantsPass, OmittedOptionalInputDoesNotStopFolding) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 2});
  ValueId d = b.node("fc", Op::Dense,
                     {b.constant("v", {1, 3}, {1, 2, 3}), b.constant("w", {2, 3}, {1, 0, 0, 1, 1, 1}), kNoValue});
  b.output(b.node("add", Op::Add, {x, d}));
  auto r = run_pass(b.g, fold_constants);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(floats(b.g, d), (std::vector<float>{1, 6}));
}

TEST(FoldConstantsPass, FoldedNhwcGraphOutputIsStillReturnedInSourceLayout) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 4});
  b.output(b.node("relu", Op::Relu, {x}));
  ValueId c = b.random("c", {1, 2, 3, 4});
  ValueId y = b.node("scaled", Op::Mul, {c, b.scalar("half", 0.5f)}, {}, Layout::NHWC);
  b.output(y);
  auto r = run_pass(b.g, fold_constants);  // compares both outputs, the second in NCHW
  EXPECT_TRUE(r.changed);
  EXPECT_TRUE(b.g.value(y).is_constant());
  EXPECT_EQ(b.g.value(y).layout, Layout::NHWC);
}

TEST(FoldConstantsPass, NodesReadingAGraphInputAreKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 4});
  ValueId y = b.node("add", Op::Add, {x, b.random("c", {4})});
  b.output(b.node("relu", Op::Relu, {y}));
  auto r = run_pass(b.g, fold_constants);
  expect_unchanged(r, b.g);
}

}  // namespace
}  // namespace tinyq::pass_test
