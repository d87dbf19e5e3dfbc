// The 3-D window kernels (NCDHW) against naive loops written from the ONNX definitions:
// random shapes with padding, strides, dilations, ceil_mode output sizes and groups. The
// references visit every tap of the kernel and test its coordinates, where the kernels skip
// whole rows; the transposed convolution's reference gathers (for each output, the input
// voxels whose taps land on it) where the kernel scatters.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "exec/float/window3d.hpp"
#include "kernel_test_util.hpp"

namespace fk = tinyq::fk;

namespace {

using namespace tinyq::kernel_test;
using Index3 = std::array<int, 3>;

std::string describe(const fk::Window3dShape& s) {
  std::ostringstream o;
  auto list = [&](const char* name, const Index3& v) { o << " " << name << " " << v[0] << "," << v[1] << "," << v[2]; };
  o << "batch " << s.batch << " channels " << s.in_c << "->" << s.out_c << " groups " << s.groups;
  list("in", s.in);
  list("out", s.out);
  list("kernel", s.kernel);
  list("stride", s.stride);
  list("dilation", s.dilation);
  list("pad_begin", s.pad_begin);
  list("pad_end", s.pad_end);
  return o.str();
}

int volume(const Index3& d) { return d[0] * d[1] * d[2]; }

// ONNX's output length: floor or ceil of the padded span over the stride, the last window
// starting inside the input or its begin padding.
int output_length(int in, int kernel, int stride, int dilation, int pad_begin, int pad_end, bool ceil_mode) {
  const int span = in + pad_begin + pad_end - dilation * (kernel - 1) - 1;
  int out = ceil_mode ? (span + stride - 1) / stride + 1 : span / stride + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad_begin) --out;
  return out;
}

// Every (output voxel, tap) pair with the tap's input coordinates, in order.
template <typename F>
void for_each_output_and_tap(const fk::Window3dShape& s, F f) {
  for (int o = 0; o < volume(s.out); ++o) {
    const Index3 oi{o / (s.out[1] * s.out[2]), o / s.out[2] % s.out[1], o % s.out[2]};
    for (int k = 0; k < volume(s.kernel); ++k) {
      const Index3 ki{k / (s.kernel[1] * s.kernel[2]), k / s.kernel[2] % s.kernel[1], k % s.kernel[2]};
      Index3 at;
      for (int a = 0; a < 3; ++a) at[a] = oi[a] * s.stride[a] - s.pad_begin[a] + ki[a] * s.dilation[a];
      f(o, k, at);
    }
  }
}

bool inside(const Index3& at, const Index3& lo, const Index3& hi) {
  for (int a = 0; a < 3; ++a)
    if (at[a] < lo[a] || at[a] >= hi[a]) return false;
  return true;
}

int offset(const Index3& at, const Index3& dims) { return (at[0] * dims[1] + at[1]) * dims[2] + at[2]; }

std::vector<double> reference_pool(const fk::Window3dShape& s, const std::vector<float>& in, bool max,
                                   bool count_include_pad) {
  std::vector<double> out;
  const Index3 zero{0, 0, 0};
  Index3 padded_lo, padded_hi;
  for (int a = 0; a < 3; ++a) padded_lo[a] = -s.pad_begin[a], padded_hi[a] = s.in[a] + s.pad_end[a];
  for (int p = 0; p < s.batch * s.in_c; ++p) {
    const float* plane = in.data() + std::size_t(p) * std::size_t(volume(s.in));
    std::vector<double> acc(std::size_t(volume(s.out)), max ? -std::numeric_limits<double>::infinity() : 0.0);
    std::vector<int> count(acc.size(), 0);
    for_each_output_and_tap(s, [&](int o, int, const Index3& at) {
      if (count_include_pad && inside(at, padded_lo, padded_hi)) ++count[std::size_t(o)];
      if (!inside(at, zero, s.in)) return;
      if (!count_include_pad) ++count[std::size_t(o)];
      const double v = plane[offset(at, s.in)];
      acc[std::size_t(o)] = max ? std::max(acc[std::size_t(o)], v) : acc[std::size_t(o)] + v;
    });
    for (std::size_t o = 0; o < acc.size(); ++o) out.push_back(max || count[o] == 0 ? acc[o] : acc[o] / count[o]);
  }
  return out;
}

