// Internal: 1-D and 2-D Keras windows (convolution, pooling) as the IR's 2-D window
// attributes. A 1-D layer's [N, L, C] input runs as [N, 1, L, C], as TensorFlow itself
// expands it, so its kernel and pads sit on the W axis.
#pragma once

#include "frontend/keras/importer.hpp"

namespace tinyq::keras_import {

using Ints = std::vector<std::int64_t>;

struct Window {
  Ints kernel{1, 1}, strides{1, 1}, dilations{1, 1}, pads{0, 0, 0, 0};  // pads: top, left, bottom, right
};

// Bounds on window parameters read from a config (hostile files must not overflow shapes).
inline constexpr std::int64_t kMaxWindow = 4096;

// The input as [N, H, W, C]: rank 4 as it is for 2-D layers, [N, L, C] reshaped for 1-D ones.
ValueId to_nhwc(LayerCall& call, ValueId x, int dims);
// A 2-D result back to the layer's rank ([N, 1, L, C] -> [N, L, C] for 1-D layers).
ValueId from_nhwc(LayerCall& call, ValueId y, int dims);

// kernel from `kernel_key`, strides (default: the kernel when `strides_default_kernel`,
// as pooling does), dilation_rate, and padding valid / same (Keras/TF rule) / causal (1-D
// convolutions only) resolved to pads for the NHWC input shape `x`.
Window read_window(const LayerCall& call, const Shape& x, int dims, const char* kernel_key, bool strides_default_kernel,
                   bool allow_causal);

// The IR attributes strides, dilations, pads.
Attributes window_attrs(const Window& w);

// A [before, after] pair per spatial axis from Keras' padding / cropping forms: an int, one
// pair, or (2-D) a pair per axis.
std::vector<std::pair<std::int64_t, std::int64_t>> padding_pairs(const LayerCall& call, const char* key, int dims,
                                                                 std::int64_t fallback);

}  // namespace tinyq::keras_import
