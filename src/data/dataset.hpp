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
  std::vector<float> mean;   // empty, one value, or one per channel (axis 1, or the last axis)
  std::vector<float> std;    // empty, one value, or one per channel (axis 1, or the last axis)
  // Channels on the last axis (NHWC data, as TFLite and Keras models take it), not axis 1.
  bool channels_last = false;
};

// Loads samples as an f32 tensor [N, ...] from a .npy file or an IDX file (raw or gzipped;
// detected by content magic or by a name containing "idx" / "-ubyte"). uint8 data is
// multiplied by `scale`; other data is converted unscaled. Then x = (x - mean[c]) / std[c]
// with c the index on axis 1 (the last axis with `channels_last`). IDX images N×H×W become N×1×H×W (one channel, NCHW).
// Errors (tinyq::Error naming the file): directories ("image folders are not supported
// yet"), unknown formats, NaN/Inf in the data or after preprocessing (check_finite's
// message), per-channel mean/std counts that do not match axis 1, a scale or std that is not
// finite and > 0, a non-finite mean, no samples.
Tensor load_samples(const std::string& path, const Preprocess& preprocess);

// Throws tinyq::Error naming `path` and the first NaN or infinite element of f32 `data`:
// "x.npy: element 1234 (sample 1, index 450) is NaN" (sample = index on axis 0, index = flat
// index inside that sample). A float64 .npy value beyond the float32 range reads as Inf and
// is named as such. Other dtypes always pass. The one check every command's data goes through.
void check_finite(const std::string& path, const Tensor& data);

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
