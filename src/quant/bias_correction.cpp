#include "quant/bias_correction.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>
#include <unordered_map>

#include "exec/float_executor.hpp"
#include "exec/int8_executor.hpp"
#include "exec/parallel.hpp"
#include "qmodel/samples.hpp"
#include "quant/multiplier.hpp"

namespace tinyq {

namespace {

bool has_bias(const QNode& n) {
  return n.kernel == QKernel::Conv || n.kernel == QKernel::ConvTranspose || n.kernel == QKernel::Depthwise ||
         n.kernel == QKernel::Dense;
}

// The model is run node by node over all samples at once, each node on its own as a one-node
// QGraph whose values are Plain with the stored shapes: its inputs are the int8 activations
// (stored layout) that the nodes before it produced with their biases already corrected. The
// int8 arithmetic is the executor's own, so every activation is exactly what a whole-model run
// with the corrections so far would give, as the layer-by-layer method needs, at the cost of
// about two model runs instead of one run per corrected layer (54 on mobilenet_v3_small).
class Stepper {
 public:
  Stepper(const QGraph& q, int threads) : q_(q), threads_(threads) {}

  // Runs `node` (with its current parameters) on the activations of its inputs.
  Tensor run(const QNode& node) const {
    QGraph one;
    one.settings = q_.settings;
    std::vector<Tensor> inputs;
    std::vector<int> source;  // q_'s value of each of one's inputs
    QNode copy = node;
    copy.inputs.clear();
    for (int in : node.inputs) {
      // Each distinct input once (Mul(x, x) reads one value).
      auto it = std::find(source.begin(), source.end(), in);
      if (it == source.end()) {
        one.inputs.push_back(int(one.values.size()));
        one.values.push_back(plain(q_.values[std::size_t(in)]));
        inputs.push_back(activation(in));
        source.push_back(in);
        it = source.end() - 1;
      }
      copy.inputs.push_back(one.inputs[std::size_t(it - source.begin())]);
    }
    copy.output = int(one.values.size());
    one.values.push_back(plain(q_.values[std::size_t(node.output)]));
    one.outputs = {copy.output};
    one.nodes.push_back(std::move(copy));
    return std::move(Int8Executor(one, {.threads = threads_}).run_int8(inputs)[0]);
  }

  const Tensor& activation(int value) const { return values_.at(value); }
  void set(int value, Tensor t) { values_[value] = std::move(t); }
  void drop(int value) { values_.erase(value); }

 private:
  // Stored layout as the value's own (Plain) layout: no permutation in or out.
  static QValue plain(const QValue& v) { return {v.name, v.shape, Layout::Plain, v.quant, {}, v.channel_scales}; }

