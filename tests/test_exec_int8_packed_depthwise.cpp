// The host int8 executor's depthwise fast path (exec/int8/packed_depthwise) against the
// runtime kernel it replaces on the host, rt::depthwise_conv2d_s8: same bytes.
#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "exec/int8/packed_depthwise.hpp"
#include "test_runtime_reference.hpp"
#include "tinyq/kernels.hpp"

namespace rt = tinyq::rt;
using tinyq::int8::PackedDepthwise;
using tinyq_test::Coverage;
using tinyq_test::Random;
using tinyq_test::same_bytes;

namespace {

void random_axis(Random& rng, int in, int& kernel, int& stride, int& dilation, int& pad_begin, int& out) {
  kernel = rng.uniform(1, 5);
  dilation = rng.chance(0.3) ? rng.uniform(2, 3) : 1;
  const int extent = dilation * (kernel - 1) + 1;
  stride = rng.uniform(1, 3);
  pad_begin = rng.uniform(0, extent);
  int pad_end = rng.uniform(0, extent);
  if (in + pad_begin + pad_end < extent) pad_end = extent - in - pad_begin;
  out = (in + pad_begin + pad_end - extent) / stride + 1;
}

Coverage check_cases(std::uint32_t seed, int cases, bool one_by_one_image) {
  Random rng(seed);
  Coverage coverage;
  for (int i = 0; i < cases && !::testing::Test::HasFailure(); ++i) {
    rt::ConvParams p{};
    p.batch = rng.uniform(1, 2);
    p.in_h = one_by_one_image ? 1 : rng.uniform(1, 10);
    p.in_w = one_by_one_image ? 1 : rng.uniform(1, 10);
    p.in_c = rng.chance(0.3) ? rng.uniform(1, 7) : rng.uniform(8, 70);
    p.groups = p.in_c;
    p.out_c = p.in_c * (rng.chance(0.7) ? 1 : rng.uniform(2, 3));
    random_axis(rng, p.in_h, p.kernel_h, p.stride_h, p.dilation_h, p.pad_top, p.out_h);
    random_axis(rng, p.in_w, p.kernel_w, p.stride_w, p.dilation_w, p.pad_left, p.out_w);
    p.input_offset = rng.input_offset();
    p.output_offset = rng.output_offset();
    std::tie(p.act_min, p.act_max) = rng.activation_range(p.output_offset);
    const auto input = rng.activations(std::size_t(p.batch * p.in_h * p.in_w * p.in_c));
    const auto weights = rng.int8s(std::size_t(p.kernel_h * p.kernel_w * p.out_c));  // -128 included
    std::vector<std::int32_t> bias, multiplier, shift;
    if (rng.chance(0.8))
      for (int o = 0; o < p.out_c; ++o) bias.push_back(rng.uniform(-(1 << 16), 1 << 16));
    rng.requant(p.out_c, (1 << 16) + std::int64_t{p.kernel_h} * p.kernel_w * 255 * 128, multiplier, shift);
    p.requant = tinyq_test::make_requant(multiplier, shift);
    const std::int32_t* b = bias.empty() ? nullptr : bias.data();
    std::ostringstream what;
    what << "batch " << p.batch << " in " << p.in_h << "x" << p.in_w << "x" << p.in_c << " out_c " << p.out_c
         << " kernel " << p.kernel_h << "x" << p.kernel_w << " stride " << p.stride_h << "," << p.stride_w
         << " dilation " << p.dilation_h << "," << p.dilation_w << " pads " << p.pad_top << "," << p.pad_left;
    SCOPED_TRACE(what.str());

    const std::size_t size = std::size_t(p.batch * p.out_h * p.out_w * p.out_c);
    std::vector<std::int8_t> want(size, 0x55), got(size, 0x55);
    rt::depthwise_conv2d_s8(p, input.data(), weights.data(), b, want.data());
    const PackedDepthwise conv(p, weights.data(), b);
    std::vector<std::int32_t> scratch(conv.scratch_elements() + 8, 0x5a5a5a5a);
    conv.run(input.data(), got.data(), scratch.data());
    for (std::size_t k = conv.scratch_elements(); k < scratch.size(); ++k)
      EXPECT_EQ(scratch[k], 0x5a5a5a5a) << "scratch overrun";
    EXPECT_TRUE(same_bytes(got, want));
    coverage.add(got, p.act_min, p.act_max);
  }
  return coverage;
}

TEST(Int8PackedDepthwise, SameBytesAsRuntimeOverRandomShapesMultipliersStridesDilationsPadding) {
  const Coverage coverage = check_cases(21, 800, false);
  EXPECT_GT(coverage.at_min, 0);
  EXPECT_GT(coverage.at_max, 0);
  EXPECT_GT(coverage.inside, coverage.outputs / 10);
}

TEST(Int8PackedDepthwise, SameBytesAsRuntimeOnOneByOneImages) { check_cases(22, 300, true); }

}  // namespace
