#pragma once
// Runs a quantized graph on the host with the runtime's int8 kernels: the exact arithmetic
// the MCU will do. Samples are spread over the cores like the float executor's.
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "exec/float_executor.hpp"
#include "ir/qgraph.hpp"

namespace tinyq {

class Int8Executor {
 public:
  // Builds every kernel's parameters once; throws tinyq::Error for a node it cannot run.
  explicit Int8Executor(const QGraph& graph, ExecOptions options = {});
  ~Int8Executor();
  Int8Executor(const Int8Executor&) = delete;
  Int8Executor& operator=(const Int8Executor&) = delete;

  // After every node, per sample: the node index and its output's bytes (stored layout; an
  // int16 tensor has two per element, read with stored_element()).
  using Observer = std::function<void(int thread, std::int64_t sample, int node, std::span<const std::int8_t> data)>;

  // Float inputs in the source layout are quantized with the input's parameters; outputs
  // are dequantized floats in the source layout.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs, const Observer& observer = nullptr) const;
  // int8 in, int8 out (source layout), exactly what the MCU consumes and produces.
  std::vector<Tensor> run_int8(const std::vector<Tensor>& inputs) const;

  int threads() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tinyq
