// LayerCall: what a converter reads (config keys, weights) and how it adds nodes.
#include <algorithm>
#include <cmath>

#include "frontend/keras/importer.hpp"
#include "ir/shape_inference.hpp"

namespace tinyq::keras_import {

namespace {
using nlohmann::json;
}

std::string LayerCall::at() const {
  return fmt::format("{}: layer '{}' ({})", im_.where(), layer_.name, layer_.class_name);
}

ValueId LayerCall::input() const {
  if (inputs_.size() != 1) fail("expects one input tensor, got {}", inputs_.size());
  return inputs_[0];
}

Graph& LayerCall::graph() { return im_.graph(); }
const Shape& LayerCall::shape(ValueId value) const { return im_.graph().value(value).shape; }

const json* LayerCall::find(const char* key) const {
  auto it = layer_.config.find(key);
  return it == layer_.config.end() || it->is_null() ? nullptr : &*it;
}

bool LayerCall::has(const char* key) const { return find(key) != nullptr; }

std::int64_t LayerCall::integer(const char* key, std::int64_t fallback, std::int64_t lo, std::int64_t hi) const {
  const json* j = find(key);
  if (j == nullptr) return fallback;
  if (!j->is_number_integer()) fail("'{}' must be an integer", key);
  // Unsigned JSON numbers above INT64_MAX read back negative: still out of range below.
  const std::int64_t v = j->is_number_unsigned() && j->get<std::uint64_t>() > std::uint64_t(INT64_MAX)
                             ? std::int64_t{-1}
                             : j->get<std::int64_t>();
  if (v < lo || v > hi) fail("'{}' is {}, outside [{}, {}]", key, v, lo, hi);
  return v;
}

std::vector<std::int64_t> LayerCall::ints(const char* key, std::size_t count, std::int64_t fallback, std::int64_t lo,
                                          std::int64_t hi) const {
  const json* j = find(key);
  if (j == nullptr) return std::vector<std::int64_t>(count, fallback);
  auto one = [&](const json& e) {
    if (!e.is_number_integer()) fail("'{}' must hold integers", key);
    const bool huge = e.is_number_unsigned() && e.get<std::uint64_t>() > std::uint64_t(INT64_MAX);
    const std::int64_t v = huge ? std::int64_t{-1} : e.get<std::int64_t>();
    if (huge || v < lo || v > hi) fail("'{}' holds {}, outside [{}, {}]", key, huge ? hi : v, lo, hi);
    return v;
  };
  if (j->is_number()) return std::vector<std::int64_t>(count, one(*j));
  if (!j->is_array() || j->size() != count) fail("'{}' must be an integer or a list of {}", key, count);
  std::vector<std::int64_t> values;
  for (auto& e : *j) values.push_back(one(e));
  return values;
}

float LayerCall::number(const char* key, float fallback) const { return optional_number(key).value_or(fallback); }

std::optional<float> LayerCall::optional_number(const char* key) const {
  const json* j = find(key);
  if (j == nullptr) return std::nullopt;
  if (!j->is_number()) fail("'{}' must be a number", key);
  const double v = j->get<double>();
  if (!std::isfinite(v) || std::fabs(v) > 3.0e38) fail("'{}' must be a finite float32 number", key);
  return float(v);
}

bool LayerCall::flag(const char* key, bool fallback) const {
  const json* j = find(key);
  if (j == nullptr) return fallback;
  if (j->is_boolean()) return j->get<bool>();
  // Some Keras versions write 1/0 (str_ww_ref_model.h5: "scale": 1).
  if (j->is_number_integer() && (j->get<std::int64_t>() == 0 || j->get<std::int64_t>() == 1))
    return j->get<std::int64_t>() == 1;
  fail("'{}' must be true or false", key);
}

std::string LayerCall::text(const char* key, const std::string& fallback) const {
  const json* j = find(key);
  if (j == nullptr) return fallback;
  if (!j->is_string()) fail("'{}' must be a string", key);
  return one_line(j->get<std::string>());
}

void LayerCall::require_channels_last() const {
  const std::string format = text("data_format", "channels_last");
  if (format == "channels_first")
    fail("data_format channels_first is not supported (tinyq reads channels_last models, the Keras default)");
  if (format != "channels_last") fail("unknown data_format '{}'", format);
}

std::vector<Tensor> LayerCall::weights(const std::vector<WeightSpec>& expected) const {
  const KerasFileContents& file = im_.file();
  if (!file.has_model_weights) fail("the file has no model_weights group to read its weights from");
  if (!im_.listed_in_weights(layer_.name)) fail("model_weights' layer_names does not list it");
  auto stored = file.layers.find(layer_.name);
  if (stored == file.layers.end()) fail("model_weights has no group for it");
  if (!stored->second.error.empty()) fail("{}", stored->second.error);
  const std::vector<StoredWeight>& found = stored->second.weights;
  auto list = [](const auto& items, auto name_of) {
    std::string s;
    for (auto& item : items) s += (s.empty() ? "" : ", ") + one_line(name_of(item));
    return s;
  };
  if (found.size() != expected.size())
    fail("the file holds {} weights for it ({}), its configuration needs {} ({})", found.size(),
         list(found, [](const StoredWeight& w) { return w.name; }), expected.size(),
         list(expected, [](const WeightSpec& w) { return w.name; }));
  std::vector<Tensor> tensors;
  for (std::size_t i = 0; i < found.size(); ++i) {
    const std::string name = one_line(found[i].name);
    // "conv2d/kernel:0" -> "kernel": Keras loads by position; the name guards the order.
    std::string base =
        found[i].name.substr(found[i].name.rfind('/') == std::string::npos ? 0 : found[i].name.rfind('/') + 1);
    base = base.substr(0, base.rfind(':'));
    if (base != expected[i].name)
      fail("weight {} in the file is '{}' where Keras saves '{}'", i, name, expected[i].name);
    if (!found[i].error.empty()) fail("{}", found[i].error);
    const Tensor& t = found[i].tensor;
    if (t.shape() != expected[i].shape)
      fail("weight '{}' has shape {}, but the layer's configuration needs {}", name, shape_string(t.shape()),
           shape_string(expected[i].shape));
    // NaN or Inf weights make every later number meaningless: say so at the source.
    const auto values = t.f32();
    auto bad = std::find_if(values.begin(), values.end(), [](float v) { return !std::isfinite(v); });
    if (bad != values.end()) fail("weight '{}' holds {} at element {}", name, *bad, bad - values.begin());
    tensors.push_back(t);
  }
  return tensors;
}

ValueId LayerCall::emit(Op op, std::vector<ValueId> inputs, Attributes attrs, const std::string& hint) {
  Node node;
  node.op = op;
  node.inputs = std::move(inputs);
  node.attrs = std::move(attrs);
  const std::string name = layer_.name + "/" + (hint.empty() ? std::string(op_name(op)) : hint);
  node.name = im_.unique_node_name(name);
  Value out;
  out.name = name;
  try {
    out.shape = infer_output_shape(im_.graph(), node);
    element_count(out.shape, node.name);
  } catch (const Error& e) {
    fail("{}", e.what());
  }
  ValueId id = im_.add_value(std::move(out));
  node.outputs = {id};
  im_.graph().nodes.push_back(std::move(node));
  return id;
}

ValueId LayerCall::constant(const std::string& hint, Tensor tensor) {
  Value value;
  value.name = layer_.name + "/" + hint;
  value.dtype = tensor.dtype();
  value.shape = tensor.shape();
  value.constant = std::move(tensor);
  return im_.add_value(std::move(value));
}

ValueId LayerCall::reshape(ValueId value, const Shape& to, const std::string& hint) {
  if (shape(value) == to) return value;
  Attributes attrs;
  attrs.set("shape", std::vector<std::int64_t>(to.begin(), to.end()));
  return emit(Op::Reshape, {value}, attrs, hint);
}

ValueId LayerCall::activation(ValueId x, const std::string& name, const std::string& hint) {
  if (name == "linear") return x;
  if (name == "relu") return emit(Op::Relu, {x}, {}, hint);
  if (name == "relu6") {
    Attributes a;
    a.set("min", 0.0f);
    a.set("max", 6.0f);
    return emit(Op::Clip, {x}, a, hint);
  }
  if (name == "sigmoid") return emit(Op::Sigmoid, {x}, {}, hint);
  if (name == "tanh") return emit(Op::Tanh, {x}, {}, hint);
  if (name == "exponential") return emit(Op::Exp, {x}, {}, hint);
  if (name == "hard_sigmoid") {
    // Keras 2's definition: clip(0.2 x + 0.5, 0, 1) (Keras 3 changed it to relu6(x+3)/6).
    Attributes a;
    a.set("alpha", 0.2f);
    a.set("beta", 0.5f);
    return emit(Op::HardSigmoid, {x}, a, hint);
  }
  if (name == "swish" || name == "silu") {
    ValueId s = emit(Op::Sigmoid, {x}, {}, hint + "_sigmoid");
    return emit(Op::Mul, {x, s}, {}, hint);
  }
  if (name == "softmax") {
    if (shape(x).size() < 2) fail("softmax needs a tensor of rank 2 or more");
    Attributes a;
    a.set("axis", std::int64_t(shape(x).size()) - 1);
    return emit(Op::Softmax, {x}, a, hint);
  }
  fail(
      "activation '{}' is not supported (supported: linear, relu, relu6, sigmoid, tanh, softmax, swish, silu, "
      "hard_sigmoid, exponential)",
      name);
}

std::pair<std::int64_t, std::int64_t> same_padding(std::int64_t in, std::int64_t kernel, std::int64_t stride,
                                                   std::int64_t dilation) {
  const std::int64_t out = (in + stride - 1) / stride;
  const std::int64_t total = std::max<std::int64_t>((out - 1) * stride + (kernel - 1) * dilation + 1 - in, 0);
  return {total / 2, total - total / 2};
}

}  // namespace tinyq::keras_import
