// Firmware test: the native paths (Arm DSP on M4/M7, Helium on M55) of pooling, add, mul,
// lookup, concat, softmax and recurrent layers give the same bytes as the portable path (pad and resize, which
// have one path, the same bytes as plain reference loops), over randomized shapes and
// parameters: 1x1 images, odd channel counts, padding larger than the kernel, windows past the
// input (n == 0), saturation, narrow activation ranges, numpy broadcasting, count_include_pad,
// NNoM truncation, Sub (negative multiplier), out-of-the-ordinary shifts that make the fast
// paths hand over to the portable one. Returns the number of failing cases (0: all equal).
//
// On a host build (or TINYQ_FORCE_PORTABLE) native == portable by construction; the test
// still runs and checks nothing but that every case executes.
//
// Started as mcu_paths_misc_<core>.variant-<name>.elf (variant_select.hpp), the firmware checks
// one kernel's native path only (max_pool, avg_pool, add, mul, concat, recurrent on both; lookup on Helium), so
// that a failing ctest names it.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kernel_paths.hpp"
#include "tinyq/kernels.hpp"
#include "variant_select.hpp"

namespace rt = tinyq::rt;

namespace {

// Cases per kernel (a few hundred elements each) and the seed: -D to run a longer or another
// sequence by hand; ctest runs the default one.
#ifndef TINYQ_TEST_CASES
#define TINYQ_TEST_CASES 300
#endif
#ifndef TINYQ_TEST_SEED
#define TINYQ_TEST_SEED 0x12345678u
#endif
constexpr int kCases = TINYQ_TEST_CASES;

uint32_t rng_state = TINYQ_TEST_SEED;
uint32_t next_u32() {  // xorshift32: deterministic, so a failing case can be replayed
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}
int32_t uniform(int32_t lo, int32_t hi) {  // inclusive
  return lo + static_cast<int32_t>(next_u32() % static_cast<uint32_t>(hi - lo + 1));
}
bool chance(int32_t percent) { return uniform(0, 99) < percent; }

// A real multiplier as tinyq's host encodes it: M in [2^30, 2^31), value M * 2^(shift - 31).
void encode(double real, int32_t& multiplier, int32_t& shift) {
  if (real == 0.0) {
    multiplier = 0;
    shift = 0;
    return;
  }
  int e = 0;
  const double f = frexp(real, &e);  // real = f * 2^e, |f| in [0.5, 1)
  int64_t m = static_cast<int64_t>(llround(f * 2147483648.0));
  if (m == (int64_t{1} << 31)) {
    m /= 2;
    ++e;
  }
  multiplier = static_cast<int32_t>(m);
  shift = e;
}
double log_uniform(double lo, double hi) {  // lo * (hi/lo)^u
  return lo * pow(hi / lo, static_cast<double>(next_u32()) / 4294967296.0);
}

// Inputs: uniform bytes, or mostly extremes (saturation), or a narrow band.
void fill(int8_t* data, int32_t count) {
  const int32_t style = uniform(0, 3);
  for (int32_t i = 0; i < count; ++i) {
    int32_t v = uniform(-128, 127);
    if (style == 1) v = chance(50) ? -128 : 127;
    if (style == 2) v = uniform(-3, 3);
    data[i] = static_cast<int8_t>(v);
  }
}

void act_range(int32_t& lo, int32_t& hi) {
  lo = -128;
  hi = 127;
  if (chance(40)) {
    lo = uniform(-128, 100);
    hi = uniform(lo, 127);
  }
}

int failures = 0;
int cases_run = 0;

void compare(const char* kernel, int case_index, const int8_t* native, const int8_t* portable, int32_t count) {
  ++cases_run;
  for (int32_t i = 0; i < count; ++i) {
    if (native[i] != portable[i]) {
      printf("FAIL %s case %d: byte %ld of %ld: native %d, portable %d\n", kernel, case_index, static_cast<long>(i),
             static_cast<long>(count), native[i], portable[i]);
      ++failures;
      return;
    }
  }
}

int8_t input_a[8192];
int8_t input_b[8192];
int8_t out_native[8192];
int8_t out_portable[8192];
int32_t count_multiplier[1024];
int32_t count_shift[1024];

// One pooling axis: kernel, stride, pads (sometimes larger than the kernel) and the output
// size in floor mode, ceil mode, or with one more window that starts past everything.
int32_t random_axis(int32_t in, int32_t& kernel, int32_t& stride, int32_t& pad_begin, int32_t& pad_end) {
  kernel = uniform(1, 4);
  stride = uniform(1, 3);
  const bool big = chance(25);
  pad_begin = big ? uniform(0, kernel + 2) : uniform(0, kernel - 1);
  pad_end = big ? uniform(0, kernel + 2) : uniform(0, kernel - 1);
  if (in + pad_begin + pad_end < kernel) pad_end = kernel - in - pad_begin;
  const int32_t span = in + pad_begin + pad_end - kernel;
  switch (uniform(0, 4)) {
    case 0: return (span + stride - 1) / stride + 1;
    case 1: return (span + stride - 1) / stride + 2;
    default: return span / stride + 1;
  }
}

rt::PoolParams random_pool() {
  rt::PoolParams p{};
  p.batch = uniform(1, 2);
  p.in_h = chance(15) ? 1 : uniform(1, 9);
  p.in_w = chance(15) ? 1 : uniform(1, 9);
  static const int32_t channel_choices[] = {1, 2, 3, 4, 5, 7, 8, 12, 15, 16, 17, 19, 24, 31, 32, 33, 48};
  p.channels = channel_choices[uniform(0, sizeof(channel_choices) / sizeof(channel_choices[0]) - 1)];
  p.out_h = random_axis(p.in_h, p.kernel_h, p.stride_h, p.pad_top, p.pad_bottom);
  p.out_w = random_axis(p.in_w, p.kernel_w, p.stride_w, p.pad_left, p.pad_right);
  if (chance(10)) {  // global pooling, sometimes over more taps than a 16-bit lane sums (255)
    p.in_h = uniform(1, 18);
    p.in_w = uniform(1, 18);
    p.channels = uniform(1, 20);
    p.kernel_h = p.in_h;
    p.kernel_w = p.in_w;
    p.stride_h = p.stride_w = 1;
    p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 0;
    p.out_h = p.out_w = 1;
  }
  if (chance(4)) {  // a window row wider than 255 taps: the DSP path sums it in 32 bits
    p.in_h = p.kernel_h = uniform(1, 2);
    p.in_w = p.kernel_w = uniform(256, 300);
    p.channels = uniform(1, 9);
    p.stride_h = p.stride_w = 1;
    p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 0;
    p.out_h = p.out_w = 1;
  }
  act_range(p.act_min, p.act_max);
  return p;
}

int32_t pool_input_size(const rt::PoolParams& p) { return p.batch * p.in_h * p.in_w * p.channels; }
int32_t pool_output_size(const rt::PoolParams& p) { return p.batch * p.out_h * p.out_w * p.channels; }
bool fits(int32_t in, int32_t out) { return in <= 8192 && out <= 8192; }

void test_max_pool() {
  for (int i = 0; i < kCases; ++i) {
    const rt::PoolParams p = random_pool();
    if (!fits(pool_input_size(p), pool_output_size(p))) continue;
    fill(input_a, pool_input_size(p));
    rt::max_pool2d_s8(p, input_a, out_native);
    rt::max_pool2d_s8_portable(p, input_a, out_portable);
    compare("max_pool2d_s8", i, out_native, out_portable, pool_output_size(p));
  }
}

void test_avg_pool() {
  for (int i = 0; i < kCases; ++i) {
    rt::AvgPoolParams ap{};
    ap.pool = random_pool();
    const rt::PoolParams& p = ap.pool;
    if (!fits(pool_input_size(p), pool_output_size(p))) continue;
    ap.count_include_pad = uniform(0, 1);
    ap.truncate = chance(20) ? 1 : 0;
    ap.input_offset = ap.truncate ? 0 : uniform(-127, 128);
    ap.output_offset = ap.truncate ? 0 : uniform(-128, 127);
    // M[n] = s_in / (s_out * n); a large ratio saturates, a tiny one rounds to 0.
    const double ratio = chance(20) ? log_uniform(1.0 / 512, 512.0) : log_uniform(0.25, 4.0);
    const int32_t taps = p.kernel_h * p.kernel_w;
    if (taps >= 1024) continue;
    count_multiplier[0] = count_shift[0] = 0;
    for (int32_t n = 1; n <= taps; ++n) encode(ratio / n, count_multiplier[n], count_shift[n]);
    ap.count_multiplier = count_multiplier;
    ap.count_shift = count_shift;
    if (!ap.truncate && chance(25)) {  // TFLite's rounded division, or its MEAN (1 / n in entry 0)
      ap.rounding = rt::kRoundTflite;
      if (chance(50)) {
        ap.count_multiplier = ap.count_shift = nullptr;
      } else {
        encode(ratio / taps, count_multiplier[0], count_shift[0]);
      }
    }
    fill(input_a, pool_input_size(p));
    rt::avg_pool2d_s8(ap, input_a, out_native);
    rt::avg_pool2d_s8_portable(ap, input_a, out_portable);
    compare("avg_pool2d_s8", i, out_native, out_portable, pool_output_size(p));
  }
}

// A broadcast pair: every axis of the output has size d; each input has d or 1 there.
int32_t random_broadcast(rt::BroadcastShape& s, int32_t& a_size, int32_t& b_size) {
  int32_t total = 1;
  int32_t a_stride = 1, b_stride = 1;
  for (int axis = 3; axis >= 0; --axis) {
    const int32_t d = chance(30) ? 1 : uniform(1, axis == 3 ? 37 : 6);
    s.shape[axis] = d;
    const bool a_full = d == 1 || chance(80);
    const bool b_full = d == 1 || !a_full || chance(60);
    s.a_strides[axis] = a_full && d > 1 ? a_stride : 0;
    s.b_strides[axis] = b_full && d > 1 ? b_stride : 0;
    if (a_full) a_stride *= d;
    if (b_full) b_stride *= d;
    total *= d;
  }
  if (chance(50)) {  // b broadcast to a, a to b: swap roles half of the time
    for (int axis = 0; axis < 4; ++axis) {
      const int32_t t = s.a_strides[axis];
      s.a_strides[axis] = s.b_strides[axis];
      s.b_strides[axis] = t;
    }
    const int32_t t = a_stride;
    a_stride = b_stride;
    b_stride = t;
  }
  a_size = a_stride;
  b_size = b_stride;
  return total;
}

int32_t add_tflite_table_cases = 0;  // TFLite's rounding with the parameters of its table form
void test_add() {
  for (int i = 0; i < kCases; ++i) {
    rt::BroadcastShape s{};
    int32_t a_size = 0, b_size = 0;
    const int32_t total = random_broadcast(s, a_size, b_size);
    if (total > 8192 || a_size > 8192 || b_size > 8192) continue;
    rt::AddParams p{};
    p.a_offset = uniform(-127, 128);
    p.b_offset = uniform(-127, 128);
    p.output_offset = uniform(-128, 127);
    // TFLite's scheme as tinyq's quantizer builds it; now and then another headroom, or
    // scales far apart (tiny input multipliers), or a tiny output scale (saturation).
    p.left_shift = chance(15) ? uniform(0, 22) : 20;
    const double s_a = log_uniform(1e-3, 1.0);
    const double s_b = chance(20) ? s_a * log_uniform(1e-8, 1e8) : s_a * log_uniform(0.1, 10.0);
    const double s_out = chance(20) ? (s_a + s_b) * log_uniform(1e-4, 1e3) : (s_a + s_b) * log_uniform(0.3, 3.0);
    // Normally the larger input's multiplier is exactly 1/2 (a pure shift, which the DSP
    // path special-cases); a wider common scale makes both multipliers general.
    const double twice_max = 2.0 * (s_a > s_b ? s_a : s_b) * (chance(35) ? log_uniform(1.0, 4.0) : 1.0);
    encode(s_a / twice_max, p.a_multiplier, p.a_shift);
    encode((chance(30) ? -1.0 : 1.0) * s_b / twice_max, p.b_multiplier, p.b_shift);  // negative: Sub
    encode(twice_max / (ldexp(1.0, p.left_shift) * s_out), p.output_multiplier, p.output_shift);
    if (p.a_shift < -31 || p.b_shift < -31 || p.output_shift < -31 || p.output_shift > 30) continue;  // host rejects
    act_range(p.act_min, p.act_max);
    if (p.b_multiplier >= 0 && chance(25)) {  // TFLite's add, or its SUB (b's term subtracted)
      p.rounding = rt::kRoundTflite;
      p.subtract = chance(30) ? 1 : 0;
      if (chance(40)) {  // little headroom and an output shift of -1 .. -4: ties to round, often
        p.left_shift = uniform(1, 3);
        encode(log_uniform(0.04, 0.49), p.output_multiplier, p.output_shift);
      }
      // The DSP table form: one multiplier exactly 1/2 (TFLite's own), the output shift <= -1.
      const bool half = (p.a_multiplier == 1 << 30 && p.a_shift == 0) || (p.b_multiplier == 1 << 30 && p.b_shift == 0);
      if (half && p.output_shift <= -1 && p.left_shift >= 1) ++add_tflite_table_cases;
    }
    fill(input_a, a_size);
    fill(input_b, b_size);
    rt::add_s8(p, s, input_a, input_b, out_native);
    rt::add_s8_portable(p, s, input_a, input_b, out_portable);
    compare("add_s8", i, out_native, out_portable, total);
  }
}

void test_mul() {
  for (int i = 0; i < kCases; ++i) {
    rt::BroadcastShape s{};
    int32_t a_size = 0, b_size = 0;
    const int32_t total = random_broadcast(s, a_size, b_size);
    if (total > 8192 || a_size > 8192 || b_size > 8192) continue;
    rt::MulParams p{};
    p.a_offset = uniform(-127, 128);
    p.b_offset = uniform(-127, 128);
    p.output_offset = uniform(-128, 127);
    // s_a * s_b / s_out: usually small; large ones saturate and need the pre-shift.
    encode(chance(30) ? log_uniform(1e-3, 64.0) : log_uniform(1e-6, 1e-1), p.output_multiplier, p.output_shift);
    act_range(p.act_min, p.act_max);
    fill(input_a, a_size);
    fill(input_b, b_size);
    rt::mul_s8(p, s, input_a, input_b, out_native);
    rt::mul_s8_portable(p, s, input_a, input_b, out_portable);
    compare("mul_s8", i, out_native, out_portable, total);
  }
}

void test_lookup() {
  int8_t table[256];
  for (int i = 0; i < kCases / 3; ++i) {
    fill(table, 256);
    const int32_t count = chance(20) ? uniform(0, 5) : uniform(1, 4000);
    fill(input_a, count);
    rt::lookup_s8(table, input_a, out_native, count);
    rt::lookup_s8_portable(table, input_a, out_portable, count);
    compare("lookup_s8", i, out_native, out_portable, count);
  }
}

void test_concat() {
  for (int i = 0; i < kCases / 3; ++i) {
    rt::ConcatParams p{};
    int32_t rows[12], offsets[12], multipliers[12], shifts[12];
    const int8_t* inputs[12];
    p.inputs = uniform(1, 12);  // more than 8 inputs: the Arm paths prepare those per row
    p.outer = uniform(1, 20);
    int32_t total = 0, in_total = 0;
    for (int32_t k = 0; k < p.inputs; ++k) {
      rows[k] = uniform(1, 40);
      offsets[k] = uniform(-127, 128);
      if (chance(30)) {
        multipliers[k] = shifts[k] = 0;  // same quantization: copied
      } else {
        encode(chance(20) ? log_uniform(1e-7, 300.0) : log_uniform(0.125, 8.0), multipliers[k], shifts[k]);
        if (shifts[k] < -31 || shifts[k] > 30) multipliers[k] = shifts[k] = 0;
      }
      total += rows[k] * p.outer;
      in_total += rows[k] * p.outer;
    }
    if (total > 8192 || in_total > 8192) continue;
    fill(input_a, in_total);
    int32_t at = 0;
    for (int32_t k = 0; k < p.inputs; ++k, at += rows[k - 1] * p.outer) inputs[k] = input_a + at;
    p.input_row = rows;
    p.input_offset = offsets;
    p.multiplier = multipliers;
    p.shift = shifts;
    p.output_offset = uniform(-128, 127);
    rt::concat_s8(p, inputs, out_native);
    rt::concat_s8_portable(p, inputs, out_portable);
    compare("concat_s8", i, out_native, out_portable, total);
  }
}

// Pad and resize have one path, whose copies use Helium on the M55: checked against plain
// loops written from their definitions.
void test_pad() {
  for (int i = 0; i < kCases / 3; ++i) {
    rt::PadParams p{};
    p.batch = uniform(1, 2);
    p.in_h = uniform(1, 7);
    p.in_w = uniform(1, 7);
    p.channels = uniform(1, 40);
    p.pad_top = uniform(0, 3);
    p.pad_left = uniform(0, 3);
    p.pad_bottom = uniform(0, 3);
    p.pad_right = uniform(0, 3);
    p.value = static_cast<int8_t>(uniform(-128, 127));
    const int32_t out_h = p.pad_top + p.in_h + p.pad_bottom, out_w = p.pad_left + p.in_w + p.pad_right;
    const int32_t total = p.batch * out_h * out_w * p.channels;
    if (total > 8192) continue;
    fill(input_a, p.batch * p.in_h * p.in_w * p.channels);
    rt::pad_s8(p, input_a, out_native);
    int32_t k = 0;
    for (int32_t b = 0; b < p.batch; ++b) {
      for (int32_t y = 0; y < out_h; ++y) {
        for (int32_t x = 0; x < out_w; ++x) {
          const int32_t iy = y - p.pad_top, ix = x - p.pad_left;
          const bool inside = iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w;
          for (int32_t c = 0; c < p.channels; ++c, ++k) {
            out_portable[k] = inside ? input_a[((b * p.in_h + iy) * p.in_w + ix) * p.channels + c] : p.value;
          }
        }
      }
    }
    compare("pad_s8", i, out_native, out_portable, total);
  }
}

void test_resize() {
  int32_t source_y[32], source_x[32];
  for (int i = 0; i < kCases / 3; ++i) {
    rt::ResizeParams p{};
    p.batch = uniform(1, 2);
    p.in_h = uniform(1, 8);
    p.in_w = uniform(1, 8);
    p.channels = uniform(1, 40);
    p.out_h = uniform(1, 32);
    p.out_w = uniform(1, 32);
    const int32_t total = p.batch * p.out_h * p.out_w * p.channels;
    if (total > 8192) continue;
    // Any source map the host may compute: monotone (upsampling repeats rows) or not.
    const bool monotone = chance(70);
    for (int32_t y = 0; y < p.out_h; ++y) source_y[y] = monotone ? y * p.in_h / p.out_h : uniform(0, p.in_h - 1);
    for (int32_t x = 0; x < p.out_w; ++x) source_x[x] = monotone ? x * p.in_w / p.out_w : uniform(0, p.in_w - 1);
    p.source_y = source_y;
    p.source_x = source_x;
    fill(input_a, p.batch * p.in_h * p.in_w * p.channels);
    rt::resize_nearest_s8(p, input_a, out_native);
    int32_t k = 0;
    for (int32_t b = 0; b < p.batch; ++b) {
      for (int32_t y = 0; y < p.out_h; ++y) {
        for (int32_t x = 0; x < p.out_w; ++x) {
          for (int32_t c = 0; c < p.channels; ++c, ++k) {
            out_portable[k] = input_a[((b * p.in_h + source_y[y]) * p.in_w + source_x[x]) * p.channels + c];
          }
        }
      }
    }
    compare("resize_nearest_s8", i, out_native, out_portable, total);
  }
}

// Strided copy (Slice, Gather, Transpose) has one path, whose contiguous runs use Helium on
// the M55: random transposes, stepped slices (negative steps too) and index tables, checked
// against the definition evaluated on multi-indices.
void test_strided_copy() {
  int32_t shape[4], stride[4], index[8];
  for (int i = 0; i < kCases / 3; ++i) {
    const int32_t rank = uniform(1, 4);
    int32_t in_shape[4], in_stride[4], total = 1, in_total = 1;
    for (int32_t d = 0; d < rank; ++d) in_shape[d] = uniform(1, rank > 2 ? 9 : 40);
    for (int32_t d = rank - 1; d >= 0; --d) in_stride[d] = in_total, in_total *= in_shape[d];
    if (in_total > 8192) continue;
    // Output axis d reads input axis from[d] (a permutation), from start[d] by step[d].
    int32_t from[4] = {0, 1, 2, 3}, start[4], step[4];
    for (int32_t d = rank - 1; d > 0; --d) {
      const int32_t k = uniform(0, d), t = from[d];
      from[d] = from[k];
      from[k] = t;
    }
    int32_t offset = 0;
    for (int32_t d = 0; d < rank; ++d) {
      const int32_t dim = in_shape[from[d]];
      step[d] = chance(60) ? 1 : (chance(50) ? uniform(2, 3) : -uniform(1, 2));
      start[d] = uniform(0, dim - 1);
      const int32_t room = step[d] > 0 ? (dim - start[d] + step[d] - 1) / step[d] : start[d] / -step[d] + 1;
      shape[d] = uniform(1, room);
      stride[d] = step[d] * in_stride[from[d]];
      offset += start[d] * in_stride[from[d]];
      total *= shape[d];
    }
    rt::StridedCopyParams p{rank, shape, stride, offset, -1, nullptr};
    if (chance(30)) {  // an index table on one axis instead of its stride
      p.index_axis = uniform(0, rank - 1);
      const int32_t a = p.index_axis, dim = in_shape[from[a]];
      total = total / shape[a];
      offset -= start[a] * in_stride[from[a]];
      p.offset = offset;
      shape[a] = uniform(1, 8);
      total *= shape[a];
      for (int32_t k = 0; k < shape[a]; ++k) index[k] = uniform(0, dim - 1) * in_stride[from[a]];
      p.index = index;
    }
    if (total > 8192) continue;
    fill(input_a, in_total);
    rt::strided_copy_s8(p, input_a, out_native);
    for (int32_t o = 0; o < total; ++o) {
      int32_t rest = o, at = 0;
      for (int32_t d = rank - 1; d >= 0; --d) {
        const int32_t c = rest % shape[d];
        rest /= shape[d];
        at += d == p.index_axis ? index[c] : (start[d] + c * step[d]) * in_stride[from[d]];
      }
      out_portable[o] = input_a[at];
    }
    compare("strided_copy_s8", i, out_native, out_portable, total);
  }
}

void test_softmax() {
  int32_t exp_table[256];
  for (int i = 0; i < kCases / 3; ++i) {
    const double beta = log_uniform(1.0 / 64, 4.0);
    for (int32_t d = 0; d < 256; ++d) exp_table[d] = static_cast<int32_t>(lround(65536.0 * exp(-beta * d)));
    const int32_t rows = uniform(1, 4);
    const int32_t depth = uniform(1, 300);
    if (rows * depth > 8192) continue;
    fill(input_a, rows * depth);
    rt::softmax_s8(exp_table, rows, depth, input_a, out_native);
    rt::softmax_s8_portable(exp_table, rows, depth, input_a, out_portable);
    compare("softmax_s8", i, out_native, out_portable, rows * depth);
  }
}

// Recurrent layers: random cells, directions, outputs, lengths that leave SXTB16 tails
// (n % 4), peepholes, initial states and clips; realistic multipliers (pre-activations of a
// few units) so that gates are neither all saturated nor all linear.
int8_t recurrent_w[4096];
int8_t recurrent_r[4096];
int32_t recurrent_words[10][256];
int32_t recurrent_scratch[1024];
void test_recurrent() {
  for (int i = 0; i < kCases / 3; ++i) {
    rt::RecurrentParams p{};
    p.cell = uniform(rt::kCellLstm, rt::kCellRnn);
    p.steps = uniform(1, 6);
    p.batch = uniform(1, 2);
    p.input = uniform(1, 23);
    p.hidden = uniform(1, 21);
    p.directions = uniform(1, 2);
    p.reverse = p.directions == 1 && chance(30);
    p.linear_before_reset = p.cell == rt::kCellGru && chance(50);
    p.relu = p.cell == rt::kCellRnn && chance(50);
    p.output = uniform(rt::kRecurrentY, p.cell == rt::kCellLstm ? rt::kRecurrentYc : rt::kRecurrentYh);
    p.input_offset = uniform(-127, 128);
    p.output_offset = uniform(-128, 127);
    const int32_t rows = p.directions * rt::recurrent_gate_count(p.cell) * p.hidden;
    const int32_t state = p.directions * p.batch * p.hidden;
    if (rows > 256 || rows * p.input > 4096 || rows * p.hidden > 4096 ||
        rt::recurrent_s8_scratch_bytes(p) > sizeof(recurrent_scratch))
      continue;
    for (int32_t k = 0; k < rows * p.input; ++k) recurrent_w[k] = static_cast<int8_t>(uniform(-127, 127));
    for (int32_t k = 0; k < rows * p.hidden; ++k) recurrent_r[k] = static_cast<int8_t>(uniform(-127, 127));
    int32_t* bias_x = recurrent_words[0];
    int32_t* bias_h = recurrent_words[1];
    for (int32_t j = 0; j < rows; ++j) {
      bias_x[j] = uniform(-20000, 20000), bias_h[j] = uniform(-200000, 200000);
      // Q12 per unit of the accumulator: about a few units of pre-activation at full input.
      encode(log_uniform(0.05, 2.0) * 4096.0 / (255.0 * 127.0 * p.input) * 8, recurrent_words[2][j],
             recurrent_words[3][j]);
      encode(log_uniform(0.05, 2.0) * 4096.0 / (32767.0 * 127.0 * p.hidden) * 8, recurrent_words[4][j],
             recurrent_words[5][j]);
    }
    p.bias_x = bias_x, p.bias_h = bias_h;
    p.x_requant = {recurrent_words[2], recurrent_words[3], rows};
    p.h_requant = {recurrent_words[4], recurrent_words[5], rows};
    if (chance(40) && state <= 256) {
      for (int32_t k = 0; k < state; ++k) recurrent_words[6][k] = uniform(-32767, 32767);
      p.initial_h = recurrent_words[6];
    }
    if (p.cell == rt::kCellLstm) {
      if (chance(40) && state <= 256) {
        for (int32_t k = 0; k < state; ++k) recurrent_words[7][k] = uniform(-(3 << 20), 3 << 20);
        p.initial_c = recurrent_words[7];
      }
      if (chance(40) && 3 * p.directions * p.hidden <= 256) {
        for (int32_t k = 0; k < 3 * p.directions * p.hidden; ++k) recurrent_words[8][k] = uniform(-(1 << 16), 1 << 16);
        p.peephole = recurrent_words[8];
      }
      if (chance(30)) p.cell_clip = uniform(1 << 19, 3 << 20);
    }
    encode((p.output == rt::kRecurrentYc ? 1.0 / 1048576 : 1.0 / 32768) * log_uniform(16.0, 256.0), p.output_multiplier,
           p.output_shift);
    const int32_t in_count = p.steps * p.batch * p.input;
    const int32_t out_count = p.output == rt::kRecurrentY ? p.steps * state : state;
    if (in_count > 8192 || out_count > 8192) continue;
    fill(input_a, in_count);
    rt::recurrent_s8(p, input_a, recurrent_w, recurrent_r, out_native, recurrent_scratch);
    rt::recurrent_s8_portable(p, input_a, recurrent_w, recurrent_r, out_portable, recurrent_scratch);
    compare("recurrent_s8", i, out_native, out_portable, out_count);
  }
}

// The kernels with a native path of their own on this core (kernel_paths.hpp), by ctest name.
struct Variant {
  const char* name;
  void (*run)();
};
constexpr Variant kVariants[] = {
    {"max_pool", test_max_pool},   {"avg_pool", test_avg_pool}, {"add", test_add}, {"mul", test_mul},
    {"concat", test_concat},
#if defined(TINYQ_PATH_ARM_DSP) || defined(TINYQ_PATH_ARM_MVE)
    {"recurrent", test_recurrent},
#endif
#if defined(TINYQ_PATH_ARM_MVE)
    {"lookup", test_lookup},
#endif
};

}  // namespace

