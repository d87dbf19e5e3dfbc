#pragma once
// The float executor's unit of work and the builders that make one per node, grouped by op
// family (float_steps_*.cpp). Internal to src/exec: FloatExecutor is the interface.
#include <cstddef>
#include <functional>
#include <vector>

#include "exec/float/kernels.hpp"
#include "exec/parallel.hpp"
#include "ir/graph.hpp"

namespace tinyq::float_steps {

// What a step sees of one sample: a pointer per value (constants and aliases point elsewhere),
// and the worker's scratch. `pool` is set when the call has a single sample and several
// threads: heavy steps then split their work over it.
struct Workspace {
  std::vector<float*> ptr;
  float* scratch = nullptr;
  std::vector<const float*> parts;  // concat's input pointers
  WorkerPool* pool = nullptr;
};

struct Step {
  std::function<void(Workspace&)> run;
  ValueId output;
  // Runs the step on samples 0..n-1 of a chunk at once (views[0] of the worker's buffers);
  // empty for ops that gain nothing from it, which then run sample by sample.
  std::function<void(Workspace&, int n)> run_chunk = nullptr;
};

// What every builder needs to know of its node, computed once.
struct StepContext {
  StepContext(const Graph& graph, const Node& node, std::size_t& scratch_floats);

  const Graph& g;
  const Node& node;
  ValueId out;
  Shape out_shape;
  std::int64_t out_count;
  std::vector<ValueId> ins;
  fk::Activation act;  // a fused Relu / Clip
  bool has_clamp;
  std::size_t& scratch_floats;  // the executor's per-worker scratch: builders raise it as needed

  const Shape& in_shape(std::size_t i) const { return g.value(node.inputs.at(i)).shape; }
  // `body`, followed by the fused clamp when the node has one (for kernels without their own).
  std::function<void(Workspace&)> with_clamp(std::function<void(Workspace&)> body) const;
};

// One builder per op family; each handles exactly the ops listed.
Step elementwise_step(const StepContext& c);    // unary and binary elementwise ops (not Identity)
Step linear_step(const StepContext& c);         // Conv, ConvTranspose, Dense, MatMul
Step pool_step(const StepContext& c);           // MaxPool, AvgPool, GlobalAvgPool, GlobalMaxPool, ReduceMean
Step normalization_step(const StepContext& c);  // Softmax, LayerNorm, ChannelAffine
Step movement_step(const StepContext& c);       // Concat, Reshape, Identity, Transpose, Pad, Resize
Step recurrent_step(const StepContext& c);      // LSTM, GRU, RNN
Step window3d_step(const StepContext& c);       // Conv3d, ConvTranspose3d, MaxPool3d, AvgPool3d

// Small attribute readers the builders share.
inline int as_int(std::int64_t v) { return int(v); }
std::int64_t attr_at(const Node& n, const char* key, std::size_t i, std::int64_t fallback);

}  // namespace tinyq::float_steps
