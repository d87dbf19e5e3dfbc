// conv_transpose2d against a naive gather-form reference (nested loops, double accumulation).
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

std::string describe(const fk::ConvTranspose2dShape& s) {
  std::ostringstream o;
  o << "batch " << s.batch << " in " << s.in_h << "x" << s.in_w << "x" << s.in_c << " out " << s.out_h << "x" << s.out_w
    << "x" << s.out_c << " kernel " << s.kernel_h << "x" << s.kernel_w << " stride " << s.stride_h << "," << s.stride_w
    << " dilation " << s.dilation_h << "," << s.dilation_w << " pad " << s.pad_top << "," << s.pad_left << " groups "
    << s.groups;
  return o.str();
}

// Gather form: output (oy, ox) receives input (iy, ix) through tap (ky, kx) exactly when
// iy*stride_h - pad_top + ky*dilation_h == oy (and likewise for x).
std::vector<double> reference_conv_transpose2d(const fk::ConvTranspose2dShape& s, const std::vector<float>& in,
                                               const std::vector<float>& weight, const float* bias,
                                               fk::Activation act) {
  const int cin_g = s.in_c / s.groups;
  const int cout_g = s.out_c / s.groups;
  std::vector<double> out(static_cast<std::size_t>(s.batch) * s.out_h * s.out_w * s.out_c);
  std::size_t i = 0;
  for (int b = 0; b < s.batch; ++b) {
    for (int oy = 0; oy < s.out_h; ++oy) {
      for (int ox = 0; ox < s.out_w; ++ox) {
        for (int o = 0; o < s.out_c; ++o) {
          const int g = o / cout_g;
          const int j = o % cout_g;
          double acc = 0.0;
          for (int ky = 0; ky < s.kernel_h; ++ky) {
            for (int kx = 0; kx < s.kernel_w; ++kx) {
              const int ny = oy + s.pad_top - ky * s.dilation_h;
              const int nx = ox + s.pad_left - kx * s.dilation_w;
              if (ny < 0 || nx < 0 || ny % s.stride_h != 0 || nx % s.stride_w != 0) continue;
              const int iy = ny / s.stride_h;
              const int ix = nx / s.stride_w;
              if (iy >= s.in_h || ix >= s.in_w) continue;
              for (int ci = 0; ci < cin_g; ++ci) {
                const int c = g * cin_g + ci;
                const double x = in[((static_cast<std::size_t>(b) * s.in_h + iy) * s.in_w + ix) * s.in_c + c];
                const double w =
                    weight[((static_cast<std::size_t>(c) * s.kernel_h + ky) * s.kernel_w + kx) * cout_g + j];
                acc += x * w;
              }
            }
          }
          if (bias) acc += bias[o];
          out[i++] = std::min(std::max(acc, static_cast<double>(act.min)), static_cast<double>(act.max));
        }
      }
    }
  }
  return out;
}

enum class Grouping { kNone, kTwoGroups, kDepthwise };

// ONNX: out = stride*(in-1) + output_padding + (kernel-1)*dilation + 1 - pad_begin - pad_end.
fk::ConvTranspose2dShape random_shape(std::mt19937& rng, Grouping grouping, int max_in = 6) {
  for (;;) {
    fk::ConvTranspose2dShape s{};
    s.batch = uniform(rng, 1, 3);
    s.in_h = uniform(rng, 1, max_in);
    s.in_w = uniform(rng, 1, max_in);
    s.kernel_h = uniform(rng, 1, 5);
    s.kernel_w = uniform(rng, 1, 5);
    s.stride_h = uniform(rng, 1, 3);
    s.stride_w = uniform(rng, 1, 3);
    s.dilation_h = uniform(rng, 1, 2);
    s.dilation_w = uniform(rng, 1, 2);
    s.pad_top = uniform(rng, 0, s.kernel_h);
    s.pad_left = uniform(rng, 0, s.kernel_w);
    const int pad_bottom = uniform(rng, 0, s.kernel_h);
    const int pad_right = uniform(rng, 0, s.kernel_w);
    const int out_pad_h = uniform(rng, 0, std::max(s.stride_h, s.dilation_h) - 1);
    const int out_pad_w = uniform(rng, 0, std::max(s.stride_w, s.dilation_w) - 1);
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
        s.in_c = odd(rng, 0, 6);
        s.groups = s.in_c;
        s.out_c = s.in_c * uniform(rng, 1, 2);
        break;
    }
    s.out_h = s.stride_h * (s.in_h - 1) + out_pad_h + (s.kernel_h - 1) * s.dilation_h + 1 - s.pad_top - pad_bottom;
    s.out_w = s.stride_w * (s.in_w - 1) + out_pad_w + (s.kernel_w - 1) * s.dilation_w + 1 - s.pad_left - pad_right;
    if (s.out_h > 0 && s.out_w > 0) return s;
  }
}

struct TransposeRun {
  std::vector<float> out;
  std::vector<double> want;
};

TransposeRun run_conv_transpose(std::mt19937& rng, const fk::ConvTranspose2dShape& s, fk::Activation act,
                                bool with_bias) {
  const auto in = random_floats(rng, static_cast<std::size_t>(s.batch) * s.in_h * s.in_w * s.in_c);
  const auto weight =
      random_floats(rng, static_cast<std::size_t>(s.in_c) * s.kernel_h * s.kernel_w * (s.out_c / s.groups));
  const auto bias = random_floats(rng, s.out_c);
  const float* bias_ptr = with_bias ? bias.data() : nullptr;
  TransposeRun run;
  run.out.assign(static_cast<std::size_t>(s.batch) * s.out_h * s.out_w * s.out_c, kNaN);
  fk::conv_transpose2d(s, in.data(), weight.data(), bias_ptr, run.out.data(), act);
  run.want = reference_conv_transpose2d(s, in, weight, bias_ptr, act);
  return run;
}

