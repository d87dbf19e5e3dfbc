// Firmware test: the native (DSP / MVE) paths of conv2d_s8, depthwise_conv2d_s8 and dense_s8
// give the same bytes as their portable paths, over randomized shapes: strides, dilations,
// groups, padding up to beyond the kernel, 1x1 images, odd channel counts, channel
// multipliers, extreme offsets, saturating and narrow activation ranges, per-tensor and
// per-channel requantization (including multipliers >= 1/2, the slow requantization path),
// null bias; plus the reference layers (bench/reference_layers). Each native call gets exactly the scratch
// its twin, conv2d_s8_scratch_bytes(p, kNativePath), asks for, followed by guard bytes that
// must survive. Returns the number of failing cases (0: pass); prints the first few.
//
// Started as mcu_paths_conv_<core>.variant-<name>.elf (variant_select.hpp), the firmware checks
// one variant of the native path only (conv_pointwise, conv_general, conv_gather,
// depthwise_3x3, depthwise_rows, depthwise_column, depthwise_mult1, depthwise_multiplier, depthwise_few (Helium:
// one or two output pixels per call, multiplier 1), dense, dense_packed,
// reference_layers): shapes drawn within that variant's conditions, and every case asserted to take it, so that a
// failing ctest names the variant that broke.
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kernel_paths.hpp"
#include "variant_select.hpp"

namespace rt = tinyq::rt;

