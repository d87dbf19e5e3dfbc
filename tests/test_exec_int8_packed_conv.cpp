// The host int8 executor's GEMM fast path (exec/int8/packed_conv) against the runtime
// kernels it replaces on the host, rt::conv2d_s8 and rt::dense_s8: the runtime stays the
// reference (it is what the MCU runs), and the fast path must give the very same bytes.
#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "exec/int8/packed_conv.hpp"
#include "test_runtime_reference.hpp"
#include "tinyq/kernels.hpp"

namespace rt = tinyq::rt;
using tinyq::int8::PackedConv;
using tinyq_test::Coverage;
using tinyq_test::Random;
using tinyq_test::same_bytes;

namespace {

struct ConvCase {
  rt::ConvParams p{};
  std::vector<std::int8_t> input, weights;
  std::vector<std::int32_t> bias;  // empty: null bias
  std::vector<std::int32_t> multiplier, shift;

  const std::int32_t* bias_or_null() const { return bias.empty() ? nullptr : bias.data(); }
  std::size_t output_size() const { return std::size_t(p.batch) * std::size_t(p.out_h * p.out_w * p.out_c); }
  std::string describe() const {
    std::ostringstream o;
    o << "batch " << p.batch << " in " << p.in_h << "x" << p.in_w << "x" << p.in_c << " out " << p.out_h << "x"
      << p.out_w << "x" << p.out_c << " kernel " << p.kernel_h << "x" << p.kernel_w << " stride " << p.stride_h << ","
      << p.stride_w << " dilation " << p.dilation_h << "," << p.dilation_w << " pads " << p.pad_top << "," << p.pad_left
      << " groups " << p.groups << " offsets " << p.input_offset << "," << p.output_offset << " act [" << p.act_min
      << "," << p.act_max << "] requant " << multiplier.size() << " bias " << (bias.empty() ? "null" : "yes");
    return o.str();
  }
};

struct Options {
  bool one_by_one_image = false;
  bool wide = false;  // many channels: several output-channel blocks and patch blocks
};

// One spatial axis with any legal padding (also more than the kernel's extent).
void random_axis(Random& rng, int in, int& kernel, int& stride, int& dilation, int& pad_begin, int& out) {
  kernel = rng.uniform(1, 4);
  dilation = rng.chance(0.3) ? rng.uniform(2, 3) : 1;
  const int extent = dilation * (kernel - 1) + 1;
  stride = rng.uniform(1, 3);
  pad_begin = rng.uniform(0, extent);
  int pad_end = rng.uniform(0, extent);
  if (in + pad_begin + pad_end < extent) pad_end = extent - in - pad_begin;
  out = (in + pad_begin + pad_end - extent) / stride + 1;
}

ConvCase random_conv(Random& rng, const Options& o) {
  ConvCase c;
  rt::ConvParams& p = c.p;
  p.batch = rng.uniform(1, 2);
  p.in_h = o.one_by_one_image ? 1 : rng.uniform(1, o.wide ? 12 : 9);
  p.in_w = o.one_by_one_image ? 1 : rng.uniform(1, o.wide ? 12 : 9);
  p.groups = rng.pick({1, 1, 2, 3});
  p.in_c = p.groups * (o.wide ? rng.uniform(8, 70) : rng.pick({1, 2, 3, 5, 7}));
  p.out_c = p.groups * (o.wide ? rng.uniform(1, 40) : rng.pick({1, 2, 3, 5, 9, 17}));
  random_axis(rng, p.in_h, p.kernel_h, p.stride_h, p.dilation_h, p.pad_top, p.out_h);
  random_axis(rng, p.in_w, p.kernel_w, p.stride_w, p.dilation_w, p.pad_left, p.out_w);
  p.input_offset = rng.input_offset();
  p.output_offset = rng.output_offset();
  std::tie(p.act_min, p.act_max) = rng.activation_range(p.output_offset);
  const int group_in_c = p.in_c / p.groups;
  c.input = rng.activations(std::size_t(p.batch * p.in_h * p.in_w * p.in_c));
  // Full int8 range, -128 included: the fast path must not rely on symmetric weights.
  c.weights = rng.int8s(std::size_t(p.out_c * p.kernel_h * p.kernel_w * group_in_c));
  std::int64_t bias_bound = 0;
  if (rng.chance(0.8)) {
    bias_bound = rng.chance(0.8) ? 1 << 14 : 1 << 24;
    for (int k = 0; k < p.out_c; ++k) c.bias.push_back(std::int32_t(rng.uniform64(-bias_bound, bias_bound)));
  }
  const std::int64_t acc_bound = bias_bound + std::int64_t{p.kernel_h} * p.kernel_w * group_in_c * 255 * 128;
  rng.requant(p.out_c, acc_bound, c.multiplier, c.shift);
  p.requant = tinyq_test::make_requant(c.multiplier, c.shift);
  return c;
}

std::vector<std::int8_t> runtime_conv(const ConvCase& c) {
  std::vector<std::int8_t> out(c.output_size(), 0x55);
  std::vector<std::int16_t> scratch(rt::conv2d_s8_scratch_bytes(c.p) / sizeof(std::int16_t) + 1);
  rt::conv2d_s8(c.p, c.input.data(), c.weights.data(), c.bias_or_null(), out.data(), scratch.data());
  return out;
}

std::vector<std::int8_t> fast_conv(const PackedConv& conv, const std::vector<std::int8_t>& input, std::size_t size) {
  std::vector<std::int8_t> out(size, 0x55);
  // Exactly as much scratch as the fast path asks for, guarded: a write past it fails.
  const std::size_t words = conv.scratch_elements();
  std::vector<std::int16_t> scratch(words + 16, 0x5a5a);
  conv.run(input.data(), out.data(), scratch.data());
  for (std::size_t i = words; i < scratch.size(); ++i) EXPECT_EQ(scratch[i], 0x5a5a) << "scratch overrun";
  return out;
}

Coverage check_conv_cases(std::uint32_t seed, int cases, const Options& o) {
  Random rng(seed);
  Coverage coverage;
  for (int i = 0; i < cases && !::testing::Test::HasFailure(); ++i) {
    const ConvCase c = random_conv(rng, o);
    SCOPED_TRACE(c.describe());
    const PackedConv conv(c.p, c.weights.data(), c.bias_or_null());
    const std::vector<std::int8_t> got = fast_conv(conv, c.input, c.output_size());
    EXPECT_TRUE(same_bytes(got, runtime_conv(c)));
    coverage.add(got, c.p.act_min, c.p.act_max);
  }
  return coverage;
}

TEST(Int8PackedConv, SameBytesAsRuntimeOverRandomShapesGroupsStridesDilationsPadding) {
  const Coverage coverage = check_conv_cases(11, 800, Options{});
  EXPECT_GT(coverage.at_min, 0);  // saturation on both ends was exercised
  EXPECT_GT(coverage.at_max, 0);
  EXPECT_GT(coverage.inside, coverage.outputs / 10);
}

TEST(Int8PackedConv, SameBytesAsRuntimeOnOneByOneImages) { check_conv_cases(12, 300, {.one_by_one_image = true}); }

TEST(Int8PackedConv, SameBytesAsRuntimeWithManyChannels) {
  const Coverage coverage = check_conv_cases(13, 120, {.wide = true});
  EXPECT_GT(coverage.inside, coverage.outputs / 10);
}

TEST(Int8PackedConv, SameBytesAsRuntimeForDenseLayers) {
  Random rng(14);
  for (int i = 0; i < 300 && !HasFailure(); ++i) {
    rt::DenseParams p{};
    p.rows = rng.uniform(1, 4);
    p.in_features = rng.chance(0.2) ? rng.uniform(1, 3) : rng.uniform(1, 400);
    p.out_features = rng.uniform(1, 40);
    p.input_offset = rng.input_offset();
    p.output_offset = rng.output_offset();
    std::tie(p.act_min, p.act_max) = rng.activation_range(p.output_offset);
    const auto input = rng.activations(std::size_t(p.rows * p.in_features));
    const auto weights = rng.int8s(std::size_t(p.out_features * p.in_features));
    std::vector<std::int32_t> bias, multiplier, shift;
    if (rng.chance(0.8))
      for (int k = 0; k < p.out_features; ++k) bias.push_back(rng.uniform(-(1 << 16), 1 << 16));
    rng.requant(p.out_features, (1 << 16) + std::int64_t{p.in_features} * 255 * 128, multiplier, shift);
    p.requant = tinyq_test::make_requant(multiplier, shift);
    const std::int32_t* b = bias.empty() ? nullptr : bias.data();
    SCOPED_TRACE("dense rows " + std::to_string(p.rows) + " in " + std::to_string(p.in_features) + " out " +
                 std::to_string(p.out_features));

    std::vector<std::int8_t> want(std::size_t(p.rows * p.out_features));
    rt::dense_s8(p, input.data(), weights.data(), b, want.data());
    const PackedConv dense = PackedConv::dense(p, weights.data(), b);
    EXPECT_TRUE(same_bytes(fast_conv(dense, input, want.size()), want));
  }
}

// The accumulator wraps modulo 2^32 exactly like the runtime's int32 sums: near the int32
// limits (bias at the edge, every product at its extreme) the bytes still agree.
TEST(Int8PackedConv, SameBytesAsRuntimeAtAccumulatorExtremes) {
  ConvCase c;
  rt::ConvParams& p = c.p;
  p = {1, 3, 3, 64, 3, 3, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 128, 0, -128, 127, {}};
  c.input.assign(3 * 3 * 64, 127);  // 127 + 128 = 255 on every tap
  // Odd channels sum 9 * 64 * 255 * -128 at the centre, even ones 9 * 64 * 255 * 127; the bias
  // puts the centre's accumulator exactly on INT32_MIN / INT32_MAX.
  for (int o = 0; o < 16; ++o) c.weights.insert(c.weights.end(), 9 * 64, std::int8_t(o % 2 ? -128 : 127));
  for (int o = 0; o < 16; ++o)
    c.bias.push_back(o % 2 ? INT32_MIN + 9 * 64 * 255 * 128 : INT32_MAX - 9 * 64 * 255 * 127);
  c.multiplier.assign(16, 1 << 30);
  c.shift.assign(16, -24);
  p.requant = tinyq_test::make_requant(c.multiplier, c.shift);
  const PackedConv conv(p, c.weights.data(), c.bias.data());
  EXPECT_TRUE(same_bytes(fast_conv(conv, c.input, c.output_size()), runtime_conv(c)));
}

}  // namespace
