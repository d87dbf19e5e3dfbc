// One representative shape per kernel variant (the ones tests/mcu checks one ctest each:
// mcu_variant_<variant>_<core>), each call alone between two tinyq_marker() calls so that the
// QEMU instruction-count plugin gives a per-variant instruction count
// (bench/kernel_variants/run.sh). A regression in one variant then shows in its own row.
//
// The variant is not a label typed into the table: it is derived from the shape and the
// build's path as the runtime dispatches (conv2d_s8_variant; the depthwise dispatch mirrored,
// as in tests/mcu/test_paths_conv.cpp), so a shape that stops taking its variant shows up
// under another name. Every output is also compared, outside the markers, with the portable
// path (exit status 1 on a difference): a count is only printed for correct results.
//
// Output, one line per row (tab-separated; run.sh parses it):
//   row <variant> <MACs, 0 for kernels without> <output bytes> <shape>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kernel_paths.hpp"
#include "marker.h"

namespace {

namespace rt = tinyq::rt;

uint32_t rng_state = 0x2468ACE1u;
uint32_t next_u32() {  // xorshift32: the same operands on every run and core
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}
void fill(int8_t* p, int32_t n, int32_t lo, int32_t hi) {
  for (int32_t i = 0; i < n; ++i) p[i] = static_cast<int8_t>(lo + static_cast<int32_t>(next_u32() % (hi - lo + 1)));
}

// m = multiplier * 2^(shift - 31), multiplier in [2^30, 2^31), as the host encodes it.
void encode(double real, int32_t& multiplier, int32_t& shift) {
  int e = 0;
  const double f = frexp(real, &e);
  int64_t m = static_cast<int64_t>(llround(f * 2147483648.0));
  if (m == (int64_t{1} << 31)) {
    m /= 2;
    ++e;
  }
  multiplier = static_cast<int32_t>(m);
  shift = e;
}

constexpr int32_t kMaxBytes = 28 * 28 * 16;
alignas(16) int8_t in_a[kMaxBytes];
alignas(16) int8_t in_b[kMaxBytes];
alignas(16) int8_t out_native[kMaxBytes];
alignas(16) int8_t out_portable[kMaxBytes];
alignas(16) int8_t weights[640 * 128];
alignas(16) int8_t packed_weights[640 * 128];
int32_t packed_bias[4 * 128];
alignas(16) int16_t scratch[4096];
alignas(16) int16_t scratch_portable[4096];
int32_t bias[128], multiplier[128], shift[128];
int32_t count_multiplier[64], count_shift[64];

int failures = 0;

// The rounding of the MAC layers, add and average pooling: tinyq's own, then TFLite's for the
// rows marked [tflite] (pre-quantized TFLite models, docs/TFLITE_INT8.md).
int32_t rounding = rt::kRoundSingle;

// The marker pair around the measured call; the caller prints the row after the second one.
void row(const char* variant, uint32_t macs, int32_t out_bytes, const char* shape) {
  if (memcmp(out_native, out_portable, static_cast<size_t>(out_bytes)) != 0) {
    printf("kernel_variants: %s (%s) differs from the portable path\n", variant, shape);
    ++failures;
  }
  printf("row\t%s\t%lu\t%ld\t%s\n", variant, static_cast<unsigned long>(macs), static_cast<long>(out_bytes), shape);
}

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

// depthwise_conv2d_s8_dsp's dispatch (depthwise_dsp_variant) and the Helium one's (few pixels,
// one line of pixels, a column run as a row, blocks; the names of tests/mcu/test_paths_conv.cpp).
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
    if (rt::depthwise_mve_few_pixels(p)) return "depthwise_few";
    if (rt::depthwise_mve_line(p)) return "depthwise_line";
    if (rt::depthwise_mve_column(p)) return "depthwise_column";
    return p.out_c == p.in_c ? "depthwise_mult1" : "depthwise_multiplier";
  }
  return "depthwise_portable";
}