namespace {

uint32_t rng_state = 0x12345678u;
uint32_t next_u32() {  // xorshift32: deterministic, no library
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}
int32_t uniform(int32_t lo, int32_t hi) {
  return lo + static_cast<int32_t>(next_u32() % static_cast<uint32_t>(hi - lo + 1));
}
bool chance(int32_t percent) { return uniform(0, 99) < percent; }

constexpr int32_t kMaxInput = 32 * 32 * 16;
constexpr int32_t kMaxWeights = 1568 * 128;
constexpr int32_t kMaxOutput = 32 * 32 * 16;
constexpr int32_t kMaxChannels = 160;
constexpr int32_t kMaxScratch = 8192;
constexpr uint8_t kGuard = 0xA5;
constexpr int32_t kGuardBytes = 64;

alignas(8) int8_t input[kMaxInput];
alignas(8) int8_t weights[kMaxWeights];
alignas(8) int8_t out_native[kMaxOutput];
alignas(8) int8_t out_portable[kMaxOutput];
alignas(8) int16_t scratch[(kMaxScratch + kGuardBytes) / 2];
alignas(8) int16_t scratch_portable[kMaxScratch / 2];
int32_t bias[kMaxChannels], multiplier[kMaxChannels], shift[kMaxChannels];

int failures = 0;
int cases = 0;
// Percent of layers whose shifts all lie in [-22, -2] and, separately, whose output range is the
// full int8 range: where the DSP Column variant fuses the requantization into its assembly
// (set per variant run; 0 draws nothing extra).
int32_t fusable_odds = 0;

void fill(int8_t* p, int32_t n, int32_t lo, int32_t hi) {
  for (int32_t i = 0; i < n; ++i) p[i] = static_cast<int8_t>(uniform(lo, hi));
}

// Per-channel or per-tensor requantization; narrow multipliers usually (shift -31 .. -2, the
// fast paths), sometimes >= 1/2 (shift -1 .. 1) with accumulators kept small enough by the
// caller. A quarter of the layers round as TFLite does (kRoundTflite: pre-quantized models),
// with TFLite's multipliers (never negative, 2^30 now and then: exact power-of-two scales).
rt::Requant random_requant(int32_t channels, bool large) {
  const int32_t count = chance(25) ? 1 : channels;
  const bool tflite = chance(fusable_odds > 0 ? 50 : 25);
  const bool fusable = fusable_odds > 0 && chance(fusable_odds);
  for (int32_t i = 0; i < count; ++i) {
    multiplier[i] = chance(5) ? 0 : static_cast<int32_t>((1u << 30) + (next_u32() & 0x3FFFFFFFu));
    if (tflite && chance(10)) multiplier[i] = 1 << 30;
    if (!tflite && chance(10)) multiplier[i] = -multiplier[i];
    shift[i] = large ? uniform(-1, 1) : (chance(15) ? uniform(-31, -17) : uniform(-16, -2));
    if (fusable && !large) shift[i] = chance(10) ? uniform(-22, -17) : uniform(-16, tflite ? -1 : -2);
  }
  return rt::Requant{multiplier, shift, count, tflite ? rt::kRoundTflite : rt::kRoundSingle};
}

void random_output_stage(int32_t& input_offset, int32_t& output_offset, int32_t& act_min, int32_t& act_max) {
  input_offset = chance(20) ? (chance(50) ? -127 : 128) : uniform(-127, 128);
  output_offset = chance(20) ? (chance(50) ? -128 : 127) : uniform(-128, 127);
  act_min = -128;
  act_max = 127;
  if (chance(30)) act_min = uniform(-128, 127);
  if (chance(30)) act_max = uniform(act_min, 127);
  if (act_max < act_min) act_max = act_min;
  if (fusable_odds > 0 && chance(fusable_odds)) {  // the full range, which the Column variant fuses
    act_min = -128;
    act_max = 127;
  }
}

// Counts the case; on a difference counts a failure, prints the first ones, returns false.
bool report(const char* what, int32_t n) {
  ++cases;
  if (memcmp(out_native, out_portable, static_cast<size_t>(n)) == 0) return true;
  ++failures;
  if (failures <= 10) {
    int32_t i = 0;
    while (out_native[i] == out_portable[i]) ++i;
    printf("MISMATCH case %d (%s): byte %ld native %d portable %d\n", cases, what, static_cast<long>(i), out_native[i],
           out_portable[i]);
  }
  return false;
}

bool guard_intact(size_t bytes) {
  const uint8_t* g = reinterpret_cast<const uint8_t*>(scratch) + bytes;
  for (int32_t i = 0; i < kGuardBytes; ++i)
    if (g[i] != kGuard) return false;
  return true;
}

// The variant the native path runs a conv layer with, by its ctest name: conv2d_s8 dispatches
// on conv2d_s8_variant; the DSP general variant gathers first layers.
const char* conv_variant(const rt::ConvParams& p) {
  switch (rt::conv2d_s8_variant(p)) {
    case rt::ConvVariant::DspPointwise:
    case rt::ConvVariant::MvePointwise: return "conv_pointwise";
    case rt::ConvVariant::DspGeneral: return rt::conv2d_s8_dsp_gathers(p) ? "conv_gather" : "conv_general";
    case rt::ConvVariant::MveGeneral: return "conv_general";
    case rt::ConvVariant::Portable: break;
  }
  return "conv_portable";
}

// The same for depthwise layers: depthwise_conv2d_s8 dispatches on depthwise_dsp_variant (DSP)
// and depthwise_mve_few_pixels (Helium; otherwise 16-channel blocks, gathered inputs for
// multipliers above 1).
const char* depthwise_variant(const rt::ConvParams& p) {
  if (rt::kNativePath == rt::KernelPath::ArmDsp) {
    switch (rt::depthwise_dsp_variant(p)) {
      case rt::DepthwiseDspVariant::Rows3x3: return "depthwise_3x3";
      case rt::DepthwiseDspVariant::Rows: return "depthwise_rows";
      case rt::DepthwiseDspVariant::Column: return "depthwise_column";
      case rt::DepthwiseDspVariant::Window: return "depthwise_mult1";
      case rt::DepthwiseDspVariant::Multiplier: return "depthwise_multiplier";
      case rt::DepthwiseDspVariant::Portable: break;
    }
    return "depthwise_portable";
  }
  if (rt::kNativePath == rt::KernelPath::ArmMve) {
    // At most two output pixels per call (streaming steps), channel multiplier 1: the taps with
    // the offset added, no per-block folding (depthwise_few in depthwise_arm_mve.cpp).
    if (rt::depthwise_mve_few_pixels(p)) return "depthwise_few";
    // One line of pixels: each channel's inputs copied into a line, the taps in the lanes.
    if (rt::depthwise_mve_line(p)) return "depthwise_line";
    if (rt::depthwise_mve_column(p)) return "depthwise_column";  // run as a one-row image
    return p.out_c == p.in_c ? "depthwise_mult1" : "depthwise_multiplier";
  }
  return "depthwise_portable";
}

void print_conv(const char* tag, const rt::ConvParams& p) {
  printf("  %s in %ldx%ldx%ld out %ldx%ldx%ld k %ldx%ld s %ld,%ld d %ld,%ld pad %ld,%ld g %ld off %ld,%ld\n", tag,
         (long)p.in_h, (long)p.in_w, (long)p.in_c, (long)p.out_h, (long)p.out_w, (long)p.out_c, (long)p.kernel_h,
         (long)p.kernel_w, (long)p.stride_h, (long)p.stride_w, (long)p.dilation_h, (long)p.dilation_w, (long)p.pad_top,
         (long)p.pad_left, (long)p.groups, (long)p.input_offset, (long)p.output_offset);
}

// Helium's depthwise_few cases by kind, so that its run can require each: TFLite's rounding, per-tensor requantization,
// shifts above the vector forms (the scalar requantization), a tall k x 1 window (k >= 10) over one column, a last
// block of fewer than 16 channels, two pixels, a narrowed activation range.
struct FewKinds {
  int32_t tflite, per_tensor, scalar, tall, tail, two, narrow;
};
FewKinds few_kinds{};
void count_few_kinds(const rt::ConvParams& p) {
  few_kinds.tflite += p.requant.rounding == rt::kRoundTflite;
  few_kinds.per_tensor += p.requant.count == 1;
  bool scalar = false;
  for (int32_t i = 0; i < p.requant.count; ++i) scalar = scalar || p.requant.shift[i] > -2;
  few_kinds.scalar += scalar;
  few_kinds.tall += p.kernel_h >= 10 && p.kernel_w == 1 && p.in_w == 1;
  few_kinds.tail += p.out_c % 16 != 0;
  few_kinds.two += p.batch * p.out_h * p.out_w == 2;
  few_kinds.narrow += p.act_min != -128 || p.act_max != 127;
}

// Helium's one-line layers by kind (depthwise_arm_mve_line.cpp), among those whose
// requantization has a vector form (the others run the block code): each output stage
// (tinyq's rounding, TFLite's with shifts of 0 and without), a narrowed range, a last partial
// group of 8 pixels, lines in more than one call (over 112 outputs), padding, columns, a
// channel count not a multiple of 8 (the last block overlaps), dilation, two images.
struct LineKinds {
  int32_t single, tflite_zero, tflite, clamp, tail, tiles, padded, column, overlap, dilated, batch;
};
LineKinds line_kinds{};
void count_line_kinds(const rt::ConvParams& p) {
  const bool tflite = p.requant.rounding == rt::kRoundTflite;
  int32_t widest = p.requant.shift[0];
  for (int32_t i = 1; i < p.requant.count; ++i) widest = p.requant.shift[i] > widest ? p.requant.shift[i] : widest;
  if (widest > (tflite ? 0 : -2)) return;
  LineKinds& k = line_kinds;
  (tflite ? (widest == 0 ? k.tflite_zero : k.tflite) : k.single) += 1;
  const bool column = rt::depthwise_mve_column(p);
  const int32_t out = column ? p.out_h : p.out_w;
  k.clamp += p.act_min != -128 || p.act_max != 127;
  k.tail += out % 8 != 0;
  k.tiles += out > 112;
  const int32_t span = column ? (p.kernel_h - 1) * p.dilation_h + 1 : (p.kernel_w - 1) * p.dilation_w + 1;
  k.padded += (column ? p.pad_top : p.pad_left) > 0 || out + span - 1 > (column ? p.in_h : p.in_w);
  k.column += column;
  k.overlap += p.out_c % 8 != 0;
  k.dilated += (column ? p.dilation_h : p.dilation_w) > 1;
  k.batch += p.batch > 1;
}

// Runs one conv or depthwise layer through both paths and compares. `expect`: the variant the
// case must take (null: any).
// The DSP Rows3x3 variant's four-pixel passes fuse the requantization into their assembly for
// whole blocks of 16 channels, the full int8 range and narrow multipliers, in either rounding
// (a bound per block may still refuse): depthwise_3x3's run requires both kinds, and layers
// whose channels are a multiple of 8 but not of 16 (blocks of 8, stride 1 along the line). A
// line of at least 4 pixels, stride 1 along it (or 2 along rows), as quad_layout asks.
struct QuadKinds {
  int32_t single, tflite;
} quad_kinds;
int32_t quad_block8 = 0;  // layers of 8 or 24 channels: four-pixel passes over blocks of 8
void count_quad_kinds(const rt::ConvParams& p) {
  const bool line =
      (p.stride_w == 1 && p.out_w >= 4) || (p.stride_h == 1 && p.out_h >= 4) || (p.stride_w == 2 && p.out_w >= 4);
  if (p.out_c != p.in_c || p.out_c % 8 != 0 || !line) return;
  // Blocks of 8 channels: stride 1 along the line only (any rounding or range).
  const bool stride1 = (p.stride_w == 1 && p.out_w >= 4) || (p.stride_h == 1 && p.out_h >= 4);
  if (p.out_c % 16 != 0) quad_block8 += stride1 ? 1 : 0;
  if (p.out_c % 16 != 0 || p.act_min != -128 || p.act_max != 127) return;
  bool narrow = true;
  const int32_t widest = p.requant.rounding == rt::kRoundTflite ? -1 : -2;
  for (int32_t i = 0; i < p.requant.count; ++i) narrow = narrow && p.requant.shift[i] <= widest;
  if (!narrow) return;
  ++(p.requant.rounding == rt::kRoundTflite ? quad_kinds.tflite : quad_kinds.single);
}

// The DSP pointwise layers with 8 or 16 input channels fuse the requantization into their
// assembly (conv_arm_dsp_narrow.cpp) under the same conditions: conv_pointwise's run requires
// both roundings.
// The same kernel runs first layers (in_c not a multiple of 4, at most 28 values per patch)
// over gathered patches in 5 pairs (at most 9 values) or 14: conv_gather's run requires both
// sizes in both roundings.
// One-channel 3x3 first layers (dilation_w 1) take their own gather (three row words per
// window, conv_arm_dsp_narrow.cpp's rows3): counted apart as well.
QuadKinds narrow_kinds, first_small, first_large, first_rows3;

// Helium's depthwise layers of 8 channels (multiplier 1, stride 1 along rows, vector
// requantization) run two pixels per 16-lane block where the windows are inside the image in x
// (depthwise_arm_mve.cpp, DwPairs): depthwise_mult1's run on Helium requires such layers.
int32_t mve_pairs8 = 0;
// Helium's pointwise layers of at most 16 input channels with the vector requantization run
// tinyq_mve_pointwise_narrow (weight rows held per block of 4 channels): conv_pointwise's run on
// Helium requires both roundings.
// conv_general's layers of at most 16 values per patch (groups 1) run it over a row of patches.
// conv_general's layers of conv2d_s8_mve_pairs (groups 1, in_c a multiple of 16, K > 64, out_c
// a multiple of 4) with the vector requantization run tinyq_mve_conv_pairs.
QuadKinds mve_narrow, mve_narrow_general, mve_pairs, mve_pointwise_pairs;
// ... and of conv2d_s8_mve_pairs_tail (K > 16 not a multiple of 16: the last chunk's weights
// predicated), in conv_general's and conv_pointwise's runs.
QuadKinds mve_pairs_tail, mve_pointwise_pairs_tail;
// ... and pair layers with TFLite's rounding and a shift of 0 among negative ones (the masked
// fix-up; without a 0, tinyq_mve_conv_pairs_tflite2's): conv_general's run requires them.
QuadKinds mve_pairs_zero_shift;
void count_mve_narrow(const rt::ConvParams& p, QuadKinds& kinds, bool shape) {
  const bool tflite = p.requant.rounding == rt::kRoundTflite;
  bool vector = shape;
  for (int32_t i = 0; i < p.requant.count; ++i) vector = vector && p.requant.shift[i] <= (tflite ? 0 : -2);
  if (vector) ++(tflite ? kinds.tflite : kinds.single);
}
void count_mve_pairs8(const rt::ConvParams& p) {
  bool vector = true;
  const int32_t widest = p.requant.rounding == rt::kRoundTflite ? 0 : -2;
  for (int32_t i = 0; i < p.requant.count; ++i) vector = vector && p.requant.shift[i] <= widest;
  const int32_t inside = p.in_w - (p.kernel_w - 1) * p.dilation_w;  // windows inside in x (no padding)
  if (p.in_c == 8 && p.out_c == 8 && p.stride_w == 1 && vector && inside >= 2) ++mve_pairs8;
}
void count_narrow_kinds(const rt::ConvParams& p, bool shape, QuadKinds* kinds = &narrow_kinds) {
  if (!shape || p.act_min != -128 || p.act_max != 127) return;
  const bool tflite = p.requant.rounding == rt::kRoundTflite;
  for (int32_t i = 0; i < p.requant.count; ++i) {
    if (p.requant.shift[i] > (tflite ? -1 : -2) || (tflite && p.requant.multiplier[i] < 0)) return;
  }
  ++(tflite ? kinds->tflite : kinds->single);
}

// Helium's depthwise runs add two taps' 8-bit products in 16-bit lanes, exact while no weight
// is -128 (|sum| <= 32,512): now and then inputs of -128 and 127 only with weights of +-127
// (pair sums at that bound), or with one channel's weights all -128, whose pairs would reach
// 32,768 and which must send the layer to the C runs. depthwise_mult1's run on Helium requires
// both.
int32_t dw_extremes = 0, dw_min_weight = 0, dw_zero_shift = 0;
void draw_pair_extremes(int32_t n_in, int32_t n_w, int32_t out_c) {
  if (!chance(20)) return;
  for (int32_t i = 0; i < n_in; ++i) input[i] = static_cast<int8_t>(chance(50) ? -128 : 127);
  for (int32_t i = 0; i < n_w; ++i) weights[i] = static_cast<int8_t>(chance(50) ? -127 : 127);
  if (chance(50)) {
    for (int32_t i = uniform(0, out_c - 1); i < n_w; i += out_c) weights[i] = -128;  // [taps][out_c]
    ++dw_min_weight;
  } else {
    ++dw_extremes;
  }
}

void check_conv(rt::ConvParams& p, bool depthwise, bool with_bias, bool large_multiplier,
                const char* expect = nullptr) {
  const int32_t group_in_c = depthwise ? 1 : p.in_c / p.groups;
  const int32_t n_in = p.batch * p.in_h * p.in_w * p.in_c;
  const int32_t n_w = p.out_c * p.kernel_h * p.kernel_w * group_in_c;
  const int32_t n_out = p.batch * p.out_h * p.out_w * p.out_c;
  if (n_in > kMaxInput || n_w > kMaxWeights || n_out > kMaxOutput || p.out_c > kMaxChannels) return;
  fill(input, n_in, -128, 127);
  fill(weights, n_w, -127, 127);
  // Windows of more than 255 taps: now and then weights of one sign, whose sum over the
  // window leaves 16 bits (Helium's depthwise set-up sums them in 16-bit lanes in parts).
  if (p.kernel_h * p.kernel_w > 255 && chance(50)) fill(weights, n_w, 100, 127);
  if (depthwise) draw_pair_extremes(n_in, n_w, p.out_c);
  const int32_t k = p.kernel_h * p.kernel_w * group_in_c;
  for (int32_t o = 0; o < p.out_c; ++o) bias[o] = uniform(-(1 << 14), 1 << 14);
  p.requant = random_requant(p.out_c, large_multiplier && k <= 256);
  random_output_stage(p.input_offset, p.output_offset, p.act_min, p.act_max);
  // Helium's depthwise runs and conv pixel pairs have an output stage of their own for TFLite's
  // rounding with a shift of 0 beside negative ones (the fix-up masked per channel; without a
  // 0, no mask): now and then some channels'.
  bool zero_shift = false;
  if (p.requant.rounding == rt::kRoundTflite && chance(50)) {
    for (int32_t i = 0; i < p.requant.count; ++i)
      if (shift[i] <= 0 && chance(30)) shift[i] = 0;
    zero_shift = true;
    dw_zero_shift += depthwise ? 1 : 0;
  }
  if (expect != nullptr) {  // the output stage may not move a case to another variant
    const char* taken = depthwise ? depthwise_variant(p) : conv_variant(p);
    if (strcmp(taken, expect) != 0) {
      ++failures;
      printf("WRONG VARIANT case %d: %s, not %s\n", cases, taken, expect);
      print_conv(taken, p);
      return;
    }
    if (strcmp(expect, "depthwise_few") == 0) count_few_kinds(p);
    if (strcmp(expect, "depthwise_mult1") == 0) count_mve_pairs8(p);
    if (strcmp(expect, "depthwise_line") == 0) count_line_kinds(p);
    const bool narrow = p.kernel_h * p.kernel_w * p.in_c <= 16 && p.groups == 1;
    if (strcmp(expect, "conv_pointwise") == 0) count_mve_narrow(p, mve_narrow, narrow);
    if (strcmp(expect, "conv_general") == 0) count_mve_narrow(p, mve_narrow_general, narrow);
    const bool pairs_whole = rt::conv2d_s8_mve_pairs(p) && !rt::conv2d_s8_mve_pairs_tail(p);
    if (strcmp(expect, "conv_general") == 0) count_mve_narrow(p, mve_pairs, pairs_whole);
    if (strcmp(expect, "conv_pointwise") == 0) count_mve_narrow(p, mve_pointwise_pairs, pairs_whole);
    if (strcmp(expect, "conv_general") == 0) count_mve_narrow(p, mve_pairs_tail, rt::conv2d_s8_mve_pairs_tail(p));
    if (zero_shift && (strcmp(expect, "conv_general") == 0 || strcmp(expect, "conv_pointwise") == 0))
      count_mve_narrow(p, mve_pairs_zero_shift, rt::conv2d_s8_mve_pairs(p));
    if (strcmp(expect, "conv_pointwise") == 0 && p.in_c > 16)
      count_mve_narrow(p, mve_pointwise_pairs_tail, rt::conv2d_s8_mve_pairs_tail(p));
    if (strcmp(expect, "depthwise_3x3") == 0) count_quad_kinds(p);
    if (strcmp(expect, "conv_pointwise") == 0) count_narrow_kinds(p, p.in_c == 8 || p.in_c == 16);
    if (strcmp(expect, "conv_gather") == 0) {
      const int32_t values = p.kernel_h * p.kernel_w * p.in_c;  // k: group_in_c * taps already
      count_narrow_kinds(p, p.groups == 1 && values <= 28, values <= 9 ? &first_small : &first_large);
      count_narrow_kinds(p, p.groups == 1 && p.in_c == 1 && p.kernel_h == 3 && p.kernel_w == 3 && p.dilation_w == 1,
                         &first_rows3);
    }
  }
  memset(out_native, 0x55, static_cast<size_t>(n_out));
  memset(out_portable, 0x33, static_cast<size_t>(n_out));
  const int32_t* b = with_bias ? bias : nullptr;
  if (depthwise) {
    rt::depthwise_conv2d_s8(p, input, weights, b, out_native);
    rt::depthwise_conv2d_s8_portable(p, input, weights, b, out_portable);
    if (!report("depthwise", n_out) && failures <= 10) print_conv("depthwise", p);
  } else {
    const size_t native_bytes = rt::conv2d_s8_scratch_bytes(p, rt::kNativePath);
    const size_t portable_bytes = rt::conv2d_s8_scratch_bytes(p, rt::KernelPath::Portable);
    if (native_bytes > static_cast<size_t>(kMaxScratch) || portable_bytes > static_cast<size_t>(kMaxScratch)) return;
    memset(scratch, kGuard, native_bytes + kGuardBytes);
    rt::conv2d_s8(p, input, weights, b, out_native, scratch);
    rt::conv2d_s8_portable(p, input, weights, b, out_portable, scratch_portable);
    if (!report("conv", n_out) && failures <= 10) print_conv("conv", p);
    if (!guard_intact(native_bytes)) {
      ++failures;
      printf("SCRATCH OVERRUN case %d: twin says %lu bytes\n", cases, static_cast<unsigned long>(native_bytes));
    }
  }
}

// One spatial axis: kernel, stride, dilation, pads (sometimes beyond the kernel), output size.
void random_axis(int32_t in, bool one_by_one, int32_t& kernel, int32_t& stride, int32_t& dilation, int32_t& pad,
                 int32_t& out) {
  kernel = one_by_one ? 1 : uniform(1, 4);
  dilation = chance(25) ? uniform(2, 3) : 1;
  const int32_t extent = dilation * (kernel - 1) + 1;
  stride = chance(10) ? extent + uniform(1, 2) : uniform(1, 3);
  pad = chance(15) ? extent + uniform(0, 2) : uniform(0, extent - 1);
  int32_t pad_end = chance(15) ? extent + uniform(0, 2) : uniform(0, extent - 1);
  if (in + pad + pad_end < extent) pad_end = extent - in - pad;
  out = (in + pad + pad_end - extent) / stride + 1;
}

// How often random_conv_shape picks each special shape, in percent. The mixed run uses
// kMixed; a variant run raises the odds of the shapes its variant needs.
struct ShapeOdds {
  int32_t pointwise;       // conv: 1x1 kernel
  int32_t real_pointwise;  // of those: no padding at all
  int32_t multiplier;      // depthwise: channel multiplier above 1
  int32_t three_by_three;  // depthwise: the specialised 3x3 window, stride 1 or 2
  int32_t tall;            // depthwise: a k x 1 kernel (k = 3, 5, 10, 15), up to 128 channels
  int32_t column;          // of those: any k up to 32, any channel count, unpadded, often one pixel
  int32_t first3x3 = 0;    // conv: a one-channel 3x3 first layer (the DSP path's rows3 gather)
  int32_t eight = 0;       // depthwise: 8 channels, multiplier 1 (Helium's pixel pairs)
  int32_t wide = 0;        // conv: groups 1, 16 to 128 input channels in 16s, out_c a multiple of 4
  int32_t line = 0;        // depthwise: one line of pixels (a row or a column), spans up to 15, long lines
};
constexpr ShapeOdds kMixed{25, 60, 25, 40, 15, 0};

rt::ConvParams random_conv_shape(bool depthwise, const ShapeOdds& odds) {
  rt::ConvParams p{};
  p.batch = uniform(1, 2);
  const bool tiny_image = chance(10);
  p.in_h = tiny_image ? 1 : uniform(1, 10);
  p.in_w = tiny_image ? 1 : uniform(1, 10);
  const bool pointwise = !depthwise && chance(odds.pointwise);
  if (depthwise) {
    static const int32_t kChannels[] = {1, 2, 3, 4, 5, 7, 8, 12, 13, 16, 20, 33};
    p.in_c = kChannels[uniform(0, 11)];
    p.groups = p.in_c;
    p.out_c = p.in_c * (chance(100 - odds.multiplier) ? 1 : uniform(2, 3));
    if (chance(odds.eight)) p.in_c = p.out_c = p.groups = 8;
  } else {
    // 32, 48, 64: Helium's held-input blocks (K = 32 .. 64 in 16s).
    static const int32_t kChannels[] = {1, 2, 3, 4, 5, 7, 8, 12, 16, 17, 20, 32, 48, 64};
    p.groups = chance(20) ? uniform(2, 3) : 1;
    p.in_c = p.groups * kChannels[uniform(0, 13)];
    p.out_c = p.groups * kChannels[uniform(0, 11)];
    if (chance(odds.wide)) {  // Helium's pixel pairs where K > 64 (ResNet's 3x3, MobileNet's 1x1)
      p.groups = 1;
      p.in_c = 16 * uniform(1, 8);
      p.out_c = 4 * uniform(1, 10);
      // ... or where K is not a multiple of 16 (KWS's 10x4 stem, RGB stems, 40 channels)
      if (chance(35)) p.in_c = chance(50) ? uniform(1, 3) : 16 * uniform(1, 4) + uniform(1, 15);
    }
  }
  random_axis(p.in_h, pointwise, p.kernel_h, p.stride_h, p.dilation_h, p.pad_top, p.out_h);
  random_axis(p.in_w, pointwise, p.kernel_w, p.stride_w, p.dilation_w, p.pad_left, p.out_w);
  if (pointwise && chance(odds.real_pointwise)) {  // a real pointwise layer: no padding at all
    p.pad_top = p.pad_left = 0;
    p.out_h = (p.in_h - 1) / p.stride_h + 1;
    p.out_w = (p.in_w - 1) / p.stride_w + 1;
  }
  if (!depthwise && chance(odds.first3x3)) {  // rows at both edges, strides, a dilated row step
    p.groups = p.in_c = 1;
    p.kernel_h = p.kernel_w = 3;
    p.dilation_w = 1;
    p.dilation_h = chance(20) ? 2 : 1;
    p.stride_h = uniform(1, 2);
    p.stride_w = uniform(1, 2);
    p.pad_top = p.pad_left = uniform(0, 1);
    p.in_h = uniform(2 * p.dilation_h + 1, 12);
    p.in_w = uniform(3, 24);
    p.out_h = (p.in_h + 2 * p.pad_top - 2 * p.dilation_h - 1) / p.stride_h + 1;
    p.out_w = (p.in_w + 2 * p.pad_left - 3) / p.stride_w + 1;
  }
  if (depthwise && chance(odds.three_by_three)) {  // the specialised 3x3 windows, stride 1 or 2
    p.kernel_h = p.kernel_w = 3;
    p.dilation_h = p.dilation_w = 1;
    p.stride_h = p.stride_w = uniform(1, 2);
    if (chance(20)) p.stride_w = 3 - p.stride_h;  // stride 1 along one axis only
    p.pad_top = p.pad_left = uniform(0, 1);
    p.in_h = uniform(3, 12);
    p.in_w = uniform(3, 12);
    // The DSP path's four-pixel passes: blocks of 16 channels, lines longer than one strip
    // (16 pixels) along either axis.
    // (or of 8: 8 and 24 channels, MobileNet's first depthwise layer)
    if (p.out_c == p.in_c && chance(30))
      p.in_c = p.out_c = p.groups = chance(70) ? 16 * uniform(1, 3) : 8 * (2 * uniform(0, 1) + 1);
    if (chance(25)) {
      int32_t& line = chance(50) ? p.in_w : p.in_h;
      line = uniform(13, 40);
      (&line == &p.in_w ? p.in_h : p.in_w) = uniform(3, 6);
    }
    p.out_h = (p.in_h + 2 * p.pad_top - 3) / p.stride_h + 1;
    p.out_w = (p.in_w + 2 * p.pad_left - 3) / p.stride_w + 1;
  } else if (depthwise && chance(odds.tall)) {  // MLPerf's streaming wakeword: k x 1 over a narrow image
    static const int32_t kTall[] = {3, 5, 10, 15};
    static const int32_t kTallChannels[] = {4, 8, 20, 40, 64, 128};
    p.in_c = p.groups = kTallChannels[uniform(0, 5)];
    p.out_c = p.in_c;
    p.kernel_h = kTall[uniform(0, 3)];
    p.kernel_w = 1;
    p.dilation_h = p.dilation_w = 1;
    p.stride_h = chance(80) ? 1 : 2;
    p.stride_w = 1;
    p.in_w = uniform(1, 2);
    p.in_h = p.kernel_h + uniform(0, 20);
    p.pad_left = 0;
    p.pad_top = chance(70) ? 0 : uniform(1, p.kernel_h - 1);
    p.out_h = (p.in_h + 2 * p.pad_top - p.kernel_h) / p.stride_h + 1;
    p.out_w = p.in_w;
    if (odds.column > 0 && chance(odds.column)) {  // the DSP Column variant's windows: all inside
      static const int32_t kColumnChannels[] = {4, 5, 7, 8, 13, 20, 33, 40, 64, 127, 128};
      // 300: more taps than Helium's 16-bit weight sums take at once (fold_base flushes at 255).
      static const int32_t kColumnKernels[] = {2, 3, 4, 5, 7, 10, 15, 16, 31, 32, 300};
      p.in_c = p.groups = p.out_c = kColumnChannels[uniform(0, 10)];
      p.kernel_h = kColumnKernels[uniform(0, 10)];
      p.dilation_h = chance(15) ? 2 : 1;
      p.stride_h = uniform(1, 2);
      p.stride_w = uniform(1, 2);
      p.in_w = chance(75) ? 1 : uniform(2, 3);
      p.pad_top = 0;
      const int32_t extent = (p.kernel_h - 1) * p.dilation_h + 1;
      // One output pixel (a streaming step), two, or a window of them.
      p.in_h = extent + (chance(55) ? 0 : chance(30) ? 1 : uniform(2, 20));
      p.out_h = (p.in_h - extent) / p.stride_h + 1;
      p.out_w = (p.in_w - 1) / p.stride_w + 1;
    }
  }
  if (depthwise && chance(odds.line)) {  // Helium's one-line layers (depthwise_mve_line)
    static const int32_t kLineChannels[] = {8, 9, 12, 16, 20, 40, 64, 128, 160};
    p.in_c = p.groups = p.out_c = kLineChannels[uniform(0, 8)];
    const int32_t taps = uniform(1, 16);
    int32_t dilation = chance(20) ? uniform(2, 3) : 1;
    if ((taps - 1) * dilation + 1 > 16) dilation = 1;
    const int32_t span = (taps - 1) * dilation + 1;
    // Lines past one call's 112 outputs now and then (tiles), as long as the input buffer takes.
    int32_t length = chance(25) ? uniform(113, 300) : uniform(span, 40);
    const int32_t longest = kMaxInput / (p.batch * p.in_c);
    if (length > longest) length = longest;
    const int32_t before = chance(40) ? uniform(0, span - 1) : 0;
    const int32_t after = chance(40) ? uniform(0, span - 1) : 0;
    const int32_t out = length + before + after - span + 1;
    if (out < 1) return p;                      // no output: any variant drops it
    const int32_t stride = chance(10) ? 2 : 1;  // not a line layer: depthwise_column or mult1
    const bool column = chance(50);
    (column ? p.in_h : p.in_w) = length;
    (column ? p.in_w : p.in_h) = 1;
    (column ? p.kernel_h : p.kernel_w) = taps;
    (column ? p.kernel_w : p.kernel_h) = 1;
    (column ? p.dilation_h : p.dilation_w) = dilation;
    (column ? p.dilation_w : p.dilation_h) = 1;
    (column ? p.stride_h : p.stride_w) = stride;
    (column ? p.stride_w : p.stride_h) = 1;
    (column ? p.pad_top : p.pad_left) = before;
    (column ? p.pad_left : p.pad_top) = 0;
    (column ? p.out_h : p.out_w) = (out - 1) / stride + 1;
    (column ? p.out_w : p.out_h) = 1;
  }
  return p;
}

void random_conv(bool depthwise) {
  rt::ConvParams p = random_conv_shape(depthwise, kMixed);
  check_conv(p, depthwise, chance(85), chance(15));
}

// `wanted` cases of one conv or depthwise variant: shapes drawn with odds that favour it, kept
// only when the native path takes that variant for them. Fewer than `wanted` cases in the
// attempts allowed is a failure (a generator that no longer reaches its variant).
void variant_cases(const char* name, bool depthwise, const ShapeOdds& odds, int32_t wanted) {
  const int before = cases;
  const bool fuses = odds.column > 0 || strcmp(name, "depthwise_3x3") == 0 || strcmp(name, "conv_pointwise") == 0 ||
                     strcmp(name, "conv_gather") == 0;
  fusable_odds = fuses ? 70 : 0;
  for (int32_t attempt = 0; cases - before < wanted && attempt < 200 * wanted; ++attempt) {
    rt::ConvParams p = random_conv_shape(depthwise, odds);
    if (strcmp(depthwise ? depthwise_variant(p) : conv_variant(p), name) != 0) continue;
    check_conv(p, depthwise, chance(85), chance(15), name);
  }
  if (cases - before < wanted) {
    ++failures;
    printf("TOO FEW CASES: %d of %ld for %s\n", cases - before, static_cast<long>(wanted), name);
  }
}

int32_t zero_offset_dense_cases = 0;
void random_dense() {
  rt::DenseParams p{};
  static const int32_t kFeatures[] = {1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 33, 100, 257};
  p.rows = uniform(1, 3);
  p.in_features = kFeatures[uniform(0, 12)];
  p.out_features = kFeatures[uniform(0, 10)];
  fill(input, p.rows * p.in_features, -128, 127);
  fill(weights, p.in_features * p.out_features, -127, 127);
  for (int32_t o = 0; o < p.out_features; ++o) bias[o] = uniform(-(1 << 14), 1 << 14);
  p.requant = random_requant(p.out_features, chance(15) && p.in_features <= 256);
  random_output_stage(p.input_offset, p.output_offset, p.act_min, p.act_max);
  // Input offset 0: what generated code for Helium passes (the offset folded into the bias),
  // which takes four rows per pass without weight sums there.
  if (chance(30)) p.input_offset = 0;
  const int32_t n_out = p.rows * p.out_features;
  memset(out_native, 0x55, static_cast<size_t>(n_out));
  memset(out_portable, 0x33, static_cast<size_t>(n_out));
  const int32_t* b = chance(85) ? bias : nullptr;
  rt::dense_s8(p, input, weights, b, out_native);
  rt::dense_s8_portable(p, input, weights, b, out_portable);
  zero_offset_dense_cases += p.input_offset == 0 && p.out_features >= 4;
  report("dense", n_out);
}

// dense_wide (16x8: int16 or int8 input and output, int8 weights, int64 accumulator) against
// dense_wide_portable: on the DSP path SMLALD over a reordered row, on Helium VMLALDAVA
// (wide.cpp), an int8 row widened with its offset first; rows up to 1024 inputs, now and then
// wider (Helium reads an int16 row in place; the rest runs the portable loop), any
// out_features (pairs of outputs and an odd last one), inputs over the whole int16 range.
alignas(8) int16_t wide_input[3 * 1400];
int32_t wide16_cases = 0;                            // int16 inputs within the native forms' 1024
int32_t wide8_cases = 0;                             // int8 inputs (nonzero offsets) likewise: dense, conv
int32_t wide_high_shift_cases = 0;                   // requantization shifts in [-1, 15]
int32_t wide_lanes_cases = 0, wide_int64_cases = 0;  // bias + sums within int32, or not

// The data and output stage of a random 16x8 layer, drawn in the same order for dense and
// conv: n_in inputs over the int16 (or int8) range, n_w weights, `channels` biases and
// requantizations; output buffers cleared for n_out bytes. `in` is what the kernels read
// (wide_input, or for 8 bits its values as bytes in scratch: null when they do not fit).
struct WideCase {
  const void* in;
  const int32_t* bias;  // null now and then
};
WideCase random_wide_case(int32_t in_bits, int32_t out_bits, int32_t n_in, int32_t n_w, int32_t channels, int32_t n_out,
                          rt::Requant& requant, int32_t& input_offset, int32_t& output_offset, int32_t& act_min,
                          int32_t& act_max) {
  for (int32_t i = 0; i < n_in; ++i)
    wide_input[i] = static_cast<int16_t>(in_bits == 16 ? uniform(-32768, 32767) : uniform(-128, 127));
  fill(weights, n_w, -127, 127);
  for (int32_t o = 0; o < channels; ++o) bias[o] = uniform(-(1 << 20), 1 << 20);
  requant = random_requant(channels, false);
  requant.rounding = rt::kRoundSingle;  // the host refuses TFLite's rounding on 16x8 layers
  if (chance(40)) {                     // the shifts of int16 outputs, up to the 16x8 kernels' bound of 15
    for (int32_t i = 0; i < requant.count; ++i) shift[i] = uniform(-1, 15);
    ++wide_high_shift_cases;
  }
  random_output_stage(input_offset, output_offset, act_min, act_max);
  if (in_bits == 16) input_offset = 0;  // int16 tensors are symmetric

  if (out_bits == 16) {
    output_offset = 0;
    act_min = chance(70) ? -32768 : uniform(-32768, 0);
    act_max = chance(70) ? 32767 : uniform(0, 32767);
  }
  int8_t* bytes = reinterpret_cast<int8_t*>(scratch);
  if (in_bits == 8) {
    if (n_in > kMaxScratch) return {nullptr, nullptr};
    for (int32_t i = 0; i < n_in; ++i) bytes[i] = static_cast<int8_t>(wide_input[i]);
  }
  // Whether bias + every sum fits int32 (Helium's four-lane output stage, wide.cpp's
  // wide_sums_fit), counted so that both forms are known to run.
  const int64_t max_product = in_bits == 16 ? int64_t{32768} * 128 : int64_t{256} * 128;
  if ((int64_t{1} << 20) + int64_t{n_w / channels} * max_product < (int64_t{1} << 31)) {
    ++wide_lanes_cases;
  } else {
    ++wide_int64_cases;
  }
  memset(out_native, 0x55, static_cast<size_t>(n_out));
  memset(out_portable, 0x33, static_cast<size_t>(n_out));
  const void* in = in_bits == 16 ? static_cast<const void*>(wide_input) : static_cast<const void*>(bytes);
  return {in, chance(85) ? bias : nullptr};
}

void random_dense_wide() {
  rt::DenseParams p{};
  p.rows = uniform(1, 3);
  p.in_features = chance(10) ? uniform(1025, 1400) : (chance(50) ? uniform(1, 40) : uniform(41, 1024));
  p.out_features = uniform(1, 64);
  const int32_t in_bits = chance(75) ? 16 : 8, out_bits = chance(50) ? 16 : 8;
  const int32_t n_out = p.rows * p.out_features * (out_bits / 8);
  const WideCase c =
      random_wide_case(in_bits, out_bits, p.rows * p.in_features, p.in_features * p.out_features, p.out_features, n_out,
                       p.requant, p.input_offset, p.output_offset, p.act_min, p.act_max);
  if (c.in == nullptr) return;
  rt::dense_wide(p, c.in, in_bits, weights, c.bias, out_native, out_bits);
  rt::dense_wide_portable(p, c.in, in_bits, weights, c.bias, out_portable, out_bits);
  wide16_cases += in_bits == 16 && p.in_features <= 1024;
  wide8_cases += in_bits == 8 && p.in_features <= 1024;
  report("dense_wide", n_out);
}

// One random 16x8 conv or depthwise case of shape p with n_w weights: its data (random_wide_case),
// then `native` against `portable`. Returns its input's bits (0 when it did not run: too large
// for the buffers).
template <typename Kernel>
int32_t wide_conv_case(rt::ConvParams& p, int32_t n_w, const char* name, Kernel native, Kernel portable) {
  const int32_t n_in = p.batch * p.in_h * p.in_w * p.in_c;
  const int32_t in_bits = chance(75) ? 16 : 8, out_bits = chance(50) ? 16 : 8;
  const int32_t n_out = p.batch * p.out_h * p.out_w * p.out_c * (out_bits / 8);
  if (n_in > 3 * 1400 || n_w > kMaxWeights || n_out > kMaxOutput || p.out_c > kMaxChannels) return 0;
  const WideCase c = random_wide_case(in_bits, out_bits, n_in, n_w, p.out_c, n_out, p.requant, p.input_offset,
                                      p.output_offset, p.act_min, p.act_max);
  if (c.in == nullptr) return 0;
  native(p, c.in, in_bits, weights, c.bias, out_native, out_bits);
  portable(p, c.in, in_bits, weights, c.bias, out_portable, out_bits);
  if (!report(name, n_out) && failures <= 10) print_conv(name, p);
  return in_bits;
}

// conv2d_wide against conv2d_wide_portable: on the DSP and Helium paths a conv with groups 1
// and at most 1024 values per patch runs the native form over each pixel's gathered patch (an
// int8 input widened with its offset while gathered; wide.cpp).
// Shapes of random_conv_shape (padding, strides, dilation, groups), now and then a patch past
// 1024 values (the portable loop).
int32_t conv_wide16_cases = 0;
void random_conv_wide() {
  rt::ConvParams p = random_conv_shape(false, kMixed);
  if (chance(10)) {  // 3x3 over 120 channels: 1080 values per patch
    p.in_c = 120;
    p.groups = 1;
    p.kernel_h = p.kernel_w = 3;
    p.dilation_h = p.dilation_w = 1;
    p.stride_h = p.stride_w = 1;
    p.pad_top = p.pad_left = 1;
    p.in_h = uniform(1, 4);
    p.in_w = uniform(1, 4);
    p.out_c = uniform(1, 8);
    p.out_h = p.in_h;
    p.out_w = p.in_w;
  }
  const int32_t n_w = p.out_c * p.kernel_h * p.kernel_w * (p.in_c / p.groups);
  const int32_t in_bits = wide_conv_case(p, n_w, "conv_wide", rt::conv2d_wide, rt::conv2d_wide_portable);
  const bool native = p.groups == 1 && p.kernel_h * p.kernel_w * p.in_c <= 1024;
  conv_wide16_cases += in_bits == 16 && native;
  wide8_cases += in_bits == 8 && native;
}

// depthwise_conv2d_wide against depthwise_conv2d_wide_portable: on the DSP and Helium paths an
// int16 input with channel multiplier 1 sums each window in 32 bits per channel group (4 or 8
// channels, the rest in C). Shapes of random_conv_shape (padding, strides, dilation, channel
// multipliers, tall k x 1 windows).
int32_t depthwise_wide16_cases = 0;
void random_depthwise_wide() {
  rt::ConvParams p = random_conv_shape(true, kMixed);
  const int32_t in_bits = wide_conv_case(p, p.out_c * p.kernel_h * p.kernel_w, "depthwise_wide",
                                         rt::depthwise_conv2d_wide, rt::depthwise_conv2d_wide_portable);
  depthwise_wide16_cases += in_bits == 16 && p.out_c == p.in_c;
}

// dense_s8_packed (weights packed as generated code holds them, dense_s8_pack) against
// dense_s8_portable on the unpacked weights, and the portable reading of the packed form
// likewise. in_features a multiple of 4 up to MLPerf Tiny AD's 640 (now and then up to 1600,
// past the DSP loop's 1024-input stack buffer), any out_features; now and
// then weights at the packing bound (a row 4b with sum |w| = 65535, all inputs -128: sums of
// +-2^23 - 128) or beyond it (packing refused, as computed here).
alignas(8) int8_t packed_weights[640 * 160];  // also 1600 * 64
int32_t packed_bias[4 * (kMaxChannels + 3)];
int32_t fused_cases = 0;  // of those, with the requantization fused (kDensePackFused)
void random_dense_packed() {
  rt::DenseParams p{};
  p.rows = chance(80) ? 1 : uniform(2, 3);
  const bool wide = chance(10);  // beyond the DSP loop's stack buffer: inputs expanded in the loop
  p.in_features = 4 * (wide ? uniform(257, 400) : chance(20) ? uniform(1, 4) : uniform(1, 160));
  p.out_features = chance(20) ? uniform(1, 8) : uniform(1, wide ? 64 : 160);
  const int32_t n = p.in_features;
  fill(input, p.rows * n, -128, 127);
  fill(weights, n * p.out_features, -127, 127);
  const int32_t mode = n >= 520 && n <= 640 ? uniform(0, 9) : 0;  // 1: at the bound, 2: beyond it
  if (mode == 1 || mode == 2) {
    for (int32_t i = 0; i < p.rows * n; ++i) input[i] = -128;
    for (int32_t o = 0; o < p.out_features && o < 3; o += 2) {
      int32_t excess = 127 * n - (mode == 1 ? 65535 : 65536);
      for (int32_t i = 0; i < n; ++i) {
        const int32_t cut = excess < 126 ? excess : 126;
        excess -= cut;
        weights[o * n + i] = static_cast<int8_t>((o == 0 ? -1 : 1) * (127 - cut));
      }
    }
  }
  for (int32_t o = 0; o < p.out_features; ++o) bias[o] = uniform(-(1 << 14), 1 << 14);
  p.requant = random_requant(p.out_features, false);
  random_output_stage(p.input_offset, p.output_offset, p.act_min, p.act_max);
  if (chance(40)) {  // the full int8 range: the fused requantization's condition
    p.act_min = -128;
    p.act_max = 127;
  }
  const int32_t* b = chance(85) ? bias : nullptr;
  bool packable = true;
  for (int32_t o = 0; o < p.out_features; o += 2) {
    int32_t sum_abs = 0;
    for (int32_t i = 0; i < n; ++i) sum_abs += weights[o * n + i] < 0 ? -weights[o * n + i] : weights[o * n + i];
    if (((o & 3) == 0 || (o & 3) == 2) && 128 * sum_abs > (1 << 23) - 1) packable = false;
  }
  const int32_t kind = rt::dense_s8_pack(p, weights, b, packed_weights, packed_bias);
  const bool packed = kind != rt::kDensePackRefused;
  if (packed != packable || (mode == 1 && !packed) || (mode == 2 && packed)) {
    ++cases;
    ++failures;
    printf("PACK case %d: dense_s8_pack says %d, expected %d (in %ld, out %ld)\n", cases, packed, packable,
           static_cast<long>(n), static_cast<long>(p.out_features));
    return;
  }
  if (!packed) return;
  const int32_t n_out = p.rows * p.out_features;
  memset(out_native, 0x55, static_cast<size_t>(n_out));
  memset(out_portable, 0x33, static_cast<size_t>(n_out));
  if (kind == rt::kDensePackFused) {
    ++fused_cases;
    rt::dense_s8_packed_fused(p, input, packed_weights, packed_bias, out_native);
  } else {
    rt::dense_s8_packed(p, input, packed_weights, packed_bias, out_native);
  }
  rt::dense_s8_portable(p, input, weights, b, out_portable);
  if (!report("dense packed", n_out) && failures <= 10)
    printf("  in %ld out %ld rows %ld mode %ld\n", static_cast<long>(n), static_cast<long>(p.out_features),
           static_cast<long>(p.rows), static_cast<long>(mode));
  memset(out_native, 0x55, static_cast<size_t>(n_out));
  if (kind == rt::kDensePackFused)
    rt::dense_s8_packed_fused_portable(p, input, packed_weights, packed_bias, out_native);
  else
    rt::dense_s8_packed_portable(p, input, packed_weights, packed_bias, out_native);
  report("dense packed portable", n_out);
}

// The reference layers of bench/reference_layers (and their stride-2 3x3 depthwise sibling).
void reference_layers() {
  struct Layer {
    int32_t ih, iw, ic, oc, kh, kw, s, pt, pl, oh, ow;
    bool depthwise;
  };
  static const Layer kLayers[] = {
      {28, 28, 1, 16, 3, 3, 1, 1, 1, 28, 28, false},   // L1
      {14, 14, 16, 32, 3, 3, 1, 1, 1, 14, 14, false},  // L2
      {14, 14, 32, 32, 3, 3, 1, 1, 1, 14, 14, true},   // L3
      {14, 14, 32, 64, 1, 1, 1, 0, 0, 14, 14, false},  // L4
      {49, 10, 1, 64, 10, 4, 2, 4, 1, 25, 5, false},   // K1
      {25, 5, 64, 64, 3, 3, 1, 1, 1, 25, 5, true},     // K2
      {25, 5, 64, 64, 1, 1, 1, 0, 0, 25, 5, false},    // K3
      {32, 32, 16, 16, 3, 3, 1, 1, 1, 32, 32, false},  // R1
      {14, 14, 32, 32, 3, 3, 2, 1, 1, 7, 7, true},     // depthwise 3x3 stride 2
      // Helium depthwise: blocks of 16 channels, a last block of exactly 8 (its upper half
      // empty), 3 full blocks, more edge columns than it keeps folded bases for (edge_pixel).
      {5, 6, 24, 24, 3, 3, 1, 1, 1, 5, 6, true},
      {6, 7, 40, 40, 3, 3, 2, 1, 1, 3, 4, true},
      {5, 5, 48, 48, 3, 3, 1, 1, 1, 5, 5, true},
      {2, 2, 24, 24, 3, 3, 1, 3, 3, 6, 6, true},
      {4, 3, 17, 17, 5, 5, 1, 4, 4, 8, 7, true},
      // Channel multipliers above 1 (Helium: gathered inputs): 8 x 4, 3 x 2, 5 x 3 (a last
      // block of 15 = 8 + 7 output channels).
      {7, 7, 8, 32, 3, 3, 1, 1, 1, 7, 7, true},
      {6, 5, 3, 6, 3, 3, 2, 0, 1, 2, 3, true},
      {5, 4, 5, 15, 3, 3, 1, 1, 1, 5, 4, true},
  };
  for (const Layer& l : kLayers) {
    rt::ConvParams p{};
    p.batch = 1;
    p.in_h = l.ih;
    p.in_w = l.iw;
    p.in_c = l.ic;
    p.out_h = l.oh;
    p.out_w = l.ow;
    p.out_c = l.oc;
    p.kernel_h = l.kh;
    p.kernel_w = l.kw;
    p.stride_h = p.stride_w = l.s;
    p.dilation_h = p.dilation_w = 1;
    p.pad_top = l.pt;
    p.pad_left = l.pl;
    p.groups = l.depthwise ? l.ic : 1;
    check_conv(p, l.depthwise, true, false);
  }
  for (int32_t i = 0; i < 2; ++i) {  // L5, L6
    rt::DenseParams p{};
    p.rows = 1;
    p.in_features = i == 0 ? 1568 : 128;
    p.out_features = i == 0 ? 128 : 10;
    fill(input, p.in_features, -128, 127);
    fill(weights, p.in_features * p.out_features, -127, 127);
    p.requant = random_requant(p.out_features, false);
    random_output_stage(p.input_offset, p.output_offset, p.act_min, p.act_max);
    rt::dense_s8(p, input, weights, bias, out_native);
    rt::dense_s8_portable(p, input, weights, bias, out_portable);
    report("dense reference", p.out_features);
  }
}

// Each variant of the native path, the odds that reach it, and its number of cases. Only the
// DSP path gathers first layers and pairs depthwise kernel rows: no such variant on Helium.
struct Variant {
  const char* name;
  bool depthwise;
  ShapeOdds odds;
  int32_t cases;
};
constexpr Variant kVariants[] = {
    {"conv_pointwise", false, {100, 100, 0, 0, 0, 0, 0, 0, 30}, 1000},  // 1x1, no padding taps: channels are the patch
    {"conv_general", false, {10, 0, 0, 0, 0, 0, 0, 0, 30}, 1200},       // im2col: any window, stride, dilation, groups
#if defined(TINYQ_PATH_ARM_DSP)
    {"conv_gather", false, {10, 0, 0, 0, 0, 0, 10}, 1000},    // first layers: inside windows through a tap table
    {"depthwise_3x3", true, {0, 0, 0, 100, 0, 0}, 1000},      // row pairs, 3x3 windows unrolled (edges: a patch)
    {"depthwise_rows", true, {0, 0, 0, 0, 40, 0}, 1000},      // row pairs, any other window
    {"depthwise_column", true, {0, 0, 0, 0, 100, 80}, 1000},  // k x 1 inside the image, fused requantization
    {"depthwise_mult1", true, {0, 0, 0, 20, 0, 0}, 300},      // DSP: fewer than 4 channels, tap by tap
#else
    {"depthwise_mult1", true, {0, 0, 0, 20, 0, 0, 0, 20}, 1000},  // multiplier 1, any window
    // One or two output pixels per call, multiplier 1: tall windows over one column (the
    // streaming wakeword's steps), tiny images.
    {"depthwise_few", true, {0, 0, 0, 10, 60, 90}, 1000},
    // More pixels: k x 1 windows down one column, run as one row (multiplier 1 or above).
    {"depthwise_column", true, {0, 0, 20, 0, 100, 60}, 1000},
    // One line of pixels, multiplier 1, stride 1, a window spanning up to 15 inputs: the taps
    // in the lanes (rows and columns, padding, dilation, long lines).
    {"depthwise_line", true, {0, 0, 0, 0, 0, 0, 0, 0, 0, 100}, 1000},
#endif
    {"depthwise_multiplier", true, {0, 0, 100, 40, 0, 0}, 1000},  // multiplier above 1: gathered inputs
};

}  // namespace

