// Direct NHWC convolution (implicit GEMM) for every grouping except depthwise: no im2col copy.
// im2col + Eigen GEMM spent ~29 % of its cycles copying patches (im2col, then Eigen re-packing
// them) and ran depth-9 GEMMs on 1-channel first layers (docs/BENCHMARKS.md). Here a register
// tile of up to kTilePixels output pixels x 16 output channels accumulates straight from the
// input tensor: per input channel, one weight load per 8 channels and one broadcast per pixel
// feed kTilePixels x 2 FMAs. Weights are packed once (pack_conv2d_weights) so the tile reads them
// contiguously: per group, per block of output channels, [kernel_h][kernel_w][cin_g][block].
// Border pixels whose window leaves the input run one at a time over their valid taps only.
#include <algorithm>

#include "exec/float/kernel_common.hpp"
#include "exec/float/simd.hpp"

namespace tinyq::fk {
namespace {

using simd::kLanes;
using simd::load;
using simd::store;
using simd::Vec;
// 5 pixels x 2 vectors: 10 accumulators + 2 weight vectors + 1 broadcast of the 16 AVX
// registers. 6 pixels made GCC keep the weights in memory and re-load them for every FMA.
constexpr int kTilePixels = 5;

// Output channels [c0, c0 + valid) of a group, computed as `width` (8 or 16) lanes.
struct Block {
  int c0, width, valid;
};

// Blocks of 16 channels, the remainder as one block of 8 or 16 (zero-padded weights).
template <typename F>
void for_each_block(int cout_g, F f) {
  for (int c0 = 0; c0 < cout_g; c0 += 16) {
    const int rest = cout_g - c0;
    f(Block{c0, rest > kLanes ? 16 : kLanes, std::min(rest, 16)});
  }
}

std::size_t block_floats(const Conv2dShape& s, const Block& b) {
  return static_cast<std::size_t>(s.kernel_h) * s.kernel_w * (s.in_c / s.groups) * b.width;
}

struct TapRange {
  int begin, end;
};

// Taps k with 0 <= start + k * dilation < size.
TapRange valid_taps(int start, int kernel, int dilation, int size) {
  int begin = 0;
  while (begin < kernel && start + begin * dilation < 0) ++begin;
  int end = kernel;
  while (end > begin && start + (end - 1) * dilation >= size) --end;
  return {begin, end};
}

// What every tile of one (sample, row, group, block) shares.
struct TileContext {
  const Conv2dShape* s;
  const float* in;    // the sample's input, shifted to the group's first channel
  const float* w;     // the block's packed weights
  const float* bias;  // the block's first bias, or nullptr
  float* out;         // the output row, shifted to the block's first channel
  Activation act;
  int cin_g, width, valid;
  int ih0;  // input row of tap ky = 0
  TapRange ky;
};

// NP consecutive output pixels starting at `ow`, NV vectors of output channels, over the taps
// ky x kx (valid for all NP pixels).
template <int NP, int NV>
void tile(const TileContext& c, int ow, TapRange kx) {
  const Conv2dShape& s = *c.s;
  Vec acc[NP][NV];
  {
    float b[NV * kLanes] = {};
    if (c.bias != nullptr) std::copy_n(c.bias, std::min(c.valid, NV * kLanes), b);
    for (int v = 0; v < NV; ++v) {
      const Vec bv = load(b + v * kLanes);
      for (int p = 0; p < NP; ++p) acc[p][v] = bv;
    }
  }
  const std::ptrdiff_t in_row = static_cast<std::ptrdiff_t>(s.in_w) * s.in_c;
  const std::ptrdiff_t pixel_step = static_cast<std::ptrdiff_t>(s.stride_w) * s.in_c;
  const std::ptrdiff_t iw0 = static_cast<std::ptrdiff_t>(ow) * s.stride_w - s.pad_left;
  // Ungrouped with dilation 1: the kx taps of one input row are one contiguous run of
  // (kx.end - kx.begin) * cin_g floats, as are their packed weights: one loop over both.
  const bool merge_kx = s.groups == 1 && s.dilation_w == 1;
  const int runs = merge_kx ? 1 : kx.end - kx.begin;
  const int run_length = merge_kx ? (kx.end - kx.begin) * c.cin_g : c.cin_g;
  for (int ky = c.ky.begin; ky < c.ky.end; ++ky) {
    const std::ptrdiff_t ih = c.ih0 + static_cast<std::ptrdiff_t>(ky) * s.dilation_h;
    for (int r = 0; r < runs; ++r) {
      const int k = kx.begin + r;
      const float* x = c.in + ih * in_row + (iw0 + static_cast<std::ptrdiff_t>(k) * s.dilation_w) * s.in_c;
      const float* w = c.w + (static_cast<std::size_t>(ky) * s.kernel_w + k) * c.cin_g * c.width;
      int j = 0;
      if constexpr (NP == 1) {
        // One pixel (borders; Dense on a single row): one accumulator per vector would make
        // the loop wait on each FMA's latency. Three more sets of partial sums hide it.
        Vec part[3][NV] = {};
        for (; j + 4 <= run_length; j += 4, w += 4 * c.width) {
          for (int v = 0; v < NV; ++v) {
            acc[0][v] += x[j] * load(w + v * kLanes);
            part[0][v] += x[j + 1] * load(w + c.width + v * kLanes);
            part[1][v] += x[j + 2] * load(w + 2 * c.width + v * kLanes);
            part[2][v] += x[j + 3] * load(w + 3 * c.width + v * kLanes);
          }
        }
        for (int v = 0; v < NV; ++v) acc[0][v] += (part[0][v] + part[1][v]) + part[2][v];
      }
      for (; j < run_length; ++j, w += c.width) {
        Vec wv[NV];
        for (int v = 0; v < NV; ++v) wv[v] = load(w + v * kLanes);
        for (int p = 0; p < NP; ++p) {
          const float a = x[p * pixel_step + j];
          for (int v = 0; v < NV; ++v) acc[p][v] += a * wv[v];
        }
      }
    }
  }
  const Vec lo = simd::broadcast(c.act.min), hi = simd::broadcast(c.act.max);
  for (int p = 0; p < NP; ++p) {
    float* dst = c.out + static_cast<std::size_t>(ow + p) * s.out_c;
    for (int v = 0; v < NV; ++v) acc[p][v] = simd::clamp(acc[p][v], lo, hi);
    if (c.valid == NV * kLanes) {
      for (int v = 0; v < NV; ++v) store(dst + v * kLanes, acc[p][v]);
    } else {  // the last, zero-padded block: only the real channels exist in `out`
      float tmp[NV * kLanes];
      for (int v = 0; v < NV; ++v) store(tmp + v * kLanes, acc[p][v]);
      std::copy_n(tmp, c.valid, dst);
    }
  }
}

template <int NV>
void tiles(const TileContext& c, int ow, int end, TapRange kx) {
  for (; ow + kTilePixels <= end; ow += kTilePixels) tile<kTilePixels, NV>(c, ow, kx);
  switch (end - ow) {
    case 5: tile<5, NV>(c, ow, kx); break;
    case 4: tile<4, NV>(c, ow, kx); break;
    case 3: tile<3, NV>(c, ow, kx); break;
    case 2: tile<2, NV>(c, ow, kx); break;
    case 1: tile<1, NV>(c, ow, kx); break;
    default: break;
  }
}

// Output pixels [lo, hi) of a row see every kx tap; the others (borders) see fewer.
struct InteriorColumns {
  int lo, hi;
};

InteriorColumns interior_columns(const Conv2dShape& s) {
  const int lo = std::min(s.out_w, (s.pad_left + s.stride_w - 1) / s.stride_w);
  const int last_start = s.in_w - 1 - (s.kernel_w - 1) * s.dilation_w + s.pad_left;  // largest ow * stride_w
  const int hi = last_start < 0 ? 0 : std::min(s.out_w, last_start / s.stride_w + 1);
  return {lo, std::max(lo, hi)};
}

void run_block(const TileContext& c, InteriorColumns interior) {
  const Conv2dShape& s = *c.s;
  auto one = [&](int ow) {
    const TapRange kx = valid_taps(ow * s.stride_w - s.pad_left, s.kernel_w, s.dilation_w, s.in_w);
    c.width == 16 ? tile<1, 2>(c, ow, kx) : tile<1, 1>(c, ow, kx);
  };
  for (int ow = 0; ow < interior.lo; ++ow) one(ow);
  const TapRange all{0, s.kernel_w};
  c.width == 16 ? tiles<2>(c, interior.lo, interior.hi, all) : tiles<1>(c, interior.lo, interior.hi, all);
  for (int ow = interior.hi; ow < s.out_w; ++ow) one(ow);
}

}  // namespace

std::size_t packed_conv2d_floats(const Conv2dShape& s) {
  std::size_t n = 0;
  for_each_block(s.out_c / s.groups, [&](const Block& b) { n += block_floats(s, b); });
  return n * static_cast<std::size_t>(s.groups);
}

void pack_conv2d_weights(const Conv2dShape& s, const float* weight, float* packed) {
  const int cin_g = s.in_c / s.groups;
  const int cout_g = s.out_c / s.groups;
  const int taps = s.kernel_h * s.kernel_w;
  float* dst = packed;
  for (int g = 0; g < s.groups; ++g) {
    for_each_block(cout_g, [&](const Block& b) {
      // weight [out_c][tap][cin_g] -> [tap][cin_g][width], padding channels zero.
      for (int t = 0; t < taps; ++t) {
        for (int ci = 0; ci < cin_g; ++ci) {
          for (int o = 0; o < b.width; ++o) {
            const int oc = g * cout_g + b.c0 + o;
            *dst++ = o < b.valid ? weight[(static_cast<std::size_t>(oc) * taps + t) * cin_g + ci] : 0.0f;
          }
        }
      }
    });
  }
}

void conv2d_packed(const Conv2dShape& s, const float* in, const float* packed, const float* bias, float* out,
                   Activation act, int row_begin, int row_end) {
  const int cin_g = s.in_c / s.groups;
  const int cout_g = s.out_c / s.groups;
  const std::size_t in_sample = static_cast<std::size_t>(s.in_h) * s.in_w * s.in_c;
  const std::size_t out_row = static_cast<std::size_t>(s.out_w) * s.out_c;
  const InteriorColumns interior = interior_columns(s);
  for (int r = row_begin; r < row_end; ++r) {
    const int b = r / s.out_h;
    const int oh = r % s.out_h;
    TileContext c{};
    c.s = &s;
    c.act = act;
    c.cin_g = cin_g;
    c.ih0 = oh * s.stride_h - s.pad_top;
    c.ky = valid_taps(c.ih0, s.kernel_h, s.dilation_h, s.in_h);
    const float* w = packed;
    for (int g = 0; g < s.groups; ++g) {
      c.in = in + b * in_sample + static_cast<std::size_t>(g) * cin_g;
      for_each_block(cout_g, [&](const Block& blk) {
        const int oc = g * cout_g + blk.c0;
        c.w = w;
        c.bias = bias != nullptr ? bias + oc : nullptr;
        c.out = out + static_cast<std::size_t>(r) * out_row + oc;
        c.width = blk.width;
        c.valid = blk.valid;
        run_block(c, interior);
        w += block_floats(s, blk);
      });
    }
  }
}

}  // namespace tinyq::fk
