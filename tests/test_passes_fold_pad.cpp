// fold_pad: a constant spatial Pad before Conv / AvgPool / MaxPool becomes window padding
// where that is exact.
#include "test_passes_builder.hpp"

namespace tinyq::pass_test {
namespace {

// Spatial Pad of an NHWC tensor: stored pads [n, h, w, c] begins, then ends.
ValueId pad(GraphBuilder& b, const std::string& name, ValueId x, std::int64_t top, std::int64_t left,
            std::int64_t bottom, std::int64_t right, float value = 0.0f, const std::string& mode = "constant") {
  return b.node(name, Op::Pad, {x},
                attrs({{"pads", Ints{0, top, left, 0, 0, bottom, right, 0}}, {"mode", mode}, {"value", value}}),
                Layout::NHWC);
}

ValueId pool(GraphBuilder& b, const std::string& name, Op op, ValueId x, Attributes a) {
  if (!a.has("kernel")) a.set("kernel", Ints{3, 3});
  return b.node(name, op, {x}, std::move(a), Layout::NHWC);
}

TEST(FoldPadPass, ZeroPadBeforeConvBecomesConvPadding) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 7, 3}, Layout::NHWC);
  ValueId p = pad(b, "pad", x, 1, 2, 0, 3);
  ValueId y = b.conv("conv", p, 4, 3, 3, attrs({{"strides", Ints{2, 1}}}));
  b.output(y);
  auto r = run_pass(b.g, fold_pad);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::Conv});
  EXPECT_EQ(b.g.nodes[0].inputs[0], x);
  EXPECT_EQ(b.g.nodes[0].attrs.get_ints("pads"), (Ints{1, 2, 0, 3}));  // top, left, bottom, right
}

TEST(FoldPadPass, PadAddsToConvOwnPadding) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId p = pad(b, "pad", x, 1, 0, 2, 1);
  b.output(b.conv("conv", p, 4, 3, 3, attrs({{"pads", Ints{1, 1, 1, 1}}, {"dilations", Ints{2, 1}}})));
  auto r = run_pass(b.g, fold_pad);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::Conv});
  EXPECT_EQ(b.g.nodes[0].attrs.get_ints("pads"), (Ints{2, 1, 3, 2}));
}

TEST(FoldPadPass, PadFeedingTwoConvsIsAbsorbedByBoth) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId p = pad(b, "pad", x, 1, 1, 1, 1);
  b.output(b.conv("conv1", p, 4, 3, 3));
  b.output(b.conv("conv2", p, 2, 1, 1));
  auto r = run_pass(b.g, fold_pad);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), (std::vector<Op>{Op::Conv, Op::Conv}));
  for (const Node& n : b.g.nodes) {
    EXPECT_EQ(n.inputs[0], x);
    EXPECT_EQ(n.attrs.get_ints("pads"), (Ints{1, 1, 1, 1}));
  }
}

TEST(FoldPadPass, ZeroPadBeforeAvgPoolBecomesCountedPadding) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId p = pad(b, "pad", x, 1, 1, 2, 0);
  b.output(pool(b, "pool", Op::AvgPool, p, attrs({{"strides", Ints{2, 2}}, {"count_include_pad", I(0)}})));
  auto r = run_pass(b.g, fold_pad);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::AvgPool});
  EXPECT_EQ(b.g.nodes[0].attrs.get_ints("pads"), (Ints{1, 1, 2, 0}));
  EXPECT_EQ(b.g.nodes[0].attrs.get_int("count_include_pad", 0), 1);
}

TEST(FoldPadPass, AvgPoolCountingItsOwnPaddingAbsorbsPad) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId p = pad(b, "pad", x, 1, 1, 1, 1);
  b.output(pool(b, "pool", Op::AvgPool, p, attrs({{"pads", Ints{1, 0, 1, 0}}, {"count_include_pad", I(1)}})));
  auto r = run_pass(b.g, fold_pad);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::AvgPool});
  EXPECT_EQ(b.g.nodes[0].attrs.get_ints("pads"), (Ints{2, 1, 2, 1}));
  EXPECT_EQ(b.g.nodes[0].attrs.get_int("count_include_pad", 0), 1);
}

TEST(FoldPadPass, AvgPoolNotCountingItsOwnPaddingKeepsPad) {
  // Explicit zeros are counted, the pool's own padding is not: one count_include_pad cannot say both.
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId p = pad(b, "pad", x, 1, 1, 1, 1);
  b.output(pool(b, "pool", Op::AvgPool, p, attrs({{"pads", Ints{1, 1, 1, 1}}, {"count_include_pad", I(0)}})));
  auto r = run_pass(b.g, fold_pad);
  expect_unchanged(r, b.g);
}

