// simplify: every pass to a fixed point on graphs where they interact.
#include <algorithm>

#include "test_passes_builder.hpp"

namespace tinyq::pass_test {
namespace {

// An image branch that exercises every conv-side pass, plus a sequence branch with the
// LayerNorm pattern:
//   x -> Identity -> Pad -> Conv -> ChannelAffine -> Relu -> Pad -> MaxPool -> Conv
//     -> Add(2 * k) -> Clip(0, 6) -> { ReduceMean(H, W) -> Dense,  Transpose -> flatten -> Dense }
//   s -> LayerNorm pattern -> Dense
Graph combined_graph() {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 8, 8, 3}, Layout::NHWC);
  ValueId id = b.node("id", Op::Identity, {x}, {}, Layout::NHWC);
  const Attributes pad1 = attrs({{"pads", Ints{0, 1, 1, 0, 0, 1, 1, 0}}, {"mode", std::string("constant")}});
  ValueId p1 = b.node("pad1", Op::Pad, {id}, pad1, Layout::NHWC);
  ValueId c1 = b.conv("conv1", p1, 4, 3, 3);
  ValueId bn = b.node("bn", Op::ChannelAffine, {c1, b.random("bn_scale", {4}, 0.5f, 2.0f), b.random("bn_shift", {4})},
                      attrs({{"axis", I(3)}}), Layout::NHWC);
  ValueId relu = b.node("relu", Op::Relu, {bn}, {}, Layout::NHWC);
  ValueId p2 = b.node("pad2", Op::Pad, {relu}, pad1, Layout::NHWC);
  ValueId mp =
      b.node("pool", Op::MaxPool, {p2}, attrs({{"kernel", Ints{3, 3}}, {"strides", Ints{2, 2}}}), Layout::NHWC);
  ValueId c2 = b.conv("conv2", mp, 6, 1, 1);
  ValueId k = b.node("k", Op::Mul, {b.random("k_half", {1, 1, 1, 6}), b.scalar("two", 2.0f)}, {}, Layout::NHWC);
  ValueId add = b.node("bias", Op::Add, {c2, k}, {}, Layout::NHWC);
  ValueId clip = b.node("relu6", Op::Clip, {add}, attrs({{"min", 0.0f}, {"max", 6.0f}}), Layout::NHWC);
  ValueId gap = b.node("gap", Op::ReduceMean, {clip}, attrs({{"axes", Ints{1, 2}}, {"keepdims", I(0)}}));
  b.output(b.dense("fc1", gap, 3));
  ValueId t = b.node("to_nchw", Op::Transpose, {clip}, attrs({{"perm", Ints{0, 3, 1, 2}}}));
  ValueId flat = b.node("flatten", Op::Reshape, {t}, attrs({{"shape", Ints{1, 96}}}));
  b.output(b.dense("fc2", flat, 5));
  ValueId s = b.input("s", {1, 4, 8});
  b.output(b.dense("fc3", layer_norm_pattern(b, s), 2));
  return b.g;
}

std::vector<Op> sorted_ops(const Graph& g) {
  auto result = ops(g);
  std::sort(result.begin(), result.end());
  return result;
}

