// Internal: the layer graph described by a Keras 2 `model_config` attribute (JSON), with
// Sequential and Functional models brought to one form: layers, each called one or more
// times on tensors of other layers.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tinyq::keras_import {

// One tensor of the graph: output `tensor` of call `node` of layer `layer` (Keras 2's
// [layer_name, node_index, tensor_index] triple).
struct TensorRef {
  std::string layer;
  std::int64_t node = 0;
  std::int64_t tensor = 0;
};

struct KerasLayer {
  std::string class_name;
  std::string name;
  nlohmann::json config;  // the layer's own "config" object
  // The inbound tensors of each call of the layer (a shared layer is called several times).
  // Empty for an InputLayer.
  std::vector<std::vector<TensorRef>> calls;
};

struct KerasModel {
  std::string class_name;  // Sequential, Functional or Model
  std::vector<KerasLayer> layers;
  std::vector<TensorRef> inputs, outputs;
};

// `text` with control characters replaced, for one-line error messages quoting the file.
std::string one_line(std::string text);

// Parses and checks the structure (not the layers' parameters, which their converters read).
// Errors name `where` (the file) and, where it applies, the layer.
KerasModel parse_model_config(const std::string& text, const std::string& where);

}  // namespace tinyq::keras_import
