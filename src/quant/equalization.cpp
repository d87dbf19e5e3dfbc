#include "quant/equalization.hpp"

#include <cmath>
#include <limits>

namespace tinyq {

namespace {

bool is_depthwise(const Graph& g, const Node& n) {
  return n.op == Op::Conv && n.attrs.get_int("group", 1) > 1 && g.value(n.inputs[1]).shape[3] == 1 &&
         n.attrs.get_int("group", 1) == g.value(n.inputs[1]).shape[0];
}

// A pair (first -> second) that can be equalized: both plain conv / depthwise / dense with
// constant weights and bias, the first's output read only by the second as its data input,
// and the first's fused clamp scale-invariant. A clamp [0, inf) (ReLU) commutes with positive
// scaling; a finite upper bound (ReLU6) does not, so such pairs are skipped.
bool equalizable(const Graph& g, const Node& first, const Node& second) {
  auto linear = [&](const Node& n) {
    return (n.op == Op::Conv || n.op == Op::Dense) && n.inputs.size() >= 3 && n.inputs[2] != kNoValue &&
           g.value(n.inputs[1]).is_constant() && g.value(n.inputs[2]).is_constant();
  };
  if (!linear(first) || !linear(second) || second.inputs[0] != first.outputs[0]) return false;
  if (g.is_graph_output(first.outputs[0]) || g.consumers(first.outputs[0]).size() != 1) return false;
  const float lo = first.attrs.get_float("act_min", -std::numeric_limits<float>::infinity());
  const float hi = first.attrs.get_float("act_max", std::numeric_limits<float>::infinity());
  if (std::isfinite(hi) || (std::isfinite(lo) && lo != 0.0f)) return false;
  // A grouped (non-depthwise) consumer mixes channels within groups only; keep it simple.
  if (second.op == Op::Conv && second.attrs.get_int("group", 1) > 1 && !is_depthwise(g, second)) return false;
  if (first.op == Op::Conv && first.attrs.get_int("group", 1) > 1 && !is_depthwise(g, first)) return false;
  return true;
}

// max |w| over everything that output channel c of `n` produces from.
std::vector<float> output_ranges(const Tensor& w) {
  const std::int64_t channels = w.shape()[0], per = w.numel() / channels;
  std::vector<float> r(std::size_t(channels), 0.0f);
  for (std::int64_t c = 0; c < channels; ++c)
    for (std::int64_t i = 0; i < per; ++i)
      r[std::size_t(c)] = std::max(r[std::size_t(c)], std::abs(w.f32()[std::size_t(c * per + i)]));
  return r;
}

// max |w| over everything input channel c of `n` feeds. Conv/dense weights keep input
// channels last ([O, KH, KW, C] or [O, K]); a depthwise conv's input channel c is its
// output channel c.
std::vector<float> input_ranges(const Graph& g, const Node& n, std::int64_t channels) {
  const Tensor& w = *g.value(n.inputs[1]).constant;
  if (is_depthwise(g, n)) return output_ranges(w);
  std::vector<float> r(std::size_t(channels), 0.0f);
  auto data = w.f32();
  for (std::size_t i = 0; i < data.size(); ++i) {
    const std::size_t c = i % std::size_t(channels);
    r[c] = std::max(r[c], std::abs(data[i]));
  }
  return r;
}

}  // namespace

int equalize_cross_layer(Graph& g, int iterations) {
  int pairs = 0;
  for (int it = 0; it < iterations; ++it) {
    for (auto& second : g.nodes) {
      int p = g.producer(second.inputs[0]);
      if (p < 0) continue;
      Node& first = g.nodes[std::size_t(p)];
      if (!equalizable(g, first, second)) continue;
      Tensor w1 = *g.value(first.inputs[1]).constant, b1 = *g.value(first.inputs[2]).constant;
      Tensor w2 = *g.value(second.inputs[1]).constant;
      const std::int64_t channels = w1.shape()[0];
      if (second.op == Op::Dense ? w2.shape()[1] != channels : g.value(second.inputs[0]).shape.back() != channels)
        continue;
      std::vector<float> r1 = output_ranges(w1), r2 = input_ranges(g, second, channels);
      std::vector<float> scale(std::size_t(channels), 1.0f);
      for (std::size_t c = 0; c < scale.size(); ++c)
        if (r1[c] > 0 && r2[c] > 0) scale[c] = std::sqrt(r1[c] / r2[c]);
      // First layer: output channel c divided by s_c (weights and bias).
      const std::int64_t per1 = w1.numel() / channels;
      for (std::int64_t c = 0; c < channels; ++c) {
        for (std::int64_t i = 0; i < per1; ++i) w1.f32()[std::size_t(c * per1 + i)] /= scale[std::size_t(c)];
        b1.f32()[std::size_t(c)] /= scale[std::size_t(c)];
      }
      // Second layer: input channel c multiplied by s_c.
      if (is_depthwise(g, second)) {
        const std::int64_t per2 = w2.numel() / channels;
        for (std::int64_t c = 0; c < channels; ++c)
          for (std::int64_t i = 0; i < per2; ++i) w2.f32()[std::size_t(c * per2 + i)] *= scale[std::size_t(c)];
      } else {
        auto data = w2.f32();
        for (std::size_t i = 0; i < data.size(); ++i) data[i] *= scale[i % std::size_t(channels)];
      }
      first.inputs[1] = g.add_constant(g.unique_name(first.name + "_weight_cle"), std::move(w1));
      first.inputs[2] = g.add_constant(g.unique_name(first.name + "_bias_cle"), std::move(b1));
      second.inputs[1] = g.add_constant(g.unique_name(second.name + "_weight_cle"), std::move(w2));
      if (it == 0) ++pairs;
    }
  }
  g.compact();
  return pairs;
}

}  // namespace tinyq