  const QGraph& q_;
  int threads_;
  std::unordered_map<int, Tensor> values_;
};

}  // namespace

int correct_bias(QGraph& q, const InputSamples& samples, int threads, std::int64_t max_samples) {
  const std::int64_t total = std::min<std::int64_t>(samples.count(q.float_graph), max_samples);
  if (total <= 0) return 0;
  const InputSamples subset = samples.head(q.float_graph, total);

  // Float outputs of every corrected layer (stored layout), all samples: they do not change.
  std::unordered_map<ValueId, std::size_t> slot;
  for (auto& n : q.nodes)
    if (has_bias(n)) slot.emplace(ValueId(n.source_output), slot.size());
  std::vector<std::vector<float>> reference(slot.size());
  for (auto& n : q.nodes)
    if (has_bias(n))
      reference[slot.at(ValueId(n.source_output))].resize(
          std::size_t(total * element_count(q.values[std::size_t(n.output)].shape)));
  FloatExecutor(q.float_graph, {.threads = threads})
      .run(subset.tensors(), [&](int, std::int64_t s, ValueId v, std::span<const float> d) {
        auto it = slot.find(v);
        if (it != slot.end()) std::copy(d.begin(), d.end(), reference[it->second].begin() + s * std::int64_t(d.size()));
      });

  // Where each value is last read: its activations are dropped after that node.
  std::vector<int> last_use(q.values.size(), -1);
  for (std::size_t k = 0; k < q.nodes.size(); ++k)
    for (int in : q.nodes[k].inputs) last_use[std::size_t(in)] = int(k);

  Stepper stepper(q, threads);
  for (std::size_t i = 0; i < q.inputs.size(); ++i) {
    const int in = q.inputs[i];
    const QValue& v = q.values[std::size_t(in)];
    Shape stored = v.shape;
    stored[0] *= total;
    Tensor t(DType::i8, stored);
    const std::vector<std::int8_t> bytes = to_stored_bytes(v, quantize_samples(v, subset[i]));
    std::copy(bytes.begin(), bytes.end(), t.data<std::int8_t>().begin());
    stepper.set(in, std::move(t));
  }

  int corrected = 0;
  for (std::size_t k = 0; k < q.nodes.size(); ++k) {
    QNode& node = q.nodes[k];
    if (node.kernel == QKernel::Reshape) {
      const QValue& v = q.values[std::size_t(node.output)];
      Shape stored = v.shape;
      stored[0] *= total;
      stored.back() *= element_bytes(v.quant);  // an int16 tensor as its bytes (run_int8)
      stepper.set(node.output, stepper.activation(node.inputs[0]).reshaped(stored));  // same bytes
    } else {
      Tensor out = stepper.run(node);
      if (has_bias(node)) {
        const std::vector<float>& ref = reference[slot.at(ValueId(node.source_output))];
        const QuantParam p = q.values[std::size_t(node.output)].quant;
        const std::size_t channels = node.words("bias").size();
        const std::int64_t act_min = node.get("act_min", -128), act_max = node.get("act_max", 127);
        // Mean of (float - dequantized int8) per output channel, over samples and positions:
        // per-sample sums spread over the threads, added up in sample order, so the result
        // depends on neither threads nor timing.
        const auto d = out.data<std::int8_t>();  // an int16 output as its bytes
        const std::size_t per_sample = d.size() / std::size_t(total) / std::size_t(element_bytes(p));
        std::vector<double> local(std::size_t(total) * channels, 0.0);
        std::vector<std::int64_t> local_count(std::size_t(total) * channels, 0);
        for_each_sample(
            total, threads > 0 ? threads : int(std::thread::hardware_concurrency()), [](int) { return 0; },
            [&](int, int, std::int64_t s) {
              const std::size_t base = std::size_t(s) * per_sample;
              double* sum = local.data() + std::size_t(s) * channels;
              std::int64_t* n = local_count.data() + std::size_t(s) * channels;
              for (std::size_t i = 0, c = 0; i < per_sample; ++i, c = c + 1 == channels ? 0 : c + 1) {
                const std::int32_t qv = stored_element(p, d.data(), base + i);
                // Saturated outputs say nothing about the mean shift (a fused ReLU clamps them).
                if (qv <= act_min || qv >= act_max) continue;
                sum[c] += double(ref[base + i]) - double(p.scale) * (qv - p.zero_point);
                ++n[c];
              }
            });
        std::vector<double> error(channels, 0.0);
        std::vector<std::int64_t> count(channels, 0);
        for (std::int64_t s = 0; s < total; ++s)
          for (std::size_t c = 0; c < channels; ++c) {
            error[c] += local[std::size_t(s) * channels + c];
            count[c] += local_count[std::size_t(s) * channels + c];
          }
        auto& bias = node.i32["bias"];
        const auto& multiplier = node.words("requant_multiplier");
        const auto& shift = node.words("requant_shift");
        bool changed = false;
        for (std::size_t c = 0; c < channels; ++c) {
          if (count[c] == 0) continue;
          const std::size_t r = multiplier.size() == 1 ? 0 : c;
          // The accumulator's real scale s_in * s_w[c] is the requantization multiplier times s_out.
          const double acc_scale = multiplier_value({multiplier[r], shift[r]}) * p.scale;
          if (acc_scale <= 0) continue;
          const double delta = std::nearbyint(error[c] / double(count[c]) / acc_scale);
          const double updated = double(bias[c]) + delta;
          if (delta != 0 && std::abs(updated) < double(std::numeric_limits<std::int32_t>::max() / 2))
            bias[c] = std::int32_t(updated), changed = true;
        }
        // The layers after it see the corrected output.
        if (changed) out = stepper.run(node);
        ++corrected;
      }
      stepper.set(node.output, std::move(out));
    }
    for (int in : node.inputs)
      if (last_use[std::size_t(in)] == int(k)) stepper.drop(in);
  }
  return corrected;
}

}  // namespace tinyq
