// tinyq runtime: convolutions with few values per output on the ARMv7E-M DSP extension: 1x1
// layers with 8 or 16 input channels (MobileNet's first pointwise layers: VWW's 8 -> 16 and
// 16 -> 32 at 48 x 48 and 24 x 24) and first layers of at most 28 values per patch.
//
// conv_pointwise (conv_arm_dsp.cpp) computes one channel x four pixels per step and hands
// the accumulators to tinyq_dsp_requantize: with K = 8 its per-channel bookkeeping (about 60
// instructions: bias, loop set-up, stores, the requantization's own loop) outweighs the 16
// SMLAD of the products, and a layer runs at 0.26 MACs per instruction. Here a pixel's K
// inputs stay unpacked in registers (K = 8: 4 int16 pairs; K = 16: 8 pairs, half reloaded from
// the stack) and each output channel is one pass over words packed per call on the stack in
// the order the loop reads them: a start value, the K / 2 weight pairs, the requantization's
// multiplier, addend and shift. Per output: K / 2 SMLAD, one or two LDM of weights (and, for
// K = 16, two LDM of inputs), one LDM of the three parameters, the fused requantization of
// the 3x3 depthwise passes (3 instructions, 4 with TFLite's rounding), SSAT, STRB and the loop:
// 12 instructions for 8 MACs with K = 8, 19 for 16 with K = 16.
//
// The input offset is folded into the start value (bias + input_offset * sum of the channel's
// weights), so the loop multiplies raw int8 inputs: SXTB16 and SXTB16 ROR #8 of an input word
// give the pairs [x0, x2], [x1, x3], which meet weight pairs packed the same way. The
// requantization and its exactness conditions are those of the 3x3 depthwise passes
// (depthwise_arm_dsp_rows.cpp, pack_quad_weights): tinyq's single rounding with every shift
// <= -2, TFLite's two roundings on doubled weights and start values with every shift <= -1
// and multipliers >= 0, the full int8 output range, and per channel bounds from |bias| + 255 *
// sum |w|. A layer outside them returns false before writing anything, and conv_pointwise
// runs it. Sums wrap modulo 2^32 like the portable ones: the same bytes.
//
// First layers (in_c not a multiple of 4, at most 28 values per patch: 3x3x1, 3x3x3) run the
// same channel loop over patches gathered per pixel (conv2d_s8_dsp_first_layer): a window's
// kernel rows copied as runs of int8 values (edge windows: the zero point, then each row's
// valid run; padded taps meet the folded offset and contribute 0), then unpacked into 5 or 14
// pairs for up to 16 pixels at a time. At 40 values (KWS's 10x4x1 stem) conv_general's
// four-pixel inner loop (16 MACs per 13 instructions) is faster, so it keeps those layers.
// At -Os neither form is built (about 1.5 KB).
#include "tinyq/kernel_path.hpp"  // defines the TINYQ_PATH_* macro tested below

#if defined(TINYQ_PATH_ARM_DSP)

#include "conv_arm_common.hpp"
#include "high_mul_requant.hpp"
#include "kernel_paths.hpp"

