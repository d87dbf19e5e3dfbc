// fold_batch_norm (ChannelAffine into Conv / ConvTranspose / Dense) and fold_bias_add (a
// per-channel constant Add into the Conv / Dense bias).
#include "test_passes_builder.hpp"

namespace tinyq::pass_test {
namespace {

// conv -> ChannelAffine along the channel axis.
ValueId affine(GraphBuilder& b, const std::string& name, ValueId x, Attributes extra = {}) {
  const Shape& s = b.g.value(x).shape;
  const std::int64_t c = s.back();
  Attributes a = std::move(extra);
  a.set("axis", std::int64_t(s.size()) - 1);
  return b.node(name, Op::ChannelAffine,
                {x, b.random(name + "_scale", {c}, 0.5f, 2.0f), b.random(name + "_shift", {c})}, std::move(a),
                b.g.value(x).layout);
}

TEST(FoldBatchNormPass, ChannelAffineAfterConvFoldsIntoWeightsAndBias) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId c = b.conv("conv", x, 4, 3, 3, attrs({{"pads", Ints{1, 1, 1, 1}}}));
  ValueId y = affine(b, "bn", c);
  b.output(y);
  const ValueId old_w = b.g.nodes[0].inputs[1], old_b = b.g.nodes[0].inputs[2];
  auto r = run_pass(b.g, fold_batch_norm);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::Conv});
  const Node& conv = b.g.nodes[0];
  EXPECT_EQ(conv.inputs[0], x);
  EXPECT_EQ(conv.outputs[0], y);
  EXPECT_NE(conv.inputs[1], old_w);
  EXPECT_NE(conv.inputs[2], old_b);
  EXPECT_FALSE(conv.attrs.has("act_min"));
  // bias' = bias * scale + shift
  auto bias = floats(b.g, conv.inputs[2]), old_bias = floats(b.g, old_b);
  auto scale = floats(b.g, r.before.nodes[1].inputs[1]), shift = floats(b.g, r.before.nodes[1].inputs[2]);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(bias[i], old_bias[i] * scale[i] + shift[i], 1e-6f);
}

TEST(FoldBatchNormPass, ChannelAffineAfterDepthwiseConvFolds) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 4}, Layout::NHWC);
  ValueId c = b.conv("dw", x, 4, 3, 3, attrs({{"group", I(4)}}));
  b.output(affine(b, "bn", c));
  auto r = run_pass(b.g, fold_batch_norm);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(ops(b.g), std::vector<Op>{Op::Conv});
}

TEST(FoldBatchNormPass, ChannelAffineAfterDenseFolds) {
  GraphBuilder b;
  ValueId x = b.input("x", {2, 7});
  ValueId d = b.dense("fc", x, 5);
  b.output(affine(b, "bn", d));
  auto r = run_pass(b.g, fold_batch_norm);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(ops(b.g), std::vector<Op>{Op::Dense});
}

TEST(FoldBatchNormPass, ChannelAffineAfterGroupedConvTransposeScalesEachOutputChannel) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 3, 3, 4}, Layout::NHWC);
  // weight [C=4, KH, KW, O/group=3], group 2: six output channels
  ValueId t = b.node("deconv", Op::ConvTranspose, {x, b.random("w", {4, 3, 3, 3}), b.random("bias", {6})},
                     attrs({{"strides", Ints{2, 2}}, {"group", I(2)}, {"pads", Ints{1, 1, 1, 1}}}), Layout::NHWC);
  b.output(affine(b, "bn", t));
  auto r = run_pass(b.g, fold_batch_norm);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(ops(b.g), std::vector<Op>{Op::ConvTranspose});
}

TEST(FoldBatchNormPass, AffineClampMovesOntoProducer) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId c = b.conv("conv", x, 4, 3, 3);
  b.output(affine(b, "bn", c, attrs({{"act_min", 0.0f}, {"act_max", 1.0f}})));
  auto r = run_pass(b.g, fold_batch_norm);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::Conv});
  EXPECT_EQ(b.g.nodes[0].attrs.get_float("act_min", -1.0f), 0.0f);
  EXPECT_EQ(b.g.nodes[0].attrs.get_float("act_max", 0.0f), 1.0f);
}

