#pragma once
// Internal: the state of one ONNX import. Converters for each ONNX op live in
// convert_*.cpp and use the helpers declared here.
#include <onnx/onnx_pb.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "frontend/onnx/lift_1d.hpp"
#include "ir/graph.hpp"
#include "util/error.hpp"

namespace tinyq::onnx_import {

class Importer;
using Converter = std::function<void(Importer&, const onnx::NodeProto&)>;
// ONNX op type -> converter. Filled by register_*_converters in convert_*.cpp.
using ConverterTable = std::map<std::string, Converter>;
void register_nn_converters(ConverterTable& table);
void register_elementwise_converters(ConverterTable& table);
void register_shape_converters(ConverterTable& table);
void register_slice_converters(ConverterTable& table);      // called by register_shape_converters
void register_recurrent_converters(ConverterTable& table);  // LSTM, GRU, RNN (convert_recurrent.cpp)
const ConverterTable& converters();

// NCHW axis -> NHWC stored axis, and back.
inline constexpr int kNchwToNhwcAxis[4] = {0, 3, 1, 2};

// The most values a constant the importer generates itself may have (ConstantOfShape, the
// default LayerNorm scale): no file size bounds those, and a [2^31] one would allocate 8 GB
// (fuzzer finds). 2^26 is far beyond any microcontroller model.
inline constexpr std::int64_t kMaxGeneratedValues = std::int64_t{1} << 26;
inline const std::vector<int> kToNhwcPerm{0, 2, 3, 1};
inline const std::vector<int> kToNchwPerm{0, 3, 1, 2};

class Importer {
 public:
  Importer(std::string where, int opset) : where_(std::move(where)), opset_(opset) {}

  void import_graph(const onnx::GraphProto& graph);
  Graph take() { return std::move(graph_); }

  // --- helpers for converters ---
  int opset() const { return opset_; }
  Graph& graph() { return graph_; }
  const std::string& where() const { return where_; }
  // "file: node 'name' (Op)" for errors.
  std::string at(const onnx::NodeProto& node) const;

  // The value an ONNX name refers to; error naming the node if undefined.
  ValueId input(const onnx::NodeProto& node, int index);
  bool has_input(const onnx::NodeProto& node, int index) const;
  // A constant input (initializer / Constant / folded shape value); error if it is computed at run time.
  const Tensor& constant_input(const onnx::NodeProto& node, int index);
  std::optional<Tensor> optional_constant(const onnx::NodeProto& node, int index);

  // The same data in the requested layout: constants are re-laid out now; activations get
  // a Transpose node (removed later where it is a no-op).
  ValueId to_layout(ValueId value, Layout layout, const std::string& name_hint);
  // An activation of any rank, broadcast-compatible with an NHWC rank-4 tensor.
  ValueId broadcast_operand_to_nhwc(ValueId value, const std::string& name_hint);

  // Add a node whose output becomes ONNX value `output_name`; infers its shape.
  ValueId emit(const onnx::NodeProto& node, Op op, std::vector<ValueId> inputs, Attributes attrs, Layout layout,
               const std::string& output_name);
  ValueId emit(const onnx::NodeProto& node, Op op, std::vector<ValueId> inputs, Attributes attrs, Layout layout) {
    return emit(node, op, std::move(inputs), std::move(attrs), layout, node.output(0));
  }
  // An intermediate node not tied to an ONNX output.
  ValueId emit_internal(const std::string& name, Op op, std::vector<ValueId> inputs, Attributes attrs, Layout layout);
  // Bind an ONNX output name to an existing value (Identity, Dropout, folded ops).
  void alias(const std::string& onnx_name, ValueId value) { names_[onnx_name] = value; }
  ValueId add_constant(const std::string& name, Tensor tensor);
  void define_constant(const std::string& onnx_name, Tensor tensor);

  // The value ONNX name `onnx_name` is bound to, as stored (no 1-D lifting undone).
  std::optional<ValueId> find_name(const std::string& onnx_name) const;

  // The value's shape in ONNX axis order.
  Shape source_shape(ValueId value) const { return graph_.value(value).source_shape(); }
  // Whether some node or graph output reads ONNX value `onnx_name` (multi-output ops such as
  // LSTM compute only the outputs that are read).
  bool is_used(const std::string& onnx_name) const { return used_.count(onnx_name) != 0; }

 private:
  void import_node(const onnx::NodeProto& node);
  // A node name no other node has (ONNX names are optional, so hints often coincide).
  std::string unique_node_name(const std::string& base);

  std::string where_;
  int opset_;
  Graph graph_;
  std::unordered_map<std::string, ValueId> names_;
  std::unordered_set<std::string> node_names_;
  std::unordered_set<std::string> used_;  // ONNX names some node or graph output reads
  Lift1d lift_;
};

// Attribute access with ONNX defaults.
std::int64_t attr_int(const onnx::NodeProto& node, const std::string& name, std::int64_t fallback);
float attr_float(const onnx::NodeProto& node, const std::string& name, float fallback);
std::string attr_string(const onnx::NodeProto& node, const std::string& name, const std::string& fallback);
std::vector<std::int64_t> attr_ints(const onnx::NodeProto& node, const std::string& name);
std::vector<float> attr_floats(const onnx::NodeProto& node, const std::string& name);
const onnx::AttributeProto* find_attr(const onnx::NodeProto& node, const std::string& name);

// Normalise a possibly negative axis against `rank`; error naming the node if out of range.
int normalize_axis(Importer& im, const onnx::NodeProto& node, std::int64_t axis, std::size_t rank);

}  // namespace tinyq::onnx_import
