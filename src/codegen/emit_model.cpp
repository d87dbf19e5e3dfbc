// Writes <name>.cpp: everything the MCU needs, computed here on the host. Parameters are
// constexpr aggregates and weights const arrays, so they land in flash and nothing runs
// before main; the call sequence is straight-line code over fixed arena offsets.
#include <fmt/format.h>

#include <map>

#include "codegen/generated_sources.hpp"
#include "exec/kernel_params.hpp"
#include "util/error.hpp"

namespace tinyq {

namespace {

// Symbol names of one node's arrays, looked up by the data pointer a parameter struct holds.
class ArrayNames {
 public:
  void add(const void* data, std::string symbol) {
    if (data != nullptr) names_[data] = std::move(symbol);
  }
  std::string operator()(const void* data) const {
    if (data == nullptr) return "nullptr";
    auto it = names_.find(data);
    if (it == names_.end()) fail("generate", "internal error: a kernel parameter points to an unnamed array");
    return it->second;
  }

 private:
  std::map<const void*, std::string> names_;
};

template <typename T>
void emit_array(std::string& out, const char* type, const std::string& symbol, const std::vector<T>& values) {
  fmt::format_to(std::back_inserter(out), "alignas(16) const {} {}[{}] = {{", type, symbol, values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i % 24 == 0) out += "\n   ";
    fmt::format_to(std::back_inserter(out), " {},", static_cast<long long>(values[i]));
  }
  out += "\n};\n";
}

std::string requant(const rt::Requant& r, const ArrayNames& names) {
  return fmt::format("{{{}, {}, {}}}", names(r.multiplier), names(r.shift), r.count);
}

std::string params_text(const rt::ConvParams& p, const ArrayNames& names) {
  return fmt::format("{{{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}}}", p.batch,
                     p.in_h, p.in_w, p.in_c, p.out_h, p.out_w, p.out_c, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w,
                     p.dilation_h, p.dilation_w, p.pad_top, p.pad_left, p.groups, p.input_offset, p.output_offset,
                     p.act_min, p.act_max, requant(p.requant, names));
}
std::string params_text(const rt::DenseParams& p, const ArrayNames& names) {
  return fmt::format("{{{}, {}, {}, {}, {}, {}, {}, {}}}", p.rows, p.in_features, p.out_features, p.input_offset,
                     p.output_offset, p.act_min, p.act_max, requant(p.requant, names));
}
std::string params_text(const rt::PoolParams& p) {
  return fmt::format("{{{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}}}", p.batch, p.in_h, p.in_w,
                     p.channels, p.out_h, p.out_w, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_top,
                     p.pad_left, p.pad_bottom, p.pad_right, p.act_min, p.act_max);
}
std::string params_text(const rt::AvgPoolParams& p, const ArrayNames& names) {
  return fmt::format("{{{}, {}, {}, {}, {}, {}, {}}}", params_text(p.pool), p.count_include_pad, p.input_offset,
                     p.output_offset, names(p.count_multiplier), names(p.count_shift), p.truncate);
}
std::string params_text(const rt::AddParams& p) {
  return fmt::format("{{{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}}}", p.a_offset, p.b_offset, p.output_offset,
                     p.left_shift, p.a_multiplier, p.a_shift, p.b_multiplier, p.b_shift, p.output_multiplier,
                     p.output_shift, p.act_min, p.act_max);
}
std::string params_text(const rt::MulParams& p) {
  return fmt::format("{{{}, {}, {}, {}, {}, {}, {}}}", p.a_offset, p.b_offset, p.output_offset, p.output_multiplier,
                     p.output_shift, p.act_min, p.act_max);
}
std::string params_text(const rt::BroadcastShape& s) {
  auto four = [](const std::int32_t* v) { return fmt::format("{{{}, {}, {}, {}}}", v[0], v[1], v[2], v[3]); };
  return fmt::format("{{{}, {}, {}}}", four(s.shape), four(s.a_strides), four(s.b_strides));
}
std::string params_text(const rt::ConcatParams& p, const ArrayNames& names) {
  return fmt::format("{{{}, {}, {}, {}, {}, {}, {}}}", p.inputs, p.outer, names(p.input_row), names(p.input_offset),
                     names(p.multiplier), names(p.shift), p.output_offset);
}
std::string params_text(const rt::PadParams& p) {
  return fmt::format("{{{}, {}, {}, {}, {}, {}, {}, {}, {}}}", p.batch, p.in_h, p.in_w, p.channels, p.pad_top,
                     p.pad_left, p.pad_bottom, p.pad_right, int(p.value));
}
std::string params_text(const rt::ResizeParams& p, const ArrayNames& names) {
  return fmt::format("{{{}, {}, {}, {}, {}, {}, {}, {}}}", p.batch, p.in_h, p.in_w, p.channels, p.out_h, p.out_w,
                     names(p.source_y), names(p.source_x));
}
std::string params_text(const rt::PreluParams& p, const ArrayNames& names) {
  return fmt::format("{{{}, {}, {}, {}, {}, {}, {}, {}, {}}}", p.outer, p.channels, p.input_offset, p.output_offset,
                     p.positive_multiplier, p.positive_shift, requant(p.negative, names), p.act_min, p.act_max);
}
std::string params_text(const rt::LayerNormParams& p, const ArrayNames& names) {
  return fmt::format("{{{}, {}, {}LL, {}, {}, {}, {}, {}}}", p.rows, p.depth, static_cast<long long>(p.epsilon_q),
                     requant(p.gamma, names), names(p.beta_q), p.output_offset, p.act_min, p.act_max);
}

class ModelWriter {
 public:
  ModelWriter(const QGraph& g, const std::string& name, const MemoryLayout& m) : g_(g), name_(name), m_(m) {}

