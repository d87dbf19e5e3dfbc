#include "quant/collect_statistics.hpp"

#include <atomic>
#include <mutex>

#include "exec/float_executor.hpp"
#include "util/error.hpp"

namespace tinyq {

std::unordered_map<ValueId, TensorHistogram> collect_statistics(const Graph& graph, const InputSamples& samples,
                                                                const CollectOptions& options) {
  FloatExecutor executor(graph, {.threads = options.threads});
  const std::int64_t total = samples.count(graph);
  if (total == 0) fail("", "the calibration set is empty");
  const int threads = executor.threads();
  // One histogram set per worker thread, merged at the end: no locks on the hot path.
  std::vector<std::unordered_map<ValueId, TensorHistogram>> per_thread(static_cast<std::size_t>(threads));
  std::atomic<std::int64_t> done{0};
  std::mutex progress_mutex;

  for (int pass = 0; pass < (options.histograms ? 2 : 1); ++pass) {
    if (pass == 1) {
      // Pass 2 bins over the merged pass-1 ranges, identical in every thread.
      std::unordered_map<ValueId, TensorHistogram> ranges;
      for (auto& thread_stats : per_thread)
        for (auto& [id, h] : thread_stats) {
          auto it = ranges.find(id);
          if (it == ranges.end())
            ranges.emplace(id, h);
          else
            it->second.merge(h);
        }
      for (auto& [id, h] : ranges) h.start_histograms();
      for (auto& thread_stats : per_thread) thread_stats = ranges;
    }
    done = 0;
    executor.run(samples.tensors(), [&](int thread, std::int64_t sample, ValueId value, std::span<const float> data) {
      auto& mine = per_thread[std::size_t(thread)];
      // Graph inputs are not node outputs: observe them alongside the first node (the
      // histograms do not depend on the element order, so the source layout serves).
      if (value == graph.nodes.front().outputs[0])
        for (std::size_t i = 0; i < graph.inputs.size(); ++i) {
          const std::size_t elements = std::size_t(element_count(graph.value(graph.inputs[i]).shape));
          std::span<const float> input(samples[i].f32().data() + sample * std::int64_t(elements), elements);
          pass == 0 ? mine[graph.inputs[i]].observe_range(input) : mine[graph.inputs[i]].observe(input);
        }
      pass == 0 ? mine[value].observe_range(data) : mine[value].observe(data);
      if (value == graph.nodes.back().outputs[0] && options.progress && thread == 0) {
        std::lock_guard lock(progress_mutex);
        options.progress(pass, done.load() + 1, total);
      }
      if (value == graph.nodes.back().outputs[0]) ++done;
    });
  }
  auto result = std::move(per_thread[0]);
  for (std::size_t t = 1; t < per_thread.size(); ++t)
    for (auto& [id, h] : per_thread[t]) {
      auto it = result.find(id);
      if (it == result.end())
        result[id] = h;
      else
        it->second.merge(h);
    }
  return result;
}

}  // namespace tinyq
