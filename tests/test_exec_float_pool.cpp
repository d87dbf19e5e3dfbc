// Pooling against naive references written from the ONNX definitions.
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

std::string describe(const fk::Pool2dShape& s) {
  std::ostringstream o;
  o << "batch " << s.batch << " in " << s.in_h << "x" << s.in_w << "x" << s.channels << " out " << s.out_h << "x"
    << s.out_w << " kernel " << s.kernel_h << "x" << s.kernel_w << " stride " << s.stride_h << "," << s.stride_w
    << " dilation " << s.dilation_h << "," << s.dilation_w << " pads " << s.pad_top << "," << s.pad_left << ","
    << s.pad_bottom << "," << s.pad_right;
  return o.str();
}

double clamp(double v, fk::Activation act) {
  return std::min(std::max(v, static_cast<double>(act.min)), static_cast<double>(act.max));
}

float at(const fk::Pool2dShape& s, const std::vector<float>& in, int b, int h, int w, int c) {
  return in[((static_cast<std::size_t>(b) * s.in_h + h) * s.in_w + w) * s.channels + c];
}

std::vector<double> reference_max_pool(const fk::Pool2dShape& s, const std::vector<float>& in, fk::Activation act) {
  std::vector<double> out;
  for (int b = 0; b < s.batch; ++b) {
    for (int oh = 0; oh < s.out_h; ++oh) {
      for (int ow = 0; ow < s.out_w; ++ow) {
        for (int c = 0; c < s.channels; ++c) {
          double best = -kInf;
          for (int ky = 0; ky < s.kernel_h; ++ky) {
            for (int kx = 0; kx < s.kernel_w; ++kx) {
              const int h = oh * s.stride_h - s.pad_top + ky * s.dilation_h;
              const int w = ow * s.stride_w - s.pad_left + kx * s.dilation_w;
              if (h >= 0 && h < s.in_h && w >= 0 && w < s.in_w) best = std::max<double>(best, at(s, in, b, h, w, c));
            }
          }
          out.push_back(clamp(best, act));
        }
      }
    }
  }
  return out;
}

std::vector<double> reference_avg_pool(const fk::Pool2dShape& s, const std::vector<float>& in, bool count_include_pad,
                                       fk::Activation act) {
  std::vector<double> out;
  for (int b = 0; b < s.batch; ++b) {
    for (int oh = 0; oh < s.out_h; ++oh) {
      for (int ow = 0; ow < s.out_w; ++ow) {
        for (int c = 0; c < s.channels; ++c) {
          double sum = 0.0;
          int valid = 0;
          int padded = 0;  // taps inside [-pad_top, in_h + pad_bottom) x [-pad_left, in_w + pad_right)
          for (int ky = 0; ky < s.kernel_h; ++ky) {
            for (int kx = 0; kx < s.kernel_w; ++kx) {
              const int h = oh * s.stride_h - s.pad_top + ky * s.dilation_h;
              const int w = ow * s.stride_w - s.pad_left + kx * s.dilation_w;
              if (h >= -s.pad_top && h < s.in_h + s.pad_bottom && w >= -s.pad_left && w < s.in_w + s.pad_right) {
                ++padded;
              }
              if (h >= 0 && h < s.in_h && w >= 0 && w < s.in_w) {
                sum += at(s, in, b, h, w, c);
                ++valid;
              }
            }
          }
          const int divisor = count_include_pad ? padded : valid;
          out.push_back(clamp(divisor == 0 ? 0.0 : sum / divisor, act));
        }
      }
    }
  }
  return out;
}

// ONNX output size; ceil_mode drops a last window that would start past the input and left pad.
int pool_out_size(int in, int kernel, int stride, int dilation, int pad_begin, int pad_end, bool ceil_mode) {
  const int span = in + pad_begin + pad_end - ((kernel - 1) * dilation + 1);
  if (span < 0) return 0;
  int out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad_begin) --out;
  return out;
}

