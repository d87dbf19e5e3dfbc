// Linear and cubic Resize against a scalar reference written from ONNX's reference
// implementation the long way: per output element, the neighbours are the `taps` indices
// of the edge-padded input nearest to the coordinate (a sort, as ONNX writes it), and the
// 2-D result interpolates each input row along W first, then along H.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "exec/float/resize.hpp"
#include "util/error.hpp"

namespace fk = tinyq::fk;

namespace {

struct AxisCase {
  std::int64_t in, out;
  double scale;
  double roi_start = 0, roi_end = 1;
};

struct Settings {
  std::string mode, coordinate;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0;
};

// ONNX's interpolate_1d_with_x for one coordinate; NaN means "extrapolate".
double reference_1d(const std::vector<double>& data, const AxisCase& a, const Settings& s, std::int64_t o) {
  const double in = double(data.size()), out_len = a.scale * in, x = double(o);
  double xo;
  const std::string& m = s.coordinate;
  if (m == "align_corners") {
    xo = out_len == 1 ? 0 : x * (in - 1) / (out_len - 1);
  } else if (m == "asymmetric") {
    xo = x / a.scale;
  } else if (m == "tf_crop_and_resize") {
    xo = out_len == 1 ? (a.roi_end - a.roi_start) * (in - 1) / 2
                      : x * (a.roi_end - a.roi_start) * (in - 1) / (out_len - 1);
    xo += a.roi_start * (in - 1);
    if (xo < 0 || xo > in - 1) return s.extrapolation;
  } else if (m == "pytorch_half_pixel") {
    xo = out_len == 1 ? -0.5 : (x + 0.5) / a.scale - 0.5;
  } else {
    xo = (x + 0.5) / a.scale - 0.5;
  }
  const double ratio = xo == std::floor(xo) ? 1.0 : xo - std::floor(xo);
  std::vector<double> c;
  if (s.mode == "linear") {
    c = {1 - ratio, ratio};
  } else {
    const double A = s.cubic_a, r = ratio;
    c = {((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A, ((A + 2) * r - (A + 3)) * r * r + 1,
         ((A + 2) * (1 - r) - (A + 3)) * (1 - r) * (1 - r) + 1,
         ((A * ((1 - r) + 1) - 5 * A) * ((1 - r) + 1) + 8 * A) * ((1 - r) + 1) - 4 * A};
  }
  const int n = int(c.size()), pad = (n + 1) / 2;
  std::vector<double> padded;
  for (int i = 0; i < pad; ++i) padded.push_back(data.front());
  padded.insert(padded.end(), data.begin(), data.end());
  for (int i = 0; i < pad; ++i) padded.push_back(data.back());
  const double xp = xo + pad;
  std::vector<int> idx(padded.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](int p, int q) {
    const double dp = std::abs(xp - p), dq = std::abs(xp - q);
    return dp != dq ? dp < dq : p < q;
  });
  idx.resize(std::size_t(n));
  std::sort(idx.begin(), idx.end());
  if (s.exclude_outside) {
    double sum = 0;
    for (int k = 0; k < n; ++k) {
      const int original = idx[std::size_t(k)] - pad;
      if (original < 0 || original >= int(data.size())) c[std::size_t(k)] = 0;
      sum += c[std::size_t(k)];
    }
    for (auto& v : c) v /= sum;
  }
  double value = 0;
  for (int k = 0; k < n; ++k) value += c[std::size_t(k)] * padded[std::size_t(idx[std::size_t(k)])];
  return value;
}

// One channel of one image, [h][w] -> [out_h][out_w].
std::vector<double> reference_2d(const std::vector<double>& img, const AxisCase& ay, const AxisCase& ax,
                                 const Settings& s) {
  std::vector<double> out;
  for (std::int64_t oy = 0; oy < ay.out; ++oy)
    for (std::int64_t ox = 0; ox < ax.out; ++ox) {
      std::vector<double> column;
      for (std::int64_t y = 0; y < ay.in; ++y) {
        std::vector<double> row(img.begin() + y * ax.in, img.begin() + (y + 1) * ax.in);
        column.push_back(reference_1d(row, ax, s, ox));
      }
      out.push_back(reference_1d(column, ay, s, oy));
    }
  return out;
}

fk::ResizeAxisSpec spec(const AxisCase& a, const Settings& s) {
  fk::ResizeAxisSpec r;
  r.in_size = a.in;
  r.out_size = a.out;
  r.scale = a.scale;
  r.coordinate_mode = s.coordinate;
  r.mode = s.mode;
  r.cubic_a = s.cubic_a;
  r.exclude_outside = s.exclude_outside;
  r.roi_start = a.roi_start;
  r.roi_end = a.roi_end;
  return r;
}

AxisCase random_axis(std::mt19937& rng, bool tf_crop) {
  std::uniform_int_distribution<std::int64_t> size(1, 9);
  AxisCase a;
  a.in = size(rng);
  if (rng() % 2) {  // from sizes: scale = out / in exactly
    a.out = size(rng);
    a.scale = double(a.out) / double(a.in);
  } else {  // from scales: the real-valued output length is usually not whole
    a.scale = std::uniform_real_distribution<double>(0.3, 3.2)(rng);
    a.out = std::max<std::int64_t>(1, std::int64_t(std::floor(a.scale * double(a.in))));
  }
  if (tf_crop) {
    a.roi_start = std::uniform_real_distribution<double>(-0.3, 0.6)(rng);
    a.roi_end = std::uniform_real_distribution<double>(0.4, 1.3)(rng);
  }
  return a;
}

TEST(ResizeInterpolate, MatchesScalarReferenceOnRandomShapes) {
  std::mt19937 rng(20261204);
  const std::vector<std::string> coordinates = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                                "tf_crop_and_resize"};
  int cases = 0;
  for (const std::string mode : {"linear", "cubic"})
    for (const auto& coordinate : coordinates)
      for (int trial = 0; trial < 25; ++trial) {
        Settings s{mode, coordinate};
        if (mode == "cubic") {
          s.cubic_a = trial % 3 == 0 ? -0.5 : -0.75;
          s.exclude_outside = trial % 2 == 1;
        }
        s.extrapolation = 10.0;
        const bool tf_crop = coordinate == "tf_crop_and_resize";
        const AxisCase ay = random_axis(rng, tf_crop), ax = random_axis(rng, tf_crop);
        const std::int64_t batch = 1 + std::int64_t(rng() % 2), channels = 1 + std::int64_t(rng() % 3);
        std::vector<float> in(std::size_t(batch * ay.in * ax.in * channels));
        std::uniform_real_distribution<float> value(-4.0f, 4.0f);
        for (auto& v : in) v = value(rng);

        const fk::ResizeAxisTaps ty = fk::resize_axis_taps(spec(ay, s)), tx = fk::resize_axis_taps(spec(ax, s));
        std::vector<float> got(std::size_t(batch * ay.out * ax.out * channels), -999.0f);
        fk::resize_interpolate(in.data(), batch, ay.in, ax.in, channels, ty, tx, float(s.extrapolation), got.data());

        SCOPED_TRACE(mode + " " + coordinate + " trial " + std::to_string(trial) + ": " + std::to_string(ay.in) + "x" +
                     std::to_string(ax.in) + " -> " + std::to_string(ay.out) + "x" + std::to_string(ax.out) +
                     " scales " + std::to_string(ay.scale) + "," + std::to_string(ax.scale));
        for (std::int64_t b = 0; b < batch; ++b)
          for (std::int64_t ch = 0; ch < channels; ++ch) {
            std::vector<double> img;
            for (std::int64_t i = 0; i < ay.in * ax.in; ++i)
              img.push_back(in[std::size_t((b * ay.in * ax.in + i) * channels + ch)]);
            const std::vector<double> want = reference_2d(img, ay, ax, s);
            for (std::size_t i = 0; i < want.size(); ++i) {
              const float g = got[std::size_t((b * ay.out * ax.out + std::int64_t(i)) * channels + ch)];
              ASSERT_NEAR(g, want[i], 1e-4 * std::max(1.0, std::abs(want[i]))) << "element " << i << " channel " << ch;
            }
          }
        ++cases;
      }
  EXPECT_EQ(cases, 250);
}

// Hand-checked values: 2x2 -> 4x4 bilinear, half_pixel (the ONNX operator documentation's
// example) and align_corners.
TEST(ResizeInterpolate, BilinearUpsamplingByTwo) {
  const std::vector<float> in = {1, 2, 3, 4};
  auto run = [&](const std::string& coordinate) {
    Settings s{"linear", coordinate};
    const AxisCase a{2, 4, 2.0};
    std::vector<float> out(16);
    fk::resize_interpolate(in.data(), 1, 2, 2, 1, fk::resize_axis_taps(spec(a, s)), fk::resize_axis_taps(spec(a, s)),
                           0.0f, out.data());
    return out;
  };
  const std::vector<float> half_pixel = {1,   1.25, 1.75, 2,   1.5, 1.75, 2.25, 2.5,
                                         2.5, 2.75, 3.25, 3.5, 3,   3.25, 3.75, 4};
  const std::vector<float> got = run("half_pixel");
  for (std::size_t i = 0; i < 16; ++i) EXPECT_FLOAT_EQ(got[i], half_pixel[i]) << i;
  const std::vector<float> corners = run("align_corners");
  EXPECT_FLOAT_EQ(corners[0], 1.0f);
  EXPECT_FLOAT_EQ(corners[1], 1.0f + 1.0f / 3.0f);
  EXPECT_FLOAT_EQ(corners[15], 4.0f);
}

TEST(ResizeInterpolate, RefusesUnknownModesAndBadScales) {
  Settings s{"linear", "tf_half_pixel_for_nn"};
  EXPECT_THROW(fk::resize_axis_taps(spec({2, 4, 2.0}, s)), tinyq::Error);
  s = {"area", "half_pixel"};
  EXPECT_THROW(fk::resize_axis_taps(spec({2, 4, 2.0}, s)), tinyq::Error);
  s = {"cubic", "half_pixel"};
  EXPECT_THROW(fk::resize_axis_taps(spec({2, 4, 0.0}, s)), tinyq::Error);
  EXPECT_THROW(fk::resize_axis_taps(spec({2, 4, std::nan("")}, s)), tinyq::Error);
}

}  // namespace
