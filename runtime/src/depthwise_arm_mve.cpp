// tinyq runtime: depthwise_conv2d_s8 on Helium (MVE: Cortex-M55, M85).
//
// Full blocks of 16 channels with the vector requantization run in assembly (the runs below:
// taps in pairs, two taps' 8-bit products added in 16 bits before widening; DwRunArgs), layers
// of few pixels with padding through a padded copy (padded_block). What follows describes the
// C forms, which run everything else (tail blocks, gathered channels, the scalar
// requantization, -Os builds):
// 16 output channels per step, as two halves of 8. Per tap and half one widening VLDRB.S16
// of 8 inputs and one of 8 weights, then VMULLB / VMULLT give exact 32-bit products of the
// even and odd 16-bit lanes, added to two int32 accumulators: 8 MACs in 6 instructions. The four accumulators hold
// channels {0, 2, 4, 6}, {1, 3, 5, 7}, {8, 10, 12, 14}, {9, 11, 13, 15} of the block; per-channel parameters come in
// with gather loads of those lane offsets, and each half's two requantized vectors are narrowed back into channel order
// by VQMOVNB / VQMOVNT (saturating to int16 before the int8 clamp changes nothing: the clamp
// bounds lie in [-255, 255]) and stored as 8 bytes.
// Loop order: channel blocks outside, pixels inside, so what depends only on the channels
// (bias, multipliers, shifts, weight sums) is set up once per block and layer. The input
// offset is folded out of the taps:
//   sum over valid taps of (x + offset) * w = sum x * w + offset * sum w,
// where the second term depends only on which taps are valid: the same for all pixels of a
// row inside the image in x, and for each edge column (depthwise_block). So every window
// starts from a precomputed base (bias + offset * weight sum of its valid taps) and its taps
// multiply the raw inputs; only layers with many edge columns run those through edge_pixel,
// which adds the offset to each input (|x + offset| <= 255 fits an int16 lane). Sums wrap
// modulo 2^32 like the portable ones and the true result fits int32 (host guarantee): same
// bytes. A channel count below 16 predicates its one block (no byte outside the tensors is
// read or written); above 16, a last partial block is the whole block of the last 16
// channels (depthwise_any).
// A channel multiplier m above 1 (output channel o reads input channel o / m) runs the same
// code with the inputs gathered (VLDRB.S16 with a vector of per-lane offsets, predicated), so
// a tap of 16 channels is a few instructions more than with m = 1, not a portable loop.
// Requantization is vectorised when every channel's multiplier is below 1/2 (shift <= -2, the
// usual case): requantize_lanes (conv_arm_common.hpp), bit-identical; with TFLite's rounding
// when every shift is <= 0: requantize_lanes_tflite. Otherwise the accumulators go through the
// scalar requantization. No scratch (padded_block: up to 1 KB of stack).
#include "tinyq/kernel_path.hpp"  // defines the TINYQ_PATH_* macro tested below

#if defined(TINYQ_PATH_ARM_MVE)

#include <arm_mve.h>
#include <stddef.h>  // offsetof

#include "conv_arm_common.hpp"
#include "kernel_features.hpp"
#include "kernel_paths.hpp"