  std::string run(std::size_t* const_data_bytes) {
    std::string data, calls;
    for (int node : m_.order) emit_node(std::size_t(node), data, calls);
    *const_data_bytes = const_bytes_;
    std::string out;
    fmt::format_to(std::back_inserter(out),
                   "// Generated by tinyq from a quantized model. Do not edit: regenerate instead.\n"
                   "// Arena: {} bytes (lower bound {} bytes; TFLM's greedy planner would need {}).\n"
                   "#include \"{}.h\"\n\n#include \"tinyq/kernels.hpp\"\n\n"
                   "// Profiling builds define TINYQ_LAYER_HOOK(index) to run after every layer (tinyq bench\n"
                   "// counts instructions between the calls); otherwise it is nothing.\n"
                   "#ifndef TINYQ_LAYER_HOOK\n#define TINYQ_LAYER_HOOK(index)\n#endif\n\nnamespace {{\n\n"
                   "namespace rt = tinyq::rt;\n\n"
                   "// Activations and scratch share one static arena; offsets were planned on the host.\n"
                   "alignas(16) int8_t g_arena[{}];\n\n",
                   m_.arena_bytes(), m_.lower_bound, m_.tflm_greedy_bytes, name_,
                   std::max<std::size_t>(m_.arena_bytes(), 16));
    out += data;
    out += "}  // namespace\n\n";
    fmt::format_to(std::back_inserter(out), "extern \"C\" void {}_invoke(void) {{\n{}}}\n", name_, calls);
    return out;
  }

 private:
  const QGraph& g_;
  const std::string& name_;
  const MemoryLayout& m_;
  std::size_t const_bytes_ = 0;

  std::string at(int value) const { return fmt::format("g_arena + {}", m_.value_offset(value)); }

