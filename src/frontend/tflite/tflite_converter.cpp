#include "frontend/tflite/tflite_converter.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "frontend/tflite/tflite_constants.hpp"
#include "ir/shape_inference.hpp"
#include "util/error.hpp"

namespace tinyq::tflite {

const ConverterTable& converters() {
  static const ConverterTable table = [] {
    ConverterTable t;
    register_window_converters(t);
    register_elementwise_converters(t);
    register_shape_converters(t);
    register_slice_converters(t);
    register_recurrent_converters(t);
    return t;
  }();
  return table;
}

namespace {

// IR ops whose output clamp (act_min / act_max) every consumer of the IR honours; the same
// set the activation-fusion pass folds into. Other ops get an activation node.
bool can_clamp_output(Op op) {
  switch (op) {
    case Op::Conv:
    case Op::ConvTranspose:
    case Op::Dense:
    case Op::Add:
    case Op::Sub:
    case Op::Mul:
    case Op::MaxPool:
    case Op::AvgPool:
    case Op::GlobalAvgPool:
    case Op::GlobalMaxPool: return true;
    default: return false;
  }
}

bool is_quantized_integer(const TensorInfo& t) {
  return t.quant.present() &&
         (t.type == TensorType::Int8 || t.type == TensorType::UInt8 || t.type == TensorType::Int16);
}

}  // namespace

Shape static_shape(const TensorInfo& t, const std::string& where) {
  Shape shape = t.shape;
  for (std::size_t d = 0; d < t.shape_signature.size(); ++d) {
    if (t.shape_signature[d] >= 0) continue;
    if (d != 0)
      fail(where, "dimension {} of {} is dynamic; only the batch dimension may be", d, shape_string(t.shape_signature));
    shape[0] = 1;  // a dynamic batch runs one sample at a time
  }
  return shape;
}

std::string Converter::at(const OperatorInfo& op) const {
  return fmt::format("{}: operator {} ({})", model_.where, op.index, builtin_name(op.builtin_code));
}

std::string Converter::tensor_name(int index) const {
  // The file's name unchanged (the pre-quantized importer finds float values by it), even
  // when TensorFlow joined the names of every op it fused with ';'.
  const std::string& name = model_.tensors[std::size_t(index)].name;
  return name.empty() ? fmt::format("tensor_{}", index) : name;
}

const TensorInfo& Converter::input_tensor(const OperatorInfo& op, std::size_t i) const {
  if (!has_input(op, i)) fail(at(op), "missing required input {}", i);
  return model_.tensors[std::size_t(op.inputs[i])];
}

const TensorInfo& Converter::output_tensor(const OperatorInfo& op, std::size_t i) const {
  if (i >= op.outputs.size()) fail(at(op), "missing output {}", i);
  return model_.tensors[std::size_t(op.outputs[i])];
}

void Converter::expect_arity(const OperatorInfo& op, std::size_t min_inputs, std::size_t max_inputs,
                             std::size_t outputs) const {
  if (op.inputs.size() < min_inputs || op.inputs.size() > max_inputs)
    fail(at(op), "has {} inputs, expected {}", op.inputs.size(),
         min_inputs == max_inputs ? fmt::format("{}", min_inputs) : fmt::format("{} to {}", min_inputs, max_inputs));
  for (std::size_t i = 0; i < min_inputs; ++i) input_tensor(op, i);  // required ones present
  if (op.outputs.size() != outputs) fail(at(op), "has {} outputs, expected {}", op.outputs.size(), outputs);
}

ValueId Converter::input(const OperatorInfo& op, std::size_t i) {
  const TensorInfo& t = input_tensor(op, i);
  ValueId& id = values_[std::size_t(t.index)];
  if (id != kNoValue) return id;
  if (t.is_variable)
    fail(at(op),
         "input tensor {} '{}' is a variable tensor (state kept between invocations), which only "
         "UNIDIRECTIONAL_SEQUENCE_LSTM's state inputs may be",
         t.index, t.name);
  if (!t.has_data)
    fail(at(op), "input tensor {} '{}' is not computed by an earlier operator, a graph input or a constant", t.index,
         t.name);
  id = add_constant(tensor_name(t.index), float_constant(t, at(op)));
  return id;
}

const Tensor* Converter::folded_constant(const TensorInfo& t) const {
  const ValueId id = values_[std::size_t(t.index)];
  if (id == kNoValue || !graph_.value(id).is_constant()) return nullptr;
  return &*graph_.value(id).constant;
}

Tensor Converter::constant_input(const OperatorInfo& op, std::size_t i) const {
  const TensorInfo& t = input_tensor(op, i);
  if (const Tensor* folded = folded_constant(t)) return *folded;
  if (!t.has_data) fail(at(op), "input {} ('{}') must be a constant, but is computed at run time", i, t.name);
  return float_constant(t, at(op));
}

std::vector<std::int64_t> Converter::integer_input(const OperatorInfo& op, std::size_t i) const {
  const TensorInfo& t = input_tensor(op, i);
  if (t.has_data) return integer_constant(t, at(op));
  // An integer tensor passed through an identity (QUANTIZE of a shape, say) or folded.
  if (const Tensor* folded = folded_constant(t)) return folded->as_i64();
  fail(at(op), "input {} ('{}') must be a constant, but is computed at run time", i, t.name);
}

ValueId Converter::add_constant(const std::string& name, Tensor tensor) {
  return graph_.add_constant(graph_.unique_name(name), std::move(tensor));
}

std::string Converter::unique_node_name(const std::string& base) {
  std::string name = base;
  for (int i = 1; node_names_.count(name); ++i) name = fmt::format("{}_{}", base, i);
  node_names_.insert(name);
  return name;
}

ValueId Converter::add_node(const std::string& name, Op ir_op, std::vector<ValueId> inputs, Attributes attrs,
                            const std::string& where) {
  Node node;
  node.name = unique_node_name(name);
  node.op = ir_op;
  node.inputs = std::move(inputs);
  node.attrs = std::move(attrs);
  Value out;
  out.name = graph_.unique_name(name);
  try {
    out.shape = infer_output_shape(graph_, node);
    element_count(out.shape, node.name);
  } catch (const Error& e) {
    fail(where, "{}", e.what());
  }
  ValueId id = graph_.add_value(std::move(out));
  node.outputs = {id};
  graph_.nodes.push_back(std::move(node));
  return id;
}

ValueId Converter::emit_internal(const OperatorInfo& op, const std::string& suffix, Op ir_op,
                                 std::vector<ValueId> inputs, Attributes attrs) {
  const std::string base = op.outputs.empty() ? fmt::format("op_{}", op.index) : tensor_name(op.outputs[0]);
  return add_node(base + "_" + suffix, ir_op, std::move(inputs), std::move(attrs), at(op));
}

ValueId Converter::emit(const OperatorInfo& op, Op ir_op, std::vector<ValueId> inputs, Attributes attrs,
                        Activation activation, std::size_t output) {
  const std::string name = tensor_name(output_tensor(op, output).index);
  constexpr float kInf = std::numeric_limits<float>::infinity();
  float lo = -kInf, hi = kInf;
  switch (activation) {
    case Activation::None: break;
    case Activation::Relu: lo = 0.0f; break;
    case Activation::Relu6: lo = 0.0f, hi = 6.0f; break;
    case Activation::ReluN1To1: lo = -1.0f, hi = 1.0f; break;
    case Activation::Tanh: break;
    default: fail(at(op), "fused activation {} is not supported", activation_name(activation));
  }
  ValueId result;
  if (activation == Activation::None) {
    result = add_node(name, ir_op, std::move(inputs), std::move(attrs), at(op));
  } else if (activation != Activation::Tanh && can_clamp_output(ir_op)) {
    attrs.set("act_min", lo);
    attrs.set("act_max", hi);
    result = add_node(name, ir_op, std::move(inputs), std::move(attrs), at(op));
  } else {
    ValueId pre = emit_internal(op, "pre_activation", ir_op, std::move(inputs), std::move(attrs));
    Attributes clip;
    Op act_op = activation == Activation::Tanh ? Op::Tanh : Op::Clip;
    if (activation == Activation::Relu) {
      act_op = Op::Relu;
    } else if (act_op == Op::Clip) {
      clip.set("min", lo);
      clip.set("max", hi);
    }
    result = add_node(name, act_op, {pre}, std::move(clip), at(op));
  }
  bind_output(op, output, result);
  return result;
}

void Converter::alias(const OperatorInfo& op, std::size_t output, ValueId value) { bind_output(op, output, value); }

void Converter::define_constant(const OperatorInfo& op, std::size_t output, Tensor tensor) {
  ValueId id = add_constant(tensor_name(output_tensor(op, output).index), std::move(tensor));
  bind_output(op, output, id);
}

void Converter::bind_output(const OperatorInfo& op, std::size_t output, ValueId value) {
  const TensorInfo& t = output_tensor(op, output);
  if (values_[std::size_t(t.index)] != kNoValue)
    fail(at(op), "output tensor {} '{}' is already defined (by a constant, a graph input or an earlier operator)",
         t.index, t.name);
  if (t.has_data) fail(at(op), "output tensor {} '{}' is a constant", t.index, t.name);
  // The shape this importer computed must be the one the converter that wrote the file
  // computed: a disagreement means a misread option (padding, keep_num_dims, ...).
  const Shape& computed = graph_.value(value).shape;
  bool same = t.shape.size() == computed.size() || t.shape.empty();  // empty: the file leaves it unknown
  for (std::size_t d = 0; same && d < t.shape.size(); ++d) {
    const bool dynamic = d < t.shape_signature.size() && t.shape_signature[d] < 0;
    same = t.shape[d] == computed[d] || dynamic;
  }
  if (!same)
    fail(at(op), "output tensor '{}' would have shape {}, but the file declares {}", t.name, shape_string(computed),
         shape_string(t.shape));
  // An empty activation computes nothing an MCU model needs, and the kernels' loops over the
  // other dimensions would still run (a [12,1040,131072,0] concat took minutes; fuzz).
  if (!graph_.value(value).is_constant() && element_count(computed) == 0)
    fail(at(op), "output tensor '{}' would be empty (shape {})", t.name, shape_string(computed));
  values_[std::size_t(t.index)] = value;
}

void Converter::add_graph_input(int index) {
  const TensorInfo& t = model_.tensors[std::size_t(index)];
  const std::string here = fmt::format("{}: input tensor {} '{}'", model_.where, index, t.name);
  if (values_[std::size_t(index)] != kNoValue) fail(here, "is listed twice as a graph input");
  if (t.has_data) fail(here, "is a constant");
  if (t.type != TensorType::Float32 && !is_quantized_integer(t))
    fail(here, "has type {}; inputs must be FLOAT32 or quantized INT8/UINT8/INT16", tensor_type_name(t.type));
  Value v;
  v.name = graph_.unique_name(tensor_name(index));
  v.shape = static_shape(t, here);  // stored as in the file: NHWC already, Layout::Plain
  if (element_count(v.shape) == 0) fail(here, "has no elements (shape {})", shape_string(v.shape));
  ValueId id = graph_.add_value(std::move(v));
  graph_.inputs.push_back(id);
  values_[std::size_t(index)] = id;
}

void Converter::convert_operator(const OperatorInfo& op) {
  const auto& table = converters();
  auto it = table.find(op.builtin_code);
  if (it == table.end()) {
    std::string list;
    for (auto& [code, _] : table) {
      if (!list.empty()) list += ' ';
      list += builtin_name(code);
    }
    if (op.builtin_code == std::int32_t(BuiltinOp::Custom))
      fail(at(op), "custom operator '{}' is not supported", op.custom_code);
    fail(at(op), "operator {} is not supported; supported: {}", builtin_name(op.builtin_code), list);
  }
  it->second(*this, op);
  for (std::size_t o = 0; o < op.outputs.size(); ++o)
    if (values_[std::size_t(op.outputs[o])] == kNoValue) fail(at(op), "output {} was not converted", o);
}

void Converter::add_graph_output(int index) {
  const std::string here = fmt::format("{}: output tensor {} '{}'", model_.where, index, tensor_name(index));
  ValueId id = values_[std::size_t(index)];
  if (id == kNoValue) fail(here, "is never computed");
  const std::string name = tensor_name(index);
  Value& v = graph_.value(id);
  const bool is_input = std::find(graph_.inputs.begin(), graph_.inputs.end(), id) != graph_.inputs.end();
  if (v.is_constant() || is_input || graph_.is_graph_output(id)) {
    // Outputs must be computed values with their own names: copy through an Identity.
    id = add_node(name, Op::Identity, {id}, {}, here);
  } else if (v.name != name) {
    // An alias (QUANTIZE, DEQUANTIZE) left the value named after an earlier tensor.
    for (auto& other : graph_.values)
      if (other.name == name) other.name = graph_.unique_name(name + "_renamed");
    graph_.value(id).name = name;
  }
  graph_.outputs.push_back(id);
}

Graph Converter::convert() {
  // Only the main subgraph is converted: the others hold the bodies of control flow (IF,
  // WHILE, CALL_ONCE), operators that are refused below by name.
  for (int index : model_.inputs) add_graph_input(index);
  if (graph_.inputs.empty()) fail(model_.where, "the model has no inputs");
  for (const auto& op : model_.operators) convert_operator(op);
  for (int index : model_.outputs) add_graph_output(index);
  if (graph_.outputs.empty()) fail(model_.where, "the model has no outputs");
  try {
    graph_.validate();
  } catch (const Error& e) {
    fail(model_.where, "{}", e.what());
  }
  return std::move(graph_);
}

}  // namespace tinyq::tflite
