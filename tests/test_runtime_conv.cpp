// conv2d_s8 and depthwise_conv2d_s8, bit-exact against plain nested-loop references.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "test_runtime_reference.hpp"
#include "tinyq/kernels.hpp"

namespace rt = tinyq::rt;
using tinyq_test::Coverage;
using tinyq_test::Random;
using tinyq_test::ref_output;
using tinyq_test::ref_requantize;
using tinyq_test::same_bytes;

namespace {

struct ConvCase {
  rt::ConvParams p{};
  bool depthwise = false;
  std::vector<std::int8_t> input, weights;
  std::vector<std::int32_t> bias;  // empty: null bias
  std::vector<std::int32_t> multiplier, shift;
  int pad_bottom = 0, pad_right = 0;

  const std::int32_t* bias_or_null() const { return bias.empty() ? nullptr : bias.data(); }
  std::size_t output_size() const {
    return static_cast<std::size_t>(p.batch) * static_cast<std::size_t>(p.out_h * p.out_w * p.out_c);
  }
  std::string describe() const {
    std::ostringstream o;
    o << (depthwise ? "depthwise" : "conv") << " batch " << p.batch << " in " << p.in_h << "x" << p.in_w << "x"
      << p.in_c << " out " << p.out_h << "x" << p.out_w << "x" << p.out_c << " kernel " << p.kernel_h << "x"
      << p.kernel_w << " stride " << p.stride_h << "," << p.stride_w << " dilation " << p.dilation_h << ","
      << p.dilation_w << " pads " << p.pad_top << "," << p.pad_left << "," << pad_bottom << "," << pad_right
      << " groups " << p.groups << " offsets " << p.input_offset << "," << p.output_offset << " act [" << p.act_min
      << "," << p.act_max << "] requant " << multiplier.size() << " bias " << (bias.empty() ? "null" : "yes");
    return o.str();
  }
};

struct Shape {
  bool one_by_one_image = false;   // 1x1 input
  bool pad_beyond_kernel = false;  // some padding exceeds the kernel's extent
  bool stride_beyond_kernel = false;
  bool grouped = true;
  int depthwise_multiplier = 0;  // > 0: a depthwise case
};

// One spatial axis: kernel, stride, dilation, pads, output size; the output is whatever
// size the pads make legal (at least 1), as the host would compute it.
void random_axis(Random& rng, const Shape& shape, int in, int& kernel, int& stride, int& dilation, int& pad_begin,
                 int& pad_end, int& out) {
  kernel = rng.uniform(1, 4);
  dilation = rng.chance(0.3) ? rng.uniform(2, 3) : 1;
  const int extent = dilation * (kernel - 1) + 1;
  stride = shape.stride_beyond_kernel ? extent + rng.uniform(1, 2) : rng.uniform(1, 3);
  const int max_pad = shape.pad_beyond_kernel ? extent + 2 : extent - 1;
  pad_begin = rng.uniform(0, max_pad);
  pad_end = rng.uniform(0, max_pad);
  if (shape.pad_beyond_kernel && rng.chance(0.5)) pad_begin = extent + rng.uniform(0, 2);
  if (in + pad_begin + pad_end < extent) pad_end = extent - in - pad_begin;
  out = (in + pad_begin + pad_end - extent) / stride + 1;
}

ConvCase random_case(Random& rng, const Shape& shape) {
  ConvCase c;
  rt::ConvParams& p = c.p;
  p.batch = rng.uniform(1, 2);
  p.in_h = shape.one_by_one_image ? 1 : rng.uniform(1, 9);
  p.in_w = shape.one_by_one_image ? 1 : rng.uniform(1, 9);
  if (shape.depthwise_multiplier > 0) {
    c.depthwise = true;
    p.in_c = rng.pick({1, 2, 3, 5, 7, 8});
    p.groups = p.in_c;
    p.out_c = p.in_c * shape.depthwise_multiplier;
  } else {
    p.groups = shape.grouped ? rng.pick({1, 1, 2, 3}) : 1;
    p.in_c = p.groups * rng.pick({1, 2, 3, 5, 7});
    p.out_c = p.groups * rng.pick({1, 2, 3, 5});
  }
  random_axis(rng, shape, p.in_h, p.kernel_h, p.stride_h, p.dilation_h, p.pad_top, c.pad_bottom, p.out_h);
  random_axis(rng, shape, p.in_w, p.kernel_w, p.stride_w, p.dilation_w, p.pad_left, c.pad_right, p.out_w);
  p.input_offset = rng.input_offset();
  p.output_offset = rng.output_offset();
  const auto range = rng.activation_range(p.output_offset);
  p.act_min = range.first;
  p.act_max = range.second;

  const int group_in_c = c.depthwise ? 1 : p.in_c / p.groups;
  c.input = rng.activations(static_cast<std::size_t>(p.batch * p.in_h * p.in_w * p.in_c));
  c.weights = rng.weights(static_cast<std::size_t>(p.out_c * p.kernel_h * p.kernel_w * group_in_c));
  std::int64_t bias_bound = 0;
  if (rng.chance(0.8)) {
    bias_bound = rng.chance(0.8) ? 1 << 14 : 1 << 24;
    for (int o = 0; o < p.out_c; ++o)
      c.bias.push_back(static_cast<std::int32_t>(rng.uniform64(-bias_bound, bias_bound)));
  }
  const std::int64_t acc_bound = bias_bound + std::int64_t{p.kernel_h} * p.kernel_w * group_in_c * 255 * 127;
  rng.requant(p.out_c, acc_bound, c.multiplier, c.shift);
  p.requant = tinyq_test::make_requant(c.multiplier, c.shift);
  return c;
}

// The definition: out[b, oy, ox, o] = clamp(z_out + requantize(bias[o] + sum over taps inside
// the image of (in + input_offset) * w)), for a grouped conv.
std::vector<std::int8_t> reference_conv(const ConvCase& c) {
  const rt::ConvParams& p = c.p;
  const int group_in_c = p.in_c / p.groups, group_out_c = p.out_c / p.groups;
  std::vector<std::int8_t> out;
  for (int b = 0; b < p.batch; ++b)
    for (int oy = 0; oy < p.out_h; ++oy)
      for (int ox = 0; ox < p.out_w; ++ox)
        for (int o = 0; o < p.out_c; ++o) {
          const int g = o / group_out_c;
          std::int64_t acc = c.bias.empty() ? 0 : c.bias[o];
          for (int ky = 0; ky < p.kernel_h; ++ky)
            for (int kx = 0; kx < p.kernel_w; ++kx)
              for (int i = 0; i < group_in_c; ++i) {
                const int iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
                const int ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
                if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) continue;  // padding: real 0
                const int x = c.input[((b * p.in_h + iy) * p.in_w + ix) * p.in_c + g * group_in_c + i];
                const int w = c.weights[((o * p.kernel_h + ky) * p.kernel_w + kx) * group_in_c + i];
                acc += static_cast<std::int64_t>(x + p.input_offset) * w;
              }
          EXPECT_LT(std::abs(acc), std::int64_t{1} << 31) << "test generated an int32 overflow";
          out.push_back(ref_output(ref_requantize(acc, p.requant, o), p.output_offset, p.act_min, p.act_max));
        }
  return out;
}