// A conv or depthwise layer, square kernel and stride, SAME-style symmetric padding.
// Tall: a k x 1 kernel over an image one pixel wide, no padding and no bias, as the depthwise
// layers of MLPerf Tiny's streaming wakeword model.
void conv(bool depthwise, int32_t h, int32_t w, int32_t in_c, int32_t out_c, int32_t k, int32_t stride,
          const char* shape, bool tall = false) {
  rt::ConvParams p{};
  p.batch = 1;
  p.in_h = h;
  p.in_w = w;
  p.in_c = in_c;
  p.out_c = out_c;
  p.kernel_h = p.kernel_w = k;
  p.stride_h = p.stride_w = stride;
  p.dilation_h = p.dilation_w = 1;
  p.pad_top = p.pad_left = (k - 1) / 2;
  if (tall) {
    p.kernel_w = 1;
    p.pad_top = p.pad_left = 0;
  }
  p.out_h = (h + 2 * p.pad_top - p.kernel_h) / stride + 1;
  p.out_w = (w + 2 * p.pad_left - p.kernel_w) / stride + 1;
  p.groups = depthwise ? in_c : 1;
  p.input_offset = 3;  // nonzero zero points, as in real models
  p.output_offset = -5;
  p.act_min = -128;
  p.act_max = 127;
  for (int32_t o = 0; o < out_c; ++o) {
    bias[o] = tall ? 0 : static_cast<int32_t>(next_u32() % 4001) - 2000;
    encode(0.0008 + 0.0001 * (o % 7), multiplier[o], shift[o]);  // per channel
  }
  p.requant = rt::Requant{multiplier, shift, out_c, rounding};
  const int32_t group_in_c = depthwise ? 1 : in_c;
  fill(in_a, h * w * in_c, -128, 127);
  fill(weights, out_c * p.kernel_h * p.kernel_w * group_in_c, -127, 127);
  const int32_t out_bytes = p.out_h * p.out_w * out_c;
  tinyq_marker();
  if (depthwise) {
    rt::depthwise_conv2d_s8(p, in_a, weights, bias, out_native);
  } else {
    rt::conv2d_s8(p, in_a, weights, bias, out_native, scratch);
  }
  tinyq_marker();
  if (depthwise) {
    rt::depthwise_conv2d_s8_portable(p, in_a, weights, bias, out_portable);
  } else {
    rt::conv2d_s8_portable(p, in_a, weights, bias, out_portable, scratch_portable);
  }
  const uint32_t macs = static_cast<uint32_t>(p.out_h * p.out_w * out_c * p.kernel_h * p.kernel_w * group_in_c);
  row(depthwise ? depthwise_variant(p) : conv_variant(p), macs, out_bytes, shape);
}

void dense(int32_t in_features, int32_t out_features, const char* shape) {
  rt::DenseParams p{};
  p.rows = 1;
  p.in_features = in_features;
  p.out_features = out_features;
  p.input_offset = 3;
  p.output_offset = -5;
  p.act_min = -128;
  p.act_max = 127;
  for (int32_t o = 0; o < out_features; ++o) {
    bias[o] = static_cast<int32_t>(next_u32() % 4001) - 2000;
    encode(0.0004, multiplier[o], shift[o]);
  }
  p.requant = rt::Requant{multiplier, shift, out_features, rounding};
  fill(in_a, in_features, -128, 127);
  fill(weights, in_features * out_features, -127, 127);
  tinyq_marker();
  rt::dense_s8(p, in_a, weights, bias, out_native);
  tinyq_marker();
  rt::dense_s8_portable(p, in_a, weights, bias, out_portable);
  row("dense", static_cast<uint32_t>(in_features * out_features), out_features, shape);
}