TEST(FoldPadPass, NonZeroPadBeforeConvOrAvgPoolIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId p = pad(b, "pad", x, 1, 1, 1, 1, 0.5f);
  b.output(b.conv("conv", p, 4, 3, 3));
  ValueId q = pad(b, "pad2", x, 1, 1, 1, 1, 0.5f);
  b.output(pool(b, "pool", Op::AvgPool, q, {}));
  auto r = run_pass(b.g, fold_pad);
  expect_unchanged(r, b.g);
}

TEST(FoldPadPass, MinusInfinityPadBeforeMaxPoolIsAbsorbed) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId p = pad(b, "pad", x, 1, 2, 1, 0, -kInf);
  b.output(pool(b, "pool", Op::MaxPool, p, attrs({{"strides", Ints{2, 2}}})));
  auto r = run_pass(b.g, fold_pad);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::MaxPool});
  EXPECT_EQ(b.g.nodes[0].attrs.get_ints("pads"), (Ints{1, 2, 1, 0}));
  EXPECT_FALSE(b.g.nodes[0].attrs.has("count_include_pad"));
}

TEST(FoldPadPass, ZeroPadBeforeMaxPoolOfNonNegativeInputIsAbsorbed) {
  // The producer clamps at 0, so a zero pad never wins a window that also holds a real element.
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId c = b.conv("conv", x, 4, 1, 1, attrs({{"act_min", 0.0f}}));
  ValueId p = pad(b, "pad", c, 1, 1, 1, 1);
  b.output(pool(b, "pool", Op::MaxPool, p, attrs({{"strides", Ints{2, 2}}})));
  auto r = run_pass(b.g, fold_pad);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), (std::vector<Op>{Op::Conv, Op::MaxPool}));
  EXPECT_EQ(b.g.nodes[1].inputs[0], c);
  EXPECT_EQ(b.g.nodes[1].attrs.get_ints("pads"), (Ints{1, 1, 1, 1}));
}

TEST(FoldPadPass, ZeroPadBeforeMaxPoolOfPossiblyNegativeInputIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId c = b.conv("conv", x, 4, 1, 1);  // no clamp: values may be below the pad
  ValueId p = pad(b, "pad", c, 1, 1, 1, 1);
  b.output(pool(b, "pool", Op::MaxPool, p, {}));
  auto r = run_pass(b.g, fold_pad);
  expect_unchanged(r, b.g);
}

TEST(FoldPadPass, PadValueAboveTheProducerFloorBeforeMaxPoolIsKept) {
  // Relu output may be 0 < 0.5: the explicit 0.5 border can win a window.
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId c = b.conv("conv", x, 4, 1, 1, attrs({{"act_min", 0.0f}}));
  ValueId p = pad(b, "pad", c, 1, 1, 1, 1, 0.5f);
  b.output(pool(b, "pool", Op::MaxPool, p, {}));
  auto r = run_pass(b.g, fold_pad);
  expect_unchanged(r, b.g);
}

TEST(FoldPadPass, ZeroPadBeforeMaxPoolOfGraphInputIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  b.output(pool(b, "pool", Op::MaxPool, pad(b, "pad", x, 1, 1, 1, 1), {}));
  auto r = run_pass(b.g, fold_pad);
  expect_unchanged(r, b.g);
}

TEST(FoldPadPass, MaxPoolWindowEntirelyInPaddingKeepsPad) {
  // Pad 2 + kernel 2: the first window sees only pad zeros (0), a pooled -inf otherwise.
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId c = b.conv("conv", x, 4, 1, 1, attrs({{"act_min", 0.0f}}));
  ValueId p = pad(b, "pad", c, 2, 0, 0, 0);
  b.output(pool(b, "pool", Op::MaxPool, p, attrs({{"kernel", Ints{2, 2}}})));
  auto r = run_pass(b.g, fold_pad);
  expect_unchanged(r, b.g);
}

TEST(FoldPadPass, DilatedMaxPoolWindowSkippingEveryRealRowKeepsPad) {
  // Height 1, pad 1 above and below, kernel 2 with dilation 2: the only window reads rows
  // -1 and 1, both padding, although each pad is narrower than the kernel.
  GraphBuilder b;
  ValueId x = b.input("x", {1, 1, 4, 3}, Layout::NHWC);
  ValueId c = b.conv("conv", x, 2, 1, 1, attrs({{"act_min", 0.0f}}));
  ValueId p = pad(b, "pad", c, 1, 0, 1, 0);
  b.output(pool(b, "pool", Op::MaxPool, p, attrs({{"kernel", Ints{2, 1}}, {"dilations", Ints{2, 1}}})));
  auto r = run_pass(b.g, fold_pad);
  expect_unchanged(r, b.g);
}