std::vector<double> reference_conv(const fk::Window3dShape& s, const std::vector<float>& in,
                                   const std::vector<float>& w, const std::vector<float>& bias) {
  const int cin_g = s.in_c / s.groups, cout_g = s.out_c / s.groups, taps = volume(s.kernel);
  std::vector<double> out;
  const Index3 zero{0, 0, 0};
  for (int b = 0; b < s.batch; ++b)
    for (int oc = 0; oc < s.out_c; ++oc) {
      std::vector<double> acc(std::size_t(volume(s.out)), bias[std::size_t(oc)]);
      for (int ci = 0; ci < cin_g; ++ci) {
        const int c = oc / cout_g * cin_g + ci;
        const float* plane = in.data() + std::size_t(b * s.in_c + c) * std::size_t(volume(s.in));
        for_each_output_and_tap(s, [&](int o, int k, const Index3& at) {
          if (inside(at, zero, s.in))
            acc[std::size_t(o)] += double(plane[offset(at, s.in)]) * w[std::size_t((oc * cin_g + ci) * taps + k)];
        });
      }
      out.insert(out.end(), acc.begin(), acc.end());
    }
  return out;
}

std::vector<double> reference_conv_transpose(const fk::Window3dShape& s, const std::vector<float>& in,
                                             const std::vector<float>& w, const std::vector<float>& bias) {
  const int cin_g = s.in_c / s.groups, cout_g = s.out_c / s.groups;
  std::vector<double> out;
  for (int b = 0; b < s.batch; ++b)
    for (int oc = 0; oc < s.out_c; ++oc)
      for (int o = 0; o < volume(s.out); ++o) {
        const Index3 oi{o / (s.out[1] * s.out[2]), o / s.out[2] % s.out[1], o % s.out[2]};
        double acc = bias[std::size_t(oc)];
        const int g = oc / cout_g, j = oc % cout_g;
        for (int ci = 0; ci < cin_g; ++ci) {
          const int c = g * cin_g + ci;
          for (int i = 0; i < volume(s.in); ++i)
            for (int k = 0; k < volume(s.kernel); ++k) {
              const Index3 ii{i / (s.in[1] * s.in[2]), i / s.in[2] % s.in[1], i % s.in[2]};
              const Index3 ki{k / (s.kernel[1] * s.kernel[2]), k / s.kernel[2] % s.kernel[1], k % s.kernel[2]};
              bool lands = true;
              for (int a = 0; a < 3; ++a)
                lands = lands && ii[a] * s.stride[a] - s.pad_begin[a] + ki[a] * s.dilation[a] == oi[a];
              if (lands)
                acc += double(in[std::size_t((b * s.in_c + c) * volume(s.in) + i)]) *
                       w[std::size_t((c * cout_g + j) * volume(s.kernel) + k)];
            }
        }
        out.push_back(acc);
      }
  return out;
}

// A random window: kernel 1..3, stride 1..3, dilation 1..2, pads smaller than the dilated
// kernel (ONNX's pooling rule), inputs at least as large as the dilated kernel.
fk::Window3dShape random_window(std::mt19937& rng) {
  fk::Window3dShape s{};
  s.batch = uniform(rng, 1, 2);
  s.groups = 1;
  s.in_c = s.out_c = uniform(rng, 1, 3);
  for (int a = 0; a < 3; ++a) {
    s.kernel[a] = uniform(rng, 1, 3);
    s.stride[a] = uniform(rng, 1, 3);
    s.dilation[a] = uniform(rng, 1, 2);
    const int span = (s.kernel[a] - 1) * s.dilation[a] + 1;
    s.in[a] = uniform(rng, span, span + 4);
    s.pad_begin[a] = uniform(rng, 0, std::min(2, span - 1));
    s.pad_end[a] = uniform(rng, 0, std::min(2, span - 1));
  }
  return s;
}

void set_pool_output(fk::Window3dShape& s, bool ceil_mode) {
  for (int a = 0; a < 3; ++a)
    s.out[a] = output_length(s.in[a], s.kernel[a], s.stride[a], s.dilation[a], s.pad_begin[a], s.pad_end[a], ceil_mode);
}

TEST(Window3dKernels, MaxPoolMatchesNaiveLoop) {
  std::mt19937 rng(301);
  for (int trial = 0; trial < 60; ++trial) {
    fk::Window3dShape s = random_window(rng);
    set_pool_output(s, trial % 2 == 1);
    const auto in = random_floats(rng, std::size_t(s.batch * s.in_c * volume(s.in)));
    std::vector<float> out(std::size_t(s.batch * s.in_c * volume(s.out)));
    fk::max_pool3d(s, in.data(), out.data());
    ASSERT_TRUE(all_close(out, reference_pool(s, in, true, false))) << describe(s);
  }
}