// dense_s8_packed: the weights packed as generated code holds them on the DSP path
// (dense_s8_pack, outside the count); elsewhere generated code keeps dense_s8.
void dense_packed(int32_t in_features, int32_t out_features, const char* shape) {
  rt::DenseParams p{};
  p.rows = 1;
  p.in_features = in_features;
  p.out_features = out_features;
  p.input_offset = 3;
  p.output_offset = -5;
  p.act_min = -128;
  p.act_max = 127;
  for (int32_t o = 0; o < out_features; ++o) {
    bias[o] = static_cast<int32_t>(next_u32() % 4001) - 2000;
    encode(0.0004, multiplier[o], shift[o]);
  }
  p.requant = rt::Requant{multiplier, shift, out_features, rounding};
  fill(in_a, in_features, -128, 127);
  fill(weights, in_features * out_features, -127, 127);
  const int32_t kind = rt::dense_s8_pack(p, weights, bias, packed_weights, packed_bias);
  if (kind == rt::kDensePackRefused) {
    printf("kernel_variants: dense_s8_pack refused %s\n", shape);
    ++failures;
  }
  tinyq_marker();
  if (kind == rt::kDensePackFused)
    rt::dense_s8_packed_fused(p, in_a, packed_weights, packed_bias, out_native);
  else
    rt::dense_s8_packed(p, in_a, packed_weights, packed_bias, out_native);
  tinyq_marker();
  rt::dense_s8_portable(p, in_a, weights, bias, out_portable);
  row(rt::kNativePath == rt::KernelPath::ArmDsp ? "dense_packed" : "dense_packed_portable",
      static_cast<uint32_t>(in_features * out_features), out_features, shape);
}

rt::PoolParams pool(int32_t h, int32_t w, int32_t c, int32_t k, int32_t stride) {
  rt::PoolParams p{};
  p.batch = 1;
  p.in_h = h;
  p.in_w = w;
  p.channels = c;
  p.kernel_h = p.kernel_w = k;
  p.stride_h = p.stride_w = stride;
  p.out_h = (h - k) / stride + 1;
  p.out_w = (w - k) / stride + 1;
  p.act_min = -128;
  p.act_max = 127;
  fill(in_a, h * w * c, -128, 127);
  return p;
}

void max_pool(const char* shape) {
  const rt::PoolParams p = pool(28, 28, 16, 2, 2);
  tinyq_marker();
  rt::max_pool2d_s8(p, in_a, out_native);
  tinyq_marker();
  rt::max_pool2d_s8_portable(p, in_a, out_portable);
  row("max_pool", 0, p.out_h * p.out_w * p.channels, shape);
}

void avg_pool(const char* shape) {
  rt::AvgPoolParams ap{};
  ap.pool = pool(7, 7, 64, 7, 1);  // global
  // TFLite's average pool works on the stored bytes: no offsets.
  ap.input_offset = rounding == rt::kRoundTflite ? 0 : 3;
  ap.output_offset = rounding == rt::kRoundTflite ? 0 : -5;
  ap.rounding = rounding;
  count_multiplier[0] = count_shift[0] = 0;
  for (int32_t n = 1; n <= 49; ++n) encode(0.9 / n, count_multiplier[n], count_shift[n]);
  ap.count_multiplier = count_multiplier;
  ap.count_shift = count_shift;
  tinyq_marker();
  rt::avg_pool2d_s8(ap, in_a, out_native);
  tinyq_marker();
  rt::avg_pool2d_s8_portable(ap, in_a, out_portable);
  row("avg_pool", 0, 64, shape);
}

// Two same-shape tensors (no broadcasting).
rt::BroadcastShape flat(int32_t n) {
  rt::BroadcastShape s{};
  s.shape[0] = s.shape[1] = s.shape[2] = 1;
  s.shape[3] = n;
  s.a_strides[3] = s.b_strides[3] = 1;
  fill(in_a, n, -128, 127);
  fill(in_b, n, -128, 127);
  return s;
}

void add(const char* shape) {
  constexpr int32_t n = 14 * 14 * 32;
  const rt::BroadcastShape s = flat(n);
  rt::AddParams p{};
  // TFLite's scheme as tinyq's quantizer builds it: left shift 20, the larger input's
  // multiplier exactly 1/2, scales 0.05 and 0.03 into 0.07.
  p.a_offset = 3;
  p.b_offset = -7;
  p.output_offset = -5;
  p.left_shift = 20;
  encode(0.05 / 0.1, p.a_multiplier, p.a_shift);
  encode(0.03 / 0.1, p.b_multiplier, p.b_shift);
  encode(0.1 / (ldexp(1.0, 20) * 0.07), p.output_multiplier, p.output_shift);
  p.act_min = -128;
  p.act_max = 127;
  p.rounding = rounding;
  tinyq_marker();
  rt::add_s8(p, s, in_a, in_b, out_native);
  tinyq_marker();
  rt::add_s8_portable(p, s, in_a, in_b, out_portable);
  row("add", 0, n, shape);
}

