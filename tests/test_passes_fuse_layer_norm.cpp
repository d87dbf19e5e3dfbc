// fuse_layer_norm (the opset-13 nine-op LayerNorm) and reduce_mean_to_pool (ReduceMean
// over H and W of an NHWC tensor).
#include "test_passes_builder.hpp"

namespace tinyq::pass_test {
namespace {

TEST(FuseLayerNormPass, NineOpPatternWithAffineBecomesOneLayerNorm) {
  GraphBuilder b;
  ValueId x = b.input("x", {2, 3, 8});
  ValueId y = layer_norm_pattern(b, x, {.epsilon = 1e-3f});
  b.output(y);
  auto r = run_pass(b.g, fuse_layer_norm);
  EXPECT_TRUE(r.changed);
  Graph g = live(b.g);  // the rest of the pattern is dead and goes with compact()
  ASSERT_EQ(ops(g), std::vector<Op>{Op::LayerNorm});
  const Node& ln = g.nodes[0];
  EXPECT_EQ(g.value(ln.inputs[0]).name, "x");
  EXPECT_EQ(g.value(ln.outputs[0]).name, "beta_add_out");
  EXPECT_EQ(ln.attrs.get_int("axis", 0), 2);
  EXPECT_EQ(ln.attrs.get_float("epsilon", 0.0f), 1e-3f);
  EXPECT_EQ(floats(g, ln.inputs[1]), floats(r.before, find_node(r.before, "gamma_mul")->inputs[1]));
  EXPECT_EQ(floats(g, ln.inputs[2]), floats(r.before, find_node(r.before, "beta_add")->inputs[0]));
}

TEST(FuseLayerNormPass, PatternWithoutAffineGetsUnitScaleAndZeroShift) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 4, 6});
  b.output(layer_norm_pattern(b, x, {.affine = false}));
  auto r = run_pass(b.g, fuse_layer_norm);
  EXPECT_TRUE(r.changed);
  Graph g = live(b.g);
  ASSERT_EQ(ops(g), std::vector<Op>{Op::LayerNorm});
  EXPECT_EQ(floats(g, g.nodes[0].inputs[1]), std::vector<float>(6, 1.0f));
  EXPECT_EQ(floats(g, g.nodes[0].inputs[2]), std::vector<float>(6, 0.0f));
  EXPECT_EQ(g.value(g.nodes[0].outputs[0]).name, "normalize_out");
}

TEST(FuseLayerNormPass, EpsilonOnTheLeftOfTheAddIsFound) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 4, 6});
  b.output(layer_norm_pattern(b, x, {.epsilon = 0.5f, .eps_on_left = true}));
  auto r = run_pass(b.g, fuse_layer_norm);
  EXPECT_TRUE(r.changed);
  Graph g = live(b.g);
  ASSERT_EQ(ops(g), std::vector<Op>{Op::LayerNorm});
  EXPECT_EQ(g.nodes[0].attrs.get_float("epsilon", 0.0f), 0.5f);
}

TEST(FuseLayerNormPass, ClampOfTheBetaAddMovesOntoLayerNorm) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 4, 6});
  b.output(layer_norm_pattern(b, x, {.beta_attrs = attrs({{"act_min", 0.0f}, {"act_max", 1.0f}})}));
  auto r = run_pass(b.g, fuse_layer_norm);
  EXPECT_TRUE(r.changed);
  Graph g = live(b.g);
  ASSERT_EQ(ops(g), std::vector<Op>{Op::LayerNorm});
  EXPECT_EQ(g.nodes[0].attrs.get_float("act_min", -1.0f), 0.0f);
  EXPECT_EQ(g.nodes[0].attrs.get_float("act_max", 0.0f), 1.0f);
}

TEST(FuseLayerNormPass, IntermediateWithAnotherUseStaysAlive) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 4, 6});
  b.output(layer_norm_pattern(b, x));
  b.output(producer_of(b.g, "center_out")->outputs[0]);  // the centred tensor is also an output
  auto r = run_pass(b.g, fuse_layer_norm);
  EXPECT_TRUE(r.changed);
  Graph g = live(b.g);
  EXPECT_EQ(ops(g), (std::vector<Op>{Op::ReduceMean, Op::Sub, Op::LayerNorm}));
}

TEST(FuseLayerNormPass, ScaleNotPerFeatureStaysAMul) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 4, 6});
  ValueId n = layer_norm_pattern(b, x, {.affine = false});
  ValueId y = b.node("row_scale", Op::Mul, {n, b.random("rows", {4, 1})});
  b.output(y);
  auto r = run_pass(b.g, fuse_layer_norm);
  EXPECT_TRUE(r.changed);
  Graph g = live(b.g);
  ASSERT_EQ(ops(g), (std::vector<Op>{Op::LayerNorm, Op::Mul}));
  EXPECT_EQ(g.nodes[1].inputs[0], g.nodes[0].outputs[0]);
}

TEST(FuseLayerNormPass, PowWithExponentThreeIsNotFused) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 4, 6});
  b.output(layer_norm_pattern(b, x, {.exponent = 3.0f, .epsilon = 4.0f}));  // eps keeps the sqrt real
  auto r = run_pass(b.g, fuse_layer_norm);
  expect_unchanged(r, b.g);
}

TEST(FuseLayerNormPass, MeanOverANonLastAxisIsNotFused) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 4, 6});
  b.output(layer_norm_pattern(b, x, {.mean_axis = 1}));
  auto r = run_pass(b.g, fuse_layer_norm);
  expect_unchanged(r, b.g);
}

