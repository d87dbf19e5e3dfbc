// tinyq runtime: recurrent layers (LSTM, GRU, RNN) in integer arithmetic, the formats and
// equations of recurrent_s8 in tinyq/kernels.hpp. One portable path: a recurrent layer's work
// is two matrix-vector products per step, each a few thousand MACs on an MCU-sized model.
#include "kernel_paths.hpp"
#include "kernel_util.hpp"
#include "tinyq/kernels.hpp"
#if defined(TINYQ_PATH_ARM_DSP)
#include <arm_acle.h>

#include "arm_instructions.hpp"
#endif
#if defined(TINYQ_PATH_ARM_MVE)
#include <arm_mve.h>
#endif

namespace tinyq {
namespace rt {

namespace {

// round(32768 * sigma(v)) for v = -16 + k/16, k = 0..512 (generated once with double
// precision; a literal, so that every compiler and target reads the same values).
const uint16_t kSigmoidQ15[513] = {
    0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,
    0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,
    0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,
    0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,
    0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     0,     1,
    1,     1,     1,     1,     1,     1,     1,     1,     1,     1,     1,     1,     1,     1,     1,     1,
    1,     2,     2,     2,     2,     2,     2,     2,     2,     3,     3,     3,     3,     3,     4,     4,
    4,     4,     5,     5,     5,     6,     6,     6,     7,     7,     8,     8,     9,     9,     10,    10,
    11,    12,    12,    13,    14,    15,    16,    17,    18,    19,    21,    22,    23,    25,    26,    28,
    30,    32,    34,    36,    38,    41,    43,    46,    49,    52,    56,    59,    63,    67,    72,    76,
    81,    86,    92,    98,    104,   111,   118,   125,   133,   142,   151,   161,   171,   182,   194,   206,
    219,   233,   248,   264,   281,   299,   318,   338,   360,   383,   407,   433,   461,   490,   521,   554,
    589,   627,   666,   708,   753,   800,   851,   904,   961,   1021,  1084,  1152,  1223,  1299,  1379,  1464,
    1554,  1649,  1750,  1856,  1969,  2088,  2213,  2346,  2486,  2633,  2789,  2952,  3124,  3306,  3496,  3696,
    3906,  4126,  4357,  4599,  4851,  5115,  5391,  5678,  5978,  6289,  6613,  6949,  7297,  7658,  8031,  8416,
    8813,  9221,  9641,  10072, 10513, 10964, 11424, 11894, 12371, 12856, 13348, 13845, 14347, 14852, 15361, 15872,
    16384, 16896, 17407, 17916, 18421, 18923, 19420, 19912, 20397, 20874, 21344, 21804, 22255, 22696, 23127, 23547,
    23955, 24352, 24737, 25110, 25471, 25819, 26155, 26479, 26790, 27090, 27377, 27653, 27917, 28169, 28411, 28642,
    28862, 29072, 29272, 29462, 29644, 29816, 29979, 30135, 30282, 30422, 30555, 30680, 30799, 30912, 31018, 31119,
    31214, 31304, 31389, 31469, 31545, 31616, 31684, 31747, 31807, 31864, 31917, 31968, 32015, 32060, 32102, 32141,
    32179, 32214, 32247, 32278, 32307, 32335, 32361, 32385, 32408, 32430, 32450, 32469, 32487, 32504, 32520, 32535,
    32549, 32562, 32574, 32586, 32597, 32607, 32617, 32626, 32635, 32643, 32650, 32657, 32664, 32670, 32676, 32682,
    32687, 32692, 32696, 32701, 32705, 32709, 32712, 32716, 32719, 32722, 32725, 32727, 32730, 32732, 32734, 32736,
    32738, 32740, 32742, 32743, 32745, 32746, 32747, 32749, 32750, 32751, 32752, 32753, 32754, 32755, 32756, 32756,
    32757, 32758, 32758, 32759, 32759, 32760, 32760, 32761, 32761, 32762, 32762, 32762, 32763, 32763, 32763, 32764,
    32764, 32764, 32764, 32765, 32765, 32765, 32765, 32765, 32766, 32766, 32766, 32766, 32766, 32766, 32766, 32766,
    32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767,
    32767, 32767, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768,
    32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768,
    32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768,
    32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768,
    32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768, 32768,
    32768,
};

constexpr int32_t kQ12Limit = 1 << 27;  // +-32768 in Q12: the table saturates long before

int32_t clamp_q12(int64_t v) {
  return v > kQ12Limit ? kQ12Limit : (v < -kQ12Limit ? -kQ12Limit : static_cast<int32_t>(v));
}

// The sum of Q12 terms, clamped: the projections and a peephole or reset-gated term.
int32_t sum_q12(int32_t a, int32_t b, int32_t c = 0) { return clamp_q12(static_cast<int64_t>(a) + b + c); }

// sigma of a Q12 value, Q15 in [0, 32768]: the table's step is 1/16 = 256 units of Q12.
int32_t sigmoid_q15(int32_t v) {
  const int32_t u = v + (16 << 12);
  if (u <= 0) return kSigmoidQ15[0];
  if (u >= (32 << 12)) return kSigmoidQ15[512];
  const int32_t k = u >> 8, frac = u & 255;
  const int32_t lo = kSigmoidQ15[k], hi = kSigmoidQ15[k + 1];
  return lo + (((hi - lo) * frac + 128) >> 8);
}

// tanh(v) = 2 sigma(2 v) - 1, Q15 in [-32767, 32767] (symmetric: the table's ends give
// -32768 and 32768 before the clamp).
int32_t tanh_q15(int32_t v) {
  const int32_t t = 2 * sigmoid_q15(clamp_q12(static_cast<int64_t>(v) * 2)) - 32768;
  return t > 32767 ? 32767 : (t < -32767 ? -32767 : t);
}

// (a * b + 2^(s-1)) >> s on the exact 64-bit product.
int32_t mul_shift(int32_t a, int32_t b, int32_t s) {
  return static_cast<int32_t>((static_cast<int64_t>(a) * b + (static_cast<int64_t>(1) << (s - 1))) >> s);
}

int8_t output_value(const RecurrentParams& p, int32_t state) {
  const int32_t q = p.output_offset + requantize(state, p.output_multiplier, p.output_shift);
  return static_cast<int8_t>(clamp_i32(q, -128, 127));
}

// The vector of a projection as int16, its groups of 4 stored as (v0, v2, v1, v3), the order
// in which SXTB16 unpacks a word of 4 weights into two pairs (bytes 0 and 2, then 1 and 3);
// a tail of n % 4 stays in order. Both dot products read this layout, and both sum the same
// exact int32 products (the host bounds every partial sum), so their results are equal.
// Helium loads 8 weights into 16-bit lanes in order: it packs the vector in order (kPaired false).
// `element(i)` reads the source: the int8 input plus its offset, or a Q15 state in int32.
template <KernelPath kPath, typename Element>
void pack_vector(Element element, int32_t n, int16_t* out) {
  constexpr bool kPaired = kPath != KernelPath::ArmMve;
  int32_t i = 0;
  for (; kPaired && i + 4 <= n; i += 4) {
    out[i] = static_cast<int16_t>(element(i)), out[i + 1] = static_cast<int16_t>(element(i + 2));
    out[i + 2] = static_cast<int16_t>(element(i + 1)), out[i + 3] = static_cast<int16_t>(element(i + 3));
  }
  for (; i < n; ++i) out[i] = static_cast<int16_t>(element(i));
}

int32_t dot_portable(const int8_t* row, const int16_t* v, int32_t n, int32_t acc) {
  int32_t i = 0;
  for (; i + 4 <= n; i += 4)
    acc += row[i] * v[i] + row[i + 2] * v[i + 1] + row[i + 1] * v[i + 2] + row[i + 3] * v[i + 3];
  for (; i < n; ++i) acc += row[i] * v[i];
  return acc;
}

#if defined(TINYQ_PATH_ARM_DSP)
// Two SMLADs per word of 4 weights: 3 loads, 2 unpacks, 2 multiply-accumulates.
int32_t dot_dsp(const int8_t* row, const int16_t* v, int32_t n, int32_t acc) {
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint32_t w = arm::load_u32(row + i);
    acc = __smlad(__sxtb16(static_cast<int32_t>(w)), static_cast<int32_t>(arm::load_u32(v + i)), acc);
    acc = __smlad(static_cast<int32_t>(arm::sxtb16_ror8(w)), static_cast<int32_t>(arm::load_u32(v + i + 2)), acc);
  }
  for (; i < n; ++i) acc += row[i] * v[i];
  return acc;
}
// Two rows per pass share the vector's loads: 6 loads, 4 unpacks, 4 SMLAD per 8 MACs.
void dot2_dsp(const int8_t* row0, const int8_t* row1, const int16_t* v, int32_t n, int32_t& acc0, int32_t& acc1) {
  int32_t a0 = acc0, a1 = acc1, i = 0;
  for (; i + 4 <= n; i += 4) {
    const int32_t even = static_cast<int32_t>(arm::load_u32(v + i)),
                  odd = static_cast<int32_t>(arm::load_u32(v + i + 2));
    const uint32_t w0 = arm::load_u32(row0 + i), w1 = arm::load_u32(row1 + i);
    a0 = __smlad(__sxtb16(static_cast<int32_t>(w0)), even, a0);
    a1 = __smlad(__sxtb16(static_cast<int32_t>(w1)), even, a1);
    a0 = __smlad(static_cast<int32_t>(arm::sxtb16_ror8(w0)), odd, a0);
    a1 = __smlad(static_cast<int32_t>(arm::sxtb16_ror8(w1)), odd, a1);
  }
  for (; i < n; ++i) a0 += row0[i] * v[i], a1 += row1[i] * v[i];
  acc0 = a0, acc1 = a1;
}
#endif

#if defined(TINYQ_PATH_ARM_MVE)
// 8 weights per VLDRB.S16 against 8 vector lanes in order, one VMLADAVA; the tail predicated.
int32_t dot_mve(const int8_t* row, const int16_t* v, int32_t n, int32_t acc) {
  for (int32_t i = 0; i < n; i += 8) {
    const mve_pred16_t pr = vctp16q(static_cast<uint32_t>(n - i));
    acc = vmladavaq_s16(acc, vldrbq_z_s16(row + i, pr), vldrhq_z_s16(v + i, pr));
  }
  return acc;
}
#endif

// One row's dot product on this path.
template <KernelPath kPath>
int32_t dot(const int8_t* row, const int16_t* v, int32_t n, int32_t acc) {
#if defined(TINYQ_PATH_ARM_DSP)
  if (kPath == KernelPath::ArmDsp) return dot_dsp(row, v, n, acc);
#elif defined(TINYQ_PATH_ARM_MVE)
  if (kPath == KernelPath::ArmMve) return dot_mve(row, v, n, acc);
#endif
  return dot_portable(row, v, n, acc);
}

// Rows [row0, row0 + rows) of one direction's projection of the packed vector v (length n)
// by the int8 matrix m, each requantized to Q12.
template <KernelPath kPath>
void project(const int8_t* m, const int32_t* bias, const Requant& rq, int32_t row0, int32_t rows, const int16_t* v,
             int32_t n, int32_t* out) {
  int32_t j = 0;
#if defined(TINYQ_PATH_ARM_DSP)
  if (kPath == KernelPath::ArmDsp)
    for (; j + 2 <= rows; j += 2) {
      int32_t acc0 = bias[row0 + j], acc1 = bias[row0 + j + 1];
      dot2_dsp(m + (row0 + j) * n, m + (row0 + j + 1) * n, v, n, acc0, acc1);
      out[j] = clamp_q12(requantize_channel(acc0, rq, row0 + j));
      out[j + 1] = clamp_q12(requantize_channel(acc1, rq, row0 + j + 1));
    }
#endif
  for (; j < rows; ++j)
    out[j] = clamp_q12(requantize_channel(dot<kPath>(m + (row0 + j) * n, v, n, bias[row0 + j]), rq, row0 + j));
}

// `state` (streaming): null, or the layer's h and c carried from the previous call
// (recurrent_s8_step), read at the start and written back at the end.
template <KernelPath kPath>
void recurrent_run(const RecurrentParams& p, const int8_t* x, const int8_t* w, const int8_t* r, int8_t* output,
                   int32_t* scratch, int32_t* state = nullptr) {
  const int32_t H = p.hidden, rows = recurrent_gate_count(p.cell) * H;
  int32_t* gx = scratch;                                    // [G*H] input projections, Q12
  int32_t* gh = gx + rows;                                  // [G*H] recurrent projections, Q12
  int32_t* c = gh + rows;                                   // [H] LSTM cell state, Q20
  int32_t* h = c + H;                                       // [H] hidden state, Q15
  int32_t* gate = h + H;                                    // [H] GRU's reset gate, Q15
  int32_t* reset = gate + H;                                // [H] GRU's r * h, Q15
  int16_t* packed = reinterpret_cast<int16_t*>(reset + H);  // the vector being projected
  for (int32_t d = 0; d < p.directions; ++d) {
    const bool backward = p.reverse != 0 || d == 1;
    // This direction's slices of the weights and of every per-row array (offset d * rows).
    const int8_t* wd = w + d * rows * p.input;
    const int8_t* rd = r + d * rows * H;
    const int32_t* bx = p.bias_x + d * rows;
    const int32_t* bh = p.bias_h + d * rows;
    const Requant xq{p.x_requant.multiplier + d * rows, p.x_requant.shift + d * rows, rows, p.x_requant.rounding};
    const Requant hq{p.h_requant.multiplier + d * rows, p.h_requant.shift + d * rows, rows, p.h_requant.rounding};
    const int32_t* peep = p.peephole ? p.peephole + d * 3 * H : nullptr;
    for (int32_t n = 0; n < p.batch; ++n) {
      const int32_t state0 = (d * p.batch + n) * H;
      const int32_t states = p.directions * p.batch * H;  // c follows h in `state`
      for (int32_t j = 0; j < H; ++j) {
        h[j] = state ? state[state0 + j] : (p.initial_h ? p.initial_h[state0 + j] : 0);
        c[j] = state ? state[states + state0 + j] : (p.initial_c ? p.initial_c[state0 + j] : 0);
      }
      for (int32_t s = 0; s < p.steps; ++s) {
        const int32_t t = backward ? p.steps - 1 - s : s;
        const int8_t* xt = x + (t * p.batch + n) * p.input;
        pack_vector<kPath>([&](int32_t i) { return xt[i] + p.input_offset; }, p.input, packed);
        project<kPath>(wd, bx, xq, 0, rows, packed, p.input, gx);
        pack_vector<kPath>([&](int32_t i) { return h[i]; }, H, packed);
        if (p.cell == kCellLstm) {
          project<kPath>(rd, bh, hq, 0, rows, packed, H, gh);
          for (int32_t j = 0; j < H; ++j) {
            const int32_t c_prev = c[j];
            // p c: Q16 * Q20 = Q36, to Q12.
            const int32_t pi = peep ? mul_shift(peep[j], c_prev, 24) : 0;
            const int32_t pf = peep ? mul_shift(peep[2 * H + j], c_prev, 24) : 0;
            const int32_t i = sigmoid_q15(sum_q12(gx[j], gh[j], pi));
            const int32_t f = sigmoid_q15(sum_q12(gx[2 * H + j], gh[2 * H + j], pf));
            const int32_t g = tanh_q15(sum_q12(gx[3 * H + j], gh[3 * H + j]));
            // f c (Q15 * Q20) and i g (Q30, times 2^5) are both Q35: one rounding to Q20.
            const int64_t sum = static_cast<int64_t>(f) * c_prev + (static_cast<int64_t>(i) * g) * 32 + (1 << 14);
            const int64_t next = sum >> 15;
            const int64_t limit = p.cell_clip > 0 ? p.cell_clip : 2147483647;
            c[j] = static_cast<int32_t>(next > limit ? limit : (next < -limit ? -limit : next));
            const int32_t po = peep ? mul_shift(peep[H + j], c[j], 24) : 0;
            const int32_t o = sigmoid_q15(sum_q12(gx[H + j], gh[H + j], po));
            // tanh of c: Q20 to Q12.
            h[j] = mul_shift(o, tanh_q15(mul_shift(c[j], 1, 8)), 15);
          }
        } else if (p.cell == kCellGru) {
          // z and r (and the candidate's R_h h + Rb_h when linear_before_reset).
          project<kPath>(rd, bh, hq, 0, p.linear_before_reset ? rows : 2 * H, packed, H, gh);
          for (int32_t j = 0; j < H; ++j) gate[j] = sigmoid_q15(sum_q12(gx[H + j], gh[H + j]));
          if (!p.linear_before_reset) {
            for (int32_t j = 0; j < H; ++j) reset[j] = mul_shift(gate[j], h[j], 15);
            pack_vector<kPath>([&](int32_t i) { return reset[i]; }, H, packed);
            project<kPath>(rd, bh, hq, 2 * H, H, packed, H, gh + 2 * H);
          }
          for (int32_t j = 0; j < H; ++j) {
            const int32_t z = sigmoid_q15(sum_q12(gx[j], gh[j]));
            const int32_t recurrent = p.linear_before_reset ? mul_shift(gate[j], gh[2 * H + j], 15) : gh[2 * H + j];
            const int32_t candidate = tanh_q15(sum_q12(gx[2 * H + j], recurrent));
            const int64_t mixed = static_cast<int64_t>(32768 - z) * candidate + static_cast<int64_t>(z) * h[j];
            h[j] = static_cast<int32_t>((mixed + (1 << 14)) >> 15);
          }
        } else {
          project<kPath>(rd, bh, hq, 0, H, packed, H, gh);
          for (int32_t j = 0; j < H; ++j) {
            const int32_t v = sum_q12(gx[j], gh[j]);
            // Relu: the projections are already in h's own units.
            h[j] = p.relu ? clamp_i32(v, 0, 32767) : tanh_q15(v);
          }
        }
        if (p.output == kRecurrentY) {
          int8_t* y = output + ((t * p.directions + d) * p.batch + n) * H;
          for (int32_t j = 0; j < H; ++j) y[j] = output_value(p, h[j]);
        }
      }
      if (p.output != kRecurrentY) {
        int8_t* y = output + state0;
        for (int32_t j = 0; j < H; ++j) y[j] = output_value(p, p.output == kRecurrentYc ? c[j] : h[j]);
      }
      if (state)
        for (int32_t j = 0; j < H; ++j) {
          state[state0 + j] = h[j];
          state[states + state0 + j] = c[j];
        }
    }
  }
}

}  // namespace

void recurrent_s8_portable(const RecurrentParams& p, const int8_t* x, const int8_t* w, const int8_t* r, int8_t* output,
                           int32_t* scratch) {
  recurrent_run<KernelPath::Portable>(p, x, w, r, output, scratch);
}

#if defined(TINYQ_PATH_ARM_DSP)
void recurrent_s8_dsp(const RecurrentParams& p, const int8_t* x, const int8_t* w, const int8_t* r, int8_t* output,
                      int32_t* scratch) {
  recurrent_run<KernelPath::ArmDsp>(p, x, w, r, output, scratch);
}
#endif
#if defined(TINYQ_PATH_ARM_MVE)
void recurrent_s8_mve(const RecurrentParams& p, const int8_t* x, const int8_t* w, const int8_t* r, int8_t* output,
                      int32_t* scratch) {
  recurrent_run<KernelPath::ArmMve>(p, x, w, r, output, scratch);
}
#endif

void recurrent_s8(const RecurrentParams& p, const int8_t* x, const int8_t* w, const int8_t* r, int8_t* output,
                  int32_t* scratch) {
#if defined(TINYQ_PATH_ARM_DSP)
  recurrent_s8_dsp(p, x, w, r, output, scratch);
#elif defined(TINYQ_PATH_ARM_MVE)
  recurrent_s8_mve(p, x, w, r, output, scratch);
#else
  recurrent_s8_portable(p, x, w, r, output, scratch);
#endif
}

void recurrent_s8_step(const RecurrentParams& p, const int8_t* x, const int8_t* w, const int8_t* r, int8_t* output,
                       int32_t* state, int32_t* scratch) {
#if defined(TINYQ_PATH_ARM_DSP)
  recurrent_run<KernelPath::ArmDsp>(p, x, w, r, output, scratch, state);
#elif defined(TINYQ_PATH_ARM_MVE)
  recurrent_run<KernelPath::ArmMve>(p, x, w, r, output, scratch, state);
#else
  recurrent_run<KernelPath::Portable>(p, x, w, r, output, scratch, state);
#endif
}

}  // namespace rt
}  // namespace tinyq
