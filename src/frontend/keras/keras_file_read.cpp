// Reading a Keras .h5 through libhdf5 (in the reader child, keras_file.hpp): the root
// attributes, model_weights' layer list, and every layer group's weights in weight_names
// order. Problems with one layer's weights are recorded, not thrown: they are reported only
// if the model uses that layer, naming it.
#include "frontend/keras/hdf5_file.hpp"
#include "frontend/keras/keras_file.hpp"
#include "util/error.hpp"

namespace tinyq::keras_import {

namespace {

std::optional<std::string> root_string(hid_t root, const char* name, const std::string& where) {
  if (!has_attribute(root, name)) return std::nullopt;
  auto values = read_string_attribute(root, name, where);
  if (values.size() != 1) fail(where, "attribute '{}' must be one string", name);
  return values[0];
}

// Errors are kept without a file prefix: the importer reports them after "file: layer 'x' (Class): ".
StoredLayer read_layer(hid_t model_weights, const std::string& name, std::int64_t& budget) {
  const std::string where;  // no prefix
  StoredLayer layer;
  try {
    const H5Handle group = open_group(model_weights, name, "model_weights");
    std::vector<std::string> names;
    if (has_attribute(group.get(), "weight_names") || has_attribute(group.get(), "weight_names0"))
      names = read_string_list_attribute(group.get(), "weight_names", where);
    if (names.size() > kMaxWeightsPerLayer) fail(where, "lists more than {} weights", kMaxWeightsPerLayer);
    for (auto& weight_name : names) {
      StoredWeight w;
      w.name = weight_name;
      try {
        w.tensor = read_float_dataset(group.get(), weight_name, budget, where);
      } catch (const Error& e) {
        w.error = e.what();
      }
      layer.weights.push_back(std::move(w));
    }
  } catch (const Error& e) {
    layer.error = e.what();
  }
  return layer;
}

}  // namespace

KerasFileContents read_keras_file_here(const std::string& path) {
  const Hdf5File file(path);
  KerasFileContents contents;
  contents.model_config = root_string(file.root(), "model_config", path);
  contents.keras_version = root_string(file.root(), "keras_version", path);
  contents.backend = root_string(file.root(), "backend", path);
  if (H5Lexists(file.root(), "model_weights", H5P_DEFAULT) <= 0) {
    hdf5_reason();  // clears what H5Lexists may have recorded
    return contents;
  }
  contents.has_model_weights = true;
  const std::string where = path + ": model_weights";
  const H5Handle weights = open_group(file.root(), "model_weights", path);
  std::vector<std::string> layers;
  if (has_attribute(weights.get(), "layer_names") || has_attribute(weights.get(), "layer_names0")) {
    contents.layer_names = read_string_list_attribute(weights.get(), "layer_names", where);
    layers = *contents.layer_names;
  } else {
    layers = list_links(weights.get(), kMaxStoredLayers, where);
  }
  if (layers.size() > kMaxStoredLayers) fail(where, "lists more than {} layers", kMaxStoredLayers);
  std::int64_t budget = kMaxWeightBytes;
  for (auto& name : layers)
    if (!contents.layers.count(name)) contents.layers[name] = read_layer(weights.get(), name, budget);
  return contents;
}

}  // namespace tinyq::keras_import
