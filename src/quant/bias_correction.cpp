#include "quant/bias_correction.hpp"

#include <cmath>
#include <limits>
#include <mutex>

#include "exec/float_executor.hpp"
#include "exec/int8_executor.hpp"
#include "quant/multiplier.hpp"

namespace tinyq {

namespace {

bool has_bias(const QNode& n) {
  return n.kernel == QKernel::Conv || n.kernel == QKernel::Depthwise || n.kernel == QKernel::Dense;
}

}  // namespace

int correct_bias(QGraph& q, const Tensor& samples, int threads, std::int64_t max_samples) {
  const std::int64_t total = std::min<std::int64_t>(samples.shape()[0], max_samples);
  Shape shape = samples.shape();
  shape[0] = total;
  Tensor subset(DType::f32, shape);
  std::copy_n(samples.f32().begin(), subset.numel(), subset.f32().begin());

  // Float outputs of every corrected layer, per sample: they do not change.
  std::unordered_map<ValueId, std::size_t> slot;
  for (auto& n : q.nodes)
    if (has_bias(n)) slot.emplace(ValueId(n.source_output), slot.size());
  std::vector<std::vector<std::vector<float>>> reference(std::size_t(total),
                                                         std::vector<std::vector<float>>(slot.size()));
  FloatExecutor(q.float_graph, {.threads = threads})
      .run({subset}, [&](int, std::int64_t s, ValueId v, std::span<const float> d) {
        auto it = slot.find(v);
        if (it != slot.end()) reference[std::size_t(s)][it->second].assign(d.begin(), d.end());
      });

  int corrected = 0;
  for (std::size_t k = 0; k < q.nodes.size(); ++k) {
    QNode& node = q.nodes[k];
    if (!has_bias(node)) continue;
    const std::size_t ref_slot = slot.at(ValueId(node.source_output));
    const QuantParam out = q.values[std::size_t(node.output)].quant;
    const std::size_t channels = node.words("bias").size();
    // Mean of (float - dequantized int8) per output channel, over samples and positions.
    std::vector<double> error(channels, 0.0);
    std::vector<std::int64_t> count(channels, 0);
    std::mutex mutex;
    Int8Executor(q, {.threads = threads})
        .run({subset}, [&](int, std::int64_t s, int index, std::span<const std::int8_t> d) {
          if (std::size_t(index) != k) return;
          const auto& ref = reference[std::size_t(s)][ref_slot];
          std::vector<double> local(channels, 0.0);
          std::vector<std::int64_t> local_count(channels, 0);
          for (std::size_t i = 0; i < d.size() && i < ref.size(); ++i) {
            const std::int32_t qv = d[i];
            // Saturated outputs say nothing about the mean shift (a fused ReLU clamps them).
            if (qv <= node.get("act_min", -128) || qv >= node.get("act_max", 127)) continue;
            local[i % channels] += double(ref[i]) - double(out.scale) * (qv - out.zero_point);
            ++local_count[i % channels];
          }
          std::lock_guard lock(mutex);
          for (std::size_t c = 0; c < channels; ++c) error[c] += local[c], count[c] += local_count[c];
        });
    auto& bias = node.i32["bias"];
    const auto& multiplier = node.words("requant_multiplier");
    const auto& shift = node.words("requant_shift");
    for (std::size_t c = 0; c < channels; ++c) {
      if (count[c] == 0) continue;
      const std::size_t r = multiplier.size() == 1 ? 0 : c;
      // The accumulator's real scale s_in * s_w[c] is the requantization multiplier times s_out.
      const double acc_scale = multiplier_value({multiplier[r], shift[r]}) * out.scale;
      if (acc_scale <= 0) continue;
      const double delta = std::nearbyint(error[c] / double(count[c]) / acc_scale);
      const double updated = double(bias[c]) + delta;
      if (std::abs(updated) < double(std::numeric_limits<std::int32_t>::max() / 2)) bias[c] = std::int32_t(updated);
    }
    ++corrected;
  }
  return corrected;
}

}  // namespace tinyq
