#include "exec/float_executor.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <thread>

#include "exec/float_ops.hpp"
#include "exec/kernels/float_kernels.hpp"
#include "util/error.hpp"

namespace tinyq {

namespace {

// One worker's buffers: a pointer per value (constants and aliases point elsewhere).
struct Workspace {
  std::vector<std::vector<float>> storage;
  std::vector<float*> ptr;
  std::vector<float> scratch;
  std::vector<const float*> parts;  // concat's input pointers
};

struct Step {
  std::function<void(Workspace&)> run;
  ValueId output;
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

}  // namespace

struct FloatExecutor::Impl {
  Graph graph;
  std::vector<Step> steps;
  std::vector<bool> owns_storage;  // value needs its own buffer per worker
  std::size_t scratch_floats = 0;
  int threads = 1;

  void prepare();
  Step make_step(const Node& node);
  Workspace make_workspace() const;
};

Workspace FloatExecutor::Impl::make_workspace() const {
  Workspace ws;
  ws.storage.resize(graph.values.size());
  ws.ptr.assign(graph.values.size(), nullptr);
  for (std::size_t v = 0; v < graph.values.size(); ++v) {
    const Value& value = graph.values[v];
    if (value.is_constant()) {
      ws.ptr[v] = const_cast<float*>(value.constant->f32().data());
    } else if (owns_storage[v]) {
      ws.storage[v].resize(std::size_t(element_count(value.shape)));
      ws.ptr[v] = ws.storage[v].data();
    }
  }
  ws.scratch.resize(scratch_floats);
  return ws;
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
    return {with_clamp([=](Workspace& ws) {
              const float* x = ws.ptr[ins[0]];
              float* y = ws.ptr[out];
              if (fops::unary_vectorized(op, x, y, out_count)) return;
              for (std::int64_t i = 0; i < out_count; ++i) y[i] = f(x[i]);
            }),
            out};
  }
  switch (node.op) {
    case Op::Conv: {
      const auto s = window_params<fk::Conv2dShape>(node, in_shape(0), in_shape(1), out_shape);
      scratch_floats = std::max(scratch_floats, fk::conv2d_scratch_floats(s));
      ValueId bias = ins.size() > 2 ? ins[2] : kNoValue;
      return {[=](Workspace& ws) {
                fk::conv2d(s, ws.ptr[ins[0]], ws.ptr[ins[1]], bias == kNoValue ? nullptr : ws.ptr[bias], ws.ptr[out],
                           ws.scratch.data(), act);
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
      return {[=](Workspace& ws) {
                fk::dense(rows, as_int(w[1]), as_int(w[0]), ws.ptr[ins[0]], ws.ptr[ins[1]],
                          bias == kNoValue ? nullptr : ws.ptr[bias], ws.ptr[out], act);
              },
              out};
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

  std::atomic<std::int64_t> next{0};
  const int workers = int(std::min<std::int64_t>(impl_->threads, std::max<std::int64_t>(samples, 1)));
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(workers));
  auto work = [&](int thread) {
    try {
      Workspace ws = impl_->make_workspace();
      constexpr std::int64_t kChunk = 4;
      for (std::int64_t first; (first = next.fetch_add(kChunk)) < samples;) {
        for (std::int64_t s = first; s < std::min(samples, first + kChunk); ++s) {
          for (std::size_t i = 0; i < g.inputs.size(); ++i) {
            const Value& v = g.value(g.inputs[i]);
            std::int64_t n = element_count(v.shape);
            copy_in(v, inputs[i].f32().data() + s * n, ws.ptr[std::size_t(g.inputs[i])]);
          }
          for (auto& step : impl_->steps) {
            step.run(ws);
            if (observer) {
              const Value& v = g.value(step.output);
              observer(thread, s, step.output,
                       std::span<const float>(ws.ptr[std::size_t(step.output)], std::size_t(element_count(v.shape))));
            }
          }
          for (std::size_t o = 0; o < g.outputs.size(); ++o) {
            const Value& v = g.value(g.outputs[o]);
            std::int64_t n = element_count(v.shape);
            copy_out(v, ws.ptr[std::size_t(g.outputs[o])], outputs[o].f32().data() + s * n);
          }
        }
      }
    } catch (...) {
      errors[std::size_t(thread)] = std::current_exception();
    }
  };
  if (workers <= 1) {
    work(0);
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < workers; ++t) pool.emplace_back(work, t);
    for (auto& t : pool) t.join();
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return outputs;
}

}  // namespace tinyq