int main() {
  const char* path = rt::kNativePath == rt::KernelPath::ArmDsp   ? "dsp"
                     : rt::kNativePath == rt::KernelPath::ArmMve ? "mve"
                                                                 : "portable";
  char name_buffer[64];
  const char* only = tinyq_test::requested_variant(name_buffer, sizeof(name_buffer));
  if (only == nullptr) {  // every kernel, shapes of all variants mixed
    printf("test_paths_conv: native path %s vs portable\n", path);
    reference_layers();
    for (int32_t i = 0; i < 700; ++i) random_conv(false);
    for (int32_t i = 0; i < 500; ++i) random_conv(true);
    for (int32_t i = 0; i < 400; ++i) random_dense();
    for (int32_t i = 0; i < 150; ++i) random_dense_packed();
    for (int32_t i = 0; i < 100; ++i) random_dense_wide();
    for (int32_t i = 0; i < 100; ++i) random_conv_wide();
    for (int32_t i = 0; i < 100; ++i) random_depthwise_wide();
  } else {
    printf("test_paths_conv: variant %s, native path %s vs portable\n", only, path);
    bool known = true;
    if (strcmp(only, "reference_layers") == 0) {
      reference_layers();
    } else if (strcmp(only, "dense") == 0) {  // one variant per path (DSP: offsets in 16 bits, always so here)
      for (int32_t i = 0; i < 400; ++i) random_dense();
      printf("dense: input offset 0 and at least 4 features: %ld cases\n", static_cast<long>(zero_offset_dense_cases));
      if (zero_offset_dense_cases < 50) {
        ++failures;
        printf("TOO FEW CASES with input offset 0\n");
      }
    } else if (strcmp(only, "dense_wide") == 0) {  // int16 inputs: DSP's SMLALD, Helium's VMLALDAVA form
      for (int32_t i = 0; i < 300; ++i) random_dense_wide();
      for (int32_t i = 0; i < 300; ++i) random_conv_wide();
      for (int32_t i = 0; i < 300; ++i) random_depthwise_wide();
      printf("dense_wide: native form cases: dense %ld, conv %ld, depthwise %ld; int8 inputs (dense, conv) %ld\n",
             static_cast<long>(wide16_cases), static_cast<long>(conv_wide16_cases),
             static_cast<long>(depthwise_wide16_cases), static_cast<long>(wide8_cases));
      printf("dense_wide: shifts in [-1, 15] %ld; sums within int32 %ld, beyond %ld\n",
             static_cast<long>(wide_high_shift_cases), static_cast<long>(wide_lanes_cases),
             static_cast<long>(wide_int64_cases));
      if (wide16_cases < 100 || conv_wide16_cases < 100 || depthwise_wide16_cases < 100 || wide8_cases < 60 ||
          wide_high_shift_cases < 100 || wide_lanes_cases < 100 || wide_int64_cases < 20) {
        ++failures;
        printf("TOO FEW CASES with an input the native form takes\n");
      }
    } else if (strcmp(only, "dense_packed") == 0) {  // packed at generation time (DSP; elsewhere portable)
      for (int32_t i = 0; i < 300; ++i) random_dense_packed();
      if (fused_cases < 30) {
        ++failures;
        printf("TOO FEW CASES: %ld with the requantization fused\n", static_cast<long>(fused_cases));
      }
    } else {
      known = false;
      for (const Variant& v : kVariants) {
        if (strcmp(only, v.name) != 0) continue;
        known = true;
        variant_cases(v.name, v.depthwise, v.odds, v.cases);
      }
      if (strcmp(only, "conv_pointwise") == 0 && rt::kNativePath == rt::KernelPath::ArmDsp) {
        printf("conv_pointwise: fusable 8- and 16-channel layers: single %ld, tflite %ld\n", (long)narrow_kinds.single,
               (long)narrow_kinds.tflite);
        if (narrow_kinds.single < 20 || narrow_kinds.tflite < 20) {
          ++failures;
          printf("TOO FEW CASES of fusable 8- and 16-channel pointwise layers\n");
        }
      }
      if (strcmp(only, "conv_gather") == 0) {
        printf(
            "conv_gather: fusable first layers: up to 9 values %ld / %ld, up to 28 %ld / %ld, 3x3x1 %ld / %ld "
            "(single / tflite)\n",
            (long)first_small.single, (long)first_small.tflite, (long)first_large.single, (long)first_large.tflite,
            (long)first_rows3.single, (long)first_rows3.tflite);
        if (first_small.single < 10 || first_small.tflite < 10 || first_large.single < 10 || first_large.tflite < 10 ||
            first_rows3.single < 10 || first_rows3.tflite < 10) {
          ++failures;
          printf("TOO FEW CASES of fusable first layers\n");
        }
      }
      if (strcmp(only, "depthwise_3x3") == 0 && rt::kNativePath == rt::KernelPath::ArmDsp) {
        printf("depthwise_3x3: fusable four-pixel passes: single %ld, tflite %ld; blocks of 8: %ld\n",
               (long)quad_kinds.single, (long)quad_kinds.tflite, (long)quad_block8);
        if (quad_kinds.single < 30 || quad_kinds.tflite < 30 || quad_block8 < 30) {
          ++failures;
          printf("TOO FEW CASES of fusable four-pixel passes for depthwise_3x3\n");
        }
      }
      if (strcmp(only, "conv_pointwise") == 0 && rt::kNativePath == rt::KernelPath::ArmMve) {
        printf(
            "conv_pointwise: narrow layers (at most 16 input channels), vector requantization: single %ld, "
            "tflite %ld\n",
            (long)mve_narrow.single, (long)mve_narrow.tflite);
        if (mve_narrow.single < 20 || mve_narrow.tflite < 20) {
          ++failures;
          printf("TOO FEW CASES of narrow Helium pointwise layers\n");
        }
        printf(
            "conv_pointwise: pixel pairs (in_c %% 16 == 0, in_c > 64), vector requantization: single %ld, tflite %ld\n",
            (long)mve_pointwise_pairs.single, (long)mve_pointwise_pairs.tflite);
        if (mve_pointwise_pairs.single < 20 || mve_pointwise_pairs.tflite < 20) {
          ++failures;
          printf("TOO FEW CASES of Helium pointwise pixel pairs\n");
        }
        printf("conv_pointwise: pixel pairs with a partial last chunk: single %ld, tflite %ld\n",
               (long)mve_pointwise_pairs_tail.single, (long)mve_pointwise_pairs_tail.tflite);
        if (mve_pointwise_pairs_tail.single < 20 || mve_pointwise_pairs_tail.tflite < 20) {
          ++failures;
          printf("TOO FEW CASES of Helium pointwise pixel pairs with a partial chunk\n");
        }
      }
      if (strcmp(only, "conv_general") == 0 && rt::kNativePath == rt::KernelPath::ArmMve) {
        printf("conv_general: at most 16 values per patch, vector requantization: single %ld, tflite %ld\n",
               (long)mve_narrow_general.single, (long)mve_narrow_general.tflite);
        if (mve_narrow_general.single < 20 || mve_narrow_general.tflite < 20) {
          ++failures;
          printf("TOO FEW CASES of narrow Helium conv layers\n");
        }
        printf("conv_general: pixel pairs (in_c %% 16 == 0, K > 64), vector requantization: single %ld, tflite %ld\n",
               (long)mve_pairs.single, (long)mve_pairs.tflite);
        if (mve_pairs.single < 20 || mve_pairs.tflite < 20) {
          ++failures;
          printf("TOO FEW CASES of Helium pixel pairs\n");
        }
        printf("conv_general: pixel pairs with a partial last chunk: single %ld, tflite %ld\n",
               (long)mve_pairs_tail.single, (long)mve_pairs_tail.tflite);
        if (mve_pairs_tail.single < 20 || mve_pairs_tail.tflite < 20) {
          ++failures;
          printf("TOO FEW CASES of Helium pixel pairs with a partial chunk\n");
        }
        printf("conv_general: pixel pairs, TFLite's rounding with shifts of 0: %ld\n",
               (long)mve_pairs_zero_shift.tflite);
        if (mve_pairs_zero_shift.tflite < 20) {
          ++failures;
          printf("TOO FEW CASES of Helium pixel pairs with TFLite shifts of 0\n");
        }
      }
      if (strcmp(only, "depthwise_mult1") == 0 && rt::kNativePath == rt::KernelPath::ArmMve) {
        printf("depthwise_mult1: 8-channel layers in pixel pairs: %ld\n", (long)mve_pairs8);
        if (mve_pairs8 < 30) {
          ++failures;
          printf("TOO FEW CASES of 8-channel pixel pairs\n");
        }
        printf("depthwise_mult1: extreme inputs and weights: %ld, a -128 weight: %ld, TFLite shifts of 0: %ld\n",
               (long)dw_extremes, (long)dw_min_weight, (long)dw_zero_shift);
        if (dw_extremes < 20 || dw_min_weight < 20 || dw_zero_shift < 20) {
          ++failures;
          printf("TOO FEW CASES of extreme depthwise tap pairs\n");
        }
      }
      if (strcmp(only, "depthwise_line") == 0) {
        const LineKinds& k = line_kinds;
        printf(
            "depthwise_line: single %ld, tflite with a 0 shift %ld, tflite %ld, clamp %ld, partial group %ld, tiles "
            "%ld, padded %ld, column %ld, overlapping block %ld, dilated %ld, batch %ld\n",
            (long)k.single, (long)k.tflite_zero, (long)k.tflite, (long)k.clamp, (long)k.tail, (long)k.tiles,
            (long)k.padded, (long)k.column, (long)k.overlap, (long)k.dilated, (long)k.batch);
        const int32_t least = 20;
        if (k.single < least || k.tflite_zero < least || k.tflite < least || k.clamp < least || k.tail < least ||
            k.tiles < least || k.padded < least || k.column < least || k.overlap < least || k.dilated < least ||
            k.batch < least) {
          ++failures;
          printf("TOO FEW CASES of some kind for depthwise_line\n");
        }
      }
      if (strcmp(only, "depthwise_few") == 0) {
        const FewKinds& k = few_kinds;
        printf(
            "depthwise_few: tflite %ld, per tensor %ld, scalar %ld, tall %ld, tail %ld, two pixels %ld, narrow %ld\n",
            (long)k.tflite, (long)k.per_tensor, (long)k.scalar, (long)k.tall, (long)k.tail, (long)k.two,
            (long)k.narrow);
        const int32_t least = 20;
        if (k.tflite < least || k.per_tensor < least || k.scalar < least || k.tall < least || k.tail < least ||
            k.two < least || k.narrow < least) {
          ++failures;
          printf("TOO FEW CASES of some kind for depthwise_few\n");
        }
      }
    }
    if (!known) {
      printf("test_paths_conv: no variant '%s' on the %s path\n", only, path);
      return 2;
    }
  }
  printf("test_paths_conv: %d cases, %d failing\n", cases, failures);
  return failures > 255 ? 255 : failures;
}
