// Internal: the state of one Keras import and the helpers layer converters use. Each family
// of Keras layers has its converter file (convert_*.cpp); a converter turns one call of a
// layer into IR nodes and returns the value that stands for the layer's output.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "frontend/keras/keras_config.hpp"
#include "frontend/keras/keras_file.hpp"
#include "ir/graph.hpp"
#include "util/error.hpp"

namespace tinyq::keras_import {

class Importer;

// One call of one layer: its config, its input values, and the graph being built.
class LayerCall {
 public:
  LayerCall(Importer& importer, const KerasLayer& layer, std::vector<ValueId> inputs)
      : im_(importer), layer_(layer), inputs_(std::move(inputs)) {}

  const KerasLayer& layer() const { return layer_; }
  Importer& importer() const { return im_; }
  const std::vector<ValueId>& inputs() const { return inputs_; }
  // The only input; error if the layer was called on several tensors.
  ValueId input() const;
  Graph& graph();
  const Shape& shape(ValueId value) const;
  // "file: layer 'name' (Class)", the prefix of every error about this layer.
  std::string at() const;
  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
    tinyq::fail(at(), format, std::forward<Args>(args)...);
  }

  // --- the layer's config, checked: wrong types and values out of range fail naming the key ---
  bool has(const char* key) const;
  std::int64_t integer(const char* key, std::int64_t fallback, std::int64_t lo, std::int64_t hi) const;
  // An int or a list of `count` ints (kernel_size, strides, ...), each in [lo, hi].
  std::vector<std::int64_t> ints(const char* key, std::size_t count, std::int64_t fallback, std::int64_t lo,
                                 std::int64_t hi) const;
  float number(const char* key, float fallback) const;
  std::optional<float> optional_number(const char* key) const;  // absent or null: nullopt
  bool flag(const char* key, bool fallback) const;              // true/false or 0/1
  std::string text(const char* key, const std::string& fallback) const;
  // Refuses channels_first (tinyq's activations are channels_last, as Keras' default).
  void require_channels_last() const;

  // --- weights, in the order Keras saves them, each checked against the shape the config implies ---
  struct WeightSpec {
    std::string name;  // "kernel", "bias", "gamma", ...
    Shape shape;
  };
  std::vector<Tensor> weights(const std::vector<WeightSpec>& expected) const;

  // --- graph building ---
  // A node of this layer; its output value is named after the layer (`hint` tells apart the
  // nodes of a layer that needs several). The output shape is inferred and checked.
  ValueId emit(Op op, std::vector<ValueId> inputs, Attributes attrs = {}, const std::string& hint = "");
  ValueId constant(const std::string& hint, Tensor tensor);
  ValueId reshape(ValueId value, const Shape& shape, const std::string& hint);
  // The layer's fused `activation` (or the name given) applied to `value`.
  ValueId activation(ValueId value, const std::string& name, const std::string& hint = "act");

 private:
  const nlohmann::json* find(const char* key) const;
  Importer& im_;
  const KerasLayer& layer_;
  std::vector<ValueId> inputs_;
};

using Converter = ValueId (*)(LayerCall& call);
// Keras class name -> converter. Filled by register_*_converters in convert_*.cpp.
using ConverterTable = std::map<std::string, Converter>;
void register_conv_converters(ConverterTable& table);
void register_activation_converters(ConverterTable& table);
void register_pool_converters(ConverterTable& table);
void register_shape_converters(ConverterTable& table);
void register_recurrent_converters(ConverterTable& table);
const ConverterTable& converters();

class Importer {
 public:
  // `file`: what was read from the .h5 (weights by layer); it must outlive the importer.
  Importer(std::string where, const KerasFileContents& file) : where_(std::move(where)), file_(file) {}

  void import_model(const KerasModel& model);
  Graph take() { return std::move(graph_); }

  const std::string& where() const { return where_; }
  const KerasFileContents& file() const { return file_; }
  // Whether model_weights' layer_names attribute (Keras' list of layers with stored weights,
  // possibly split into layer_names0, 1, ...) lists `layer`; true when the file has no list.
  bool listed_in_weights(const std::string& layer);
  Graph& graph() { return graph_; }
  // Names no other node / value has (Graph::unique_name scans every value: quadratic on
  // files with thousands of layers).
  std::string unique_node_name(const std::string& base);
  std::string unique_value_name(const std::string& base);
  // A new value or node, named uniquely from `name`.
  ValueId add_value(Value value);

 private:
  ValueId add_input(const KerasLayer& layer);
  void add_outputs(const KerasModel& model, const std::map<std::pair<std::string, std::int64_t>, ValueId>& values);

  std::string where_;
  const KerasFileContents& file_;
  Graph graph_;
  std::unordered_set<std::string> node_names_, value_names_;
  std::optional<std::unordered_set<std::string>> weight_layers_;  // layer_names as a set, on first use
};

// [begin, end] padding of one axis for Keras/TF 'same': total = max((ceil(in/stride)-1)*stride
// + (kernel-1)*dilation + 1 - in, 0), begin = total/2, the extra one at the end.
std::pair<std::int64_t, std::int64_t> same_padding(std::int64_t in, std::int64_t kernel, std::int64_t stride,
                                                   std::int64_t dilation);

}  // namespace tinyq::keras_import
