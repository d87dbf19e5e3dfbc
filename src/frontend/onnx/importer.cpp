#include "frontend/onnx/importer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <unordered_set>

#include "frontend/onnx/legacy_opset.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "frontend/onnx/onnx_tensor.hpp"
#include "ir/shape_inference.hpp"

namespace tinyq {

namespace onnx_import {

const ConverterTable& converters() {
  static const ConverterTable table = [] {
    ConverterTable t;
    register_nn_converters(t);
    register_elementwise_converters(t);
    register_shape_converters(t);
    register_recurrent_converters(t);
    return t;
  }();
  return table;
}

const onnx::AttributeProto* find_attr(const onnx::NodeProto& node, const std::string& name) {
  for (auto& a : node.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

std::int64_t attr_int(const onnx::NodeProto& node, const std::string& name, std::int64_t fallback) {
  auto* a = find_attr(node, name);
  return a ? a->i() : fallback;
}
float attr_float(const onnx::NodeProto& node, const std::string& name, float fallback) {
  auto* a = find_attr(node, name);
  return a ? a->f() : fallback;
}
std::string attr_string(const onnx::NodeProto& node, const std::string& name, const std::string& fallback) {
  auto* a = find_attr(node, name);
  return a ? a->s() : fallback;
}
std::vector<std::int64_t> attr_ints(const onnx::NodeProto& node, const std::string& name) {
  auto* a = find_attr(node, name);
  return a ? std::vector<std::int64_t>(a->ints().begin(), a->ints().end()) : std::vector<std::int64_t>{};
}
std::vector<float> attr_floats(const onnx::NodeProto& node, const std::string& name) {
  auto* a = find_attr(node, name);
  return a ? std::vector<float>(a->floats().begin(), a->floats().end()) : std::vector<float>{};
}

int normalize_axis(Importer& im, const onnx::NodeProto& node, std::int64_t axis, std::size_t rank) {
  if (axis < 0) axis += std::int64_t(rank);
  if (axis < 0 || axis >= std::int64_t(rank)) fail(im.at(node), "axis {} out of range for rank {}", axis, rank);
  return int(axis);
}

std::string Importer::at(const onnx::NodeProto& node) const {
  return fmt::format("{}: node '{}' ({})", where_, node.name(), node.op_type());
}

bool Importer::has_input(const onnx::NodeProto& node, int index) const {
  return index < node.input_size() && !node.input(index).empty();
}

ValueId Importer::input(const onnx::NodeProto& node, int index) {
  if (!has_input(node, index)) fail(at(node), "missing required input {}", index);
  auto it = names_.find(node.input(index));
  if (it == names_.end())
    fail(at(node), "input '{}' is not defined (missing initializer or graph input)", node.input(index));
  return lift_.resolve(*this, node.input(index), it->second);
}

std::optional<ValueId> Importer::find_name(const std::string& onnx_name) const {
  auto it = names_.find(onnx_name);
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

const Tensor& Importer::constant_input(const onnx::NodeProto& node, int index) {
  ValueId v = input(node, index);
  if (!graph_.value(v).is_constant())
    fail(at(node), "input '{}' must be a constant (initializer), but is computed at run time", node.input(index));
  return *graph_.value(v).constant;
}

std::optional<Tensor> Importer::optional_constant(const onnx::NodeProto& node, int index) {
  if (!has_input(node, index)) return std::nullopt;
  return constant_input(node, index);
}

ValueId Importer::add_constant(const std::string& name, Tensor tensor) {
  return graph_.add_constant(graph_.unique_name(name), std::move(tensor));
}

void Importer::define_constant(const std::string& onnx_name, Tensor tensor) {
  names_[onnx_name] = add_constant(onnx_name, std::move(tensor));
}

std::string Importer::unique_node_name(const std::string& base) {
  std::string name = graph_.unique_name(base);
  for (int i = 1; node_names_.count(name); ++i) name = graph_.unique_name(base + "_" + std::to_string(i));
  node_names_.insert(name);
  return name;
}

ValueId Importer::emit_internal(const std::string& name, Op op, std::vector<ValueId> inputs, Attributes attrs,
                                Layout layout) {
  Node node;
  node.name = unique_node_name(name);
  node.op = op;
  node.inputs = std::move(inputs);
  node.attrs = std::move(attrs);
  Value out;
  out.name = graph_.unique_name(name);
  out.layout = layout;
  out.shape = infer_output_shape(graph_, node);
  element_count(out.shape, name);
  ValueId id = graph_.add_value(std::move(out));
  node.outputs = {id};
  graph_.check_empty_tensors(node);  // before any later converter computes on an empty tensor
  graph_.nodes.push_back(std::move(node));
  return id;
}

ValueId Importer::emit(const onnx::NodeProto& node, Op op, std::vector<ValueId> inputs, Attributes attrs, Layout layout,
                       const std::string& output_name) {
  Node n;
  n.name = unique_node_name(node.name().empty() ? output_name : node.name());
  n.op = op;
  n.inputs = std::move(inputs);
  n.attrs = std::move(attrs);
  Value out;
  out.name = graph_.unique_name(output_name);
  out.layout = layout;
  try {
    out.shape = infer_output_shape(graph_, n);
    element_count(out.shape, n.name);
  } catch (const Error& e) {
    fail(at(node), "{}", e.what());
  }
  ValueId id = graph_.add_value(std::move(out));
  n.outputs = {id};
  try {
    graph_.check_empty_tensors(n);  // before any later converter computes on an empty tensor
  } catch (const Error& e) {
    fail(at(node), "{}", e.what());
  }
  graph_.nodes.push_back(std::move(n));
  names_[output_name] = id;
  return id;
}

ValueId Importer::to_layout(ValueId id, Layout layout, const std::string& name_hint) {
  const Value& v = graph_.value(id);
  if (v.layout == layout) return id;
  if (v.shape.size() != 4) fail(where_, "value '{}' of rank {} cannot change layout", v.name, v.shape.size());
  const auto& perm = layout == Layout::NHWC ? kToNhwcPerm : kToNchwPerm;
  if (v.is_constant()) {
    ValueId c = add_constant(v.name + "_" + (layout == Layout::NHWC ? "nhwc" : "nchw"), v.constant->transposed(perm));
    graph_.value(c).layout = layout;
    return c;
  }
  Attributes attrs;
  attrs.set("perm", std::vector<std::int64_t>(perm.begin(), perm.end()));
  return emit_internal(name_hint + (layout == Layout::NHWC ? "_to_nhwc" : "_to_nchw"), Op::Transpose, {id}, attrs,
                       layout);
}

ValueId Importer::broadcast_operand_to_nhwc(ValueId id, const std::string& name_hint) {
  const Value& v = graph_.value(id);
  if (v.layout == Layout::NHWC) return id;
  if (v.is_constant() && v.constant->numel() == 1) return id;  // a scalar broadcasts in any layout
  if (v.shape.size() > 4)
    fail(where_, "value '{}' of rank {} cannot broadcast against a 4-D tensor", v.name, v.shape.size());
  ValueId rank4 = id;
  if (v.shape.size() < 4) {
    Shape padded(4 - v.shape.size(), 1);
    padded.insert(padded.end(), v.shape.begin(), v.shape.end());
    if (v.is_constant()) {
      rank4 = add_constant(v.name + "_4d", v.constant->reshaped(padded));
    } else {
      Attributes attrs;
      attrs.set("shape", std::vector<std::int64_t>(padded.begin(), padded.end()));
      rank4 = emit_internal(name_hint + "_4d", Op::Reshape, {id}, attrs, Layout::Plain);
    }
  }
  return to_layout(rank4, Layout::NHWC, name_hint);
}

void Importer::import_node(const onnx::NodeProto& node) {
  if (!node.domain().empty() && node.domain() != "ai.onnx")
    fail(at(node), "operator domain '{}' is not supported", node.domain());
  auto& table = converters();
  auto it = table.find(node.op_type());
  if (it == table.end()) {
    std::string list;
    for (auto& [name, _] : table) list += (list.empty() ? "" : " ") + name;
    fail(at(node), "unsupported operator '{}'; supported: {}", node.op_type(), list);
  }
  // The recurrent layers' converter reads any of their outputs; an unnamed Y is common there
  // (ONNX's own LSTM tests read only Y_h). Every other converter binds output 0.
  const bool any_output_ok = node.op_type() == "LSTM" || node.op_type() == "GRU" || node.op_type() == "RNN";
  if (node.output_size() < 1 || (node.output(0).empty() && !any_output_ok) ||
      std::all_of(node.output().begin(), node.output().end(), [](const std::string& o) { return o.empty(); }))
    fail(at(node), "node has no output");
  if (!lift_.convert(*this, node, it->second)) it->second(*this, node);
}

namespace {

// ONNX nodes in an order where each runs after the producers of its inputs. The spec
// requires sorted nodes, but exporters are not always right; a true cycle is an error.
std::vector<int> onnx_node_order(const onnx::GraphProto& graph, const std::unordered_set<std::string>& available,
                                 const std::string& where) {
  std::unordered_map<std::string, int> producer;
  for (int n = 0; n < graph.node_size(); ++n)
    for (auto& out : graph.node(n).output())
      if (!out.empty()) {
        if (producer.count(out) || available.count(out))
          fail(where, "value '{}' is defined twice (node '{}')", out, graph.node(n).name());
        producer[out] = n;
      }
  std::vector<int> state(std::size_t(graph.node_size()), 0);  // 0 new, 1 visiting, 2 done
  std::vector<int> order;
  for (int start = 0; start < graph.node_size(); ++start) {
    if (state[std::size_t(start)]) continue;
    // Iterative DFS (hostile files can nest deeply).
    std::vector<std::pair<int, int>> stack{{start, 0}};
    state[std::size_t(start)] = 1;
    while (!stack.empty()) {
      auto& [n, next] = stack.back();
      const auto& node = graph.node(n);
      if (next < node.input_size()) {
        const std::string& name = node.input(next++);
        if (name.empty() || available.count(name)) continue;
        auto it = producer.find(name);
        if (it == producer.end())
          fail(where, "node '{}' ({}): input '{}' is not defined (missing initializer or graph input)", node.name(),
               node.op_type(), name);
        int p = it->second;
        if (state[std::size_t(p)] == 1)
          fail(where, "graph has a cycle through node '{}' ({})", graph.node(p).name(), graph.node(p).op_type());
        if (state[std::size_t(p)] == 0) {
          state[std::size_t(p)] = 1;
          stack.push_back({p, 0});
        }
      } else {
        state[std::size_t(n)] = 2;
        order.push_back(n);
        stack.pop_back();
      }
    }
  }
  return order;
}

}  // namespace

void Importer::import_graph(const onnx::GraphProto& graph) {
  lift_.reserve_names(graph);
  for (auto& node : graph.node())
    for (auto& in : node.input()) used_.insert(in);
  for (auto& out : graph.output()) used_.insert(out.name());
  std::unordered_set<std::string> available;
  for (auto& init : graph.initializer()) {
    if (init.name().empty()) fail(where_, "initializer without a name");
    std::string here = fmt::format("{}: initializer '{}'", where_, init.name());
    Tensor tensor = tensor_from_onnx(init, here);
    if (tensor.dtype() == DType::f32) {
      // NaN or Inf weights make every downstream number meaningless; say so at the source.
      auto values = tensor.f32();
      auto bad = std::find_if(values.begin(), values.end(), [](float v) { return !std::isfinite(v); });
      if (bad != values.end()) fail(here, "contains {} at element {}", *bad, bad - values.begin());
    }
    define_constant(init.name(), std::move(tensor));
    available.insert(init.name());
  }
  for (auto& init : graph.sparse_initializer())
    fail(where_, "sparse initializer '{}' is not supported", init.values().name());

  for (auto& in : graph.input()) {
    if (available.count(in.name())) continue;  // old-style: initializers listed as inputs
    std::string here = fmt::format("{}: input '{}'", where_, in.name());
    if (!in.type().has_tensor_type()) fail(here, "only tensor inputs are supported");
    const auto& tensor_type = in.type().tensor_type();
    // 16- and 64-bit float inputs are fed as float32 (their readers convert them: ir/float16.hpp),
    // and the model computes in float32 throughout, as it does for float32 inputs.
    const int elem = tensor_type.elem_type();
    if (elem != onnx::TensorProto::FLOAT && elem != onnx::TensorProto::FLOAT16 && elem != onnx::TensorProto::BFLOAT16 &&
        elem != onnx::TensorProto::DOUBLE)
      fail(here,
           "element type {} is not supported; inputs must be float32 (or float16, bfloat16, double: run as float32)",
           onnx::TensorProto::DataType_Name(elem));
    if (!tensor_type.has_shape()) fail(here, "has no shape");
    Shape shape;
    for (int d = 0; d < tensor_type.shape().dim_size(); ++d) {
      const auto& dim = tensor_type.shape().dim(d);
      // A declared 0 is an empty axis (ONNX's own tests feed [0] and [0,3,4] inputs); an
      // unknown or named size is dynamic.
      if (dim.has_dim_value() && dim.dim_value() >= 0) {
        shape.push_back(dim.dim_value());
      } else if (d == 0) {
        shape.push_back(1);  // a dynamic batch runs one sample at a time
      } else {
        fail(here, "dimension {} ('{}') is dynamic; only the batch dimension may be", d, dim.dim_param());
      }
    }
    element_count(shape, here);
    Value v;
    v.name = in.name();
    if (shape.size() == 4) {
      v.layout = Layout::NHWC;
      v.shape = {shape[0], shape[2], shape[3], shape[1]};
    } else {
      v.shape = shape;
    }
    ValueId id = graph_.add_value(std::move(v));
    graph_.inputs.push_back(id);
    names_[in.name()] = id;
    available.insert(in.name());
  }
  // A graph without inputs (constants only) imports: its outputs are computed once, and the
  // commands that feed data say the model has none (cli/commands/common.cpp).

  for (int n : onnx_node_order(graph, available, where_)) import_node(graph.node(n));

  for (auto& out : graph.output()) {
    auto it = names_.find(out.name());
    if (it == names_.end()) fail(where_, "graph output '{}' is never produced", out.name());
    ValueId id = lift_.resolve(*this, out.name(), it->second);  // the shape ONNX gives it
    Value& v = graph_.value(id);
    if (v.is_constant() || std::find(graph_.inputs.begin(), graph_.inputs.end(), id) != graph_.inputs.end() ||
        graph_.is_graph_output(id)) {
      // Outputs must be computed values with their own names: copy through an Identity.
      Node n;
      n.name = unique_node_name(out.name() + "_identity");
      n.op = Op::Identity;
      n.inputs = {id};
      Value copy;
      copy.name = graph_.unique_name(out.name());
      copy.shape = v.shape;
      copy.layout = v.layout;
      id = graph_.add_value(std::move(copy));
      n.outputs = {id};
      graph_.nodes.push_back(std::move(n));
    } else if (v.name != out.name()) {
      for (auto& other : graph_.values)
        if (other.name == out.name()) other.name = graph_.unique_name(out.name() + "_renamed");
      v.name = out.name();
    }
    graph_.outputs.push_back(id);
  }
  if (graph_.outputs.empty()) fail(where_, "graph has no outputs");
  graph_.validate();
}

}  // namespace onnx_import

std::vector<std::string> supported_onnx_ops() {
  std::vector<std::string> ops;
  for (auto& [name, _] : onnx_import::converters()) ops.push_back(name);
  return ops;
}

Graph import_onnx_bytes(const void* data, std::size_t size, const std::string& where) {
  if (size > std::size_t(INT32_MAX)) fail(where, "file is larger than 2 GiB");
  onnx::ModelProto model;
  if (!model.ParseFromArray(data, int(size))) fail(where, "not a valid ONNX file (protobuf parse failed)");
  if (!model.has_graph()) fail(where, "ONNX model has no graph");
  int opset = -1;
  for (auto& op : model.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") opset = int(op.version());
  if (opset < 0) fail(where, "model imports no default-domain opset");
  if (opset < 1 || opset > 18)
    fail(where, "opset {} is not supported (tinyq reads opsets 1-18, tested on 11-17)", opset);
  if (opset < onnx_import::kFirstNativeOpset) {
    model = onnx_import::upgrade_legacy_opset(model, opset, where);
    opset = onnx_import::kFirstNativeOpset;
  }
  onnx_import::Importer importer(where, opset);
  importer.import_graph(model.graph());
  return importer.take();
}

Graph import_onnx_file(const std::string& path) {
  // An ifstream opens a folder without complaint and reports a huge size for it.
  if (std::error_code ec; std::filesystem::is_directory(path, ec)) fail(path, "is a folder, not an ONNX model file");
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) fail(path, "cannot open file");
  auto size = file.tellg();
  if (size < 0) fail(path, "cannot read file");
  if (std::uint64_t(size) > std::uint64_t(INT32_MAX)) fail(path, "file is larger than 2 GiB");
  std::string bytes(std::size_t(size), '\0');
  file.seekg(0);
  if (!file.read(bytes.data(), size)) fail(path, "cannot read file");
  if (bytes.empty()) fail(path, "file is empty");
  return import_onnx_bytes(bytes.data(), bytes.size(), path);
}

}  // namespace tinyq
