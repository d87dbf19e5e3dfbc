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
template <typename A, typename B, typename Out, typename Op>
void for_each_broadcast(const BroadcastShape& s, const A* a, const B* b, Out* output, const Op& op) {
  for (int32_t i0 = 0; i0 < s.shape[0]; ++i0) {
    for (int32_t i1 = 0; i1 < s.shape[1]; ++i1) {
      for (int32_t i2 = 0; i2 < s.shape[2]; ++i2) {
        const A* ar = a + i0 * s.a_strides[0] + i1 * s.a_strides[1] + i2 * s.a_strides[2];
        const B* br = b + i0 * s.b_strides[0] + i1 * s.b_strides[1] + i2 * s.b_strides[2];
        for (int32_t i3 = 0; i3 < s.shape[3]; ++i3) *output++ = op(ar[i3 * s.a_strides[3]], br[i3 * s.b_strides[3]]);
      }
    }
  }
}

// The rounding mode as a template argument: one loop per mode, no test per element. Elements
// int8 (add_s8) or int16 (add_wide, tinyq's rounding; its host keeps left_shift <= 15).
template <int32_t Rounding, typename A, typename B, typename Out>
void add_loop(const AddParams& p, const BroadcastShape& s, const A* a, const B* b, Out* output) {
  // 2^left_shift as a factor: left-shifting a negative value is undefined behaviour in C++17.
  const int32_t headroom = static_cast<int32_t>(1) << p.left_shift;
  for_each_broadcast(s, a, b, output, [&p, headroom](auto qa, auto qb) {
    const int32_t ra = requantize_rounding((qa + p.a_offset) * headroom, p.a_multiplier, p.a_shift, Rounding);
    const int32_t rb = requantize_rounding((qb + p.b_offset) * headroom, p.b_multiplier, p.b_shift, Rounding);
    // TFLite's SUB subtracts; `subtract` is only ever set with its rounding, so tinyq's own
    // loop (kRoundSingle) compiles as it did.
    const int32_t sum = requantize_rounding(Rounding == kRoundTflite && p.subtract != 0 ? ra - rb : ra + rb,
                                            p.output_multiplier, p.output_shift, Rounding);
    return detail::offset_and_clamp<Out>(sum, p.output_offset, p.act_min, p.act_max);
  });
}

// TFLite's input rescale requantize_tflite((q + o) * 2^L, M, S) for every int8 q, as the high
// word of one 64-bit multiply-accumulate. With r = -S >= 1 it is floor((p + 2^(30+r) +- 2^30) /
// 2^(31+r)), p = v * M * 2^L, v = q + o, + for p >= -2^30 (requantize.hpp). p's sign is v's:
// |v * M * 2^L| >= 2^30 for v != 0 and M >= 2^30 (M = 0 gives 0 with either term). Scaling
// numerator and denominator by 2^(1 + L - r) (r <= L + 1): floor((x * M + R) / 2^32) with
// x = v * 2^(1 + L - r) (|x| < 2^30) and R = 2^31 +- 2^(31 - r). With r = 0 it is floor((p +
// 2^30) / 2^31) = floor((x * M + 2^31) / 2^32), x = v * 2^(1 + L), for both signs.
struct TfliteRescale {
  int32_t offset, multiplier, scale;
  uint32_t round_pos, round_neg;
  TfliteRescale(int32_t o, int32_t m, int32_t shift, int32_t left_shift) : offset(o), multiplier(m) {
    const int32_t r = -shift;
    scale = static_cast<int32_t>(1) << (1 + left_shift - r);
    const uint32_t half = 0x80000000u, nudge = r == 0 ? 0 : half >> r;
    round_pos = half + nudge;
    round_neg = half - nudge;
  }
  int32_t operator()(int32_t q) const {
    const int32_t v = q + offset;
    const int64_t round = static_cast<int64_t>(v >= 0 ? round_pos : round_neg);
    return static_cast<int32_t>((static_cast<int64_t>(v * scale) * multiplier + round) >> 32);
  }
};

