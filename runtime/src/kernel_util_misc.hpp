// tinyq runtime, internal: helpers shared by the pooling, elementwise and data-movement
// kernels and their Arm DSP / Helium paths: window and broadcast walks, the exact 32-bit form
// of requantize, word-wide int8 helpers, byte copies. Not part of the API.
#ifndef TINYQ_RUNTIME_KERNEL_UTIL_MISC_HPP
#define TINYQ_RUNTIME_KERNEL_UTIL_MISC_HPP

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel_util.hpp"
#include "tinyq/kernels.hpp"
#include "tinyq/target.hpp"
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#endif
#if defined(TINYQ_PATH_ARM_MVE)
#include <arm_mve.h>
#endif

namespace tinyq {
namespace rt {
namespace detail {

// The taps of one pooling output pixel: `rows` x `cols` real taps starting at `first`
// (shared by the DSP and Helium pooling paths).
struct Window {
  const int8_t* first;
  int32_t rows, cols;
  int32_t row_step;  // bytes from one tap row to the next
};

inline Window window_at(const PoolParams& p, const int8_t* image, int32_t y0, const TapRange& ky, int32_t x0,
                        const TapRange& kx) {
  Window w{image, ky.last - ky.first, kx.last - kx.first, p.in_w * p.channels};
  // An empty window reads nothing: keep `first` inside the image.
  if (w.rows > 0 && w.cols > 0) w.first = image + ((y0 + ky.first) * p.in_w + x0 + kx.first) * p.channels;
  return w;
}

// Divisor rows (or columns) of one window axis, as ONNX AveragePool counts them: with
// count_include_pad the declared padding counts but the ceil_mode overhang past it does not.
inline int32_t counted_taps(int32_t start, int32_t kernel, int32_t size, int32_t pad_begin, int32_t pad_end,
                            int32_t include_pad) {
  const int32_t lo = include_pad != 0 ? max_i32(start, -pad_begin) : max_i32(start, 0);
  const int32_t hi = include_pad != 0 ? min_i32(start + kernel, size + pad_end) : min_i32(start + kernel, size);
  return hi > lo ? hi - lo : 0;
}

// The rows of an elementwise op over a broadcast shape (kernels.hpp, BroadcastShape), for the
// Arm paths. Inner axes that both inputs walk contiguously are merged first, so the common
// unbroadcast case becomes one long row: axis i - 1 folds into axis i when stepping it equals
// stepping shape[i] elements of axis i, for a and b alike.
struct BroadcastRows {
  int32_t n, a_step, b_step;  // row length, and each input's element step along it (0: broadcast)
  int32_t outer[3], outer_a[3], outer_b[3];
};
inline BroadcastRows broadcast_rows(const BroadcastShape& s) {
  BroadcastShape m = s;
  int32_t inner = 3;
  while (inner > 0 && m.a_strides[inner - 1] == m.a_strides[inner] * m.shape[inner] &&
         m.b_strides[inner - 1] == m.b_strides[inner] * m.shape[inner]) {
    m.shape[inner - 1] *= m.shape[inner];
    m.a_strides[inner - 1] = m.a_strides[inner];
    m.b_strides[inner - 1] = m.b_strides[inner];
    m.shape[inner] = 1;
    --inner;
  }
  BroadcastRows r{m.shape[inner], m.a_strides[inner], m.b_strides[inner], {1, 1, 1}, {0, 0, 0}, {0, 0, 0}};
  for (int32_t i = 0; i < inner; ++i) {  // axes after `inner` now have size 1
    r.outer[i] = m.shape[i];
    r.outer_a[i] = m.a_strides[i];
    r.outer_b[i] = m.b_strides[i];
  }
  return r;
}
// Calls row(a_row, b_row, out_row) for each output row, in output order.
template <typename Row>
inline void for_each_row(const BroadcastRows& r, const int8_t* a, const int8_t* b, int8_t* out, const Row& row) {
  for (int32_t i0 = 0; i0 < r.outer[0]; ++i0) {
    for (int32_t i1 = 0; i1 < r.outer[1]; ++i1) {
      for (int32_t i2 = 0; i2 < r.outer[2]; ++i2, out += r.n) {
        row(a + i0 * r.outer_a[0] + i1 * r.outer_a[1] + i2 * r.outer_a[2],
            b + i0 * r.outer_b[0] + i1 * r.outer_b[1] + i2 * r.outer_b[2], out);
      }
    }
  }
}

// Byte copy and fill for the data-movement kernels (concat, pad, resize), whose runs are often
// one pixel's channels (a few to a few dozen bytes). memcpy/memset, except on Helium cores:
// there newlib's memcpy costs about 60 instructions for 16 bytes (call and set-up included),
// a predicated vector loop 16 bytes per load/store pair.
inline void copy_bytes(int8_t* dst, const int8_t* src, int32_t n) {
#if defined(TINYQ_PATH_ARM_MVE)
  for (; n >= 16; n -= 16, dst += 16, src += 16) vstrbq_s8(dst, vldrbq_s8(src));
  if (n > 0) {
    const mve_pred16_t lanes = vctp8q(static_cast<uint32_t>(n));
    vstrbq_p_s8(dst, vldrbq_z_s8(src, lanes), lanes);
  }
#else
  memcpy(dst, src, static_cast<size_t>(n));
#endif
}
inline void fill_bytes(int8_t* dst, int8_t value, int32_t n) {
#if defined(TINYQ_PATH_ARM_MVE)
  const int8x16_t v = vdupq_n_s8(value);
  for (; n >= 16; n -= 16, dst += 16) vstrbq_s8(dst, v);
  if (n > 0) vstrbq_p_s8(dst, v, vctp8q(static_cast<uint32_t>(n)));
#else
  memset(dst, value, static_cast<size_t>(n));
#endif
}

// requantize(x, multiplier, shift) + offset for every |x| <= x_bound, rewritten for a
// multiply that keeps the high bits of the product (floor(p / 2^h)): h = 32 for SMMUL/SMMLA
// on Armv7E-M, h = 31 for VQDMULH on Helium:
//     requantize(x, M, S) + offset == (floor((x << pre) * M / 2^h) + round) >> post
// with s = 31 - S, pre = max(0, h + 1 - s), post = s + pre - h >= 1,
// round = 2^(post - 1) + offset * 2^post. Why it is exact: scaling numerator and denominator
// of floor((x * M + 2^(s-1)) / 2^s) by 2^pre changes nothing; with s' = s + pre >= h + 1 the
// rounding term 2^(s'-1) is a multiple of 2^h, so flooring the product to a multiple of 2^h
// first cannot change the floor of the whole (nested floors of divisions by powers of two
// compose); and adding offset * 2^post before the final floor shift adds exactly `offset`
// after it. It holds while x << pre fits int32 (so also never -2^31: VQDMULH cannot
// saturate) and high + round fits int32, which `valid` records, checked in 64-bit arithmetic
// once per call (or per change of divisor), never per element.
struct HighMulRequant {
  int32_t pre, multiplier, round, post;
  bool valid;
};
inline HighMulRequant high_mul_requant(int32_t multiplier, int32_t shift, int32_t offset, int64_t x_bound,
                                       int32_t high_shift = 32) {
  HighMulRequant r{0, multiplier, 0, 1, false};
  const int32_t s = 31 - shift;
  if (s < 1 || s > 62) return r;
  r.pre = s > high_shift ? 0 : high_shift + 1 - s;
  r.post = s + r.pre - high_shift;
  if (x_bound < 0 || r.pre > 30 || x_bound >= (int64_t{1} << (31 - r.pre))) return r;  // x << pre fits int32
  const int64_t round = (int64_t{1} << (r.post - 1)) + static_cast<int64_t>(offset) * (int64_t{1} << r.post);
  const int64_t abs_m = multiplier < 0 ? -static_cast<int64_t>(multiplier) : multiplier;
  const int64_t abs_round = round < 0 ? -round : round;
  // |floor(x' * M / 2^h)| <= |x'| * |M| / 2^h + 1 (the floor of a negative product).
  const int64_t high_bound = ((x_bound << r.pre) * abs_m >> high_shift) + 1;
  r.valid = high_bound + abs_round < (int64_t{1} << 31);
  r.round = static_cast<int32_t>(round);
  return r;
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
// Four int8 lanes in a word (Armv7E-M SIMD). Unaligned LDR/STR are allowed on every M-profile
// core with the DSP extension; __builtin_memcpy lets the compiler emit exactly one LDR or STR
// (-ffreestanding turns off the implicit builtin, hence the explicit one).
inline uint32_t load4(const int8_t* p) {
  uint32_t w;
  __builtin_memcpy(&w, p, 4);
  return w;
}
inline void store4(int8_t* p, uint32_t w) { __builtin_memcpy(p, &w, 4); }
inline uint32_t splat4(int32_t v) { return static_cast<uint8_t>(v) * 0x01010101u; }
// Lane-wise signed max / min: SSUB8 sets the GE flag of each lane where a >= b, SEL picks.
inline uint32_t max4(uint32_t a, uint32_t b) {
  (void)__ssub8(static_cast<int8x4_t>(a), static_cast<int8x4_t>(b));
  return __sel(a, b);
}
inline uint32_t min4(uint32_t a, uint32_t b) {
  (void)__ssub8(static_cast<int8x4_t>(a), static_cast<int8x4_t>(b));
  return __sel(b, a);
}
#endif

// The Armv7E-M multiplies that ACLE has no intrinsic for (they exist on every core with the
// DSP extension, the M55 included). Not volatile: the compiler may schedule and merge them.
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
// acc + high32(a * b), the high word a floor of the exact 64-bit product.
inline int32_t smmla(int32_t a, int32_t b, int32_t acc) {
  int32_t r;
  __asm__("smmla %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
}
// a * b + c in one MLA: GCC splits a multiplication by a power of two it can see into a
// shift and an add (same cycles, one more instruction).
inline int32_t mla(int32_t a, int32_t b, int32_t c) {
  int32_t r;
  __asm__("mla %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
  return r;
}
// acc + ((a * b + 2^31) >> 32), the rounded high word of the exact 64-bit product.
inline int32_t smmlar(int32_t a, int32_t b, int32_t acc) {
  int32_t r;
  __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
}
// (a * b + 2^31) >> 32 on the exact 64-bit product.
inline int32_t smmulr(int32_t a, int32_t b) {
  int32_t r;
  __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
#endif

}  // namespace detail
}  // namespace rt
}  // namespace tinyq

#endif
