// tinyq runtime: 16x8 convolution, depthwise and dense (int16 or int8 activations, int8
// weights, int64 accumulator), int16 max pooling and the tensor requantization at the edges
// of an int16 region.
// Portable on every path: int16 layers are the few a model cannot hold at int8, chosen for
// accuracy, not the layers its speed depends on.
#include "kernel_util.hpp"
#include "pool_window.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {

namespace {

template <typename T>
constexpr int32_t lowest() {
  return sizeof(T) == 1 ? -128 : -32768;
}
template <typename T>
constexpr int32_t highest() {
  return sizeof(T) == 1 ? 127 : 32767;
}

// clamp(offset + requantize_wide(acc), lo, hi): clamping first, as offset_and_clamp does,
// keeps the sum in range for any accumulator.
template <typename Out>
inline Out wide_output(int64_t acc, const Requant& r, int32_t channel, int32_t offset, int32_t lo, int32_t hi) {
  const int32_t i = r.count == 1 ? 0 : channel;
  const int32_t v = requantize_wide(acc, r.multiplier[i], r.shift[i]);
  return static_cast<Out>(clamp_i32(v, lo - offset, hi - offset) + offset);
}

template <typename In, typename Out>
void conv_loop(const ConvParams& p, const In* input, const int8_t* weights, const int32_t* bias, Out* output) {
  const int32_t group_in_c = p.in_c / p.groups;
  const int32_t group_out_c = p.out_c / p.groups;
  for (int32_t b = 0; b < p.batch; ++b) {
    const In* image = input + b * p.in_h * p.in_w * p.in_c;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      const detail::TapRange ky = detail::valid_taps(y0, p.kernel_h, p.dilation_h, p.in_h);
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t x0 = ox * p.stride_w - p.pad_left;
        const detail::TapRange kx = detail::valid_taps(x0, p.kernel_w, p.dilation_w, p.in_w);
        for (int32_t o = 0; o < p.out_c; ++o) {
          const int32_t g = o / group_out_c;
          const int8_t* w = weights + o * p.kernel_h * p.kernel_w * group_in_c;
          int64_t acc = bias != nullptr ? bias[o] : 0;
          for (int32_t ty = ky.first; ty < ky.last; ++ty) {
            const int32_t iy = y0 + ty * p.dilation_h;
            for (int32_t tx = kx.first; tx < kx.last; ++tx) {
              const int32_t ix = x0 + tx * p.dilation_w;
              const In* in = image + (iy * p.in_w + ix) * p.in_c + g * group_in_c;
              const int8_t* tap = w + (ty * p.kernel_w + tx) * group_in_c;
              int32_t sum = 0;  // one tap: |sum| <= in_c/groups * 2^15 * 2^7, in int32 below 2^8 channels
              for (int32_t c = 0; c < group_in_c; ++c) {
                sum += (static_cast<int32_t>(in[c]) + p.input_offset) * tap[c];
                if ((c & 127) == 127) acc += sum, sum = 0;
              }
              acc += sum;
            }
          }
          output[o] = wide_output<Out>(acc, p.requant, o, p.output_offset, p.act_min, p.act_max);
        }
        output += p.out_c;
      }
    }
  }
}

template <typename In, typename Out>
void depthwise_loop(const ConvParams& p, const In* input, const int8_t* weights, const int32_t* bias, Out* output) {
  const int32_t multiplier = p.out_c / p.in_c;
  for (int32_t b = 0; b < p.batch; ++b) {
    const In* image = input + b * p.in_h * p.in_w * p.in_c;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      const detail::TapRange ky = detail::valid_taps(y0, p.kernel_h, p.dilation_h, p.in_h);
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t x0 = ox * p.stride_w - p.pad_left;
        const detail::TapRange kx = detail::valid_taps(x0, p.kernel_w, p.dilation_w, p.in_w);
        for (int32_t o = 0; o < p.out_c; ++o) {
          const int32_t c = o / multiplier;
          int64_t acc = bias != nullptr ? bias[o] : 0;
          for (int32_t ty = ky.first; ty < ky.last; ++ty) {
            const int32_t iy = y0 + ty * p.dilation_h;
            for (int32_t tx = kx.first; tx < kx.last; ++tx) {
              const int32_t ix = x0 + tx * p.dilation_w;
              acc += (static_cast<int32_t>(image[(iy * p.in_w + ix) * p.in_c + c]) + p.input_offset) *
                     weights[(ty * p.kernel_w + tx) * p.out_c + o];
            }
          }
          *output++ = wide_output<Out>(acc, p.requant, o, p.output_offset, p.act_min, p.act_max);
        }
      }
    }
  }
}