TEST(Window3dKernels, AvgPoolMatchesNaiveLoopWithAndWithoutPadsCounted) {
  std::mt19937 rng(302);
  for (int trial = 0; trial < 60; ++trial) {
    fk::Window3dShape s = random_window(rng);
    s.dilation = {1, 1, 1};  // ONNX AveragePool (before opset 19) has no dilations
    for (int a = 0; a < 3; ++a) s.pad_begin[a] = std::min(s.pad_begin[a], s.kernel[a] - 1);
    for (int a = 0; a < 3; ++a) s.pad_end[a] = std::min(s.pad_end[a], s.kernel[a] - 1);
    set_pool_output(s, trial % 2 == 1);
    const bool include = trial % 4 >= 2;
    const auto in = random_floats(rng, std::size_t(s.batch * s.in_c * volume(s.in)));
    std::vector<float> out(std::size_t(s.batch * s.in_c * volume(s.out)));
    fk::avg_pool3d(s, in.data(), out.data(), include);
    ASSERT_TRUE(all_close(out, reference_pool(s, in, false, include)))
        << describe(s) << (include ? " count_include_pad" : "") << (trial % 2 ? " ceil_mode" : "");
  }
}

TEST(Window3dKernels, MaxPoolKeepsNaNAndIgnoresPadding) {
  // All-negative input with padding: a padded zero must not win; a NaN must come through.
  fk::Window3dShape s{};
  s.batch = s.in_c = s.out_c = s.groups = 1;
  s.in = {2, 2, 2};
  s.kernel = {2, 2, 2};
  s.stride = s.dilation = {1, 1, 1};
  s.pad_begin = s.pad_end = {1, 1, 1};
  set_pool_output(s, false);
  std::vector<float> in{-8, -7, -6, -5, -4, -3, -2, -1};
  std::vector<float> out(std::size_t(volume(s.out)));
  fk::max_pool3d(s, in.data(), out.data());
  EXPECT_EQ(out.front(), -8.0f);  // the corner window holds one real voxel
  EXPECT_EQ(out[std::size_t(offset({1, 1, 1}, s.out))], -1.0f);
  in[3] = kNaN;
  fk::max_pool3d(s, in.data(), out.data());
  EXPECT_TRUE(std::isnan(out[std::size_t(offset({1, 1, 1}, s.out))]));
}

TEST(Window3dKernels, ConvMatchesNaiveLoop) {
  std::mt19937 rng(303);
  for (int trial = 0; trial < 40; ++trial) {
    fk::Window3dShape s = random_window(rng);
    s.groups = uniform(rng, 1, 2);
    s.in_c = s.groups * uniform(rng, 1, 2);
    s.out_c = s.groups * uniform(rng, 1, 2);
    set_pool_output(s, false);
    const auto in = random_floats(rng, std::size_t(s.batch * s.in_c * volume(s.in)));
    const auto w = random_floats(rng, std::size_t(s.out_c * (s.in_c / s.groups) * volume(s.kernel)));
    const auto bias = random_floats(rng, std::size_t(s.out_c));
    std::vector<float> out(std::size_t(s.batch * s.out_c * volume(s.out)));
    fk::conv3d(s, in.data(), w.data(), bias.data(), out.data());
    ASSERT_TRUE(all_close(out, reference_conv(s, in, w, bias))) << describe(s);
  }
}

TEST(Window3dKernels, ConvTransposeMatchesGatheringLoop) {
  std::mt19937 rng(304);
  for (int trial = 0; trial < 40; ++trial) {
    fk::Window3dShape s = random_window(rng);
    s.groups = uniform(rng, 1, 2);
    s.in_c = s.groups * uniform(rng, 1, 2);
    s.out_c = s.groups * uniform(rng, 1, 2);
    for (int a = 0; a < 3; ++a) {
      s.in[a] = uniform(rng, 1, 4);
      const int output_padding = uniform(rng, 0, s.stride[a] - 1);  // crops or extends the end
      s.out[a] = s.stride[a] * (s.in[a] - 1) + output_padding + (s.kernel[a] - 1) * s.dilation[a] + 1 - s.pad_begin[a] -
                 s.pad_end[a];
      if (s.out[a] < 1) s.pad_end[a] = 0, s.pad_begin[a] = 0, s.out[a] = s.stride[a] * (s.in[a] - 1) + 1;
    }
    const auto in = random_floats(rng, std::size_t(s.batch * s.in_c * volume(s.in)));
    const auto w = random_floats(rng, std::size_t(s.in_c * (s.out_c / s.groups) * volume(s.kernel)));
    const auto bias = random_floats(rng, std::size_t(s.out_c));
    std::vector<float> out(std::size_t(s.batch * s.out_c * volume(s.out)));
    fk::conv_transpose3d(s, in.data(), w.data(), bias.data(), out.data());
    ASSERT_TRUE(all_close(out, reference_conv_transpose(s, in, w, bias))) << describe(s);
  }
}

}  // namespace
