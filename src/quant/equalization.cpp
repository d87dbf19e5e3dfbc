#include "quant/equalization.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "exec/float_executor.hpp"
#include "quant/equalization_regions.hpp"

namespace tinyq {

namespace {

using equalization::Region;

// A layer's weights and bias as rescaled so far (written back to the graph at the end).
struct LayerWeights {
  Tensor w;
  std::optional<Tensor> b;
  bool depthwise = false;
};

// Element i of a weight tensor belongs to output channel i / (numel / O); to input feature
// i mod C for conv ([O,KH,KW,C]) and dense ([O,K]), and for a depthwise conv
// ([C,KH,KW,1]) to input channel = output channel.
std::int64_t output_channel(const Tensor& w, std::size_t i) { return std::int64_t(i) / (w.numel() / w.shape()[0]); }
std::int64_t input_feature(const LayerWeights& l, std::size_t i) {
  return l.depthwise ? output_channel(l.w, i) : std::int64_t(i) % l.w.shape().back();
}

// Per class: max |w| over the producers' output channels (r1) or the consumers' input
// features (r2) of that class.
std::vector<float> producer_ranges(const Region& r, std::unordered_map<int, LayerWeights>& layers) {
  std::vector<float> range(std::size_t(r.classes), 0.0f);
  for (auto& p : r.producers) {
    const Tensor& w = layers.at(p.node).w;
    auto data = w.f32();
    for (std::size_t i = 0; i < data.size(); ++i) {
      float& m = range[std::size_t(p.channel_class[std::size_t(output_channel(w, i))])];
      m = std::max(m, std::abs(data[i]));
    }
  }
  return range;
}

std::vector<float> consumer_ranges(const Region& r, std::unordered_map<int, LayerWeights>& layers) {
  std::vector<float> range(std::size_t(r.classes), 0.0f);
  for (auto& c : r.consumers) {
    const LayerWeights& l = layers.at(c.node);
    auto data = l.w.f32();
    for (std::size_t i = 0; i < data.size(); ++i) {
      float& m = range[std::size_t(c.channel_class[std::size_t(input_feature(l, i))])];
      m = std::max(m, std::abs(data[i]));
    }
  }
  return range;
}

void apply_scales(const Region& r, const std::vector<float>& scale, std::unordered_map<int, LayerWeights>& layers) {
  for (auto& p : r.producers) {
    LayerWeights& l = layers.at(p.node);
    auto w = l.w.f32();
    for (std::size_t i = 0; i < w.size(); ++i)
      w[i] /= scale[std::size_t(p.channel_class[std::size_t(output_channel(l.w, i))])];
    if (l.b)
      for (std::size_t o = 0; o < l.b->f32().size(); ++o) l.b->f32()[o] /= scale[std::size_t(p.channel_class[o])];
  }
  for (auto& c : r.consumers) {
    LayerWeights& l = layers.at(c.node);
    auto w = l.w.f32();
    for (std::size_t i = 0; i < w.size(); ++i)
      w[i] *= scale[std::size_t(c.channel_class[std::size_t(input_feature(l, i))])];
  }
}

// Largest |activation| per class over the region's tensors.
std::vector<float> activation_ranges(const Region& r, const ChannelRanges& measured) {
  std::vector<float> range(std::size_t(r.classes), 0.0f);
  for (auto& [value, classes] : r.tensors) {
    auto it = measured.find(value);
    if (it == measured.end()) continue;
    for (std::size_t c = 0; c < classes.size() && c < it->second.size(); ++c)
      range[std::size_t(classes[c])] = std::max(range[std::size_t(classes[c])], it->second[c]);
  }
  return range;
}

constexpr int kMaxIterations = 32;
constexpr double kSettled = 1e-3;  // largest |log s| of an iteration that counts as no change

}  // namespace

ChannelRanges collect_channel_ranges(const Graph& graph, const InputSamples& samples,
                                     const std::vector<ValueId>& values, int threads, std::int64_t max_samples) {
  const InputSamples subset = samples.head(graph, max_samples);
  FloatExecutor executor(graph, {.threads = threads});
  std::vector<ChannelRanges> per_thread(std::size_t(executor.threads()));
  std::unordered_map<ValueId, std::int64_t> wanted;
  for (ValueId v : values) wanted[v] = graph.value(v).shape.back();
  executor.run(subset.tensors(), [&](int thread, std::int64_t, ValueId value, std::span<const float> data) {
    auto it = wanted.find(value);
    if (it == wanted.end()) return;
    const std::size_t channels = std::size_t(it->second);
    auto& range = per_thread[std::size_t(thread)][value];
    range.resize(channels, 0.0f);
    for (std::size_t i = 0; i < data.size(); ++i)
      range[i % channels] = std::max(range[i % channels], std::abs(data[i]));
  });
  ChannelRanges merged;
  for (auto& thread_ranges : per_thread)
    for (auto& [value, range] : thread_ranges) {
      auto& m = merged[value];
      m.resize(range.size(), 0.0f);
      for (std::size_t c = 0; c < range.size(); ++c) m[c] = std::max(m[c], range[c]);
    }
  return merged;
}

int equalize_cross_layer(Graph& g, EqualizeBy by, const InputSamples* samples, int threads) {
  const std::vector<Region> regions = equalization::find_regions(g);
  if (regions.empty()) return 0;
  std::unordered_map<int, LayerWeights> layers;
  auto load = [&](int node) {
    if (layers.count(node)) return;
    const Node& n = g.nodes[std::size_t(node)];
    LayerWeights l{*g.value(n.inputs[1]).constant, std::nullopt, equalization::is_depthwise(g, n)};
    if (n.inputs.size() > 2 && n.inputs[2] != kNoValue) l.b = *g.value(n.inputs[2]).constant;
    layers.emplace(node, std::move(l));
  };
  for (auto& r : regions) {
    for (auto& p : r.producers) load(p.node);
    for (auto& c : r.consumers) load(c.node);
  }
  // Activation ranges per region and class, kept current as scales are applied.
  std::vector<std::vector<float>> acts(regions.size());
  if (by == EqualizeBy::activation_ranges) {
    std::vector<ValueId> values;
    for (auto& r : regions)
      for (auto& t : r.tensors) values.push_back(t.first);
    const ChannelRanges measured = collect_channel_ranges(g, *samples, values, threads);
    for (std::size_t i = 0; i < regions.size(); ++i) acts[i] = activation_ranges(regions[i], measured);
  }
  std::vector<char> changed(regions.size(), 0);
  for (int it = 0; it < kMaxIterations; ++it) {
    double largest = 0;
    for (std::size_t i = 0; i < regions.size(); ++i) {
      const Region& r = regions[i];
      const std::vector<float> r1 = by == EqualizeBy::weight_ranges ? producer_ranges(r, layers) : acts[i];
      const std::vector<float> r2 = consumer_ranges(r, layers);
      std::vector<float> scale(std::size_t(r.classes), 1.0f);
      for (std::size_t k = 0; k < scale.size(); ++k) {
        // A dead channel (nothing produced or nothing read) keeps its scale.
        if (!(r1[k] > 0) || !(r2[k] > 0)) continue;
        const double s = std::sqrt(double(r1[k]) / double(r2[k]));
        if (!std::isfinite(s) || !std::isnormal(float(s))) continue;
        scale[k] = float(s);
        largest = std::max(largest, std::abs(std::log(s)));
        if (std::abs(std::log(s)) > kSettled) changed[i] = 1;
      }
      apply_scales(r, scale, layers);
      if (by == EqualizeBy::activation_ranges)
        for (std::size_t k = 0; k < scale.size(); ++k) acts[i][k] /= scale[k];
    }
    if (largest < kSettled) break;
  }
  for (auto& [node, l] : layers) {
    Node& n = g.nodes[std::size_t(node)];
    n.inputs[1] = g.add_constant(g.unique_name(n.name + "_weight_cle"), std::move(l.w));
    if (l.b) n.inputs[2] = g.add_constant(g.unique_name(n.name + "_bias_cle"), std::move(*l.b));
  }
  g.compact();
  return int(std::count(changed.begin(), changed.end(), 1));
}

}  // namespace tinyq