fk::Pool2dShape random_shape(std::mt19937& rng, bool dilated, bool ceil_mode, int max_in = 9) {
  for (;;) {
    fk::Pool2dShape s{};
    s.batch = uniform(rng, 1, 3);
    s.in_h = uniform(rng, 1, max_in);
    s.in_w = uniform(rng, 1, max_in);
    s.channels = odd(rng, 0, 20);
    s.kernel_h = uniform(rng, 1, 4);
    s.kernel_w = uniform(rng, 1, 4);
    s.stride_h = uniform(rng, 1, 3);
    s.stride_w = uniform(rng, 1, 3);
    s.dilation_h = dilated ? uniform(rng, 1, 2) : 1;
    s.dilation_w = dilated ? uniform(rng, 1, 2) : 1;
    s.pad_top = uniform(rng, 0, s.kernel_h - 1);
    s.pad_left = uniform(rng, 0, s.kernel_w - 1);
    s.pad_bottom = uniform(rng, 0, s.kernel_h - 1);
    s.pad_right = uniform(rng, 0, s.kernel_w - 1);
    s.out_h = pool_out_size(s.in_h, s.kernel_h, s.stride_h, s.dilation_h, s.pad_top, s.pad_bottom, ceil_mode);
    s.out_w = pool_out_size(s.in_w, s.kernel_w, s.stride_w, s.dilation_w, s.pad_left, s.pad_right, ceil_mode);
    if (s.out_h > 0 && s.out_w > 0) return s;
  }
}

std::size_t in_size(const fk::Pool2dShape& s) {
  return static_cast<std::size_t>(s.batch) * s.in_h * s.in_w * s.channels;
}
std::size_t out_size(const fk::Pool2dShape& s) {
  return static_cast<std::size_t>(s.batch) * s.out_h * s.out_w * s.channels;
}

void check_max_pool(std::mt19937& rng, const fk::Pool2dShape& s, fk::Activation act) {
  SCOPED_TRACE(describe(s));
  const auto in = random_floats(rng, in_size(s));
  std::vector<float> out(out_size(s), kNaN);
  fk::max_pool2d(s, in.data(), out.data(), act);
  ASSERT_TRUE(all_close(out, reference_max_pool(s, in, act)));
}

void check_avg_pool(std::mt19937& rng, const fk::Pool2dShape& s, bool count_include_pad, fk::Activation act) {
  SCOPED_TRACE(describe(s) + (count_include_pad ? " count_include_pad" : " exclude pad"));
  const auto in = random_floats(rng, in_size(s));
  std::vector<float> out(out_size(s), kNaN);
  fk::avg_pool2d(s, in.data(), out.data(), count_include_pad, act);
  ASSERT_TRUE(all_close(out, reference_avg_pool(s, in, count_include_pad, act)));
}

TEST(MaxPoolFloat, MatchesReferenceWithPaddingStrideAndDilation) {
  std::mt19937 rng(41);
  for (int t = 0; t < 300; ++t) check_max_pool(rng, random_shape(rng, true, false), fk::no_activation());
}

TEST(MaxPoolFloat, CeilModeOverhangTapsAreIgnored) {
  std::mt19937 rng(42);
  for (int t = 0; t < 300; ++t) check_max_pool(rng, random_shape(rng, true, true), fk::no_activation());
}

TEST(MaxPoolFloat, OneByOneImagesMatchReference) {
  std::mt19937 rng(43);
  for (int t = 0; t < 50; ++t) check_max_pool(rng, random_shape(rng, true, t % 2 == 0, 1), fk::no_activation());
}

TEST(MaxPoolFloat, PaddingNeverWinsAMax) {
  // All inputs negative: a padded zero would win if padding took part.
  const fk::Pool2dShape s{.batch = 1,
                          .in_h = 2,
                          .in_w = 2,
                          .channels = 1,
                          .out_h = 3,
                          .out_w = 3,
                          .kernel_h = 2,
                          .kernel_w = 2,
                          .stride_h = 1,
                          .stride_w = 1,
                          .dilation_h = 1,
                          .dilation_w = 1,
                          .pad_top = 1,
                          .pad_left = 1,
                          .pad_bottom = 1,
                          .pad_right = 1};
  const std::vector<float> in = {-1, -2, -3, -4};
  std::vector<float> out(9, kNaN);
  fk::max_pool2d(s, in.data(), out.data(), fk::no_activation());
  EXPECT_EQ(out, (std::vector<float>{-1, -1, -2, -1, -1, -2, -3, -3, -4}));
}