TEST(FoldBatchNormPass, WeightsSharedWithAnotherConvAreNotModified) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId c1 = b.conv("conv1", x, 4, 3, 3);
  const ValueId w = b.g.nodes[0].inputs[1], bias = b.g.nodes[0].inputs[2];
  ValueId c2 = b.node("conv2", Op::Conv, {x, w, bias}, {}, Layout::NHWC);
  b.output(affine(b, "bn", c1));
  b.output(c2);
  auto r = run_pass(b.g, fold_batch_norm);  // the output check covers conv2 still using the original weights
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(find_node(b.g, "conv2")->inputs, r.before.nodes[1].inputs);
}

TEST(FoldBatchNormPass, ConvWithoutBiasInputGetsTheShiftAsBias) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId c = b.node("conv", Op::Conv, {x, b.random("w", {4, 3, 3, 3})}, {}, Layout::NHWC);
  ValueId y = affine(b, "bn", c);
  b.output(y);
  auto r = run_pass(b.g, fold_batch_norm);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::Conv});
  ASSERT_EQ(b.g.nodes[0].inputs.size(), 3u);
  EXPECT_EQ(floats(b.g, b.g.nodes[0].inputs[2]), floats(b.g, r.before.nodes[1].inputs[2]));
}

TEST(FoldBatchNormPass, DenseWithOmittedBiasGetsTheShiftAsBias) {
  GraphBuilder b;
  ValueId x = b.input("x", {2, 7});
  ValueId d = b.node("fc", Op::Dense, {x, b.random("w", {5, 7}), kNoValue});
  b.output(affine(b, "bn", d));
  auto r = run_pass(b.g, fold_batch_norm);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::Dense});
  EXPECT_EQ(floats(b.g, b.g.nodes[0].inputs[2]), floats(b.g, r.before.nodes[1].inputs[2]));
}

TEST(FoldBatchNormPass, ProducerFeedingAGraphOutputIsNotFolded) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId c = b.conv("conv", x, 4, 3, 3);
  b.output(c);
  b.output(affine(b, "bn", c));
  auto r = run_pass(b.g, fold_batch_norm);
  expect_unchanged(r, b.g);
}

TEST(FoldBatchNormPass, ProducerWithSecondConsumerIsNotFolded) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId c = b.conv("conv", x, 4, 3, 3);
  b.output(affine(b, "bn", c));
  b.output(b.node("sig", Op::Sigmoid, {c}, {}, Layout::NHWC));
  auto r = run_pass(b.g, fold_batch_norm);
  expect_unchanged(r, b.g);
}

TEST(FoldBatchNormPass, ProducerWithFusedClampIsNotFolded) {
  // affine(relu(conv)) is not a conv with other weights.
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId c = b.conv("conv", x, 4, 3, 3, attrs({{"act_min", 0.0f}}));
  b.output(affine(b, "bn", c));
  auto r = run_pass(b.g, fold_batch_norm);
  expect_unchanged(r, b.g);
}

TEST(FoldBatchNormPass, AffineOffTheChannelAxisIsNotFolded) {
  // Dense over [1, 3, 6] -> [1, 3, 5]; an affine along axis 1 scales rows, not output channels.
  GraphBuilder b;
  ValueId x = b.input("x", {1, 3, 6});
  ValueId d = b.dense("fc", x, 5);
  b.output(b.node("bn", Op::ChannelAffine, {d, b.random("s", {3}), b.random("t", {3})}, attrs({{"axis", I(1)}})));
  auto r = run_pass(b.g, fold_batch_norm);
  expect_unchanged(r, b.g);
}

TEST(FoldBatchNormPass, AffineAfterPoolIsNotFolded) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId p = b.node("pool", Op::AvgPool, {x}, attrs({{"kernel", Ints{2, 2}}}), Layout::NHWC);
  b.output(affine(b, "bn", p));
  auto r = run_pass(b.g, fold_batch_norm);
  expect_unchanged(r, b.g);
}

