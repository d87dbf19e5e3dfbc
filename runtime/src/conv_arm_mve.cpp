// tinyq runtime: conv2d_s8 on Helium (MVE: Cortex-M55, M85).
//
// Four output channels x one pixel per step (tinyq_mve_dot4): one VLDRB of 16 patch values is
// shared by four VMLADAVA.S8 (16 MACs each) with four weight rows, and the four sums of
// consecutive channels are requantized as one vector (requantize_lanes) and stored as 4
// bytes. What depends only on the channel (bias + offset * weight sum, multiplier, shift) is
// prepared once per call in scratch (prepare_channels). The patches stay int8, so the input
// offset cannot be added to them; it is folded instead:
//   sum (x + offset) * w = sum x * w + offset * sum w,
// and padded taps are filled with the int8 value -offset (the zero point), whose x + offset
// is 0. All arithmetic wraps modulo 2^32 (VMLADAVA and vector adds do; the C sums use
// uint32_t) and the true result fits int32 (host guarantee), so the bytes equal the portable
// path's although partial sums may differ.
// K % 16 tails use tail-predicated loads (VCTP): no byte outside a row or patch is read.
// Variants: pointwise (1x1 over real pixels) reads the pixels' channels in place, channel
// blocks outside and pixels inside, so a block's weights and vectors are set up once; general
// copies each pixel's patch (im2col, int8) and runs every channel block on it.
#include "tinyq/target.hpp"  // defines the TINYQ_PATH_* macro tested below

#if defined(TINYQ_PATH_ARM_MVE)

#include <arm_mve.h>

#include "conv_arm_common.hpp"
#include "tinyq/kernel_paths.hpp"