  void emit_node(std::size_t index, std::string& data, std::string& calls) {
    const QNode& n = g_.nodes[index];
    const std::string id = fmt::format("n{}", index);
    fmt::format_to(std::back_inserter(data), "// {} {}: {} ({}){}\n", id, comment_text(n.name), n.op,
                   qkernel_name(n.kernel), m_.in_place[index] ? ", in place" : "");
    ArrayNames names;
    for (const auto& [key, values] : n.i8) {
      if (values.empty()) continue;
      emit_array(data, "int8_t", id + "_" + key, values);
      names.add(values.data(), id + "_" + key);
      const_bytes_ += values.size();
    }
    for (const auto& [key, values] : n.i32) {
      if (values.empty() || key.ends_with("_shape")) continue;  // shapes are folded into the parameters
      emit_array(data, "int32_t", id + "_" + key, values);
      names.add(values.data(), id + "_" + key);
      const_bytes_ += values.size() * 4;
    }
    const std::string in = n.inputs.empty() ? "" : at(n.inputs[0]), out = at(n.output);
    auto params = [&](const char* type, const std::string& text) {
      fmt::format_to(std::back_inserter(data), "constexpr rt::{} {}_params = {};\n", type, id, text);
    };
    auto call = [&](const std::string& text) {
      fmt::format_to(std::back_inserter(calls), "  {};  // {}\n  TINYQ_LAYER_HOOK({});\n", text, comment_text(n.name),
                     index);
    };
    switch (n.kernel) {
      case QKernel::Conv: {
        params("ConvParams", params_text(conv_params(n), names));
        const std::size_t scratch_offset = m_.plan.offsets[std::size_t(m_.scratch_buffer[index])];
        fmt::format_to(std::back_inserter(data),
                       "static_assert(rt::conv2d_s8_scratch_bytes({0}_params) <= {1}, \"{0}: scratch planned too "
                       "small for this build's kernel path\");\n",
                       id, m_.scratch_bytes[index]);
        call(
            fmt::format("rt::conv2d_s8({0}_params, {1}, {0}_weights, {0}_bias, {2}, reinterpret_cast<int16_t*>(g_arena "
                        "+ {3}))",
                        id, in, out, scratch_offset));
        break;
      }
      case QKernel::Depthwise:
        params("ConvParams", params_text(conv_params(n), names));
        call(fmt::format("rt::depthwise_conv2d_s8({0}_params, {1}, {0}_weights, {0}_bias, {2})", id, in, out));
        break;
      case QKernel::Dense:
        params("DenseParams", params_text(dense_params(n), names));
        call(fmt::format("rt::dense_s8({0}_params, {1}, {0}_weights, {0}_bias, {2})", id, in, out));
        break;
      case QKernel::MaxPool:
        params("PoolParams", params_text(pool_params(n)));
        call(fmt::format("rt::max_pool2d_s8({}_params, {}, {})", id, in, out));
        break;
      case QKernel::AvgPool:
        params("AvgPoolParams", params_text(avg_pool_params(n), names));
        call(fmt::format("rt::avg_pool2d_s8({}_params, {}, {})", id, in, out));
        break;
      case QKernel::Add:
      case QKernel::Mul: {
        const BinaryOperands ops = binary_operands(n);
        fmt::format_to(std::back_inserter(data), "constexpr rt::BroadcastShape {}_shape = {};\n", id,
                       params_text(broadcast_params(n)));
        const std::string a = ops.a_input >= 0 ? at(ops.a_input) : names(ops.a_const);
        const std::string b = ops.b_input >= 0 ? at(ops.b_input) : names(ops.b_const);
        if (n.kernel == QKernel::Add) {
          params("AddParams", params_text(add_params(n)));
          call(fmt::format("rt::add_s8({0}_params, {0}_shape, {1}, {2}, {3})", id, a, b, out));
        } else {
          params("MulParams", params_text(mul_params(n)));
          call(fmt::format("rt::mul_s8({0}_params, {0}_shape, {1}, {2}, {3})", id, a, b, out));
        }
        break;
      }
      case QKernel::Concat: {
        params("ConcatParams", params_text(concat_params(n), names));
        std::string parts;
        for (int v : n.inputs) parts += fmt::format("{}{}", parts.empty() ? "" : ", ", at(v));
        fmt::format_to(std::back_inserter(data), "const int8_t* const {}_inputs[] = {{{}}};\n", id, parts);
        call(fmt::format("rt::concat_s8({0}_params, {0}_inputs, {1})", id, out));
        break;
      }
      case QKernel::Pad:
        params("PadParams", params_text(pad_params(n)));
        call(fmt::format("rt::pad_s8({}_params, {}, {})", id, in, out));
        break;
      case QKernel::Resize:
        params("ResizeParams", params_text(resize_params(n), names));
        call(fmt::format("rt::resize_nearest_s8({}_params, {}, {})", id, in, out));
        break;
      case QKernel::Lookup:
        call(fmt::format("rt::lookup_s8({}_table, {}, {}, {})", id, in, out,
                         element_count(g_.values[std::size_t(n.output)].shape)));
        break;
      case QKernel::Softmax:
        call(fmt::format("rt::softmax_s8({}_exp_table, {}, {}, {}, {})", id, n.get("rows"), n.get("depth"), in, out));
        break;
      case QKernel::Prelu:
        params("PreluParams", params_text(prelu_params(n), names));
        call(fmt::format("rt::prelu_s8({}_params, {}, {})", id, in, out));
        break;
      case QKernel::LayerNorm:
        params("LayerNormParams", params_text(layer_norm_params(n), names));
        call(fmt::format("rt::layer_norm_s8({}_params, {}, {})", id, in, out));
        break;
      case QKernel::Reshape:
        fmt::format_to(std::back_inserter(calls), "  // {}: reshape, a view of the same bytes\n", comment_text(n.name));
        break;
    }
    data += "\n";
  }
};

}  // namespace

std::string emit_model_cpp(const QGraph& graph, const std::string& name, const MemoryLayout& memory,
                           std::size_t* const_data_bytes) {
  return ModelWriter(graph, name, memory).run(const_data_bytes);
}

}  // namespace tinyq
