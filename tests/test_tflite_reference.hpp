#pragma once
// Helpers of the TFLite tests: import from bytes, one float inference, random data, and
// plain-loop references of the TFLite operators written from the operators' definitions,
// independent of the importer's IR mapping.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "exec/float_executor.hpp"
#include "frontend/tflite/tflite_import.hpp"
#include "test_tflite_builder.hpp"
#include "util/error.hpp"

namespace tinyq_tflite_test {

inline tinyq::Graph import(const std::string& bytes) {
  return tinyq::import_tflite_bytes(bytes.data(), bytes.size(), "test.tflite");
}

// One float inference, single-threaded; the input in the file's (NHWC) layout.
inline std::vector<float> run(const tinyq::Graph& graph, const std::vector<float>& x, const tinyq::Shape& shape) {
  tinyq::FloatExecutor executor(graph, {1});
  auto out = executor.run({tinyq::Tensor::from_floats(shape, x)});
  auto values = out.at(0).f32();
  return {values.begin(), values.end()};
}

inline std::vector<float> random_values(std::size_t n, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

inline void expect_near(const std::vector<float>& got, const std::vector<float>& want, float tolerance) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], tolerance) << "element " << i;
}

// ---- references, NHWC, from the TFLite operator definitions ----

struct Nhwc {
  int n, h, w, c;
  int size() const { return n * h * w * c; }
  int at(int b, int y, int x, int ch) const { return ((b * h + y) * w + x) * c + ch; }
};

// TFLite's output size: SAME ceil(in / stride), VALID ceil((in - effective_kernel + 1) / stride).
inline int out_size(bool same, int in, int kernel, int stride, int dilation) {
  const int effective = (kernel - 1) * dilation + 1;
  return same ? (in + stride - 1) / stride : (in - effective + stride) / stride;
}
// Padding before the first row/column: half the total, the odd one after.
inline int pad_before(bool same, int in, int kernel, int stride, int dilation) {
  if (!same) return 0;
  const int out = out_size(true, in, kernel, stride, dilation);
  return std::max((out - 1) * stride + (kernel - 1) * dilation + 1 - in, 0) / 2;
}

struct Window {
  bool same = true;
  int stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
};

// CONV_2D: weights [O, KH, KW, C / groups], bias [O].
inline std::vector<float> ref_conv(const std::vector<float>& x, Nhwc in, const std::vector<float>& w, int out_c, int kh,
                                   int kw, const std::vector<float>& bias, Window win, Nhwc* out_shape) {
  const int wc = int(w.size()) / (out_c * kh * kw), groups = in.c / wc, per_group = out_c / groups;
  Nhwc out{in.n, out_size(win.same, in.h, kh, win.stride_h, win.dilation_h),
           out_size(win.same, in.w, kw, win.stride_w, win.dilation_w), out_c};
  const int pt = pad_before(win.same, in.h, kh, win.stride_h, win.dilation_h);
  const int pl = pad_before(win.same, in.w, kw, win.stride_w, win.dilation_w);
  std::vector<float> y(std::size_t(out.size()));
  for (int b = 0; b < out.n; ++b)
    for (int oy = 0; oy < out.h; ++oy)
      for (int ox = 0; ox < out.w; ++ox)
        for (int o = 0; o < out_c; ++o) {
          double acc = bias.empty() ? 0.0 : bias[std::size_t(o)];
          for (int ky = 0; ky < kh; ++ky)
            for (int kx = 0; kx < kw; ++kx) {
              const int iy = oy * win.stride_h - pt + ky * win.dilation_h;
              const int ix = ox * win.stride_w - pl + kx * win.dilation_w;
              if (iy < 0 || iy >= in.h || ix < 0 || ix >= in.w) continue;
              for (int c = 0; c < wc; ++c)
                acc += double(x[std::size_t(in.at(b, iy, ix, (o / per_group) * wc + c))]) *
                       w[std::size_t(((o * kh + ky) * kw + kx) * wc + c)];
            }
          y[std::size_t(out.at(b, oy, ox, o))] = float(acc);
        }
  if (out_shape) *out_shape = out;
  return y;
}

