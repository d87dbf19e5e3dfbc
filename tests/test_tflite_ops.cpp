// TFLite operators beyond the MLPerf Tiny set, each in a one- or two-operator model run by the
// float executor against a reference written from the operator's definition.
#include "test_tflite_reference.hpp"

namespace {

using namespace tinyq_tflite_test;
using tinyq::tflite::BuiltinOp;

// One operator on one float input: the output of `build(builder, x)` against `want`.
template <typename Build>
void expect_single(const Dims& in_shape, const std::vector<float>& x, const std::vector<float>& want, float tolerance,
                   Build build) {
  TfliteBuilder b;
  int t_x = b.input("x", in_shape);
  b.output(build(b, t_x));
  tinyq::Shape shape(in_shape.begin(), in_shape.end());
  expect_near(run(import(b.finish()), x, shape), want, tolerance);
}

std::vector<float> map(const std::vector<float>& x, float (*f)(float)) {
  std::vector<float> y(x.size());
  std::transform(x.begin(), x.end(), y.begin(), f);
  return y;
}

TEST(TfliteOps, UnaryActivations) {
  const auto x = random_values(24, 40, -8.0f, 8.0f);
  struct Case {
    BuiltinOp op;
    float (*f)(float);
  };
  const Case cases[] = {
      {BuiltinOp::Logistic, [](float v) { return float(1.0 / (1.0 + std::exp(-double(v)))); }},
      {BuiltinOp::Tanh, [](float v) { return std::tanh(v); }},
      {BuiltinOp::Relu, [](float v) { return std::max(v, 0.0f); }},
      {BuiltinOp::Relu6, [](float v) { return std::clamp(v, 0.0f, 6.0f); }},
      {BuiltinOp::ReluN1To1, [](float v) { return std::clamp(v, -1.0f, 1.0f); }},
      {BuiltinOp::HardSwish, [](float v) { return v * std::clamp(v + 3.0f, 0.0f, 6.0f) / 6.0f; }},
      {BuiltinOp::Exp, [](float v) { return std::exp(v); }},
      {BuiltinOp::Neg, [](float v) { return -v; }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(tinyq::tflite::builtin_name(std::int32_t(c.op)));
    const auto want = map(x, c.f);
    expect_single({1, 2, 3, 4}, x, want, 1e-5f * 3000, [&](TfliteBuilder& b, int t) {
      int y = b.activation("y", {1, 2, 3, 4});
      b.op(c.op, {t}, {y});
      return y;
    });
  }
  std::vector<float> want(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) want[i] = x[i] < 0 ? 0.2f * x[i] : x[i];
  expect_single({1, 24}, x, want, 1e-6f, [](TfliteBuilder& b, int t) {
    int y = b.activation("y", {1, 24});
    b.op(BuiltinOp::LeakyRelu, {t}, {y}, fb::BuiltinOptions::LeakyReluOptions,
         fb::CreateLeakyReluOptions(b.fbb(), 0.2f).Union());
    return y;
  });
}

// MUL, SUB, DIV with broadcasting against constants, and their fused activations.
TEST(TfliteOps, BinaryWithBroadcastAndFusedActivation) {
  const auto x = random_values(2 * 3 * 4, 41, -2.0f, 2.0f);
  const std::vector<float> c{0.5f, -1.0f, 2.0f, 4.0f};  // along the last axis
  std::vector<float> mul(x.size()), sub(x.size()), div(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    mul[i] = std::clamp(x[i] * c[i % 4], -1.0f, 1.0f);
    sub[i] = std::max(x[i] - c[i % 4], 0.0f);
    div[i] = std::tanh(x[i] / c[i % 4]);
  }
  expect_single({2, 3, 4}, x, mul, 1e-6f, [&](TfliteBuilder& b, int t) {
    int y = b.activation("y", {2, 3, 4});
    b.op(BuiltinOp::Mul, {t, b.constant("c", {4}, c)}, {y}, fb::BuiltinOptions::MulOptions,
         fb::CreateMulOptions(b.fbb(), fb::ActivationFunctionType::RELU_N1_TO_1).Union());
    return y;
  });
  expect_single({2, 3, 4}, x, sub, 1e-6f, [&](TfliteBuilder& b, int t) {
    int y = b.activation("y", {2, 3, 4});
    b.op(BuiltinOp::Sub, {t, b.constant("c", {1, 1, 4}, c)}, {y}, fb::BuiltinOptions::SubOptions,
         fb::CreateSubOptions(b.fbb(), fb::ActivationFunctionType::RELU).Union());
    return y;
  });
  expect_single({2, 3, 4}, x, div, 1e-6f, [&](TfliteBuilder& b, int t) {
    int y = b.activation("y", {2, 3, 4});
    b.op(BuiltinOp::Div, {t, b.constant("c", {4}, c)}, {y}, fb::BuiltinOptions::DivOptions,
         fb::CreateDivOptions(b.fbb(), fb::ActivationFunctionType::TANH).Union());
    return y;
  });
}

// Two activations concatenated along channels, then ReLU fused into the concatenation.
TEST(TfliteOps, ConcatenationWithFusedRelu) {
  TfliteBuilder b;
  int t_a = b.input("a", {1, 2, 2, 1}), t_b = b.input("b", {1, 2, 2, 2}), t_y = b.activation("y", {1, 2, 2, 3});
  b.op(BuiltinOp::Concatenation, {t_a, t_b}, {t_y}, fb::BuiltinOptions::ConcatenationOptions,
       fb::CreateConcatenationOptions(b.fbb(), -1, fb::ActivationFunctionType::RELU).Union());
  b.output(t_y);
  const tinyq::Graph g = import(b.finish());
  tinyq::FloatExecutor ex(g, {1});
  const std::vector<float> a{1, -2, 3, -4}, c{-1, 2, 3, -4, 5, 6, -7, 8};
  auto out = ex.run({tinyq::Tensor::from_floats({1, 2, 2, 1}, a), tinyq::Tensor::from_floats({1, 2, 2, 2}, c)});
  const std::vector<float> want{1, 0, 2, 0, 3, 0, 3, 5, 6, 0, 0, 8};
  auto got = out[0].f32();
  expect_near({got.begin(), got.end()}, want, 0.0f);
}

TEST(TfliteOps, MeanOverSpatialAxesAndChannels) {
  const Nhwc in{1, 3, 4, 2};
  const auto x = random_values(std::size_t(in.size()), 42);
  std::vector<float> spatial(2, 0.0f), channels(12, 0.0f);
  for (int y = 0; y < 3; ++y)
    for (int w = 0; w < 4; ++w)
      for (int c = 0; c < 2; ++c) {
        spatial[std::size_t(c)] += x[std::size_t(in.at(0, y, w, c))] / 12.0f;
        channels[std::size_t(y * 4 + w)] += x[std::size_t(in.at(0, y, w, c))] / 2.0f;
      }
  for (bool keep : {true, false}) {
    expect_single(dims(in), x, spatial, 1e-6f, [&](TfliteBuilder& b, int t) {
      int y = b.activation("y", keep ? Dims{1, 1, 1, 2} : Dims{1, 2});
      b.op(BuiltinOp::Mean, {t, b.int32_constant("axes", {2}, {1, -2})}, {y}, fb::BuiltinOptions::ReducerOptions,
           fb::CreateReducerOptions(b.fbb(), keep).Union());
      return y;
    });
  }
  expect_single(dims(in), x, channels, 1e-6f, [&](TfliteBuilder& b, int t) {
    int y = b.activation("y", {1, 3, 4});
    b.op(BuiltinOp::Mean, {t, b.int32_constant("axes", {1}, {3})}, {y});
    return y;
  });
}

TEST(TfliteOps, PadAndPadV2) {
  const std::vector<float> x{1, 2, 3, 4, 5, 6};  // [1, 2, 3, 1]
  // One row above, none below, two columns left, one right.
  auto padded = [](float fill) {
    std::vector<float> y(3 * 6, fill);
    for (int r = 0; r < 2; ++r)
      for (int c = 0; c < 3; ++c) y[std::size_t((r + 1) * 6 + c + 2)] = float(r * 3 + c + 1);
    return y;
  };
  const std::vector<std::int32_t> paddings{0, 0, 1, 0, 2, 1, 0, 0};
  expect_single({1, 2, 3, 1}, x, padded(0.0f), 0.0f, [&](TfliteBuilder& b, int t) {
    int y = b.activation("y", {1, 3, 6, 1});
    b.op(BuiltinOp::Pad, {t, b.int32_constant("p", {4, 2}, paddings)}, {y});
    return y;
  });
  expect_single({1, 2, 3, 1}, x, padded(-1.5f), 0.0f, [&](TfliteBuilder& b, int t) {
    int y = b.activation("y", {1, 3, 6, 1});
    b.op(BuiltinOp::PadV2, {t, b.int32_constant("p", {4, 2}, paddings), b.constant("v", {}, {-1.5f})}, {y});
    return y;
  });
}

// TRANSPOSE_CONV: output pixel y gathers input pixel i through filter tap k where
// y = i * stride - pad_top + k, pad_top from the forward convolution output -> input.
std::vector<float> ref_transpose_conv(const std::vector<float>& x, Nhwc in, const std::vector<float>& w, int out_c,
                                      int k, int stride, bool same, Nhwc out, const std::vector<float>& bias) {
  auto pad = [&](int size) {
    const int conv_out = same ? (size + stride - 1) / stride : (size - k + stride) / stride;
    return std::max((conv_out - 1) * stride + k - size, 0) / 2;
  };
  const int pt = pad(out.h), pl = pad(out.w);
  std::vector<double> y(std::size_t(out.size()));
  for (int oy = 0; oy < out.h; ++oy)
    for (int ox = 0; ox < out.w; ++ox)
      for (int o = 0; o < out_c; ++o) y[std::size_t(out.at(0, oy, ox, o))] = bias[std::size_t(o)];
  for (int iy = 0; iy < in.h; ++iy)
    for (int ix = 0; ix < in.w; ++ix)
      for (int ky = 0; ky < k; ++ky)
        for (int kx = 0; kx < k; ++kx) {
          const int oy = iy * stride - pt + ky, ox = ix * stride - pl + kx;
          if (oy < 0 || oy >= out.h || ox < 0 || ox >= out.w) continue;
          for (int o = 0; o < out_c; ++o)
            for (int c = 0; c < in.c; ++c)
              y[std::size_t(out.at(0, oy, ox, o))] +=
                  double(x[std::size_t(in.at(0, iy, ix, c))]) * w[std::size_t(((o * k + ky) * k + kx) * in.c + c)];
        }
  return {y.begin(), y.end()};
}

TEST(TfliteOps, TransposeConvSameAndValidPadding) {
  const Nhwc in{1, 3, 4, 2};
  const auto x = random_values(std::size_t(in.size()), 43);
  struct Case {
    bool same;
    int k, stride, out_h, out_w;
  };
  // SAME gives in * stride (or one less: an odd requested size); VALID (in - 1) * stride + k.
  for (const Case& c : {Case{true, 3, 2, 6, 8}, Case{true, 3, 2, 5, 7}, Case{false, 3, 2, 7, 9}, Case{true, 2, 1, 3, 4},
                        Case{false, 4, 3, 10, 13}, Case{true, 4, 2, 6, 8}}) {
    const Nhwc out{1, c.out_h, c.out_w, 3};
    const auto w = random_values(std::size_t(3 * c.k * c.k * 2), 44), bias = random_values(3, 45);
    TfliteBuilder b;
    int t_x = b.input("x", dims(in)), t_y = b.activation("y", dims(out));
    b.op(BuiltinOp::TransposeConv,
         {b.int32_constant("shape", {4}, {1, c.out_h, c.out_w, 3}), b.constant("w", {3, c.k, c.k, 2}, w), t_x,
          b.constant("b", {3}, bias)},
         {t_y}, fb::BuiltinOptions::TransposeConvOptions,
         fb::CreateTransposeConvOptions(b.fbb(), c.same ? fb::Padding::SAME : fb::Padding::VALID, c.stride, c.stride)
             .Union());
    b.output(t_y);
    SCOPED_TRACE(::testing::Message() << (c.same ? "SAME" : "VALID") << " k " << c.k << " stride " << c.stride
                                      << " out " << c.out_h << "x" << c.out_w);
    expect_near(run(import(b.finish()), x, {1, 3, 4, 2}),
                ref_transpose_conv(x, in, w, 3, c.k, c.stride, c.same, out, bias), 1e-5f);
  }
}

// TFLite's nearest-neighbour source index (align_corners rounds, half_pixel_centers offsets).
int nearest(int o, int in, int out, bool align_corners, bool half_pixel) {
  const float scale = align_corners && out > 1 ? float(in - 1) / float(out - 1) : float(in) / float(out);
  const float offset = half_pixel ? 0.5f : 0.0f;
  int i = align_corners ? int(std::round((float(o) + offset) * scale)) : int(std::floor((float(o) + offset) * scale));
  return std::max(std::min(i, in - 1), 0);
}

TEST(TfliteOps, ResizeNearestNeighborModes) {
  for (auto [h, w, oh, ow] : {std::array{3, 4, 6, 8}, std::array{4, 6, 2, 3}, std::array{3, 3, 5, 7}})
    for (int mode = 0; mode < 3; ++mode) {
      const bool align = mode == 1, half = mode == 2;
      const Nhwc in{1, h, w, 2}, out{1, oh, ow, 2};
      const auto x = random_values(std::size_t(in.size()), 46);
      std::vector<float> want(std::size_t(out.size()));
      for (int y = 0; y < oh; ++y)
        for (int xo = 0; xo < ow; ++xo)
          for (int c = 0; c < 2; ++c)
            want[std::size_t(out.at(0, y, xo, c))] =
                x[std::size_t(in.at(0, nearest(y, h, oh, align, half), nearest(xo, w, ow, align, half), c))];
      SCOPED_TRACE(::testing::Message() << h << "x" << w << " -> " << oh << "x" << ow << " mode " << mode);
      expect_single(dims(in), x, want, 0.0f, [&](TfliteBuilder& b, int t) {
        int y = b.activation("y", dims(out));
        b.op(BuiltinOp::ResizeNearestNeighbor, {t, b.int32_constant("size", {2}, {oh, ow})}, {y},
             fb::BuiltinOptions::ResizeNearestNeighborOptions,
             fb::CreateResizeNearestNeighborOptions(b.fbb(), align, half).Union());
        return y;
      });
    }
}

TEST(TfliteOps, ReshapesSqueezeExpandDimsTranspose) {
  const auto x = random_values(6, 47);  // [1, 2, 3]
  expect_single({1, 2, 3}, x, x, 0.0f, [](TfliteBuilder& b, int t) {
    int s = b.activation("s", {2, 3}), e = b.activation("e", {2, 1, 3}), r = b.activation("r", {3, 2});
    b.op(BuiltinOp::Squeeze, {t}, {s}, fb::BuiltinOptions::SqueezeOptions,
         fb::CreateSqueezeOptionsDirect(b.fbb(), nullptr).Union());
    b.op(BuiltinOp::ExpandDims, {s, b.int32_constant("axis", {}, {-2})}, {e});
    // RESHAPE with its new shape in the options only (no shape tensor).
    const Dims new_shape{3, -1};
    b.op(BuiltinOp::Reshape, {e}, {r}, fb::BuiltinOptions::ReshapeOptions,
         fb::CreateReshapeOptionsDirect(b.fbb(), &new_shape).Union());
    return r;
  });
  std::vector<float> transposed(6);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) transposed[std::size_t(j * 2 + i)] = x[std::size_t(i * 3 + j)];
  expect_single({2, 3}, x, transposed, 0.0f, [](TfliteBuilder& b, int t) {
    int y = b.activation("y", {3, 2});
    b.op(BuiltinOp::Transpose, {t, b.int32_constant("perm", {2}, {1, 0})}, {y});
    return y;
  });
}

// STRIDED_SLICE and SPLIT: computed at import on constants, a reshape when they select
// everything, the IR's Slice on part of a run-time tensor.
TEST(TfliteOps, StridedSliceAndSplit) {
  const std::vector<float> c{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};  // constant [3, 4]
  // c[2:0:-1, ::2] (rows 2, 1; columns 0, 2) added to the input.
  const std::vector<float> x{1, 1, 1, 1};
  expect_single({2, 2}, x, {9, 11, 5, 7}, 0.0f, [&](TfliteBuilder& b, int t) {
    int s = b.activation("s", {2, 2}), y = b.activation("y", {2, 2});
    b.op(BuiltinOp::StridedSlice,
         {b.constant("c", {3, 4}, c), b.int32_constant("begin", {2}, {2, 0}), b.int32_constant("end", {2}, {0, 0}),
          b.int32_constant("strides", {2}, {-1, 2})},
         {s}, fb::BuiltinOptions::StridedSliceOptions, fb::CreateStridedSliceOptions(b.fbb(), 0, 2).Union());
    b.op(BuiltinOp::Add, {t, s}, {y});
    return y;
  });
  // SPLIT of a constant in two along axis 1, the second part used.
  expect_single({3, 2}, {0, 0, 0, 0, 0, 0}, {2, 3, 6, 7, 10, 11}, 0.0f, [&](TfliteBuilder& b, int t) {
    int p0 = b.activation("p0", {3, 2}), p1 = b.activation("p1", {3, 2}), y = b.activation("y", {3, 2});
    b.op(BuiltinOp::Split, {b.int32_constant("axis", {}, {1}), b.constant("c", {3, 4}, c)}, {p0, p1},
         fb::BuiltinOptions::SplitOptions, fb::CreateSplitOptions(b.fbb(), 2).Union());
    b.op(BuiltinOp::Add, {t, p1}, {y});
    return y;
  });
  // The whole of a run-time tensor with a shrunk unit axis: a reshape.
  const auto r = random_values(6, 48);
  expect_single({1, 2, 3}, r, r, 0.0f, [](TfliteBuilder& b, int t) {
    int y = b.activation("y", {2, 3});
    b.op(BuiltinOp::StridedSlice,
         {t, b.int32_constant("begin", {3}, {0, 0, 0}), b.int32_constant("end", {3}, {1, 0, 0}),
          b.int32_constant("strides", {3}, {1, 1, 1})},
         {y}, fb::BuiltinOptions::StridedSliceOptions, fb::CreateStridedSliceOptions(b.fbb(), 0, 6, 0, 0, 1).Union());
    return y;
  });
  // Part of a run-time tensor: the IR's Slice. Columns 3, 1 (stride -2) of each row.
  const auto v = random_values(8, 51);
  expect_single({2, 4}, v, {v[3], v[1], v[7], v[5]}, 0.0f, [](TfliteBuilder& b, int t) {
    int y = b.activation("y", {2, 2});
    b.op(BuiltinOp::StridedSlice,
         {t, b.int32_constant("begin", {2}, {0, -1}), b.int32_constant("end", {2}, {2, 0}),
          b.int32_constant("strides", {2}, {1, -2})},
         {y});
    return y;
  });
  // Column 2 with the axis shrunk away: a Slice, then a Reshape to [2].
  expect_single({2, 4}, v, {v[2], v[6]}, 0.0f, [](TfliteBuilder& b, int t) {
    int y = b.activation("y", {2});
    b.op(BuiltinOp::StridedSlice,
         {t, b.int32_constant("begin", {2}, {0, 2}), b.int32_constant("end", {2}, {2, 3}),
          b.int32_constant("strides", {2}, {1, 1})},
         {y}, fb::BuiltinOptions::StridedSliceOptions, fb::CreateStridedSliceOptions(b.fbb(), 0, 0, 0, 0, 2).Union());
    return y;
  });
  // SPLIT of a run-time tensor along axis 1, the second part used.
  expect_single({2, 4}, v, {v[2], v[3], v[6], v[7]}, 0.0f, [](TfliteBuilder& b, int t) {
    int p0 = b.activation("p0", {2, 2}), p1 = b.activation("p1", {2, 2});
    b.op(BuiltinOp::Split, {b.int32_constant("axis", {}, {1}), t}, {p0, p1}, fb::BuiltinOptions::SplitOptions,
         fb::CreateSplitOptions(b.fbb(), 2).Union());
    return p1;
  });
}

// Fused TANH (an activation the IR's clamp cannot carry) becomes a node after the conv.
TEST(TfliteOps, FusedTanhAfterConv) {
  const Nhwc in{1, 3, 3, 1};
  const auto x = random_values(9, 49), w = random_values(9, 50);
  auto want = ref_conv(x, in, w, 1, 3, 3, {0.25f}, {}, nullptr);
  for (auto& v : want) v = std::tanh(v);
  expect_single(dims(in), x, want, 1e-6f, [&](TfliteBuilder& b, int t) {
    int y = b.activation("y", {1, 3, 3, 1});
    b.op(BuiltinOp::Conv2D, {t, b.constant("w", {1, 3, 3, 1}, w), b.constant("b", {1}, {0.25f})}, {y},
         fb::BuiltinOptions::Conv2DOptions,
         fb::CreateConv2DOptions(b.fbb(), fb::Padding::SAME, 1, 1, fb::ActivationFunctionType::TANH).Union());
    return y;
  });
}

}  // namespace
