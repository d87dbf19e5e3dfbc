// The reference layer set (README.md), run once each through tinyq's runtime kernels, with
// tinyq_marker() immediately before and after every layer so that the QEMU instruction-count
// plugin measures each kernel call alone (bench/reference_layers/run.sh).
//
// Same shapes as the CMSIS-NN anchor in README.md: NHWC, batch 1, per-channel
// requantization with realistic multipliers and shifts, nonzero zero points. Inputs, weights
// and biases are deterministic pseudo-random numbers (a per-layer seed), generated into RAM
// before the first marker of the layer: generation is never counted. The instruction count
// of a kernel does not depend on where its operands live, so RAM vs flash does not matter.
//
// Output, one line per layer (run.sh parses it; the host build prints the same lines, which
// is how run.sh proves MCU and host results bit-identical):
//   layer <id> macs <n> bytes <output bytes> checksum <FNV-1a of the output, hex>
//
// Also builds for the host (c++ -std=c++17 main.cpp runtime/src/*.cpp marker.c), where the
// marker is an empty function.
//
// To adapt to a kernel API change, edit kLayers (shapes) or the calls in run_layer(): all
// layer-specific setup is driven by the table.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "marker.h"
#include "tinyq/kernels.hpp"

namespace {

using namespace tinyq::rt;

enum class Op { Conv, Depthwise, Dense, MaxPool, AvgPool, Add, Softmax };

// One row per layer. Tensors are [in_h, in_w, in_c] (Dense: 1 x 1 x in_features, Softmax:
// 1 x 1 x depth). out_c: output channels (Conv) / features (Dense), 0 where the op keeps the
// channel count. Padding: top, left, bottom, right.
struct Layer {
  const char* id;
  const char* what;
  Op op;
  int32_t in_h, in_w, in_c;
  int32_t out_c;
  int32_t kernel_h, kernel_w;
  int32_t stride_h, stride_w;
  int32_t pad_top, pad_left, pad_bottom, pad_right;
};

// The anchor table's order (README.md). K1's SAME padding for a 10x4 kernel, stride 2, on
// 49x10: output 25x5, total padding 9 rows (4 top, 5 bottom) and 2 columns (1 left, 1
// right), as TensorFlow pads (the extra row at the bottom).
constexpr Layer kLayers[] = {
    {"L1", "conv 3x3 s1 p1, 28x28x1 -> 16", Op::Conv, 28, 28, 1, 16, 3, 3, 1, 1, 1, 1, 1, 1},
    {"L2", "conv 3x3 s1 p1, 14x14x16 -> 32", Op::Conv, 14, 14, 16, 32, 3, 3, 1, 1, 1, 1, 1, 1},
    {"L3", "depthwise 3x3 s1 p1, 14x14x32", Op::Depthwise, 14, 14, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1},
    {"L4", "pointwise 1x1, 14x14x32 -> 64", Op::Conv, 14, 14, 32, 64, 1, 1, 1, 1, 0, 0, 0, 0},
    {"L5", "fully connected 1568 -> 128", Op::Dense, 1, 1, 1568, 128, 1, 1, 1, 1, 0, 0, 0, 0},
    {"L6", "fully connected 128 -> 10", Op::Dense, 1, 1, 128, 10, 1, 1, 1, 1, 0, 0, 0, 0},
    {"L7", "max pool 2x2 s2, 28x28x16", Op::MaxPool, 28, 28, 16, 0, 2, 2, 2, 2, 0, 0, 0, 0},
    {"L8", "average pool 7x7 (global), 7x7x64", Op::AvgPool, 7, 7, 64, 0, 7, 7, 1, 1, 0, 0, 0, 0},
    {"L9", "add, 14x14x32 + 14x14x32", Op::Add, 14, 14, 32, 0, 1, 1, 1, 1, 0, 0, 0, 0},
    {"L10", "softmax, 1x10", Op::Softmax, 1, 1, 10, 0, 1, 1, 1, 1, 0, 0, 0, 0},
    {"K1", "conv 10x4 s2 SAME, 49x10x1 -> 64", Op::Conv, 49, 10, 1, 64, 10, 4, 2, 2, 4, 1, 5, 1},
    {"K2", "depthwise 3x3 s1 p1, 25x5x64", Op::Depthwise, 25, 5, 64, 64, 3, 3, 1, 1, 1, 1, 1, 1},
    {"K3", "pointwise 1x1, 25x5x64 -> 64", Op::Conv, 25, 5, 64, 64, 1, 1, 1, 1, 0, 0, 0, 0},
    {"R1", "conv 3x3 s1 p1, 32x32x16 -> 16", Op::Conv, 32, 32, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1},
};

int32_t out_h(const Layer& l) { return (l.in_h + l.pad_top + l.pad_bottom - l.kernel_h) / l.stride_h + 1; }
int32_t out_w(const Layer& l) { return (l.in_w + l.pad_left + l.pad_right - l.kernel_w) / l.stride_w + 1; }

// MACs as the anchor counts them: padded taps included.
uint32_t macs(const Layer& l) {
  switch (l.op) {
    case Op::Conv: return static_cast<uint32_t>(out_h(l) * out_w(l) * l.out_c * l.kernel_h * l.kernel_w * l.in_c);
    case Op::Depthwise: return static_cast<uint32_t>(out_h(l) * out_w(l) * l.out_c * l.kernel_h * l.kernel_w);
    case Op::Dense: return static_cast<uint32_t>(l.in_c * l.out_c);
    default: return 0;
  }
}

// ---- deterministic data ----
// xorshift32 seeded from the layer id: each layer's data is independent of the others'.
struct Rng {
  uint32_t state;
  explicit Rng(const char* id) : state(2166136261u) {
    for (const char* c = id; *c; ++c) state = (state ^ static_cast<uint8_t>(*c)) * 16777619u;
    if (state == 0) state = 1;
  }
  uint32_t next() {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  }
  int32_t range(int32_t lo, int32_t hi) {  // uniform in [lo, hi]
    return lo + static_cast<int32_t>(next() % static_cast<uint32_t>(hi - lo + 1));
  }
  double unit() { return (next() >> 8) * (1.0 / 16777216.0); }  // [0, 1)
};

// Operand memory: one bump allocator, reset per layer. 224 KB covers the largest layer (L5:
// 200 KB of weights) and fits the M55's 512 KB DTCM next to heap and stack.
// The DSP build also holds L5's packed weights (200 KB) next to the plain ones.
#if defined(TINYQ_PATH_ARM_DSP)
alignas(16) int8_t arena[448 * 1024];
#else
alignas(16) int8_t arena[224 * 1024];
#endif
size_t arena_used;

template <typename T>
T* allocate(size_t count) {
  const size_t offset = (arena_used + 15) & ~static_cast<size_t>(15);
  const size_t bytes = count * sizeof(T);
  if (offset + bytes > sizeof(arena)) {
    printf("reference_layers: arena too small (%u bytes needed)\n", static_cast<unsigned>(offset + bytes));
    return nullptr;
  }
  arena_used = offset + bytes;
  return reinterpret_cast<T*>(arena + offset);
}

int8_t* random_int8(Rng& rng, size_t count, int32_t lo, int32_t hi) {
  int8_t* data = allocate<int8_t>(count);
  if (data)
    for (size_t i = 0; i < count; ++i) data[i] = static_cast<int8_t>(rng.range(lo, hi));
  return data;
}

// m = multiplier * 2^(shift - 31) with multiplier in [2^30, 2^31), as the host computes it.
void encode_multiplier(double m, int32_t* multiplier, int32_t* shift) {
  int exponent = 0;
  const double mantissa = frexp(m, &exponent);  // [0.5, 1)
  int64_t q = static_cast<int64_t>(llround(mantissa * 2147483648.0));
  if (q == (static_cast<int64_t>(1) << 31)) {
    q /= 2;
    ++exponent;
  }
  *multiplier = static_cast<int32_t>(q);
  *shift = exponent;
}

// Per-channel requantization for an accumulator over `taps` products of uniform int8 values
// (standard deviation about 74 each): scales chosen so that the output spreads over roughly
// +-3 x 30 around the zero point, i.e. most values in range and a few saturating, as in a
// calibrated network. Each channel's scale varies by a factor of 2 (per-channel weights).
Requant make_requant(Rng& rng, int32_t channels, int32_t taps) {
  int32_t* multiplier = allocate<int32_t>(static_cast<size_t>(channels));
  int32_t* shift = allocate<int32_t>(static_cast<size_t>(channels));
  if (multiplier && shift) {
    const double base = 30.0 / (sqrt(static_cast<double>(taps)) * 74.0 * 74.0);
    for (int32_t c = 0; c < channels; ++c)
      encode_multiplier(base * (0.7 + 0.7 * rng.unit()), &multiplier[c], &shift[c]);
  }
  return Requant{multiplier, shift, channels};
}

int32_t* random_bias(Rng& rng, int32_t channels) {
  int32_t* bias = allocate<int32_t>(static_cast<size_t>(channels));
  if (bias)
    for (int32_t c = 0; c < channels; ++c) bias[c] = rng.range(-4096, 4096);
  return bias;
}

uint32_t fnv1a(const int8_t* data, size_t count) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < count; ++i) h = (h ^ static_cast<uint8_t>(data[i])) * 16777619u;
  return h;
}

