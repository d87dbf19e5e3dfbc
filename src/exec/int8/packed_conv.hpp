#pragma once
// Host-only fast path for the runtime's int8 convolution (rt::conv2d_s8) and dense layer
// (rt::dense_s8): a blocked GEMM with exact int32 accumulation, weights repacked once.
//
// The runtime kernels stay the reference (they are what the MCU runs); this class computes
// the very same integers, only in a different order: every product (q + input_offset) * w
// is exact, int32 addition is associative (the host guarantees the accumulator fits), and
// the epilogue is the runtime's own rt::requantize_channel + clamp. So the output bytes are
// identical, which tests/test_exec_int8_packed_conv.cpp checks on random shapes.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "exec/int8/requant_blocks.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq::int8 {

class PackedConv {
 public:
  // Copies what it needs from the arguments (weights repacked, bias and requantization).
  PackedConv(const rt::ConvParams& p, const std::int8_t* weights, const std::int32_t* bias);
  // A dense layer is a 1x1 convolution over a rows x 1 image: the same weight layout.
  static PackedConv dense(const rt::DenseParams& p, const std::int8_t* weights, const std::int32_t* bias);

  // int16 elements of scratch that run() needs.
  std::size_t scratch_elements() const;
  void run(const std::int8_t* input, std::int8_t* output, std::int16_t* scratch) const;

 private:
  void run_image(const std::int8_t* image, std::int8_t* output, std::int16_t* scratch) const;
  void build_patches(const std::int8_t* image, int group, int first_pixel, int pixels, std::int16_t* patches) const;

  rt::ConvParams p_;
  int group_in_c_ = 0, group_out_c_ = 0;
  int depth_ = 0;         // kernel_h * kernel_w * group_in_c: one output's dot-product length
  int pairs_ = 0;         // depth rounded up to pairs (the int16 multiply-add unit)
  int oc_blocks_ = 0;     // output channels of a group in blocks of kLanes, rounded up
  int block_pixels_ = 0;  // output pixels whose patches are built at once
  // [group][oc block][pair][kLanes][2]: the two weights of one pair for kLanes output
  // channels side by side; padding channels and the odd tail are 0.
  std::vector<std::int16_t> weights_;
  RequantBlocks epilogue_;  // block g * oc_blocks_ + b: channels of that weight block
};

}  // namespace tinyq::int8
