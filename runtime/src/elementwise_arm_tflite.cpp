// tinyq runtime: TFLite's int8 add and sub (AddParams::rounding = kRoundTflite) on the Arm
// paths (Cortex-M4/M7 with the DSP extension, Cortex-M55, whose Helium requires it): scalar
// Thumb-2 with SMMLAR and SMMULR, the same arithmetic on both, and on Helium contiguous rows 4
// elements at a time (helium_add_row). The portable loop spends about 44 instructions per
// element on its three 64-bit requantizations; the scalar form about 11, Helium's about 3.5.
#include "tinyq/kernel_path.hpp"  // defines the TINYQ_PATH_* macro tested below

#if defined(TINYQ_PATH_ARM_DSP) || defined(TINYQ_PATH_ARM_MVE)

#if defined(TINYQ_PATH_ARM_MVE)
#include <arm_mve.h>
#endif

#include "arm_instructions.hpp"
#include "broadcast_rows.hpp"
#include "high_mul_requant.hpp"
#include "kernel_paths.hpp"
#include "kernel_util.hpp"

namespace tinyq {
namespace rt {

namespace {

// TFLite's add and sub (kRoundTflite) in 32-bit instructions, for TFLite's own parameters:
// one input's multiplier is exactly 1/2 (M = 2^30, S = 0: the input with the larger scale),
// its rescale the plain shift requantize_tflite(v * 2^L, 2^30, 0) = v * 2^(L-1); the other's
// rescale depends only on its int8 value, so it is read from a table of 256 entries built per
// call with requantize_tflite itself. Both terms are kept doubled (2 ra, 2 rb), so that the sum
// s2 = 2 (ra +- rb) feeds the output's two roundings as in the 3x3 depthwise passes
// (depthwise_arm_dsp_rows.cpp, pack_quad_weights): SMMLAR(s2, M, A) = A + y with
// y = floor((sum * M + 2^30) / 2^31), TFLite's SaturatingRoundingDoublingHighMul (M >= 0 never
// saturates), and (A + y + (s2 >> 31)) >> r = RoundingDivideByPOT(y, r) + offset for
// A = 2^(r-1) + offset * 2^r, r = -S in [1, 31] (y < 0 needs sum < 0; sum < 0 with y = 0 gives
// 0 either way). About 10 instructions an element instead of the portable loop's 44.
struct TfliteAdd {
  int32_t scale, offset;  // the shift input's doubled term: MLA(q, scale, offset)
  const int32_t* table;   // the other's doubled (or negated, for SUB) term, indexed by q
  int32_t multiplier, addend, post;
};

inline int32_t tflite_add_one(const TfliteAdd& f, int32_t q_shift, int32_t q_table) {
  const int32_t s2 = arm::mla(q_shift, f.scale, f.offset) + f.table[q_table];
  return (arm::smmlar(s2, f.multiplier, f.addend) + (s2 >> 31)) >> f.post;
}

// The table's order: by the int8 value on the DSP path (entry q at origin + q, what its
// assembly row reads with LDRSB), by the byte as unsigned on Helium (what a VLDRB.U32 gives as
// gather offsets).
#if defined(TINYQ_PATH_ARM_MVE)
constexpr int32_t kTableOrigin = 0;
inline int32_t table_index(int32_t q) { return static_cast<uint8_t>(q); }
#else
constexpr int32_t kTableOrigin = 128;
inline int32_t table_index(int32_t q) { return q; }
#endif

#if defined(TINYQ_PATH_ARM_MVE) && !defined(__OPTIMIZE_SIZE__)
// tflite_add_one on 4 lanes: the table term by one gather (VLDRW with the table input's bytes
// as unsigned offsets), SMMLAR as VRMULH + the addend (the same rounding: (s2 M + 2^31) >> 32),
// about 14 instructions per 4 elements instead of about 42. Contiguous rows; returns how many
// elements it wrote (whole groups of 4).
struct HeliumAdd {
  int32x4_t scale, multiplier, lo, hi;
};
int32_t helium_add_row(const TfliteAdd& f, const HeliumAdd& h, const int8_t* shift_input, const int8_t* table_input,
                       int8_t* out, int32_t n) {
  const uint8_t* t = reinterpret_cast<const uint8_t*>(table_input);
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const int32x4_t term = vldrwq_gather_shifted_offset_s32(f.table, vldrbq_u32(t + i));
    const int32x4_t s2 = vaddq_s32(vmlasq_n_s32(vldrbq_s32(shift_input + i), h.scale, f.offset), term);
    int32x4_t v = vaddq_n_s32(vrmulhq_s32(s2, h.multiplier), f.addend);
    v = vshlq_r_s32(vaddq_s32(v, vshrq_n_s32(s2, 31)), -f.post);  // negative count: arithmetic right shift
    vstrbq_s32(out + i, vminq_s32(vmaxq_s32(v, h.lo), h.hi));
  }
  return i;
}
#endif

#if defined(TINYQ_PATH_ARM_DSP) && !defined(__OPTIMIZE_SIZE__)
// tflite_add_one over contiguous rows with the full int8 range, 4 elements per iteration, in
// assembly: GCC 12 keeps the loop's end on the stack and steps each pointer by its own ADD;
// here loads post-increment and the clamp is SSAT alone: 42 instructions per 4 elements
// instead of 45. r0 shift input, r1 table input, r2 output, r3 -> TfliteAddRow.
struct TfliteAddRow {
  int32_t groups;  // 0: groups of 4 elements, >= 1
  const int32_t* table;
  int32_t scale, offset, multiplier, addend, post;
};
extern "C" void tinyq_arm_add_tflite_row(const int8_t* shift_input, const int8_t* table_input, int8_t* out,
                                         const TfliteAddRow* args);
// clang-format off
#define TINYQ_ADD_ONE(DEST)                 \
  "  ldrsb r10, [r0], #1\n"                \
  "  ldrsb r11, [r1], #1\n"                \
  "  ldr r11, [r4, r11, lsl #2]\n"         \
  "  mla r10, r10, r5, r6\n"               \
  "  add r10, r11\n"                       \
  "  smmlar " DEST ", r10, r7, r8\n"       \
  "  add " DEST ", " DEST ", r10, asr #31\n" \
  "  asr " DEST ", " DEST ", r9\n"         \
  "  ssat " DEST ", #8, " DEST "\n"
__asm__(
    "  .section .text.tinyq_arm_add_tflite_row,\"ax\",%progbits\n"
    "  .syntax unified\n"
    "  .thumb\n"
    "  .align 2\n"
    "  .global tinyq_arm_add_tflite_row\n"
    "  .hidden tinyq_arm_add_tflite_row\n"
    "  .type tinyq_arm_add_tflite_row, %function\n"
    "  .thumb_func\n"
    "tinyq_arm_add_tflite_row:\n"
    "  push {r4-r11, lr}\n"
    "  ldm r3, {r3-r9}\n"
    "1:\n"
    TINYQ_ADD_ONE("r12")
    TINYQ_ADD_ONE("lr")
    "  bfi r12, lr, #8, #8\n"
    TINYQ_ADD_ONE("lr")
    "  bfi r12, lr, #16, #8\n"
    TINYQ_ADD_ONE("lr")
    "  bfi r12, lr, #24, #8\n"
    "  str r12, [r2], #4\n"
    "  subs r3, #1\n"
    "  bne 1b\n"
    "  pop {r4-r11, pc}\n"
    "  .size tinyq_arm_add_tflite_row, .-tinyq_arm_add_tflite_row\n"
    "  .text\n");
#undef TINYQ_ADD_ONE
// clang-format on
#endif

}  // namespace

bool add_s8_tflite_arm(const AddParams& p, const BroadcastShape& s, const int8_t* a, const int8_t* b, int8_t* output) {
  const bool a_shift = p.a_multiplier == (int32_t{1} << 30) && p.a_shift == 0;
  const bool b_shift = !a_shift && p.b_multiplier == (int32_t{1} << 30) && p.b_shift == 0;
  if ((!a_shift && !b_shift) || p.left_shift < 1 || p.left_shift > 22) return false;
  // The shift input: term = sign * (q + o) * 2^L, |term| <= 256 * 2^22 = 2^30.
  const int32_t sign = b_shift && p.subtract != 0 ? -1 : 1;
  const int32_t o_shift = a_shift ? p.a_offset : p.b_offset;
  const int32_t o_table = a_shift ? p.b_offset : p.a_offset;
  const int32_t m_table = a_shift ? p.b_multiplier : p.a_multiplier;
  const int32_t s_table = a_shift ? p.b_shift : p.a_shift;
  const int32_t table_sign = a_shift && p.subtract != 0 ? -1 : 1;
  const int32_t headroom = int32_t{1} << p.left_shift;
  // Bounds first, from the parameters: |2 ra| and |2 rb| <= 2 (128 + |o|) 2^L, because a
  // multiplier below 1 (S <= 0, M < 2^31) never grows a value (TFLite's table input always has
  // one); the output is detail::fused_requant's doubled form for |sum| <= sum2_bound / 2
  // (sum2_bound is even: both terms are multiples of 2^L, L >= 1).
  if (s_table > 0) return false;
  const int64_t x_max = int64_t{128 + (o_table < 0 ? -o_table : o_table)} << p.left_shift;
  const int64_t shift_bound = int64_t{128 + (o_shift < 0 ? -o_shift : o_shift)} << p.left_shift;
  const int64_t sum2_bound = shift_bound + 2 * x_max;  // >= |2 sum|
  const detail::FusedRequant output_stage =
      detail::fused_requant(p.output_multiplier, p.output_shift, p.output_offset, sum2_bound / 2, true);
  if (!output_stage.valid) return false;
  // The table input's rescale requantize_tflite(x, M, S) is detail::fused_requant's doubled
  // form too (offset 0, |x| <= x_max): a few instructions instead of a 64-bit shift by a
  // register, 256 times a call; the general form where it does not hold.
  const detail::FusedRequant rescale = detail::fused_requant(m_table, s_table, 0, x_max, true);
  int32_t table[256];
  for (int32_t q = -128; q < 128; ++q) {
    const int32_t x = (q + o_table) * headroom;
    const int32_t rescaled = rescale.valid ? (arm::smmlar(2 * x, m_table, rescale.addend) + (x >> 31)) >> rescale.shift
                                           : requantize_tflite(x, m_table, s_table);
    table[table_index(q) + kTableOrigin] = 2 * table_sign * rescaled;
  }
  TfliteAdd f;
  f.scale = sign * headroom;  // 2 * (q + o) * 2^(L-1)
  f.offset = f.scale * o_shift;
  f.table = table + kTableOrigin;
  f.multiplier = p.output_multiplier;
  f.addend = output_stage.addend;
  f.post = output_stage.shift;
  // The shift input first: swap the roles (and strides) when it is b.
  BroadcastShape m = s;
  const int8_t* first = a;
  const int8_t* second = b;
  if (b_shift) {
    first = b;
    second = a;
    detail::swap_inputs(m);
  }
  const auto one = [&f](int32_t qs, int32_t qt) { return tflite_add_one(f, qs, table_index(qt)); };
  const detail::BroadcastRows rows = detail::broadcast_rows(m);
  const int32_t lo = p.act_min, hi = p.act_max;
#if defined(TINYQ_PATH_ARM_DSP) && !defined(__OPTIMIZE_SIZE__)
  const bool assembly = lo == -128 && hi == 127 && rows.a_step == 1 && rows.b_step == 1 && rows.n >= 4;
  const TfliteAddRow args{rows.n / 4, f.table, f.scale, f.offset, f.multiplier, f.addend, f.post};
#endif
#if defined(TINYQ_PATH_ARM_MVE) && !defined(__OPTIMIZE_SIZE__)
  const bool vector_rows = rows.a_step == 1 && rows.b_step == 1;
  const HeliumAdd h{vdupq_n_s32(f.scale), vdupq_n_s32(f.multiplier), vdupq_n_s32(lo), vdupq_n_s32(hi)};
#endif
  detail::for_each_row(rows, first, second, output, [&](const int8_t* ar, const int8_t* br, int8_t* out) {
    int32_t i = 0;
#if defined(TINYQ_PATH_ARM_MVE) && !defined(__OPTIMIZE_SIZE__)
    if (vector_rows) i = helium_add_row(f, h, ar, br, out, rows.n);
#elif !defined(__OPTIMIZE_SIZE__)
    if (assembly) {
      tinyq_arm_add_tflite_row(ar, br, out, &args);
      i = rows.n & ~3;
    }
#endif
    for (; i < rows.n; ++i) {  // the last 1 to 3, broadcast or strided rows, narrow ranges, -Os
      out[i] = static_cast<int8_t>(clamp_i32(one(ar[i * rows.a_step], br[i * rows.b_step]), lo, hi));
    }
  });
  return true;
}

}  // namespace rt
}  // namespace tinyq

#endif
