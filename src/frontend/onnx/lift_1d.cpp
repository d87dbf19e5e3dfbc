// 1-D layers as 2-D ones with H = 1 (see lift_1d.hpp for why).
#include "frontend/onnx/lift_1d.hpp"

#include <algorithm>

#include "frontend/onnx/importer.hpp"

namespace tinyq::onnx_import {

namespace {

using Ints = std::vector<std::int64_t>;

// Layers whose (N,C,L) input is always lifted: they exist in the IR only as 2-D ones.
bool is_1d_layer(const std::string& op) {
  static const std::unordered_set<std::string> ops{
      "Conv",          "ConvTranspose",      "MaxPool", "AveragePool", "GlobalAveragePool",
      "GlobalMaxPool", "BatchNormalization", "Pad"};
  return ops.count(op) > 0;
}

// Ops that compute the same thing on the lifted tensor once their operands are lifted too
// (every one of them is rank-agnostic or broadcasts numpy-style).
bool keeps_lifted(const std::string& op) {
  static const std::unordered_set<std::string> ops{
      "Relu",     "Sigmoid", "Tanh", "HardSwish", "Sqrt", "Exp", "Neg", "LeakyRelu", "HardSigmoid", "Clip",
      "Identity", "Dropout", "Cast", "Add",       "Sub",  "Mul", "Div", "Pow",       "PRelu",       "Concat"};
  return ops.count(op) > 0;
}

onnx::AttributeProto* mutable_attr(onnx::NodeProto& node, const std::string& name) {
  for (auto& a : *node.mutable_attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

void set_ints(onnx::NodeProto& node, const std::string& name, const Ints& values) {
  onnx::AttributeProto* a = mutable_attr(node, name);
  if (!a) {
    a = node.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
  }
  a->clear_ints();
  for (auto v : values) a->add_ints(v);
}

// A 1-D window's attributes as the 2-D ones over (H = 1, W = L). Lengths for another rank
// would silently mean a window over H, so they are refused here.
void lift_window_attrs(Importer& im, onnx::NodeProto& node) {
  for (const char* name : {"kernel_shape", "strides", "dilations", "output_padding"}) {
    Ints v = attr_ints(node, name);
    if (v.empty()) continue;
    if (v.size() != 1) fail(im.at(node), "{} has {} values for the 1 spatial axis of an (N,C,L) input", name, v.size());
    set_ints(node, name, {name == std::string("output_padding") ? 0 : 1, v[0]});
  }
  if (Ints pads = attr_ints(node, "pads"); !pads.empty()) {
    if (pads.size() != 2)
      fail(im.at(node), "pads has {} values for the 1 spatial axis of an (N,C,L) input", pads.size());
    set_ints(node, "pads", {0, pads[0], 0, pads[1]});
  }
  // output_shape may name the spatial size alone or (N,C,L); the 2-D converter reads the last two.
  if (Ints shape = attr_ints(node, "output_shape"); !shape.empty()) set_ints(node, "output_shape", {1, shape.back()});
}

// Rank-3 pads [b0, b1, b2, e0, e1, e2] as the rank-4 ones with a zero-padded H axis.
Ints lift_pads(const Ints& pads) { return {pads[0], pads[1], 0, pads[2], pads[3], pads[4], 0, pads[5]}; }

}  // namespace

void Lift1d::reserve_names(const onnx::GraphProto& graph) {
  for (auto& t : graph.initializer()) onnx_names_.insert(t.name());
  for (auto& v : graph.input()) onnx_names_.insert(v.name());
  for (auto& n : graph.node())
    for (auto& out : n.output()) onnx_names_.insert(out);
}

std::size_t Lift1d::onnx_rank(Importer& im, const std::string& name, ValueId id) const {
  return lifted_.count(name) ? 3 : im.graph().value(id).shape.size();
}

std::string Lift1d::fresh_name(Importer& im, const std::string& base) {
  std::string name = base + "_1d";
  for (int i = 2; onnx_names_.count(name) || im.find_name(name); ++i) name = base + "_1d_" + std::to_string(i);
  onnx_names_.insert(name);
  return name;
}

ValueId Lift1d::resolve(Importer& im, const std::string& name, ValueId bound) {
  if (converting_lifted_ || !lifted_.count(name)) return bound;
  if (auto it = flat_.find(name); it != flat_.end()) return it->second;
  ValueId nchw = im.to_layout(bound, Layout::Plain, name);  // (N,C,1,L)
  const Shape s = im.graph().value(nchw).shape;
  Attributes attrs;
  attrs.set("shape", Ints{s[0], s[1], s[3]});
  ValueId flat = im.emit_internal(name + "_ncl", Op::Reshape, {nchw}, attrs, Layout::Plain);
  flat_[name] = flat;
  return flat;
}

std::string Lift1d::lift_value(Importer& im, const std::string& name, ValueId id) {
  if (auto it = lifted_copy_.find(name); it != lifted_copy_.end()) return it->second;
  const Shape s = im.graph().value(id).shape;  // (N,C,L)
  Attributes attrs;
  attrs.set("shape", Ints{s[0], s[1], 1, s[2]});
  ValueId nchw = im.emit_internal(name + "_nc1l", Op::Reshape, {id}, attrs, Layout::Plain);
  ValueId nhwc = im.to_layout(nchw, Layout::NHWC, name);
  std::string lifted = fresh_name(im, name);
  im.alias(lifted, nhwc);
  lifted_.insert(lifted);
  lifted_copy_[name] = lifted;
  return lifted;
}

std::string Lift1d::lift_constant(Importer& im, const std::string& name, const Tensor& value) {
  Shape s = value.shape();
  s.insert(s.begin(), 3 - s.size(), 1);
  s.insert(s.begin() + 2, 1);
  std::string lifted = fresh_name(im, name);
  im.alias(lifted, im.add_constant(lifted, value.reshaped(s)));
  return lifted;
}

// Conv, ConvTranspose, pooling, BatchNormalization and Pad on an (N,C,L) input.
bool Lift1d::lift_layer(Importer& im, onnx::NodeProto& node) {
  if (!im.has_input(node, 0)) return false;
  const std::string x = node.input(0);
  // Looked up directly: resolving would make the (N,C,L) form of a lifted input for nothing.
  std::optional<ValueId> bound = im.find_name(x);
  if (!bound) return false;  // the converter names the missing input
  ValueId id = *bound;
  if (im.graph().value(id).is_constant() || onnx_rank(im, x, id) != 3) return false;
  const std::string& op = node.op_type();
  if (op == "Pad") {
    // Pads as the 2-D converter reads them: an attribute before opset 11, else input 1
    // (with opset 18's optional axes resolved against rank 3 here).
    Ints pads = im.opset() < 11 ? attr_ints(node, "pads") : im.constant_input(node, 1).as_i64();
    if (im.opset() >= 11 && im.has_input(node, 3)) {
      Ints axes = im.constant_input(node, 3).as_i64();
      if (pads.size() != 2 * axes.size()) fail(im.at(node), "Pad has {} pads for {} axes", pads.size(), axes.size());
      Ints full(6, 0);
      for (std::size_t i = 0; i < axes.size(); ++i) {
        auto a = std::size_t(normalize_axis(im, node, axes[i], 3));
        full[a] = pads[i];
        full[a + 3] = pads[i + axes.size()];
      }
      pads = full;
      node.mutable_input()->DeleteSubrange(3, node.input_size() - 3);
    }
    if (pads.size() != 6) fail(im.at(node), "Pad has {} pads for rank 3", pads.size());
    if (im.opset() < 11) {
      set_ints(node, "pads", lift_pads(pads));
    } else {
      Ints lifted = lift_pads(pads);
      std::string name = fresh_name(im, node.input(1));
      Tensor t(DType::i64, {std::int64_t(lifted.size())});
      std::copy(lifted.begin(), lifted.end(), t.data<std::int64_t>().begin());
      im.alias(name, im.add_constant(name, std::move(t)));
      node.set_input(1, name);
    }
  } else if (op == "Conv" || op == "ConvTranspose") {
    const Tensor& w = im.constant_input(node, 1);
    if (w.shape().size() != 3)
      fail(im.at(node), "a 1-D {} needs a weight of rank 3, got rank {}", op, w.shape().size());
    Shape s = w.shape();
    s.insert(s.begin() + 2, 1);
    std::string name = fresh_name(im, node.input(1));
    im.alias(name, im.add_constant(name, w.reshaped(s)));
    node.set_input(1, name);
    lift_window_attrs(im, node);
  } else if (op == "MaxPool" || op == "AveragePool") {
    lift_window_attrs(im, node);
  }
  if (!lifted_.count(x)) node.set_input(0, lift_value(im, x, id));
  return true;
}

// Elementwise ops and Concat with at least one lifted operand: every other operand is lifted
// too (run-time (N,C,L) values, constants reshaped to broadcast the same way), else the op
// runs on the (N,C,L) values.
bool Lift1d::lift_elementwise(Importer& im, onnx::NodeProto& node) {
  bool any_lifted = false;
  for (const auto& in : node.input()) any_lifted = any_lifted || lifted_.count(in) > 0;
  if (!any_lifted) return false;
  const bool concat = node.op_type() == "Concat";
  std::vector<std::string> inputs(node.input().begin(), node.input().end());
  for (int i = 0; i < node.input_size(); ++i) {
    const std::string& name = inputs[std::size_t(i)];
    if (name.empty() || lifted_.count(name)) continue;
    ValueId id = im.input(node, i);
    const Value& v = im.graph().value(id);
    if (v.is_constant()) {
      if (concat ? v.shape.size() != 3 : v.shape.size() > 3) return false;
      if (!concat && v.constant->numel() == 1) continue;  // a scalar broadcasts in any layout
      inputs[std::size_t(i)] = lift_constant(im, name, *v.constant);
    } else {
      if (v.shape.size() != 3) return false;
      inputs[std::size_t(i)] = lift_value(im, name, id);
    }
  }
  for (int i = 0; i < node.input_size(); ++i) node.set_input(i, inputs[std::size_t(i)]);
  if (concat) {
    // Axis of the (N,C,L) tensor -> axis of (N,C,1,L).
    std::int64_t axis = normalize_axis(im, node, attr_int(node, "axis", 1), 3);
    onnx::AttributeProto* a = mutable_attr(node, "axis");
    if (!a) fail(im.at(node), "Concat needs an axis");
    a->set_i(axis == 2 ? 3 : axis);
  }
  return true;
}

// Transpose(perm = [0, 2, 1]) of a lifted (N,C,L) value is (N,L,C): the very bytes of the
// stored (N,1,L,C) tensor, so a Reshape (the usual hand-over to a recurrent or dense layer).
bool Lift1d::transpose_to_nlc(Importer& im, const onnx::NodeProto& node) {
  if (node.input_size() != 1 || !lifted_.count(node.input(0)) || attr_ints(node, "perm") != Ints{0, 2, 1}) return false;
  ValueId x = *im.find_name(node.input(0));
  const Shape s = im.graph().value(x).shape;
  Attributes attrs;
  attrs.set("shape", Ints{s[0], s[2], s[3]});
  im.emit(node, Op::Reshape, {x}, attrs, Layout::Plain);
  return true;
}

bool Lift1d::convert(Importer& im, const onnx::NodeProto& node, const Convert& convert) {
  if (node.op_type() == "Transpose") return transpose_to_nlc(im, node);
  onnx::NodeProto lifted = node;
  if (is_1d_layer(node.op_type())) {
    // Inputs are looked at before the lifted node converts, so they resolve to what ONNX says.
    if (!lift_layer(im, lifted)) return false;
  } else if (!keeps_lifted(node.op_type()) || !lift_elementwise(im, lifted)) {
    return false;
  }
  converting_lifted_ = true;
  try {
    convert(im, lifted);
  } catch (...) {
    converting_lifted_ = false;
    throw;
  }
  converting_lifted_ = false;
  for (const auto& out : lifted.output()) {
    if (out.empty()) continue;
    auto id = im.find_name(out);
    if (!id) continue;
    const Value& v = im.graph().value(*id);
    // Every converter above keeps NHWC on a rank-4 NHWC input; anything else is a bug here.
    if (v.layout != Layout::NHWC || v.shape.size() != 4)
      fail(im.at(node), "internal error: the 2-D form of this 1-D node is not an NHWC tensor");
    lifted_.insert(out);
  }
  return true;
}

}  // namespace tinyq::onnx_import