void mul(const char* shape) {
  constexpr int32_t n = 14 * 14 * 32;
  const rt::BroadcastShape s = flat(n);
  rt::MulParams p{};
  p.a_offset = 3;
  p.b_offset = -7;
  p.output_offset = -5;
  encode(0.05 * 0.03 / 0.02, p.output_multiplier, p.output_shift);
  p.act_min = -128;
  p.act_max = 127;
  tinyq_marker();
  rt::mul_s8(p, s, in_a, in_b, out_native);
  tinyq_marker();
  rt::mul_s8_portable(p, s, in_a, in_b, out_portable);
  row("mul", 0, n, shape);
}

void lookup(const char* shape) {
  constexpr int32_t n = 14 * 14 * 32;
  int8_t table[256];
  fill(table, 256, -128, 127);
  fill(in_a, n, -128, 127);
  tinyq_marker();
  rt::lookup_s8(table, in_a, out_native, n);
  tinyq_marker();
  rt::lookup_s8_portable(table, in_a, out_portable, n);
  row(rt::kNativePath == rt::KernelPath::ArmMve ? "lookup" : "lookup_portable", 0, n, shape);
}

void concat(const char* shape) {
  // Two 14x14x16 tensors along channels, the second requantized (another scale).
  int32_t rows[2] = {16, 16}, offsets[2] = {3, -7}, multipliers[2] = {0, 0}, shifts[2] = {0, 0};
  encode(0.7, multipliers[1], shifts[1]);
  constexpr int32_t n = 14 * 14 * 16;
  fill(in_a, n, -128, 127);
  fill(in_b, n, -128, 127);
  const int8_t* inputs[2] = {in_a, in_b};
  rt::ConcatParams p{};
  p.inputs = 2;
  p.outer = 14 * 14;
  p.input_row = rows;
  p.input_offset = offsets;
  p.multiplier = multipliers;
  p.shift = shifts;
  p.output_offset = 3;
  tinyq_marker();
  rt::concat_s8(p, inputs, out_native);
  tinyq_marker();
  rt::concat_s8_portable(p, inputs, out_portable);
  row("concat", 0, 2 * n, shape);
}

// Softmax over rows of a classifier's logits: tinyq's table softmax, or TFLite's recipe.
void softmax(bool tflite, const char* shape) {
  constexpr int32_t rows = 8, depth = 12;
  int32_t table[256];
  for (int32_t d = 0; d < 256; ++d) {
    // Input scale 1/16: tinyq's round(2^16 exp(-s d)); TFLite's Q0.31 exp(-s d), 0 past -32.
    const double e = exp(-d / 16.0);
    table[d] =
        static_cast<int32_t>(tflite ? (d == 0 ? 2147483647.0 : floor(e * 2147483648.0)) : floor(e * 65536.0 + 0.5));
  }
  fill(in_a, rows * depth, -128, 127);
  tinyq_marker();
  if (tflite) {
    rt::softmax_s8_tflite(table, rows, depth, in_a, out_native);
  } else {
    rt::softmax_s8(table, rows, depth, in_a, out_native);
  }
  tinyq_marker();
  if (tflite) {
    rt::softmax_s8_tflite(table, rows, depth, in_a, out_portable);  // one path: compared with itself
  } else {
    rt::softmax_s8_portable(table, rows, depth, in_a, out_portable);
  }
  row(tflite ? "softmax_tflite" : "softmax", 0, rows * depth, shape);
}

// The 16x8 rows: `count` output channels' biases and requantization, `n_in` random int16
// inputs (in_wide), `n_w` weights; then the native call and the portable loop it replaces,
// each counted (two rows: `name` as the path runs it, then name_portable).
alignas(16) int16_t in_wide[1024];
rt::Requant wide_layer(int32_t count, int32_t n_in, int32_t n_w) {
  for (int32_t o = 0; o < count; ++o) {
    bias[o] = static_cast<int32_t>(next_u32() % 4001) - 2000;
    encode(0.000004, multiplier[o], shift[o]);
  }
  for (int32_t i = 0; i < n_in; ++i) in_wide[i] = static_cast<int16_t>(next_u32());
  fill(weights, n_w, -127, 127);
  return rt::Requant{multiplier, shift, count, rt::kRoundSingle};
}
template <typename Native, typename Portable>
void wide_rows(const char* name, const char* portable_name, uint32_t macs, int32_t out_bytes, const char* shape,
               Native native, Portable portable) {
  tinyq_marker();
  native(out_native);
  tinyq_marker();
  portable(out_portable);
  row(rt::kNativePath == rt::KernelPath::Portable ? portable_name : name, macs, out_bytes, shape);
  tinyq_marker();
  portable(out_native);
  tinyq_marker();
  row(portable_name, macs, out_bytes, shape);
}

