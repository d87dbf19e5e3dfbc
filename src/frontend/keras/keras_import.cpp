// Entry point: a Keras 2 .h5 file (model.save) -> float IR. The file's root attribute
// model_config holds the layer graph as JSON; the group model_weights holds one group per
// layer whose weight_names attribute lists its arrays in the order Keras saves them. The
// file is read in a child process (keras_file.hpp), then converted here.
#include "frontend/keras/keras_import.hpp"

#include <filesystem>

#include "frontend/keras/importer.hpp"
#include "frontend/keras/keras_config.hpp"
#include "frontend/keras/keras_file.hpp"
#include "util/error.hpp"

namespace tinyq {

using namespace keras_import;

namespace {

Graph import_contents(const KerasFileContents& file, const std::string& path) {
  if (!file.model_config)
    fail(path,
         "has no model_config attribute: not a whole Keras model saved with model.save (a weights-only file from "
         "save_weights has no architecture)");
  if (file.keras_version) {
    const std::string& version = *file.keras_version;
    if (!version.empty() && version[0] >= '3' && version[0] <= '9')
      fail(path, "Keras {} files are not supported (Keras 2.x .h5 files are)", one_line(version));
  }
  if (file.backend == "theano")
    fail(path, "files saved by the Theano backend (flipped convolution kernels) are not supported");
  const KerasModel model = parse_model_config(*file.model_config, path);
  Importer importer(path, file);
  importer.import_model(model);
  return importer.take();
}

}  // namespace

Graph import_keras_file(const std::string& path) {
  if (std::error_code ec; std::filesystem::is_directory(path, ec)) fail(path, "is a folder, not a Keras .h5 file");
  if (std::error_code ec; !std::filesystem::exists(path, ec)) fail(path, "cannot open file");
  const KerasFileContents file = read_keras_file(path);
  try {
    return import_contents(file, path);
  } catch (const nlohmann::json::exception& e) {
    fail(path, "malformed model_config ({})", one_line(e.what()));
  }
}

}  // namespace tinyq
