#pragma once
// The inner loop of the host int8 GEMM (PackedConv): a tile of kTilePixels output pixels by
// one or two blocks of kLanes output channels, accumulated exactly in int32.
#include <cstddef>
#include <cstdint>

namespace tinyq::int8 {

inline constexpr int kLanes = 8;       // output channels per packed weight block (one AVX2 register of int32)
inline constexpr int kTilePixels = 4;  // output pixels per tile
inline constexpr int kMaxBlocks = 2;   // weight blocks per tile

// For p < kTilePixels and j < blocks * kLanes:
//   acc[p * kMaxBlocks * kLanes + j] = sum over k < pairs of
//       patches[p * stride + 2k] * w(j)[k][0] + patches[p * stride + 2k + 1] * w(j)[k][1]
// where block b = j / kLanes starts at weights + b * block_stride and is laid out
// [pairs][kLanes][2] (int16). Products of int16 values are exact in int32; the sums wrap
// modulo 2^32 like any int32 addition, so the result equals the plain scalar dot product
// whenever that one fits int32. `stride` must be even (rows start on 4-byte boundaries).
void dot_tile(const std::int16_t* patches, std::size_t stride, const std::int16_t* weights, std::size_t block_stride,
              int pairs, int blocks, std::int32_t* acc);

}  // namespace tinyq::int8
