#pragma once
// Runs a Graph in float. It is the reference the quantizer calibrates against: every op
// of the IR, any batch size, samples spread over the cores (each worker owns its buffers),
// a single sample's convolutions split over them. Results depend on neither the thread count
// nor timing: graphs whose Dense layers run over chunks of samples (small graphs, see
// FloatExecutor::Impl::chunk_size), where a row's sum order depends on its place in the chunk,
// cut the chunks from the sample count alone. They may differ in the last bits between calls
// with different sample counts.
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "ir/graph.hpp"

namespace tinyq {

struct ExecOptions {
  int threads = 0;  // 0: all cores
};

class FloatExecutor {
 public:
  // Checks every node can run (float inputs, supported attributes); throws tinyq::Error.
  explicit FloatExecutor(const Graph& graph, ExecOptions options = {});
  ~FloatExecutor();
  FloatExecutor(const FloatExecutor&) = delete;
  FloatExecutor& operator=(const FloatExecutor&) = delete;

  // Called after every node for every sample, from worker threads (one call at a time
  // per thread). `data` is the node output in stored layout, one sample's worth.
  using Observer = std::function<void(int thread, std::int64_t sample, ValueId value, std::span<const float> data)>;

  // Inputs in the source model's layout (NCHW for images). Each input's first dimension
  // must be a multiple of the graph input's: the graph then runs once per slice
  // ("sample"), and the outputs are concatenated along the first dimension.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs, const Observer& observer = nullptr) const;

  // Number of worker threads that run() uses.
  int threads() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Number of samples `run` will execute for these inputs; throws tinyq::Error on a shape mismatch.
std::int64_t sample_count(const Graph& graph, const std::vector<Tensor>& inputs);

}  // namespace tinyq
