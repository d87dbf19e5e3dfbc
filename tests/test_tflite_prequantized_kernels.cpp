// The MAC kernels with TFLite's rounding (rt::Requant::rounding = kRoundTflite): the runtime's
// conv, depthwise and dense against TFLite Micro's reference loops (accumulate, add the bias,
// MultiplyByQuantizedMultiplier, offset, clamp), and the host executor's fast paths
// (exec/int8: PackedConv, PackedDepthwise, whose epilogue RequantBlocks has a TFLite mode)
// against the runtime, on random shapes with per-channel and per-tensor parameters.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "exec/int8/packed_conv.hpp"
#include "exec/int8/packed_depthwise.hpp"
#include "test_runtime_reference.hpp"
#include "test_tflite_prequantized_reference.hpp"
#include "tinyq/kernels.hpp"

namespace rt = tinyq::rt;
using tinyq_test::Random;
using tinyq_test::same_bytes;

namespace {

struct Layer {
  rt::ConvParams p{};
  std::vector<std::int8_t> input, weights;
  std::vector<std::int32_t> bias, multiplier, shift;
};

// A conv (groups 1) or depthwise layer with TFLite's parameters: symmetric weights, per-channel
// multipliers from scales (or one per tensor), SAME or VALID geometry, shifts mostly negative
// and sometimes >= 0 (multipliers of 1/2 and above).
Layer random_layer(Random& rng, bool depthwise) {
  Layer l;
  rt::ConvParams& p = l.p;
  p.batch = 1;
  p.in_h = rng.uniform(1, 10);
  p.in_w = rng.uniform(1, 10);
  p.in_c = depthwise ? rng.uniform(1, 20) : rng.pick({1, 2, 3, 4, 8, 13, 16, 33});
  const int multiplier = depthwise ? rng.pick({1, 1, 1, 2, 3}) : 1;
  p.out_c = depthwise ? p.in_c * multiplier : rng.uniform(1, 40);
  p.groups = depthwise ? p.in_c : 1;
  p.kernel_h = rng.pick({1, 3, 5, 10});
  p.kernel_w = rng.pick({1, 1, 3, 4});
  p.stride_h = rng.uniform(1, 2);
  p.stride_w = rng.uniform(1, 2);
  p.dilation_h = p.dilation_w = 1;
  const bool same = rng.chance(0.6);
  p.out_h = same ? (p.in_h + p.stride_h - 1) / p.stride_h : (p.in_h - p.kernel_h) / p.stride_h + 1;
  p.out_w = same ? (p.in_w + p.stride_w - 1) / p.stride_w : (p.in_w - p.kernel_w) / p.stride_w + 1;
  if (p.out_h < 1 || p.out_w < 1) return random_layer(rng, depthwise);
  p.pad_top = same ? std::max((p.out_h - 1) * p.stride_h + p.kernel_h - p.in_h, 0) / 2 : 0;
  p.pad_left = same ? std::max((p.out_w - 1) * p.stride_w + p.kernel_w - p.in_w, 0) / 2 : 0;
  p.input_offset = -rng.uniform(-128, 127);
  p.output_offset = rng.uniform(-128, 127);
  std::tie(p.act_min, p.act_max) = rng.activation_range(p.output_offset);
  const int taps = p.kernel_h * p.kernel_w * (depthwise ? 1 : p.in_c);
  l.input = rng.activations(std::size_t(p.in_h * p.in_w * p.in_c));
  l.weights = rng.weights(std::size_t(p.out_c * taps));
  for (int o = 0; o < p.out_c; ++o) l.bias.push_back(rng.chance(0.1) ? 0 : rng.uniform(-(1 << 16), 1 << 16));
  const int count = rng.chance(0.3) ? 1 : p.out_c;
  const double base = std::exp(rng.real(std::log(1e-5), std::log(rng.chance(0.1) ? 2.0 : 0.05)));
  for (int o = 0; o < count; ++o) {
    std::int32_t m = 0;
    int s = 0;
    tflite_ref::QuantizeMultiplier(base * std::exp(rng.real(-1.0, 1.0)), &m, &s);
    if (s > 0) s = 0;  // keep acc * 2^shift within int32 for these accumulators
    l.multiplier.push_back(m);
    l.shift.push_back(s);
  }
  p.requant = rt::Requant{l.multiplier.data(), l.shift.data(), count, rt::kRoundTflite};
  return l;
}

// ConvPerChannel / DepthwiseConvPerChannel as TFLite Micro's reference loops them.
std::vector<std::int8_t> reference(const Layer& l, bool depthwise) {
  const rt::ConvParams& p = l.p;
  std::vector<std::int8_t> out;
  const int multiplier = p.out_c / p.in_c;
  for (int oy = 0; oy < p.out_h; ++oy)
    for (int ox = 0; ox < p.out_w; ++ox)
      for (int o = 0; o < p.out_c; ++o) {
        std::int32_t acc = 0;
        for (int fy = 0; fy < p.kernel_h; ++fy)
          for (int fx = 0; fx < p.kernel_w; ++fx) {
            const int iy = oy * p.stride_h - p.pad_top + fy, ix = ox * p.stride_w - p.pad_left + fx;
            if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) continue;
            if (depthwise) {
              const int ic = o / multiplier;
              acc += (l.input[std::size_t((iy * p.in_w + ix) * p.in_c + ic)] + p.input_offset) *
                     l.weights[std::size_t((fy * p.kernel_w + fx) * p.out_c + o)];
            } else {
              for (int ic = 0; ic < p.in_c; ++ic)
                acc += (l.input[std::size_t((iy * p.in_w + ix) * p.in_c + ic)] + p.input_offset) *
                       l.weights[std::size_t(((o * p.kernel_h + fy) * p.kernel_w + fx) * p.in_c + ic)];
            }
          }
        acc += l.bias[std::size_t(o)];
        const std::size_t r = l.multiplier.size() == 1 ? 0 : std::size_t(o);
        out.push_back(tflite_ref::OutputStage(acc, l.multiplier[r], l.shift[r], p.output_offset, p.act_min, p.act_max));
      }
  return out;
}