namespace tinyq {
namespace rt {

#if !defined(__OPTIMIZE_SIZE__)  // -Os: conv_pointwise alone (about 1 KB less code)
namespace {

constexpr int32_t kNarrowChannels = 32;  // output channels packed per pass over the pixels

// What the assembly reads; offsets fixed by it.
struct NarrowArgs {
  int32_t in_step;        // 0: bytes from a pixel's inputs to the next pixel's
  int32_t out_step;       // 4: bytes from a pixel's outputs to the next pixel's, minus the channels
  int32_t pixels;         // 8: pixels of this call, >= 1
  const int32_t* packed;  // 12: the packed channels
  const int32_t* end;     // 16: their end
  int32_t tflite;         // 20: nonzero: TFLite's rounding (the doubled form)
};

// clang-format off
// One output channel, K = 8: x pairs in r9-r12, r1 packed words (advanced), r2 output
// (advanced), r4-r8 clobbered; TFLITE: lr scratch.
#define TINYQ_NARROW_DOT8                 \
  "  ldm r1!, {r4-r8}\n"                  \
  "  smlad r4, r9, r5, r4\n"              \
  "  smlad r4, r10, r6, r4\n"             \
  "  smlad r4, r11, r7, r4\n"             \
  "  smlad r4, r12, r8, r4\n"             \
  "  ldm r1!, {r5-r7}\n"
// K = 16: pairs 0-3 from [sp], 4-7 from [lr] (sp + 16); r8 is free after the products.
#define TINYQ_NARROW_DOT16                \
  "  ldm r1!, {r4-r8}\n"                  \
  "  ldm sp, {r9-r12}\n"                  \
  "  smlad r4, r9, r5, r4\n"              \
  "  smlad r4, r10, r6, r4\n"             \
  "  smlad r4, r11, r7, r4\n"             \
  "  smlad r4, r12, r8, r4\n"             \
  "  ldm r1!, {r5-r8}\n"                  \
  "  ldm lr, {r9-r12}\n"                  \
  "  smlad r4, r9, r5, r4\n"              \
  "  smlad r4, r10, r6, r4\n"             \
  "  smlad r4, r11, r7, r4\n"             \
  "  smlad r4, r12, r8, r4\n"             \
  "  ldm r1!, {r5-r7}\n"
// r5 multiplier, r6 addend (output offset folded in), r7 shift; SCRATCH for TFLite's sign.
#define TINYQ_NARROW_SINGLE                \
  "  smmla r4, r4, r5, r6\n"               \
  "  asr r4, r4, r7\n"                     \
  "  ssat r4, #8, r4\n"                    \
  "  strb r4, [r2], #1\n"
#define TINYQ_NARROW_TFLITE(SCRATCH)       \
  "  smmlar " SCRATCH ", r4, r5, r6\n"     \
  "  add r4, " SCRATCH ", r4, asr #31\n"   \
  "  asr r4, r4, r7\n"                     \
  "  ssat r4, #8, r4\n"                    \
  "  strb r4, [r2], #1\n"
// The pixel loop around the channel loops: X bytes of stack for the inputs, then [sp + X]
// holds r3 (-> NarrowArgs); LOAD the pixel's inputs into pairs, DOT one channel's products,
// SCRATCH TFLite's register.
#define TINYQ_NARROW_FUNCTION(NAME, X, LOAD, DOT, SCRATCH, SAVE, RESTORE) \
  TINYQ_ASM_BEGIN(NAME) \
  "  push {r4-r11, lr}\n"                          \
  "  sub sp, #(" #X " + 8)\n"                      \
  "  str r3, [sp, #" #X "]\n"                      \
  "  add lr, sp, #16\n"                            \
  "1:\n"                                           \
  LOAD                                             \
  "  ldr r3, [sp, #" #X "]\n"                      \
  "  ldr r4, [r3]\n"                               \
  "  add r0, r4\n"                                 \
  SAVE                                             \
  "  ldr r4, [r3, #20]\n"                          \
  "  ldrd r1, r3, [r3, #12]\n"                     \
  "  cbnz r4, 3f\n"                                \
  "2:\n"                                           \
  DOT                                              \
  TINYQ_NARROW_SINGLE                              \
  "  cmp r1, r3\n"                                 \
  "  bne 2b\n"                                     \
  "  b 4f\n"                                       \
  "3:\n"                                           \
  DOT                                              \
  TINYQ_NARROW_TFLITE(SCRATCH)                     \
  "  cmp r1, r3\n"                                 \
  "  bne 3b\n"                                     \
  "4:\n"                                           \
  RESTORE                                          \
  "  ldr r3, [sp, #" #X "]\n"                      \
  "  ldrd r4, r5, [r3, #4]\n"                      \
  "  add r2, r4\n"                                 \
  "  subs r5, #1\n"                                \
  "  str r5, [r3, #8]\n"                           \
  "  bne 1b\n"                                     \
  "  add sp, #(" #X " + 8)\n"                      \
  "  pop {r4-r11, pc}\n"                           \
  TINYQ_ASM_END(NAME)
// A pixel's 8 inputs (r0, not advanced) as pairs in r9-r12.
#define TINYQ_NARROW_LOAD8                 \
  "  ldr r9, [r0]\n"                       \
  "  ldr r11, [r0, #4]\n"                  \
  "  sxtb16 r10, r9, ror #8\n"             \
  "  sxtb16 r9, r9\n"                      \
  "  sxtb16 r12, r11, ror #8\n"            \
  "  sxtb16 r11, r11\n"
// 16 inputs as 8 pairs at [sp] (pairs 0-3) and [sp, #16] (4-7).
#define TINYQ_NARROW_LOAD16                \
  "  ldr r5, [r0]\n"                       \
  "  ldr r7, [r0, #4]\n"                   \
  "  ldr r9, [r0, #8]\n"                   \
  "  ldr r11, [r0, #12]\n"                 \
  "  sxtb16 r6, r5, ror #8\n"              \
  "  sxtb16 r5, r5\n"                      \
  "  sxtb16 r8, r7, ror #8\n"              \
  "  sxtb16 r7, r7\n"                      \
  "  sxtb16 r10, r9, ror #8\n"             \
  "  sxtb16 r9, r9\n"                      \
  "  sxtb16 r12, r11, ror #8\n"            \
  "  sxtb16 r11, r11\n"                    \
  "  stm sp, {r5-r12}\n"
// First layers (conv2d_s8_dsp_first_layer): a pixel's patch gathered into P int16 pairs.
// P = 5 (K <= 9): pairs in r9-r12 and lr; r0 (the next pixel's pairs) waits on the stack
// during the channel loop so that one LDM fetches all five weight pairs and the start value
// (packed fifth pair first: pack_channel).
#define TINYQ_NARROW_LOAD5 "  ldm r0, {r9-r12, lr}\n"
#define TINYQ_NARROW_SAVE5 "  str r0, [sp, #4]\n"
#define TINYQ_NARROW_RESTORE5 "  ldr r0, [sp, #4]\n"
#define TINYQ_NARROW_DOT5                 \
  "  ldm r1!, {r0, r4-r8}\n"              \
  "  smlad r4, r9, r5, r4\n"              \
  "  smlad r4, r10, r6, r4\n"             \
  "  smlad r4, r11, r7, r4\n"             \
  "  smlad r4, r12, r8, r4\n"             \
  "  smlad r4, lr, r0, r4\n"              \
  "  ldm r1!, {r5-r7}\n"
// P = 14 (K <= 28): pairs read from the patch at lr in chunks of 4 (the last of 2).
#define TINYQ_NARROW_LOAD14 "  mov lr, r0\n"
#define TINYQ_NARROW_CHUNK(X0, X1)         \
  "  ldm r1!, {r5-r8}\n"                  \
  "  ldrd r9, r10, [lr, #" #X0 "]\n"      \
  "  ldrd r11, r12, [lr, #" #X1 "]\n"     \
  "  smlad r4, r9, r5, r4\n"              \
  "  smlad r4, r10, r6, r4\n"             \
  "  smlad r4, r11, r7, r4\n"             \
  "  smlad r4, r12, r8, r4\n"
#define TINYQ_NARROW_DOT14                \
  "  ldr r4, [r1], #4\n"                  \
  TINYQ_NARROW_CHUNK(0, 8)                \
  TINYQ_NARROW_CHUNK(16, 24)              \
  TINYQ_NARROW_CHUNK(32, 40)              \
  "  ldrd r5, r6, [r1], #8\n"             \
  "  ldrd r9, r10, [lr, #48]\n"           \
  "  smlad r4, r9, r5, r4\n"              \
  "  smlad r4, r10, r6, r4\n"             \
  "  ldm r1!, {r5-r7}\n"
// clang-format on

// Pixels of one call: r0 the first pixel's inputs, r2 its outputs of the packed channels.
// r3 -> NarrowArgs; the input advances by in_step per pixel (after its inputs are loaded),
// the output by out_step after the channels. The 8 x 8 case keeps no stack but the argument.
extern "C" void tinyq_dsp_pointwise_narrow8(const int8_t* input, int32_t unused, int8_t* output, NarrowArgs* args);
extern "C" void tinyq_dsp_pointwise_narrow16(const int8_t* input, int32_t unused, int8_t* output, NarrowArgs* args);
__asm__(TINYQ_NARROW_FUNCTION("tinyq_dsp_pointwise_narrow8", 0, TINYQ_NARROW_LOAD8, TINYQ_NARROW_DOT8, "lr", "", ""));
__asm__(TINYQ_NARROW_FUNCTION("tinyq_dsp_pointwise_narrow16", 32, TINYQ_NARROW_LOAD16, TINYQ_NARROW_DOT16, "r8", "",
                              ""));
// The same over gathered patches: r0 the first pixel's P pairs, in_step = 4 P.
extern "C" void tinyq_dsp_patch_pairs5(const int32_t* pairs, int32_t unused, int8_t* output, NarrowArgs* args);
extern "C" void tinyq_dsp_patch_pairs14(const int32_t* pairs, int32_t unused, int8_t* output, NarrowArgs* args);
__asm__(TINYQ_NARROW_FUNCTION("tinyq_dsp_patch_pairs5", 0, TINYQ_NARROW_LOAD5, TINYQ_NARROW_DOT5, "r8",
                              TINYQ_NARROW_SAVE5, TINYQ_NARROW_RESTORE5));
;
__asm__(TINYQ_NARROW_FUNCTION("tinyq_dsp_patch_pairs14", 0, TINYQ_NARROW_LOAD14, TINYQ_NARROW_DOT14, "r8", "", ""));
#undef TINYQ_NARROW_LOAD5
#undef TINYQ_NARROW_DOT5
#undef TINYQ_NARROW_SAVE5
#undef TINYQ_NARROW_RESTORE5
#undef TINYQ_NARROW_LOAD14
#undef TINYQ_NARROW_DOT14
#undef TINYQ_NARROW_CHUNK
#undef TINYQ_NARROW_FUNCTION
#undef TINYQ_NARROW_LOAD8
#undef TINYQ_NARROW_LOAD16
#undef TINYQ_NARROW_DOT8
#undef TINYQ_NARROW_DOT16
#undef TINYQ_NARROW_SINGLE
#undef TINYQ_NARROW_TFLITE

// A layer's packing: K values per output channel in P int16 pairs (zero beyond K), P + 4
// words per channel (start value, pairs, multiplier, addend, shift).
struct NarrowPlan {
  bool tflite;
  int32_t k, pairs, words;
  const int8_t* order = nullptr;  // value index of each pair half (-1: zero); null: SXTB16's
};

// Whether every channel's requantization can be fused (the bounds are pack_channel's).
bool narrow_plan(const ConvParams& p, int32_t k, int32_t pairs, NarrowPlan& plan) {
  if (p.act_min != -128 || p.act_max != 127) return false;
  plan.tflite = p.requant.rounding == kRoundTflite;
  plan.k = k;
  plan.pairs = pairs;
  plan.words = pairs + 4;
  for (int32_t i = 0; i < p.requant.count; ++i) {
    const int32_t s = p.requant.shift[i];
    if (s < -31 || s > (plan.tflite ? -1 : -2) || (plan.tflite && p.requant.multiplier[i] < 0)) return false;
  }
  return true;
}

// Packs channel c at w; false when its bounds fail (nothing else is then used). Value k of a
// group of 4 pairs with value k + 2: [w0, w2], [w1, w3], as SXTB16 splits an input word.
bool pack_channel(const ConvParams& p, const NarrowPlan& plan, const int8_t* weights, const int32_t* bias, int32_t c,
                  int32_t* w) {
  const int32_t k = plan.k, scale = plan.tflite ? 2 : 1;
  const int8_t* row = weights + c * k;
  int32_t sum = 0, sum_abs = 0;
  for (int32_t i = 0; i < k; ++i) {
    sum += row[i];
    sum_abs += row[i] < 0 ? -row[i] : row[i];
  }
  const int32_t b = bias != nullptr ? bias[c] : 0;
  // tinyq_dsp_patch_pairs5 takes the fifth pair, the start value and pairs 0 .. 3 in one LDM
  // (TINYQ_NARROW_DOT5): the fifth pair goes in front, the rest one word later.
  const bool fifth_first = plan.pairs == 5;
  int32_t* start = w + (fifth_first ? 1 : 0);
  start[0] = static_cast<int32_t>(
      (static_cast<uint32_t>(b) + static_cast<uint32_t>(p.input_offset) * static_cast<uint32_t>(sum)) *
      static_cast<uint32_t>(scale));
  const auto at = [row, k, scale](int32_t i) { return i >= 0 && i < k ? scale * row[i] : 0; };
  for (int32_t j = 0; j < plan.pairs; ++j) {  // pair j: values 4 (j / 2) + (j % 2) and + 2
    const int32_t first = 4 * (j / 2) + j % 2;
    const int32_t lo = plan.order != nullptr ? plan.order[2 * j] : first;
    const int32_t hi = plan.order != nullptr ? plan.order[2 * j + 1] : first + 2;
    (fifth_first && j == 4 ? w[0] : start[1 + j]) =
        static_cast<int32_t>((static_cast<uint32_t>(at(lo)) & 0xFFFFu) | (static_cast<uint32_t>(at(hi)) << 16));
  }
  const int32_t i = p.requant.count == 1 ? 0 : c;
  const int64_t bound = (b < 0 ? -int64_t{b} : int64_t{b}) + 255 * int64_t{sum_abs};
  const detail::FusedRequant f =
      detail::fused_requant(p.requant.multiplier[i], p.requant.shift[i], p.output_offset, bound, plan.tflite);
  int32_t* rq = w + 1 + plan.pairs;
  rq[0] = p.requant.multiplier[i];
  rq[1] = f.addend;
  rq[2] = f.shift;
  return f.valid;
}

// Packs channels [c0, c0 + n), n = min(out_c - c0, capacity), for one pass over the pixels.
void pack_block(const ConvParams& p, const NarrowPlan& plan, const int8_t* weights, const int32_t* bias, int32_t c0,
                int32_t capacity, int32_t* packed, NarrowArgs& args) {
  const int32_t n = p.out_c - c0 < capacity ? p.out_c - c0 : capacity;
  for (int32_t c = 0; c < n; ++c) pack_channel(p, plan, weights, bias, c0 + c, packed + c * plan.words);
  args.end = packed + n * plan.words;
  args.out_step = p.out_c - n;
}

// Every channel's bounds, before any output is written.
bool all_channels_fit(const ConvParams& p, const NarrowPlan& plan, const int8_t* weights, const int32_t* bias,
                      int32_t* scratch) {
  for (int32_t c = 0; c < p.out_c; ++c) {
    if (!pack_channel(p, plan, weights, bias, c, scratch)) return false;
  }
  return true;
}

// One-channel 3x3 first layers (MNIST-style stems): each kernel row of a window is one
// unaligned word (its fourth byte meets a zero weight), so a pixel's 5 pairs are 3 LDR, 6
// SXTB16 and a PKHBT, about 12 instructions where the byte gather takes about 160:
// [r0x0, r0x2], [r1x0, r1x2], [r2x0, r2x2], [r0x1, r1x1], [r2x1, r2x3 (weight 0)].
constexpr int8_t kRows3Order[10] = {0, 2, 3, 5, 6, 8, 1, 4, 7, -1};

bool rows3_layer(const ConvParams& p) { return p.in_c == 1 && p.kernel_h == 3 && p.kernel_w == 3 && p.dilation_w == 1; }

// The pairs of a window whose kernel rows start at r, row_bytes apart (each row's 4 bytes
// readable).
TINYQ_ALWAYS_INLINE void rows3_pairs(const int8_t* r, int32_t row_bytes, uint32_t* pair) {
  const uint32_t a = arm::load_u32(r), b = arm::load_u32(r + row_bytes), c = arm::load_u32(r + 2 * row_bytes);
  pair[0] = static_cast<uint32_t>(__sxtb16(static_cast<int32_t>(a)));
  pair[1] = static_cast<uint32_t>(__sxtb16(static_cast<int32_t>(b)));
  pair[2] = static_cast<uint32_t>(__sxtb16(static_cast<int32_t>(c)));
  pair[3] = arm::pack_low(arm::sxtb16_ror8(a), arm::sxtb16_ror8(b));
  pair[4] = arm::sxtb16_ror8(c);
}

// A window that reaches the padding, or whose last row's fourth byte may lie past the image:
// its rows copied into a 4-byte-stride buffer, padded taps the zero point (which meets the
// folded offset and contributes 0).
__attribute__((noinline)) void rows3_edge_pairs(const ConvParams& p, const int8_t* image, int32_t y0, int32_t x0,
                                                uint32_t zero_word, uint32_t* pair) {
  alignas(4) int8_t rows[12];
  for (int32_t i = 0; i < 12; i += 4) arm::store_u32(rows + i, zero_word);
  for (int32_t ty = 0; ty < 3; ++ty) {
    const int32_t iy = y0 + ty * p.dilation_h;
    if (iy < 0 || iy >= p.in_h) continue;
    for (int32_t tx = 0; tx < 3; ++tx) {
      const int32_t ix = x0 + tx;
      if (ix >= 0 && ix < p.in_w) rows[4 * ty + tx] = image[iy * p.in_w + ix];
    }
  }
  rows3_pairs(rows, 4, pair);
}

// The pairs of `count` windows of one output row (first window's left column x_first, stride
// apart): the windows wholly inside, whose last row's fourth byte is inside the image too,
// through one pointer; the others through rows3_edge_pairs. Fields copied to locals: the
// stores through `pair` would otherwise make GCC reload them per pixel.
void rows3_block(const ConvParams& p, const int8_t* image, int32_t y0, bool rows_inside, int32_t x_first, int32_t count,
                 uint32_t zero_word, uint32_t* pair) {
  const int32_t stride = p.stride_w, in_w = p.in_w, row_bytes = p.dilation_h * in_w;
  // The fourth byte of the last kernel row is the next image row's first byte at the right
  // edge: readable unless that row is the image's last.
  const int32_t x_end = y0 + 2 * p.dilation_h + 1 < p.in_h ? in_w - 2 : in_w - 3;  // x0 < x_end
  int32_t q = 0, x0 = x_first;
  for (; q < count && !(rows_inside && x0 >= 0 && x0 < x_end); ++q, x0 += stride, pair += 5)
    rows3_edge_pairs(p, image, y0, x0, zero_word, pair);
  const int8_t* r = image + y0 * in_w + x0;
  for (; q < count && rows_inside && x0 < x_end; ++q, x0 += stride, r += stride, pair += 5)
    rows3_pairs(r, row_bytes, pair);
  for (; q < count; ++q, x0 += stride, pair += 5) rows3_edge_pairs(p, image, y0, x0, zero_word, pair);
}

}  // namespace

bool conv2d_s8_dsp_pointwise_narrow(const ConvParams& p, const int8_t* input, const int8_t* weights,
                                    const int32_t* bias, int8_t* output) {
  NarrowPlan plan;
  if ((p.in_c != 8 && p.in_c != 16) || !narrow_plan(p, p.in_c, p.in_c / 2, plan)) return false;
  alignas(8) int32_t packed[kNarrowChannels * (16 / 2 + 4)];
  if (!all_channels_fit(p, plan, weights, bias, packed)) return false;
  const auto run = p.in_c == 8 ? tinyq_dsp_pointwise_narrow8 : tinyq_dsp_pointwise_narrow16;
  NarrowArgs args;
  args.in_step = p.stride_w * p.in_c;
  args.tflite = plan.tflite ? 1 : 0;
  args.packed = packed;
  for (int32_t c0 = 0; c0 < p.out_c; c0 += kNarrowChannels) {
    pack_block(p, plan, weights, bias, c0, kNarrowChannels, packed, args);
    for (int32_t b = 0; b < p.batch; ++b) {
      for (int32_t oy = 0; oy < p.out_h; ++oy) {
        const int8_t* in = input + ((b * p.in_h + oy * p.stride_h) * p.in_w) * p.in_c;
        int8_t* out = output + ((b * p.out_h + oy) * p.out_w) * p.out_c + c0;
        args.pixels = p.out_w;
        run(in, 0, out, &args);
      }
    }
  }
  return true;
}

bool conv2d_s8_dsp_first_layer(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                               int8_t* output) {
  constexpr int32_t kChannels = 16, kPixels = 16, kMaxPairs = 14;
  const int32_t k = p.kernel_h * p.kernel_w * p.in_c;
  const int32_t pairs = k <= 9 ? 5 : k <= 28 ? kMaxPairs : 0;  // 5 pairs hold values 0 .. 8 (and 10)
  NarrowPlan plan;
  if (p.groups != 1 || p.in_c % 4 == 0 || pairs == 0 || !narrow_plan(p, k, pairs, plan)) return false;
  const bool rows3 = rows3_layer(p);
  if (rows3) plan.order = kRows3Order;
  alignas(8) int32_t packed[kChannels * (kMaxPairs + 4)];
  if (!all_channels_fit(p, plan, weights, bias, packed)) return false;
  // Value i of a patch is tap i / in_c, channel i % in_c. A window inside the image is
  // kernel_h runs of run = kernel_w * in_c bytes when dilation_w is 1 (copied by words), and
  // any window is value by value otherwise; then each word of 4 int8 values becomes the pairs
  // [v0, v2], [v1, v3] (SXTB16), the order the packed weights follow.
  int32_t tap_y[28], tap_x[28];
  for (int32_t i = 0; i < k; ++i) {
    const int32_t tap = i / p.in_c;
    tap_y[i] = tap / p.kernel_w * p.dilation_h;
    tap_x[i] = tap % p.kernel_w * p.dilation_w;
  }
  const int32_t run_bytes = p.kernel_w * p.in_c, row_bytes = p.dilation_h * p.in_w * p.in_c;
  const bool runs = p.dilation_w == 1;
  alignas(8) uint32_t patches[kPixels * kMaxPairs];
  alignas(4) int8_t patch[32] = {};  // values past k are read but meet zero weights
  const int8_t zero_point = static_cast<int8_t>(-p.input_offset);
  const uint32_t zero_word = static_cast<uint32_t>(static_cast<uint8_t>(zero_point)) * 0x01010101u;
  const int32_t extent_h = (p.kernel_h - 1) * p.dilation_h, extent_w = (p.kernel_w - 1) * p.dilation_w;
  const auto run = pairs == 5 ? tinyq_dsp_patch_pairs5 : tinyq_dsp_patch_pairs14;
  NarrowArgs args;
  args.in_step = 4 * pairs;
  args.tflite = plan.tflite ? 1 : 0;
  args.packed = packed;
  for (int32_t c0 = 0; c0 < p.out_c; c0 += kChannels) {
    pack_block(p, plan, weights, bias, c0, kChannels, packed, args);
    for (int32_t b = 0; b < p.batch; ++b) {
      const int8_t* image = input + b * p.in_h * p.in_w * p.in_c;
      for (int32_t oy = 0; oy < p.out_h; ++oy) {
        const int32_t y0 = oy * p.stride_h - p.pad_top;
        const bool rows_inside = y0 >= 0 && y0 + extent_h < p.in_h;
        for (int32_t ox0 = 0; ox0 < p.out_w; ox0 += kPixels) {
          const int32_t count = p.out_w - ox0 < kPixels ? p.out_w - ox0 : kPixels;
          if (rows3) rows3_block(p, image, y0, rows_inside, ox0 * p.stride_w - p.pad_left, count, zero_word, patches);
          for (int32_t q = 0; q < count && !rows3; ++q) {
            const int32_t x0 = (ox0 + q) * p.stride_w - p.pad_left;
            if (runs && rows_inside && x0 >= 0 && x0 + extent_w < p.in_w) {
              const int8_t* row = image + (y0 * p.in_w + x0) * p.in_c;
              int8_t* d = patch;
              for (int32_t ty = 0; ty < p.kernel_h; ++ty, row += row_bytes) {
                int32_t j = 0;
                for (; j + 4 <= run_bytes; j += 4) arm::store_u32(d + j, arm::load_u32(row + j));
                for (; j < run_bytes; ++j) d[j] = row[j];
                d += run_bytes;
              }
            } else if (runs) {  // an edge window: the zero point, then each row's valid taps
              // (padded taps hold the zero point: (zero point + offset) * w = 0)
              for (int32_t i = 0; i < k; i += 4) arm::store_u32(patch + i, zero_word);
              const int32_t tx_lo = x0 < 0 ? -x0 : 0;
              const int32_t tx_hi = x0 + p.kernel_w > p.in_w ? p.in_w - x0 : p.kernel_w;
              for (int32_t ty = 0; ty < p.kernel_h && tx_lo < tx_hi; ++ty) {
                const int32_t iy = y0 + ty * p.dilation_h;
                if (iy < 0 || iy >= p.in_h) continue;
                const int8_t* src = image + (iy * p.in_w + x0 + tx_lo) * p.in_c;
                int8_t* d = patch + (ty * p.kernel_w + tx_lo) * p.in_c;
                for (int32_t j = 0; j < (tx_hi - tx_lo) * p.in_c; ++j) d[j] = src[j];
              }
            } else {
              for (int32_t i = 0; i < k; ++i) {
                const int32_t iy = y0 + tap_y[i], ix = x0 + tap_x[i];
                const bool inside = iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w;
                patch[i] = inside ? image[(iy * p.in_w + ix) * p.in_c + i % p.in_c] : zero_point;
              }
            }
            uint32_t* pair = patches + q * pairs;
            for (int32_t g = 0; 2 * g < pairs; ++g) {
              const uint32_t word = arm::load_u32(patch + 4 * g);
              pair[2 * g] = static_cast<uint32_t>(__sxtb16(static_cast<int32_t>(word)));
              if (2 * g + 1 < pairs) pair[2 * g + 1] = arm::sxtb16_ror8(word);
            }
          }
          args.pixels = count;
          run(reinterpret_cast<const int32_t*>(patches), 0,
              output + ((b * p.out_h + oy) * p.out_w + ox0) * p.out_c + c0, &args);
        }
      }
    }
  }
  return true;
}
#else
bool conv2d_s8_dsp_pointwise_narrow(const ConvParams&, const int8_t*, const int8_t*, const int32_t*, int8_t*) {
  return false;
}
bool conv2d_s8_dsp_first_layer(const ConvParams&, const int8_t*, const int8_t*, const int32_t*, int8_t*) {
  return false;
}
#endif

}  // namespace rt
}  // namespace tinyq

#endif  // TINYQ_PATH_ARM_DSP