// Zero points of a layer's tensors: nonzero and different per layer, as after calibration.
constexpr int32_t kInputZeroPoint = -3;
constexpr int32_t kOutputZeroPoint = 5;

ConvParams conv_params(const Layer& l, int32_t groups, const Requant& requant) {
  ConvParams p{};
  p.batch = 1;
  p.in_h = l.in_h;
  p.in_w = l.in_w;
  p.in_c = l.in_c;
  p.out_h = out_h(l);
  p.out_w = out_w(l);
  p.out_c = l.out_c;
  p.kernel_h = l.kernel_h;
  p.kernel_w = l.kernel_w;
  p.stride_h = l.stride_h;
  p.stride_w = l.stride_w;
  p.dilation_h = 1;
  p.dilation_w = 1;
  p.pad_top = l.pad_top;
  p.pad_left = l.pad_left;
  p.groups = groups;
  p.input_offset = -kInputZeroPoint;
  p.output_offset = kOutputZeroPoint;
  p.act_min = -128;
  p.act_max = 127;
  p.requant = requant;
  return p;
}

PoolParams pool_params(const Layer& l) {
  PoolParams p{};
  p.batch = 1;
  p.in_h = l.in_h;
  p.in_w = l.in_w;
  p.channels = l.in_c;
  p.out_h = out_h(l);
  p.out_w = out_w(l);
  p.kernel_h = l.kernel_h;
  p.kernel_w = l.kernel_w;
  p.stride_h = l.stride_h;
  p.stride_w = l.stride_w;
  p.pad_top = l.pad_top;
  p.pad_left = l.pad_left;
  p.pad_bottom = l.pad_bottom;
  p.pad_right = l.pad_right;
  p.act_min = -128;
  p.act_max = 127;
  return p;
}

