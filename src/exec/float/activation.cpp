// The activation clamp and the bias + activation epilogue every GEMM-based kernel ends with.
#include <limits>

#include "exec/float/kernel_common.hpp"

namespace tinyq::fk {

Activation no_activation() { return {-std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity()}; }

namespace detail {

void add_bias_and_activate(std::size_t rows, int channels, const float* bias, float* data, Activation act) {
  const std::size_t c_count = static_cast<std::size_t>(channels);
  for (std::size_t r = 0; r < rows; ++r) {
    float* row = data + r * c_count;
    if (bias != nullptr) {
      for (std::size_t c = 0; c < c_count; ++c) row[c] = clamp(row[c] + bias[c], act);
    } else {
      for (std::size_t c = 0; c < c_count; ++c) row[c] = clamp(row[c], act);
    }
  }
}

}  // namespace detail
}  // namespace tinyq::fk
