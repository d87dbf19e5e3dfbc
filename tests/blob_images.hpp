#pragma once
// 16x16 images of 1-3 Gaussian blobs (amplitude 0.3-1, sigma 1.5-4 px, clipped to 1): the
// distribution models/upsampling/conv_autoencoder.onnx was trained to reconstruct
// (make_upsampling.py draws its training images the same way).
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "ir/tensor.hpp"

namespace tinyq::testing {

// n images as an [n, 1, 16, 16] float tensor (NCHW, as the ONNX model takes them).
inline Tensor blob_images(std::int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> v(std::size_t(n) * 256, 0.0f);
  for (std::int64_t i = 0; i < n; ++i) {
    const int blobs = 1 + int(rng() % 3);
    for (int b = 0; b < blobs; ++b) {
      const float amp = 0.3f + 0.7f * u(rng), cy = 15 * u(rng), cx = 15 * u(rng), s = 1.5f + 2.5f * u(rng);
      for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 16; ++x)
          v[std::size_t(i * 256 + y * 16 + x)] +=
              amp * std::exp(-((y - cy) * (y - cy) + (x - cx) * (x - cx)) / (2 * s * s));
    }
  }
  for (float& x : v) x = std::min(x, 1.0f);
  return Tensor::from_floats({n, 1, 16, 16}, v);
}

}  // namespace tinyq::testing
