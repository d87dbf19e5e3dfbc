#include "exec/int8/requant_blocks.hpp"

#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace tinyq::int8 {

RequantBlocks::RequantBlocks(const std::int32_t* bias, const rt::Requant& requant, const std::vector<int>& channel_of,
                             std::int32_t output_offset, std::int32_t act_min, std::int32_t act_max)
    : output_offset_(output_offset),
      act_min_(act_min),
      act_max_(act_max),
      tflite_(requant.rounding == rt::kRoundTflite) {
  blocks_.resize((channel_of.size() + kLanes - 1) / kLanes);
  for (std::size_t i = 0; i < blocks_.size() * kLanes; ++i) {
    Block& b = blocks_[i / kLanes];
    const std::size_t lane = i % kLanes, half = lane / 2;
    const int channel = i < channel_of.size() ? channel_of[i] : -1;
    // Padding lanes: multiplier 0 (their bytes are never used).
    std::int32_t multiplier = 0, shift = 0;
    if (channel >= 0) {
      const std::int32_t r = requant.count == 1 ? 0 : channel;
      multiplier = requant.multiplier[r];
      shift = requant.shift[r];
    }
    b.bias[lane] = channel >= 0 && bias != nullptr ? bias[channel] : 0;
    b.multiplier[lane] = multiplier;
    const std::int64_t right = 31 - shift;
    const std::int64_t round = std::int64_t{1} << (right - 1);
    const std::int64_t quarter = tflite_ && shift < 0 ? std::int64_t{1} << 30 : 0;  // rt::requantize_tflite's nudge
    (lane % 2 == 0 ? b.shift_even : b.shift_odd)[half] = right;
    (lane % 2 == 0 ? b.round_even : b.round_odd)[half] = round + quarter;
    (lane % 2 == 0 ? b.round_low_even : b.round_low_odd)[half] = round - quarter;
  }
}

void RequantBlocks::run_partial(int block, const std::int32_t* acc, std::int8_t* out, int count) const {
  std::int8_t all[kLanes];
  run(block, acc, all);
  std::memcpy(out, all, std::size_t(count));
}

#if defined(__AVX2__)

namespace {

// x >> s per 64-bit lane, arithmetic (AVX2 only shifts 64-bit lanes logically): for x < 0,
// x >> s == ~(~x >>> s).
inline __m256i arithmetic_shift_right(__m256i x, __m256i s) {
  const __m256i sign = _mm256_cmpgt_epi64(_mm256_setzero_si256(), x);
  return _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(x, sign), s), sign);
}

}  // namespace

void RequantBlocks::run(int block, const std::int32_t* acc, std::int8_t* out) const {
  const Block& b = blocks_[std::size_t(block)];
  auto load = [](const void* p) { return _mm256_load_si256(static_cast<const __m256i*>(p)); };
  const __m256i sum = _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc)), load(b.bias));
  const __m256i multiplier = load(b.multiplier);
  // Exact 64-bit products of the even lanes, then of the odd lanes (moved down).
  const __m256i even = _mm256_mul_epi32(sum, multiplier);
  const __m256i odd = _mm256_mul_epi32(_mm256_srli_epi64(sum, 32), _mm256_srli_epi64(multiplier, 32));
  __m256i round_even = load(b.round_even), round_odd = load(b.round_odd);
  if (tflite_) {  // products below -2^30 take the other rounding term
    const __m256i limit = _mm256_set1_epi64x(-(std::int64_t{1} << 30));
    round_even = _mm256_blendv_epi8(round_even, load(b.round_low_even), _mm256_cmpgt_epi64(limit, even));
    round_odd = _mm256_blendv_epi8(round_odd, load(b.round_low_odd), _mm256_cmpgt_epi64(limit, odd));
  }
  const __m256i even_q = arithmetic_shift_right(_mm256_add_epi64(even, round_even), load(b.shift_even));
  const __m256i odd_q = arithmetic_shift_right(_mm256_add_epi64(odd, round_odd), load(b.shift_odd));
  // The low 32 bits of each result (rt::requantize's cast), back in lane order.
  __m256i v = _mm256_blend_epi32(even_q, _mm256_slli_epi64(odd_q, 32), 0b10101010);
  v = _mm256_max_epi32(v, _mm256_set1_epi32(act_min_ - output_offset_));
  v = _mm256_min_epi32(v, _mm256_set1_epi32(act_max_ - output_offset_));
  v = _mm256_add_epi32(v, _mm256_set1_epi32(output_offset_));
  // Now within [-128, 127]: the saturating packs are exact.
  const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm_packs_epi16(words, words));
}

#else

void RequantBlocks::run(int block, const std::int32_t* acc, std::int8_t* out) const {
  const Block& b = blocks_[std::size_t(block)];
  for (int j = 0; j < kLanes; ++j) {
    const std::int32_t sum = std::int32_t(std::uint32_t(acc[j]) + std::uint32_t(b.bias[j]));
    const std::int64_t product = std::int64_t(sum) * b.multiplier[j];
    const std::int64_t shift = j % 2 == 0 ? b.shift_even[j / 2] : b.shift_odd[j / 2];
    const bool low = product < -(std::int64_t{1} << 30);  // only differs for TFLite's rounding
    const std::int64_t round =
        j % 2 == 0 ? (low ? b.round_low_even : b.round_even)[j / 2] : (low ? b.round_low_odd : b.round_odd)[j / 2];
    const std::int32_t v = std::int32_t((product + round) >> shift);
    out[j] = std::int8_t(rt::clamp_i32(v, act_min_ - output_offset_, act_max_ - output_offset_) + output_offset_);
  }
}

#endif

}  // namespace tinyq::int8
