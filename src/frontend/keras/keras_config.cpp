#include "frontend/keras/keras_config.hpp"

#include <unordered_set>

#include "util/error.hpp"

namespace tinyq::keras_import {

namespace {

using nlohmann::json;

// Keras configs nest about ten levels deep (initializer configs inside layer configs inside
// the model). A hostile attribute of a million '[' must not reach a recursive walk.
constexpr int kMaxNesting = 100;
constexpr std::size_t kMaxLayers = 100000;

void check_nesting(const std::string& text, const std::string& where) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxNesting) fail(where, "model_config nests deeper than {} levels", kMaxNesting);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

std::string layer_at(const std::string& where, const KerasLayer& layer) {
  return fmt::format("{}: layer '{}' ({})", where, layer.name, layer.class_name);
}

// [name, node, tensor(, kwargs)] as Keras 2 writes each inbound tensor and model input/output.
TensorRef tensor_ref(const json& j, const std::string& where, const char* what) {
  if (!j.is_array() || j.size() < 3 || j.size() > 4 || !j[0].is_string() || !j[1].is_number_integer() ||
      !j[2].is_number_integer())
    fail(where, "{} is not a [layer_name, node_index, tensor_index] reference", what);
  TensorRef ref{j[0].get<std::string>(), j[1].get<std::int64_t>(), j[2].get<std::int64_t>()};
  if (ref.layer != one_line(ref.layer)) fail(where, "{} names a layer with control characters", what);
  if (ref.node < 0 || ref.tensor < 0) fail(where, "{} '{}' has a negative index", what, ref.layer);
  if (j.size() == 4) {
    // Call arguments beyond the tensors: only `training` (ignored: tinyq runs inference).
    if (!j[3].is_object()) fail(where, "{} '{}' has malformed call arguments", what, ref.layer);
    for (auto& [key, value] : j[3].items())
      if (key != "training" && !value.is_null())
        fail(where, "{} '{}' is called with argument '{}', which is not supported", what, ref.layer, one_line(key));
  }
  return ref;
}

// input_layers / output_layers: a list of references, or a single one (Keras writes the
// bare triple for some single-input models).
std::vector<TensorRef> tensor_refs(const json& config, const char* key, const std::string& where) {
  auto it = config.find(key);
  if (it == config.end() || !it->is_array() || it->empty()) fail(where, "model_config has no '{}' list", key);
  if ((*it)[0].is_string()) return {tensor_ref(*it, where, key)};
  std::vector<TensorRef> refs;
  for (auto& r : *it) refs.push_back(tensor_ref(r, where, key));
  return refs;
}

KerasLayer read_layer(const json& j, const std::string& where, std::size_t index) {
  if (!j.is_object()) fail(where, "layer {} in model_config is not an object", index);
  KerasLayer layer;
  auto cls = j.find("class_name");
  auto config = j.find("config");
  if (cls == j.end() || !cls->is_string()) fail(where, "layer {} in model_config has no class_name", index);
  if (config == j.end() || !config->is_object()) fail(where, "layer {} in model_config has no config object", index);
  layer.class_name = cls->get<std::string>();
  if (layer.class_name != one_line(layer.class_name))
    fail(where, "layer {} in model_config has control characters in its class name", index);
  layer.config = *config;
  const json* name = nullptr;
  if (auto it = j.find("name"); it != j.end())
    name = &*it;
  else if (auto in_config = config->find("name"); in_config != config->end())
    name = &*in_config;
  if (name == nullptr || !name->is_string() || name->get_ref<const std::string&>().empty())
    fail(where, "layer {} ({}) in model_config has no name", index, layer.class_name);
  layer.name = name->get<std::string>();
  if (layer.name != one_line(layer.name))
    fail(where, "layer {} in model_config has control characters in its name", index);
  return layer;
}

KerasModel read_functional(const json& config, const std::string& where) {
  KerasModel model;
  auto layers = config.find("layers");
  if (layers == config.end() || !layers->is_array()) fail(where, "model_config has no 'layers' list");
  if (layers->size() > kMaxLayers) fail(where, "model_config lists more than {} layers", kMaxLayers);
  for (std::size_t i = 0; i < layers->size(); ++i) {
    const json& entry = (*layers)[i];
    KerasLayer layer = read_layer(entry, where, i);
    auto inbound = entry.find("inbound_nodes");
    if (inbound != entry.end() && !inbound->is_null()) {
      if (!inbound->is_array()) fail(layer_at(where, layer), "inbound_nodes is not a list");
      for (auto& node : *inbound) {
        if (!node.is_array() || node.empty())
          fail(layer_at(where, layer), "inbound node is not a list of [layer, node, tensor] (a Keras 3 file?)");
        std::vector<TensorRef> call;
        for (auto& ref : node) call.push_back(tensor_ref(ref, layer_at(where, layer), "inbound tensor"));
        layer.calls.push_back(std::move(call));
      }
    }
    model.layers.push_back(std::move(layer));
  }
  model.inputs = tensor_refs(config, "input_layers", where);
  model.outputs = tensor_refs(config, "output_layers", where);
  return model;
}

// A Sequential model: each layer called once on the previous one's output. Its input is an
// InputLayer listed first, or (older files) the first layer's batch_input_shape.
KerasModel read_sequential(const json& config, const std::string& where) {
  const json* layers = &config;
  if (config.is_object()) {
    auto it = config.find("layers");
    if (it == config.end() || !it->is_array()) fail(where, "Sequential model_config has no 'layers' list");
    layers = &*it;
  } else if (!config.is_array()) {
    fail(where, "Sequential model_config is neither a list of layers nor an object");
  }
  if (layers->empty()) fail(where, "Sequential model has no layers");
  if (layers->size() > kMaxLayers) fail(where, "model_config lists more than {} layers", kMaxLayers);
  KerasModel model;
  for (std::size_t i = 0; i < layers->size(); ++i) model.layers.push_back(read_layer((*layers)[i], where, i));
  if (model.layers[0].class_name != "InputLayer") {
    const KerasLayer& first = model.layers[0];
    KerasLayer input;
    input.class_name = "InputLayer";
    input.name = first.name + "_input";  // the name Keras gives it
    for (const char* key : {"batch_input_shape", "batch_shape", "dtype"})
      if (auto it = first.config.find(key); it != first.config.end()) input.config[key] = *it;
    if (!input.config.contains("batch_input_shape") && !input.config.contains("batch_shape"))
      fail(layer_at(where, first), "the first layer of a Sequential model has no batch_input_shape");
    input.config["name"] = input.name;
    model.layers.insert(model.layers.begin(), std::move(input));
  }
  for (std::size_t i = 1; i < model.layers.size(); ++i) {
    if (model.layers[i].class_name == "InputLayer")
      fail(layer_at(where, model.layers[i]), "an InputLayer after the first layer of a Sequential model");
    model.layers[i].calls = {{TensorRef{model.layers[i - 1].name, 0, 0}}};
  }
  model.inputs = {TensorRef{model.layers.front().name, 0, 0}};
  model.outputs = {TensorRef{model.layers.back().name, 0, 0}};
  return model;
}

}  // namespace