// Depthwise: output channel o = c * multiplier + m reads input channel c; weights [1, KH, KW, out_c].
std::vector<std::int8_t> reference_depthwise(const ConvCase& c) {
  const rt::ConvParams& p = c.p;
  const int multiplier = p.out_c / p.in_c;
  std::vector<std::int8_t> out;
  for (int b = 0; b < p.batch; ++b)
    for (int oy = 0; oy < p.out_h; ++oy)
      for (int ox = 0; ox < p.out_w; ++ox)
        for (int ch = 0; ch < p.in_c; ++ch)
          for (int m = 0; m < multiplier; ++m) {
            const int o = ch * multiplier + m;
            std::int64_t acc = c.bias.empty() ? 0 : c.bias[o];
            for (int ky = 0; ky < p.kernel_h; ++ky)
              for (int kx = 0; kx < p.kernel_w; ++kx) {
                const int iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
                const int ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
                if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) continue;
                const int x = c.input[((b * p.in_h + iy) * p.in_w + ix) * p.in_c + ch];
                const int w = c.weights[(ky * p.kernel_w + kx) * p.out_c + o];
                acc += static_cast<std::int64_t>(x + p.input_offset) * w;
              }
            out.push_back(ref_output(ref_requantize(acc, p.requant, o), p.output_offset, p.act_min, p.act_max));
          }
  return out;
}