TEST(MaxPoolFloat, WindowEntirelyInPaddingGivesMinusInfinity) {
  // Kernel 2, dilation 2, pads 2 on a 1-wide image: windows {-2,0}, {-1,1}, {0,2}; the middle
  // one sees only padding.
  const fk::Pool2dShape s{.batch = 1,
                          .in_h = 1,
                          .in_w = 1,
                          .channels = 3,
                          .out_h = 1,
                          .out_w = 3,
                          .kernel_h = 1,
                          .kernel_w = 2,
                          .stride_h = 1,
                          .stride_w = 1,
                          .dilation_h = 1,
                          .dilation_w = 2,
                          .pad_top = 0,
                          .pad_left = 2,
                          .pad_bottom = 0,
                          .pad_right = 2};
  const std::vector<float> in = {0.5f, -0.5f, 2.0f};
  std::vector<float> out(9, kNaN);
  fk::max_pool2d(s, in.data(), out.data(), fk::no_activation());
  EXPECT_EQ(out, (std::vector<float>{0.5f, -0.5f, 2.0f, -kInf, -kInf, -kInf, 0.5f, -0.5f, 2.0f}));
  fk::max_pool2d(s, in.data(), out.data(), {0.0f, kInf});  // a fused Relu then turns it into 0
  EXPECT_EQ(out, (std::vector<float>{0.5f, 0.0f, 2.0f, 0.0f, 0.0f, 0.0f, 0.5f, 0.0f, 2.0f}));
}

TEST(MaxPoolFloat, NaNInputPropagates) {
  const fk::Pool2dShape s{.batch = 1,
                          .in_h = 1,
                          .in_w = 3,
                          .channels = 1,
                          .out_h = 1,
                          .out_w = 1,
                          .kernel_h = 1,
                          .kernel_w = 3,
                          .stride_h = 1,
                          .stride_w = 1,
                          .dilation_h = 1,
                          .dilation_w = 1,
                          .pad_top = 0,
                          .pad_left = 0,
                          .pad_bottom = 0,
                          .pad_right = 0};
  const std::vector<float> in = {1.0f, kNaN, 2.0f};
  float out = 0.0f;
  fk::max_pool2d(s, in.data(), &out, fk::no_activation());
  EXPECT_TRUE(std::isnan(out));
}

TEST(MaxPoolFloat, FusedActivationClampsEveryOutput) {
  std::mt19937 rng(44);
  const fk::Activation activations[] = {{0.0f, kInf}, {0.0f, 6.0f}, {-0.25f, 0.5f}};
  for (const fk::Activation act : activations) {
    for (int t = 0; t < 50; ++t) check_max_pool(rng, random_shape(rng, true, t % 2 == 0), act);
  }
}

TEST(AvgPoolFloat, CountIncludePadDividesByWindowClippedToPaddedInput) {
  std::mt19937 rng(45);
  for (int t = 0; t < 300; ++t) check_avg_pool(rng, random_shape(rng, false, t % 2 == 0), true, fk::no_activation());
}

TEST(AvgPoolFloat, ExcludePadDividesByValidTaps) {
  std::mt19937 rng(46);
  for (int t = 0; t < 300; ++t) check_avg_pool(rng, random_shape(rng, false, t % 2 == 0), false, fk::no_activation());
}

