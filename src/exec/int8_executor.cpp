#include "exec/int8_executor.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "exec/int8/binary_table.hpp"
#include "exec/int8/packed_conv.hpp"
#include "exec/int8/packed_depthwise.hpp"
#include "exec/kernel_params.hpp"
#include "exec/parallel.hpp"
#include "tinyq/kernels.hpp"
#include "util/error.hpp"

namespace tinyq {

namespace {

struct Workspace {
  std::vector<std::vector<std::int8_t>> storage;
  std::vector<std::int8_t*> ptr;
  std::vector<const std::int8_t*> parts;  // concat's input pointers
  // Scratch of the host fast paths (exec/int8/), sized for the largest layer.
  std::vector<std::int16_t> patches;
  std::vector<std::int32_t> sums;
};

using Step = std::function<void(Workspace&)>;

std::int32_t i32(std::int64_t v) { return static_cast<std::int32_t>(v); }

}  // namespace

struct Int8Executor::Impl {
  QGraph graph;
  std::vector<Step> steps;
  std::vector<bool> owns_storage;
  std::size_t patch_elements = 0, sum_elements = 0;
  int threads = 1;

  Step make_step(const QNode& n);
  Workspace make_workspace() const {
    Workspace ws;
    ws.storage.resize(graph.values.size());
    ws.ptr.assign(graph.values.size(), nullptr);
    for (std::size_t v = 0; v < graph.values.size(); ++v)
      if (owns_storage[v]) {
        ws.storage[v].resize(std::size_t(element_count(graph.values[v].shape)));
        ws.ptr[v] = ws.storage[v].data();
      }
    ws.patches.resize(patch_elements);
    ws.sums.resize(sum_elements);
    return ws;
  }
};

Step Int8Executor::Impl::make_step(const QNode& n) {
  const int out = n.output;
  const std::vector<int> ins = n.inputs;
  auto g = [&](const char* key) { return i32(n.get(key)); };
  switch (n.kernel) {
    case QKernel::Conv:
    case QKernel::Depthwise: {
      const rt::ConvParams p = conv_params(n);
      const std::int8_t* w = n.bytes("weights").data();
      const std::int32_t* b = n.words("bias").data();
      // Host fast paths, bit-identical to rt::conv2d_s8 / rt::depthwise_conv2d_s8 (tests/test_exec_int8_*).
      if (n.kernel == QKernel::Conv) {
        auto conv = std::make_shared<const int8::PackedConv>(p, w, b);
        patch_elements = std::max(patch_elements, conv->scratch_elements());
        return
            [=](Workspace& ws) { conv->run(ws.ptr[std::size_t(ins[0])], ws.ptr[std::size_t(out)], ws.patches.data()); };
      }
      auto conv = std::make_shared<const int8::PackedDepthwise>(p, w, b);
      sum_elements = std::max(sum_elements, conv->scratch_elements());
      return [=](Workspace& ws) { conv->run(ws.ptr[std::size_t(ins[0])], ws.ptr[std::size_t(out)], ws.sums.data()); };
    }
    case QKernel::Dense: {
      const rt::DenseParams p = dense_params(n);
      // Host fast path, bit-identical to rt::dense_s8 (tests/test_exec_int8_packed_conv.cpp).
      auto dense = std::make_shared<const int8::PackedConv>(
          int8::PackedConv::dense(p, n.bytes("weights").data(), n.words("bias").data()));
      patch_elements = std::max(patch_elements, dense->scratch_elements());
      return
          [=](Workspace& ws) { dense->run(ws.ptr[std::size_t(ins[0])], ws.ptr[std::size_t(out)], ws.patches.data()); };
    }
    case QKernel::MaxPool:
    case QKernel::AvgPool: {
      if (n.kernel == QKernel::MaxPool) {
        const rt::PoolParams pool = pool_params(n);
        return [=](Workspace& ws) { rt::max_pool2d_s8(pool, ws.ptr[std::size_t(ins[0])], ws.ptr[std::size_t(out)]); };
      }
      const rt::AvgPoolParams p = avg_pool_params(n);
      return [=](Workspace& ws) { rt::avg_pool2d_s8(p, ws.ptr[std::size_t(ins[0])], ws.ptr[std::size_t(out)]); };
    }
    case QKernel::Add:
    case QKernel::Mul: {
      const rt::BroadcastShape shape = broadcast_params(n);
      const BinaryOperands ops = binary_operands(n);  // activations by input, constants from the node
      auto operands = [=](Workspace& ws) {
        return std::pair{ops.a_input >= 0 ? ws.ptr[std::size_t(ops.a_input)] : ops.a_const,
                         ops.b_input >= 0 ? ws.ptr[std::size_t(ops.b_input)] : ops.b_const};
      };
      if (n.kernel == QKernel::Add) {
        const rt::AddParams p = add_params(n);
        // Host fast path: a table of rt::add_s8's results for every operand pair.
        auto table = std::make_shared<const int8::BinaryTable>(int8::BinaryTable::add(p));
        return [=](Workspace& ws) {
          auto [a, b] = operands(ws);
          table->run(shape, a, b, ws.ptr[std::size_t(out)]);
        };
      }
      const rt::MulParams p = mul_params(n);
      auto table = std::make_shared<const int8::BinaryTable>(int8::BinaryTable::mul(p));
      return [=](Workspace& ws) {
        auto [a, b] = operands(ws);
        table->run(shape, a, b, ws.ptr[std::size_t(out)]);
      };
    }
    case QKernel::Concat: {
      const rt::ConcatParams p = concat_params(n);
      return [=](Workspace& ws) {
        // The worker's own pointer list, reused for every sample: no allocation per call.
        ws.parts.resize(ins.size());
        for (std::size_t i = 0; i < ins.size(); ++i) ws.parts[i] = ws.ptr[std::size_t(ins[i])];
        rt::concat_s8(p, ws.parts.data(), ws.ptr[std::size_t(out)]);
      };
    }
    case QKernel::Pad: {
      const rt::PadParams p = pad_params(n);
      return [=](Workspace& ws) { rt::pad_s8(p, ws.ptr[std::size_t(ins[0])], ws.ptr[std::size_t(out)]); };
    }
    case QKernel::Lookup: {
      const std::int8_t* table = n.bytes("table").data();
      const std::int32_t count = i32(element_count(graph.values[std::size_t(out)].shape));
      return [=](Workspace& ws) { rt::lookup_s8(table, ws.ptr[std::size_t(ins[0])], ws.ptr[std::size_t(out)], count); };
    }
    case QKernel::Softmax: {
      const std::int32_t* table = n.words("exp_table").data();
      const std::int32_t rows = g("rows"), depth = g("depth");
      return [=](Workspace& ws) {
        rt::softmax_s8(table, rows, depth, ws.ptr[std::size_t(ins[0])], ws.ptr[std::size_t(out)]);
      };
    }
    case QKernel::Prelu: {
      const rt::PreluParams p = prelu_params(n);
      return [=](Workspace& ws) { rt::prelu_s8(p, ws.ptr[std::size_t(ins[0])], ws.ptr[std::size_t(out)]); };
    }
    case QKernel::Reshape: return [=](Workspace& ws) { ws.ptr[std::size_t(out)] = ws.ptr[std::size_t(ins[0])]; };
    case QKernel::LayerNorm: {
      const rt::LayerNormParams p = layer_norm_params(n);
      return [=](Workspace& ws) { rt::layer_norm_s8(p, ws.ptr[std::size_t(ins[0])], ws.ptr[std::size_t(out)]); };
    }
    case QKernel::Resize: {
      const rt::ResizeParams p = resize_params(n);
      return [=](Workspace& ws) { rt::resize_nearest_s8(p, ws.ptr[std::size_t(ins[0])], ws.ptr[std::size_t(out)]); };
    }
  }
  fail(n.name, "the int8 executor cannot run {}", qkernel_name(n.kernel));
}

Int8Executor::Int8Executor(const QGraph& graph, ExecOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->graph = graph;
  impl_->threads = options.threads > 0 ? options.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  impl_->owns_storage.assign(graph.values.size(), false);
  for (int in : graph.inputs) impl_->owns_storage[std::size_t(in)] = true;
  for (auto& n : impl_->graph.nodes) {
    impl_->steps.push_back(impl_->make_step(n));
    if (n.kernel != QKernel::Reshape) impl_->owns_storage[std::size_t(n.output)] = true;
  }
}

Int8Executor::~Int8Executor() = default;

int Int8Executor::threads() const { return impl_->threads; }

namespace {

// Number of samples and a check that each input fits the model (first dim any multiple).
std::int64_t samples_of(const QGraph& g, const std::vector<Tensor>& inputs) {
  if (inputs.size() != g.inputs.size())
    fail("", "the model has {} inputs, {} were given", g.inputs.size(), inputs.size());
  std::int64_t samples = -1;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const QValue& v = g.values[std::size_t(g.inputs[i])];
    Shape expected = v.source_shape();
    const Shape& got = inputs[i].shape();
    if (got.size() != expected.size() || got.empty() || !std::equal(got.begin() + 1, got.end(), expected.begin() + 1) ||
        got[0] % expected[0] != 0)
      fail(v.name, "data of shape {} does not match the model input shape {}", shape_string(got),
           shape_string(expected));
    std::int64_t n = got[0] / expected[0];
    if (samples >= 0 && n != samples) fail(v.name, "inputs hold different numbers of samples");
    samples = n;
  }
  return samples;
}

// One sample between source layout and stored layout.
void to_stored(const QValue& v, const std::int8_t* src, std::int8_t* dst) {
  if (v.layout == Layout::NHWC && v.shape.size() == 4)
    permute_elements(reinterpret_cast<const std::byte*>(src), reinterpret_cast<std::byte*>(dst), v.source_shape(),
                     {0, 2, 3, 1}, 1);
  else
    std::memcpy(dst, src, std::size_t(element_count(v.shape)));
}
void to_source(const QValue& v, const std::int8_t* src, std::int8_t* dst) {
  if (v.layout == Layout::NHWC && v.shape.size() == 4)
    permute_elements(reinterpret_cast<const std::byte*>(src), reinterpret_cast<std::byte*>(dst), v.shape, {0, 3, 1, 2},
                     1);
  else
    std::memcpy(dst, src, std::size_t(element_count(v.shape)));
}

}  // namespace