int main() {
  const char* path = rt::kNativePath == rt::KernelPath::ArmMve   ? "arm-mve"
                     : rt::kNativePath == rt::KernelPath::ArmDsp ? "arm-dsp"
                                                                 : "portable";
  char name_buffer[64];
  const char* only = tinyq_test::requested_variant(name_buffer, sizeof(name_buffer));
  if (only != nullptr) {
    printf("test_paths_misc: variant %s, native path %s vs portable\n", only, path);
    bool known = false;
    for (const Variant& v : kVariants) {
      if (strcmp(only, v.name) != 0) continue;
      known = true;
      v.run();
    }
    if (!known) {
      printf("test_paths_misc: no variant '%s' on the %s path\n", only, path);
      return 2;
    }
    if (cases_run < kCases / 6) {  // every generator keeps at least this many of its cases
      printf("TOO FEW CASES: %d for %s\n", cases_run, only);
      ++failures;
    }
    if (strcmp(only, "add") == 0) printf("add: %ld cases of TFLite's table form\n", (long)add_tflite_table_cases);
    if (strcmp(only, "add") == 0 && add_tflite_table_cases < kCases / 40) {
      printf("TOO FEW CASES: %ld of TFLite's add in its table form\n", static_cast<long>(add_tflite_table_cases));
      ++failures;
    }
    printf("test_paths_misc: %d cases, %d failing\n", cases_run, failures);
    return failures > 255 ? 255 : failures;
  }
  printf("test_paths_misc: native path %s vs portable\n", path);
  test_max_pool();
  test_avg_pool();
  test_add();
  test_mul();
  test_lookup();
  test_concat();
  test_pad();
  test_resize();
  test_strided_copy();
  test_softmax();
  test_recurrent();
  printf("test_paths_misc: %d cases, %d failing\n", cases_run, failures);
  return failures > 255 ? 255 : failures;
}
