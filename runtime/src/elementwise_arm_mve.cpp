// tinyq runtime: add/sub, mul and table lookup with Helium (MVE, Cortex-M55/M85).
//
// Add: four 32-bit lanes per step. Each rescale of the portable add (a 64-bit requantize) is
// rewritten as one Helium high multiply, exact by the identities below, checked once per
// call; a call whose parameters fall outside them (never produced by tinyq's quantizer:
// left_shift 20, input multipliers <= 1/2) runs the portable code.
// Lookup: a 16-lane byte gather (VLDRB gather with 8-bit offsets) does 16 table reads at once.
#include "tinyq/kernel_path.hpp"

#if defined(TINYQ_PATH_ARM_MVE)

#include <arm_mve.h>

#include "broadcast_rows.hpp"
#include "high_mul_requant.hpp"
#include "kernel_paths.hpp"
#include "kernel_util.hpp"

namespace tinyq {
namespace rt {

namespace {

using detail::InputRescale;

struct MveAdd {
  InputRescale a, b;
  detail::HighMulRequant out;  // pre == 0; output_offset inside `round`
  int32x4_t scale_a, scale_b, lo, hi;
};

// Four outputs from four (q_a, q_b) pairs, clamped to [act_min, act_max].
inline int32x4_t add4(const MveAdd& f, int32x4_t qa, int32x4_t qb) {
  const int32x4_t xa = vqrdmulhq_n_s32(vmlasq_n_s32(qa, f.scale_a, f.a.offset), f.a.multiplier);
  const int32x4_t xb = vqrdmulhq_n_s32(vmlasq_n_s32(qb, f.scale_b, f.b.offset), f.b.multiplier);
  int32x4_t v = vqdmulhq_n_s32(vaddq_s32(xa, xb), f.out.multiplier);
  v = vshlq_r_s32(vaddq_n_s32(v, f.out.round), -f.out.post);  // negative count: arithmetic right shift
  return vminq_s32(vmaxq_s32(v, f.lo), f.hi);
}

// One output row; op(qa, qb) gives four clamped outputs from four input pairs. Lane i reads
// element i * step: a broadcast (step 0) or strided row is a gather; contiguous rows take
// whole vectors without a predicate (a VCTP and VPSTs per step otherwise), then one
// predicated step for the tail.
template <typename Op>
void row4(const Op& op, const detail::BroadcastRows& rows, const int8_t* a, const int8_t* b, int8_t* out) {
  const int32_t n = rows.n;
  int32_t i = 0;
  if (rows.a_step == 1 && rows.b_step == 1) {
    for (; i + 4 <= n; i += 4) vstrbq_s32(out + i, op(vldrbq_s32(a + i), vldrbq_s32(b + i)));
  }
  const uint32x4_t lane = vidupq_n_u32(0, 1);
  const uint32x4_t a_offsets = vmulq_n_u32(lane, static_cast<uint32_t>(rows.a_step));
  const uint32x4_t b_offsets = vmulq_n_u32(lane, static_cast<uint32_t>(rows.b_step));
  for (; i < n; i += 4) {
    const mve_pred16_t lanes = vctp32q(static_cast<uint32_t>(n - i));
    const int32x4_t qa = vldrbq_gather_offset_z_s32(a + i * rows.a_step, a_offsets, lanes);
    const int32x4_t qb = vldrbq_gather_offset_z_s32(b + i * rows.b_step, b_offsets, lanes);
    vstrbq_p_s32(out + i, op(qa, qb), lanes);
  }
}

}  // namespace

void add_s8_mve(const AddParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output) {
  MveAdd f;
  // VQRDMULH: h = 31.
  if (!detail::input_rescale<31>(p.a_offset, p.left_shift, p.a_multiplier, p.a_shift, f.a) ||
      !detail::input_rescale<31>(p.b_offset, p.left_shift, p.b_multiplier, p.b_shift, f.b)) {
    return add_s8_portable(p, s, a, b, output);
  }
  // Output: VQDMULH keeps floor(x * M / 2^31) (h = 31); output_offset rides in `round`.
  // ra + rb must fit int32 (as in the portable code).
  const int64_t sum_bound = f.a.bound + f.b.bound;
  f.out = detail::high_mul_requant(p.output_multiplier, p.output_shift, p.output_offset, sum_bound, 31);
  if (sum_bound >= (int64_t{1} << 31) || !f.out.valid || f.out.pre != 0) return add_s8_portable(p, s, a, b, output);
  f.scale_a = vdupq_n_s32(f.a.scale);
  f.scale_b = vdupq_n_s32(f.b.scale);
  f.lo = vdupq_n_s32(p.act_min);
  f.hi = vdupq_n_s32(p.act_max);

  const detail::BroadcastRows rows = detail::broadcast_rows(s);
  const auto op = [&f](int32x4_t qa, int32x4_t qb) { return add4(f, qa, qb); };
  detail::for_each_row(rows, a, b, output,
                       [&](const int8_t* ar, const int8_t* br, int8_t* out) { row4(op, rows, ar, br, out); });
}

void mul_s8_mve(const MulParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output) {
  // requantize((q_a + o_a) * (q_b + o_b), M, S) through high_mul_requant with VQDMULH (h = 31),
  // the pre-shift riding on b: (q_a + o_a) * (q_b * 2^pre + o_b * 2^pre). |q + o| <= 128 + |o|.
  const int64_t a_max = 128 + (p.a_offset < 0 ? -static_cast<int64_t>(p.a_offset) : p.a_offset);
  const int64_t b_max = 128 + (p.b_offset < 0 ? -static_cast<int64_t>(p.b_offset) : p.b_offset);
  const detail::HighMulRequant r =
      detail::high_mul_requant(p.output_multiplier, p.output_shift, p.output_offset, a_max * b_max, 31);
  if (!r.valid || a_max > 256 || b_max > 256) return mul_s8_portable(p, s, a, b, output);
  const int32_t a_offset = p.a_offset;
  const int32x4_t b_scale = vdupq_n_s32(static_cast<int32_t>(1) << r.pre);
  const int32_t b_offset = p.b_offset * (static_cast<int32_t>(1) << r.pre);
  const int32x4_t lo = vdupq_n_s32(p.act_min);
  const int32x4_t hi = vdupq_n_s32(p.act_max);
  const auto op = [&](int32x4_t qa, int32x4_t qb) {
    const int32x4_t x = vmulq_s32(vaddq_n_s32(qa, a_offset), vmlasq_n_s32(qb, b_scale, b_offset));
    int32x4_t v = vqdmulhq_n_s32(x, r.multiplier);
    v = vshlq_r_s32(vaddq_n_s32(v, r.round), -r.post);  // negative count: arithmetic right shift
    return vminq_s32(vmaxq_s32(v, lo), hi);
  };
  const detail::BroadcastRows rows = detail::broadcast_rows(s);
  detail::for_each_row(rows, a, b, output,
                       [&](const int8_t* ar, const int8_t* br, int8_t* out) { row4(op, rows, ar, br, out); });
}

void lookup_s8_mve(const int8_t* table, const int8_t* input, int8_t* output, int32_t count) {
  // table[q + 128]: as an unsigned byte, q + 128 is q with its top bit flipped.
  const uint8_t* t = reinterpret_cast<const uint8_t*>(table);
  const uint8_t* in = reinterpret_cast<const uint8_t*>(input);
  uint8_t* out = reinterpret_cast<uint8_t*>(output);
  const uint8x16_t flip = vdupq_n_u8(0x80);
  int32_t i = 0;
  for (; i + 16 <= count; i += 16) vstrbq_u8(out + i, vldrbq_gather_offset_u8(t, veorq_u8(vldrbq_u8(in + i), flip)));
  if (i < count) {
    const mve_pred16_t lanes = vctp8q(static_cast<uint32_t>(count - i));
    const uint8x16_t index = veorq_u8(vldrbq_z_u8(in + i, lanes), flip);
    vstrbq_p_u8(out + i, vldrbq_gather_offset_z_u8(t, index, lanes), lanes);
  }
}

}  // namespace rt
}  // namespace tinyq

#endif