std::vector<Tensor> Int8Executor::run_int8(const std::vector<Tensor>& inputs) const {
  const QGraph& g = impl_->graph;
  const std::int64_t samples = samples_of(g, inputs);
  std::vector<Tensor> outputs;
  for (int o : g.outputs) {
    Shape s = g.values[std::size_t(o)].source_shape();
    s[0] *= samples;
    outputs.emplace_back(DType::i8, s);
  }
  for_each_sample(
      samples, impl_->threads, [&](int) { return impl_->make_workspace(); },
      [&](int, Workspace& ws, std::int64_t s) {
        for (std::size_t i = 0; i < g.inputs.size(); ++i) {
          const QValue& v = g.values[std::size_t(g.inputs[i])];
          const std::int64_t n = element_count(v.shape);
          to_stored(v, inputs[i].data<std::int8_t>().data() + s * n, ws.ptr[std::size_t(g.inputs[i])]);
        }
        for (auto& step : impl_->steps) step(ws);
        for (std::size_t o = 0; o < g.outputs.size(); ++o) {
          const QValue& v = g.values[std::size_t(g.outputs[o])];
          const std::int64_t n = element_count(v.shape);
          to_source(v, ws.ptr[std::size_t(g.outputs[o])], outputs[o].data<std::int8_t>().data() + s * n);
        }
      });
  return outputs;
}

