#include "exec/int8/dot_tile.hpp"

#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace tinyq::int8 {

namespace {

#if defined(__AVX2__)

// One pair of patch values (two int16 as one int32) broadcast to every lane: vpmaddwd then
// multiplies it with the pair of weights of 8 output channels and adds the two products.
inline __m256i broadcast_pair(const std::int16_t* p) {
  std::int32_t pair;
  std::memcpy(&pair, p, sizeof pair);
  return _mm256_set1_epi32(pair);
}

template <int Blocks>
void dot_tile_avx2(const std::int16_t* patches, std::size_t stride, const std::int16_t* weights,
                   std::size_t block_stride, int pairs, std::int32_t* acc) {
  __m256i sum[kTilePixels][Blocks];
  for (auto& row : sum)
    for (auto& s : row) s = _mm256_setzero_si256();
  const std::int16_t* w[Blocks];
  for (int b = 0; b < Blocks; ++b) w[b] = weights + std::size_t(b) * block_stride;
  for (int k = 0; k < pairs; ++k) {
    __m256i wv[Blocks];
    for (int b = 0; b < Blocks; ++b)
      wv[b] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b] + std::size_t(k) * 2 * kLanes));
    for (int p = 0; p < kTilePixels; ++p) {
      const __m256i x = broadcast_pair(patches + std::size_t(p) * stride + 2 * std::size_t(k));
      for (int b = 0; b < Blocks; ++b) sum[p][b] = _mm256_add_epi32(sum[p][b], _mm256_madd_epi16(x, wv[b]));
    }
  }
  for (int p = 0; p < kTilePixels; ++p)
    for (int b = 0; b < Blocks; ++b)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + (p * kMaxBlocks + b) * kLanes), sum[p][b]);
}

#endif

// Portable version of the same arithmetic (unsigned sums: wrap-around is defined).
void dot_tile_scalar(const std::int16_t* patches, std::size_t stride, const std::int16_t* weights,
                     std::size_t block_stride, int pairs, int blocks, std::int32_t* acc) {
  for (int p = 0; p < kTilePixels; ++p)
    for (int b = 0; b < blocks; ++b)
      for (int j = 0; j < kLanes; ++j) {
        const std::int16_t* x = patches + std::size_t(p) * stride;
        const std::int16_t* w = weights + std::size_t(b) * block_stride + 2 * std::size_t(j);
        std::uint32_t sum = 0;
        for (int k = 0; k < pairs; ++k, x += 2, w += 2 * kLanes)
          sum += std::uint32_t(std::int32_t(x[0]) * w[0] + std::int32_t(x[1]) * w[1]);
        acc[(p * kMaxBlocks + b) * kLanes + j] = std::int32_t(sum);
      }
}

}  // namespace

void dot_tile(const std::int16_t* patches, std::size_t stride, const std::int16_t* weights, std::size_t block_stride,
              int pairs, int blocks, std::int32_t* acc) {
#if defined(__AVX2__)
  if (blocks == 2) return dot_tile_avx2<2>(patches, stride, weights, block_stride, pairs, acc);
  if (blocks == 1) return dot_tile_avx2<1>(patches, stride, weights, block_stride, pairs, acc);
#endif
  dot_tile_scalar(patches, stride, weights, block_stride, pairs, blocks, acc);
}

}  // namespace tinyq::int8