std::string one_line(std::string text) {
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return text;
}

KerasModel parse_model_config(const std::string& text, const std::string& where) {
  check_nesting(text, where);
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    fail(where, "model_config is not valid JSON (byte {})", e.byte);
  }
  if (!root.is_object()) fail(where, "model_config is not a JSON object");
  auto cls = root.find("class_name");
  auto config = root.find("config");
  if (cls == root.end() || !cls->is_string()) fail(where, "model_config has no class_name");
  if (config == root.end()) fail(where, "model_config has no config");
  const std::string class_name = cls->get<std::string>();
  KerasModel model;
  if (class_name == "Sequential") {
    model = read_sequential(*config, where);
  } else if (class_name == "Functional" || class_name == "Model") {
    if (!config->is_object()) fail(where, "model_config's config is not an object");
    model = read_functional(*config, where);
  } else {
    fail(where,
         "model class '{}' is not supported: only Sequential and Functional models have their layer graph in the "
         "file (a subclassed model does not)",
         one_line(class_name));
  }
  model.class_name = class_name;
  std::unordered_set<std::string> names;
  for (auto& layer : model.layers)
    if (!names.insert(layer.name).second) fail(layer_at(where, layer), "a second layer has this name");
  return model;
}

}  // namespace tinyq::keras_import