TEST(FoldBiasAddPass, PerChannelConstantAfterConvGoesIntoBias) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId c = b.conv("conv", x, 4, 3, 3);
  ValueId k = b.random("k", {1, 1, 1, 4});
  ValueId y = b.node("add", Op::Add, {c, k}, {}, Layout::NHWC);
  b.output(y);
  const ValueId old_b = b.g.nodes[0].inputs[2];
  auto r = run_pass(b.g, fold_bias_add);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::Conv});
  EXPECT_EQ(b.g.nodes[0].outputs[0], y);
  auto bias = floats(b.g, b.g.nodes[0].inputs[2]), before = floats(b.g, old_b), add = floats(b.g, k);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(bias[i], before[i] + add[i]);
}

TEST(FoldBiasAddPass, ScalarConstantOnTheLeftOfDenseGoesIntoBias) {
  GraphBuilder b;
  ValueId x = b.input("x", {2, 7});
  ValueId d = b.dense("fc", x, 5);
  b.output(b.node("add", Op::Add, {b.scalar("k", 0.25f), d}));
  auto r = run_pass(b.g, fold_bias_add);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(ops(b.g), std::vector<Op>{Op::Dense});
}

TEST(FoldBiasAddPass, AddClampMovesOntoProducer) {
  GraphBuilder b;
  ValueId x = b.input("x", {2, 7});
  ValueId d = b.dense("fc", x, 5);
  b.output(b.node("add", Op::Add, {d, b.random("k", {5})}, attrs({{"act_min", 0.0f}})));
  auto r = run_pass(b.g, fold_bias_add);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::Dense});
  EXPECT_EQ(b.g.nodes[0].attrs.get_float("act_min", -1.0f), 0.0f);
}

TEST(FoldBiasAddPass, ConvWithoutBiasInputTakesTheConstantAsBias) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId c = b.node("conv", Op::Conv, {x, b.random("w", {4, 3, 3, 3})}, {}, Layout::NHWC);
  b.output(b.node("add", Op::Add, {c, b.random("k", {4})}, {}, Layout::NHWC));
  auto r = run_pass(b.g, fold_bias_add);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::Conv});
  EXPECT_EQ(b.g.nodes[0].inputs.size(), 3u);
}

TEST(FoldBiasAddPass, ConstantVaryingAlongASpatialAxisIsNotFolded) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId c = b.conv("conv", x, 4, 3, 3);                                                // [1, 4, 4, 4]
  b.output(b.node("add", Op::Add, {c, b.random("k", {1, 1, 4, 1})}, {}, Layout::NHWC));  // varies along W
  auto r = run_pass(b.g, fold_bias_add);
  expect_unchanged(r, b.g);
}

TEST(FoldBiasAddPass, ConstantWideningTheOutputRankIsNotFolded) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 7});
  ValueId d = b.dense("fc", x, 5);
  b.output(b.node("add", Op::Add, {d, b.random("k", {1, 1, 5})}));  // [1, 1, 5]
  auto r = run_pass(b.g, fold_bias_add);
  expect_unchanged(r, b.g);
}

TEST(FoldBiasAddPass, ProducerWithSecondConsumerIsNotFolded) {
  GraphBuilder b;
  ValueId x = b.input("x", {2, 7});
  ValueId d = b.dense("fc", x, 5);
  b.output(b.node("add", Op::Add, {d, b.random("k", {5})}));
  b.output(b.node("relu", Op::Relu, {d}));
  auto r = run_pass(b.g, fold_bias_add);
  expect_unchanged(r, b.g);
}

TEST(FoldBiasAddPass, ProducerWithFusedClampIsNotFolded) {
  GraphBuilder b;
  ValueId x = b.input("x", {2, 7});
  ValueId d = b.dense("fc", x, 5, attrs({{"act_min", 0.0f}}));
  b.output(b.node("add", Op::Add, {d, b.random("k", {5})}));
  auto r = run_pass(b.g, fold_bias_add);
  expect_unchanged(r, b.g);
}

TEST(FoldBiasAddPass, AddOfTwoActivationsIsNotFolded) {
  GraphBuilder b;
  ValueId x = b.input("x", {2, 7});
  ValueId d = b.dense("fc", x, 5);
  ValueId e = b.dense("fc2", x, 5);
  b.output(b.node("add", Op::Add, {d, e}));
  auto r = run_pass(b.g, fold_bias_add);
  expect_unchanged(r, b.g);
}

}  // namespace
}  // namespace tinyq::pass_test