namespace tinyq {
namespace rt {

namespace {

using arm::OutputStage;

// The pixel-independent state of one block of up to 16 channels [ch, ch + n). Accumulator j
// (0 .. 3) holds channels ch + 8 * (j / 2) + (j % 2) + {0, 2, 4, 6}.
struct DwBlock {
  int32_t ch, n;
  int32_t in_ch;          // the input channel of output channel ch (ch / multiplier)
  mve_pred16_t bytes[2];  // each half's 16-bit lanes (VCTP.16 of its channel count)
  int32x4_t bias[4];      // bias (0 without one)
  int32x4_t mult[4];      // requantize_lanes' multiplier
  int32x4_t negt[4];      // and -t = shift + 1 (TFLite's rounding: the shift)
  uint16x8_t in_off[2];   // kGather: each half's input channels, relative to the block's first
};

// How a block's taps read: kFull 16 contiguous channels (inline assembly), kTail fewer
// (predicated loads), kGather channel multiplier above 1 (gather loads of the input channel
// o / multiplier of each output channel o, predicated).
enum DwMode : int32_t { kFull, kTail, kGather };

// One tap of a full block of 16 channels: acc[j] += (x (+ offset)) * w, in inline assembly
// because GCC 12 issues all the loads of an unrolled row first and then runs out of the 8 Q
// registers (spilling accumulators); here a tap needs 3 temporaries next to the 4
// accumulators. VMULLT may write its own source (32-bit results of 16-bit lanes). Widening
// loads take low registers only ("l"). The 16 bytes read at x and at k are declared as memory
// operands, so that the compiler keeps the asm after whatever wrote them, even when the
// kernel is inlined into its caller.
struct Bytes16 {
  int8_t b[16];
};
template <bool kOffset>
TINYQ_ALWAYS_INLINE void mac_tap(const int8_t* x, const int8_t* k, int32_t offset, int32x4_t* acc) {
  int16x8_t xv, wv;
  int32x4_t t;
  if (kOffset) {
    __asm__(
        "vldrb.s16 %q[xv], [%[x]]\n\t"
        "vldrb.s16 %q[wv], [%[k]]\n\t"
        "vadd.i16 %q[xv], %q[xv], %[off]\n\t"
        "vmullb.s16 %q[t], %q[xv], %q[wv]\n\t"
        "vmullt.s16 %q[xv], %q[xv], %q[wv]\n\t"
        "vadd.i32 %q[a0], %q[a0], %q[t]\n\t"
        "vadd.i32 %q[a1], %q[a1], %q[xv]\n\t"
        "vldrb.s16 %q[xv], [%[x], #8]\n\t"
        "vldrb.s16 %q[wv], [%[k], #8]\n\t"
        "vadd.i16 %q[xv], %q[xv], %[off]\n\t"
        "vmullb.s16 %q[t], %q[xv], %q[wv]\n\t"
        "vmullt.s16 %q[xv], %q[xv], %q[wv]\n\t"
        "vadd.i32 %q[a2], %q[a2], %q[t]\n\t"
        "vadd.i32 %q[a3], %q[a3], %q[xv]"
        : [a0] "+w"(acc[0]), [a1] "+w"(acc[1]), [a2] "+w"(acc[2]), [a3] "+w"(acc[3]), [xv] "=&w"(xv), [wv] "=&w"(wv),
          [t] "=&w"(t)
        : [x] "l"(x), [k] "l"(k), [off] "r"(offset), "m"(*reinterpret_cast<const Bytes16*>(x)),
          "m"(*reinterpret_cast<const Bytes16*>(k)));
  } else {
    __asm__(
        "vldrb.s16 %q[xv], [%[x]]\n\t"
        "vldrb.s16 %q[wv], [%[k]]\n\t"
        "vmullb.s16 %q[t], %q[xv], %q[wv]\n\t"
        "vmullt.s16 %q[xv], %q[xv], %q[wv]\n\t"
        "vadd.i32 %q[a0], %q[a0], %q[t]\n\t"
        "vadd.i32 %q[a1], %q[a1], %q[xv]\n\t"
        "vldrb.s16 %q[xv], [%[x], #8]\n\t"
        "vldrb.s16 %q[wv], [%[k], #8]\n\t"
        "vmullb.s16 %q[t], %q[xv], %q[wv]\n\t"
        "vmullt.s16 %q[xv], %q[xv], %q[wv]\n\t"
        "vadd.i32 %q[a2], %q[a2], %q[t]\n\t"
        "vadd.i32 %q[a3], %q[a3], %q[xv]"
        : [a0] "+w"(acc[0]), [a1] "+w"(acc[1]), [a2] "+w"(acc[2]), [a3] "+w"(acc[3]), [xv] "=&w"(xv), [wv] "=&w"(wv),
          [t] "=&w"(t)
        : [x] "l"(x), [k] "l"(k), "m"(*reinterpret_cast<const Bytes16*>(x)), "m"(*reinterpret_cast<const Bytes16*>(k)));
  }
}

// The same for a last block of fewer than 16 channels, with intrinsics: predicated loads
// (inactive lanes read nothing and are zero, so they add nothing).
// kGather: x points at the block's first input channel, and each lane loads its own.
template <bool kOffset, bool kGatherInput>
TINYQ_ALWAYS_INLINE void mac_tap_tail(const int8_t* x, const int8_t* k, int16_t offset, const DwBlock& blk,
                                      int32x4_t* acc) {
  for (int32_t h = 0; h < 2; ++h) {
    int16x8_t xv = kGatherInput ? vldrbq_gather_offset_z_s16(x, blk.in_off[h], blk.bytes[h])
                                : vldrbq_z_s16(x + 8 * h, blk.bytes[h]);
    const int16x8_t wv = vldrbq_z_s16(k + 8 * h, blk.bytes[h]);
    if (kOffset) xv = vaddq_n_s16(xv, offset);
    acc[2 * h] = vaddq_s32(acc[2 * h], vmullbq_int_s16(xv, wv));
    acc[2 * h + 1] = vaddq_s32(acc[2 * h + 1], vmulltq_int_s16(xv, wv));
  }
}

template <bool kOffset, int32_t kMode>
TINYQ_ALWAYS_INLINE void tap(const int8_t* x, const int8_t* k, int16_t offset, const DwBlock& blk, int32x4_t* acc) {
  if (kMode == kFull) {
    mac_tap<kOffset>(x, k, offset, acc);
  } else {
    mac_tap_tail<kOffset, kMode == kGather>(x, k, offset, blk, acc);
  }
}

// Everything a run of pixels needs besides the block: steps in bytes and the output stage.
struct DwGeometry {
  int32_t in_step;  // from a tap's input to the next in a row (dilation_w * in_c)
  int32_t in_row;   // from a row of taps to the next (dilation_h * in_w * in_c)
  int32_t w_step;   // from a tap's weights to the next (out_c)
  int32_t w_row;    // from a row of weights to the next (kernel_w * out_c)
  int32_t c;        // output channels: from a pixel's outputs to the next
  int16_t offset;   // input offset
  int32_t requant;  // kScalar, kVector (requantize_lanes) or kVectorTflite (requantize_lanes_tflite)
  bool tap_pairs;   // no weight is -128: the assembly runs' tap pairs apply (DwRunArgs)
  int32_t run_rq;   // the runs' output stage (DwRunForms)
  bool run_clamp;
  // The layer's per-channel arrays (the runs gather their vectors from them: pair_vectors).
  const int32_t* bias;  // or null
  const int32_t* multiplier;
  const int32_t* shift;
  int32_t negt_bias;  // -t = shift + negt_bias
  bool per_channel;
  bool padded;  // padded_applies: the runs' blocks through a padded copy (padded_block)
};
enum : int32_t { kScalar, kVector, kVectorTflite };

// Taps of one window, rows x cols from `in` / `w` (the first valid tap), onto acc.
// kOffset: add the input offset to every input (edge_pixel).
template <bool kOffset, int32_t kMode>
TINYQ_ALWAYS_INLINE void taps(const int8_t* in, const int8_t* w, int32_t rows, int32_t cols, const DwGeometry& g,
                              const DwBlock& blk, int32x4_t* acc) {
  for (int32_t ty = 0; ty < rows; ++ty, in += g.in_row, w += g.w_row) {
    const int8_t* x = in;
    const int8_t* k = w;
    for (int32_t tx = 0; tx < cols; ++tx, x += g.in_step, k += g.w_step) tap<kOffset, kMode>(x, k, g.offset, blk, acc);
  }
}

// finish_pixel's vector form for a full block, in inline assembly: with intrinsics GCC 12
// spilled multipliers and shifts to the stack and reloaded the clamp bounds after every
// store; here a pixel's finish is 30 instructions (tinyq's rounding) or 42 (TFLite's), and
// KWS's depthwise layers on M55 take 116,365 instructions instead of 123,945. The
// accumulators are consumed: each is requantized in place (requantize_lanes /
// requantize_lanes_tflite, the same instructions), then each half's two are narrowed into
// channel order (VQMOVNB / VQMOVNT, saturating to int16 first changes nothing: the clamp bounds
// lie in [-255, 255]), clamped, offset and stored as 8 bytes.
template <bool kTflite>
TINYQ_ALWAYS_INLINE void finish_full(int32x4_t a0, int32x4_t a1, int32x4_t a2, int32x4_t a3, const DwBlock& blk,
                                     const OutputStage& st, int8_t* out) {
  int32x4_t t, u;
  // clang-format off
#define TINYQ_DW_REQUANT(a, j)                     \
  "vldrw.u32 %q[t], [%[p], #" #j "*16]\n\t"        \
  "vmulh.s32 " a ", " a ", %q[t]\n\t"              \
  "vldrw.u32 %q[t], [%[p], #64+" #j "*16]\n\t"     \
  "vrshl.s32 " a ", " a ", %q[t]\n\t"
#define TINYQ_DW_REQUANT_TFLITE(a, j)              \
  "vldrw.u32 %q[t], [%[p], #" #j "*16]\n\t"        \
  "vqrdmulh.s32 " a ", " a ", %q[t]\n\t"           \
  "vldrw.u32 %q[t], [%[p], #64+" #j "*16]\n\t"     \
  "vand %q[u], " a ", %q[t]\n\t"                   \
  "vshr.s32 %q[u], %q[u], #31\n\t"                 \
  "vqadd.s32 " a ", " a ", %q[u]\n\t"              \
  "vrshl.s32 " a ", " a ", %q[t]\n\t"
#define TINYQ_DW_NARROW(even, odd, at)             \
  "vqmovnb.s32 " even ", " even "\n\t"             \
  "vqmovnt.s32 " even ", " odd "\n\t"              \
  "vmax.s16 " even ", " even ", %q[t]\n\t"         \
  "vmin.s16 " even ", " even ", %q[u]\n\t"         \
  "vadd.i16 " even ", " even ", %[off]\n\t"        \
  "vstrb.16 " even ", [%[out], #" #at "]\n\t"
#define TINYQ_DW_NARROW_BOTH                       \
  "vdup.16 %q[t], %[lo]\n\t"                       \
  "vdup.16 %q[u], %[hi]\n\t"                       \
  TINYQ_DW_NARROW("%q[a0]", "%q[a1]", 0) TINYQ_DW_NARROW("%q[a2]", "%q[a3]", 8)
  // clang-format on
  static_assert(offsetof(DwBlock, negt) == offsetof(DwBlock, mult) + 64, "negt follows mult");
  if (kTflite) {
    __asm__(TINYQ_DW_REQUANT_TFLITE("%q[a0]", 0) TINYQ_DW_REQUANT_TFLITE("%q[a1]", 1)
                TINYQ_DW_REQUANT_TFLITE("%q[a2]", 2) TINYQ_DW_REQUANT_TFLITE("%q[a3]", 3) TINYQ_DW_NARROW_BOTH
            : [a0] "+w"(a0), [a1] "+w"(a1), [a2] "+w"(a2), [a3] "+w"(a3), [t] "=&w"(t), [u] "=&w"(u),
              "=m"(*reinterpret_cast<Bytes16*>(out))
            : [p] "r"(blk.mult), [lo] "r"(st.lo), [hi] "r"(st.hi), [off] "r"(st.offset), [out] "l"(out), "m"(blk.mult),
              "m"(blk.negt));
  } else {
    __asm__(TINYQ_DW_REQUANT("%q[a0]", 0) TINYQ_DW_REQUANT("%q[a1]", 1) TINYQ_DW_REQUANT("%q[a2]", 2)
                TINYQ_DW_REQUANT("%q[a3]", 3) TINYQ_DW_NARROW_BOTH
            : [a0] "+w"(a0), [a1] "+w"(a1), [a2] "+w"(a2), [a3] "+w"(a3), [t] "=&w"(t), [u] "=&w"(u),
              "=m"(*reinterpret_cast<Bytes16*>(out))
            : [p] "r"(blk.mult), [lo] "r"(st.lo), [hi] "r"(st.hi), [off] "r"(st.offset), [out] "l"(out), "m"(blk.mult),
              "m"(blk.negt));
  }
#undef TINYQ_DW_REQUANT
#undef TINYQ_DW_REQUANT_TFLITE
#undef TINYQ_DW_NARROW
#undef TINYQ_DW_NARROW_BOTH
}

// Requantizes and stores one pixel's accumulators of the block.
template <int32_t kMode>
TINYQ_ALWAYS_INLINE void finish_pixel(const int32x4_t* acc, const DwBlock& blk, const DwGeometry& g,
                                      const OutputStage& st, int8_t* out) {
  if (kMode == kFull && g.requant != kScalar) {
    if (__builtin_expect(g.requant == kVector, 1)) {
      finish_full<false>(acc[0], acc[1], acc[2], acc[3], blk, st, out);
    } else {
      finish_full<true>(acc[0], acc[1], acc[2], acc[3], blk, st, out);
    }
  } else if (g.requant != kScalar) {
    // One test per pixel for the rounding: tinyq's is the first and expected branch.
    int32x4_t r[4];
    if (__builtin_expect(g.requant == kVector, 1)) {
      for (int32_t j = 0; j < 4; ++j) r[j] = arm::requantize_lanes(acc[j], blk.mult[j], blk.negt[j]);
    } else {
      for (int32_t j = 0; j < 4; ++j) r[j] = arm::requantize_lanes_tflite(acc[j], blk.mult[j], blk.negt[j]);
    }
    for (int32_t h = 0; h < 2; ++h) {
      const int32x4_t ve = r[2 * h];
      const int32x4_t vo = r[2 * h + 1];
      int16x8_t v = vqmovnbq_s32(vdupq_n_s16(0), ve);  // lanes back in channel order
      v = vqmovntq_s32(v, vo);
      v = vminq_s16(vmaxq_s16(v, vdupq_n_s16(static_cast<int16_t>(st.lo))), vdupq_n_s16(static_cast<int16_t>(st.hi)));
      v = vaddq_n_s16(v, static_cast<int16_t>(st.offset));
      if (kMode != kFull) {
        vstrbq_p_s16(out + 8 * h, v, blk.bytes[h]);
      } else {
        vstrbq_s16(out + 8 * h, v);
      }
    }
  } else {
    int32_t a[16];
    for (int32_t j = 0; j < 4; ++j) vstrwq_s32(a + 4 * j, acc[j]);
    // channel j: half j / 8, parity j % 2, lane (j % 8) / 2
    for (int32_t j = 0; j < blk.n; ++j)
      out[j] = st.finish(a[((j >> 3) * 2 + (j & 1)) * 4 + ((j & 7) >> 1)], blk.ch + j);
  }
}

// One pixel of a layer with many edge columns: only its valid taps, rows x cols from `in` /
// `w`, the offset added to each input. Out of line: rare.
template <int32_t kMode>
__attribute__((noinline)) void edge_pixel(const int8_t* in, const int8_t* w, int32_t rows, int32_t cols,
                                          const DwBlock& blk, const DwGeometry& g, const OutputStage& st, int8_t* out) {
  int32x4_t acc[4] = {blk.bias[0], blk.bias[1], blk.bias[2], blk.bias[3]};
  taps<true, kMode>(in, w, rows, cols, g, blk, acc);
  finish_pixel<kMode>(acc, blk, g, st, out);
}

// folded_run for a full block and the vector requantization, in assembly: GCC kept the run's
// pointers and counters on the stack (about 45 instructions a pixel besides the taps and the
// finish); here about 20. A pixel: the 4 accumulators from base, the window's taps, then the
// requantization, narrowing and store. Taps are in_step apart (weights w_step); the last tap of
// a row steps to the next row's first by x_row_adv (weights w_row_adv; the general form steps
// past the last tap first, so there x_row_adv counts from one step beyond it). rows and
// count >= 1.
// The run repeats over `lines` output rows (the rows whose windows have the same valid taps:
// one call for a column of edge windows, or for every row inside the image), counting lines
// down in the arguments. r0 holds the arguments throughout.
//
// Taps go in pairs (TINYQ_DW_TAP2): 16 bytes of inputs and of weights each, VMULLB.S8 /
// VMULLT.S8 give the even and odd channels' exact 16-bit products, the two taps' products are
// added in 16 bits, then widened into the accumulators: 32 MACs in 19 instructions where two
// widening taps (mac_tap's form) take 24. The 16-bit sum is exact because no weight is -128
// (DwGeometry::tap_pairs): |x * w| <= 128 * 127, two of them <= 32,512. Three columns take two
// rows at a time (three pairs, the third row's taps a pair and a single tap), two columns a
// pair per row, other counts a loop of pairs per row and a single tap for an odd count. The
// widening leaves accumulator j with channels {0, 4, 8, 12} + (0, 2, 1, 3)[j]
// (pair_lanes: the bases and per-channel parameters come in that order), and the narrowing
// puts them back: VQMOVNB / VQMOVNT.S32 into each parity's channels in 16 bits, the output
// offset added with saturation, VQMOVNB / VQMOVNT.S16 into the 16 bytes in channel order, then
// clamped to [act_min, act_max] (saturating first changes nothing: the bounds lie in int8).
struct DwRunArgs;
using DwRun = void (*)(DwRunArgs*);
struct DwRunArgs {
  const int8_t* in;         // 0: the first pixel's first valid tap
  const int8_t* w;          // 4: that tap's weights (the block's first channel)
  int32_t count;            // 8
  int32_t px_step;          // 12
  int32_t rows;             // 16
  int32_t in_step;          // 20
  int32_t x_row_adv;        // 24
  int32_t w_step;           // 28
  int32_t w_row_adv;        // 32
  const int32x4_t* base;    // 36: 4 vectors, in pair_lanes' order
  const int32x4_t* params;  // 40: the multipliers then the -t vectors (8), in that order
  DwRun run3, run2;         // 44, 48: the unrolled forms of the layer's output stage (DwRunForms)
  int32_t offset;           // 52: the output offset
  int8_t* out;              // 56
  int32_t out_step;         // 60
  int32_t row_pairs;        // 64: tinyq_mve_dw_run0_*: the tap pairs of a row (cols / 2)
  int32_t lines;            // 68: runs of count pixels, one per output row (>= 1; counts down)
  int32_t line_in_adv;      // 72: from the pixel after a line's last to the next line's first
  int32_t line_out_adv;     // 76: the same for the outputs
  int32_t row_odd;          // 80: tinyq_mve_dw_run0_*: cols % 2
  DwRun run0;               // 84: the general form
  int32_t unused[2];
  int8x16_t lo, hi;          // 96, 112: act_min, act_max in every lane (the clamping forms)
  int32x4_t pair_params[8];  // params' storage
  int32x4_t pair_bias[4];    // the bias in pair_lanes' order (fold_base_pairs)
};
static_assert(offsetof(DwRunArgs, run0) == 84 && offsetof(DwRunArgs, lo) == 96 && offsetof(DwRunArgs, hi) == 112,
              "the assembly's offsets");
// The output stage of a run: rq 0 tinyq's rounding (requantize_lanes), 1 TFLite's with shifts
// <= 0 (requantize_lanes_tflite), 2 TFLite's with every shift < 0, whose rounding fix-up needs
// no mask (the sign of the value is enough); clamp: the activation range is narrower than int8
// (without it the saturating narrowing is the clamp).
#define TINYQ_DW_RUN_DECLARE(form)                           \
  extern "C" void tinyq_mve_dw_run0_##form(DwRunArgs* args); \
  extern "C" void tinyq_mve_dw_run2_##form(DwRunArgs* args); \
  extern "C" void tinyq_mve_dw_run3_##form(DwRunArgs* args);
TINYQ_DW_RUN_DECLARE(00)
TINYQ_DW_RUN_DECLARE(01)
TINYQ_DW_RUN_DECLARE(10)
TINYQ_DW_RUN_DECLARE(11)
TINYQ_DW_RUN_DECLARE(20)
TINYQ_DW_RUN_DECLARE(21)
#undef TINYQ_DW_RUN_DECLARE
// clang-format off
__asm__(R"(
  .macro TINYQ_DW_WIDEN even, odd, tmp
  vmovlb.s16 \tmp, \even
  vmovlt.s16 \even, \even
  vadd.i32 q0, q0, \tmp
  vadd.i32 q1, q1, \even
  vmovlb.s16 \tmp, \odd
  vmovlt.s16 \odd, \odd
  vadd.i32 q2, q2, \tmp
  vadd.i32 q3, q3, \odd
  .endm
  .macro TINYQ_DW_TAP2 xs, ws
  vldrb.u8 q4, [r4]
  vldrb.u8 q5, [r5]
  add r4, \xs
  add r5, \ws
  vmullb.s8 q6, q4, q5
  vmullt.s8 q7, q4, q5
  vldrb.u8 q4, [r4]
  vldrb.u8 q5, [r5]
  vmullb.s8 q4, q4, q5
  vadd.i16 q6, q6, q4
  vldrb.u8 q4, [r4]
  vmullt.s8 q4, q4, q5
  vadd.i16 q7, q7, q4
  TINYQ_DW_WIDEN q6, q7, q4
  .endm
  .macro TINYQ_DW_TAP1
  vldrb.u8 q4, [r4]
  vldrb.u8 q5, [r5]
  vmullb.s8 q6, q4, q5
  vmullt.s8 q4, q4, q5
  TINYQ_DW_WIDEN q6, q4, q5
  .endm
  .macro TINYQ_DW_REQUANT acc, j, rq
  vldrw.u32 q4, [r11, #\j*16]
  .if \rq == 0
  vmulh.s32 \acc, \acc, q4
  vldrw.u32 q4, [r11, #64+\j*16]
  .elseif \rq == 1
  vqrdmulh.s32 \acc, \acc, q4
  vldrw.u32 q4, [r11, #64+\j*16]
  vand q5, \acc, q4
  vshr.s32 q5, q5, #31
  vqadd.s32 \acc, \acc, q5
  .else
  vqrdmulh.s32 \acc, \acc, q4
  vshr.s32 q5, \acc, #31
  vldrw.u32 q4, [r11, #64+\j*16]
  vadd.i32 \acc, \acc, q5
  .endif
  vrshl.s32 \acc, \acc, q4
  .endm
  .macro TINYQ_DW_RUN kw, rq, clamp
)" TINYQ_ASM_BEGIN("tinyq_mve_dw_run\\kw\\()_\\rq\\clamp") R"(
  push {r4-r11, lr}
  vpush {d8-d15}
  ldr r1, [r0, #0]
  ldr r2, [r0, #56]
  ldr r12, [r0, #8]
  ldrd r8, r7, [r0, #20]
  ldrd r9, r3, [r0, #28]
  ldrd r10, r11, [r0, #36]
0:
  dls lr, r12
1:
  vldrw.u32 q0, [r10]
  vldrw.u32 q1, [r10, #16]
  vldrw.u32 q2, [r10, #32]
  vldrw.u32 q3, [r10, #48]
  mov r4, r1
  ldr r5, [r0, #4]
  ldr r6, [r0, #16]
  .if \kw == 3
  subs r6, #2
  blt 3f
2:
  TINYQ_DW_TAP2 r8, r9
  add r4, r8
  add r5, r9
  TINYQ_DW_TAP2 r7, r3
  add r4, r8
  add r5, r9
  TINYQ_DW_TAP2 r8, r9
  add r4, r7
  add r5, r3
  subs r6, #2
  bge 2b
3:
  adds r6, #2
  beq 4f
  TINYQ_DW_TAP2 r8, r9
  add r4, r8
  add r5, r9
  TINYQ_DW_TAP1
4:
  .elseif \kw == 2
2:
  TINYQ_DW_TAP2 r8, r9
  add r4, r7
  add r5, r3
  subs r6, #1
  bne 2b
  .else
2:
  ldr r12, [r0, #64]
  cmp r12, #0
  beq 4f
3:
  TINYQ_DW_TAP2 r8, r9
  add r4, r8
  add r5, r9
  subs r12, #1
  bne 3b
4:
  ldr r12, [r0, #80]
  cmp r12, #0
  beq 5f
  TINYQ_DW_TAP1
  add r4, r8
  add r5, r9
5:
  add r4, r7
  add r5, r3
  subs r6, #1
  bne 2b
  .endif
  TINYQ_DW_REQUANT q0, 0, \rq
  TINYQ_DW_REQUANT q1, 1, \rq
  TINYQ_DW_REQUANT q2, 2, \rq
  TINYQ_DW_REQUANT q3, 3, \rq
  ldr r6, [r0, #52]
  vqmovnb.s32 q0, q0
  vqmovnt.s32 q0, q1
  vqmovnb.s32 q2, q2
  vqmovnt.s32 q2, q3
  vqadd.s16 q0, q0, r6
  vqadd.s16 q2, q2, r6
  vqmovnb.s16 q0, q0
  vqmovnt.s16 q0, q2
  .if \clamp
  vldrw.u32 q4, [r0, #96]
  vldrw.u32 q5, [r0, #112]
  vmax.s8 q0, q0, q4
  vmin.s8 q0, q0, q5
  .endif
  vstrb.8 q0, [r2]
  ldr r12, [r0, #12]
  add r1, r12
  ldr r12, [r0, #60]
  add r2, r12
  le lr, 1b
  ldrd r4, r5, [r0, #72]
  add r1, r4
  add r2, r5
  ldr r4, [r0, #68]
  ldr r12, [r0, #8]
  subs r4, #1
  str r4, [r0, #68]
  bne 0b
  vpop {d8-d15}
  pop {r4-r11, pc}
)" TINYQ_ASM_END("tinyq_mve_dw_run\\kw\\()_\\rq\\clamp") R"(
  .endm
  .irp form, "0, 0", "0, 1", "1, 0", "1, 1", "2, 0", "2, 1"
  TINYQ_DW_RUN 0, \form
  TINYQ_DW_RUN 2, \form
  TINYQ_DW_RUN 3, \form
  .endr
  .purgem TINYQ_DW_RUN
  .purgem TINYQ_DW_TAP2
  .purgem TINYQ_DW_TAP1
  .purgem TINYQ_DW_WIDEN
  .purgem TINYQ_DW_REQUANT
  .text
)");
// clang-format on

// The runs' lane order (tap pairs: accumulator j holds channels {0, 4, 8, 12} + (0, 2, 1, 3)[j])
// and every other path's (DwBlock: 8 (j / 2) + j % 2 + {0, 2, 4, 6}): each vector's first
// channel and the step between its lanes, and the permutation between them through the
// channels' order in memory.
TINYQ_ALWAYS_INLINE uint32x4_t pair_lanes(int32_t j) {
  return vidupq_n_u32(static_cast<uint32_t>(2 * (j & 1) + (j >> 1)), 4);
}
TINYQ_ALWAYS_INLINE uint32x4_t block_lanes(int32_t j) {
  return vidupq_n_u32(static_cast<uint32_t>(8 * (j >> 1) + (j & 1)), 2);
}
void from_pair_order(const int32x4_t* v, int32x4_t* out) {
  int32_t a[16];
  for (int32_t j = 0; j < 4; ++j) vstrwq_scatter_shifted_offset_s32(a, pair_lanes(j), v[j]);
  for (int32_t j = 0; j < 4; ++j) out[j] = vldrwq_gather_shifted_offset_s32(a, block_lanes(j));
}

// `count` consecutive pixels of a row, `px_step` input bytes apart, whose windows have the
// same valid taps, rows x cols from `in` / `w` (the first valid tap). The offset is folded:
// the accumulators start from base[0 .. 3], bias + offset * (sum of those taps' weights).
// KW: cols when it is 3 or 2 (the taps of a row unrolled), 0 for any other count.
template <int32_t kMode, int32_t KW>
__attribute__((noinline)) void folded_run(const int8_t* in, const int8_t* w, int32_t count, int32_t px_step,
                                          int32_t rows, int32_t cols, const int32x4_t* base, const DwBlock& blk,
                                          const DwGeometry& g, const OutputStage& st, int8_t* out) {
  const int32_t in_step = g.in_step, in_row = g.in_row, w_step = g.w_step, w_row = g.w_row;
  for (int32_t i = 0; i < count; ++i, in += px_step, out += g.c) {
    int32x4_t acc[4] = {base[0], base[1], base[2], base[3]};
    if (KW != 0) {
      const int8_t* x = in;
      const int8_t* k = w;
      for (int32_t ty = 0; ty < rows; ++ty, x += in_row, k += w_row) {
        for (int32_t tx = 0; tx < KW; ++tx) tap<false, kMode>(x + tx * in_step, k + tx * w_step, 0, blk, acc);
      }
    } else {
      taps<false, kMode>(in, w, rows, cols, g, blk, acc);
    }
    finish_pixel<kMode>(acc, blk, g, st, out);
  }
}

// The same run of pixels over `n` output rows, each in_step input bytes and out_step output
// bytes after the previous.
struct DwLines {
  int32_t n, in_step, out_step;
};

template <int32_t kMode>
TINYQ_ALWAYS_INLINE void run_folded(const int8_t* in, const int8_t* w, int32_t count, int32_t px_step, int32_t rows,
                                    int32_t cols, const int32x4_t* base, const DwBlock& blk, const DwGeometry& g,
                                    const OutputStage& st, int8_t* out, const DwLines& lines, DwRunArgs* fast) {
  // A full block with the vector requantization (`fast` set): the assembly runs, called
  // directly (a C wrapper around them cost KWS's 3-pixel runs what the assembly saved).
  if constexpr (kMode == kFull) {
    [[maybe_unused]] const bool three = TINYQ_DW_MVE_UNROLL3 && cols == 3, two = TINYQ_DW_MVE_UNROLL2 && cols == 2;
    if (fast != nullptr && cols > 0 && rows > 0 && count > 0) {
      fast->in = in;
      fast->w = w;
      fast->count = count;
      fast->px_step = px_step;
      fast->rows = rows;
      // The general run steps past a row's last tap before its row step.
      const int32_t row_taps = three || two ? cols - 1 : cols;
      fast->x_row_adv = g.in_row - row_taps * g.in_step;
      fast->w_row_adv = g.w_row - row_taps * g.w_step;
      fast->base = base;
      fast->out = out;
      fast->lines = lines.n;
      fast->line_in_adv = lines.in_step - count * px_step;
      fast->line_out_adv = lines.out_step - count * g.c;
      if constexpr (TINYQ_DW_MVE_UNROLL3) {
        if (three) return fast->run3(fast);
      }
      if constexpr (TINYQ_DW_MVE_UNROLL2) {
        if (two) return fast->run2(fast);
      }
      fast->row_pairs = cols >> 1;  // any other count: a loop over the tap pairs of a row
      fast->row_odd = cols & 1;
      return fast->run0(fast);
    }
    if (fast != nullptr) {  // a window without valid taps (huge padding): the C run, whose order is DwBlock's
      int32x4_t block_base[4];
      from_pair_order(base, block_base);
      return run_folded<kMode>(in, w, count, px_step, rows, cols, block_base, blk, g, st, out, lines, nullptr);
    }
  }
  // The unrolled runs only where the model has such layers (kernel_features.hpp); the general
  // run computes the same for any count.
  for (int32_t l = 0; l < lines.n; ++l, in += lines.in_step, out += lines.out_step) {
    if constexpr (TINYQ_DW_MVE_UNROLL3) {
      if (cols == 3) {
        folded_run<kMode, 3>(in, w, count, px_step, rows, 3, base, blk, g, st, out);
        continue;
      }
    }
    if constexpr (TINYQ_DW_MVE_UNROLL2) {
      if (cols == 2) {
        folded_run<kMode, 2>(in, w, count, px_step, rows, 2, base, blk, g, st, out);
        continue;
      }
    }
    folded_run<kMode, 0>(in, w, count, px_step, rows, cols, base, blk, g, st, out);
  }
}

// Edge columns (windows cut by the left or right padding) whose folded bases a block keeps
// on the stack; layers with more (tiny images, huge pads) run those columns through
// edge_pixel.
constexpr int32_t kMaxEdgeColumns = 4;

// Calls add(w) with the weights (at the block's first channel) of every tap of kernel rows
// `ky` x columns `kx`, and flush() after every 255th tap and at the end: the callers sum the
// weights in 16-bit lanes, exact for 255 taps (|w| <= 128).
template <typename Add, typename Flush>
TINYQ_ALWAYS_INLINE void for_window_weights(const ConvParams& p, const int8_t* w_block, detail::TapRange ky,
                                            detail::TapRange kx, const Add& add, const Flush& flush) {
  const int32_t row_step = p.kernel_w * p.out_c;
  const bool one_pass = (ky.last - ky.first) * (kx.last - kx.first) <= 255;
  int32_t summed = 0;
  const int8_t* row = w_block + (ky.first * p.kernel_w + kx.first) * p.out_c;
  for (int32_t ty = ky.first; ty < ky.last; ++ty, row += row_step) {
    const int8_t* w = row;
    for (int32_t tx = kx.first; tx < kx.last; ++tx, w += p.out_c) {
      add(w);
      if (!one_pass && ++summed == 255) {
        flush();
        summed = 0;
      }
    }
  }
  flush();
}

// bias + offset * (sum of the weights of kernel rows `ky` x columns `kx`): the folded start of
// every window with those valid taps.
void fold_base(const ConvParams& p, const int8_t* w_block, detail::TapRange ky, detail::TapRange kx, const DwBlock& blk,
               int16_t offset, int32x4_t* base) {
  // The taps' weights summed in 16-bit lanes first, then one widening multiply by the offset
  // per half: the same int32 values as a multiply per tap, for 2 loads and 2 adds a tap
  // instead of 2 predicated loads, 4 multiplies and 4 adds. A full block's loads unpredicated.
  const int16x8_t off = vdupq_n_s16(offset);
  for (int32_t j = 0; j < 4; ++j) base[j] = blk.bias[j];
  int16x8_t sum[2] = {vdupq_n_s16(0), vdupq_n_s16(0)};
  const auto flush = [&] {
    for (int32_t h = 0; h < 2; ++h) {
      base[2 * h] = vaddq_s32(base[2 * h], vmullbq_int_s16(sum[h], off));
      base[2 * h + 1] = vaddq_s32(base[2 * h + 1], vmulltq_int_s16(sum[h], off));
      sum[h] = vdupq_n_s16(0);
    }
  };
  if (blk.n == 16) {
    for_window_weights(
        p, w_block, ky, kx,
        [&](const int8_t* w) {
          sum[0] = vaddq_s16(sum[0], vldrbq_s16(w));
          sum[1] = vaddq_s16(sum[1], vldrbq_s16(w + 8));
        },
        flush);
  } else {
    for_window_weights(
        p, w_block, ky, kx,
        [&](const int8_t* w) {
          sum[0] = vaddq_s16(sum[0], vldrbq_z_s16(w, blk.bytes[0]));
          sum[1] = vaddq_s16(sum[1], vldrbq_z_s16(w + 8, blk.bytes[1]));
        },
        flush);
  }
}

// fold_base for a full block in the runs' order (pair_lanes): the weights' even and odd
// channels summed in 16-bit lanes (VMOVLB / VMOVLT of 16 bytes), whose widening multiplies by
// the offset give the four vectors in that order directly.
void fold_base_pairs(const ConvParams& p, const int8_t* w_block, detail::TapRange ky, detail::TapRange kx,
                     const int32x4_t* pair_bias, int16_t offset, int32x4_t* base) {
  const int16x8_t off = vdupq_n_s16(offset);
  for (int32_t j = 0; j < 4; ++j) base[j] = pair_bias[j];
  int16x8_t even = vdupq_n_s16(0), odd = vdupq_n_s16(0);
  for_window_weights(
      p, w_block, ky, kx,
      [&](const int8_t* w) {
        const int8x16_t v = vldrbq_s8(w);
        even = vaddq_s16(even, vmovlbq_s8(v));
        odd = vaddq_s16(odd, vmovltq_s8(v));
      },
      [&] {
        base[0] = vaddq_s32(base[0], vmullbq_int_s16(even, off));
        base[1] = vaddq_s32(base[1], vmulltq_int_s16(even, off));
        base[2] = vaddq_s32(base[2], vmullbq_int_s16(odd, off));
        base[3] = vaddq_s32(base[3], vmulltq_int_s16(odd, off));
        even = odd = vdupq_n_s16(0);
      });
}

// Eight channels, multiplier 1, stride 1 along rows (MobileNet's first depthwise layer, VWW's
// 48 x 48 x 8): a block of 16 lanes would leave half of them idle, and the tail form's
// predicated halves cost about three times the full form per pixel. Two adjacent output
// pixels fill one block instead: their taps are 16 contiguous input bytes (pixel x's 8
// channels, then pixel x + 1's), the weights are duplicated per tap ([w, w], a table built
// once per call), and the two pixels' outputs are 16 contiguous bytes. Virtual channel v is
// pixel v / 8, channel v % 8, so the block's per-channel vectors are those of channel v % 8.
// Only the windows inside the image in x pair up (the same valid taps for both pixels); edge
// columns and an odd last pixel keep the 8-channel path.
constexpr int32_t kMaxPairTaps = 25;  // the duplicated weights' table: up to 5 x 5 windows
struct DwPairs {
  DwBlock blk;      // 16 virtual channels
  DwGeometry g;     // w_step 16, w_row kernel_w * 16, c 16 (outputs: two pixels)
  ConvParams fold;  // the layer with out_c 16: fold_base addresses the table through it (it reads
                    // ConvParams, whose constants the per-layer clones fold: +8% on KWS otherwise)
  const int8_t* w;  // the table: tap t's duplicated weights at 16 t
};

#if defined(__OPTIMIZE_SIZE__)
constexpr bool kRunsInAssembly = false;
#else
constexpr bool kRunsInAssembly = true;
#endif

// The three forms of a run with output stage rq, clamp (DwRunArgs). Only the forms the model
// uses are built (kernel_features.hpp): a left-out form is never chosen for its layers.
struct DwRunForms {
  DwRun run3, run2, run0;
};
#define TINYQ_DW_FORMS(form) \
  DwRunForms { tinyq_mve_dw_run3_##form, tinyq_mve_dw_run2_##form, tinyq_mve_dw_run0_##form }
DwRunForms run_forms(int32_t rq, bool clamp) {
  if constexpr (TINYQ_DW_MVE_CLAMP) {
    if (clamp || !TINYQ_DW_MVE_FULL_RANGE) {
      if (TINYQ_DW_MVE_ROUND_SINGLE && rq == 0) return TINYQ_DW_FORMS(01);
      if (TINYQ_DW_MVE_TFLITE_ZERO_SHIFT && rq == 1) return TINYQ_DW_FORMS(11);
      if (TINYQ_DW_MVE_ROUND_TFLITE && rq == 2) return TINYQ_DW_FORMS(21);
    }
  }
  if constexpr (TINYQ_DW_MVE_FULL_RANGE) {
    if (TINYQ_DW_MVE_ROUND_SINGLE && rq == 0) return TINYQ_DW_FORMS(00);
    if (TINYQ_DW_MVE_TFLITE_ZERO_SHIFT && rq == 1) return TINYQ_DW_FORMS(10);
    if (TINYQ_DW_MVE_ROUND_TFLITE && rq == 2) return TINYQ_DW_FORMS(20);
  }
  __builtin_trap();  // mismatched sources: the model's features leave out a form it uses
}
#undef TINYQ_DW_FORMS

// The run arguments that stay the same over a block (the tinyq_mve_dw_run* functions).
// The block's bias, multipliers and -t in the runs' order, gathered from the layer's arrays
// (channels ch + pair_lanes; `wrap`: DwPairs' virtual channel v is channel v % 8).
void pair_vectors(const DwGeometry& g, int32_t ch, bool wrap, DwRunArgs& a) {
  for (int32_t j = 0; j < 4; ++j) {
    uint32x4_t lanes = pair_lanes(j);
    if (wrap) lanes = vandq_u32(lanes, vdupq_n_u32(7));
    a.pair_bias[j] = g.bias != nullptr ? vldrwq_gather_shifted_offset_s32(g.bias + ch, lanes) : vdupq_n_s32(0);
    if (g.per_channel) {
      a.pair_params[j] = vldrwq_gather_shifted_offset_s32(g.multiplier + ch, lanes);
      a.pair_params[4 + j] = vaddq_n_s32(vldrwq_gather_shifted_offset_s32(g.shift + ch, lanes), g.negt_bias);
    } else {
      a.pair_params[j] = vdupq_n_s32(g.multiplier[0]);
      a.pair_params[4 + j] = vdupq_n_s32(g.shift[0] + g.negt_bias);
    }
  }
}

void set_run_constants(int32_t ch, bool wrap, const DwGeometry& g, const OutputStage& st, DwRunArgs& a) {
  a.in_step = g.in_step;
  a.w_step = g.w_step;
  pair_vectors(g, ch, wrap, a);
  a.params = a.pair_params;
  a.lo = vdupq_n_s8(static_cast<int8_t>(st.lo + st.offset));
  a.hi = vdupq_n_s8(static_cast<int8_t>(st.hi + st.offset));
  const DwRunForms forms = run_forms(g.run_rq, g.run_clamp);
  a.run3 = forms.run3;
  a.run2 = forms.run2;
  a.run0 = forms.run0;
  a.offset = st.offset;
  a.out_step = g.c;
}

// Layers of few pixels with padding (MobileNet's late 6 x 6 and 3 x 3 layers): there a block's
// set-up per window class (a folded base and a run for each of up to 9 classes) costs about as
// much as its taps. Instead the block's 16 channels are copied into a padded image on the stack,
// the padding the zero point (x + offset = 0 there, as in im2col), so that every window is
// whole: one base and one run for the block. At most kMaxPaddedBytes (64 padded pixels).
constexpr int32_t kMaxPaddedBytes = 1024;
struct PaddedExtent {
  int32_t h, w;  // the padded image: every window's rows and columns
};
PaddedExtent padded_extent(const ConvParams& p) {
  return {(p.out_h - 1) * p.stride_h + (p.kernel_h - 1) * p.dilation_h + 1,
          (p.out_w - 1) * p.stride_w + (p.kernel_w - 1) * p.dilation_w + 1};
}
bool padded_applies(const ConvParams& p) {
  const PaddedExtent e = padded_extent(p);
  const bool whole = p.pad_top == 0 && p.pad_left == 0 && e.h <= p.in_h && e.w <= p.in_w;  // one class already
  return !whole && p.input_offset >= -127 && p.input_offset <= 128 && e.h * e.w * 16 <= kMaxPaddedBytes;
}

// A full block of such a layer through the runs (DwGeometry::padded: they apply).
__attribute__((noinline)) void padded_block(const ConvParams& p, const int8_t* input, const int8_t* weights,
                                            const DwBlock& blk, const DwGeometry& g, const OutputStage& st,
                                            int8_t* output) {
  DwRunArgs args;
  set_run_constants(blk.ch, false, g, st, args);
  alignas(16) int8_t image[kMaxPaddedBytes];
  const PaddedExtent e = padded_extent(p);
  const int8x16_t pad = vdupq_n_s8(static_cast<int8_t>(-p.input_offset));
  int32x4_t base[4];
  fold_base_pairs(p, weights + blk.ch, {0, p.kernel_h}, {0, p.kernel_w}, args.pair_bias, g.offset, base);
  DwGeometry padded = g;  // taps step through the padded image's 16-byte pixels
  padded.in_step = p.dilation_w * 16;
  padded.in_row = p.dilation_h * e.w * 16;
  args.in_step = padded.in_step;
  const DwLines lines{p.out_h, p.stride_h * e.w * 16, p.out_w * p.out_c};
  for (int32_t b = 0; b < p.batch; ++b) {
    const int8_t* src = input + b * p.in_h * p.in_w * p.in_c + blk.in_ch;
    // Per padded row: the padding left of the image, its pixels, the padding right of it.
    int8_t* dst = image;
    const int32_t left = p.pad_left < e.w ? p.pad_left : e.w;
    const int32_t right_end = p.pad_left + p.in_w < e.w ? p.pad_left + p.in_w : e.w;
    const auto fill = [&](int32_t n) {
      for (int32_t i = 0; i < n; ++i, dst += 16) vstrbq_s8(dst, pad);
    };
    for (int32_t y = 0; y < e.h; ++y) {
      const int32_t iy = y - p.pad_top;
      if (iy < 0 || iy >= p.in_h) {
        fill(e.w);
        continue;
      }
      fill(left);
      if (right_end > left) {
        const int8_t* px = src + (iy * p.in_w + left - p.pad_left) * p.in_c;
        for (int32_t x = left; x < right_end; ++x, px += p.in_c, dst += 16) vstrbq_s8(dst, vldrbq_s8(px));
      }
      fill(e.w - (right_end > left ? right_end : left));
    }
    run_folded<kFull>(image, weights + blk.ch, p.out_w, p.stride_w * 16, p.kernel_h, p.kernel_w, base, blk, padded, st,
                      output + b * p.out_h * p.out_w * p.out_c + blk.ch, lines, &args);
  }
}

// Every window of a row of outputs has the same valid kernel rows, and every window of an
// output column the same valid kernel columns; the columns fall into at most
// 1 + kMaxEdgeColumns classes (inside the image, or one of the edge columns). Each class's
// folded base is computed when the rows' range changes (at the top and bottom padding; once
// for all the rows inside), and every pixel then runs folded_run: no per-tap offset, no
// per-pixel tap ranges.
// Always inlined into its one caller per mode: with the few-pixel code in the same unit, GCC
// otherwise kept it out of line, and the per-layer clones of depthwise_any (constant
// ConvParams) lost their constants: SWW's windowed 3x1 layer 22,256 -> 30,682 instructions.
template <int32_t kMode>
TINYQ_ALWAYS_INLINE void depthwise_block(const ConvParams& p, const int8_t* input, const int8_t* weights,
                                         const DwBlock& blk, const DwGeometry& g, const OutputStage& st, int8_t* output,
                                         const DwPairs* pairs = nullptr) {
  const int32_t c = p.in_c;
  const int32_t row = p.in_w * c;
  // Columns ox whose windows lie inside the image in x: [ox_lo, ox_hi).
  const detail::TapRange inside =
      detail::inside_outputs(p.in_w, p.out_w, p.kernel_w, p.stride_w, p.dilation_w, p.pad_left);
  const int32_t ox_lo = inside.first, ox_hi = inside.last;
  const int32_t px_step = p.stride_w * c;
  const int8_t* w_block = weights + blk.ch;
  const int32_t edges = ox_lo + p.out_w - ox_hi;
  const bool fold_edges = edges <= kMaxEdgeColumns;
  const detail::TapRange all_kx{0, p.kernel_w};
  detail::TapRange edge_kx[kMaxEdgeColumns];
  if (fold_edges) {
    for (int32_t e = 0; e < edges; ++e) {
      const int32_t ox = e < ox_lo ? e : ox_hi + (e - ox_lo);
      edge_kx[e] = detail::valid_taps(ox * p.stride_w - p.pad_left, p.kernel_w, p.dilation_w, p.in_w);
    }
  }
  int32x4_t inside_base[4];
  int32x4_t pair_base[4];  // pairs: the inside windows' base for two pixels
  int32x4_t edge_base[kMaxEdgeColumns][4];
  detail::TapRange based_ky{-1, -1};  // the rows the bases were computed for
  // Full blocks with the vector requantization run in assembly (run_folded); a speed form
  // that `-Os` builds leave out (about 2 KB).
  DwRunArgs fast_args, pair_args;
  DwRunArgs* fast = nullptr;
  DwRunArgs* pair_fast = nullptr;
  if (kRunsInAssembly && kMode == kFull && g.requant != kScalar && g.tap_pairs) {
    set_run_constants(blk.ch, false, g, st, fast_args);
    fast = &fast_args;
  }
  if (kRunsInAssembly && pairs != nullptr && g.tap_pairs) {  // (pairs_apply: the vector requantization)
    set_run_constants(pairs->blk.ch, true, pairs->g, st, pair_args);
    pair_fast = &pair_args;
  }
  const int32_t out_row = p.out_w * p.out_c;
  for (int32_t b = 0; b < p.batch; ++b) {
    const int8_t* image = input + b * p.in_h * row + blk.in_ch;
    int8_t* out = output + b * p.out_h * out_row + blk.ch;
    for (int32_t oy = 0; oy < p.out_h;) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      const detail::TapRange ky = detail::valid_taps(y0, p.kernel_h, p.dilation_h, p.in_h);
      // The following rows whose windows have the same valid kernel rows (all the rows inside
      // the image) run with this one: one call per column class for all of them.
      DwLines lines{1, p.stride_h * row, out_row};
      while (oy + lines.n < p.out_h) {
        const detail::TapRange next = detail::valid_taps(y0 + lines.n * p.stride_h, p.kernel_h, p.dilation_h, p.in_h);
        if (next.first != ky.first || next.last != ky.last) break;
        ++lines.n;
      }
      if (ky.first != based_ky.first || ky.last != based_ky.last) {
        // The assembly runs take their bases in their own order (fold_base_pairs).
        const auto fold = [&](const ConvParams& q, const int8_t* w, detail::TapRange kx, const DwBlock& block,
                              const DwRunArgs* run, int32x4_t* base) {
          if (run != nullptr) return fold_base_pairs(q, w, ky, kx, run->pair_bias, g.offset, base);
          fold_base(q, w, ky, kx, block, g.offset, base);
        };
        fold(p, w_block, all_kx, blk, fast, inside_base);
        if (pairs != nullptr) fold(pairs->fold, pairs->w, all_kx, pairs->blk, pair_fast, pair_base);
        if (fold_edges)
          for (int32_t e = 0; e < edges; ++e) fold(p, w_block, edge_kx[e], blk, fast, edge_base[e]);
        based_ky = ky;
      }
      const int32_t rows = ky.last - ky.first;
      const int8_t* in_rows = image + (y0 + ky.first * p.dilation_h) * row;
      const int8_t* w_rows = w_block + ky.first * g.w_row;
      if (ox_hi > ox_lo) {  // the windows inside the image in x
        const int8_t* in_first = in_rows + (ox_lo * p.stride_w - p.pad_left) * c;
        int8_t* out_first = out + ox_lo * p.out_c;
        int32_t single = ox_hi - ox_lo;
        if (pairs != nullptr) {
          const int32_t n = single >> 1;
          if (n > 0) {
            run_folded<kFull>(in_first, pairs->w + ky.first * pairs->g.w_row, n, 2 * px_step, rows, p.kernel_w,
                              pair_base, pairs->blk, pairs->g, st, out_first, lines, pair_fast);
          }
          in_first += 2 * n * px_step;
          out_first += 2 * n * p.out_c;
          single -= 2 * n;
        }
        if (single > 0) {
          run_folded<kMode>(in_first, w_rows, single, px_step, rows, p.kernel_w, inside_base, blk, g, st, out_first,
                            lines, fast);
        }
      }
      for (int32_t e = 0; e < edges; ++e) {  // the edge columns, each down all the lines
        const int32_t ox = e < ox_lo ? e : ox_hi + (e - ox_lo);
        const int32_t x0 = ox * p.stride_w - p.pad_left;
        int8_t* out_px = out + ox * p.out_c;
        if (fold_edges) {
          const detail::TapRange kx = edge_kx[e];
          run_folded<kMode>(in_rows + (x0 + kx.first * p.dilation_w) * c, w_rows + kx.first * g.w_step, 1, 0, rows,
                            kx.last - kx.first, edge_base[e], blk, g, st, out_px, lines, fast);
        } else {
          const detail::TapRange kx = detail::valid_taps(x0, p.kernel_w, p.dilation_w, p.in_w);
          const int8_t* in_px = in_rows + (x0 + kx.first * p.dilation_w) * c;
          for (int32_t l = 0; l < lines.n; ++l, in_px += lines.in_step, out_px += lines.out_step)
            edge_pixel<kMode>(in_px, w_rows + kx.first * g.w_step, rows, kx.last - kx.first, blk, g, st, out_px);
        }
      }
      oy += lines.n;
      out += lines.n * out_row;
    }
  }
}

// Calls of at most kFewPixels output pixels with channel multiplier 1 (below): a streaming step's.
constexpr int32_t kFewPixels = kDepthwiseMveFewPixels;
__attribute__((noinline, noclone)) void depthwise_few(const ConvParams& p, const int8_t* input, const int8_t* weights,
                                                      const int32_t* bias, int8_t* output);

// kGather: each output channel's input channel, relative to the block's first (16 divisions:
// only for multipliers above 1).
void set_gather_offsets(int32_t multiplier, DwBlock& blk) {
  uint16_t in_off[16];
  for (int32_t i = 0; i < 16; ++i) in_off[i] = static_cast<uint16_t>((blk.ch + i) / multiplier - blk.in_ch);
  blk.in_off[0] = vld1q_u16(in_off);
  blk.in_off[1] = vld1q_u16(in_off + 8);
}

// DwPairs' case: 8 channels, multiplier 1, stride 1 along rows, vector requantization (the
// scalar one indexes real channels), a window of at most kMaxPairTaps taps.
bool pairs_apply(const ConvParams& p, const DwGeometry& g) {
#if defined(__OPTIMIZE_SIZE__)  // a speed form: -Os builds leave it out (about 1 KB)
  (void)p;
  (void)g;
  return false;
#endif
  return p.in_c == 8 && p.out_c == 8 && p.stride_w == 1 && g.requant != kScalar &&
         p.kernel_h * p.kernel_w <= kMaxPairTaps;
}

// The pairs' block (blk's channel vectors, whose lanes of virtual channels 8 .. 15 repeat
// channels 0 .. 7), geometry and duplicated weights (into table).
void set_pairs(const ConvParams& p, const int8_t* weights, const DwBlock& blk, const DwGeometry& g, int8_t* table,
               DwPairs& pairs) {
  const int32_t taps = p.kernel_h * p.kernel_w;
  for (int32_t t = 0; t < taps; ++t) {
    const int8x16_t w = vldrbq_z_s8(weights + 8 * t, vctp8q(8));
    vstrbq_s8(table + 16 * t, w);
    vstrbq_p_s8(table + 16 * t + 8, w, vctp8q(8));
  }
  pairs.blk = blk;
  pairs.blk.n = 16;
  pairs.blk.bytes[0] = pairs.blk.bytes[1] = vctp16q(8);
  for (int32_t j = 0; j < 2; ++j) {  // accumulators 2 and 3 (virtual 8 .. 15) are 0 and 1's
    pairs.blk.bias[2 + j] = blk.bias[j];
    pairs.blk.mult[2 + j] = blk.mult[j];
    pairs.blk.negt[2 + j] = blk.negt[j];
  }
  pairs.g = g;
  pairs.g.w_step = 16;
  pairs.g.w_row = p.kernel_w * 16;
  pairs.g.c = 16;
  pairs.fold = p;
  pairs.fold.out_c = 16;
  pairs.w = table;
}

// Whether any of the n weights is -128 (TFLite's are in [-127, 127], as are tinyq's): the
// assembly runs' tap pairs sum two 8-bit products in 16 bits, exact only without it.
bool has_min_weight(const int8_t* w, int32_t n) {
  int8x16_t lo = vdupq_n_s8(0);
  int32_t i = 0;
  for (; i + 16 <= n; i += 16) lo = vminq_s8(lo, vldrbq_s8(w + i));
  if (i < n) lo = vminq_s8(lo, vldrbq_z_s8(w + i, vctp8q(static_cast<uint32_t>(n - i))));
  return vminvq_s8(0, lo) == -128;
}

// Any channel multiplier m = out_c / in_c: blocks of 16 output channels, output channel o
// reading input channel o / m (contiguous for m = 1, gathered otherwise).
void depthwise_any(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                   int8_t* output) {
  const int32_t multiplier = p.out_c / p.in_c;
  if constexpr (!TINYQ_DW_MVE_GATHER) {
    // Generated code leaves the gathers out only for models without channel multipliers
    // (kernel_features.hpp): reaching here means mismatched sources, so stop.
    if (multiplier != 1) __builtin_trap();
  }
  const OutputStage st(p.requant, p.output_offset, p.act_min, p.act_max);
  const int32_t c = p.in_c;
  // tinyq's rounding: requantize_lanes for shifts <= -2, negt = shift + 1; TFLite's:
  // requantize_lanes_tflite for shifts <= 0, negt = the shift.
  const bool tflite = p.requant.rounding == kRoundTflite;
  const int32_t negt_bias = tflite ? 0 : 1, max_vector_shift = tflite ? 0 : -2;
  const bool vector_requant = arm::widest_shift(p.requant) <= max_vector_shift;
  const bool per_channel = p.requant.count != 1;
  DwGeometry g;
  g.in_step = p.dilation_w * c;
  g.in_row = p.dilation_h * p.in_w * c;
  g.w_step = p.out_c;
  g.w_row = p.kernel_w * p.out_c;
  g.c = p.out_c;
  g.offset = static_cast<int16_t>(p.input_offset);
  g.requant = !vector_requant ? kScalar : (tflite ? kVectorTflite : kVector);
  g.tap_pairs = kRunsInAssembly && !has_min_weight(weights, p.kernel_h * p.kernel_w * p.out_c);
  g.run_rq = !tflite ? 0 : (arm::widest_shift(p.requant) < 0 ? 2 : 1);
  g.run_clamp = p.act_min != -128 || p.act_max != 127;
  g.bias = bias;
  g.multiplier = p.requant.multiplier;
  g.shift = p.requant.shift;
  g.negt_bias = negt_bias;
  g.per_channel = per_channel;
  g.padded = kRunsInAssembly && g.requant != kScalar && g.tap_pairs && padded_applies(p);
  for (int32_t ch = 0; ch < p.out_c; ch += 16) {
    // A last block of fewer than 16 channels after a whole one (multiplier 1) runs as the
    // whole block of the last 16 channels instead, through the full block's runs rather than
    // the predicated C run: the channels it shares with the previous block are computed again
    // and written with the same bytes (SWW's 40-channel layer: its last 8 channels took 5,494
    // instructions, the whole layer now 10,349).
    if (multiplier == 1 && p.out_c > 16 && p.out_c - ch < 16) ch = p.out_c - 16;
    DwBlock blk;
    blk.ch = ch;
    blk.n = p.out_c - ch < 16 ? p.out_c - ch : 16;
    blk.in_ch = ch / multiplier;
    blk.bytes[0] = vctp16q(static_cast<uint32_t>(blk.n < 8 ? blk.n : 8));
    blk.bytes[1] = vctp16q(static_cast<uint32_t>(blk.n > 8 ? blk.n - 8 : 0));
    if (multiplier != 1) set_gather_offsets(multiplier, blk);
    for (int32_t j = 0; j < 4; ++j) {
      // channels of accumulator j, relative to ch
      const uint32x4_t lane = block_lanes(j);
      const mve_pred16_t valid = vcmphiq_u32(vdupq_n_u32(static_cast<uint32_t>(blk.n)), lane);
      blk.bias[j] = bias != nullptr ? vldrwq_gather_shifted_offset_z_s32(bias + ch, lane, valid) : vdupq_n_s32(0);
      if (per_channel) {
        blk.mult[j] = vldrwq_gather_shifted_offset_z_s32(p.requant.multiplier + ch, lane, valid);
        blk.negt[j] = vaddq_n_s32(vldrwq_gather_shifted_offset_z_s32(p.requant.shift + ch, lane, valid), negt_bias);
      } else {
        blk.mult[j] = vdupq_n_s32(p.requant.multiplier[0]);
        blk.negt[j] = vdupq_n_s32(p.requant.shift[0] + negt_bias);
      }
    }
    if (multiplier != 1) {  // without the gathers, the trap above: multiplier is 1 here
      if constexpr (TINYQ_DW_MVE_GATHER) depthwise_block<kGather>(p, input, weights, blk, g, st, output);
    } else if (kRunsInAssembly && blk.n == 16 && g.padded) {
      padded_block(p, input, weights, blk, g, st, output);
    } else if (blk.n == 16) {
      depthwise_block<kFull>(p, input, weights, blk, g, st, output);
    } else if (pairs_apply(p, g)) {
      alignas(16) int8_t table[16 * kMaxPairTaps];
      DwPairs pairs;
      set_pairs(p, weights, blk, g, table, pairs);
      depthwise_block<kTail>(p, input, weights, blk, g, st, output, &pairs);
    } else {
      depthwise_block<kTail>(p, input, weights, blk, g, st, output);
    }
  }
}

// ---- Calls of at most kFewPixels output pixels ----
// A streaming step computes one new row per layer: a k x 1 depthwise layer over a one-column
// image then has one output pixel per call (MLPerf Tiny's streaming wakeword), and so has the
// last layer of its windowed model. There depthwise_block's folded bases cost as much as the
// taps (a sum of the block's weights per tap), and the layer-wide checks (a loop over all the
// shifts) about a block's taps; here each pixel runs its valid taps with the offset added to
// every input (the kOffset form of mac_tap: 2 instructions per tap more than the folded form,
// against about 12 for folding it), and only the accumulators stay in registers: bias,
// multipliers and shifts are loaded where they are used, and each half block's shifts choose
// its requantization there. Adding the offset per input gives the portable kernel's sums (both
// wrap modulo 2^32 alike). Channel multiplier 1 only (multipliers above 1 take depthwise_block's
// gathers, kGather, also for one pixel): the code is 1 to 2 KB per mode and rounding, and the
// few-pixel layers met so far (streaming steps) are plain depthwise ones.

// One pixel's valid taps as `lines` lines of `n` taps: a tap's input is `x_step` bytes after
// the previous one's (weights `w_step`), a line's first `x_line` after the previous line's
// first (weights `w_line`). A k x 1 window is one line of k taps a row apart, so that a call
// of the streaming wakeword runs a single loop of its taps.
struct FewWindow {
  const int8_t* in;  // input channel 0 at the first valid tap
  const int8_t* w;   // output channel 0's weight of that tap
  int32_t n, lines;  // lines = 0: no valid tap (the output is the requantized bias)
  int32_t x_step, w_step, x_line, w_line;
  int8_t* out;  // output channel 0 of the pixel
};

// The taps of a line: an odd one first, then `pairs` of two per iteration (the pointer and
// counter updates of a loop of single taps would be a fifth of its instructions). The counts
// and doubled steps come from the caller, computed once per pixel.
struct FewLine {
  int32_t odd, pairs;
  int32_t x_step, w_step, x_step2, w_step2;
};
template <int32_t kMode>
TINYQ_ALWAYS_INLINE void few_line(const int8_t* x, const int8_t* k, const FewLine& t, int16_t offset,
                                  const DwBlock& blk, int32x4_t* acc) {
  if (t.odd) {
    tap<true, kMode>(x, k, offset, blk, acc);
    x += t.x_step;
    k += t.w_step;
  }
  for (int32_t i = t.pairs; i > 0; --i, x += t.x_step2, k += t.w_step2) {
    tap<true, kMode>(x, k, offset, blk, acc);
    tap<true, kMode>(x + t.x_step, k + t.w_step, offset, blk, acc);
  }
}

// Accumulators 2h and 2h + 1's words of a per-channel table (bias, multipliers, shifts) of
// the block: kFull by VLD2, which de-interleaves 8 words into the even and the odd channels
// without the gathers' offset vectors; otherwise by gathers of the block's channels only
// (zero in the other lanes), whose predicates `valid` returns.
template <int32_t kMode>
TINYQ_ALWAYS_INLINE void load_half(const int32_t* table, const DwBlock& blk, int32_t h, int32x4_t* pair,
                                   mve_pred16_t* valid) {
  if (kMode == kFull) {
    const int32x4x2_t v = vld2q_s32(table + blk.ch + 8 * h);
    pair[0] = v.val[0];
    pair[1] = v.val[1];
    valid[0] = valid[1] = 0xFFFF;
  } else {
    for (int32_t q = 0; q < 2; ++q) {
      const uint32x4_t lane = vidupq_n_u32(static_cast<uint32_t>(8 * h + q), 2);
      valid[q] = vcmphiq_u32(vdupq_n_u32(static_cast<uint32_t>(blk.n)), lane);
      pair[q] = vldrwq_gather_shifted_offset_z_s32(table + blk.ch, lane, valid[q]);
    }
  }
}

// The scalar requantization of half h of a block's pixel (some shift above the vector forms'
// bound): out of line, rare. The accumulators come by value: a pointer would keep them in
// memory through the taps.
__attribute__((noinline)) void few_scalar_half(int32x4_t even, int32x4_t odd, int32_t h, const DwBlock& blk,
                                               const ConvParams& p, int8_t* out) {
  const OutputStage st(p.requant, p.output_offset, p.act_min, p.act_max);
  int32_t a[8];
  vstrwq_s32(a, even);
  vstrwq_s32(a + 4, odd);
  const int32_t n = blk.n - 8 * h < 8 ? blk.n - 8 * h : 8;
  for (int32_t j = 0; j < n; ++j) out[8 * h + j] = st.finish(a[(j & 1) * 4 + (j >> 1)], blk.ch + 8 * h + j);
}

// The layer's constants that few_blocks reads.
struct FewLayer {
  const ConvParams* params;  // for the scalar requantization
  const int32_t* bias;       // or null
  const int32_t* multiplier;
  const int32_t* shift;
  int32_t multiplier_count;  // 1: per tensor
  int32_t requant;           // kScalar (a per-tensor shift beyond the vector forms), kVector or kVectorTflite
  int16_t offset, act_min, act_max, out_offset;
  bool full_range;  // act_min = -128, act_max = 127
};

// Requantizes and stores half h of a block's pixel, accumulators `even` and `odd`: the vector
// form unless some shift of the half is beyond it (then few_scalar_half).
template <int32_t kMode, bool kTflite>
TINYQ_ALWAYS_INLINE void few_finish_half(int32x4_t even, int32x4_t odd, int32_t h, const DwBlock& blk,
                                         const FewLayer& L, int8_t* out) {
  constexpr bool tflite = kTflite;
  int32x4_t m0, m1, t0, t1;
  if (L.multiplier_count != 1) {
    int32x4_t pair[2];
    mve_pred16_t valid[2];
    load_half<kMode>(L.shift, blk, h, pair, valid);
    t0 = pair[0];
    t1 = pair[1];
    const int32_t top = kMode == kFull ? vmaxvq_s32(vmaxvq_s32(INT32_MIN, t0), t1)
                                       : vmaxvq_p_s32(vmaxvq_p_s32(INT32_MIN, t0, valid[0]), t1, valid[1]);
    // (L.requant is kScalar for per-tensor parameters only.)
    if (top > (tflite ? 0 : -2)) return few_scalar_half(even, odd, h, blk, *L.params, out);
    load_half<kMode>(L.multiplier, blk, h, pair, valid);
    m0 = pair[0];
    m1 = pair[1];
    if (!tflite) {
      t0 = vaddq_n_s32(t0, 1);
      t1 = vaddq_n_s32(t1, 1);
    }
  } else {
    if (L.requant == kScalar) return few_scalar_half(even, odd, h, blk, *L.params, out);
    m0 = m1 = vdupq_n_s32(L.multiplier[0]);
    t0 = t1 = vdupq_n_s32(L.shift[0] + (tflite ? 0 : 1));
  }
  int32x4_t re, ro;
  if (!tflite) {
    re = arm::requantize_lanes(even, m0, t0);
    ro = arm::requantize_lanes(odd, m1, t1);
  } else {
    re = arm::requantize_lanes_tflite(even, m0, t0);
    ro = arm::requantize_lanes_tflite(odd, m1, t1);
  }
  // Back in channel order: VQMOVNB / VQMOVNT write every 16-bit lane between them.
  int16x8_t v = vqmovnbq_s32(vreinterpretq_s16_s32(re), re);
  v = vqmovntq_s32(v, ro);
  // The output offset added with saturation, then the activation range: the same bytes as
  // clamping to [act_min - offset, act_max - offset] first (a saturated lane lies beyond
  // the int8 range either way); with the full int8 range, VQMOVNB's saturation to int8 is the
  // clamp, and VSTRB.16 stores each lane's low byte.
  v = vqaddq_n_s16(v, L.out_offset);
  if (!L.full_range) v = vminq_s16(vmaxq_s16(v, vdupq_n_s16(L.act_min)), vdupq_n_s16(L.act_max));
  v = vreinterpretq_s16_s8(vqmovnbq_s16(vreinterpretq_s8_s16(v), v));
  if (kMode != kFull) {
    vstrbq_p_s16(out + 8 * h, v, blk.bytes[h]);
  } else {
    vstrbq_s16(out + 8 * h, v);
  }
}

// The blocks [ch, end) of one mode and rounding (kTflite: TFLite's).
template <int32_t kMode, bool kTflite>
__attribute__((noinline, noclone)) void few_blocks(const FewLayer& L, const FewWindow* win, int32_t pixels, int32_t ch,
                                                   int32_t end) {
  // Pixels outside, blocks inside: a pixel's window (pointers, steps, tap counts) stays in
  // registers over its blocks; the blocks' setup is little.
  const int32_t first = ch;
  for (int32_t i = 0; i < pixels; ++i) {
    const FewWindow wd = win[i];
    const FewLine line{wd.n & 1, wd.n >> 1, wd.x_step, wd.w_step, 2 * wd.x_step, 2 * wd.w_step};
    const int16_t offset = L.offset;
    for (ch = first; ch < end; ch += 16) {
      DwBlock blk;
      blk.ch = ch;
      blk.n = kMode == kFull || end - ch >= 16 ? 16 : end - ch;  // kFull: [ch, end) holds whole blocks
      blk.in_ch = ch;
      if (kMode != kFull) {
        blk.bytes[0] = vctp16q(static_cast<uint32_t>(blk.n < 8 ? blk.n : 8));
        blk.bytes[1] = vctp16q(static_cast<uint32_t>(blk.n > 8 ? blk.n - 8 : 0));
      }
      int32x4_t acc[4];
      if (L.bias != nullptr) {
        mve_pred16_t valid[2];
        load_half<kMode>(L.bias, blk, 0, acc, valid);
        load_half<kMode>(L.bias, blk, 1, acc + 2, valid);
      } else {
        acc[0] = acc[1] = acc[2] = acc[3] = vdupq_n_s32(0);
      }
      const int8_t* x = wd.in + blk.in_ch;
      const int8_t* k = wd.w + ch;
      if (__builtin_expect(wd.lines == 1, 1)) {  // k x 1 windows: no loop over lines
        few_line<kMode>(x, k, line, offset, blk, acc);
      } else {
        for (int32_t l = wd.lines; l > 0; --l, x += wd.x_line, k += wd.w_line)
          few_line<kMode>(x, k, line, offset, blk, acc);
      }
      // Written out per half: a loop over h would index the accumulators at run time and keep
      // them in memory through the taps.
      few_finish_half<kMode, kTflite>(acc[0], acc[1], 0, blk, L, wd.out + ch);
      few_finish_half<kMode, kTflite>(acc[2], acc[3], 1, blk, L, wd.out + ch);
    }
  }
}

template <int32_t kMode>
void run_few_blocks(const FewLayer& L, const FewWindow* win, int32_t pixels, int32_t ch, int32_t end) {
  // By the layer's rounding: a per-tensor kScalar layer takes few_scalar_half in either form.
  // Only the roundings the model uses are built (kernel_features.hpp); reaching a left-out
  // one means mismatched sources, so stop.
  if (L.params->requant.rounding == kRoundTflite) {
    if constexpr (TINYQ_DW_MVE_ROUND_TFLITE) {
      few_blocks<kMode, true>(L, win, pixels, ch, end);
    } else {
      __builtin_trap();
    }
  } else {
    if constexpr (TINYQ_DW_MVE_ROUND_SINGLE) {
      few_blocks<kMode, false>(L, win, pixels, ch, end);
    } else {
      __builtin_trap();
    }
  }
}

// A window of rows x cols valid taps as lines (FewWindow): one line down the rows for a
// single column (k x 1 windows), otherwise a line per row.
void set_lines(const ConvParams& p, int32_t rows, int32_t cols, FewWindow& wd) {
  const int32_t row = p.in_w * p.in_c;
  if (cols == 1) {
    wd.n = rows;
    wd.lines = 1;
    wd.x_step = p.dilation_h * row;
    wd.w_step = p.kernel_w * p.out_c;
  } else {
    wd.n = cols;
    wd.lines = rows;
    wd.x_step = p.dilation_w * p.in_c;
    wd.w_step = p.out_c;
  }
  if (wd.n == 0 || wd.lines == 0) wd.n = wd.lines = 0;
  wd.x_line = p.dilation_h * row;
  wd.w_line = p.kernel_w * p.out_c;
}

// Every output pixel of a call of at most kFewPixels: their windows' valid taps once, then
// the channel blocks.
void depthwise_few(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                   int8_t* output) {
  const int32_t c = p.in_c;
  const int32_t row = p.in_w * c;
  FewWindow win[kFewPixels];
  int32_t pixels = 0;
  const int32_t extent_h = (p.kernel_h - 1) * p.dilation_h, extent_w = (p.kernel_w - 1) * p.dilation_w;
  if (p.batch == 1 && p.out_h == 1 && p.out_w == 1 && p.pad_top == 0 && p.pad_left == 0 && extent_h < p.in_h &&
      extent_w < p.in_w) {
    // One window inside the input (a streaming step's): every tap valid.
    FewWindow& wd = win[0];
    wd.in = input;
    wd.w = weights;
    wd.out = output;
    set_lines(p, p.kernel_h, p.kernel_w, wd);
    pixels = 1;
  } else {
    for (int32_t b = 0; b < p.batch; ++b) {
      for (int32_t oy = 0; oy < p.out_h; ++oy) {
        const int32_t y0 = oy * p.stride_h - p.pad_top;
        const detail::TapRange ky = detail::valid_taps(y0, p.kernel_h, p.dilation_h, p.in_h);
        for (int32_t ox = 0; ox < p.out_w; ++ox, ++pixels) {
          const int32_t x0 = ox * p.stride_w - p.pad_left;
          const detail::TapRange kx = detail::valid_taps(x0, p.kernel_w, p.dilation_w, p.in_w);
          FewWindow& wd = win[pixels];
          wd.in = input + b * p.in_h * row + (y0 + ky.first * p.dilation_h) * row + (x0 + kx.first * p.dilation_w) * c;
          wd.w = weights + (ky.first * p.kernel_w + kx.first) * p.out_c;
          wd.out = output + pixels * p.out_c;
          set_lines(p, ky.last - ky.first, kx.last - kx.first, wd);
        }
      }
    }
  }
  FewLayer L;
  L.params = &p;
  L.bias = bias;
  L.multiplier = p.requant.multiplier;
  L.shift = p.requant.shift;
  L.multiplier_count = p.requant.count;
  const bool tflite = p.requant.rounding == kRoundTflite;
  L.requant = tflite ? kVectorTflite : kVector;
  // Per tensor: one check here. Per channel: half block by half block.
  if (p.requant.count == 1 && p.requant.shift[0] > (tflite ? 0 : -2)) L.requant = kScalar;
  L.offset = static_cast<int16_t>(p.input_offset);
  L.act_min = static_cast<int16_t>(p.act_min);
  L.act_max = static_cast<int16_t>(p.act_max);
  L.out_offset = static_cast<int16_t>(p.output_offset);
  L.full_range = p.act_min == -128 && p.act_max == 127;
  const int32_t full = p.out_c & ~15;
  if (full != 0) run_few_blocks<kFull>(L, win, pixels, 0, full);
  if (full != p.out_c) run_few_blocks<kTail>(L, win, pixels, full, p.out_c);
}

}  // namespace

// depthwise_mve_column's layers (kernels.hpp): a k x 1 window sliding down a one-column image
// is the same layer as a 1 x k window along a one-row image (the bytes of [batch, H, 1, C] and
// [batch, 1, H, C] are the same). depthwise_block runs a one-row image as one run of pixels
// per block; the column form would be one run per output pixel, each paying the run's set-up
// and a loop over one-tap rows (SWW's 5 x 1 layer: 58,502 -> 41,253 instructions).
ConvParams column_as_row(const ConvParams& p) {
  ConvParams r = p;
  r.in_h = 1;
  r.in_w = p.in_h;
  r.out_h = 1;
  r.out_w = p.out_h;
  r.kernel_h = 1;
  r.kernel_w = p.kernel_h;
  r.stride_h = 1;
  r.stride_w = p.stride_h;
  r.dilation_h = 1;
  r.dilation_w = p.dilation_h;
  r.pad_top = 0;
  r.pad_left = p.pad_top;
  return r;
}

void depthwise_mve_blocks(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                          int8_t* output) {
  // One-line layers with the taps in the lanes where their requantization allows
  // (depthwise_arm_mve_line.cpp; not at -Os, as the block runs).
  const bool line = kRunsInAssembly && TINYQ_DW_MVE_LINE && depthwise_mve_line(p);
  if (depthwise_mve_column(p)) {
    const ConvParams r = column_as_row(p);
    if (line && depthwise_mve_line_run(r, input, weights, bias, output)) return;
    return depthwise_any(r, input, weights, bias, output);
  }
  if (line && depthwise_mve_line_run(p, input, weights, bias, output)) return;
  depthwise_any(p, input, weights, bias, output);
}

void depthwise_mve_few(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                       int8_t* output) {
  depthwise_few(p, input, weights, bias, output);
}

}  // namespace rt
}  // namespace tinyq

#endif  // TINYQ_PATH_ARM_MVE
