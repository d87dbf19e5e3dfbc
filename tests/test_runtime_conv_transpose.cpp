// conv_transpose2d_s8 (a gather over the taps that reach each output) bit-exact against the
// scatter definition: every input pixel adds in * w[tap] to the output pixel its tap lands on.
#include <cstdint>
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

struct Case {
  rt::ConvParams p{};
  std::vector<std::int8_t> input, weights;  // weights [out_c, kh, kw, in_c/groups]
  std::vector<std::int32_t> bias;           // empty: null bias
  std::vector<std::int32_t> multiplier, shift;
  int pad_bottom = 0, pad_right = 0, output_padding_h = 0, output_padding_w = 0;

  std::size_t output_size() const {
    return static_cast<std::size_t>(p.batch) * static_cast<std::size_t>(p.out_h * p.out_w * p.out_c);
  }
  std::string describe() const {
    std::ostringstream o;
    o << "conv_transpose batch " << p.batch << " in " << p.in_h << "x" << p.in_w << "x" << p.in_c << " out " << p.out_h
      << "x" << p.out_w << "x" << p.out_c << " kernel " << p.kernel_h << "x" << p.kernel_w << " stride " << p.stride_h
      << "," << p.stride_w << " dilation " << p.dilation_h << "," << p.dilation_w << " pads " << p.pad_top << ","
      << p.pad_left << "," << pad_bottom << "," << pad_right << " output_padding " << output_padding_h << ","
      << output_padding_w << " groups " << p.groups << " offsets " << p.input_offset << "," << p.output_offset
      << " act [" << p.act_min << "," << p.act_max << "] requant " << multiplier.size() << " bias "
      << (bias.empty() ? "null" : "yes");
    return o.str();
  }
};

enum class Grouping { Any, Depthwise };

// One axis: kernel 1-4, stride 1-3, sometimes dilated, pads up to the window, output padding
// below the stride or dilation (ONNX's rule); the output size is ONNX's formula.
void random_axis(Random& rng, int in, int& kernel, int& stride, int& dilation, int& pad_begin, int& pad_end,
                 int& output_padding, int& out) {
  kernel = rng.uniform(1, 4);
  stride = rng.uniform(1, 3);
  dilation = rng.chance(0.25) ? rng.uniform(2, 3) : 1;
  const int extent = dilation * (kernel - 1) + 1;
  const int full = stride * (in - 1) + extent;
  pad_begin = rng.uniform(0, extent - 1);
  pad_end = rng.uniform(0, extent - 1);
  output_padding = rng.chance(0.4) ? rng.uniform(0, std::max(stride, dilation) - 1) : 0;
  out = full + output_padding - pad_begin - pad_end;
  if (out < 1) {  // crop less: keep at least one row
    pad_end = 0;
    pad_begin = std::min(pad_begin, full - 1);
    out = full + output_padding - pad_begin;
  }
}