// TFLite's add (kRoundTflite): the rescales above, then requantize_tflite of the sum (one
// SMLAL too when its shift is <= -2). Every parameter is copied into a local first: the
// int8 stores may alias anything, and would otherwise make the compiler reload them per
// element. Contiguous rows (no broadcast on the last axis) get their own loop.
template <bool kSmlal, bool kSubtract>
void add_tflite(const AddParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output) {
  const TfliteRescale ra(p.a_offset, p.a_multiplier, p.a_shift, p.left_shift);
  const TfliteRescale rb(p.b_offset, p.b_multiplier, p.b_shift, p.left_shift);
  const int32_t m = p.output_multiplier, shift = p.output_shift, offset = p.output_offset;
  const int32_t lo = p.act_min - offset, hi = p.act_max - offset;
  const BroadcastShape sh = s;
  const auto one = [ra, rb, m, shift, offset, lo, hi](int8_t qa, int8_t qb) {
    const int32_t sum = kSubtract ? ra(qa) - rb(qb) : ra(qa) + rb(qb);  // SUB: TFLite's sub.h
    const int32_t v = kSmlal ? detail::requantize_tflite_smlal(sum, m, shift) : requantize_tflite(sum, m, shift);
    return static_cast<int8_t>(clamp_i32(v, lo, hi) + offset);
  };
  const int32_t as = sh.a_strides[3], bs = sh.b_strides[3], n = sh.shape[3];
  for (int32_t i0 = 0; i0 < sh.shape[0]; ++i0) {
    for (int32_t i1 = 0; i1 < sh.shape[1]; ++i1) {
      for (int32_t i2 = 0; i2 < sh.shape[2]; ++i2) {
        const int8_t* ar = a + i0 * sh.a_strides[0] + i1 * sh.a_strides[1] + i2 * sh.a_strides[2];
        const int8_t* br = b + i0 * sh.b_strides[0] + i1 * sh.b_strides[1] + i2 * sh.b_strides[2];
        if (as == 1 && bs == 1) {
          for (int32_t i3 = 0; i3 < n; ++i3) *output++ = one(ar[i3], br[i3]);
        } else {
          for (int32_t i3 = 0; i3 < n; ++i3) *output++ = one(ar[i3 * as], br[i3 * bs]);
        }
      }
    }
  }
}

}  // namespace

void add_s8_portable(const AddParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output) {
  // The identities of add_tflite need TFLite's own parameters: multipliers 0 or in
  // [2^30, 2^31), input shifts in [-(L + 1), 0] (multipliers below 1, not below 2^-(L+1)),
  // output multiplier 0 or in [2^30, 2^31). Anything else (the importer makes none of it)
  // takes the literal loop.
  auto normal = [](int32_t m) { return m == 0 || m >= (1 << 30); };
  const bool tflite_form = normal(p.a_multiplier) && normal(p.b_multiplier) && normal(p.output_multiplier) &&
                           p.a_shift <= 0 && p.b_shift <= 0 && p.a_shift >= -(p.left_shift + 1) &&
                           p.b_shift >= -(p.left_shift + 1);
  if (p.rounding == kRoundTflite) {
    // Subtraction as its own instantiation: ADD's loop stays exactly what it was.
    const bool smlal = p.output_shift <= -2;
    if (tflite_form && p.subtract != 0)
      return smlal ? add_tflite<true, true>(p, s, a, b, output) : add_tflite<false, true>(p, s, a, b, output);
    if (tflite_form)
      return smlal ? add_tflite<true, false>(p, s, a, b, output) : add_tflite<false, false>(p, s, a, b, output);
    return add_loop<kRoundTflite>(p, s, a, b, output);
  }
  add_loop<kRoundSingle>(p, s, a, b, output);
}

