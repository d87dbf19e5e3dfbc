#include "exec/int8_executor.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "exec/int8/binary_table.hpp"
#include "exec/int8/packed_conv.hpp"
#include "exec/int8/packed_depthwise.hpp"
#include "exec/parallel.hpp"
#include "qmodel/kernel_params.hpp"
#include "qmodel/samples.hpp"
#include "tinyq/kernels.hpp"
#include "util/bytes.hpp"
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
  template <typename Load, typename Store>
  void run_samples(std::int64_t samples, Load load, Store store, const Observer& observer) const;
  Workspace make_workspace() const {
    Workspace ws;
    ws.storage.resize(graph.values.size());
    ws.ptr.assign(graph.values.size(), nullptr);
    for (std::size_t v = 0; v < graph.values.size(); ++v)
      if (owns_storage[v]) {
        ws.storage[v].resize(std::size_t(element_count(graph.values[v].shape) * element_bytes(graph.values[v].quant)));
        ws.ptr[v] = ws.storage[v].data();
      }
    ws.patches.resize(patch_elements);
    ws.sums.resize(sum_elements);
    return ws;
  }
};

namespace {

// A kernel of the form kernel(params, input, output).
template <typename Params, typename Kernel>
Step one_input_step(const QNode& n, const Params& p, Kernel kernel) {
  const std::size_t in = std::size_t(n.inputs.at(0)), out = std::size_t(n.output);
  return [=](Workspace& ws) { kernel(p, ws.ptr[in], ws.ptr[out]); };
}

// The same for an int16 kernel (max_pool2d_s16, avg_pool2d_s16): int16 in and out.
template <typename Params, typename Kernel>
Step one_int16_step(const QNode& n, const Params& p, Kernel kernel) {
  const std::size_t in = std::size_t(n.inputs.at(0)), out = std::size_t(n.output);
  return [=](Workspace& ws) {
    kernel(p, reinterpret_cast<const std::int16_t*>(ws.ptr[in]), reinterpret_cast<std::int16_t*>(ws.ptr[out]));
  };
}

// Conv, depthwise and dense through the host fast paths, bit-identical to rt::conv2d_s8,
// rt::depthwise_conv2d_s8 and rt::dense_s8 (tests/test_exec_int8_*). Raises the scratch the
// workspaces must hold.
Step mac_step(const QNode& n, std::size_t& patch_elements, std::size_t& sum_elements) {
  const std::size_t in = std::size_t(n.inputs.at(0)), out = std::size_t(n.output);
  const std::int8_t* w = n.bytes("weights").data();
  const std::int32_t* b = n.words("bias").data();
  if (n.kernel == QKernel::Depthwise) {
    auto conv = std::make_shared<const int8::PackedDepthwise>(conv_params(n), w, b);
    sum_elements = std::max(sum_elements, conv->scratch_elements());
    return [=](Workspace& ws) { conv->run(ws.ptr[in], ws.ptr[out], ws.sums.data()); };
  }
  auto conv = std::make_shared<const int8::PackedConv>(n.kernel == QKernel::Dense
                                                           ? int8::PackedConv::dense(dense_params(n), w, b)
                                                           : int8::PackedConv(conv_params(n), w, b));
  patch_elements = std::max(patch_elements, conv->scratch_elements());
  return [=](Workspace& ws) { conv->run(ws.ptr[in], ws.ptr[out], ws.patches.data()); };
}

// A 16x8 conv, depthwise or dense (an int16 side, quant/widen.hpp): the runtime's portable
// wide kernel itself, no host fast path.
Step wide_step(const QNode& n, int input_bits, int output_bits) {
  const std::size_t in = std::size_t(n.inputs.at(0)), out = std::size_t(n.output);
  const std::int8_t* w = n.bytes("weights").data();
  const std::vector<std::int32_t>& bias = n.words("bias");
  const std::int32_t* b = bias.empty() ? nullptr : bias.data();
  if (n.kernel == QKernel::Dense) {
    const rt::DenseParams p = dense_params(n);
    return [=](Workspace& ws) { rt::dense_wide(p, ws.ptr[in], input_bits, w, b, ws.ptr[out], output_bits); };
  }
  const rt::ConvParams p = conv_params(n);
  const auto kernel = n.kernel == QKernel::Depthwise ? rt::depthwise_conv2d_wide : rt::conv2d_wide;
  return [=](Workspace& ws) { kernel(p, ws.ptr[in], input_bits, w, b, ws.ptr[out], output_bits); };
}

// ConvTranspose runs the runtime kernel itself (no host fast path); its int32 scratch is the
// workspace's `sums`.
Step conv_transpose_step(const QNode& n, std::size_t& sum_elements) {
  const std::size_t in = std::size_t(n.inputs.at(0)), out = std::size_t(n.output);
  const std::int8_t* w = n.bytes("weights").data();
  const std::vector<std::int32_t>& bias = n.words("bias");
  const std::int32_t* b = bias.empty() ? nullptr : bias.data();
  const rt::ConvParams p = conv_params(n);
  sum_elements = std::max(sum_elements, rt::conv_transpose2d_s8_scratch_bytes(p) / sizeof(std::int32_t));
  return [=](Workspace& ws) { rt::conv_transpose2d_s8(p, ws.ptr[in], w, b, ws.ptr[out], ws.sums.data()); };
}

// Recurrent layers run the runtime kernel itself; its int32 state and gate scratch is the
// workspace's `sums`.
Step recurrent_step(const QNode& n, std::size_t& sum_elements) {
  const std::size_t in = std::size_t(n.inputs.at(0)), out = std::size_t(n.output);
  const std::int8_t* w = n.bytes("weights").data();
  const std::int8_t* r = n.bytes("recurrent_weights").data();
  const rt::RecurrentParams p = recurrent_params(n);
  sum_elements = std::max(sum_elements, rt::recurrent_s8_scratch_bytes(p) / sizeof(std::int32_t));
  return [=](Workspace& ws) { rt::recurrent_s8(p, ws.ptr[in], w, r, ws.ptr[out], ws.sums.data()); };
}

// Add / Mul through a table of the runtime kernel's results for every operand pair; operands
// are activations (by input) or constants the node holds.
Step binary_step(const QNode& n) {
  const rt::BroadcastShape shape = broadcast_params(n);
  const BinaryOperands ops = binary_operands(n);
  const std::size_t out = std::size_t(n.output);
  auto table = std::make_shared<const int8::BinaryTable>(
      n.kernel == QKernel::Add ? int8::BinaryTable::add(add_params(n)) : int8::BinaryTable::mul(mul_params(n)));
  return [=](Workspace& ws) {
    const std::int8_t* a = ops.a_input >= 0 ? ws.ptr[std::size_t(ops.a_input)] : ops.a_const;
    const std::int8_t* b = ops.b_input >= 0 ? ws.ptr[std::size_t(ops.b_input)] : ops.b_const;
    table->run(shape, a, b, ws.ptr[out]);
  };
}

// An add or mul with int16 tensors (add_wide, mul_wide): operands and output at their own
// widths.
Step wide_binary_step(const QGraph& graph, const QNode& n) {
  const rt::BroadcastShape shape = broadcast_params(n);
  const bool add = n.kernel == QKernel::Add;
  const rt::AddParams add_p = add ? add_params(n) : rt::AddParams{};
  const rt::MulParams mul_p = add ? rt::MulParams{} : mul_params(n);
  const BinaryOperands ops = binary_operands(n);
  const auto bits = [&](int value) { return value >= 0 ? graph.values[std::size_t(value)].quant.bits : 8; };
  const int a_bits = bits(ops.a_input), b_bits = bits(ops.b_input), out_bits = bits(n.output);
  const std::size_t out = std::size_t(n.output);
  return [=](Workspace& ws) {
    const void* a = ops.a_input >= 0 ? ws.ptr[std::size_t(ops.a_input)] : ops.a_const;
    const void* b = ops.b_input >= 0 ? ws.ptr[std::size_t(ops.b_input)] : ops.b_const;
    if (add) {
      rt::add_wide(add_p, shape, a, a_bits, b, b_bits, ws.ptr[out], out_bits);
    } else {
      rt::mul_wide(mul_p, shape, a, a_bits, b, b_bits, ws.ptr[out], out_bits);
    }
  };
}

}  // namespace