// dense_wide with an int16 input (docs/QUANTIZATION.md's int16 layers): SMLALD over a
// reordered row on the DSP path, VMLALDAVA on Helium.
void dense_wide16(int32_t in_features, int32_t out_features, const char* shape) {
  rt::DenseParams p{};
  p.rows = 1;
  p.in_features = in_features;
  p.out_features = out_features;
  p.input_offset = 0;  // int16 tensors are symmetric
  p.output_offset = -5;
  p.act_min = -128;
  p.act_max = 127;
  p.requant = wide_layer(out_features, in_features, in_features * out_features);
  wide_rows(
      "dense_wide16", "dense_wide16_portable", static_cast<uint32_t>(in_features * out_features), out_features, shape,
      [&](int8_t* out) { rt::dense_wide(p, in_wide, 16, weights, bias, out, 8); },
      [&](int8_t* out) { rt::dense_wide_portable(p, in_wide, 16, weights, bias, out, 8); });
}

// conv2d_wide with an int16 input, k x k s1 (3x3: p1): SMLALD over each pixel's reordered patch
// on the DSP path, VMLALDAVA over each gathered patch on Helium.
void conv_wide16(int32_t h, int32_t w, int32_t in_c, int32_t out_c, int32_t k, const char* shape) {
  rt::ConvParams p{};
  p.batch = 1;
  p.in_h = p.out_h = h;
  p.in_w = p.out_w = w;
  p.in_c = in_c;
  p.out_c = out_c;
  p.kernel_h = p.kernel_w = k;
  p.stride_h = p.stride_w = 1;
  p.dilation_h = p.dilation_w = 1;
  p.pad_top = p.pad_left = k / 2;
  p.groups = 1;
  p.input_offset = 0;
  p.output_offset = -5;
  p.act_min = -128;
  p.act_max = 127;
  p.requant = wide_layer(out_c, h * w * in_c, out_c * k * k * in_c);
  wide_rows(
      "conv_wide16", "conv_wide16_portable", static_cast<uint32_t>(h * w * out_c * k * k * in_c), h * w * out_c, shape,
      [&](int8_t* out) { rt::conv2d_wide(p, in_wide, 16, weights, bias, out, 8); },
      [&](int8_t* out) { rt::conv2d_wide_portable(p, in_wide, 16, weights, bias, out, 8); });
}

// depthwise_conv2d_wide with an int16 input, 3x3 s1 p1: each window summed in 32 bits per
// group of 4 channels (SMLAxy) on the DSP path, 8 (VMULLB / VMULLT) on Helium.
void depthwise_wide16(int32_t h, int32_t w, int32_t c, const char* shape) {
  rt::ConvParams p{};
  p.batch = 1;
  p.in_h = p.out_h = h;
  p.in_w = p.out_w = w;
  p.in_c = p.out_c = p.groups = c;
  p.kernel_h = p.kernel_w = 3;
  p.stride_h = p.stride_w = 1;
  p.dilation_h = p.dilation_w = 1;
  p.pad_top = p.pad_left = 1;
  p.input_offset = 0;
  p.output_offset = -5;
  p.act_min = -128;
  p.act_max = 127;
  p.requant = wide_layer(c, h * w * c, c * 9);
  wide_rows(
      "depthwise_wide16", "depthwise_wide16_portable", static_cast<uint32_t>(h * w * c * 9), h * w * c, shape,
      [&](int8_t* out) { rt::depthwise_conv2d_wide(p, in_wide, 16, weights, bias, out, 8); },
      [&](int8_t* out) { rt::depthwise_conv2d_wide_portable(p, in_wide, 16, weights, bias, out, 8); });
}

}  // namespace

