// Internal: everything the importer takes from a Keras .h5 file, read up front.
//
// Why a child process: libhdf5 (1.10 as Debian ships it) crashes on some corrupt files
// (out-of-bounds reads in its global heap when decoding variable-length strings, found by
// mutating real Keras files). tinyq promises one error line, never a crash, so the HDF5
// reading runs in a forked child that sends the contents back through a pipe; a crash or a
// hang there becomes one tinyq::Error. The parent never calls HDF5.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ir/tensor.hpp"

namespace tinyq::keras_import {

struct StoredWeight {
  std::string name;   // as in weight_names ("conv2d/kernel:0")
  Tensor tensor;      // float32, the stored shape (empty when `error` is set)
  std::string error;  // why it could not be read (missing, not numeric, too large)
};

struct StoredLayer {
  std::vector<StoredWeight> weights;  // in weight_names order
  std::string error;                  // why the group or its weight_names could not be read
};

struct KerasFileContents {
  std::optional<std::string> model_config, keras_version, backend;  // root attributes
  bool has_model_weights = false;
  std::optional<std::vector<std::string>> layer_names;  // model_weights' list (chunked or not)
  std::map<std::string, StoredLayer> layers;            // model_weights/<layer>
};

// Limits on what the reader loads (a hostile dataset can declare 2^40 elements).
inline constexpr std::int64_t kMaxWeightBytes = std::int64_t{1} << 30;  // all weights together
inline constexpr std::size_t kMaxStoredLayers = 100000;
inline constexpr std::size_t kMaxWeightsPerLayer = 10000;
inline constexpr unsigned kReadSeconds = 120;  // a corrupt file must not hang the import

// Reads the file in a child process (see above). Errors that concern the whole file (not
// HDF5, truncated, unreadable root attributes) throw tinyq::Error naming `path`.
KerasFileContents read_keras_file(const std::string& path);

// The reading itself, in the calling process (what the child runs).
KerasFileContents read_keras_file_here(const std::string& path);

// The contents as bytes and back (the pipe between child and parent).
std::string encode_contents(const KerasFileContents& contents);
KerasFileContents decode_contents(const std::string& bytes, const std::string& where);

}  // namespace tinyq::keras_import
