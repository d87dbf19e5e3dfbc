#pragma once
// Loading evaluation datasets (`--data`, `--labels`, `--scale`, `--mean`, `--std`) into
// model-ready tensors.
#include <cstdint>
#include <string>
#include <vector>

#include "ir/tensor.hpp"

namespace tinyq {

struct Preprocess {
  float scale = 1.0f / 255;  // applied to uint8 data only
  std::vector<float> mean;   // empty, one value, or one per channel (axis 1)
  std::vector<float> std;    // empty, one value, or one per channel (axis 1)
};

// Loads samples as an f32 tensor [N, ...] from a .npy file or an IDX file (raw or gzipped;
// detected by content magic or by a name containing "idx" / "-ubyte"). uint8 data is
// multiplied by `scale`; other data is converted unscaled. Then x = (x - mean[c]) / std[c]
// with c the index on axis 1. IDX images N×H×W become N×1×H×W (one channel, NCHW).
// Errors (tinyq::Error naming the file): directories ("image folders are not supported
// yet"), unknown formats, NaN/Inf in the data (first bad index named), per-channel
// mean/std counts that do not match axis 1, zero or non-finite std, no samples.
Tensor load_samples(const std::string& path, const Preprocess& preprocess);

// Loads class labels from .npy (any integer dtype, or floats holding integers) or IDX.
// The array must be 1-D or N×1; negative or non-integer labels are errors.
std::vector<std::int64_t> load_labels(const std::string& path);

// Where the Debian package dataset-fashion-mnist installs its files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
std::string fashion_mnist_path(bool train, bool labels);

// Fashion-MNIST from kFashionMnistDir: images as f32 [N,1,28,28] scaled to [0,1]
// (Preprocess defaults), labels as i64 [N]. train=false gives the 10000-sample test set.
// Fails with "install dataset-fashion-mnist" when the package is missing.
Tensor fashion_mnist(bool train, bool labels);

}  // namespace tinyq
