// Entry point: a Keras 2 .h5 file (model.save) -> float IR. The file's root attribute
// model_config holds the layer graph as JSON; the group model_weights holds one group per
// layer whose weight_names attribute lists its arrays in the order Keras saves them.
#include "frontend/keras/keras_import.hpp"

#include <filesystem>

#include "frontend/keras/hdf5_file.hpp"
#include "frontend/keras/importer.hpp"
#include "frontend/keras/keras_config.hpp"
#include "util/error.hpp"

namespace tinyq {

using namespace keras_import;

namespace {

std::string root_string(const Hdf5File& file, const char* name) {
  auto values = read_string_attribute(file.root(), name, file.path());
  if (values.size() != 1) fail(file.path(), "attribute '{}' must be one string", name);
  return values[0];
}

Graph import_file(const Hdf5File& file) {
  const std::string& path = file.path();
  if (!has_attribute(file.root(), "model_config"))
    fail(path,
         "has no model_config attribute: not a whole Keras model saved with model.save (a weights-only file from "
         "save_weights has no architecture)");
  if (has_attribute(file.root(), "keras_version")) {
    const std::string version = root_string(file, "keras_version");
    if (!version.empty() && version[0] >= '3' && version[0] <= '9')
      fail(path, "Keras {} files are not supported (Keras 2.x .h5 files are)", one_line(version));
  }
  if (has_attribute(file.root(), "backend") && root_string(file, "backend") == "theano")
    fail(path, "files saved by the Theano backend (flipped convolution kernels) are not supported");
  const KerasModel model = parse_model_config(root_string(file, "model_config"), path);
  H5Handle weights;
  if (H5Lexists(file.root(), "model_weights", H5P_DEFAULT) > 0)
    weights = open_group(file.root(), "model_weights", path);
  else
    H5Eclear2(H5E_DEFAULT);
  Importer importer(path, weights.valid() ? weights.get() : H5I_INVALID_HID);
  importer.import_model(model);
  return importer.take();
}

}  // namespace

Graph import_keras_file(const std::string& path) {
  if (std::error_code ec; std::filesystem::is_directory(path, ec)) fail(path, "is a folder, not a Keras .h5 file");
  if (std::error_code ec; !std::filesystem::exists(path, ec)) fail(path, "cannot open file");
  const Hdf5File file(path);
  try {
    return import_file(file);
  } catch (const nlohmann::json::exception& e) {
    fail(path, "malformed model_config ({})", one_line(e.what()));
  }
}

}  // namespace tinyq
