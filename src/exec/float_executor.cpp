#include "exec/float_executor.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "exec/float_step.hpp"
#include "exec/parallel.hpp"
#include "util/error.hpp"

namespace tinyq {

using float_steps::Step;
using float_steps::StepContext;
using float_steps::Workspace;

namespace {

// One worker's buffers for a chunk of samples run node by node: every value's samples lie
// back to back (sample k of value v at views[0].ptr[v] + k * element_count), so a chunk step
// can treat them as one batch.
struct WorkerBuffers {
  std::vector<std::vector<float>> storage;
  std::vector<float> scratch;
  std::vector<Workspace> views;  // views[k]: sample k of the chunk
};

}  // namespace

struct FloatExecutor::Impl {
  Graph graph;
  std::vector<Step> steps;
  std::vector<bool> owns_storage;  // value needs its own buffer per worker
  std::size_t scratch_floats = 0;
  int threads = 1;
  int chunk = 1;  // samples a worker runs node by node (chunk_size)
  // Intra-op helpers for single-sample calls, started on first use; one call uses them at a time.
  mutable std::mutex pool_mutex;
  mutable std::unique_ptr<WorkerPool> pool;
  // Workers' buffers kept from the previous call: fresh ones cost page faults on every call
  // (mlp's chunk of 100 samples is 0.5 MB). One call uses them at a time.
  mutable std::mutex buffers_mutex;
  mutable std::vector<WorkerBuffers> buffers;

  void prepare();
  Step make_step(const Node& node);
  int chunk_size() const;
  WorkerBuffers make_buffers(int samples) const;
};

// Running a chunk node by node lets Dense be one GEMM over the chunk instead of a
// matrix-vector product per sample (mlp streamed its 400 KB of weights once per image), but
// spreads the working set over the chunk's activations: only worth it while those stay in
// cache, so conv nets (hundreds of KB per image) keep running sample by sample.
int FloatExecutor::Impl::chunk_size() const {
  constexpr std::size_t kCacheBudgetFloats = 64 * 1024;  // 256 KB
  constexpr int kMaxChunk = 64;
  std::size_t per_sample = 0;
  bool has_dense = false;
  for (std::size_t v = 0; v < graph.values.size(); ++v)
    if (owns_storage[v]) per_sample += std::size_t(element_count(graph.values[v].shape));
  for (const Node& n : graph.nodes) has_dense = has_dense || n.op == Op::Dense;
  if (!has_dense || per_sample == 0) return 1;
  return int(std::clamp<std::size_t>(kCacheBudgetFloats / per_sample, 1, kMaxChunk));
}

WorkerBuffers FloatExecutor::Impl::make_buffers(int samples) const {
  WorkerBuffers b;
  b.storage.resize(graph.values.size());
  b.scratch.resize(scratch_floats);
  b.views.resize(std::size_t(samples));
  for (auto& view : b.views) {
    view.ptr.assign(graph.values.size(), nullptr);
    view.scratch = b.scratch.data();
  }
  for (std::size_t v = 0; v < graph.values.size(); ++v) {
    const Value& value = graph.values[v];
    if (value.is_constant()) {
      for (auto& view : b.views) view.ptr[v] = const_cast<float*>(value.constant->f32().data());
    } else if (owns_storage[v]) {
      const std::size_t n = std::size_t(element_count(value.shape));
      b.storage[v].resize(n * std::size_t(samples));
      for (std::size_t k = 0; k < b.views.size(); ++k) b.views[k].ptr[v] = b.storage[v].data() + k * n;
    }
  }
  return b;
}

Step FloatExecutor::Impl::make_step(const Node& node) {
  const StepContext c(graph, node, scratch_floats);
  if (is_binary_elementwise(node.op) || (is_unary_elementwise(node.op) && node.op != Op::Identity))
    return elementwise_step(c);
  switch (node.op) {
    case Op::Conv:
    case Op::ConvTranspose:
    case Op::Dense:
    case Op::MatMul: return linear_step(c);
    case Op::MaxPool:
    case Op::AvgPool:
    case Op::GlobalAvgPool:
    case Op::GlobalMaxPool:
    case Op::ReduceMean: return pool_step(c);
    case Op::Softmax:
    case Op::LayerNorm:
    case Op::ChannelAffine: return normalization_step(c);
    case Op::Concat:
    case Op::Reshape:
    case Op::Identity:
    case Op::Transpose:
    case Op::Slice:
    case Op::Gather:
    case Op::Pad:
    case Op::Resize: return movement_step(c);
    case Op::LSTM:
    case Op::GRU:
    case Op::RNN: return recurrent_step(c);
    case Op::Conv3d:
    case Op::ConvTranspose3d:
    case Op::MaxPool3d:
    case Op::AvgPool3d: return window3d_step(c);
    default: break;
  }
  fail(node.name, "the float executor cannot run {}", op_name(node.op));
}

void FloatExecutor::Impl::prepare() {
  for (auto& v : graph.values)
    if (v.is_constant() && v.constant->dtype() != DType::f32) v.constant = v.constant->cast(DType::f32);
  owns_storage.assign(graph.values.size(), false);
  for (auto in : graph.inputs) owns_storage[std::size_t(in)] = true;
  for (auto& node : graph.nodes) {
    for (auto in : node.inputs)
      if (in == kNoValue && node.op != Op::Conv && node.op != Op::Dense && node.op != Op::ConvTranspose &&
          node.op != Op::Conv3d && node.op != Op::ConvTranspose3d)
        fail(node.name, "{} has an omitted input", op_name(node.op));
    steps.push_back(make_step(node));
    bool alias =
        (node.op == Op::Reshape || node.op == Op::Identity) && !node.attrs.has("act_min") && !node.attrs.has("act_max");
    if (!alias) owns_storage[std::size_t(node.outputs[0])] = true;
  }
}

FloatExecutor::FloatExecutor(const Graph& graph, ExecOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->graph = graph;
  impl_->threads = options.threads > 0 ? options.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  impl_->prepare();
  impl_->chunk = impl_->chunk_size();
}

FloatExecutor::~FloatExecutor() = default;

int FloatExecutor::threads() const { return impl_->threads; }

std::int64_t sample_count(const Graph& graph, const std::vector<Tensor>& inputs) {
  if (inputs.size() != graph.inputs.size())
    fail("", "the model has {} inputs, {} were given", graph.inputs.size(), inputs.size());
  if (inputs.empty()) return 1;  // a graph of constants runs once
  std::int64_t samples = -1;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Value& v = graph.value(graph.inputs[i]);
    Shape expected = v.source_shape();
    const Shape& got = inputs[i].shape();
    bool rest_match =
        got.size() == expected.size() && !got.empty() && std::equal(got.begin() + 1, got.end(), expected.begin() + 1);
    // An input with an empty first axis takes exactly its shape, as one sample.
    if (!rest_match || (expected[0] == 0 ? got[0] != 0 : got[0] % expected[0] != 0))
      fail(v.name, "data of shape {} does not match the model input shape {} (the first dimension may be any multiple)",
           shape_string(got), shape_string(expected));
    if (inputs[i].dtype() != DType::f32)
      fail(v.name, "input data must be float32, got {}", dtype_name(inputs[i].dtype()));
    std::int64_t n = expected[0] == 0 ? 1 : got[0] / expected[0];
    if (samples >= 0 && n != samples) fail(v.name, "inputs hold different numbers of samples ({} vs {})", n, samples);
    samples = n;
  }
  return samples;
}