template <typename In, typename Out>
void dense_loop(const DenseParams& p, const In* input, const int8_t* weights, const int32_t* bias, Out* output) {
  for (int32_t r = 0; r < p.rows; ++r) {
    const In* in = input + r * p.in_features;
    for (int32_t o = 0; o < p.out_features; ++o) {
      const int8_t* w = weights + o * p.in_features;
      int64_t acc = bias != nullptr ? bias[o] : 0;
      int32_t sum = 0;
      for (int32_t i = 0; i < p.in_features; ++i) {
        sum += (static_cast<int32_t>(in[i]) + p.input_offset) * w[i];
        if ((i & 127) == 127) acc += sum, sum = 0;
      }
      acc += sum;
      *output++ = wide_output<Out>(acc, p.requant, o, p.output_offset, p.act_min, p.act_max);
    }
  }
}

// The loop for the formats of both sides: four instantiations, chosen once per call.
template <template <typename, typename> class Loop, typename Params>
void dispatch(const Params& p, const void* input, int32_t input_bits, const int8_t* weights, const int32_t* bias,
              void* output, int32_t output_bits) {
  const int8_t* in8 = static_cast<const int8_t*>(input);
  const int16_t* in16 = static_cast<const int16_t*>(input);
  int8_t* out8 = static_cast<int8_t*>(output);
  int16_t* out16 = static_cast<int16_t*>(output);
  if (input_bits == 16) {
    if (output_bits == 16) return Loop<int16_t, int16_t>::run(p, in16, weights, bias, out16);
    return Loop<int16_t, int8_t>::run(p, in16, weights, bias, out8);
  }
  if (output_bits == 16) return Loop<int8_t, int16_t>::run(p, in8, weights, bias, out16);
  Loop<int8_t, int8_t>::run(p, in8, weights, bias, out8);
}

template <typename In, typename Out>
struct Conv {
  static void run(const ConvParams& p, const In* in, const int8_t* w, const int32_t* b, Out* out) {
    conv_loop(p, in, w, b, out);
  }
};
template <typename In, typename Out>
struct Depthwise {
  static void run(const ConvParams& p, const In* in, const int8_t* w, const int32_t* b, Out* out) {
    depthwise_loop(p, in, w, b, out);
  }
};
template <typename In, typename Out>
struct Dense {
  static void run(const DenseParams& p, const In* in, const int8_t* w, const int32_t* b, Out* out) {
    dense_loop(p, in, w, b, out);
  }
};

template <typename In, typename Out>
void requantize_loop(const RequantizeParams& p, const In* in, Out* out) {
  for (int32_t i = 0; i < p.count; ++i) {
    const int32_t v = requantize(static_cast<int32_t>(in[i]) + p.input_offset, p.multiplier, p.shift);
    out[i] = static_cast<Out>(clamp_i32(v, lowest<Out>() - p.output_offset, highest<Out>() - p.output_offset) +
                              p.output_offset);
  }
}

}  // namespace

void conv2d_wide(const ConvParams& p, const void* input, int32_t input_bits, const int8_t* weights, const int32_t* bias,
                 void* output, int32_t output_bits) {
  dispatch<Conv>(p, input, input_bits, weights, bias, output, output_bits);
}

void depthwise_conv2d_wide(const ConvParams& p, const void* input, int32_t input_bits, const int8_t* weights,
                           const int32_t* bias, void* output, int32_t output_bits) {
  dispatch<Depthwise>(p, input, input_bits, weights, bias, output, output_bits);
}

void dense_wide(const DenseParams& p, const void* input, int32_t input_bits, const int8_t* weights, const int32_t* bias,
                void* output, int32_t output_bits) {
  dispatch<Dense>(p, input, input_bits, weights, bias, output, output_bits);
}

void max_pool2d_s16(const PoolParams& p, const int16_t* input, int16_t* output) {
  detail::max_pool_portable(p, input, output);
}

void requantize_tensor(const RequantizeParams& p, const void* input, void* output) {
  const bool in16 = p.input_bits == 16, out16 = p.output_bits == 16;
  if (in16 && out16)
    requantize_loop(p, static_cast<const int16_t*>(input), static_cast<int16_t*>(output));
  else if (in16)
    requantize_loop(p, static_cast<const int16_t*>(input), static_cast<int8_t*>(output));
  else if (out16)
    requantize_loop(p, static_cast<const int8_t*>(input), static_cast<int16_t*>(output));
  else
    requantize_loop(p, static_cast<const int8_t*>(input), static_cast<int8_t*>(output));
}

}  // namespace rt
}  // namespace tinyq