Case random_case(Random& rng, Grouping grouping) {
  Case c;
  rt::ConvParams& p = c.p;
  p.batch = rng.uniform(1, 2);
  p.in_h = rng.uniform(1, 6);
  p.in_w = rng.uniform(1, 6);
  if (grouping == Grouping::Depthwise) {  // one input channel per group, 1-2 outputs each
    p.in_c = rng.pick({1, 3, 4, 8});
    p.groups = p.in_c;
    p.out_c = p.in_c * rng.uniform(1, 2);
  } else {
    p.groups = rng.pick({1, 1, 2, 3});
    p.in_c = p.groups * rng.pick({1, 2, 3, 5});
    p.out_c = p.groups * rng.pick({1, 2, 4});
  }
  random_axis(rng, p.in_h, p.kernel_h, p.stride_h, p.dilation_h, p.pad_top, c.pad_bottom, c.output_padding_h, p.out_h);
  random_axis(rng, p.in_w, p.kernel_w, p.stride_w, p.dilation_w, p.pad_left, c.pad_right, c.output_padding_w, p.out_w);
  p.input_offset = rng.input_offset();
  p.output_offset = rng.output_offset();
  const auto range = rng.activation_range(p.output_offset);
  p.act_min = range.first;
  p.act_max = range.second;
  const int group_in_c = p.in_c / p.groups;
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

// The scatter definition in int64: input pixel (iy, ix), tap (ky, kx) lands on output
// (iy * stride - pad_top + ky * dilation, ...); taps outside the output are dropped.
std::vector<std::int64_t> reference_accumulators(const Case& c) {
  const rt::ConvParams& p = c.p;
  const int group_in_c = p.in_c / p.groups, group_out_c = p.out_c / p.groups;
  std::vector<std::int64_t> acc(c.output_size(), 0);
  for (int b = 0; b < p.batch; ++b)
    for (int iy = 0; iy < p.in_h; ++iy)
      for (int ix = 0; ix < p.in_w; ++ix)
        for (int ky = 0; ky < p.kernel_h; ++ky)
          for (int kx = 0; kx < p.kernel_w; ++kx) {
            const int oy = iy * p.stride_h - p.pad_top + ky * p.dilation_h;
            const int ox = ix * p.stride_w - p.pad_left + kx * p.dilation_w;
            if (oy < 0 || oy >= p.out_h || ox < 0 || ox >= p.out_w) continue;
            for (int o = 0; o < p.out_c; ++o) {
              const int g = o / group_out_c;
              for (int i = 0; i < group_in_c; ++i) {
                const int x = c.input[((b * p.in_h + iy) * p.in_w + ix) * p.in_c + g * group_in_c + i];
                const int w = c.weights[((o * p.kernel_h + ky) * p.kernel_w + kx) * group_in_c + i];
                acc[((b * p.out_h + oy) * p.out_w + ox) * p.out_c + o] += std::int64_t{x + p.input_offset} * w;
              }
            }
          }
  for (std::size_t i = 0; i < acc.size(); ++i) {
    if (!c.bias.empty()) acc[i] += c.bias[i % std::size_t(p.out_c)];
    EXPECT_LT(std::abs(acc[i]), std::int64_t{1} << 31) << "test generated an int32 overflow";
  }
  return acc;
}

std::vector<std::int8_t> reference(const Case& c) {
  const std::vector<std::int64_t> acc = reference_accumulators(c);
  std::vector<std::int8_t> out;
  for (std::size_t i = 0; i < acc.size(); ++i)
    out.push_back(ref_output(ref_requantize(acc[i], c.p.requant, int(i % std::size_t(c.p.out_c))), c.p.output_offset,
                             c.p.act_min, c.p.act_max));
  return out;
}

std::vector<std::int8_t> run(const Case& c) {
  std::vector<std::int8_t> out(c.output_size(), 0x55);
  // Scratch exactly as large as the twin says, guarded: a write past it fails the test.
  const std::size_t words = rt::conv_transpose2d_s8_scratch_bytes(c.p) / sizeof(std::int32_t);
  std::vector<std::int32_t> scratch(words + 8, 0x5a5a5a5a);
  rt::conv_transpose2d_s8(c.p, c.input.data(), c.weights.data(), c.bias.empty() ? nullptr : c.bias.data(), out.data(),
                          scratch.data());
  for (std::size_t i = words; i < scratch.size(); ++i) EXPECT_EQ(scratch[i], 0x5a5a5a5a) << "scratch overrun";
  return out;
}

Coverage check_random_cases(std::uint32_t seed, int cases, Grouping grouping) {
  Random rng(seed);
  Coverage coverage;
  for (int i = 0; i < cases; ++i) {
    const Case c = random_case(rng, grouping);
    SCOPED_TRACE(c.describe());
    const std::vector<std::int8_t> got = run(c);
    EXPECT_TRUE(same_bytes(got, reference(c)));
    coverage.add(got, c.p.act_min, c.p.act_max);
    if (::testing::Test::HasFailure()) break;
  }
  return coverage;
}

TEST(RuntimeConvTranspose, MatchesScatterReferenceOverRandomShapesGroupsStridesPads) {
  const Coverage coverage = check_random_cases(11, 600, Grouping::Any);
  EXPECT_GT(coverage.at_min, 0);
  EXPECT_GT(coverage.at_max, 0);
  EXPECT_GT(coverage.inside, coverage.outputs / 10);  // not all saturated: the rounding is tested too
}

TEST(RuntimeConvTranspose, MatchesScatterReferenceDepthwiseLike) {
  const Coverage coverage = check_random_cases(12, 400, Grouping::Depthwise);
  EXPECT_GT(coverage.inside, coverage.outputs / 10);
}

// A 2x upsampling 2x2 kernel, stride 2: every output pixel has exactly one tap, so output
// (2y + ky, 2x + kx) is requantize(bias + (in[y, x] + offset) * w[ky, kx]) -- written out.
TEST(RuntimeConvTranspose, StrideTwoKernelTwoPlacesEachTapOnItsOwnPixel) {
  rt::ConvParams p{};
  p.batch = 1, p.in_h = 2, p.in_w = 2, p.in_c = 1, p.out_h = 4, p.out_w = 4, p.out_c = 1;
  p.kernel_h = p.kernel_w = 2, p.stride_h = p.stride_w = 2, p.dilation_h = p.dilation_w = 1, p.groups = 1;
  p.input_offset = 3, p.output_offset = -2, p.act_min = -128, p.act_max = 127;
  const std::int32_t multiplier = 1 << 30, shift = 1;  // m = 1: the accumulator itself
  p.requant = rt::Requant{&multiplier, &shift, 1};
  const std::vector<std::int8_t> in{1, -2, 5, 0}, w{1, 2, -1, 3};
  const std::int32_t bias = 4;
  std::vector<std::int32_t> scratch(rt::conv_transpose2d_s8_scratch_bytes(p) / 4);
  std::vector<std::int8_t> out(16);
  rt::conv_transpose2d_s8(p, in.data(), w.data(), &bias, out.data(), scratch.data());
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) {
      const int v = in[std::size_t((y / 2) * 2 + x / 2)] + 3;
      EXPECT_EQ(out[std::size_t(y * 4 + x)], -2 + bias + v * w[std::size_t((y % 2) * 2 + x % 2)]) << y << "," << x;
    }
}

// TFLite's rounding (pre-quantized models) goes through the same accumulators.
TEST(RuntimeConvTranspose, TfliteRoundingRequantizesTheSameAccumulators) {
  Random rng(13);
  for (int i = 0; i < 100; ++i) {
    Case c = random_case(rng, Grouping::Any);
    c.p.requant.rounding = rt::kRoundTflite;
    SCOPED_TRACE(c.describe());
    const std::vector<std::int64_t> acc = reference_accumulators(c);
    std::vector<std::int8_t> want;
    for (std::size_t k = 0; k < acc.size(); ++k) {
      const std::size_t r = c.multiplier.size() == 1 ? 0 : k % std::size_t(c.p.out_c);
      const std::int32_t v = rt::requantize_tflite(std::int32_t(acc[k]), c.multiplier[r], c.shift[r]);
      want.push_back(ref_output(v, c.p.output_offset, c.p.act_min, c.p.act_max));
    }
    ASSERT_TRUE(same_bytes(run(c), want));
  }
}

}  // namespace