Step Int8Executor::Impl::make_step(const QNode& n) {
  const int out = n.output;
  const std::vector<int> ins = n.inputs;
  switch (n.kernel) {
    case QKernel::Conv:
    case QKernel::Depthwise:
    case QKernel::Dense: {
      const int input_bits = graph.values[std::size_t(ins.at(0))].quant.bits;
      const int output_bits = graph.values[std::size_t(out)].quant.bits;
      if (input_bits == 16 || output_bits == 16) return wide_step(n, input_bits, output_bits);
      return mac_step(n, patch_elements, sum_elements);
    }
    case QKernel::Requantize: {
      const rt::RequantizeParams p = requantize_params(n);
      return [=](Workspace& ws) { rt::requantize_tensor(p, ws.ptr[std::size_t(ins.at(0))], ws.ptr[std::size_t(out)]); };
    }
    case QKernel::ConvTranspose: return conv_transpose_step(n, sum_elements);
    case QKernel::Recurrent: return recurrent_step(n, sum_elements);
    case QKernel::Add:
    case QKernel::Mul:
      if (has_int16_tensor(graph, n)) return wide_binary_step(graph, n);
      return binary_step(n);
    case QKernel::MaxPool:
      if (graph.values[std::size_t(out)].quant.bits == 16) return one_int16_step(n, pool_params(n), rt::max_pool2d_s16);
      return one_input_step(n, pool_params(n), rt::max_pool2d_s8);
    case QKernel::AvgPool:
      if (graph.values[std::size_t(out)].quant.bits == 16)
        return one_int16_step(n, avg_pool_params(n), rt::avg_pool2d_s16);
      return one_input_step(n, avg_pool_params(n), rt::avg_pool2d_s8);
    case QKernel::Pad: return one_input_step(n, pad_params(n), rt::pad_s8);
    case QKernel::Prelu: return one_input_step(n, prelu_params(n), rt::prelu_s8);
    case QKernel::LayerNorm: return one_input_step(n, layer_norm_params(n), rt::layer_norm_s8);
    case QKernel::Resize: return one_input_step(n, resize_params(n), rt::resize_nearest_s8);
    case QKernel::ResizeBilinear: return one_input_step(n, resize_bilinear_params(n), rt::resize_bilinear_s8);
    case QKernel::MatMul: {
      // The runtime kernel itself: no host fast path yet (attention matmuls are small).
      const rt::MatMulParams p = matmul_params(n);
      return [=](Workspace& ws) {
        rt::matmul_s8(p, ws.ptr[std::size_t(ins.at(0))], ws.ptr[std::size_t(ins.at(1))], ws.ptr[std::size_t(out)]);
      };
    }
    case QKernel::StridedCopy: return one_input_step(n, strided_copy_params(n), rt::strided_copy_s8);
    case QKernel::Concat: {
      const rt::ConcatParams p = concat_params(n);
      // concat_wide where a tensor is int16: each at its own width.
      const bool wide = has_int16_tensor(graph, n);
      std::vector<std::int32_t> bits;
      for (int v : n.inputs) bits.push_back(graph.values[std::size_t(v)].quant.bits);
      const std::int32_t out_bits = graph.values[std::size_t(out)].quant.bits;
      return [=](Workspace& ws) {
        // The worker's own pointer list, reused for every sample: no allocation per call.
        ws.parts.resize(ins.size());
        for (std::size_t i = 0; i < ins.size(); ++i) ws.parts[i] = ws.ptr[std::size_t(ins[i])];
        if (wide) {
          rt::concat_wide(p, reinterpret_cast<const void* const*>(ws.parts.data()), bits.data(),
                          ws.ptr[std::size_t(out)], out_bits);
        } else {
          rt::concat_s8(p, ws.parts.data(), ws.ptr[std::size_t(out)]);
        }
      };
    }
    case QKernel::Lookup: {
      if (graph.values[std::size_t(out)].quant.bits == 16) {  // lookup_s16
        const std::vector<std::int32_t>& words = n.words("table16");
        auto table = std::make_shared<std::vector<std::int16_t>>(words.begin(), words.end());
        const std::int32_t count = i32(element_count(graph.values[std::size_t(out)].shape));
        return [=](Workspace& ws) {
          rt::lookup_s16(table->data(), reinterpret_cast<const std::int16_t*>(ws.ptr[std::size_t(ins[0])]),
                         reinterpret_cast<std::int16_t*>(ws.ptr[std::size_t(out)]), count);
        };
      }
      const std::int8_t* table = n.bytes("table").data();
      const std::int32_t count = i32(element_count(graph.values[std::size_t(out)].shape));
      return [=](Workspace& ws) { rt::lookup_s8(table, ws.ptr[std::size_t(ins[0])], ws.ptr[std::size_t(out)], count); };
    }
    case QKernel::Softmax: {
      const std::int32_t* table = n.words("exp_table").data();
      const std::int32_t rows = i32(n.get("rows")), depth = i32(n.get("depth"));
      // tinyq's table softmax, or TFLite's fixed-point recipe for the models it quantized.
      const auto kernel =
          n.get("rounding", rt::kRoundSingle) == rt::kRoundTflite ? rt::softmax_s8_tflite : rt::softmax_s8;
      return [=](Workspace& ws) { kernel(table, rows, depth, ws.ptr[std::size_t(ins[0])], ws.ptr[std::size_t(out)]); };
    }
    case QKernel::Reshape: return [=](Workspace& ws) { ws.ptr[std::size_t(out)] = ws.ptr[std::size_t(ins[0])]; };
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
// The source shape of `v`, with an int16 tensor's last dimension counting its bytes (run_int8).
Shape byte_shape(const QValue& v) {
  Shape s = v.source_shape();
  if (v.quant.bits == 16) s.back() *= 2;
  return s;
}

std::int64_t samples_of(const QGraph& g, const std::vector<Tensor>& inputs) {
  if (inputs.size() != g.inputs.size())
    fail("", "the model has {} inputs, {} were given", g.inputs.size(), inputs.size());
  std::int64_t samples = -1;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const QValue& v = g.values[std::size_t(g.inputs[i])];
    Shape expected = byte_shape(v);
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

}  // namespace

namespace {

// Output tensors in the source layout, `samples` of each model output (run_int8: an int16
// output as its bytes).
std::vector<Tensor> output_tensors(const QGraph& g, std::int64_t samples, DType dtype) {
  std::vector<Tensor> outputs;
  for (int o : g.outputs) {
    Shape s = dtype == DType::i8 ? byte_shape(g.values[std::size_t(o)]) : g.values[std::size_t(o)].source_shape();
    s[0] *= samples;
    outputs.emplace_back(dtype, s);
  }
  return outputs;
}

}  // namespace

// The loop both entry points share. Per sample: every input, given by `load(i, s, bytes)` as
// int8 in the source layout, moves into the stored layout; every step runs (and the observer
// sees its output); every output moves back to the source layout and goes to
// `store(o, s, bytes)`.
template <typename Load, typename Store>
void Int8Executor::Impl::run_samples(std::int64_t samples, Load load, Store store, const Observer& observer) const {
  const QGraph& g = graph;
  for_each_sample(
      samples, threads,
      [&](int) {
        auto ws = make_workspace();
        return std::pair{std::move(ws), std::vector<std::int8_t>()};
      },
      [&](int thread, auto& state, std::int64_t s) {
        auto& [ws, bytes] = state;
        for (std::size_t i = 0; i < g.inputs.size(); ++i) {
          const QValue& v = g.values[std::size_t(g.inputs[i])];
          bytes.resize(std::size_t(element_count(v.shape) * element_bytes(v.quant)));
          load(i, s, bytes.data());
          sample_to_stored(v, bytes.data(), ws.ptr[std::size_t(g.inputs[i])]);
        }
        for (std::size_t k = 0; k < steps.size(); ++k) {
          steps[k](ws);
          if (observer) {
            const QValue& out = g.values[std::size_t(g.nodes[k].output)];
            observer(thread, s, int(k),
                     std::span<const std::int8_t>(ws.ptr[std::size_t(g.nodes[k].output)],
                                                  std::size_t(element_count(out.shape) * element_bytes(out.quant))));
          }
        }
        for (std::size_t o = 0; o < g.outputs.size(); ++o) {
          const QValue& v = g.values[std::size_t(g.outputs[o])];
          bytes.resize(std::size_t(element_count(v.shape) * element_bytes(v.quant)));
          sample_to_source(v, ws.ptr[std::size_t(g.outputs[o])], bytes.data());
          store(o, s, bytes.data());
        }
      });
}

std::vector<Tensor> Int8Executor::run_int8(const std::vector<Tensor>& inputs) const {
  const QGraph& g = impl_->graph;
  const std::int64_t samples = samples_of(g, inputs);
  std::vector<Tensor> outputs = output_tensors(g, samples, DType::i8);
  auto size = [&](int value) {
    const QValue& v = g.values[std::size_t(value)];
    return std::size_t(element_count(v.shape) * element_bytes(v.quant));
  };
  impl_->run_samples(
      samples,
      [&](std::size_t i, std::int64_t s, std::int8_t* bytes) {
        const std::size_t n = size(g.inputs[i]);
        copy_bytes(bytes, inputs[i].data<std::int8_t>().data() + std::size_t(s) * n, n);
      },
      [&](std::size_t o, std::int64_t s, const std::int8_t* bytes) {
        const std::size_t n = size(g.outputs[o]);
        copy_bytes(outputs[o].data<std::int8_t>().data() + std::size_t(s) * n, bytes, n);
      },
      nullptr);
  return outputs;
}

std::vector<Tensor> Int8Executor::run(const std::vector<Tensor>& inputs, const Observer& observer) const {
  const QGraph& g = impl_->graph;
  const std::int64_t samples = samples_of(g, inputs);
  std::vector<Tensor> outputs = output_tensors(g, samples, DType::f32);
  impl_->run_samples(
      samples,
      [&](std::size_t i, std::int64_t s, std::int8_t* bytes) {
        const QValue& v = g.values[std::size_t(g.inputs[i])];
        const std::int64_t n = element_count(v.shape);
        const float* x = inputs[i].f32().data() + s * n;
        for (std::int64_t k = 0; k < n; ++k) bytes[k] = quantize_to_int8(x[k], v.quant);
      },
      [&](std::size_t o, std::int64_t s, const std::int8_t* bytes) {
        const QValue& v = g.values[std::size_t(g.outputs[o])];
        const std::int64_t n = element_count(v.shape);
        float* y = outputs[o].f32().data() + s * n;
        for (std::int64_t k = 0; k < n; ++k)
          y[k] = v.quant.scale * float(stored_element(v.quant, bytes, std::size_t(k)) - v.quant.zero_point);
      },
      observer);
  return outputs;
}

}  // namespace tinyq
