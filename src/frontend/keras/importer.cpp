// The Importer: walks the Keras layer graph in dependency order and hands each layer call to
// its converter; graph inputs from InputLayers, outputs from output_layers.
#include "frontend/keras/importer.hpp"

#include <algorithm>
#include <functional>
#include <queue>
#include <unordered_map>

#include "frontend/keras/hdf5_file.hpp"

namespace tinyq::keras_import {

namespace {

using CallKey = std::pair<std::string, std::int64_t>;  // layer name, call (node) index

std::string list_supported() {
  std::string list;
  for (auto& [name, _] : converters()) list += (list.empty() ? "" : " ") + name;
  return list;
}

}  // namespace

const ConverterTable& converters() {
  static const ConverterTable table = [] {
    ConverterTable t;
    register_conv_converters(t);
    register_activation_converters(t);
    register_pool_converters(t);
    register_shape_converters(t);
    register_recurrent_converters(t);
    return t;
  }();
  return table;
}

std::string Importer::unique_node_name(const std::string& base) {
  std::string name = base;
  for (int i = 1; node_names_.count(name); ++i) name = base + "_" + std::to_string(i);
  node_names_.insert(name);
  return name;
}

std::string Importer::unique_value_name(const std::string& base) {
  std::string name = base;
  for (int i = 1; value_names_.count(name); ++i) name = base + "_" + std::to_string(i);
  return name;
}

ValueId Importer::add_value(Value value) {
  value.name = unique_value_name(value.name);
  value_names_.insert(value.name);
  return graph_.add_value(std::move(value));
}

bool Importer::listed_in_weights(const std::string& layer) {
  if (!file_.layer_names) return true;  // no list to check against
  if (!weight_layers_) weight_layers_.emplace(file_.layer_names->begin(), file_.layer_names->end());
  return weight_layers_->count(layer) > 0;
}

ValueId Importer::add_input(const KerasLayer& layer) {
  const std::string at = fmt::format("{}: layer '{}' (InputLayer)", where_, layer.name);
  auto shape_it = layer.config.find("batch_input_shape");
  if (shape_it == layer.config.end()) shape_it = layer.config.find("batch_shape");
  if (shape_it == layer.config.end() || !shape_it->is_array() || shape_it->empty() || shape_it->size() > 6)
    fail(at, "needs a batch_input_shape list of 1 to 6 dimensions");
  Shape shape;
  for (std::size_t d = 0; d < shape_it->size(); ++d) {
    const auto& dim = (*shape_it)[d];
    if (d == 0 && dim.is_null()) {
      shape.push_back(1);  // a dynamic batch runs one sample at a time
    } else if (dim.is_number_integer() && dim.get<std::int64_t>() >= 1 && dim.get<std::int64_t>() <= kMaxElements) {
      shape.push_back(dim.get<std::int64_t>());
    } else if (dim.is_null()) {
      fail(at, "dimension {} is unknown (None); tinyq needs fixed input sizes", d);
    } else {
      fail(at, "dimension {} must be a positive integer", d);
    }
  }
  element_count(shape, at);
  if (auto dtype = layer.config.find("dtype"); dtype != layer.config.end() && !dtype->is_null()) {
    const std::string type = dtype->is_string() ? dtype->get<std::string>() : std::string("(not a string)");
    if (type != "float32" && type != "float16" && type != "float64" && type != "bfloat16")
      fail(at, "input dtype '{}' is not supported; tinyq models take float inputs", one_line(type));
  }
  for (const char* key : {"sparse", "ragged"})
    if (auto it = layer.config.find(key); it != layer.config.end() && it->is_boolean() && it->get<bool>())
      fail(at, "{} inputs are not supported", key);
  Value v;
  v.name = layer.name;
  v.shape = shape;
  ValueId id = add_value(std::move(v));
  graph_.inputs.push_back(id);
  return id;
}

void Importer::import_model(const KerasModel& model) {
  // Every (layer, call) gets a dense id, in file order; an InputLayer has one call.
  std::unordered_map<std::string, std::size_t> layer_index;
  std::vector<std::size_t> first_call;
  std::size_t call_count = 0;
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    layer_index[model.layers[i].name] = i;
    first_call.push_back(call_count);
    call_count += model.layers[i].class_name == "InputLayer" ? 1 : model.layers[i].calls.size();
  }
  std::vector<std::size_t> call_layer(call_count);
  std::vector<std::int64_t> call_number(call_count);
  for (std::size_t i = 0; i < model.layers.size(); ++i)
    for (std::size_t c = first_call[i]; c < (i + 1 < first_call.size() ? first_call[i + 1] : call_count); ++c) {
      call_layer[c] = i;
      call_number[c] = std::int64_t(c - first_call[i]);
    }
  auto resolve = [&](const TensorRef& ref, const std::string& context) -> std::size_t {
    auto it = layer_index.find(ref.layer);
    if (it == layer_index.end()) fail(context, "refers to layer '{}', which the model does not have", ref.layer);
    const KerasLayer& layer = model.layers[it->second];
    const std::size_t calls = layer.class_name == "InputLayer" ? 1 : layer.calls.size();
    if (std::uint64_t(ref.node) >= calls)
      fail(context, "refers to call {} of layer '{}', which is called {} time(s)", ref.node, ref.layer, calls);
    if (ref.tensor != 0)
      fail(context, "refers to output {} of layer '{}'; the supported layers have one output", ref.tensor, ref.layer);
    return first_call[it->second] + std::size_t(ref.node);
  };
  auto call_at = [&](std::size_t c) {
    const KerasLayer& l = model.layers[call_layer[c]];
    return fmt::format("{}: layer '{}' ({})", where_, l.name, l.class_name);
  };
  auto deps = [&](std::size_t c) -> const std::vector<TensorRef>& {
    static const std::vector<TensorRef> none;
    const KerasLayer& l = model.layers[call_layer[c]];
    return l.class_name == "InputLayer" ? none : l.calls[std::size_t(call_number[c])];
  };