std::vector<Tensor> Int8Executor::run(const std::vector<Tensor>& inputs, const Observer& observer) const {
  const QGraph& g = impl_->graph;
  const std::int64_t samples = samples_of(g, inputs);
  std::vector<Tensor> outputs;
  for (int o : g.outputs) {
    Shape s = g.values[std::size_t(o)].source_shape();
    s[0] *= samples;
    outputs.emplace_back(DType::f32, s);
  }
  for_each_sample(
      samples, impl_->threads,
      [&](int) {
        auto ws = impl_->make_workspace();
        return std::pair{std::move(ws), std::vector<std::int8_t>()};
      },
      [&](int thread, auto& state, std::int64_t s) {
        auto& [ws, scratch] = state;
        for (std::size_t i = 0; i < g.inputs.size(); ++i) {
          const QValue& v = g.values[std::size_t(g.inputs[i])];
          const std::int64_t n = element_count(v.shape);
          scratch.resize(std::size_t(n));
          const float* x = inputs[i].f32().data() + s * n;
          for (std::int64_t k = 0; k < n; ++k) {
            const float q = std::nearbyint(x[k] / v.quant.scale) + float(v.quant.zero_point);
            scratch[std::size_t(k)] = std::int8_t(std::clamp(q, -128.0f, 127.0f));
          }
          to_stored(v, scratch.data(), ws.ptr[std::size_t(g.inputs[i])]);
        }
        for (std::size_t k = 0; k < impl_->steps.size(); ++k) {
          impl_->steps[k](ws);
          if (observer) {
            const int out = g.nodes[k].output;
            observer(thread, s, int(k),
                     std::span<const std::int8_t>(ws.ptr[std::size_t(out)],
                                                  std::size_t(element_count(g.values[std::size_t(out)].shape))));
          }
        }
        for (std::size_t o = 0; o < g.outputs.size(); ++o) {
          const QValue& v = g.values[std::size_t(g.outputs[o])];
          const std::int64_t n = element_count(v.shape);
          scratch.resize(std::size_t(n));
          to_source(v, ws.ptr[std::size_t(g.outputs[o])], scratch.data());
          float* y = outputs[o].f32().data() + s * n;
          for (std::int64_t k = 0; k < n; ++k)
            y[k] = v.quant.scale * float(scratch[std::size_t(k)] - v.quant.zero_point);
        }
      });
  return outputs;
}

}  // namespace tinyq