TEST(AvgPoolFloat, CountIncludePadCountsPaddingButNotCeilOverhang) {
  // 1x3 row, kernel 2, stride 2, ceil_mode: the second window covers column 2 and column 3.
  // With pad_right 0, column 3 is ceil overhang (divide by 1); with pad_right 1 it is padding (divide by 2).
  fk::Pool2dShape s{.batch = 1,
                    .in_h = 1,
                    .in_w = 3,
                    .channels = 1,
                    .out_h = 1,
                    .out_w = 2,
                    .kernel_h = 1,
                    .kernel_w = 2,
                    .stride_h = 1,
                    .stride_w = 2,
                    .dilation_h = 1,
                    .dilation_w = 1,
                    .pad_top = 0,
                    .pad_left = 0,
                    .pad_bottom = 0,
                    .pad_right = 0};
  const std::vector<float> in = {1.0f, 3.0f, 8.0f};
  std::vector<float> out(2, kNaN);
  fk::avg_pool2d(s, in.data(), out.data(), true, fk::no_activation());
  EXPECT_EQ(out, (std::vector<float>{2.0f, 8.0f}));
  s.pad_right = 1;
  fk::avg_pool2d(s, in.data(), out.data(), true, fk::no_activation());
  EXPECT_EQ(out, (std::vector<float>{2.0f, 4.0f}));
  fk::avg_pool2d(s, in.data(), out.data(), false, fk::no_activation());
  EXPECT_EQ(out, (std::vector<float>{2.0f, 8.0f}));
}

TEST(AvgPoolFloat, OneByOneImagesMatchReference) {
  std::mt19937 rng(47);
  for (int t = 0; t < 50; ++t) {
    const fk::Pool2dShape s = random_shape(rng, false, t % 2 == 0, 1);
    check_avg_pool(rng, s, true, fk::no_activation());
    check_avg_pool(rng, s, false, fk::no_activation());
  }
}

TEST(AvgPoolFloat, FusedActivationClampsEveryOutput) {
  std::mt19937 rng(48);
  const fk::Activation activations[] = {{0.0f, kInf}, {0.0f, 6.0f}, {-0.1f, 0.1f}};
  for (const fk::Activation act : activations) {
    for (int t = 0; t < 50; ++t) check_avg_pool(rng, random_shape(rng, false, t % 2 == 0), t % 3 == 0, act);
  }
}

std::vector<double> reference_global_pool(int batch, int h, int w, int c, const std::vector<float>& in, bool average) {
  std::vector<double> out;
  for (int b = 0; b < batch; ++b) {
    for (int ch = 0; ch < c; ++ch) {
      double acc = average ? 0.0 : -kInf;
      for (int p = 0; p < h * w; ++p) {
        const double v = in[(static_cast<std::size_t>(b) * h * w + p) * c + ch];
        acc = average ? acc + v : std::max(acc, v);
      }
      out.push_back(average ? acc / (h * w) : acc);
    }
  }
  return out;
}

void check_global_pools(std::mt19937& rng, int batch, int h, int w, int c) {
  SCOPED_TRACE("batch " + std::to_string(batch) + " " + std::to_string(h) + "x" + std::to_string(w) + "x" +
               std::to_string(c));
  const auto in = random_floats(rng, static_cast<std::size_t>(batch) * h * w * c);
  std::vector<float> out(static_cast<std::size_t>(batch) * c, kNaN);
  fk::global_avg_pool(batch, h, w, c, in.data(), out.data());
  ASSERT_TRUE(all_close(out, reference_global_pool(batch, h, w, c, in, true)));
  std::fill(out.begin(), out.end(), kNaN);
  fk::global_max_pool(batch, h, w, c, in.data(), out.data());
  ASSERT_TRUE(all_close(out, reference_global_pool(batch, h, w, c, in, false)));
}

TEST(GlobalPoolFloat, AverageAndMaxMatchReferenceOnRandomShapes) {
  std::mt19937 rng(49);
  for (int t = 0; t < 200; ++t)
    check_global_pools(rng, uniform(rng, 1, 3), uniform(rng, 1, 9), uniform(rng, 1, 9), odd(rng, 0, 80));
}

TEST(GlobalPoolFloat, OneByOneImagesReturnTheInput) {
  std::mt19937 rng(50);
  for (int c : {1, 3, 65, 129}) check_global_pools(rng, 2, 1, 1, c);
}

TEST(GlobalPoolFloat, LargeImagesAverageAccurately) {
  std::mt19937 rng(51);
  check_global_pools(rng, 1, 56, 56, 67);
  check_global_pools(rng, 2, 112, 112, 3);
}

}  // namespace