// DEPTHWISE_CONV_2D: weights [1, KH, KW, C * M]; output channel c * M + m reads input channel c.
inline std::vector<float> ref_depthwise(const std::vector<float>& x, Nhwc in, const std::vector<float>& w,
                                        int multiplier, int kh, int kw, const std::vector<float>& bias, Window win,
                                        Nhwc* out_shape) {
  const int out_c = in.c * multiplier;
  Nhwc out{in.n, out_size(win.same, in.h, kh, win.stride_h, win.dilation_h),
           out_size(win.same, in.w, kw, win.stride_w, win.dilation_w), out_c};
  const int pt = pad_before(win.same, in.h, kh, win.stride_h, win.dilation_h);
  const int pl = pad_before(win.same, in.w, kw, win.stride_w, win.dilation_w);
  std::vector<float> y(std::size_t(out.size()));
  for (int b = 0; b < out.n; ++b)
    for (int oy = 0; oy < out.h; ++oy)
      for (int ox = 0; ox < out.w; ++ox)
        for (int o = 0; o < out_c; ++o) {
          double acc = bias[std::size_t(o)];
          for (int ky = 0; ky < kh; ++ky)
            for (int kx = 0; kx < kw; ++kx) {
              const int iy = oy * win.stride_h - pt + ky * win.dilation_h;
              const int ix = ox * win.stride_w - pl + kx * win.dilation_w;
              if (iy < 0 || iy >= in.h || ix < 0 || ix >= in.w) continue;
              acc +=
                  double(x[std::size_t(in.at(b, iy, ix, o / multiplier))]) * w[std::size_t((ky * kw + kx) * out_c + o)];
            }
          y[std::size_t(out.at(b, oy, ox, o))] = float(acc);
        }
  if (out_shape) *out_shape = out;
  return y;
}

// AVERAGE_POOL_2D / MAX_POOL_2D: the average over the window's pixels inside the input.
inline std::vector<float> ref_pool(const std::vector<float>& x, Nhwc in, int kh, int kw, Window win, bool average,
                                   Nhwc* out_shape) {
  Nhwc out{in.n, out_size(win.same, in.h, kh, win.stride_h, 1), out_size(win.same, in.w, kw, win.stride_w, 1), in.c};
  const int pt = pad_before(win.same, in.h, kh, win.stride_h, 1);
  const int pl = pad_before(win.same, in.w, kw, win.stride_w, 1);
  std::vector<float> y(std::size_t(out.size()));
  for (int b = 0; b < out.n; ++b)
    for (int oy = 0; oy < out.h; ++oy)
      for (int ox = 0; ox < out.w; ++ox)
        for (int c = 0; c < in.c; ++c) {
          double sum = 0;
          float best = -INFINITY;
          int count = 0;
          for (int ky = 0; ky < kh; ++ky)
            for (int kx = 0; kx < kw; ++kx) {
              const int iy = oy * win.stride_h - pt + ky, ix = ox * win.stride_w - pl + kx;
              if (iy < 0 || iy >= in.h || ix < 0 || ix >= in.w) continue;
              const float v = x[std::size_t(in.at(b, iy, ix, c))];
              sum += v;
              best = std::max(best, v);
              ++count;
            }
          y[std::size_t(out.at(b, oy, ox, c))] = average ? float(sum / count) : best;
        }
  if (out_shape) *out_shape = out;
  return y;
}

// FULLY_CONNECTED on rows of K values: weights [O, K].
inline std::vector<float> ref_dense(const std::vector<float>& x, const std::vector<float>& w,
                                    const std::vector<float>& bias, int out) {
  const int k = int(w.size()) / out, rows = int(x.size()) / k;
  std::vector<float> y(std::size_t(rows * out));
  for (int r = 0; r < rows; ++r)
    for (int o = 0; o < out; ++o) {
      double acc = bias[std::size_t(o)];
      for (int i = 0; i < k; ++i) acc += double(x[std::size_t(r * k + i)]) * w[std::size_t(o * k + i)];
      y[std::size_t(r * out + o)] = float(acc);
    }
  return y;
}

inline Dims dims(Nhwc s) { return {s.n, s.h, s.w, s.c}; }

}  // namespace tinyq_tflite_test