// Sets up one layer's operands, runs it between two markers, prints its checksum. Returns
// false if the operands do not fit the arena.
bool run_layer(const Layer& l) {
  arena_used = 0;
  Rng rng(l.id);
  const int32_t in_elems = l.in_h * l.in_w * l.in_c;
  int8_t* input = random_int8(rng, static_cast<size_t>(in_elems), -128, 127);
  int8_t* output = nullptr;
  size_t out_elems = 0;

  switch (l.op) {
    case Op::Conv: {
      const int32_t taps = l.kernel_h * l.kernel_w * l.in_c;
      const int8_t* weights = random_int8(rng, static_cast<size_t>(l.out_c * taps), -127, 127);
      const int32_t* bias = random_bias(rng, l.out_c);
      const ConvParams p = conv_params(l, 1, make_requant(rng, l.out_c, taps));
      out_elems = static_cast<size_t>(p.out_h * p.out_w * p.out_c);
      output = allocate<int8_t>(out_elems);
      int16_t* scratch = allocate<int16_t>((conv2d_s8_scratch_bytes(p) + 1) / 2);
      if (!input || !weights || !bias || !output || !scratch || !p.requant.multiplier) return false;
      tinyq_marker();
      conv2d_s8(p, input, weights, bias, output, scratch);
      tinyq_marker();
      break;
    }
    case Op::Depthwise: {
      const int32_t taps = l.kernel_h * l.kernel_w;
      const int8_t* weights = random_int8(rng, static_cast<size_t>(l.out_c * taps), -127, 127);
      const int32_t* bias = random_bias(rng, l.out_c);
      const ConvParams p = conv_params(l, l.in_c, make_requant(rng, l.out_c, taps));
      out_elems = static_cast<size_t>(p.out_h * p.out_w * p.out_c);
      output = allocate<int8_t>(out_elems);
      if (!input || !weights || !bias || !output || !p.requant.multiplier) return false;
      tinyq_marker();
      depthwise_conv2d_s8(p, input, weights, bias, output);
      tinyq_marker();
      break;
    }
    case Op::Dense: {
      const int8_t* weights = random_int8(rng, static_cast<size_t>(l.out_c * l.in_c), -127, 127);
      const int32_t* bias = random_bias(rng, l.out_c);
      DenseParams p{};
      p.rows = 1;
      p.in_features = l.in_c;
      p.out_features = l.out_c;
      p.input_offset = -kInputZeroPoint;
      p.output_offset = kOutputZeroPoint;
      p.act_min = -128;
      p.act_max = 127;
      p.requant = make_requant(rng, l.out_c, l.in_c);
      out_elems = static_cast<size_t>(l.out_c);
      output = allocate<int8_t>(out_elems);
      if (!input || !weights || !bias || !output || !p.requant.multiplier) return false;
#if defined(TINYQ_PATH_ARM_DSP)
      {
        // As generated code runs a dense layer on this path: `tinyq generate` packs the weights
        // on the host (emit_model.cpp), so they are packed here before the first marker, like
        // the inputs, and the packed kernel is what is counted.
        int8_t* packed_weights = allocate<int8_t>(dense_s8_packed_weight_bytes(p));
        int32_t* packed_params = allocate<int32_t>(dense_s8_packed_param_words(p));
        if (!packed_weights || !packed_params) return false;
        const int32_t kind = dense_s8_pack(p, weights, bias, packed_weights, packed_params);
        DenseParams fused = p;
        fused.requant.multiplier = fused.requant.shift = nullptr;  // in the packed parameters
        tinyq_marker();
        if (kind == kDensePackFused)
          dense_s8_packed_fused(fused, input, packed_weights, packed_params, output);
        else if (kind == kDensePackPlain)
          dense_s8_packed(p, input, packed_weights, packed_params, output);
        else
          dense_s8(p, input, weights, bias, output);
        tinyq_marker();
      }
#else
      tinyq_marker();
      dense_s8(p, input, weights, bias, output);
      tinyq_marker();
#endif
      break;
    }
    case Op::MaxPool: {
      const PoolParams p = pool_params(l);
      out_elems = static_cast<size_t>(p.out_h * p.out_w * p.channels);
      output = allocate<int8_t>(out_elems);
      if (!input || !output) return false;
      tinyq_marker();
      max_pool2d_s8(p, input, output);
      tinyq_marker();
      break;
    }
    case Op::AvgPool: {
      // Output scale = input scale: M[n] = 1 / n for every window size n.
      const int32_t taps = l.kernel_h * l.kernel_w;
      int32_t* count_multiplier = allocate<int32_t>(static_cast<size_t>(taps + 1));
      int32_t* count_shift = allocate<int32_t>(static_cast<size_t>(taps + 1));
      AvgPoolParams p{};
      p.pool = pool_params(l);
      p.count_include_pad = 0;
      p.input_offset = -kInputZeroPoint;
      p.output_offset = kOutputZeroPoint;
      p.count_multiplier = count_multiplier;
      p.count_shift = count_shift;
      p.truncate = 0;
      out_elems = static_cast<size_t>(p.pool.out_h * p.pool.out_w * p.pool.channels);
      output = allocate<int8_t>(out_elems);
      if (!input || !output || !count_multiplier || !count_shift) return false;
      count_multiplier[0] = 0;
      count_shift[0] = 0;
      for (int32_t n = 1; n <= taps; ++n) encode_multiplier(1.0 / n, &count_multiplier[n], &count_shift[n]);
      tinyq_marker();
      avg_pool2d_s8(p, input, output);
      tinyq_marker();
      break;
    }
    case Op::Add: {
      // TFLite's scheme: both inputs to a common scale 2 * max(s_a, s_b) with 20 bits of
      // headroom, then to the output scale.
      const double s_a = 0.06, s_b = 0.045, s_out = 0.09;
      const int8_t* other = random_int8(rng, static_cast<size_t>(in_elems), -128, 127);
      AddParams p{};
      p.a_offset = -kInputZeroPoint;
      p.b_offset = 7;  // b's zero point is -7
      p.output_offset = kOutputZeroPoint;
      p.left_shift = 20;
      const double twice_max = 2.0 * (s_a > s_b ? s_a : s_b);
      encode_multiplier(s_a / twice_max, &p.a_multiplier, &p.a_shift);
      encode_multiplier(s_b / twice_max, &p.b_multiplier, &p.b_shift);
      encode_multiplier(twice_max / (1048576.0 * s_out), &p.output_multiplier, &p.output_shift);
      p.act_min = -128;
      p.act_max = 127;
      BroadcastShape s{};
      const int32_t shape[4] = {1, l.in_h, l.in_w, l.in_c};
      int32_t stride = 1;
      for (int axis = 3; axis >= 0; --axis) {
        s.shape[axis] = shape[axis];
        s.a_strides[axis] = stride;
        s.b_strides[axis] = stride;
        stride *= shape[axis];
      }
      out_elems = static_cast<size_t>(in_elems);
      output = allocate<int8_t>(out_elems);
      if (!input || !other || !output) return false;
      tinyq_marker();
      add_s8(p, s, input, other, output);
      tinyq_marker();
      break;
    }
    case Op::Softmax: {
      // Input scale 1/16: exp_table[d] = round(2^16 * exp(-d / 16)).
      int32_t* exp_table = allocate<int32_t>(256);
      out_elems = static_cast<size_t>(l.in_c);
      output = allocate<int8_t>(out_elems);
      if (!input || !exp_table || !output) return false;
      for (int32_t d = 0; d < 256; ++d) exp_table[d] = static_cast<int32_t>(lround(65536.0 * exp(-d / 16.0)));
      tinyq_marker();
      softmax_s8(exp_table, 1, l.in_c, input, output);
      tinyq_marker();
      break;
    }
  }
  printf("layer %s macs %u bytes %u checksum 0x%08x\n", l.id, static_cast<unsigned>(macs(l)),
         static_cast<unsigned>(out_elems), static_cast<unsigned>(fnv1a(output, out_elems)));
  return true;
}

}  // namespace

int main() {
  // Two consecutive markers first: their difference is the marker overhead that run.sh
  // subtracts from every layer. In assembly on Arm, so that the compiler cannot schedule
  // anything between the calls: the overhead is exactly the marker's `bx lr` plus the next
  // `bl` (2 instructions); whatever a layer needs around its kernel call stays counted.
#if defined(__arm__)
  __asm__ volatile("bl tinyq_marker\n\tbl tinyq_marker" ::: "r0", "r1", "r2", "r3", "r12", "lr", "cc", "memory");
#else
  tinyq_marker();
  tinyq_marker();
#endif
  for (const Layer& l : kLayers) {
    if (!run_layer(l)) {
      printf("reference_layers: layer %s failed to set up\n", l.id);
      return 1;
    }
  }
  return 0;
}