TEST(SimplifyPass, CombinedGraphReducesToItsEssentialNodes) {
  Graph g = combined_graph();
  const Graph before = g;
  simplify(g);
  expect_well_formed(g);
  expect_same_outputs(before, g);
  std::vector<Op> expected{Op::Conv,  Op::MaxPool, Op::Conv,  Op::GlobalAvgPool, Op::Reshape,
                           Op::Dense, Op::Reshape, Op::Dense, Op::LayerNorm,     Op::Dense};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(sorted_ops(g), expected);

  const Node* conv1 = find_node(g, "conv1");
  ASSERT_NE(conv1, nullptr);
  EXPECT_EQ(g.value(conv1->inputs[0]).name, "x");                // Identity and Pad gone
  EXPECT_EQ(conv1->attrs.get_ints("pads"), (Ints{1, 1, 1, 1}));  // Pad folded
  EXPECT_EQ(conv1->attrs.get_float("act_min", -1.0f), 0.0f);     // BN folded, then Relu fused
  EXPECT_EQ(g.value(conv1->outputs[0]).name, "relu_out");

  const Node* pool = find_node(g, "pool");
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->inputs[0], conv1->outputs[0]);  // zero Pad absorbed once the input is >= 0
  EXPECT_EQ(pool->attrs.get_ints("pads"), (Ints{1, 1, 1, 1}));

  const Node* conv2 = find_node(g, "conv2");
  ASSERT_NE(conv2, nullptr);
  EXPECT_EQ(conv2->attrs.get_float("act_min", -1.0f), 0.0f);  // bias Add folded, then Clip fused
  EXPECT_EQ(conv2->attrs.get_float("act_max", -1.0f), 6.0f);

  const Node* flatten = find_node(g, "flatten");
  ASSERT_NE(flatten, nullptr);
  EXPECT_EQ(flatten->inputs[0], conv2->outputs[0]);  // Transpose folded into fc2

  for (const char* name : {"fc1_out", "fc2_out", "fc3_out"}) EXPECT_NE(producer_of(g, name), nullptr) << name;
}

TEST(SimplifyPass, SecondRunChangesNothing) {
  Graph g = combined_graph();
  simplify(g);
  Graph again = g;
  simplify(again);
  ASSERT_EQ(ops(again), ops(g));
  for (std::size_t n = 0; n < g.nodes.size(); ++n) {
    EXPECT_EQ(again.nodes[n].name, g.nodes[n].name);
    EXPECT_TRUE(again.nodes[n].attrs.all() == g.nodes[n].attrs.all()) << g.nodes[n].name;
  }
  EXPECT_EQ(again.values.size(), g.values.size());
}

TEST(SimplifyPass, EveryReduceMeanWithoutKeepdimsBecomesAPool) {
  // reduce_mean_to_pool rewrites one keepdims=0 ReduceMean per call; simplify loops for the rest.
  GraphBuilder b;
  ValueId x = b.input("x", {1, 5, 4, 3}, Layout::NHWC);
  for (const char* name : {"gap1", "gap2", "gap3"})
    b.output(b.node(name, Op::ReduceMean, {x}, attrs({{"axes", Ints{1, 2}}, {"keepdims", I(0)}})));
  const Graph before = b.g;
  simplify(b.g);
  expect_well_formed(b.g);
  expect_same_outputs(before, b.g);
  EXPECT_EQ(sorted_ops(b.g), (std::vector<Op>{Op::GlobalAvgPool, Op::GlobalAvgPool, Op::GlobalAvgPool, Op::Reshape,
                                              Op::Reshape, Op::Reshape}));
}

TEST(SimplifyPass, ConstantOnlyGraphOutputBecomesAConstant) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 3});
  b.output(b.node("relu", Op::Relu, {x}));
  ValueId c = b.node("c", Op::Add, {b.random("a", {1, 3}), b.random("b", {1, 3})});
  b.output(b.node("c2", Op::Sigmoid, {c}));
  const Graph before = b.g;
  simplify(b.g);
  expect_well_formed(b.g);
  expect_same_outputs(before, b.g);
  EXPECT_EQ(ops(b.g), std::vector<Op>{Op::Relu});
  EXPECT_TRUE(b.g.value(b.g.outputs[1]).is_constant());
}

TEST(SimplifyPass, GraphWithNothingToSimplifyIsUnchanged) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId c = b.conv("conv", x, 4, 3, 3);
  b.output(b.node("sig", Op::Sigmoid, {c}, {}, Layout::NHWC));
  const Graph before = b.g;
  simplify(b.g);
  expect_same_outputs(before, b.g);
  EXPECT_EQ(ops(b.g), (std::vector<Op>{Op::Conv, Op::Sigmoid}));
  EXPECT_TRUE(b.g.nodes[0].attrs.all() == before.nodes[0].attrs.all());
}

}  // namespace
}  // namespace tinyq::pass_test
