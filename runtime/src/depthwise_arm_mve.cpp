// tinyq runtime: depthwise_conv2d_s8 on Helium (MVE: Cortex-M55, M85).
//
// Channel multiplier 1, 16 channels per step: per tap one VLDRB of 16 inputs and one of 16
// weights, VMOVLB / VMOVLT widen the even and odd channels to 16 bits (input offset added:
// in + offset fits 16 bits), and VMULLB / VMULLT give exact 32-bit products of the even and
// odd 16-bit lanes: 16 MACs in 16 instructions. The four int32 accumulators hold channels
// {0, 4, 8, 12}, {2, 6, 10, 14}, {1, 5, 9, 13}, {3, 7, 11, 15} of the block, so bias,
// requantization parameters and outputs move with gather loads and scatter stores of those
// lane offsets. Channel counts that are not a multiple of 16 use tail predication.
// Requantization is vectorised when every channel's multiplier is below 1/2 (shift <= -2, the
// usual case): with hi = VMULH(acc, m), the high word of the product, requantize() equals
// VRSHL(hi, -t) = (hi + 2^(t-1)) >> t, t = -1 - shift (the identity proved in
// conv_arm_common.hpp), so lanes agree bit for bit with the portable path. Otherwise the
// accumulators go through the scalar requantization. No scratch.
#include "tinyq/target.hpp"  // defines the TINYQ_PATH_* macro tested below

#if defined(TINYQ_PATH_ARM_MVE)

#include <arm_mve.h>

#include "conv_arm_common.hpp"
#include "tinyq/kernel_paths.hpp"

namespace tinyq {
namespace rt {

namespace {

using arm::OutputStage;

void depthwise_mult1(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                     int8_t* output) {
  const OutputStage st(p.requant, p.output_offset, p.act_min, p.act_max);
  const int32_t c = p.in_c;
  const int32_t row = p.in_w * c;
  bool vector_requant = true;
  for (int32_t i = 0; i < p.requant.count; ++i) vector_requant = vector_requant && p.requant.shift[i] <= -2;
  const bool per_channel = p.requant.count != 1;
  // Channels of the four accumulators within a block of 16 (see the top of the file).
  uint32x4_t lane_channel[4];
  lane_channel[0] = vidupq_n_u32(0, 4);  // 0, 4, 8, 12
  lane_channel[1] = vaddq_n_u32(lane_channel[0], 2);
  lane_channel[2] = vaddq_n_u32(lane_channel[0], 1);
  lane_channel[3] = vaddq_n_u32(lane_channel[0], 3);
  const int16_t offset = static_cast<int16_t>(p.input_offset);
  // Bias, requantization and store of the accumulator whose lanes are channels ch + lane.
  auto finish = [&](int32x4_t acc, uint32x4_t lane, int32_t ch, int32_t n, int8_t* out) {
    const mve_pred16_t lanes = vcmphiq_u32(vdupq_n_u32(static_cast<uint32_t>(n)), lane);
    if (bias != nullptr) acc = vaddq_s32(acc, vldrwq_gather_shifted_offset_z_s32(bias + ch, lane, lanes));
    if (vector_requant) {
      const int32x4_t m = per_channel ? vldrwq_gather_shifted_offset_z_s32(p.requant.multiplier + ch, lane, lanes)
                                      : vdupq_n_s32(p.requant.multiplier[0]);
      const int32x4_t s = per_channel ? vldrwq_gather_shifted_offset_z_s32(p.requant.shift + ch, lane, lanes)
                                      : vdupq_n_s32(p.requant.shift[0]);
      // -t = shift + 1 (requantize_lanes, conv_arm_common.hpp); unused lanes are not stored.
      int32x4_t v = arm::requantize_lanes(acc, m, vaddq_n_s32(s, 1));
      v = vminq_s32(vmaxq_s32(v, vdupq_n_s32(st.lo)), vdupq_n_s32(st.hi));
      vstrbq_scatter_offset_p_s32(out + ch, lane, vaddq_n_s32(v, st.offset), lanes);
    } else {
      int32_t a[4];
      uint32_t o[4];
      vstrwq_s32(a, acc);
      vstrwq_u32(o, lane);
      for (int32_t j = 0; j < 4; ++j) {
        const int32_t channel = ch + static_cast<int32_t>(o[j]);
        if (channel < c) out[channel] = st.finish(a[j], channel);
      }
    }
  };
  for (int32_t b = 0; b < p.batch; ++b) {
    const int8_t* image = input + b * p.in_h * row;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      const detail::TapRange ky = detail::valid_taps(y0, p.kernel_h, p.dilation_h, p.in_h);
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t x0 = ox * p.stride_w - p.pad_left;
        const detail::TapRange kx = detail::valid_taps(x0, p.kernel_w, p.dilation_w, p.in_w);
        const int32_t origin = y0 * row + x0 * c;  // offset of tap (0, 0), which may lie in the padding
        for (int32_t ch = 0; ch < c; ch += 16) {
          const int32_t n = c - ch < 16 ? c - ch : 16;
          const mve_pred16_t bytes = vctp8q(static_cast<uint32_t>(n));
          int32x4_t a0 = vdupq_n_s32(0), a1 = a0, a2 = a0, a3 = a0;
          for (int32_t ty = ky.first; ty < ky.last; ++ty) {
            const int8_t* in = image + (origin + ty * p.dilation_h * row + kx.first * p.dilation_w * c + ch);
            const int8_t* w = weights + (ty * p.kernel_w + kx.first) * p.out_c + ch;
            for (int32_t tx = kx.first; tx < kx.last; ++tx) {
              const int8x16_t xv = vldrbq_z_s8(in, bytes), wv = vldrbq_z_s8(w, bytes);
              const int16x8_t xe = vaddq_n_s16(vmovlbq_s8(xv), offset), we = vmovlbq_s8(wv);
              a0 = vaddq_s32(a0, vmullbq_int_s16(xe, we));
              a1 = vaddq_s32(a1, vmulltq_int_s16(xe, we));
              const int16x8_t xo = vaddq_n_s16(vmovltq_s8(xv), offset), wo = vmovltq_s8(wv);
              a2 = vaddq_s32(a2, vmullbq_int_s16(xo, wo));
              a3 = vaddq_s32(a3, vmulltq_int_s16(xo, wo));
              in += p.dilation_w * c;
              w += p.out_c;
            }
          }
          finish(a0, lane_channel[0], ch, n, output);
          finish(a1, lane_channel[1], ch, n, output);
          finish(a2, lane_channel[2], ch, n, output);
          finish(a3, lane_channel[3], ch, n, output);
        }
        output += c;
      }
    }
  }
}

}  // namespace

void depthwise_conv2d_s8_mve(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                             int8_t* output) {
  if (p.out_c == p.in_c) {
    depthwise_mult1(p, input, weights, bias, output);
  } else {  // a channel multiplier above 1 is rare: the portable kernel
    depthwise_conv2d_s8_portable(p, input, weights, bias, output);
  }
}

}  // namespace rt
}  // namespace tinyq

#endif  // TINYQ_PATH_ARM_MVE