TEST(FoldPadPass, DilatedMaxPoolWhoseWindowsAllSeeRealRowsAbsorbsPad) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId c = b.conv("conv", x, 2, 1, 1, attrs({{"act_min", 0.0f}}));
  ValueId p = pad(b, "pad", c, 1, 1, 1, 1);
  b.output(pool(b, "pool", Op::MaxPool, p, attrs({{"kernel", Ints{2, 2}}, {"dilations", Ints{2, 2}}})));
  auto r = run_pass(b.g, fold_pad);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(ops(b.g), (std::vector<Op>{Op::Conv, Op::MaxPool}));
}

TEST(FoldPadPass, PadInReflectModeIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  b.output(b.conv("conv", pad(b, "pad", x, 1, 1, 1, 1, 0.0f, "reflect"), 4, 3, 3));
  auto r = run_pass(b.g, fold_pad);
  expect_unchanged(r, b.g);
}

TEST(FoldPadPass, PadInEdgeModeIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  b.output(b.conv("conv", pad(b, "pad", x, 1, 1, 1, 1, 0.0f, "edge"), 4, 3, 3));
  auto r = run_pass(b.g, fold_pad);
  expect_unchanged(r, b.g);
}

TEST(FoldPadPass, CeilModePoolsKeepPad) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId p = pad(b, "pad", x, 1, 1, 0, 0);
  b.output(pool(b, "avg", Op::AvgPool, p, attrs({{"strides", Ints{2, 2}}, {"ceil_mode", I(1)}})));
  ValueId q = pad(b, "pad2", x, 1, 1, 0, 0, -kInf);
  b.output(pool(b, "max", Op::MaxPool, q, attrs({{"strides", Ints{2, 2}}, {"ceil_mode", I(1)}})));
  auto r = run_pass(b.g, fold_pad);
  expect_unchanged(r, b.g);
}

TEST(FoldPadPass, PadOnChannelOrBatchAxisIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId p =
      b.node("pad", Op::Pad, {x}, attrs({{"pads", Ints{0, 1, 1, 1, 0, 1, 1, 0}}, {"value", 0.0f}}), Layout::NHWC);
  b.output(b.conv("conv", p, 4, 3, 3));
  ValueId q =
      b.node("pad2", Op::Pad, {x}, attrs({{"pads", Ints{1, 1, 1, 0, 0, 1, 1, 0}}, {"value", 0.0f}}), Layout::NHWC);
  b.output(b.conv("conv2", q, 4, 3, 3));
  auto r = run_pass(b.g, fold_pad);
  expect_unchanged(r, b.g);
}

TEST(FoldPadPass, NegativePadIsKept) {
  // A negative pad crops; the consumer's own zero padding must come after the crop.
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId p = pad(b, "pad", x, -1, 0, -1, 1);
  b.output(b.conv("conv", p, 4, 3, 3, attrs({{"pads", Ints{1, 1, 1, 1}}})));
  auto r = run_pass(b.g, fold_pad);
  expect_unchanged(r, b.g);
}

TEST(FoldPadPass, PadFeedingAGraphOutputIsKept) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId p = pad(b, "pad", x, 1, 1, 1, 1);
  b.output(p);
  b.output(b.conv("conv", p, 4, 3, 3));
  auto r = run_pass(b.g, fold_pad);
  expect_unchanged(r, b.g);
}

TEST(FoldPadPass, PadWithAConsumerThatCannotAbsorbIsKeptForAll) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId p = pad(b, "pad", x, 1, 1, 1, 1);
  b.output(b.conv("conv", p, 4, 3, 3));
  b.output(b.node("sig", Op::Sigmoid, {p}, {}, Layout::NHWC));
  auto r = run_pass(b.g, fold_pad);
  expect_unchanged(r, b.g);
}

// TFLite and Keras tensors are channels-last at the source (Layout::Plain); a 4-D tensor a
// conv reads is stored NHWC either way, so their padding folds as ONNX's does.
TEST(FoldPadPass, PadOfChannelsLastSourceTensorIsFoldedToo) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 6, 6, 3});
  ValueId p = b.node("pad", Op::Pad, {x}, attrs({{"pads", Ints{0, 1, 1, 0, 0, 1, 1, 0}}}));
  b.output(b.conv("conv", p, 4, 3, 3));
  auto r = run_pass(b.g, fold_pad);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(ops(b.g), std::vector<Op>{Op::Conv});
  EXPECT_EQ(b.g.nodes[0].attrs.get_ints("pads"), (Ints{1, 1, 1, 1}));
}

}  // namespace
}  // namespace tinyq::pass_test