namespace {

// Elements int8 (mul_s8) or int16 (mul_wide, tinyq's rounding).
template <int32_t Rounding, typename A, typename B, typename Out>
void mul_loop(const MulParams& p, const BroadcastShape& s, const A* a, const B* b, Out* output) {
  for_each_broadcast(s, a, b, output, [&p](auto qa, auto qb) {
    // |product| <= 256 * 256 for int8 operands, 2^15 * 2^15 with int16 ones (offset 0): exact
    // in int32.
    const int32_t product = (qa + p.a_offset) * (qb + p.b_offset);
    return detail::offset_and_clamp<Out>(requantize_rounding(product, p.output_multiplier, p.output_shift, Rounding),
                                         p.output_offset, p.act_min, p.act_max);
  });
}

// Calls run(a, b, output) with the pointers typed by their widths: int8 or int16 each.
template <typename Run>
void with_widths(const void* a, int32_t a_bits, const void* b, int32_t b_bits, void* output, int32_t output_bits,
                 const Run& run) {
  auto with_output = [&](auto ta, auto tb) {
    if (output_bits == 16) return run(ta, tb, static_cast<int16_t*>(output));
    run(ta, tb, static_cast<int8_t*>(output));
  };
  auto with_b = [&](auto ta) {
    if (b_bits == 16) return with_output(ta, static_cast<const int16_t*>(b));
    with_output(ta, static_cast<const int8_t*>(b));
  };
  if (a_bits == 16) return with_b(static_cast<const int16_t*>(a));
  with_b(static_cast<const int8_t*>(a));
}

}  // namespace

void add_wide(const AddParams& p, const BroadcastShape& s, const void* a, int32_t a_bits, const void* b, int32_t b_bits,
              void* output, int32_t output_bits) {
  with_widths(a, a_bits, b, b_bits, output, output_bits,
              [&](auto ta, auto tb, auto to) { add_loop<kRoundSingle>(p, s, ta, tb, to); });
}

void mul_wide(const MulParams& p, const BroadcastShape& s, const void* a, int32_t a_bits, const void* b, int32_t b_bits,
              void* output, int32_t output_bits) {
  with_widths(a, a_bits, b, b_bits, output, output_bits,
              [&](auto ta, auto tb, auto to) { mul_loop<kRoundSingle>(p, s, ta, tb, to); });
}

void mul_s8_portable(const MulParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output) {
  // TFLite's int8 MUL (mul.h MulElementwise): MultiplyByQuantizedMultiplier of the product.
  if (p.rounding == kRoundTflite) return mul_loop<kRoundTflite>(p, s, a, b, output);
  mul_loop<kRoundSingle>(p, s, a, b, output);
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
  // TFLite's rounding (pre-quantized models): the Arm paths' table form for TFLite's own
  // parameters, the portable code otherwise and on the host. Tested here, not in the native
  // paths, whose loops GCC compiles worse with one more early exit.
  if (p.rounding != kRoundSingle) {
#if defined(TINYQ_PATH_ARM_DSP) || defined(TINYQ_PATH_ARM_MVE)
    if (add_s8_tflite_arm(p, s, a, b, output)) return;
#endif
    return add_s8_portable(p, s, a, b, output);
  }
#if defined(TINYQ_PATH_ARM_MVE)
  add_s8_mve(p, s, a, b, output);
#elif defined(TINYQ_PATH_ARM_DSP)
  add_s8_dsp(p, s, a, b, output);
#else
  add_s8_portable(p, s, a, b, output);
#endif
}

void mul_s8(const MulParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output) {
  if (p.rounding != kRoundSingle) return mul_s8_portable(p, s, a, b, output);  // as add_s8
#if defined(TINYQ_PATH_ARM_MVE)
  mul_s8_mve(p, s, a, b, output);
#elif defined(TINYQ_PATH_ARM_DSP)
  mul_s8_dsp(p, s, a, b, output);
#else
  mul_s8_portable(p, s, a, b, output);
#endif
}

void lookup_s16(const int16_t* table, const int16_t* input, int16_t* output, int32_t count) {
  for (int32_t i = 0; i < count; ++i) {
    const int32_t u = input[i] + 32768;  // 0 .. 65535
    const int32_t k = u >> 7, frac = u & 127;
    const int32_t lo = table[k], step = table[k + 1] - lo;  // |step * frac| < 2^23
    // Floor of the rounded interpolation, as an arithmetic shift (GCC's on every target).
    output[i] = static_cast<int16_t>(lo + ((step * frac + 64) >> 7));
  }
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
