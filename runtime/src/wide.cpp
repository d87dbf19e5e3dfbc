// tinyq runtime: 16x8 convolution, depthwise and dense (int16 or int8 activations, int8
// weights, int64 accumulator), int16 max pooling and the tensor requantization at the edges
// of an int16 region.
// Portable on every path: int16 layers are the few a model cannot hold at int8, chosen for
// accuracy, not the layers its speed depends on.
#include "kernel_util.hpp"
#include "pool_window.hpp"
#include "portable_loops.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {

namespace {

// clamp(offset + requantize_wide(acc), lo, hi) as an element of the output's type.
template <typename Out>
inline Out wide_output(int64_t acc, const Requant& r, int32_t channel, int32_t offset, int32_t lo, int32_t hi) {
  const int32_t i = r.count == 1 ? 0 : channel;
  return detail::offset_and_clamp<Out>(requantize_wide(acc, r.multiplier[i], r.shift[i]), offset, lo, hi);
}

// Convolution read in place, tap by tap (no im2col scratch): acc = bias + the sum over valid
// taps and the group's channels.
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
              for (int32_t c = 0; c < group_in_c; ++c) acc += (static_cast<int32_t>(in[c]) + p.input_offset) * tap[c];
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
  detail::depthwise_window_loop<int64_t>(p, input, weights, bias, output, [&p](int64_t acc, int32_t o) {
    return wide_output<Out>(acc, p.requant, o, p.output_offset, p.act_min, p.act_max);
  });
}

template <typename In, typename Out>
void dense_loop(const DenseParams& p, const In* input, const int8_t* weights, const int32_t* bias, Out* output) {
  detail::dense_rows_loop<int64_t>(p, input, weights, bias, output, [&p](int64_t acc, int32_t o) {
    return wide_output<Out>(acc, p.requant, o, p.output_offset, p.act_min, p.act_max);
  });
}

template <typename In, typename Out>
void requantize_loop(const RequantizeParams& p, const In* in, Out* out) {
  for (int32_t i = 0; i < p.count; ++i)
    out[i] =
        detail::offset_and_clamp<Out>(requantize(static_cast<int32_t>(in[i]) + p.input_offset, p.multiplier, p.shift),
                                      p.output_offset, detail::lowest_of<Out>(), detail::highest_of<Out>());
}

// `run(in, out)` with the input and output pointers typed by their bit widths: one
// instantiation per pairing, chosen once per call.
template <typename Run>
void with_formats(const void* input, int32_t input_bits, void* output, int32_t output_bits, Run run) {
  if (input_bits == 16) {
    if (output_bits == 16) return run(static_cast<const int16_t*>(input), static_cast<int16_t*>(output));
    return run(static_cast<const int16_t*>(input), static_cast<int8_t*>(output));
  }
  if (output_bits == 16) return run(static_cast<const int8_t*>(input), static_cast<int16_t*>(output));
  run(static_cast<const int8_t*>(input), static_cast<int8_t*>(output));
}

}  // namespace

void conv2d_wide(const ConvParams& p, const void* input, int32_t input_bits, const int8_t* weights, const int32_t* bias,
                 void* output, int32_t output_bits) {
  with_formats(input, input_bits, output, output_bits,
               [&](auto in, auto out) { conv_loop(p, in, weights, bias, out); });
}

void depthwise_conv2d_wide(const ConvParams& p, const void* input, int32_t input_bits, const int8_t* weights,
                           const int32_t* bias, void* output, int32_t output_bits) {
  with_formats(input, input_bits, output, output_bits,
               [&](auto in, auto out) { depthwise_loop(p, in, weights, bias, out); });
}

void dense_wide(const DenseParams& p, const void* input, int32_t input_bits, const int8_t* weights, const int32_t* bias,
                void* output, int32_t output_bits) {
  with_formats(input, input_bits, output, output_bits,
               [&](auto in, auto out) { dense_loop(p, in, weights, bias, out); });
}

void max_pool2d_s16(const PoolParams& p, const int16_t* input, int16_t* output) {
  detail::max_pool_portable(p, input, output);
}

void requantize_tensor(const RequantizeParams& p, const void* input, void* output) {
  with_formats(input, p.input_bits, output, p.output_bits, [&](auto in, auto out) { requantize_loop(p, in, out); });
}

}  // namespace rt
}  // namespace tinyq
