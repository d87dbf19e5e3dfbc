// fuse_activations: Relu / Clip after a producer that can clamp becomes act_min / act_max.
#include "test_passes_builder.hpp"

namespace tinyq::pass_test {
namespace {

TEST(FuseActivationsPass, ReluAfterConvBecomesConvClampFromZero) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 5, 5, 3}, Layout::NHWC);
  ValueId c = b.conv("conv", x, 4, 3, 3);
  ValueId y = b.node("relu", Op::Relu, {c}, {}, Layout::NHWC);
  b.output(y);
  auto r = run_pass(b.g, fuse_activations);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::Conv});
  const Node& conv = b.g.nodes[0];
  EXPECT_EQ(conv.outputs[0], y);  // the conv now writes the relu's value
  EXPECT_EQ(conv.attrs.get_float("act_min", -1.0f), 0.0f);
  EXPECT_EQ(conv.attrs.get_float("act_max", 0.0f), kInf);
}

TEST(FuseActivationsPass, ClipAfterDenseBecomesDenseClamp) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6});
  ValueId d = b.dense("dense", x, 5);
  b.output(b.node("clip", Op::Clip, {d}, attrs({{"min", -0.5f}, {"max", 0.5f}})));
  auto r = run_pass(b.g, fuse_activations);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::Dense});
  EXPECT_EQ(b.g.nodes[0].attrs.get_float("act_min", 0.0f), -0.5f);
  EXPECT_EQ(b.g.nodes[0].attrs.get_float("act_max", 0.0f), 0.5f);
}

TEST(FuseActivationsPass, ClipWithOnlyMaxKeepsLowerBoundOpen) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6});
  ValueId d = b.dense("dense", x, 5);
  b.output(b.node("clip", Op::Clip, {d}, attrs({{"max", 0.25f}})));
  auto r = run_pass(b.g, fuse_activations);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::Dense});
  EXPECT_EQ(b.g.nodes[0].attrs.get_float("act_min", 0.0f), -kInf);
  EXPECT_EQ(b.g.nodes[0].attrs.get_float("act_max", 0.0f), 0.25f);
}

TEST(FuseActivationsPass, ClipAfterClampedProducerIntersectsTheRanges) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 5, 5, 3}, Layout::NHWC);
  ValueId c = b.conv("conv", x, 4, 3, 3, attrs({{"act_min", 0.0f}, {"act_max", 6.0f}}));
  b.output(b.node("clip", Op::Clip, {c}, attrs({{"min", -1.0f}, {"max", 0.5f}}), Layout::NHWC));
  auto r = run_pass(b.g, fuse_activations);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::Conv});
  EXPECT_EQ(b.g.nodes[0].attrs.get_float("act_min", -1.0f), 0.0f);
  EXPECT_EQ(b.g.nodes[0].attrs.get_float("act_max", 0.0f), 0.5f);
}

TEST(FuseActivationsPass, ReluThenClipChainFusesInOneRun) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 5, 5, 3}, Layout::NHWC);
  ValueId c = b.conv("conv", x, 4, 3, 3);
  ValueId relu = b.node("relu", Op::Relu, {c}, {}, Layout::NHWC);
  ValueId y = b.node("relu6", Op::Clip, {relu}, attrs({{"min", 0.0f}, {"max", 0.7f}}), Layout::NHWC);
  b.output(y);
  auto r = run_pass(b.g, fuse_activations);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::Conv});
  EXPECT_EQ(b.g.nodes[0].outputs[0], y);
  EXPECT_EQ(b.g.nodes[0].attrs.get_float("act_min", -1.0f), 0.0f);
  EXPECT_EQ(b.g.nodes[0].attrs.get_float("act_max", 0.0f), 0.7f);
}

TEST(FuseActivationsPass, ClipDisjointFromProducerClampIsNotFused) {
  // clamp(clamp(x, 0, 0.5), 1, 2) is the constant 1; no single clamp says that.
  GraphBuilder b;
  ValueId x = b.input("x", {1, 5, 5, 3}, Layout::NHWC);
  ValueId c = b.conv("conv", x, 4, 3, 3, attrs({{"act_min", 0.0f}, {"act_max", 0.5f}}));
  b.output(b.node("clip", Op::Clip, {c}, attrs({{"min", 1.0f}, {"max", 2.0f}}), Layout::NHWC));
  auto r = run_pass(b.g, fuse_activations);
  expect_unchanged(r, b.g);
}

TEST(FuseActivationsPass, ReluWhoseProducerOutputHasTwoConsumersIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 5, 5, 3}, Layout::NHWC);
  ValueId c = b.conv("conv", x, 4, 3, 3);
  b.output(b.node("relu", Op::Relu, {c}, {}, Layout::NHWC));
  b.output(b.node("sigmoid", Op::Sigmoid, {c}, {}, Layout::NHWC));
  auto r = run_pass(b.g, fuse_activations);
  expect_unchanged(r, b.g);
}

