#pragma once
// The fast paths' epilogue: int32 accumulators of 8 consecutive output channels -> int8,
// exactly as the runtime computes each one (bias added modulo 2^32, rt::requantize_channel on
// the exact 64-bit product, then clamp(output_offset + v, act_min, act_max)), but 8 at a time
// with AVX2 where the build has it. Both roundings are one shift of product + rounding term:
// tinyq's adds 2^(s-1); TFLite's (rt::requantize_tflite) adds 2^(s-1) + 2^30 or, for products
// below -2^30, 2^(s-1) - 2^30 when its shift is negative (otherwise the two are the same).
#include <cstdint>
#include <vector>

#include "tinyq/kernels.hpp"

namespace tinyq::int8 {

class RequantBlocks {
 public:
  static constexpr int kLanes = 8;

  // Lane i computes the runtime's output channel channel_of[i] (bias: null means 0; the
  // bias and requantization values are copied); lanes with channel -1 pad a block and give
  // unspecified bytes. Blocks are consecutive runs of kLanes lanes.
  RequantBlocks() = default;
  RequantBlocks(const std::int32_t* bias, const rt::Requant& requant, const std::vector<int>& channel_of,
                std::int32_t output_offset, std::int32_t act_min, std::int32_t act_max);

  // out[j] for j < kLanes from acc[j] (block `block`); `out` has room for kLanes bytes.
  void run(int block, const std::int32_t* acc, std::int8_t* out) const;
  // The same for the first `count` lanes only (the rest of `out` is not touched).
  void run_partial(int block, const std::int32_t* acc, std::int8_t* out, int count) const;

 private:
  // One block's constants, laid out for the vector code: multiplies happen on even and odd
  // lanes separately (64-bit products).
  struct alignas(32) Block {
    std::int32_t bias[kLanes];
    std::int32_t multiplier[kLanes];
    std::int64_t shift_even[kLanes / 2], shift_odd[kLanes / 2];  // 31 - shift
    std::int64_t round_even[kLanes / 2], round_odd[kLanes / 2];  // 2^(30 - shift) (+ 2^30: TFLite)
    // The rounding term for products below -2^30: the same as round_* but for TFLite's
    // rounding with a negative shift, where it is 2^(30 - shift) - 2^30.
    std::int64_t round_low_even[kLanes / 2], round_low_odd[kLanes / 2];
  };
  std::vector<Block> blocks_;
  std::int32_t output_offset_ = 0, act_min_ = -128, act_max_ = 127;
  bool tflite_ = false;  // rt::kRoundTflite: round_low_* differ from round_*
};

}  // namespace tinyq::int8
