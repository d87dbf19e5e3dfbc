// conv2d against a naive reference (nested loops, double accumulation) over randomized shapes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "exec/float/kernels.hpp"
#include "kernel_test_util.hpp"

namespace fk = tinyq::fk;

namespace {

using namespace tinyq::kernel_test;

std::string describe(const fk::Conv2dShape& s) {
  std::ostringstream o;
  o << "batch " << s.batch << " in " << s.in_h << "x" << s.in_w << "x" << s.in_c << " out " << s.out_h << "x" << s.out_w
    << "x" << s.out_c << " kernel " << s.kernel_h << "x" << s.kernel_w << " stride " << s.stride_h << "," << s.stride_w
    << " dilation " << s.dilation_h << "," << s.dilation_w << " pad " << s.pad_top << "," << s.pad_left << " groups "
    << s.groups;
  return o.str();
}

// The definition of conv2d, written independently of the kernel.
std::vector<double> reference_conv2d(const fk::Conv2dShape& s, const std::vector<float>& in,
                                     const std::vector<float>& weight, const float* bias, fk::Activation act) {
  const int cin_g = s.in_c / s.groups;
  const int cout_g = s.out_c / s.groups;
  std::vector<double> out(static_cast<std::size_t>(s.batch) * s.out_h * s.out_w * s.out_c);
  std::size_t i = 0;
  for (int b = 0; b < s.batch; ++b) {
    for (int oh = 0; oh < s.out_h; ++oh) {
      for (int ow = 0; ow < s.out_w; ++ow) {
        for (int o = 0; o < s.out_c; ++o) {
          const int g = o / cout_g;
          double acc = bias ? bias[o] : 0.0;
          for (int ky = 0; ky < s.kernel_h; ++ky) {
            for (int kx = 0; kx < s.kernel_w; ++kx) {
              const int ih = oh * s.stride_h - s.pad_top + ky * s.dilation_h;
              const int iw = ow * s.stride_w - s.pad_left + kx * s.dilation_w;
              if (ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w) continue;
              for (int ci = 0; ci < cin_g; ++ci) {
                const int c = g * cin_g + ci;
                const double x = in[((static_cast<std::size_t>(b) * s.in_h + ih) * s.in_w + iw) * s.in_c + c];
                const double w =
                    weight[((static_cast<std::size_t>(o) * s.kernel_h + ky) * s.kernel_w + kx) * cin_g + ci];
                acc += x * w;
              }
            }
          }
          out[i++] = std::min(std::max(acc, static_cast<double>(act.min)), static_cast<double>(act.max));
        }
      }
    }
  }
  return out;
}

// Output size for the given input, kernel and paddings; 0 if the kernel does not fit.
int conv_out_size(int in, int kernel, int stride, int dilation, int pad_begin, int pad_end) {
  const int span = in + pad_begin + pad_end - ((kernel - 1) * dilation + 1);
  return span < 0 ? 0 : span / stride + 1;
}

enum class Grouping { kNone, kTwoGroups, kDepthwise, kMultiplierTwo };

struct ShapeLimits {
  int max_in = 9;
  int max_kernel = 5;
};

fk::Conv2dShape random_shape(std::mt19937& rng, Grouping grouping, ShapeLimits limits = {}) {
  for (;;) {
    fk::Conv2dShape s{};
    s.batch = uniform(rng, 1, 3);
    s.in_h = uniform(rng, 1, limits.max_in);
    s.in_w = uniform(rng, 1, limits.max_in);
    s.kernel_h = uniform(rng, 1, limits.max_kernel);
    s.kernel_w = uniform(rng, 1, limits.max_kernel);
    s.stride_h = uniform(rng, 1, 3);
    s.stride_w = uniform(rng, 1, 3);
    s.dilation_h = uniform(rng, 1, 2);
    s.dilation_w = uniform(rng, 1, 2);
    s.pad_top = uniform(rng, 0, s.kernel_h);
    s.pad_left = uniform(rng, 0, s.kernel_w);
    const int pad_bottom = uniform(rng, 0, s.kernel_h);
    const int pad_right = uniform(rng, 0, s.kernel_w);
    switch (grouping) {
      case Grouping::kNone:
        s.groups = 1;
        s.in_c = odd(rng, 0, 4);
        s.out_c = odd(rng, 0, 4);
        break;
      case Grouping::kTwoGroups:
        s.groups = 2;
        s.in_c = 2 * odd(rng, 0, 2);
        s.out_c = 2 * odd(rng, 0, 2);
        break;
      case Grouping::kDepthwise:
        s.in_c = odd(rng, 1, 8);
        s.groups = s.in_c;
        s.out_c = s.in_c;
        break;
      case Grouping::kMultiplierTwo:
        s.in_c = odd(rng, 0, 6);
        s.groups = s.in_c;
        s.out_c = 2 * s.in_c;
        break;
    }
    s.out_h = conv_out_size(s.in_h, s.kernel_h, s.stride_h, s.dilation_h, s.pad_top, pad_bottom);
    s.out_w = conv_out_size(s.in_w, s.kernel_w, s.stride_w, s.dilation_w, s.pad_left, pad_right);
    if (s.out_h > 0 && s.out_w > 0) return s;
  }
}

constexpr int kGuard = 64;

struct ConvRun {
  std::vector<float> out;
  std::vector<double> want;
  std::vector<float> scratch;  // conv2d_scratch_floats(shape) floats, then kGuard guard floats
};

// Runs conv2d on random data with NaN-filled output and scratch, and the reference beside it.
ConvRun run_conv(std::mt19937& rng, const fk::Conv2dShape& s, fk::Activation act, bool with_bias = true) {
  const auto in = random_floats(rng, static_cast<std::size_t>(s.batch) * s.in_h * s.in_w * s.in_c);
  const auto weight =
      random_floats(rng, static_cast<std::size_t>(s.out_c) * s.kernel_h * s.kernel_w * (s.in_c / s.groups));
  const auto bias = random_floats(rng, s.out_c);
  const float* bias_ptr = with_bias ? bias.data() : nullptr;
  ConvRun run;
  run.scratch.assign(fk::conv2d_scratch_floats(s) + kGuard, kNaN);
  run.out.assign(static_cast<std::size_t>(s.batch) * s.out_h * s.out_w * s.out_c, kNaN);
  fk::conv2d(s, in.data(), weight.data(), bias_ptr, run.out.data(), run.scratch.data(), act);
  run.want = reference_conv2d(s, in, weight, bias_ptr, act);
  return run;
}

bool guard_intact(const std::vector<float>& scratch) {
  return std::all_of(scratch.end() - kGuard, scratch.end(), [](float v) { return std::isnan(v); });
}

void check_random_shapes(Grouping grouping, unsigned seed, int trials, ShapeLimits limits = {}) {
  std::mt19937 rng(seed);
  for (int t = 0; t < trials; ++t) {
    const fk::Conv2dShape s = random_shape(rng, grouping, limits);
    SCOPED_TRACE(describe(s));
    const ConvRun run = run_conv(rng, s, fk::no_activation());
    ASSERT_TRUE(all_close(run.out, run.want));
    ASSERT_TRUE(guard_intact(run.scratch)) << "wrote past conv2d_scratch_floats";
  }
}

TEST(Conv2dFloat, NoActivationIsUnboundedClamp) {
  const fk::Activation act = fk::no_activation();
  EXPECT_EQ(act.min, -kInf);
  EXPECT_EQ(act.max, kInf);
}

TEST(Conv2dFloat, UngroupedConvMatchesReferenceOnRandomShapes) { check_random_shapes(Grouping::kNone, 1, 300); }

TEST(Conv2dFloat, TwoGroupConvMatchesReferenceOnRandomShapes) { check_random_shapes(Grouping::kTwoGroups, 2, 300); }

TEST(Conv2dFloat, DepthwiseConvMatchesReferenceOnRandomShapes) { check_random_shapes(Grouping::kDepthwise, 3, 300); }

TEST(Conv2dFloat, DepthwiseConvWithChannelMultiplierTwoMatchesReference) {
  check_random_shapes(Grouping::kMultiplierTwo, 4, 300);
}

TEST(Conv2dFloat, SingleInputChannelWithManyOutputsMatchesReference) {
  std::mt19937 rng(5);
  for (int t = 0; t < 50; ++t) {
    fk::Conv2dShape s = random_shape(rng, Grouping::kNone);
    s.in_c = 1;
    s.out_c = uniform(rng, 1, 24);
    SCOPED_TRACE(describe(s));
    const ConvRun run = run_conv(rng, s, fk::no_activation());
    ASSERT_TRUE(all_close(run.out, run.want));
    ASSERT_TRUE(guard_intact(run.scratch));
  }
}

TEST(Conv2dFloat, OneByOneImagesMatchReference) {
  std::mt19937 rng(6);
  for (Grouping grouping : {Grouping::kNone, Grouping::kTwoGroups, Grouping::kDepthwise, Grouping::kMultiplierTwo}) {
    for (int t = 0; t < 40; ++t) {
      fk::Conv2dShape s = random_shape(rng, grouping, {.max_in = 1, .max_kernel = 3});
      SCOPED_TRACE(describe(s));
      const ConvRun run = run_conv(rng, s, fk::no_activation());
      ASSERT_TRUE(all_close(run.out, run.want));
      ASSERT_TRUE(guard_intact(run.scratch));
    }
  }
}

TEST(Conv2dFloat, KernelLargerThanInputWithPaddingMatchesReference) {
  std::mt19937 rng(7);
  for (Grouping grouping : {Grouping::kNone, Grouping::kTwoGroups, Grouping::kDepthwise}) {
    for (int t = 0; t < 60; ++t) {
      fk::Conv2dShape s;
      do {
        s = random_shape(rng, grouping, {.max_in = 3, .max_kernel = 7});
      } while (s.kernel_h <= s.in_h && s.kernel_w <= s.in_w);
      SCOPED_TRACE(describe(s));
      const ConvRun run = run_conv(rng, s, fk::no_activation());
      ASSERT_TRUE(all_close(run.out, run.want));
      ASSERT_TRUE(guard_intact(run.scratch));
    }
  }
}

TEST(Conv2dFloat, PointwiseConvMatchesReference) {
  std::mt19937 rng(8);
  for (int groups : {1, 1, 2, 3}) {
    for (int t = 0; t < 20; ++t) {
      fk::Conv2dShape s{};
      s.batch = uniform(rng, 1, 3);
      s.in_h = s.out_h = uniform(rng, 1, 9);
      s.in_w = s.out_w = uniform(rng, 1, 9);
      s.groups = groups;
      s.in_c = groups * odd(rng, 1, 4);
      s.out_c = groups * odd(rng, 0, 4);
      s.kernel_h = s.kernel_w = 1;
      s.stride_h = s.stride_w = 1;
      s.dilation_h = uniform(rng, 1, 2);
      s.dilation_w = uniform(rng, 1, 2);
      s.pad_top = s.pad_left = 0;
      SCOPED_TRACE(describe(s));
      const ConvRun run = run_conv(rng, s, fk::no_activation());
      ASSERT_TRUE(all_close(run.out, run.want));
      ASSERT_TRUE(guard_intact(run.scratch));
    }
  }
}

TEST(Conv2dFloat, OneByOneConvWithStrideOrPaddingMatchesReference) {
  std::mt19937 rng(9);
  for (int t = 0; t < 100; ++t) {
    fk::Conv2dShape s = random_shape(rng, t % 2 ? Grouping::kNone : Grouping::kTwoGroups);
    s.kernel_h = s.kernel_w = 1;
    s.out_h = conv_out_size(s.in_h, 1, s.stride_h, 1, s.pad_top, uniform(rng, 0, 1));
    s.out_w = conv_out_size(s.in_w, 1, s.stride_w, 1, s.pad_left, uniform(rng, 0, 1));
    SCOPED_TRACE(describe(s));
    const ConvRun run = run_conv(rng, s, fk::no_activation());
    ASSERT_TRUE(all_close(run.out, run.want));
    ASSERT_TRUE(guard_intact(run.scratch));
  }
}

TEST(Conv2dFloat, OneByOneConvPaddedOnlyAtBottomOrRightMatchesReference) {
  // Stride 1 and no top/left padding, yet the output is larger than the input: not pointwise.
  std::mt19937 rng(15);
  for (int pad_bottom : {0, 1, 2}) {
    for (int pad_right : {0, 1, 2}) {
      for (int groups : {1, 2}) {
        const int in_h = uniform(rng, 1, 5);
        const int in_w = uniform(rng, 1, 5);
        const fk::Conv2dShape s{.batch = 2,
                                .in_h = in_h,
                                .in_w = in_w,
                                .in_c = 3 * groups,
                                .out_h = in_h + pad_bottom,
                                .out_w = in_w + pad_right,
                                .out_c = 5 * groups,
                                .kernel_h = 1,
                                .kernel_w = 1,
                                .stride_h = 1,
                                .stride_w = 1,
                                .dilation_h = 1,
                                .dilation_w = 1,
                                .pad_top = 0,
                                .pad_left = 0,
                                .groups = groups};
        SCOPED_TRACE(describe(s));
        const ConvRun run = run_conv(rng, s, fk::no_activation());
        ASSERT_TRUE(all_close(run.out, run.want));
        ASSERT_TRUE(guard_intact(run.scratch));
      }
    }
  }
}

TEST(Conv2dFloat, ScratchSizeIsExactlyWhatConvUses) {
  std::mt19937 rng(10);
  for (Grouping grouping : {Grouping::kNone, Grouping::kTwoGroups, Grouping::kDepthwise, Grouping::kMultiplierTwo}) {
    for (int t = 0; t < 50; ++t) {
      const fk::Conv2dShape s = random_shape(rng, grouping);
      SCOPED_TRACE(describe(s));
      const ConvRun run = run_conv(rng, s, fk::no_activation());
      ASSERT_TRUE(guard_intact(run.scratch)) << "wrote past conv2d_scratch_floats";
      // Every float the size promises is written: the size is not an overestimate either.
      const auto used = run.scratch.end() - kGuard;
      ASSERT_TRUE(std::none_of(run.scratch.begin(), used, [](float v) { return std::isnan(v); }));
    }
  }
}

TEST(Conv2dFloat, MissingBiasMeansZeroBias) {
  std::mt19937 rng(11);
  for (Grouping grouping : {Grouping::kNone, Grouping::kTwoGroups, Grouping::kDepthwise, Grouping::kMultiplierTwo}) {
    for (int t = 0; t < 30; ++t) {
      const fk::Conv2dShape s = random_shape(rng, grouping);
      SCOPED_TRACE(describe(s));
      const ConvRun run = run_conv(rng, s, fk::no_activation(), /*with_bias=*/false);
      ASSERT_TRUE(all_close(run.out, run.want));
    }
  }
}

TEST(Conv2dFloat, FusedActivationClampsEveryOutput) {
  std::mt19937 rng(12);
  const fk::Activation activations[] = {{0.0f, kInf}, {0.0f, 6.0f}, {-0.25f, 0.5f}, {-kInf, 0.1f}};
  for (const fk::Activation act : activations) {
    for (Grouping grouping : {Grouping::kNone, Grouping::kTwoGroups, Grouping::kDepthwise, Grouping::kMultiplierTwo}) {
      for (int t = 0; t < 30; ++t) {
        const fk::Conv2dShape s = random_shape(rng, grouping);
        SCOPED_TRACE(describe(s) + " clamp [" + std::to_string(act.min) + ", " + std::to_string(act.max) + "]");
        const ConvRun run = run_conv(rng, s, act);
        ASSERT_TRUE(all_close(run.out, run.want));
        ASSERT_TRUE(std::all_of(run.out.begin(), run.out.end(), [&](float v) { return v >= act.min && v <= act.max; }));
      }
    }
  }
}

TEST(Conv2dFloat, PointwiseConvClampsEveryOutput) {
  std::mt19937 rng(13);
  const fk::Conv2dShape s{.batch = 2,
                          .in_h = 5,
                          .in_w = 3,
                          .in_c = 7,
                          .out_h = 5,
                          .out_w = 3,
                          .out_c = 9,
                          .kernel_h = 1,
                          .kernel_w = 1,
                          .stride_h = 1,
                          .stride_w = 1,
                          .dilation_h = 1,
                          .dilation_w = 1,
                          .pad_top = 0,
                          .pad_left = 0,
                          .groups = 1};
  const fk::Activation act{-0.2f, 0.3f};
  const ConvRun run = run_conv(rng, s, act);
  ASSERT_TRUE(all_close(run.out, run.want));
  ASSERT_TRUE(std::all_of(run.out.begin(), run.out.end(), [&](float v) { return v >= act.min && v <= act.max; }));
}

TEST(Conv2dFloat, RealisticLayerSizesMatchReference) {
  // Large enough for Eigen's blocked GEMM rather than its small-product path.
  std::mt19937 rng(14);
  auto layer = [](int batch, int hw, int in_c, int out_c, int k, int stride, int groups) {
    const int pad = k / 2;
    const int out = conv_out_size(hw, k, stride, 1, pad, pad);
    return fk::Conv2dShape{.batch = batch,
                           .in_h = hw,
                           .in_w = hw,
                           .in_c = in_c,
                           .out_h = out,
                           .out_w = out,
                           .out_c = out_c,
                           .kernel_h = k,
                           .kernel_w = k,
                           .stride_h = stride,
                           .stride_w = stride,
                           .dilation_h = 1,
                           .dilation_w = 1,
                           .pad_top = pad,
                           .pad_left = pad,
                           .groups = groups};
  };
  const fk::Conv2dShape layers[] = {layer(1, 28, 1, 16, 3, 1, 1),   layer(2, 14, 16, 32, 3, 1, 1),
                                    layer(1, 14, 32, 32, 3, 2, 32), layer(2, 14, 32, 64, 1, 1, 1),
                                    layer(1, 15, 24, 40, 5, 2, 4),  layer(1, 7, 64, 96, 3, 1, 1)};
  for (const fk::Conv2dShape& s : layers) {
    SCOPED_TRACE(describe(s));
    const ConvRun run = run_conv(rng, s, {0.0f, 6.0f});
    ASSERT_TRUE(all_close(run.out, run.want));
    ASSERT_TRUE(guard_intact(run.scratch));
  }
}

// The direct kernel computes 16 output channels at a time (the last block of 8 or 16 partly
// zero-padded) and up to 5 pixels at a time: widths and channel counts around those sizes.
TEST(Conv2dFloat, ManyChannelsAndWideRowsMatchReference) {
  std::mt19937 rng(16);
  for (int groups : {1, 1, 2, 3}) {
    for (int t = 0; t < 40; ++t) {
      fk::Conv2dShape s = random_shape(rng, Grouping::kNone, {.max_in = 17, .max_kernel = 3});
      s.groups = groups;
      s.in_c = groups * uniform(rng, 1, 6);
      s.out_c = groups * uniform(rng, 1, 41);
      SCOPED_TRACE(describe(s));
      const ConvRun run = run_conv(rng, s, {-0.5f, 2.0f});
      ASSERT_TRUE(all_close(run.out, run.want));
      ASSERT_TRUE(guard_intact(run.scratch));
    }
  }
}

// The executor packs weights once and may split one image's output rows over threads: any
// split of the rows must give the reference, and rows outside the range stay untouched.
TEST(Conv2dFloat, PackedConvOverRowRangesMatchesReference) {
  std::mt19937 rng(17);
  for (Grouping grouping : {Grouping::kNone, Grouping::kTwoGroups}) {
    for (int t = 0; t < 100; ++t) {
      fk::Conv2dShape s = random_shape(rng, grouping, {.max_in = t % 10 == 0 ? 1 : 12, .max_kernel = 5});
      s.out_c *= uniform(rng, 1, 5);
      if (!fk::conv2d_uses_packed_weights(s)) continue;  // two groups of one channel: depthwise
      SCOPED_TRACE(describe(s));
      const auto in = random_floats(rng, static_cast<std::size_t>(s.batch) * s.in_h * s.in_w * s.in_c);
      const auto weight =
          random_floats(rng, static_cast<std::size_t>(s.out_c) * s.kernel_h * s.kernel_w * (s.in_c / s.groups));
      const auto bias = random_floats(rng, s.out_c);
      std::vector<float> packed(fk::packed_conv2d_floats(s), kNaN);
      fk::pack_conv2d_weights(s, weight.data(), packed.data());
      ASSERT_TRUE(std::none_of(packed.begin(), packed.end(), [](float v) { return std::isnan(v); }));
      const int rows = s.batch * s.out_h;
      const std::size_t row_floats = static_cast<std::size_t>(s.out_w) * s.out_c;
      std::vector<float> out(static_cast<std::size_t>(rows) * row_floats, kNaN);
      // Random cut points, computed in a shuffled order; check each piece writes only its rows.
      std::vector<int> cuts = {0, rows};
      for (int i = uniform(rng, 0, 3); i > 0; --i) cuts.push_back(uniform(rng, 0, rows));
      std::sort(cuts.begin(), cuts.end());
      for (std::size_t i = cuts.size() - 1; i > 0; --i) {
        fk::conv2d_packed(s, in.data(), packed.data(), bias.data(), out.data(), fk::no_activation(), cuts[i - 1],
                          cuts[i]);
        ASSERT_TRUE(std::all_of(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(cuts[i - 1] * row_floats),
                                [](float v) { return std::isnan(v); }));
      }
      ASSERT_TRUE(all_close(out, reference_conv2d(s, in, weight, bias.data(), fk::no_activation())));
    }
  }
}

TEST(Conv2dFloat, DepthwiseShapesKeepTheirOwnLoop) {
  fk::Conv2dShape s{};
  s.in_c = s.groups = 8;
  s.out_c = 16;
  EXPECT_FALSE(fk::conv2d_uses_packed_weights(s));
  s.in_c = s.groups = s.out_c = 1;  // one channel: an ordinary convolution
  EXPECT_TRUE(fk::conv2d_uses_packed_weights(s));
}

}  // namespace
