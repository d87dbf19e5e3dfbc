#pragma once
// A model int8 cannot hold: its output is the small difference of two large activations,
// which one int8 step of theirs cannot resolve (output SQNR about 8 dB at int8, 45 dB with
// the first layer's output in int16). x [N, 2, 4, 4] in [0, 1]; wide = relu(conv 1x1:
// [x0 + x1/127, x0]); y = conv 1x1 of wide: [wide0 - wide1, wide1 - wide0] = +-x1/127.
// Every weight is exact in int8, so only the activations lose the signal. With `pool`, a 2x2
// max pooling between the two layers (the difference is then of the two channels' maxima), or
// with `average` too a 2x2 average pooling (of their means).
#include <string>
#include <vector>

#include "onnx_builder.hpp"

namespace tinyq::testing {

// The pieces every model below is built from: x [N, 2, 4, 4] in, y out; 1x1 convs of 2 -> 2
// channels without bias (weights row by row): "wide" [x0 + x1/127, x0], a copy of channel 0
// into both ([x0, x0]), the difference [a0 - a1, a1 - a0].
inline OnnxBuilder cancellation_frame() {
  OnnxBuilder b;
  b.input("x", {-1, 2, 4, 4}).output("y");
  return b;
}
inline const std::vector<float> kWideWeights = {1.0f, 1.0f / 127.0f, 1.0f, 0.0f};
inline const std::vector<float> kCopyChannel0 = {1.0f, 0.0f, 1.0f, 0.0f};
inline const std::vector<float> kDifference = {1.0f, -1.0f, -1.0f, 1.0f};
inline const std::vector<float> kNegatedDifference = {-1.0f, 1.0f, 1.0f, -1.0f};
// A 1x1 conv of 2 output channels without bias, its input channels from the weights' count.
inline void conv1x1(OnnxBuilder& b, const std::string& from, const std::string& to, const std::string& name,
                    const std::vector<float>& weights) {
  b.initializer(name + "/w", {2, std::int64_t(weights.size() / 2), 1, 1}, weights);
  b.initializer(name + "/b", {2}, {0.0f, 0.0f});
  b.node("Conv", {from, name + "/w", name + "/b"}, {to}, name);
}

inline std::string cancellation_model_bytes(bool pool = false, bool average = false) {
  OnnxBuilder b = cancellation_frame();
  conv1x1(b, "x", "c1", "wide", kWideWeights);
  b.node("Relu", {"c1"}, {pool ? "r0" : "r1"}, "relu");
  if (pool) {
    auto& mp = b.node(average ? "AveragePool" : "MaxPool", {"r0"}, {"r1"}, "pool");
    OnnxBuilder::set_ints(mp, "kernel_shape", {2, 2});
    OnnxBuilder::set_ints(mp, "strides", {2, 2});
  }
  conv1x1(b, "r1", "y", "difference", kDifference);
  return b.bytes();
}

// The same cancellation across a residual add: y = conv 1x1 of (conv 1x1 of x + skip), the skip
// [x0, x0] another 1x1 conv of x, so the sum is [2 x0 + x1/127, 2 x0] (the Add named "sum").
inline std::string residual_cancellation_model_bytes() {
  OnnxBuilder b = cancellation_frame();
  conv1x1(b, "x", "c1", "wide", kWideWeights);
  conv1x1(b, "x", "c2", "skip", kCopyChannel0);
  b.node("Add", {"c1", "c2"}, {"s"}, "sum");
  conv1x1(b, "s", "y", "difference", kDifference);
  return b.bytes();
}

// The same cancellation through a smooth unary op: y = conv 1x1 of tanh(conv 1x1 of x), the
// difference tanh(x0 + x1/127) - tanh(x0) (a lookup table between the layers, named "tanh").
inline std::string tanh_cancellation_model_bytes() {
  OnnxBuilder b = cancellation_frame();
  conv1x1(b, "x", "c1", "wide", kWideWeights);
  b.node("Tanh", {"c1"}, {"t"}, "tanh");
  conv1x1(b, "t", "y", "difference", kDifference);
  return b.bytes();
}

// The same cancellation behind a squeeze-excitation-like gate: m = relu(conv 1x1 of x, as
// above) * sigmoid(global average of x0), the gate the same for both channels (a 1x1 conv that
// copies x0 into both), then y = conv 1x1 of m: [m0 - m1, m1 - m0] = +-gate * x1/127. The Mul
// named "gate" reads the wide layer's output.
inline std::string gated_cancellation_model_bytes() {
  OnnxBuilder b = cancellation_frame();
  conv1x1(b, "x", "c1", "wide", kWideWeights);
  b.node("Relu", {"c1"}, {"r1"}, "relu");
  conv1x1(b, "x", "g0", "copy", kCopyChannel0);
  b.node("GlobalAveragePool", {"g0"}, {"g1"}, "squeeze");
  b.node("Sigmoid", {"g1"}, {"g2"}, "excite");
  b.node("Mul", {"r1", "g2"}, {"m"}, "gate");
  conv1x1(b, "m", "y", "difference", kDifference);
  return b.bytes();
}

// The same cancellation through a concat along channels (named "cat"): [relu(wide), copy] with
// copy = conv 1x1 of x ([x0, -x0/3]: a zero point of its own, so the branches do not share a
// format and cannot keep channel-group scales), then y = conv 1x1 of the four channels that
// takes the difference of the first two.
inline std::string concat_cancellation_model_bytes() {
  OnnxBuilder b = cancellation_frame();
  conv1x1(b, "x", "c1", "wide", kWideWeights);
  b.node("Relu", {"c1"}, {"r1"}, "relu");
  conv1x1(b, "x", "c2", "copy", {1.0f, 0.0f, -1.0f / 3.0f, 0.0f});
  auto& cat = b.node("Concat", {"r1", "c2"}, {"joined"}, "cat");
  OnnxBuilder::set_int(cat, "axis", 1);
  conv1x1(b, "joined", "y", "difference", {1.0f, -1.0f, 0.0f, 0.0f, -1.0f, 1.0f, 0.0f, 0.0f});
  return b.bytes();
}

// The cancellation with a reader that has no 16x8 kernel: a PRelu ("prelu") reads relu(wide)
// beside the difference conv, its branch (a 1x1 conv "side" scaled by 0.01) added to the output
// ("sum"). An int16 output of "wide" reaches the PRelu as an int8 copy.
inline std::string prelu_side_model_bytes() {
  OnnxBuilder b = cancellation_frame();
  conv1x1(b, "x", "c1", "wide", kWideWeights);
  b.node("Relu", {"c1"}, {"r1"}, "relu");
  conv1x1(b, "r1", "d", "difference", kDifference);
  b.initializer("slope", {2, 1, 1}, {0.25f, 0.5f});
  b.node("PRelu", {"r1", "slope"}, {"p"}, "prelu");
  conv1x1(b, "p", "e", "side", {0.01f, 0.0f, 0.0f, 0.01f});
  b.node("Add", {"d", "e"}, {"y"}, "sum");
  return b.bytes();
}

// Damage spread over many layers: `branches` independent cancellations side by side, summed.
// x [N, 2 * branches, 4, 4]; branch i reads channels 2i and 2i + 1 through a 1x1 conv "wide<i>"
// ([x0 + x1/127, x0] of its pair), then "difference<i>"; y is the sum of the differences (Adds
// "sum<i>"; odd branches negated, so that the inputs' means cancel). Each branch brings the
// same share of the output's noise and signal, so one int16 output removes only 1 / branches of
// the noise (0.38 dB for 12): no single layer helps.
inline std::string spread_cancellation_model_bytes(int branches) {
  OnnxBuilder b;
  b.input("x", {-1, 2 * branches, 4, 4}).output("y");
  std::string sum;
  for (int i = 0; i < branches; ++i) {
    const std::string id = std::to_string(i);
    std::vector<float> wide(std::size_t(2 * 2 * branches), 0.0f);  // [2 out, 2 * branches in]
    for (std::size_t out = 0; out < 2; ++out) {
      wide[out * std::size_t(2 * branches) + std::size_t(2 * i)] = kWideWeights[out * 2];
      wide[out * std::size_t(2 * branches) + std::size_t(2 * i + 1)] = kWideWeights[out * 2 + 1];
    }
    conv1x1(b, "x", "c" + id, "wide" + id, wide);
    b.node("Relu", {"c" + id}, {"r" + id}, "relu" + id);
    conv1x1(b, "r" + id, "d" + id, "difference" + id, i % 2 ? kNegatedDifference : kDifference);
    if (i == 0) {
      sum = "d0";
      continue;
    }
    const std::string next = i + 1 == branches ? "y" : "s" + id;
    b.node("Add", {sum, "d" + id}, {next}, "sum" + id);
    sum = next;
  }
  return b.bytes();
}

}  // namespace tinyq::testing