std::vector<Tensor> FloatExecutor::run(const std::vector<Tensor>& inputs, const Observer& observer) const {
  const Graph& g = impl_->graph;
  const std::int64_t samples = sample_count(g, inputs);
  std::vector<Tensor> outputs;
  for (auto out : g.outputs) {
    Shape s = g.value(out).source_shape();
    if (s.empty()) s = {1};
    s[0] *= samples;
    outputs.emplace_back(DType::f32, s);
  }

  // Copy one sample between the source layout (caller's) and the stored layout.
  auto copy_in = [&](const Value& v, const float* src, float* dst) {
    // With one channel, NCHW and NHWC hold the same bytes in the same order.
    if (v.layout == Layout::NHWC && v.shape.size() == 4 && v.shape[3] != 1)
      permute_elements(reinterpret_cast<const std::byte*>(src), reinterpret_cast<std::byte*>(dst), v.source_shape(),
                       {0, 2, 3, 1}, sizeof(float));
    else if (element_count(v.shape) > 0)  // an empty tensor may have null data: memcpy(null, .., 0) is UB
      std::memcpy(dst, src, std::size_t(element_count(v.shape)) * sizeof(float));
  };
  auto copy_out = [&](const Value& v, const float* src, float* dst) {
    if (v.layout == Layout::NHWC && v.shape.size() == 4 && v.shape[3] != 1)
      permute_elements(reinterpret_cast<const std::byte*>(src), reinterpret_cast<std::byte*>(dst), v.shape,
                       {0, 3, 1, 2}, sizeof(float));
    else if (element_count(v.shape) > 0)  // an empty tensor may have null data: memcpy(null, .., 0) is UB
      std::memcpy(dst, src, std::size_t(element_count(v.shape)) * sizeof(float));
  };

  const Impl& impl = *impl_;
  auto copy_inputs = [&](Workspace& ws, std::int64_t s) {
    for (std::size_t i = 0; i < g.inputs.size(); ++i) {
      const Value& v = g.value(g.inputs[i]);
      copy_in(v, inputs[i].f32().data() + s * element_count(v.shape), ws.ptr[std::size_t(g.inputs[i])]);
    }
  };
  auto copy_outputs = [&](Workspace& ws, std::int64_t s) {
    for (std::size_t o = 0; o < g.outputs.size(); ++o) {
      const Value& v = g.value(g.outputs[o]);
      copy_out(v, ws.ptr[std::size_t(g.outputs[o])], outputs[o].f32().data() + s * element_count(v.shape));
    }
  };
  auto observe = [&](int thread, const Workspace& ws, std::int64_t s, ValueId value) {
    if (!observer) return;
    observer(thread, s, value,
             std::span<const float>(ws.ptr[std::size_t(value)], std::size_t(element_count(g.value(value).shape))));
  };

  std::atomic<std::int64_t> next{0};
  const int workers = int(std::min<std::int64_t>(impl.threads, std::max<std::int64_t>(samples, 1)));
  // The pool's threads outlive the call (starting threads costs as much as a small call), unless
  // another call holds it right now: that one then starts its own threads, as before the pool.
  std::unique_lock<std::mutex> pool_lock;
  WorkerPool* pool = nullptr;
  if (impl.threads > 1) {
    pool_lock = std::unique_lock(impl.pool_mutex, std::try_to_lock);
    if (pool_lock.owns_lock()) {
      if (!impl.pool) impl.pool = std::make_unique<WorkerPool>(impl.threads);
      pool = impl.pool.get();
    }
  }
  // Fewer samples than threads (a single image): one worker runs the graph and heavy steps split
  // their work over the pool (intra-op).
  WorkerPool* intra_op = workers == 1 ? pool : nullptr;
  // Chunks small enough that there are a few (dynamic balance), sized from the sample count
  // alone: a Dense row's sums depend on the chunk it is computed in, so chunks that depended on
  // the worker count would make results, and quantized models, depend on --threads.
  const int chunk = int(std::clamp<std::int64_t>((samples + 3) / 4, 1, impl.chunk));
  std::unique_lock buffers_lock(impl.buffers_mutex, std::try_to_lock);
  if (buffers_lock.owns_lock() && impl.buffers.size() < std::size_t(workers)) impl.buffers.resize(std::size_t(workers));
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(workers));
  auto work = [&](int thread) {
    try {
      WorkerBuffers fresh;
      WorkerBuffers& buffers = buffers_lock.owns_lock() ? impl.buffers[std::size_t(thread)] : fresh;
      if (buffers.views.size() != std::size_t(chunk)) buffers = impl.make_buffers(chunk);
      for (auto& view : buffers.views) view.pool = intra_op;
      // Samples are taken a few at a time (dynamic scheduling: the machine is shared).
      const std::int64_t take = std::max(chunk, 4);
      for (std::int64_t first; (first = next.fetch_add(take)) < samples;) {
        const std::int64_t end = std::min(samples, first + take);
        if (chunk == 1) {  // sample by sample: the working set of one sample stays in cache
          Workspace& ws = buffers.views[0];
          for (std::int64_t s = first; s < end; ++s) {
            copy_inputs(ws, s);
            for (auto& step : impl.steps) {
              step.run(ws);
              observe(thread, ws, s, step.output);
            }
            copy_outputs(ws, s);
          }
          continue;
        }
        for (std::int64_t c = first; c < end; c += chunk) {  // node by node over a chunk
          const int n = int(std::min<std::int64_t>(chunk, end - c));
          for (int k = 0; k < n; ++k) copy_inputs(buffers.views[std::size_t(k)], c + k);
          for (auto& step : impl.steps) {
            if (step.run_chunk)
              step.run_chunk(buffers.views[0], n);
            else
              for (int k = 0; k < n; ++k) step.run(buffers.views[std::size_t(k)]);
            for (int k = 0; k < n; ++k) observe(thread, buffers.views[std::size_t(k)], c + k, step.output);
          }
          for (int k = 0; k < n; ++k) copy_outputs(buffers.views[std::size_t(k)], c + k);
        }
      }
    } catch (...) {
      errors[std::size_t(thread)] = std::current_exception();
      next = samples;  // stop the others early
    }
  };
  if (workers <= 1) {
    work(0);
  } else if (pool != nullptr) {
    pool->run(workers, work);  // task t is worker t: they share `next`, whoever runs them
  } else {
    std::vector<std::thread> threads;
    for (int t = 0; t < workers; ++t) threads.emplace_back(work, t);
    for (auto& t : threads) t.join();
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return outputs;
}

}  // namespace tinyq
