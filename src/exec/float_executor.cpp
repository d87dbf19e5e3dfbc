#include "exec/float_executor.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>

#include "exec/float_ops.hpp"
#include "exec/kernels/float_kernels.hpp"
#include "exec/parallel.hpp"
#include "util/error.hpp"

namespace tinyq {

namespace {

// What a step sees of one sample: a pointer per value (constants and aliases point elsewhere),
// and the worker's scratch. `pool` is set when the call has a single sample and several
// threads: heavy steps then split their work over it.
struct Workspace {
  std::vector<float*> ptr;
  float* scratch = nullptr;
  std::vector<const float*> parts;  // concat's input pointers
  WorkerPool* pool = nullptr;
};

// One worker's buffers for a chunk of samples run node by node: every value's samples lie
// back to back (sample k of value v at views[0].ptr[v] + k * element_count), so a chunk step
// can treat them as one batch.
struct WorkerBuffers {
  std::vector<std::vector<float>> storage;
  std::vector<float> scratch;
  std::vector<Workspace> views;  // views[k]: sample k of the chunk
};

struct Step {
  std::function<void(Workspace&)> run;
  ValueId output;
  // Runs the step on samples 0..n-1 of a chunk at once (views[0] of WorkerBuffers); empty
  // for ops that gain nothing from it, which then run sample by sample.
  std::function<void(Workspace&, int n)> run_chunk = nullptr;
};

int as_int(std::int64_t v) { return int(v); }

fk::Activation fused_activation(const Node& node) {
  return {node.attrs.get_float("act_min", -std::numeric_limits<float>::infinity()),
          node.attrs.get_float("act_max", std::numeric_limits<float>::infinity())};
}

std::int64_t attr_at(const Node& n, const char* key, std::size_t i, std::int64_t fallback) {
  auto v = n.attrs.get_ints(key);
  return i < v.size() ? v[i] : fallback;
}

// Conv2dShape and ConvTranspose2dShape list the same fields in the same order: one filler.
// x is NHWC, w [*, KH, KW, *], y NHWC.
template <typename WindowShape>
WindowShape window_params(const Node& node, const Shape& x, const Shape& w, const Shape& y) {
  return {as_int(x[0]),
          as_int(x[1]),
          as_int(x[2]),
          as_int(x[3]),
          as_int(y[1]),
          as_int(y[2]),
          as_int(y[3]),
          as_int(w[1]),
          as_int(w[2]),
          as_int(attr_at(node, "strides", 0, 1)),
          as_int(attr_at(node, "strides", 1, 1)),
          as_int(attr_at(node, "dilations", 0, 1)),
          as_int(attr_at(node, "dilations", 1, 1)),
          as_int(attr_at(node, "pads", 0, 0)),
          as_int(attr_at(node, "pads", 1, 0)),
          as_int(node.attrs.get_int("group", 1))};
}

// Conv with constant weights (every shape but depthwise): weights packed once, here. A
// single-sample call with several threads splits the output rows over the worker pool.
Step packed_conv_step(const fk::Conv2dShape& s, const float* weight, ValueId in, ValueId bias, ValueId out,
                      fk::Activation act) {
  auto packed = std::make_shared<std::vector<float>>(fk::packed_conv2d_floats(s));
  fk::pack_conv2d_weights(s, weight, packed->data());
  const int rows = s.batch * s.out_h;
  return {[=](Workspace& ws) {
            const float* b = bias == kNoValue ? nullptr : ws.ptr[bias];
            if (ws.pool == nullptr || rows == 1) {
              fk::conv2d_packed(s, ws.ptr[in], packed->data(), b, ws.ptr[out], act, 0, rows);
              return;
            }
            // A few row ranges per worker, claimed dynamically (the machine is shared).
            const int parts = std::min(rows, 4 * ws.pool->workers());
            auto part = [&](int i) {
              fk::conv2d_packed(s, ws.ptr[in], packed->data(), b, ws.ptr[out], act, rows * i / parts,
                                rows * (i + 1) / parts);
            };
            ws.pool->run(parts, part);
          },
          out};
}

// Dense with constant weights is a 1x1 convolution over a 1 x rows "image": the direct conv
// kernel with weights packed once, tiles of 5 rows x 16 outputs. Eigen's GEMM re-packed the
// 784x128 weights of mlp on every call (a quarter of its time), its GEMV for one row ran at
// 3 GFLOP/s on seed_cnn's classifier.
Step packed_dense_step(int rows, int in_features, int out_features, const float* weight, ValueId in, ValueId bias,
                       ValueId out, fk::Activation act, bool chunkable) {
  auto shape = [=](int n) {
    const int pixels = rows * n;
    return fk::Conv2dShape{.batch = 1,
                           .in_h = 1,
                           .in_w = pixels,
                           .in_c = in_features,
                           .out_h = 1,
                           .out_w = pixels,
                           .out_c = out_features,
                           .kernel_h = 1,
                           .kernel_w = 1,
                           .stride_h = 1,
                           .stride_w = 1,
                           .dilation_h = 1,
                           .dilation_w = 1,
                           .pad_top = 0,
                           .pad_left = 0,
                           .groups = 1};
  };
  auto packed = std::make_shared<std::vector<float>>(fk::packed_conv2d_floats(shape(1)));
  fk::pack_conv2d_weights(shape(1), weight, packed->data());
  auto dense = [=](Workspace& ws, int n) {
    fk::conv2d_packed(shape(n), ws.ptr[in], packed->data(), bias == kNoValue ? nullptr : ws.ptr[bias], ws.ptr[out], act,
                      0, 1);
  };
  Step step{[=](Workspace& ws) { dense(ws, 1); }, out};
  if (chunkable) step.run_chunk = dense;
  return step;
}

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
  const Graph& g = graph;
  auto in_shape = [&](std::size_t i) -> const Shape& { return g.value(node.inputs.at(i)).shape; };
  const ValueId out = node.outputs.at(0);
  const Shape out_shape = g.value(out).shape;
  const std::int64_t out_count = element_count(out_shape);
  const std::vector<ValueId> ins = node.inputs;
  const fk::Activation act = fused_activation(node);
  const bool has_clamp = node.attrs.has("act_min") || node.attrs.has("act_max");
  auto with_clamp = [=](std::function<void(Workspace&)> body) -> std::function<void(Workspace&)> {
    if (!has_clamp) return body;
    return [=](Workspace& ws) {
      body(ws);
      fops::clamp(ws.ptr[out], out_count, act.min, act.max);
    };
  };