int main() {
  // Two markers in a row: the marker overhead, which run.sh subtracts from every row.
  tinyq_marker();
  tinyq_marker();
  conv(false, 14, 14, 32, 64, 1, 1, "1x1, 14x14x32 -> 64");
  conv(false, 6, 6, 128, 128, 1, 1, "1x1, 6x6x128 -> 128 (VWW)");
  conv(false, 14, 14, 16, 32, 3, 1, "3x3 s1 p1, 14x14x16 -> 32");
  conv(false, 28, 28, 3, 16, 3, 1, "3x3 s1 p1, 28x28x3 -> 16 (first layer)");
  conv(true, 14, 14, 32, 32, 3, 1, "depthwise 3x3 s1 p1, 14x14x32");
  conv(true, 14, 14, 32, 32, 5, 1, "depthwise 5x5 s1 p2, 14x14x32");
  conv(true, 14, 14, 16, 32, 3, 1, "depthwise 3x3 s1 p1, 14x14x16 x2");
  conv(true, 14, 14, 32, 32, 7, 1, "depthwise 7x7 s1 p3, 14x14x32");
  conv(true, 25, 5, 64, 64, 3, 1, "depthwise 3x3 s1 p1, 25x5x64 (KWS)");
  conv(true, 28, 1, 128, 128, 5, 1, "depthwise 5x1 valid, 28x1x128", true);
  conv(true, 24, 1, 128, 128, 10, 1, "depthwise 10x1 valid, 24x1x128", true);
  conv(true, 15, 1, 128, 128, 15, 1, "depthwise 15x1 valid, 15x1x128", true);
  conv(true, 24, 24, 16, 16, 3, 2, "depthwise 3x3 s2 p1, 24x24x16 -> 12x12");
  dense(1024, 64, "1024 -> 64");
  dense_packed(640, 128, "640 -> 128 (AD), packed");
  dense_wide16(1024, 64, "1024 -> 64, int16 input");
  conv_wide16(8, 8, 16, 32, 3, "3x3 s1 p1, 8x8x16 -> 32, int16 input");
  conv_wide16(8, 8, 16, 48, 1, "1x1, 8x8x16 -> 48, int16 input");
  depthwise_wide16(8, 8, 16, "depthwise 3x3 s1 p1, 8x8x16, int16 input");
  max_pool("2x2 s2, 28x28x16");
  avg_pool("7x7 global, 7x7x64");
  add("14x14x32 + 14x14x32");
  mul("14x14x32 * 14x14x32");
  lookup("6272 bytes");
  concat("14x14x16 ++ 14x14x16 (one requantized)");
  softmax(false, "8 rows of 12");
  // The same layers with TFLite's arithmetic (kRoundTflite), as pre-quantized models run them.
  rounding = rt::kRoundTflite;
  conv(false, 14, 14, 32, 64, 1, 1, "1x1, 14x14x32 -> 64 [tflite]");
  conv(false, 14, 14, 16, 32, 3, 1, "3x3 s1 p1, 14x14x16 -> 32 [tflite]");
  conv(false, 28, 28, 3, 16, 3, 1, "3x3 first layer, 28x28x3 -> 16 [tflite]");
  conv(true, 14, 14, 32, 32, 3, 1, "depthwise 3x3 s1 p1, 14x14x32 [tflite]");
  conv(true, 14, 14, 32, 32, 5, 1, "depthwise 5x5 s1 p2, 14x14x32 [tflite]");
  conv(true, 24, 1, 128, 128, 10, 1, "depthwise 10x1 valid, 24x1x128 [tflite]", true);
  conv(true, 24, 24, 16, 16, 3, 2, "depthwise 3x3 s2 p1, 24x24x16 -> 12x12 [tflite]");
  dense(1024, 64, "1024 -> 64 [tflite]");
  dense_packed(640, 128, "640 -> 128 (AD), packed [tflite]");
  avg_pool("7x7 global, 7x7x64 [tflite]");
  add("14x14x32 + 14x14x32 [tflite]");
  softmax(true, "8 rows of 12 [tflite]");
  return failures;
}
