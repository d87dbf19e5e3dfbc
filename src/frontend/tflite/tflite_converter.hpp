// Internal: the conversion layer of the TFLite importer, TfliteModel -> float Graph. The
// converters for each operator family live in convert_*.cpp and use the helpers here.
//
// Conventions of the result (the same IR the ONNX importer produces): TFLite activations are
// already NHWC and conv weights OHWI, so values keep the file's axis order and are marked
// Layout::Plain (the source layout is the stored one; nothing is permuted at the edges).
// Every tensor is its float function: quantized constants are dequantized, quantized
// activations become float activations, QUANTIZE / DEQUANTIZE are identities.
#pragma once

#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "frontend/tflite/tflite_model.hpp"
#include "ir/graph.hpp"

namespace tinyq::tflite {

class Converter;
using ConvertFn = void (*)(Converter&, const OperatorInfo&);
// Builtin operator code -> converter. Filled by register_*_converters in convert_*.cpp.
using ConverterTable = std::map<std::int32_t, ConvertFn>;
void register_window_converters(ConverterTable& table);       // convolutions, pooling, MEAN
void register_elementwise_converters(ConverterTable& table);  // arithmetic, activations, softmax
void register_shape_converters(ConverterTable& table);        // reshapes, concat, pad, resize
void register_slice_converters(ConverterTable& table);        // STRIDED_SLICE, SPLIT
void register_recurrent_converters(ConverterTable& table);    // UNIDIRECTIONAL_SEQUENCE_LSTM
const ConverterTable& converters();

class Converter {
 public:
  explicit Converter(const TfliteModel& model) : model_(model), values_(model.tensors.size(), kNoValue) {}
  Graph convert();

  // --- helpers for converters ---
  const TfliteModel& model() const { return model_; }
  Graph& graph() { return graph_; }
  // "file: operator 3 (CONV_2D)", for errors.
  std::string at(const OperatorInfo& op) const;

  bool has_input(const OperatorInfo& op, std::size_t i) const { return i < op.inputs.size() && op.inputs[i] >= 0; }
  // Input i's tensor; error naming the operator when it is missing.
  const TensorInfo& input_tensor(const OperatorInfo& op, std::size_t i) const;
  const TensorInfo& output_tensor(const OperatorInfo& op, std::size_t i) const;
  // The IR name of a tensor of the file: its name, or tensor_<index> when it has none.
  std::string tensor_name(int index) const;
  // The operator must have exactly this many outputs and between min and max inputs.
  void expect_arity(const OperatorInfo& op, std::size_t min_inputs, std::size_t max_inputs,
                    std::size_t outputs = 1) const;

  // Input i as an IR value: an earlier operator's output, a graph input, or a constant (its
  // float function, made once per tensor).
  ValueId input(const OperatorInfo& op, std::size_t i);
  // A constant input's float function (a constant of the file, or one an earlier operator
  // folded to); error when it is computed at run time.
  Tensor constant_input(const OperatorInfo& op, std::size_t i) const;
  // A constant integer input (shape, axes, paddings) as stored.
  std::vector<std::int64_t> integer_input(const OperatorInfo& op, std::size_t i) const;
  const Shape& shape(ValueId id) const { return graph_.value(id).shape; }

  ValueId add_constant(const std::string& name, Tensor tensor);
  // The node computing output `output` of `op`, with its fused activation: a clamp the IR
  // op can carry (act_min / act_max) or an activation node after it. The inferred shape must
  // be the one the file declares for that tensor.
  ValueId emit(const OperatorInfo& op, Op ir_op, std::vector<ValueId> inputs, Attributes attrs,
               Activation activation = Activation::None, std::size_t output = 0);
  // An intermediate node of `op` not tied to a tensor of the file.
  ValueId emit_internal(const OperatorInfo& op, const std::string& suffix, Op ir_op, std::vector<ValueId> inputs,
                        Attributes attrs);
  // Output `output` of `op` is `value` (identities: QUANTIZE, DEQUANTIZE, folded ops).
  void alias(const OperatorInfo& op, std::size_t output, ValueId value);
  // Output `output` of `op` is computed now (an operator on constants the IR has no op for).
  void define_constant(const OperatorInfo& op, std::size_t output, Tensor tensor);

 private:
  void add_graph_input(int tensor_index);
  void convert_operator(const OperatorInfo& op);
  void add_graph_output(int tensor_index);
  // Records that `op` writes output `output` as `value`, after checking its shape.
  void bind_output(const OperatorInfo& op, std::size_t output, ValueId value);
  ValueId add_node(const std::string& name, Op ir_op, std::vector<ValueId> inputs, Attributes attrs,
                   const std::string& where);
  std::string unique_node_name(const std::string& base);
  // The IR constant a tensor became (an identity or a fold on constants), or null.
  const Tensor* folded_constant(const TensorInfo& tensor) const;

  const TfliteModel& model_;
  Graph graph_;
  std::vector<ValueId> values_;  // tensor index -> IR value once defined
  std::unordered_set<std::string> node_names_;
};

// Shapes of the file are static apart from dynamic (-1) dimensions in shape_signature; a
// dynamic batch runs one sample at a time, as in the ONNX importer. Throws when another
// dimension is dynamic.
Shape static_shape(const TensorInfo& tensor, const std::string& where);

}  // namespace tinyq::tflite