TEST(FuseLayerNormPass, VarianceOfAnotherTensorIsNotFused) {
  // y = (x - mean(x)) / sqrt(mean((z - mean(z))^2) + eps): not a LayerNorm of x.
  GraphBuilder b;
  ValueId x = b.input("x", {1, 4, 6});
  ValueId z = b.input("z", {1, 4, 6});
  const Attributes last = attrs({{"axes", Ints{2}}, {"keepdims", I(1)}});
  ValueId d = b.node("center", Op::Sub, {x, b.node("mean", Op::ReduceMean, {x}, last)});
  ValueId dz = b.node("center_z", Op::Sub, {z, b.node("mean_z", Op::ReduceMean, {z}, last)});
  ValueId var = b.node("var", Op::ReduceMean, {b.node("square", Op::Pow, {dz, b.scalar("two", 2.0f)})}, last);
  ValueId s = b.node("std", Op::Sqrt, {b.node("add_eps", Op::Add, {var, b.scalar("eps", 1e-5f)})});
  b.output(b.node("normalize", Op::Div, {d, s}));
  auto r = run_pass(b.g, fuse_layer_norm);
  expect_unchanged(r, b.g);
}

TEST(ReduceMeanToPoolPass, ReduceMeanOverHeightAndWidthBecomesGlobalAvgPool) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 5, 4, 3}, Layout::NHWC);
  ValueId y = b.node("gap", Op::ReduceMean, {x}, attrs({{"axes", Ints{1, 2}}, {"keepdims", I(1)}}), Layout::NHWC);
  b.output(y);
  auto r = run_pass(b.g, reduce_mean_to_pool);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::GlobalAvgPool});
  EXPECT_EQ(b.g.nodes[0].inputs[0], x);
  EXPECT_EQ(b.g.nodes[0].outputs[0], y);
  EXPECT_FALSE(b.g.nodes[0].attrs.has("axes"));
}

TEST(ReduceMeanToPoolPass, KeepdimsZeroPoolsThenDropsTheUnitAxes) {
  GraphBuilder b;
  ValueId x = b.input("x", {2, 5, 4, 3}, Layout::NHWC);
  ValueId y = b.node("gap", Op::ReduceMean, {x}, attrs({{"axes", Ints{1, 2}}, {"keepdims", I(0)}}));
  b.output(b.dense("fc", y, 2));
  auto r = run_pass(b.g, reduce_mean_to_pool);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), (std::vector<Op>{Op::GlobalAvgPool, Op::Reshape, Op::Dense}));
  EXPECT_EQ(b.g.nodes[1].attrs.get_ints("shape"), (Ints{2, 3}));
  EXPECT_EQ(b.g.nodes[1].outputs[0], y);
  EXPECT_EQ(b.g.nodes[1].inputs[0], b.g.nodes[0].outputs[0]);
}

TEST(ReduceMeanToPoolPass, KeepdimsZeroReshapeGetsAnUnusedNodeName) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 5, 4, 3}, Layout::NHWC);
  ValueId y = b.node("gap", Op::ReduceMean, {x}, attrs({{"axes", Ints{1, 2}}, {"keepdims", I(0)}}));
  b.output(b.node("gap_squeeze", Op::Relu, {y}));  // a node already has the obvious name
  auto r = run_pass(b.g, reduce_mean_to_pool);     // run_pass validates: node names stay unique
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(ops(b.g), (std::vector<Op>{Op::GlobalAvgPool, Op::Reshape, Op::Relu}));
}

TEST(ReduceMeanToPoolPass, ClampMovesOntoThePool) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 5, 4, 3}, Layout::NHWC);
  b.output(b.node("gap", Op::ReduceMean, {x}, attrs({{"axes", Ints{1, 2}}, {"keepdims", I(0)}, {"act_min", 0.0f}})));
  auto r = run_pass(b.g, reduce_mean_to_pool);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), (std::vector<Op>{Op::GlobalAvgPool, Op::Reshape}));
  EXPECT_EQ(b.g.nodes[0].attrs.get_float("act_min", -1.0f), 0.0f);
}

TEST(ReduceMeanToPoolPass, ReduceMeanOverANonSpatialAxisIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 5, 4, 3}, Layout::NHWC);
  b.output(b.node("channels", Op::ReduceMean, {x}, attrs({{"axes", Ints{3}}, {"keepdims", I(1)}}), Layout::NHWC));
  b.output(b.node("h_and_c", Op::ReduceMean, {x}, attrs({{"axes", Ints{1, 3}}, {"keepdims", I(1)}}), Layout::NHWC));
  b.output(b.node("all", Op::ReduceMean, {x}, attrs({{"axes", Ints{1, 2, 3}}, {"keepdims", I(1)}}), Layout::NHWC));
  auto r = run_pass(b.g, reduce_mean_to_pool);
  expect_unchanged(r, b.g);
}

TEST(ReduceMeanToPoolPass, ReduceMeanOfNon4DTensorIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 5, 4});
  b.output(b.node("rank3", Op::ReduceMean, {x}, attrs({{"axes", Ints{1, 2}}, {"keepdims", I(1)}})));
  auto r = run_pass(b.g, reduce_mean_to_pool);
  expect_unchanged(r, b.g);
}

// A mean over axes 1 and 2 of a stored 4-D tensor is a global average pool whatever the
// source layout (TFLite's MEAN, Keras' GlobalAveragePooling2D: channels-last sources).
TEST(ReduceMeanToPoolPass, ReduceMeanOfChannelsLastSourceTensorBecomesPool) {
  GraphBuilder b;
  ValueId z = b.input("z", {1, 5, 4, 3});
  b.output(b.node("plain", Op::ReduceMean, {z}, attrs({{"axes", Ints{1, 2}}, {"keepdims", I(1)}})));
  auto r = run_pass(b.g, reduce_mean_to_pool);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(ops(b.g), std::vector<Op>{Op::GlobalAvgPool});
}

}  // namespace
}  // namespace tinyq::pass_test