namespace tinyq {
namespace rt {

namespace {

using arm::OutputStage;

// What conv needs per output channel, prepared once per call in scratch (three int32 arrays
// of out_c): base = bias + input_offset * sum of the channel's weights (modulo 2^32), and the
// requantization as a multiplier and -t = shift + 1 (see requantize_lanes), so that a block of 4
// channels loads them as three vectors.
struct ChannelTable {
  int32_t* base;
  int32_t* multiplier;
  int32_t* neg_t;
  bool vector;  // every shift <= -2: vector requantization applies
};
ChannelTable prepare_channels(const ConvParams& p, const int8_t* weights, const int32_t* bias, int32_t k,
                              int32_t* scratch) {
  ChannelTable t{scratch, scratch + p.out_c, scratch + 2 * p.out_c, true};
  const int8_t* w = weights;
  for (int32_t o = 0; o < p.out_c; ++o, w += k) {
    int32_t sum = 0;
    for (int32_t i = 0; i < k; i += 16) sum = vaddvaq_s8(sum, vldrbq_z_s8(w + i, vctp8q(static_cast<uint32_t>(k - i))));
    t.base[o] = static_cast<int32_t>(static_cast<uint32_t>(bias != nullptr ? bias[o] : 0) +
                                     static_cast<uint32_t>(p.input_offset) * static_cast<uint32_t>(sum));
    const int32_t r = p.requant.count == 1 ? 0 : o;
    t.multiplier[o] = p.requant.multiplier[r];
    t.neg_t[o] = p.requant.shift[r] + 1;
    t.vector = t.vector && p.requant.shift[r] <= -2;
  }
  return t;
}

// Four channels' dot products with one pixel's K values at x, in assembly (GCC 12 reloads the
// five pointers from the stack inside any C form of this loop): per 16 values one VLDRB of x
// is shared by four VMLADAVA.S8 (16 MACs each) with the four weight rows, 9 instructions plus
// LE for 64 MACs; the K % 16 tail runs once with VCTP-predicated loads, whose inactive lanes
// read nothing and are zero. The four sums go to out[0 .. 3].
//   r0 x, r1 first row, r2 row stride, r3 whole 16-byte chunks; stack: out, tail (0 .. 15).
extern "C" void tinyq_mve_dot4(const int8_t* x, const int8_t* w0, int32_t stride, int32_t chunks, int32_t* out,
                               int32_t tail);
// clang-format off
__asm__(R"(
  .section .text.tinyq_mve_dot4,"ax",%progbits
  .syntax unified
  .thumb
  .align 2
  .global tinyq_mve_dot4
  .hidden tinyq_mve_dot4
  .type tinyq_mve_dot4, %function
  .thumb_func
tinyq_mve_dot4:
  push {r4-r10, lr}
  add r4, r1, r2
  add r5, r4, r2
  add r7, r5, r2
  mov r6, #0
  mov r8, #0
  mov r10, #0
  mov r12, #0
  wls lr, r3, 2f
1:
  vldrb.8 q0, [r0], #16
  vldrb.8 q1, [r1], #16
  vmladava.s8 r6, q0, q1
  vldrb.8 q2, [r4], #16
  vmladava.s8 r8, q0, q2
  vldrb.8 q3, [r5], #16
  vmladava.s8 r10, q0, q3
  vldrb.8 q1, [r7], #16
  vmladava.s8 r12, q0, q1
  le lr, 1b
2:
  ldr r2, [sp, #36]
  cmp r2, #0
  beq 3f
  vctp.8 r2
  vpstttt
  vldrbt.8 q0, [r0]
  vldrbt.8 q1, [r1]
  vldrbt.8 q2, [r4]
  vldrbt.8 q3, [r5]
  vmladava.s8 r6, q0, q1
  vmladava.s8 r8, q0, q2
  vmladava.s8 r10, q0, q3
  vpst
  vldrbt.8 q1, [r7]
  vmladava.s8 r12, q0, q1
3:
  ldr r2, [sp, #32]
  stm r2, {r6, r8, r10, r12}
  pop {r4-r10, pc}
  .size tinyq_mve_dot4, .-tinyq_mve_dot4
  .text
)");
// clang-format on

// One channel's dot product: VMLADAVA over 16-byte chunks, the tail predicated.
int32_t dot1(const int8_t* x, const int8_t* w, int32_t k) {
  int32_t a = 0;
  for (int32_t i = 0; i < k; i += 16) {
    const mve_pred16_t p = vctp8q(static_cast<uint32_t>(k - i));
    a = vmladavaq_s8(a, vldrbq_z_s8(x + i, p), vldrbq_z_s8(w + i, p));
  }
  return a;
}

// A block of 4 channels [oc, oc + n) with everything that does not depend on the pixel loaded
// once: weight rows, base, multipliers and shifts as vectors.
struct ChannelBlock {
  const int8_t* w0;
  int32_t oc, n;
  mve_pred16_t lanes;
  int32x4_t base, multiplier, neg_t, lo, hi;

  ChannelBlock(const int8_t* weights, int32_t k, int32_t oc_, int32_t oc_end, const ChannelTable& t,
               const OutputStage& st)
      : oc(oc_), n(oc_end - oc_ < 4 ? oc_end - oc_ : 4) {
    w0 = weights + oc * k;
    lanes = vctp32q(static_cast<uint32_t>(n));
    base = vldrwq_z_s32(t.base + oc, lanes);
    multiplier = vldrwq_z_s32(t.multiplier + oc, lanes);
    neg_t = vldrwq_z_s32(t.neg_t + oc, lanes);
    lo = vdupq_n_s32(st.lo);
    hi = vdupq_n_s32(st.hi);
  }

  // One pixel: K values at x, outputs at out[oc ..].
  TINYQ_ALWAYS_INLINE void run(const int8_t* x, int32_t k, const ChannelTable& t, const OutputStage& st,
                               int8_t* out) const {
    int32_t a[4];
    if (n == 4) {
      tinyq_mve_dot4(x, w0, k, k >> 4, a, k & 15);
    } else {  // the last 1 to 3 channels of a group: one row at a time, nothing read past them
      for (int32_t j = 0; j < 4; ++j) a[j] = j < n ? dot1(x, w0 + j * k, k) : 0;
    }
    const int32x4_t acc = vaddq_s32(vldrwq_s32(a), base);  // modulo 2^32, like the C sums
    if (t.vector) {
      int32x4_t v = arm::requantize_lanes(acc, multiplier, neg_t);
      v = vminq_s32(vmaxq_s32(v, lo), hi);
      vstrbq_p_s32(out + oc, vaddq_n_s32(v, st.offset), lanes);
    } else {
      int32_t r[4];
      vstrwq_s32(r, acc);
      for (int32_t j = 0; j < n; ++j) out[oc + j] = st.finish(r[j], oc + j);
    }
  }
};

// n bytes from src to dst / n copies of v at dst: whole 16-byte vectors, then one predicated
// tail. Out of line: called once per row of taps.
__attribute__((noinline)) void copy_bytes(int8_t* dst, const int8_t* src, int32_t n) {
  for (; n >= 16; n -= 16, src += 16, dst += 16) vstrbq_s8(dst, vldrbq_s8(src));
  if (n > 0) {
    const mve_pred16_t p = vctp8q(static_cast<uint32_t>(n));
    vstrbq_p_s8(dst, vldrbq_z_s8(src, p), p);
  }
}
__attribute__((noinline)) void fill_bytes(int8_t* dst, int8_t v, int32_t n) {
  const int8x16_t vv = vdupq_n_s8(v);
  for (; n >= 16; n -= 16, dst += 16) vstrbq_s8(dst, vv);
  if (n > 0) vstrbq_p_s8(dst, vv, vctp8q(static_cast<uint32_t>(n)));
}

// The int8 patch of output pixel (y0, x0) (top-left tap) for group g; padding = pad_value.
void im2col_s8(const ConvParams& p, const int8_t* image, int32_t y0, int32_t x0, int32_t g, int8_t pad_value,
               int8_t* dst) {
  const int32_t group_in_c = p.in_c / p.groups;
  const int32_t row_taps = p.kernel_w * group_in_c;
  const detail::TapRange kx = detail::valid_taps(x0, p.kernel_w, p.dilation_w, p.in_w);
  const int32_t left = kx.first * group_in_c, right = (p.kernel_w - kx.last) * group_in_c;
  // A row of taps is one contiguous run of bytes when the taps are adjacent pixels and a
  // pixel's channels all belong to the group.
  const bool contiguous = p.dilation_w == 1 && p.groups == 1;
  for (int32_t ty = 0; ty < p.kernel_h; ++ty, dst += row_taps) {
    const int32_t iy = y0 + ty * p.dilation_h;
    if (iy < 0 || iy >= p.in_h) {
      fill_bytes(dst, pad_value, row_taps);
      continue;
    }
    const int8_t* row = image + iy * p.in_w * p.in_c + g * group_in_c;
    if (left > 0) fill_bytes(dst, pad_value, left);
    if (contiguous) {
      copy_bytes(dst + left, row + (x0 + kx.first) * p.in_c, (kx.last - kx.first) * p.in_c);
    } else {
      for (int32_t tx = kx.first; tx < kx.last; ++tx)
        copy_bytes(dst + tx * group_in_c, row + (x0 + tx * p.dilation_w) * p.in_c, group_in_c);
    }
    if (right > 0) fill_bytes(dst + row_taps - right, pad_value, right);
  }
}

// 1x1 kernel over real pixels: blocks of 4 channels outside, pixels inside, so a block's
// weights and requantization vectors are set up once per layer, not once per pixel.
void conv_pointwise(const ConvParams& p, const int8_t* input, const int8_t* weights, int8_t* output,
                    const ChannelTable& t, const OutputStage& st) {
  for (int32_t oc = 0; oc < p.out_c; oc += 4) {
    const ChannelBlock block(weights, p.in_c, oc, p.out_c, t, st);
    int8_t* out = output;
    for (int32_t b = 0; b < p.batch; ++b) {
      const int8_t* image = input + b * p.in_h * p.in_w * p.in_c;
      for (int32_t oy = 0; oy < p.out_h; ++oy) {
        const int8_t* x = image + oy * p.stride_h * p.in_w * p.in_c;
        for (int32_t ox = 0; ox < p.out_w; ++ox, x += p.stride_w * p.in_c, out += p.out_c) {
          block.run(x, p.in_c, t, st, out);
        }
      }
    }
  }
}

// Any other shape: per pixel and group, the int8 patch (im2col), then blocks of 4 channels.
void conv_general(const ConvParams& p, const int8_t* input, const int8_t* weights, int8_t* output,
                  const ChannelTable& t, const OutputStage& st, int8_t* patch) {
  const int32_t group_in_c = p.in_c / p.groups;
  const int32_t group_out_c = p.out_c / p.groups;
  const int32_t k = p.kernel_h * p.kernel_w * group_in_c;
  const int8_t pad_value = static_cast<int8_t>(-p.input_offset);
  for (int32_t b = 0; b < p.batch; ++b) {
    const int8_t* image = input + b * p.in_h * p.in_w * p.in_c;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        for (int32_t g = 0; g < p.groups; ++g) {
          im2col_s8(p, image, oy * p.stride_h - p.pad_top, ox * p.stride_w - p.pad_left, g, pad_value, patch);
          for (int32_t oc = g * group_out_c; oc < (g + 1) * group_out_c; oc += 4) {
            const ChannelBlock block(weights, k, oc, (g + 1) * group_out_c, t, st);
            block.run(patch, k, t, st, output);
          }
        }
        output += p.out_c;
      }
    }
  }
}

}  // namespace

void conv2d_s8_mve(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias, int8_t* output,
                   int16_t* scratch) {
  const ConvVariant variant = conv2d_s8_variant(p, KernelPath::ArmMve);
  if (variant != ConvVariant::MvePointwise && variant != ConvVariant::MveGeneral) {
    conv2d_s8_portable(p, input, weights, bias, output, scratch);
    return;
  }
  const OutputStage st(p.requant, p.output_offset, p.act_min, p.act_max);
  const int32_t k = p.kernel_h * p.kernel_w * (p.in_c / p.groups);
  int32_t* table = reinterpret_cast<int32_t*>(scratch);
  const ChannelTable t = prepare_channels(p, weights, bias, k, table);
  if (variant == ConvVariant::MvePointwise) {
    conv_pointwise(p, input, weights, output, t, st);
  } else {
    conv_general(p, input, weights, output, t, st, reinterpret_cast<int8_t*>(table + 3 * p.out_c));
  }
}

}  // namespace rt
}  // namespace tinyq

#endif  // TINYQ_PATH_ARM_MVE