TEST(TfliteKernels, ConvWithTflitesRoundingIsTfliteMicros) {
  Random rng(21);
  for (int c = 0; c < 600; ++c) {
    Layer l = random_layer(rng, false);
    const std::size_t outputs = std::size_t(l.p.out_h * l.p.out_w * l.p.out_c);
    std::vector<std::int8_t> got(outputs), fast(outputs);
    std::vector<std::int16_t> scratch(rt::conv2d_s8_scratch_bytes(l.p) / 2 + 1);
    rt::conv2d_s8(l.p, l.input.data(), l.weights.data(), l.bias.data(), got.data(), scratch.data());
    ASSERT_TRUE(same_bytes(got, reference(l, false))) << "case " << c;
    const tinyq::int8::PackedConv packed(l.p, l.weights.data(), l.bias.data());
    std::vector<std::int16_t> patches(packed.scratch_elements());
    packed.run(l.input.data(), fast.data(), patches.data());
    ASSERT_TRUE(same_bytes(fast, got)) << "host fast path, case " << c;
  }
}

TEST(TfliteKernels, DepthwiseWithTflitesRoundingIsTfliteMicros) {
  Random rng(22);
  for (int c = 0; c < 600; ++c) {
    Layer l = random_layer(rng, true);
    const std::size_t outputs = std::size_t(l.p.out_h * l.p.out_w * l.p.out_c);
    std::vector<std::int8_t> got(outputs), fast(outputs);
    rt::depthwise_conv2d_s8(l.p, l.input.data(), l.weights.data(), l.bias.data(), got.data());
    ASSERT_TRUE(same_bytes(got, reference(l, true))) << "case " << c;
    const tinyq::int8::PackedDepthwise packed(l.p, l.weights.data(), l.bias.data());
    std::vector<std::int32_t> sums(packed.scratch_elements());
    packed.run(l.input.data(), fast.data(), sums.data());
    ASSERT_TRUE(same_bytes(fast, got)) << "host fast path, case " << c;
  }
}

TEST(TfliteKernels, DenseWithTflitesRoundingIsTfliteMicros) {
  Random rng(23);
  for (int c = 0; c < 600; ++c) {
    // A fully connected layer is a 1x1 conv over rows x 1 pixels (per-tensor in TFLite files).
    Layer l = random_layer(rng, false);
    const rt::DenseParams d{.rows = rng.uniform(1, 3),
                            .in_features = rng.uniform(1, 700),
                            .out_features = rng.uniform(1, 70),
                            .input_offset = l.p.input_offset,
                            .output_offset = l.p.output_offset,
                            .act_min = l.p.act_min,
                            .act_max = l.p.act_max,
                            .requant = {l.multiplier.data(), l.shift.data(), 1, rt::kRoundTflite}};
    const std::vector<std::int8_t> in = rng.activations(std::size_t(d.rows * d.in_features));
    const std::vector<std::int8_t> w = rng.weights(std::size_t(d.out_features * d.in_features));
    std::vector<std::int32_t> bias;
    for (int o = 0; o < d.out_features; ++o) bias.push_back(rng.uniform(-(1 << 16), 1 << 16));
    std::vector<std::int8_t> got(std::size_t(d.rows * d.out_features)), want, fast(got.size());
    rt::dense_s8(d, in.data(), w.data(), bias.data(), got.data());
    for (int r = 0; r < d.rows; ++r)
      for (int o = 0; o < d.out_features; ++o) {
        std::int32_t acc = 0;
        for (int i = 0; i < d.in_features; ++i)
          acc += (in[std::size_t(r * d.in_features + i)] + d.input_offset) * w[std::size_t(o * d.in_features + i)];
        want.push_back(tflite_ref::OutputStage(acc + bias[std::size_t(o)], l.multiplier[0], l.shift[0], d.output_offset,
                                               d.act_min, d.act_max));
      }
    ASSERT_TRUE(same_bytes(got, want)) << "case " << c;
    const auto packed = tinyq::int8::PackedConv::dense(d, w.data(), bias.data());
    std::vector<std::int16_t> patches(packed.scratch_elements());
    packed.run(in.data(), fast.data(), patches.data());
    ASSERT_TRUE(same_bytes(fast, got)) << "host fast path, case " << c;
  }
}

}  // namespace
