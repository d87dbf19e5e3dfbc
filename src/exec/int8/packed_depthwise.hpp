#pragma once
// Host-only fast path for rt::depthwise_conv2d_s8: the same sums, but each output pixel's
// channels are accumulated side by side (vectorisable) instead of one channel at a time
// through the whole window. Bit-identical to the runtime kernel, which stays the reference
// (tests/test_exec_int8_packed_depthwise.cpp).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "exec/int8/requant_blocks.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq::int8 {

class PackedDepthwise {
 public:
  // Copies what it needs from the arguments (weights, bias and requantization).
  PackedDepthwise(const rt::ConvParams& p, const std::int8_t* weights, const std::int32_t* bias);

  // int32 elements of scratch that run() needs.
  std::size_t scratch_elements() const;
  void run(const std::int8_t* input, std::int8_t* output, std::int32_t* scratch) const;

 private:
  rt::ConvParams p_;
  int multiplier_ = 1;
  int lanes_ = 0;                      // out_c rounded up to whole epilogue blocks
  std::vector<std::int32_t> weights_;  // [kernel_h][kernel_w][out_c], as the runtime's
  std::vector<std::int32_t> source_;   // input channel of each output channel: o / multiplier
  RequantBlocks epilogue_;             // adds the bias too
};

}  // namespace tinyq::int8