  if (is_binary_elementwise(node.op)) {
    Shape a = in_shape(0), b = in_shape(1);
    Op op = node.op;
    return {with_clamp(
                [=](Workspace& ws) { fops::binary(op, ws.ptr[ins[0]], a, ws.ptr[ins[1]], b, ws.ptr[out], out_shape); }),
            out};
  }
  if (is_unary_elementwise(node.op) && node.op != Op::Identity) {  // Identity aliases, below
    // Vectorised where Eigen has the function (tanh/sigmoid per element through a
    // std::function cost 7x against onnxruntime on avgpool_cnn, docs/BENCHMARKS.md).
    const Op op = node.op;
    auto f = fops::unary_function(node.op, node.attrs);
    auto apply = [=](const float* x, float* y, std::int64_t count) {
      if (!fops::unary_vectorized(op, x, y, count))
        for (std::int64_t i = 0; i < count; ++i) y[i] = f(x[i]);
      if (has_clamp) fops::clamp(y, count, act.min, act.max);
    };
    Step step{[=](Workspace& ws) { apply(ws.ptr[ins[0]], ws.ptr[out], out_count); }, out};
    if (!g.value(ins[0]).is_constant())
      step.run_chunk = [=](Workspace& ws, int n) { apply(ws.ptr[ins[0]], ws.ptr[out], out_count * n); };
    return step;
  }
  switch (node.op) {
    case Op::Conv: {
      const auto s = window_params<fk::Conv2dShape>(node, in_shape(0), in_shape(1), out_shape);
      ValueId bias = ins.size() > 2 ? ins[2] : kNoValue;
      if (g.value(ins[1]).is_constant() && fk::conv2d_uses_packed_weights(s))
        return packed_conv_step(s, g.value(ins[1]).constant->f32().data(), ins[0], bias, out, act);
      scratch_floats = std::max(scratch_floats, fk::conv2d_scratch_floats(s));
      return {[=](Workspace& ws) {
                fk::conv2d(s, ws.ptr[ins[0]], ws.ptr[ins[1]], bias == kNoValue ? nullptr : ws.ptr[bias], ws.ptr[out],
                           ws.scratch, act);
              },
              out};
    }
    case Op::ConvTranspose: {
      const auto s = window_params<fk::ConvTranspose2dShape>(node, in_shape(0), in_shape(1), out_shape);
      ValueId bias = ins.size() > 2 ? ins[2] : kNoValue;
      return {[=](Workspace& ws) {
                fk::conv_transpose2d(s, ws.ptr[ins[0]], ws.ptr[ins[1]], bias == kNoValue ? nullptr : ws.ptr[bias],
                                     ws.ptr[out], act);
              },
              out};
    }
    case Op::Dense: {
      const Shape& w = in_shape(1);
      int rows = as_int(out_count / w[0]);
      ValueId bias = ins.size() > 2 ? ins[2] : kNoValue;
      if (g.value(ins[1]).is_constant())
        return packed_dense_step(rows, as_int(w[1]), as_int(w[0]), g.value(ins[1]).constant->f32().data(), ins[0], bias,
                                 out, act, !g.value(ins[0]).is_constant());
      auto dense = [=](Workspace& ws, int n) {
        fk::dense(rows * n, as_int(w[1]), as_int(w[0]), ws.ptr[ins[0]], ws.ptr[ins[1]],
                  bias == kNoValue ? nullptr : ws.ptr[bias], ws.ptr[out], act);
      };
      Step step{[=](Workspace& ws) { dense(ws, 1); }, out};
      if (!g.value(ins[0]).is_constant()) step.run_chunk = dense;
      return step;
    }
    case Op::MatMul: {
      Shape a = in_shape(0), b = in_shape(1);
      if (a.size() < 2 || b.size() < 2) fail(node.name, "MatMul with a 1-D operand is not supported");
      std::int64_t m = a[a.size() - 2], k = a.back(), n = b.back();
      std::int64_t a_batch = element_count(a) / (m * k), b_batch = element_count(b) / (k * n);
      std::int64_t batch = out_count / (m * n);
      if ((a_batch != batch && a_batch != 1) || (b_batch != batch && b_batch != 1) ||
          (a_batch == 1 && b_batch == 1 && batch != 1))
        fail(node.name, "MatMul batch broadcasting beyond one shared matrix is not supported");
      std::size_t sa = a_batch == 1 ? 0 : std::size_t(m * k), sb = b_batch == 1 ? 0 : std::size_t(k * n);
      return {with_clamp([=](Workspace& ws) {
                fk::matmul(as_int(batch), as_int(m), as_int(k), as_int(n), ws.ptr[ins[0]], sa, ws.ptr[ins[1]], sb,
                           ws.ptr[out]);
              }),
              out};
    }
    case Op::MaxPool:
    case Op::AvgPool: {
      const Shape& x = in_shape(0);
      fk::Pool2dShape s{as_int(x[0]),
                        as_int(x[1]),
                        as_int(x[2]),
                        as_int(x[3]),
                        as_int(out_shape[1]),
                        as_int(out_shape[2]),
                        as_int(attr_at(node, "kernel", 0, 1)),
                        as_int(attr_at(node, "kernel", 1, 1)),
                        as_int(attr_at(node, "strides", 0, 1)),
                        as_int(attr_at(node, "strides", 1, 1)),
                        as_int(attr_at(node, "dilations", 0, 1)),
                        as_int(attr_at(node, "dilations", 1, 1)),
                        as_int(attr_at(node, "pads", 0, 0)),
                        as_int(attr_at(node, "pads", 1, 0)),
                        as_int(attr_at(node, "pads", 2, 0)),
                        as_int(attr_at(node, "pads", 3, 0))};
      if (node.op == Op::MaxPool)
        return {[=](Workspace& ws) { fk::max_pool2d(s, ws.ptr[ins[0]], ws.ptr[out], act); }, out};
      bool include = node.attrs.get_int("count_include_pad", 0) != 0;
      return {[=](Workspace& ws) { fk::avg_pool2d(s, ws.ptr[ins[0]], ws.ptr[out], include, act); }, out};
    }
    case Op::GlobalAvgPool:
    case Op::GlobalMaxPool: {
      const Shape& x = in_shape(0);
      bool avg = node.op == Op::GlobalAvgPool;
      return {with_clamp([=](Workspace& ws) {
                (avg ? fk::global_avg_pool : fk::global_max_pool)(as_int(x[0]), as_int(x[1]), as_int(x[2]),
                                                                  as_int(x[3]), ws.ptr[ins[0]], ws.ptr[out]);
              }),
              out};
    }
    case Op::ReduceMean: {
      Shape x = in_shape(0);
      auto axes = node.attrs.get_ints("axes");
      if (axes.empty())
        for (std::size_t i = 0; i < x.size(); ++i) axes.push_back(std::int64_t(i));
      return {with_clamp([=](Workspace& ws) { fops::reduce_mean(ws.ptr[ins[0]], ws.ptr[out], x, axes); }), out};
    }
    case Op::Softmax: {
      int axis = int(node.attrs.get_int("axis", -1));
      if (axis < 0) axis += int(out_shape.size());
      return {[=](Workspace& ws) { fops::softmax(ws.ptr[ins[0]], ws.ptr[out], out_shape, axis); }, out};
    }
    case Op::LayerNorm: {
      int axis = int(node.attrs.get_int("axis", -1));
      if (axis < 0) axis += int(out_shape.size());
      float eps = node.attrs.get_float("epsilon", 1e-5f);
      return {with_clamp([=](Workspace& ws) {
                fops::layer_norm(ws.ptr[ins[0]], ws.ptr[ins[1]], ws.ptr[ins[2]], ws.ptr[out], out_shape, axis, eps);
              }),
              out};
    }
    case Op::ChannelAffine: {
      int axis = int(node.attrs.get_int("axis", 1));
      return {with_clamp([=](Workspace& ws) {
                fops::channel_affine(ws.ptr[ins[0]], ws.ptr[ins[1]], ws.ptr[ins[2]], ws.ptr[out], out_shape, axis);
              }),
              out};
    }
    case Op::Concat: {
      int axis = int(node.attrs.get_int("axis", 0));
      std::vector<Shape> shapes;
      for (std::size_t i = 0; i < ins.size(); ++i) shapes.push_back(in_shape(i));
      return {with_clamp([=](Workspace& ws) {
                ws.parts.clear();  // the worker's own list, reused: no allocation per call
                for (auto v : ins) ws.parts.push_back(ws.ptr[v]);
                fops::concat(ws.parts, shapes, ws.ptr[out], axis);
              }),
              out};
    }
    case Op::Reshape:
    case Op::Identity:
      if (has_clamp)
        return {[=](Workspace& ws) {
                  std::memcpy(ws.ptr[out], ws.ptr[ins[0]], std::size_t(out_count) * sizeof(float));
                  fops::clamp(ws.ptr[out], out_count, act.min, act.max);
                },
                out};
      return {[=](Workspace& ws) { ws.ptr[out] = ws.ptr[ins[0]]; }, out};  // same bytes, new shape
    case Op::Transpose: {
      Shape x = in_shape(0);
      auto p = node.attrs.get_ints("perm");
      std::vector<int> perm(p.begin(), p.end());
      return {with_clamp([=](Workspace& ws) {
                permute_elements(reinterpret_cast<const std::byte*>(ws.ptr[ins[0]]),
                                 reinterpret_cast<std::byte*>(ws.ptr[out]), x, perm, sizeof(float));
              }),
              out};
    }
    case Op::Pad: {
      Shape x = in_shape(0);
      auto pads = node.attrs.get_ints("pads");
      std::string mode = node.attrs.get_string("mode", "constant");
      float value = node.attrs.get_float("value", 0.0f);
      return {with_clamp([=](Workspace& ws) { fops::pad(ws.ptr[ins[0]], x, ws.ptr[out], pads, mode, value); }), out};
    }
    case Op::Resize: {
      Shape x = in_shape(0);
      auto scales = node.attrs.get_floats("scales");
      auto coord = node.attrs.get_string("coordinate_transformation_mode", "half_pixel");
      auto nearest = node.attrs.get_string("nearest_mode", "round_prefer_floor");
      return {with_clamp([=](Workspace& ws) {
                fops::resize_nearest(ws.ptr[ins[0]], x, ws.ptr[out], out_shape, scales, coord, nearest);
              }),
              out};
    }
    default: break;  // elementwise ops: handled above
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
      if (in == kNoValue && node.op != Op::Conv && node.op != Op::Dense && node.op != Op::ConvTranspose)
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
    if (!rest_match || expected[0] == 0 || got[0] % expected[0] != 0)
      fail(v.name, "data of shape {} does not match the model input shape {} (the first dimension may be any multiple)",
           shape_string(got), shape_string(expected));
    if (inputs[i].dtype() != DType::f32)
      fail(v.name, "input data must be float32, got {}", dtype_name(inputs[i].dtype()));
    std::int64_t n = got[0] / expected[0];
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
    else
      std::memcpy(dst, src, std::size_t(element_count(v.shape)) * sizeof(float));
  };
  auto copy_out = [&](const Value& v, const float* src, float* dst) {
    if (v.layout == Layout::NHWC && v.shape.size() == 4 && v.shape[3] != 1)
      permute_elements(reinterpret_cast<const std::byte*>(src), reinterpret_cast<std::byte*>(dst), v.shape,
                       {0, 3, 1, 2}, sizeof(float));
    else
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
  // With several workers, chunks small enough that each gets a few (dynamic balance).
  const std::int64_t share = workers == 1 ? samples : (samples + 2 * workers - 1) / (2 * workers);
  const int chunk = int(std::clamp<std::int64_t>(share, 1, impl.chunk));
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
