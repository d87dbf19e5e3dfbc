// tinyq runtime: add/sub and mul on Armv7E-M with the DSP extension (Cortex-M4/M7).
//
// The portable add rescales each input with a 64-bit requantize (SMULL, a 64-bit rounding add
// and a 64-bit shift by a run-time amount: a dozen or more instructions each) and the sum with
// a third; mul has one. Here each rescale becomes one or two 32-bit instructions, exact by the
// identities below, checked once per call from the parameters; a call whose parameters fall
// outside them (never produced by tinyq's quantizer: left_shift 20, input multipliers <= 1/2)
// runs the portable code.
#include "tinyq/kernel_path.hpp"

#if defined(TINYQ_PATH_ARM_DSP)

#include <arm_acle.h>

#include "arm_instructions.hpp"
#include "broadcast_rows.hpp"
#include "high_mul_requant.hpp"
#include "int8_lanes.hpp"
#include "kernel_paths.hpp"
#include "kernel_util.hpp"

namespace tinyq {
namespace rt {

namespace {

using detail::InputRescale;

// requantize((q + o) * 2^L, M, S) as SMMULR((q + o) * 2^k, M): detail::input_rescale<32>.
inline int32_t rescale(const InputRescale& r, int32_t q) {
  return arm::smmulr(arm::mla(q, r.scale, r.offset), r.multiplier);
}

// Inserts the low byte of v at bit `lsb` of w.
template <int Lsb>
inline uint32_t insert_byte(uint32_t w, int32_t v) {
  __asm__("bfi %0, %1, %2, #8" : "+r"(w) : "r"(v), "i"(Lsb));
  return w;
}

// When an input's multiplier is exactly 1/2 (M = 2^30, S = 0: tinyq's quantizer gives it to
// the input with the larger scale), its rescale is a plain shift: with e = L + S - 1 >= 0,
// requantize(v * 2^L, 2^30, S) = floor(v * 2^e + 1/2) = v * 2^e. Then the whole sum is
//     ra + rb = q_a * 2^e + (o_a * 2^e + SMMULR(x_b, M_b)) = MLA(q_a, 2^e, SMMLAR(x_b, M_b, o_a * 2^e))
// (SMMLAR adds its accumulator to the rounded high word exactly): two instructions fewer.
struct FastAdd {
  InputRescale a, b;  // with `shift_a`, `a` is the power-of-two input
  bool shift_a;
  detail::HighMulRequant out;  // pre == 0; output_offset inside `round`
};

#if !defined(__OPTIMIZE_SIZE__)
bool is_shift_rescale(int32_t offset, int32_t left_shift, int32_t multiplier, int32_t shift, InputRescale& r) {
  const int32_t e = left_shift + shift - 1;
  const int64_t v_max = detail::max_i32(offset < 0 ? 128 - offset : 128 + offset, 0);
  if (multiplier != (int32_t{1} << 30) || 31 - shift < 1 || e < 0 || e > 30 || (v_max << e) >= (int64_t{1} << 31)) {
    return false;
  }
  r.scale = static_cast<int32_t>(1) << e;
  r.offset = offset * r.scale;
  r.multiplier = multiplier;
  r.bound = v_max << e;
  return true;
}
#endif

// out + output_offset for one pair: (SMMLA(ra + rb, M, round)) >> post.
template <bool ShiftA>
inline int32_t add_one(const FastAdd& f, int32_t qa, int32_t qb) {
  int32_t sum;
  if (ShiftA) {
    sum = arm::mla(qa, f.a.scale, arm::smmlar(arm::mla(qb, f.b.scale, f.b.offset), f.b.multiplier, f.a.offset));
  } else {
    sum = rescale(f.a, qa) + rescale(f.b, qb);
  }
  return arm::smmla(sum, f.out.multiplier, f.out.round) >> f.out.post;
}

// One output row of n elements, the inputs stepping sa and sb elements; one(qa, qb) gives
// an output plus output_offset, unclamped. Both contiguous: four outputs per iteration,
// saturated to int8 (SSAT), packed into one word and clamped to [act_min, act_max] lane-wise;
// SSAT to 8 bits first changes nothing since act_min/act_max lie in [-128, 127].
struct Clamp {
  int32_t act_min, act_max;
  uint32_t lo4, hi4;
};
Clamp make_clamp(int32_t act_min, int32_t act_max) {
  return Clamp{act_min, act_max, arm::splat4(act_min), arm::splat4(act_max)};
}

template <bool FullRange, typename One>
void row(const One& one, const Clamp& c, const int8_t* a, int32_t sa, const int8_t* b, int32_t sb, int8_t* out,
         int32_t n) {
  int32_t i = 0;
  if (sa == 1 && sb == 1) {
    for (; i + 4 <= n; i += 4) {
      uint32_t w = static_cast<uint32_t>(__ssat(one(a[i], b[i]), 8));
      w = insert_byte<8>(w, __ssat(one(a[i + 1], b[i + 1]), 8));
      w = insert_byte<16>(w, __ssat(one(a[i + 2], b[i + 2]), 8));
      w = insert_byte<24>(w, __ssat(one(a[i + 3], b[i + 3]), 8));
      if (!FullRange) w = arm::min4(arm::max4(w, c.lo4), c.hi4);
      arm::store_u32(out + i, w);
    }
  }
  for (; i < n; ++i) {  // tail, or a broadcast (stride 0) / strided row
    out[i] = static_cast<int8_t>(clamp_i32(one(a[i * sa], b[i * sb]), c.act_min, c.act_max));
  }
}

// Every row of a broadcast through row(): with the full int8 range (SSAT alone clamps) the
// lane-wise clamp is left out, except at -Os (one loop per op).
template <typename One>
void all_rows(const One& one, const Clamp& c, const detail::BroadcastRows& rows, const int8_t* a, const int8_t* b,
              int8_t* output) {
#if !defined(__OPTIMIZE_SIZE__)
  if (c.act_min == -128 && c.act_max == 127) {
    detail::for_each_row(rows, a, b, output, [&](const int8_t* ar, const int8_t* br, int8_t* out) {
      row<true>(one, c, ar, rows.a_step, br, rows.b_step, out, rows.n);
    });
    return;
  }
#endif
  detail::for_each_row(rows, a, b, output, [&](const int8_t* ar, const int8_t* br, int8_t* out) {
    row<false>(one, c, ar, rows.a_step, br, rows.b_step, out, rows.n);
  });
}

// Mul: requantize((q_a + o_a) * (q_b + o_b), M, S) through high_mul_requant, whose
// pre-shift rides on b: (q_a + o_a) * (q_b * 2^pre + o_b * 2^pre) (one ADD, one MLA, one MUL).
struct FastMul {
  int32_t a_offset, b_scale, b_offset;
  detail::HighMulRequant out;
};

}  // namespace

void add_s8_dsp(const AddParams& p, const BroadcastShape& s, const int8_t* a_in, const int8_t* b_in, int8_t* output) {
  BroadcastShape m = s;
  const int8_t* a = a_in;
  const int8_t* b = b_in;
  FastAdd f;
#if defined(__OPTIMIZE_SIZE__)  // -Os: no power-of-two special case (one loop instead of two)
  f.shift_a = false;
#else
  f.shift_a = is_shift_rescale(p.a_offset, p.left_shift, p.a_multiplier, p.a_shift, f.a) &&
              detail::input_rescale<32>(p.b_offset, p.left_shift, p.b_multiplier, p.b_shift, f.b);
  if (!f.shift_a && is_shift_rescale(p.b_offset, p.left_shift, p.b_multiplier, p.b_shift, f.a) &&
      detail::input_rescale<32>(p.a_offset, p.left_shift, p.a_multiplier, p.a_shift, f.b)) {
    // ra + rb is symmetric: let b play the power-of-two role of `a`.
    f.shift_a = true;
    const int8_t* t = a;
    a = b;
    b = t;
    detail::swap_inputs(m);
  }
#endif
  if (!f.shift_a && (!detail::input_rescale<32>(p.a_offset, p.left_shift, p.a_multiplier, p.a_shift, f.a) ||
                     !detail::input_rescale<32>(p.b_offset, p.left_shift, p.b_multiplier, p.b_shift, f.b))) {
    return add_s8_portable(p, s, a_in, b_in, output);
  }
  // ra + rb must fit int32 (as in the portable code) before the output rescale.
  const int64_t sum_bound = f.a.bound + f.b.bound;
  f.out = detail::high_mul_requant(p.output_multiplier, p.output_shift, p.output_offset, sum_bound);
  if (sum_bound >= (int64_t{1} << 31) || !f.out.valid || f.out.pre != 0)
    return add_s8_portable(p, s, a_in, b_in, output);
  const Clamp c = make_clamp(p.act_min, p.act_max);

  const detail::BroadcastRows rows = detail::broadcast_rows(m);
#if !defined(__OPTIMIZE_SIZE__)
  if (f.shift_a) {
    const auto one = [&f](int32_t qa, int32_t qb) { return add_one<true>(f, qa, qb); };
    all_rows(one, c, rows, a, b, output);
    return;
  }
#endif
  const auto one = [&f](int32_t qa, int32_t qb) { return add_one<false>(f, qa, qb); };
  all_rows(one, c, rows, a, b, output);
}

void mul_s8_dsp(const MulParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output) {
  // |q + o| <= 128 + |o| for int8 q; the product's bound is the product of both.
  const int64_t a_max = 128 + (p.a_offset < 0 ? -static_cast<int64_t>(p.a_offset) : p.a_offset);
  const int64_t b_max = 128 + (p.b_offset < 0 ? -static_cast<int64_t>(p.b_offset) : p.b_offset);
  FastMul f;
  f.out = detail::high_mul_requant(p.output_multiplier, p.output_shift, p.output_offset, a_max * b_max);
  // valid includes a_max * b_max << pre fitting int32, so o_b << pre does too.
  if (!f.out.valid || a_max > 256 || b_max > 256) return mul_s8_portable(p, s, a, b, output);
  f.a_offset = p.a_offset;
  f.b_scale = static_cast<int32_t>(1) << f.out.pre;
  f.b_offset = p.b_offset * f.b_scale;
  const Clamp c = make_clamp(p.act_min, p.act_max);
  const auto one = [&f](int32_t qa, int32_t qb) {
    const int32_t x = (qa + f.a_offset) * arm::mla(qb, f.b_scale, f.b_offset);  // product << pre
    return arm::smmla(x, f.out.multiplier, f.out.round) >> f.out.post;
  };
  const detail::BroadcastRows rows = detail::broadcast_rows(s);
  all_rows(one, c, rows, a, b, output);
}

}  // namespace rt
}  // namespace tinyq

#endif