TEST(FuseActivationsPass, ReluWhoseInputIsAGraphOutputIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6});
  ValueId d = b.dense("dense", x, 5);
  b.output(d);
  b.output(b.node("relu", Op::Relu, {d}));
  auto r = run_pass(b.g, fuse_activations);
  expect_unchanged(r, b.g);
}

TEST(FuseActivationsPass, ReluOnGraphInputIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6});
  b.output(b.node("relu", Op::Relu, {x}));
  auto r = run_pass(b.g, fuse_activations);
  expect_unchanged(r, b.g);
}

TEST(FuseActivationsPass, ReluAfterOpWithoutClampIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6});
  ValueId s = b.node("tanh", Op::Tanh, {x});
  ValueId cat = b.node("concat", Op::Concat, {s, x}, attrs({{"axis", I(1)}}));
  b.output(b.node("relu", Op::Relu, {cat}));
  auto r = run_pass(b.g, fuse_activations);
  expect_unchanged(r, b.g);
}

TEST(FuseActivationsPass, NonActivationAfterConvIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 5, 5, 3}, Layout::NHWC);
  ValueId c = b.conv("conv", x, 4, 3, 3);
  b.output(b.node("leaky", Op::LeakyRelu, {c}, attrs({{"alpha", 0.1f}}), Layout::NHWC));
  auto r = run_pass(b.g, fuse_activations);
  expect_unchanged(r, b.g);
}

// Every producer the pass may clamp really applies act_min / act_max when run.
struct ClampableCase {
  const char* name;
  Op op;
};

class FuseActivationsIntoProducer : public ::testing::TestWithParam<ClampableCase> {};

TEST_P(FuseActivationsIntoProducer, ReluBecomesTheProducerClamp) {
  const Op op = GetParam().op;
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 4}, Layout::NHWC);
  ValueId y = kNoValue;
  switch (op) {
    case Op::Add:
    case Op::Sub:
    case Op::Mul: y = b.node("prod", op, {x, b.random("k", {1, 1, 1, 4})}, {}, Layout::NHWC); break;
    case Op::MatMul: y = b.node("prod", op, {x, b.random("k", {4, 3})}, {}, Layout::NHWC); break;
    case Op::MaxPool:
    case Op::AvgPool:
      y = b.node("prod", op, {x}, attrs({{"kernel", Ints{2, 2}}, {"strides", Ints{2, 2}}}), Layout::NHWC);
      break;
    case Op::GlobalAvgPool:
    case Op::GlobalMaxPool: y = b.node("prod", op, {x}, {}, Layout::NHWC); break;
    case Op::ChannelAffine:
      y = b.node("prod", op, {x, b.random("s", {4}), b.random("t", {4})}, attrs({{"axis", I(3)}}), Layout::NHWC);
      break;
    case Op::ConvTranspose:
      y = b.node("prod", op, {x, b.random("w", {4, 2, 2, 3}), b.random("bias", {3})}, attrs({{"strides", Ints{2, 2}}}),
                 Layout::NHWC);
      break;
    case Op::Conv: y = b.conv("prod", x, 3, 3, 3); break;
    default: FAIL() << "no builder for " << op_name(op);
  }
  b.output(b.node("relu", Op::Relu, {y}, {}, Layout::NHWC));
  auto r = run_pass(b.g, fuse_activations);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(b.g.nodes.size(), 1u);
  EXPECT_EQ(b.g.nodes[0].op, op);
  EXPECT_EQ(b.g.nodes[0].attrs.get_float("act_min", -1.0f), 0.0f);
}

INSTANTIATE_TEST_SUITE_P(FuseActivationsPass, FuseActivationsIntoProducer,
                         ::testing::Values(ClampableCase{"Conv", Op::Conv},
                                           ClampableCase{"ConvTranspose", Op::ConvTranspose},
                                           ClampableCase{"MatMul", Op::MatMul}, ClampableCase{"Add", Op::Add},
                                           ClampableCase{"Sub", Op::Sub}, ClampableCase{"Mul", Op::Mul},
                                           ClampableCase{"MaxPool", Op::MaxPool}, ClampableCase{"AvgPool", Op::AvgPool},
                                           ClampableCase{"GlobalAvgPool", Op::GlobalAvgPool},
                                           ClampableCase{"GlobalMaxPool", Op::GlobalMaxPool},
                                           ClampableCase{"ChannelAffine", Op::ChannelAffine}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tinyq::pass_test
