// tinyq runtime: fully connected layer (rows of input vectors times a weight matrix), int8.
#include "high_mul_requant.hpp"
#include "kernel_paths.hpp"
#include "kernel_util.hpp"
#include "portable_loops.hpp"

namespace tinyq {
namespace rt {

namespace {

// The rounding as a template argument: one loop per rounding, no test per output; out of line,
// so that each compiles alone (tinyq's as it did before TFLite's existed).
template <int32_t Rounding>
__attribute__((noinline)) void dense_loop(const DenseParams& p, const int8_t* input, const int8_t* weights,
                                          const int32_t* bias, int8_t* output) {
  detail::dense_rows_loop<int32_t>(p, input, weights, bias, output, [&p](int32_t acc, int32_t o) {
    return detail::offset_and_clamp(requantize_channel_as<Rounding>(acc, p.requant, o), p.output_offset, p.act_min,
                                    p.act_max);
  });
}

// Byte index of weight (row o, input i) in the packed layout (kernels.hpp, dense_s8_packed).
inline int32_t packed_index(int32_t n, int32_t o, int32_t i) {
  const int32_t q = o & 3, k = i & 3;
  return (o >> 2) * 4 * n + (i >> 2) * 16 + (q >> 1) * 8 + (k & 1) * 4 + 2 * (k >> 1) + ((q & 1) != 0 ? 0 : 1);
}

// The packed form read back weight by weight: the reference the DSP loop is tested against,
// and the path of generated sources built for other targets.
template <int32_t Rounding>
__attribute__((noinline)) void dense_packed_loop(const DenseParams& p, const int8_t* input, const int8_t* packed,
                                                 const int32_t* packed_bias, int8_t* output) {
  const int32_t n = p.in_features;
  for (int32_t r = 0; r < p.rows; ++r) {
    const int8_t* in = input + r * n;
    for (int32_t o = 0; o < p.out_features; ++o) {
      uint32_t acc = static_cast<uint32_t>(packed_bias[o]);  // wraps modulo 2^32 like the portable sum
      const int32_t unbias = (o & 1) != 0 ? 0x80 : 0;
      for (int32_t i = 0; i < n; ++i) {
        const int32_t w = static_cast<int8_t>(static_cast<uint8_t>(packed[packed_index(n, o, i)]) ^ unbias);
        acc += static_cast<uint32_t>(in[i] * w);
      }
      *output++ = detail::offset_and_clamp(requantize_channel_as<Rounding>(static_cast<int32_t>(acc), p.requant, o),
                                           p.output_offset, p.act_min, p.act_max);
    }
  }
}

}  // namespace

void dense_s8_fold_offset(const DenseParams& p, const int8_t* weights, const int32_t* bias, int32_t* folded) {
  for (int32_t o = 0; o < p.out_features; ++o) {
    uint32_t sum = 0;
    for (int32_t i = 0; i < p.in_features; ++i) sum += static_cast<uint32_t>(weights[o * p.in_features + i]);
    const uint32_t b = bias != nullptr ? static_cast<uint32_t>(bias[o]) : 0u;
    folded[o] = static_cast<int32_t>(b + static_cast<uint32_t>(p.input_offset) * sum);
  }
}

int32_t dense_s8_pack(const DenseParams& p, const int8_t* weights, const int32_t* bias, int8_t* packed_weights,
                      int32_t* packed_params) {
  const int32_t n = p.in_features;
  if (n < 4 || n % 4 != 0 || p.out_features < 1) return kDensePackRefused;
  const int32_t rows = dense_s8_packed_rows(p);
  // The requantization fuses for tinyq's rounding into the full int8 range with SMMLA's shifts.
  bool fused = p.requant.rounding == kRoundSingle && p.act_min == -128 && p.act_max == 127;
  const int32_t mask = p.requant.count == 1 ? 0 : -1;
  for (int32_t o = 0; o < p.out_features && fused; ++o)
    fused = p.requant.shift[o & mask] <= -2 && p.requant.shift[o & mask] >= -31;
  dense_s8_fold_offset(p, weights, bias, packed_params);
  for (int32_t o = 0; o < rows; ++o) {
    const bool real = o < p.out_features;
    int64_t sum_abs = 0;
    for (int32_t i = 0; i < n; ++i) {
      const int32_t w = real ? weights[o * n + i] : 0;
      sum_abs += w < 0 ? -w : w;
      const uint8_t byte = static_cast<uint8_t>(static_cast<uint8_t>(w) ^ ((o & 1) != 0 ? 0x80u : 0u));
      packed_weights[packed_index(n, o, i)] = static_cast<int8_t>(byte);
    }
    // Rows 4b and 4b + 2 are recovered from 256 * sum modulo 2^32: |sum| <= 128 * sum_abs < 2^23.
    if ((o & 1) == 0 && 128 * sum_abs > (int64_t{1} << 23) - 1) return kDensePackRefused;
    const int32_t packed_bias = real ? packed_params[o] : 0;
    packed_params[o] = packed_bias;
    if (fused && real) {
      // detail::fused_requant (tinyq's rounding): the accumulator packed_bias + sum of raw
      // products stays within bound.
      const int64_t pb = packed_bias;
      const int64_t bound = (pb < 0 ? -pb : pb) + 128 * sum_abs;
      fused = detail::fused_requant(p.requant.multiplier[o & mask], p.requant.shift[o & mask], p.output_offset, bound,
                                    false)
                  .valid;
    }
  }
  if (!fused) return kDensePackPlain;
  // Per block of 4 rows: the 4 biases, then (multiplier, addend, t) per row; blocks from the
  // last, so that the plain biases are read before they are overwritten.
  for (int32_t b = rows / 4 - 1; b >= 0; --b) {
    int32_t block[16];
    for (int32_t q = 0; q < 4; ++q) {
      const int32_t o = 4 * b + q;
      block[q] = packed_params[o];
      int32_t* rq = block + 4 + 3 * q;
      if (o < p.out_features) {
        const int32_t t = -1 - p.requant.shift[o & mask];
        rq[0] = p.requant.multiplier[o & mask];
        rq[1] = static_cast<int32_t>((int64_t{1} << (t - 1)) + int64_t{p.output_offset} * (int64_t{1} << t));
        rq[2] = t;
      } else {
        rq[0] = 0;
        rq[1] = 0;
        rq[2] = 1;
      }
    }
    for (int32_t k = 0; k < 16; ++k) packed_params[16 * b + k] = block[k];
  }
  return kDensePackFused;
}

void dense_s8_packed_fused_portable(const DenseParams& p, const int8_t* input, const int8_t* packed_weights,
                                    const int32_t* packed_params, int8_t* output) {
  const int32_t n = p.in_features;
  for (int32_t r = 0; r < p.rows; ++r) {
    const int8_t* in = input + r * n;
    for (int32_t o = 0; o < p.out_features; ++o) {
      const int32_t* block = packed_params + 16 * (o >> 2);
      const int32_t* rq = block + 4 + 3 * (o & 3);
      uint32_t acc = static_cast<uint32_t>(block[o & 3]);
      const int32_t unbias = (o & 1) != 0 ? 0x80 : 0;
      for (int32_t i = 0; i < n; ++i) {
        const int32_t w = static_cast<int8_t>(static_cast<uint8_t>(packed_weights[packed_index(n, o, i)]) ^ unbias);
        acc += static_cast<uint32_t>(in[i] * w);
      }
      // SMMLA, ASR, SSAT #8: the high word of the product plus the addend, shifted, clamped.
      const int32_t hi = static_cast<int32_t>((int64_t{static_cast<int32_t>(acc)} * rq[0]) >> 32) + rq[1];
      const int32_t v = hi >> rq[2];
      *output++ = static_cast<int8_t>(v < -128 ? -128 : (v > 127 ? 127 : v));
    }
  }
}

void dense_s8_packed_portable(const DenseParams& p, const int8_t* input, const int8_t* packed_weights,
                              const int32_t* packed_bias, int8_t* output) {
  if (p.requant.rounding == kRoundTflite)
    return dense_packed_loop<kRoundTflite>(p, input, packed_weights, packed_bias, output);
  dense_packed_loop<kRoundSingle>(p, input, packed_weights, packed_bias, output);
}

void dense_s8_packed(const DenseParams& p, const int8_t* input, const int8_t* packed_weights,
                     const int32_t* packed_bias, int8_t* output) {
#if defined(TINYQ_PATH_ARM_DSP)
  dense_s8_packed_dsp(p, input, packed_weights, packed_bias, output);
#else
  dense_s8_packed_portable(p, input, packed_weights, packed_bias, output);
#endif
}

void dense_s8_packed_fused(const DenseParams& p, const int8_t* input, const int8_t* packed_weights,
                           const int32_t* packed_params, int8_t* output) {
#if defined(TINYQ_PATH_ARM_DSP)
  dense_s8_packed_fused_dsp(p, input, packed_weights, packed_params, output);
#else
  dense_s8_packed_fused_portable(p, input, packed_weights, packed_params, output);
#endif
}

void dense_s8_portable(const DenseParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                       int8_t* output) {
  if (p.requant.rounding == kRoundTflite) return dense_loop<kRoundTflite>(p, input, weights, bias, output);
  dense_loop<kRoundSingle>(p, input, weights, bias, output);
}

void dense_s8(const DenseParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias, int8_t* output) {
#if defined(TINYQ_PATH_ARM_DSP)
  dense_s8_dsp(p, input, weights, bias, output);
#elif defined(TINYQ_PATH_ARM_MVE)
  dense_s8_mve(p, input, weights, bias, output);
#else
  dense_s8_portable(p, input, weights, bias, output);
#endif
}

}  // namespace rt
}  // namespace tinyq
