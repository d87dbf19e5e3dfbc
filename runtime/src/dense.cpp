// tinyq runtime: fully connected layer (rows of input vectors times a weight matrix), int8.
#include "kernel_paths.hpp"
#include "kernel_util.hpp"

namespace tinyq {
namespace rt {

namespace {

// The rounding as a template argument: one loop per rounding, no test per output; out of line,
// so that each compiles alone (tinyq's as it did before TFLite's existed).
template <int32_t Rounding>
__attribute__((noinline)) void dense_loop(const DenseParams& p, const int8_t* input, const int8_t* weights,
                                          const int32_t* bias, int8_t* output) {
  for (int32_t r = 0; r < p.rows; ++r) {
    const int8_t* in = input + r * p.in_features;
    for (int32_t o = 0; o < p.out_features; ++o) {
      const int8_t* w = weights + o * p.in_features;
      int32_t acc = bias != nullptr ? bias[o] : 0;
      for (int32_t i = 0; i < p.in_features; ++i) acc += (in[i] + p.input_offset) * w[i];
      *output++ = detail::offset_and_clamp(requantize_channel_as<Rounding>(acc, p.requant, o), p.output_offset,
                                           p.act_min, p.act_max);
    }
  }
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

bool dense_s8_pack(const DenseParams& p, const int8_t* weights, const int32_t* bias, int8_t* packed_weights,
                   int32_t* packed_bias) {
  const int32_t n = p.in_features;
  if (n < 4 || n % 4 != 0 || p.out_features < 1) return false;
  const int32_t rows = dense_s8_packed_rows(p);
  for (int32_t o = 0; o < rows; ++o) {
    const bool real = o < p.out_features;
    int64_t sum = 0, sum_abs = 0;
    for (int32_t i = 0; i < n; ++i) {
      const int32_t w = real ? weights[o * n + i] : 0;
      sum += w;
      sum_abs += w < 0 ? -w : w;
      const uint8_t byte = static_cast<uint8_t>(static_cast<uint8_t>(w) ^ ((o & 1) != 0 ? 0x80u : 0u));
      packed_weights[packed_index(n, o, i)] = static_cast<int8_t>(byte);
    }
    // Row 4b's sum is recovered from 256 * sum modulo 2^32: |sum| <= 128 * sum_abs < 2^23.
    if ((o & 1) == 0 && 128 * sum_abs > (int64_t{1} << 23) - 1) return false;
    const int64_t b = real ? (bias != nullptr ? bias[o] : 0) + int64_t{p.input_offset} * sum : 0;
    packed_bias[o] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(b)));
  }
  return true;
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
