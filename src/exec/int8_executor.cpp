#include "exec/int8_executor.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "exec/int8/binary_table.hpp"
#include "exec/int8/packed_conv.hpp"
#include "exec/int8/packed_depthwise.hpp"
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

rt::Requant requant_of(const QNode& n, const std::string& prefix) {
  const auto& m = n.words(prefix + "_multiplier");
  const auto& s = n.words(prefix + "_shift");
  return {m.data(), s.data(), i32(std::int64_t(m.size()))};
}

// numpy broadcasting of two stored shapes, right-aligned onto 4 axes.
rt::BroadcastShape broadcast_of(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b,
                                const std::vector<std::int32_t>& out, const std::string& where) {
  if (out.size() > 4) fail(where, "int8 elementwise ops support up to 4 dimensions");
  rt::BroadcastShape s{};
  auto strides = [&](const std::vector<std::int32_t>& shape, std::int32_t* dst) {
    std::int32_t stride = 1;
    for (int i = 3; i >= 0; --i) {
      int src = int(shape.size()) - (4 - i);
      std::int32_t dim = src >= 0 ? shape[std::size_t(src)] : 1;
      dst[i] = dim == 1 ? 0 : stride;
      stride *= dim;
    }
  };
  for (int i = 0; i < 4; ++i) {
    int src = int(out.size()) - (4 - i);
    s.shape[i] = src >= 0 ? out[std::size_t(src)] : 1;
  }
  strides(a, s.a_strides);
  strides(b, s.b_strides);
  return s;
}

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
      rt::ConvParams p{g("batch"),      g("in_h"),         g("in_w"),
                       g("in_c"),       g("out_h"),        g("out_w"),
                       g("out_c"),      g("kernel_h"),     g("kernel_w"),
                       g("stride_h"),   g("stride_w"),     g("dilation_h"),
                       g("dilation_w"), g("pad_top"),      g("pad_left"),
                       g("groups"),     g("input_offset"), g("output_offset"),
                       g("act_min"),    g("act_max"),      requant_of(n, "requant")};
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
      rt::DenseParams p{g("rows"),          g("in_features"), g("out_features"), g("input_offset"),
                        g("output_offset"), g("act_min"),     g("act_max"),      requant_of(n, "requant")};
      // Host fast path, bit-identical to rt::dense_s8 (tests/test_exec_int8_packed_conv.cpp).
      auto dense = std::make_shared<const int8::PackedConv>(
          int8::PackedConv::dense(p, n.bytes("weights").data(), n.words("bias").data()));
      patch_elements = std::max(patch_elements, dense->scratch_elements());
      return
          [=](Workspace& ws) { dense->run(ws.ptr[std::size_t(ins[0])], ws.ptr[std::size_t(out)], ws.patches.data()); };
    }
    case QKernel::MaxPool:
    case QKernel::AvgPool: {
      rt::PoolParams pool{g("batch"),      g("in_h"),      g("in_w"),     g("channels"), g("out_h"),   g("out_w"),
                          g("kernel_h"),   g("kernel_w"),  g("stride_h"), g("stride_w"), g("pad_top"), g("pad_left"),
                          g("pad_bottom"), g("pad_right"), g("act_min"),  g("act_max")};
      if (n.kernel == QKernel::MaxPool)
        return [=](Workspace& ws) { rt::max_pool2d_s8(pool, ws.ptr[std::size_t(ins[0])], ws.ptr[std::size_t(out)]); };
      const bool truncate = n.get("truncate", 0) != 0;
      rt::AvgPoolParams p{pool,
                          g("count_include_pad"),
                          g("input_offset"),
                          g("output_offset"),
                          truncate ? nullptr : n.words("count_multiplier").data(),
                          truncate ? nullptr : n.words("count_shift").data(),
                          i32(truncate)};
      return [=](Workspace& ws) { rt::avg_pool2d_s8(p, ws.ptr[std::size_t(ins[0])], ws.ptr[std::size_t(out)]); };
    }
    case QKernel::Add:
    case QKernel::Mul: {
      rt::BroadcastShape shape = broadcast_of(n.words("a_shape"), n.words("b_shape"), n.words("out_shape"), n.name);
      // Operands: activations in input order, constants from the node.
      const bool a_const = n.get("a_const") != 0, b_const = n.get("b_const") != 0;
      const std::int8_t* a_data = a_const ? n.bytes("a_const").data() : nullptr;
      const std::int8_t* b_data = b_const ? n.bytes("b_const").data() : nullptr;
      const int a_in = a_const ? -1 : ins[0];
      const int b_in = b_const ? -1 : ins[a_const ? 0 : 1];
      auto operands = [=](Workspace& ws) {
        return std::pair{a_in >= 0 ? ws.ptr[std::size_t(a_in)] : a_data,
                         b_in >= 0 ? ws.ptr[std::size_t(b_in)] : b_data};
      };
      if (n.kernel == QKernel::Add) {
        rt::AddParams p{g("a_offset"),          g("b_offset"),     g("output_offset"), g("left_shift"),
                        g("a_multiplier"),      g("a_shift"),      g("b_multiplier"),  g("b_shift"),
                        g("output_multiplier"), g("output_shift"), g("act_min"),       g("act_max")};
        // Host fast path: a table of rt::add_s8's results for every operand pair.
        auto table = std::make_shared<const int8::BinaryTable>(int8::BinaryTable::add(p));
        return [=](Workspace& ws) {
          auto [a, b] = operands(ws);
          table->run(shape, a, b, ws.ptr[std::size_t(out)]);
        };
      }
      rt::MulParams p{g("a_offset"),     g("b_offset"), g("output_offset"), g("output_multiplier"),
                      g("output_shift"), g("act_min"),  g("act_max")};
      auto table = std::make_shared<const int8::BinaryTable>(int8::BinaryTable::mul(p));
      return [=](Workspace& ws) {
        auto [a, b] = operands(ws);
        table->run(shape, a, b, ws.ptr[std::size_t(out)]);
      };
    }
    case QKernel::Concat: {
      rt::ConcatParams p{g("inputs"),
                         g("outer"),
                         n.words("input_row").data(),
                         n.words("input_offset").data(),
                         n.words("multiplier").data(),
                         n.words("shift").data(),
                         g("output_offset")};
      return [=](Workspace& ws) {
        // The worker's own pointer list, reused for every sample: no allocation per call.
        ws.parts.resize(ins.size());
        for (std::size_t i = 0; i < ins.size(); ++i) ws.parts[i] = ws.ptr[std::size_t(ins[i])];
        rt::concat_s8(p, ws.parts.data(), ws.ptr[std::size_t(out)]);
      };
    }
    case QKernel::Pad: {
      rt::PadParams p{g("batch"),      g("in_h"),      g("in_w"),
                      g("channels"),   g("pad_top"),   g("pad_left"),
                      g("pad_bottom"), g("pad_right"), std::int8_t(n.get("value"))};
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
      rt::PreluParams p{g("outer"),
                        g("channels"),
                        g("input_offset"),
                        g("output_offset"),
                        g("positive_multiplier"),
                        g("positive_shift"),
                        requant_of(n, "negative"),
                        g("act_min"),
                        g("act_max")};
      return [=](Workspace& ws) { rt::prelu_s8(p, ws.ptr[std::size_t(ins[0])], ws.ptr[std::size_t(out)]); };
    }
    case QKernel::Reshape: return [=](Workspace& ws) { ws.ptr[std::size_t(out)] = ws.ptr[std::size_t(ins[0])]; };
    case QKernel::LayerNorm: {
      rt::LayerNormParams p{
          g("rows"),          g("depth"),   n.get("epsilon_q"), requant_of(n, "gamma"), n.words("beta_q").data(),
          g("output_offset"), g("act_min"), g("act_max")};
      return [=](Workspace& ws) { rt::layer_norm_s8(p, ws.ptr[std::size_t(ins[0])], ws.ptr[std::size_t(out)]); };
    }
    case QKernel::Resize: {
      rt::ResizeParams p{g("batch"),
                         g("in_h"),
                         g("in_w"),
                         g("channels"),
                         g("out_h"),
                         g("out_w"),
                         n.words("source_y").data(),
                         n.words("source_x").data()};
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