  // Graph inputs first, in input_layers order (the order users feed them).
  std::vector<ValueId> values(call_count, kNoValue);
  for (const TensorRef& ref : model.inputs) {
    const std::size_t c = resolve(ref, where_ + ": input_layers");
    if (model.layers[call_layer[c]].class_name != "InputLayer")
      fail(where_, "input_layers names '{}', which is not an InputLayer", ref.layer);
    if (values[c] != kNoValue) fail(where_, "input_layers names '{}' twice", ref.layer);
    values[c] = add_input(model.layers[call_layer[c]]);
  }

  // The calls the outputs depend on (iterative: hostile files chain thousands of layers).
  std::vector<char> needed(call_count, 0);
  std::vector<std::size_t> stack;
  for (const TensorRef& ref : model.outputs) stack.push_back(resolve(ref, where_ + ": output_layers"));
  while (!stack.empty()) {
    const std::size_t c = stack.back();
    stack.pop_back();
    if (needed[c]) continue;
    needed[c] = 1;
    for (const TensorRef& ref : deps(c)) stack.push_back(resolve(ref, call_at(c)));
  }

  // Kahn's algorithm, smallest id first: layers convert in file order where dependencies allow.
  std::vector<std::size_t> waiting(call_count, 0);
  std::vector<std::vector<std::size_t>> users(call_count);
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
  std::size_t remaining = 0;
  for (std::size_t c = 0; c < call_count; ++c) {
    if (!needed[c]) continue;
    ++remaining;
    for (const TensorRef& ref : deps(c)) {
      ++waiting[c];
      users[resolve(ref, call_at(c))].push_back(c);
    }
    if (waiting[c] == 0) ready.push(c);
  }
  const auto& table = converters();
  while (!ready.empty()) {
    const std::size_t c = ready.top();
    ready.pop();
    --remaining;
    for (std::size_t u : users[c])
      if (--waiting[u] == 0) ready.push(u);
    const KerasLayer& layer = model.layers[call_layer[c]];
    if (layer.class_name == "InputLayer") {
      if (values[c] == kNoValue) fail(call_at(c), "is used by the model but not listed in input_layers");
      continue;
    }
    auto converter = table.find(layer.class_name);
    if (converter == table.end()) {
      if (layer.class_name == "Functional" || layer.class_name == "Sequential" || layer.class_name == "Model")
        fail(call_at(c), "nested models are not supported (save the model with its layers flattened)");
      fail(call_at(c), "layer class '{}' is not supported; supported: {}", layer.class_name, list_supported());
    }
    std::vector<ValueId> inputs;
    for (const TensorRef& ref : deps(c)) inputs.push_back(values[resolve(ref, call_at(c))]);
    LayerCall call(*this, layer, std::move(inputs));
    const std::size_t first_node = graph_.nodes.size();
    ValueId out = kNoValue;
    try {
      out = converter->second(call);
    } catch (const nlohmann::json::exception& e) {
      fail(call_at(c), "malformed layer config ({})", one_line(e.what()));
    }
    // The value standing for the layer's output carries the layer's name (call k > 0: name_callk).
    for (std::size_t n = first_node; n < graph_.nodes.size(); ++n) {
      Node& node = graph_.nodes[n];
      if (node.outputs[0] != out) continue;
      const std::string name = call_number[c] == 0 ? layer.name : layer.name + "_call" + std::to_string(call_number[c]);
      Value& v = graph_.value(out);
      value_names_.erase(v.name);
      v.name = unique_value_name(name);
      value_names_.insert(v.name);
      node_names_.erase(node.name);
      node.name = unique_node_name(name);
    }
    values[c] = out;
  }
  if (remaining != 0) {
    for (std::size_t c = 0; c < call_count; ++c)
      if (needed[c] && values[c] == kNoValue) fail(call_at(c), "is part of a cycle in the layer graph");
  }
  add_outputs(model, [&] {
    std::map<CallKey, ValueId> by_key;
    for (std::size_t c = 0; c < call_count; ++c)
      if (values[c] != kNoValue) by_key[{model.layers[call_layer[c]].name, call_number[c]}] = values[c];
    return by_key;
  }());
  graph_.validate();
}

void Importer::add_outputs(const KerasModel& model, const std::map<CallKey, ValueId>& values) {
  for (const TensorRef& ref : model.outputs) {
    ValueId id = values.at({ref.layer, ref.node});
    const Value& v = graph_.value(id);
    const bool is_input = std::find(graph_.inputs.begin(), graph_.inputs.end(), id) != graph_.inputs.end();
    if (is_input || v.is_constant() || graph_.is_graph_output(id)) {
      // Outputs must be computed values with their own names: copy through an Identity.
      Node n;
      n.name = unique_node_name(ref.layer + "/output");
      n.op = Op::Identity;
      n.inputs = {id};
      Value copy;
      copy.name = ref.layer + "_output";
      copy.shape = v.shape;
      id = add_value(std::move(copy));
      n.outputs = {id};
      graph_.nodes.push_back(std::move(n));
    }
    graph_.outputs.push_back(id);
  }
}

}  // namespace tinyq::keras_import