std::vector<std::int8_t> run(const ConvCase& c) {
  std::vector<std::int8_t> out(c.output_size(), 0x55);
  if (c.depthwise) {
    rt::depthwise_conv2d_s8(c.p, c.input.data(), c.weights.data(), c.bias_or_null(), out.data());
    return out;
  }
  // Scratch exactly as large as the twin says, guarded: a write past it fails the test.
  const std::size_t words = rt::conv2d_s8_scratch_bytes(c.p) / sizeof(std::int16_t);
  std::vector<std::int16_t> scratch(words + 8, 0x5a5a);
  rt::conv2d_s8(c.p, c.input.data(), c.weights.data(), c.bias_or_null(), out.data(), scratch.data());
  for (std::size_t i = words; i < scratch.size(); ++i) EXPECT_EQ(scratch[i], 0x5a5a) << "scratch overrun";
  return out;
}

// Runs `cases` random cases of `shape` and returns what the outputs covered.
Coverage check_random_cases(std::uint32_t seed, int cases, const Shape& shape) {
  Random rng(seed);
  Coverage coverage;
  for (int i = 0; i < cases; ++i) {
    const ConvCase c = random_case(rng, shape);
    SCOPED_TRACE(c.describe());
    const std::vector<std::int8_t> got = run(c);
    EXPECT_TRUE(same_bytes(got, c.depthwise ? reference_depthwise(c) : reference_conv(c)));
    coverage.add(got, c.p.act_min, c.p.act_max);
    if (::testing::Test::HasFailure()) break;
  }
  return coverage;
}

TEST(RuntimeConv, MatchesReferenceOverRandomShapesGroupsStridesDilations) {
  const Coverage coverage = check_random_cases(1, 600, Shape{});
  EXPECT_GT(coverage.at_min, 0);
  EXPECT_GT(coverage.at_max, 0);
  EXPECT_GT(coverage.inside, coverage.outputs / 10);  // not all saturated: the rounding is tested too
}

TEST(RuntimeConv, MatchesReferenceOnOneByOneImages) {
  Shape shape;
  shape.one_by_one_image = true;
  check_random_cases(2, 300, shape);
}

TEST(RuntimeConv, SkipsPaddingLargerThanTheKernel) {
  Shape shape;
  shape.pad_beyond_kernel = true;
  check_random_cases(3, 300, shape);
}

TEST(RuntimeConv, MatchesReferenceWithStrideLargerThanTheKernel) {
  Shape shape;
  shape.stride_beyond_kernel = true;
  check_random_cases(4, 300, shape);
}

TEST(RuntimeConv, ClampsToTheActivationRangeWithExtremeOffsets) {
  Random rng(5);
  Coverage coverage;
  for (int i = 0; i < 300; ++i) {
    ConvCase c = random_case(rng, Shape{});
    c.p.input_offset = rng.pick({-127, 128});
    c.p.output_offset = rng.pick({-128, 127});
    c.p.act_min = rng.pick({-128, 0, 20});
    c.p.act_max = rng.pick({c.p.act_min, 100, 127});
    SCOPED_TRACE(c.describe());
    const std::vector<std::int8_t> got = run(c);
    ASSERT_TRUE(same_bytes(got, reference_conv(c)));
    for (std::int8_t v : got) ASSERT_TRUE(v >= c.p.act_min && v <= c.p.act_max);
    coverage.add(got, c.p.act_min, c.p.act_max);
  }
  EXPECT_GT(coverage.at_min, 0);
  EXPECT_GT(coverage.at_max, 0);
}