void check_random_shapes(Grouping grouping, unsigned seed, int trials) {
  std::mt19937 rng(seed);
  for (int t = 0; t < trials; ++t) {
    const fk::ConvTranspose2dShape s = random_shape(rng, grouping);
    SCOPED_TRACE(describe(s));
    const TransposeRun run = run_conv_transpose(rng, s, fk::no_activation(), /*with_bias=*/t % 4 != 0);
    ASSERT_TRUE(all_close(run.out, run.want));
  }
}

TEST(ConvTranspose2dFloat, UngroupedMatchesReferenceOnRandomShapes) { check_random_shapes(Grouping::kNone, 21, 300); }

TEST(ConvTranspose2dFloat, TwoGroupsMatchReferenceOnRandomShapes) {
  check_random_shapes(Grouping::kTwoGroups, 22, 300);
}

TEST(ConvTranspose2dFloat, DepthwiseAndChannelMultiplierMatchReference) {
  check_random_shapes(Grouping::kDepthwise, 23, 300);
}

TEST(ConvTranspose2dFloat, OneByOneInputsMatchReference) {
  std::mt19937 rng(24);
  for (Grouping grouping : {Grouping::kNone, Grouping::kTwoGroups, Grouping::kDepthwise}) {
    for (int t = 0; t < 40; ++t) {
      const fk::ConvTranspose2dShape s = random_shape(rng, grouping, /*max_in=*/1);
      SCOPED_TRACE(describe(s));
      const TransposeRun run = run_conv_transpose(rng, s, fk::no_activation(), true);
      ASSERT_TRUE(all_close(run.out, run.want));
    }
  }
}

TEST(ConvTranspose2dFloat, PadsCropTheScatteredOutput) {
  // One input pixel of value 1 scattered by a 3x3 kernel 1..9; pads (1,1) with a 1x1 output keep
  // only the centre tap, pads (0,0) with a 2x2 output keep the top-left quadrant.
  const std::vector<float> in = {1.0f};
  const std::vector<float> weight = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  fk::ConvTranspose2dShape s{.batch = 1,
                             .in_h = 1,
                             .in_w = 1,
                             .in_c = 1,
                             .out_h = 1,
                             .out_w = 1,
                             .out_c = 1,
                             .kernel_h = 3,
                             .kernel_w = 3,
                             .stride_h = 2,
                             .stride_w = 2,
                             .dilation_h = 1,
                             .dilation_w = 1,
                             .pad_top = 1,
                             .pad_left = 1,
                             .groups = 1};
  std::vector<float> out(1, kNaN);
  fk::conv_transpose2d(s, in.data(), weight.data(), nullptr, out.data(), fk::no_activation());
  EXPECT_EQ(out[0], 5.0f);
  s.pad_top = s.pad_left = 0;
  s.out_h = s.out_w = 2;
  out.assign(4, kNaN);
  fk::conv_transpose2d(s, in.data(), weight.data(), nullptr, out.data(), fk::no_activation());
  EXPECT_EQ(out, (std::vector<float>{1, 2, 4, 5}));
}

TEST(ConvTranspose2dFloat, OutputPaddingRowsReceiveOnlyBias) {
  // stride 2, kernel 1, output_padding 1: odd output rows/cols get no taps, just the bias.
  const fk::ConvTranspose2dShape s{.batch = 1,
                                   .in_h = 2,
                                   .in_w = 2,
                                   .in_c = 1,
                                   .out_h = 4,
                                   .out_w = 4,
                                   .out_c = 1,
                                   .kernel_h = 1,
                                   .kernel_w = 1,
                                   .stride_h = 2,
                                   .stride_w = 2,
                                   .dilation_h = 1,
                                   .dilation_w = 1,
                                   .pad_top = 0,
                                   .pad_left = 0,
                                   .groups = 1};
  const std::vector<float> in = {1, 2, 3, 4};
  const std::vector<float> weight = {10};
  const std::vector<float> bias = {0.5f};
  std::vector<float> out(16, kNaN);
  fk::conv_transpose2d(s, in.data(), weight.data(), bias.data(), out.data(), fk::no_activation());
  EXPECT_EQ(out, (std::vector<float>{10.5f, 0.5f, 20.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 30.5f, 0.5f, 40.5f, 0.5f, 0.5f,
                                     0.5f, 0.5f, 0.5f}));
}

TEST(ConvTranspose2dFloat, FusedActivationClampsEveryOutput) {
  std::mt19937 rng(25);
  const fk::Activation activations[] = {{0.0f, kInf}, {0.0f, 6.0f}, {-0.25f, 0.5f}};
  for (const fk::Activation act : activations) {
    for (Grouping grouping : {Grouping::kNone, Grouping::kTwoGroups, Grouping::kDepthwise}) {
      for (int t = 0; t < 30; ++t) {
        const fk::ConvTranspose2dShape s = random_shape(rng, grouping);
        SCOPED_TRACE(describe(s));
        const TransposeRun run = run_conv_transpose(rng, s, act, true);
        ASSERT_TRUE(all_close(run.out, run.want));
        ASSERT_TRUE(std::all_of(run.out.begin(), run.out.end(), [&](float v) { return v >= act.min && v <= act.max; }));
      }
    }
  }
}

}  // namespace
