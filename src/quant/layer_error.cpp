#include "quant/layer_error.hpp"

#include <cmath>

#include "exec/float_executor.hpp"
#include "exec/int8_executor.hpp"

namespace tinyq {

std::vector<LayerError> measure_layer_error(const QGraph& q, const InputSamples& samples, int threads) {
  const std::size_t layers = q.nodes.size();
  struct Sums {
    double signal = 0, noise = 0, dot = 0, int8_energy = 0;
  };
  std::vector<Sums> totals(layers);
  FloatExecutor reference(q.float_graph, {.threads = threads});
  Int8Executor quantized(q, {.threads = threads});
  // The node whose float value it is: a value's first node (a requantize_tensor after a
  // 16x8 layer approximates the same value and copies the first's activations below).
  std::unordered_map<ValueId, std::size_t> node_of_value;
  for (std::size_t k = 0; k < layers; ++k) node_of_value.emplace(ValueId(q.nodes[k].source_output), k);

  // Chunks bound the memory that holds float activations until the int8 run reaches them.
  const std::int64_t total = samples.count(q.float_graph);
  constexpr std::int64_t kChunk = 64;
  // Float activations per layer, kChunk samples back to back, allocated once for all chunks.
  std::vector<std::size_t> layer_size(layers);
  std::vector<std::vector<float>> activations(layers);
  for (std::size_t k = 0; k < layers; ++k) {
    layer_size[k] = std::size_t(element_count(q.float_graph.value(ValueId(q.nodes[k].source_output)).shape));
    activations[k].resize(layer_size[k] * std::size_t(std::min(kChunk, total)));
  }
  for (std::int64_t first = 0; first < total; first += kChunk) {
    const std::int64_t count = std::min(kChunk, total - first);
    const InputSamples chunk = samples.range(q.float_graph, first, count);
    reference.run(chunk.tensors(), [&](int, std::int64_t s, ValueId v, std::span<const float> data) {
      auto it = node_of_value.find(v);
      if (it == node_of_value.end()) return;
      std::vector<float>& layer = activations[it->second];
      const std::size_t n = layer_size[it->second];
      std::copy_n(data.begin(), std::min(n, data.size()), layer.begin() + std::int64_t(std::size_t(s) * n));
    });
    // Sums per sample, added up in sample order: per-thread sums would depend on which thread
    // ran which sample, and the reported figures would change in the last digits from run to run.
    std::vector<Sums> sample_sums(std::size_t(count) * layers);
    quantized.run(chunk.tensors(), [&](int, std::int64_t s, int node, std::span<const std::int8_t> data) {
      const QValue& value = q.values[std::size_t(q.nodes[std::size_t(node)].output)];
      const QuantParam& p = value.quant;
      const std::size_t size = layer_size[std::size_t(node)];
      const std::size_t first = node_of_value.at(ValueId(q.nodes[std::size_t(node)].source_output));
      const float* ref = activations[first].data() + std::size_t(s) * size;
      Sums& sums = sample_sums[std::size_t(s) * layers + std::size_t(node)];
      const std::size_t n = std::min(size, data.size() / std::size_t(element_bytes(p)));
      for (std::size_t i = 0; i < n; ++i) {
        const double f = ref[i], d = double(value.scale_at(i)) * (stored_element(p, data.data(), i) - p.zero_point);
        sums.signal += f * f;
        sums.noise += (f - d) * (f - d);
        sums.dot += f * d;
        sums.int8_energy += d * d;
      }
    });
    for (std::int64_t s = 0; s < count; ++s)
      for (std::size_t k = 0; k < layers; ++k) {
        const Sums& sample = sample_sums[std::size_t(s) * layers + k];
        totals[k].signal += sample.signal;
        totals[k].noise += sample.noise;
        totals[k].dot += sample.dot;
        totals[k].int8_energy += sample.int8_energy;
      }
  }
  std::vector<LayerError> result;
  for (std::size_t k = 0; k < layers; ++k) {
    const Sums& s = totals[k];
    LayerError e{q.nodes[k].name, q.nodes[k].op, 0, 0};
    // An exact layer has no noise: report a finite ceiling rather than infinity (JSON has no inf).
    e.sqnr_db = s.noise > 0 ? 10.0 * std::log10(std::max(s.signal, 1e-30) / s.noise) : 200.0;
    e.cosine =
        s.signal > 0 && s.int8_energy > 0 ? s.dot / std::sqrt(s.signal * s.int8_energy) : (s.noise > 0 ? 0.0 : 1.0);
    result.push_back(e);
  }
  return result;
}

double output_sqnr_db(const QGraph& q, const InputSamples& samples, int threads, std::int64_t max_samples) {
  const InputSamples subset = samples.head(q.float_graph, max_samples);
  return outputs_sqnr_db(FloatExecutor(q.float_graph, {.threads = threads}).run(subset.tensors()),
                         Int8Executor(q, {.threads = threads}).run(subset.tensors()));
}

double outputs_sqnr_db(const std::vector<Tensor>& reference, const std::vector<Tensor>& got) {
  double signal = 0, noise = 0;
  for (std::size_t o = 0; o < reference.size(); ++o)
    for (std::int64_t i = 0; i < reference[o].numel(); ++i) {
      const double f = reference[o].f32()[std::size_t(i)], d = got[o].f32()[std::size_t(i)];
      signal += f * f;
      noise += (f - d) * (f - d);
    }
  return noise > 0 ? 10.0 * std::log10(std::max(signal, 1e-30) / noise) : 200.0;
}

}  // namespace tinyq