TEST(RuntimeConv, NullBiasStartsTheAccumulatorAtZero) {
  Random rng(6);
  for (int i = 0; i < 100; ++i) {
    ConvCase c = random_case(rng, Shape{});
    c.bias.clear();
    SCOPED_TRACE(c.describe());
    const std::vector<std::int8_t> without = run(c);
    ASSERT_TRUE(same_bytes(without, reference_conv(c)));
    c.bias.assign(static_cast<std::size_t>(c.p.out_c), 0);
    ASSERT_TRUE(same_bytes(run(c), without));
  }
}

TEST(RuntimeConv, PerTensorRequantEqualsPerChannelWithTheSameEntryRepeated) {
  Random rng(7);
  for (int i = 0; i < 100; ++i) {
    ConvCase c = random_case(rng, Shape{});
    c.multiplier.resize(1);
    c.shift.resize(1);
    c.p.requant = tinyq_test::make_requant(c.multiplier, c.shift);
    SCOPED_TRACE(c.describe());
    const std::vector<std::int8_t> per_tensor = run(c);
    ASSERT_TRUE(same_bytes(per_tensor, reference_conv(c)));
    c.multiplier.assign(static_cast<std::size_t>(c.p.out_c), c.multiplier[0]);
    c.shift.assign(static_cast<std::size_t>(c.p.out_c), c.shift[0]);
    c.p.requant = tinyq_test::make_requant(c.multiplier, c.shift);
    ASSERT_TRUE(same_bytes(run(c), per_tensor));
  }
}

TEST(RuntimeConv, PowerOfTwoSchemeIsZeroOffsetsAndShiftOnlyRequant) {
  // NNoM-style layer: (acc + 2^(rs-1)) >> rs, saturated; no offsets.
  Random rng(8);
  for (int i = 0; i < 100; ++i) {
    ConvCase c = random_case(rng, Shape{});
    c.p.input_offset = 0;
    c.p.output_offset = 0;
    const int right_shift = rng.uniform(0, 12);
    c.multiplier.assign(1, 1 << 30);
    c.shift.assign(1, 1 - right_shift);
    c.p.requant = tinyq_test::make_requant(c.multiplier, c.shift);
    c.p.act_min = -128;
    c.p.act_max = 127;
    SCOPED_TRACE(c.describe());
    ASSERT_TRUE(same_bytes(run(c), reference_conv(c)));
  }
}

TEST(RuntimeDepthwise, MatchesReferenceForChannelMultipliersOneToThree) {
  for (int multiplier = 1; multiplier <= 3; ++multiplier) {
    SCOPED_TRACE(::testing::Message() << "multiplier " << multiplier);
    Shape shape;
    shape.depthwise_multiplier = multiplier;
    const Coverage coverage = check_random_cases(100 + static_cast<std::uint32_t>(multiplier), 400, shape);
    EXPECT_GT(coverage.inside, coverage.outputs / 10);
  }
}

TEST(RuntimeDepthwise, MatchesReferenceOnOneByOneImagesAndLargePadding) {
  Shape shape;
  shape.depthwise_multiplier = 2;
  shape.one_by_one_image = true;
  check_random_cases(110, 200, shape);
  shape.one_by_one_image = false;
  shape.pad_beyond_kernel = true;
  check_random_cases(111, 200, shape);
  shape.pad_beyond_kernel = false;
  shape.stride_beyond_kernel = true;
  check_random_cases(112, 200, shape);
}

TEST(RuntimeDepthwise, EqualsAGroupedConvWithOneInputChannelPerGroup) {
  // Same arithmetic, two weight layouts: [1, KH, KW, out_c] vs [out_c, KH, KW, 1].
  Random rng(120);
  for (int i = 0; i < 200; ++i) {
    Shape shape;
    shape.depthwise_multiplier = rng.uniform(1, 3);
    const ConvCase dw = random_case(rng, shape);
    ConvCase grouped = dw;
    grouped.depthwise = false;
    const int taps = dw.p.kernel_h * dw.p.kernel_w;
    for (int o = 0; o < dw.p.out_c; ++o)
      for (int t = 0; t < taps; ++t) grouped.weights[o * taps + t] = dw.weights[t * dw.p.out_c + o];
    SCOPED_TRACE(dw.describe());
    ASSERT_TRUE(same_bytes(run(dw), run(grouped)));
  }
}

}  // namespace
