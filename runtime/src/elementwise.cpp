// tinyq runtime: elementwise ops: add/sub and mul with numpy broadcasting, table lookup
// (any unary op), PReLU / leaky ReLU. The portable paths, and the public kernels, which pick
// the native path at compile time (kernel_paths.hpp).
#include "kernel_paths.hpp"
#include "kernel_util.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {

namespace {

// Visits the output in order, handing each element's a and b values to `op`. The output is
// contiguous over `shape`; each input is addressed through its own strides (0 on a broadcast
// axis), so no broadcast copy is ever made.
template <typename Op>
void for_each_broadcast(const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output, const Op& op) {
  for (int32_t i0 = 0; i0 < s.shape[0]; ++i0) {
    for (int32_t i1 = 0; i1 < s.shape[1]; ++i1) {
      for (int32_t i2 = 0; i2 < s.shape[2]; ++i2) {
        const int8_t* ar = a + i0 * s.a_strides[0] + i1 * s.a_strides[1] + i2 * s.a_strides[2];
        const int8_t* br = b + i0 * s.b_strides[0] + i1 * s.b_strides[1] + i2 * s.b_strides[2];
        for (int32_t i3 = 0; i3 < s.shape[3]; ++i3) *output++ = op(ar[i3 * s.a_strides[3]], br[i3 * s.b_strides[3]]);
      }
    }
  }
}

// The rounding mode as a template argument: one loop per mode, no test per element.
template <int32_t Rounding>
void add_loop(const AddParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output) {
  // 2^left_shift as a factor: left-shifting a negative value is undefined behaviour in C++17.
  const int32_t headroom = static_cast<int32_t>(1) << p.left_shift;
  for_each_broadcast(s, a, b, output, [&p, headroom](int8_t qa, int8_t qb) {
    const int32_t ra = requantize_rounding((qa + p.a_offset) * headroom, p.a_multiplier, p.a_shift, Rounding);
    const int32_t rb = requantize_rounding((qb + p.b_offset) * headroom, p.b_multiplier, p.b_shift, Rounding);
    const int32_t sum = requantize_rounding(ra + rb, p.output_multiplier, p.output_shift, Rounding);
    return detail::offset_and_clamp(sum, p.output_offset, p.act_min, p.act_max);
  });
}

}  // namespace

void add_s8_portable(const AddParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output) {
  if (p.rounding == kRoundTflite) {
    add_loop<kRoundTflite>(p, s, a, b, output);
  } else {
    add_loop<kRoundSingle>(p, s, a, b, output);
  }
}

void mul_s8_portable(const MulParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output) {
  for_each_broadcast(s, a, b, output, [&p](int8_t qa, int8_t qb) {
    // |product| <= 256 * 256: exact in int32.
    const int32_t product = (qa + p.a_offset) * (qb + p.b_offset);
    return detail::offset_and_clamp(requantize(product, p.output_multiplier, p.output_shift), p.output_offset,
                                    p.act_min, p.act_max);
  });
}

void lookup_s8_portable(const int8_t* table, const int8_t* input, int8_t* output, int32_t count) {
  // Index from the table's middle: one load per element instead of an add and a load.
  const int8_t* middle = table + 128;
  int32_t i = 0;
  for (; i + 4 <= count; i += 4) {  // four per iteration: the loop branch is a third of the work
    output[i] = middle[input[i]];
    output[i + 1] = middle[input[i + 1]];
    output[i + 2] = middle[input[i + 2]];
    output[i + 3] = middle[input[i + 3]];
  }
  for (; i < count; ++i) output[i] = middle[input[i]];
}

void prelu_s8(const PreluParams& p, const int8_t* input, int8_t* output) {
  for (int32_t r = 0; r < p.outer; ++r) {
    for (int32_t c = 0; c < p.channels; ++c) {
      const int32_t x = *input++ + p.input_offset;  // x >= 0 exactly when the real value is >= 0
      const int32_t v =
          x >= 0 ? requantize(x, p.positive_multiplier, p.positive_shift) : requantize_channel(x, p.negative, c);
      *output++ = detail::offset_and_clamp(v, p.output_offset, p.act_min, p.act_max);
    }
  }
}

void add_s8(const AddParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output) {
#if defined(TINYQ_PATH_ARM_MVE)
  add_s8_mve(p, s, a, b, output);
#elif defined(TINYQ_PATH_ARM_DSP)
  add_s8_dsp(p, s, a, b, output);
#else
  add_s8_portable(p, s, a, b, output);
#endif
}

void mul_s8(const MulParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output) {
#if defined(TINYQ_PATH_ARM_MVE)
  mul_s8_mve(p, s, a, b, output);
#elif defined(TINYQ_PATH_ARM_DSP)
  mul_s8_dsp(p, s, a, b, output);
#else
  mul_s8_portable(p, s, a, b, output);
#endif
}

void lookup_s8(const int8_t* table, const int8_t* input, int8_t* output, int32_t count) {
#if defined(TINYQ_PATH_ARM_MVE)
  lookup_s8_mve(table, input, output, count);
#else
  lookup_s8_portable(table, input, output, count);
#endif
}

}  // namespace rt
}  // namespace tinyq
