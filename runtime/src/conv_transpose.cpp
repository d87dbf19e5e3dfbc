// tinyq runtime: transposed 2-D convolution (groups, stride, dilation, padding), NHWC, int8,
// in the gather formulation (kernels.hpp). With stride s most kernel taps miss a given output
// pixel; the taps that hit it are found once per output row and once per output column (a
// short list each, kept in scratch) and then shared by all output channels, so the inner loop
// is a plain dot product over a group's input channels with no tests.
#include "kernel_util.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {

namespace {

// The taps k of one kernel axis that reach output position `pos` (pos = i * stride - pad + k *
// dilation, already shifted by pad) from a real input index i in [0, size): their input
// offsets i * in_step and weight offsets k * w_step. Returns how many.
int32_t axis_taps(int32_t pos, int32_t kernel, int32_t dilation, int32_t stride, int32_t size, int32_t in_step,
                  int32_t w_step, int32_t* in_offset, int32_t* w_offset) {
  int32_t n = 0;
  for (int32_t k = 0; k < kernel; ++k) {
    const int32_t t = pos - k * dilation;
    if (t < 0) break;  // later taps land further left: none can hit
    if (t % stride != 0) continue;
    const int32_t i = t / stride;
    if (i >= size) continue;
    in_offset[n] = i * in_step;
    w_offset[n] = k * w_step;
    ++n;
  }
  return n;
}

template <int32_t Rounding>
__attribute__((noinline)) void conv_transpose_loop(const ConvParams& p, const int8_t* input, const int8_t* weights,
                                                   const int32_t* bias, int8_t* output, int32_t* scratch) {
  const int32_t group_in_c = p.in_c / p.groups;
  const int32_t group_out_c = p.out_c / p.groups;
  const int32_t filter_size = p.kernel_h * p.kernel_w * group_in_c;
  // Scratch: the taps of the current row, of the current column, then of the current pixel
  // (row x column, flattened so that each output channel walks one list).
  int32_t* row_in = scratch;
  int32_t* row_w = row_in + p.kernel_h;
  int32_t* col_in = row_w + p.kernel_h;
  int32_t* col_w = col_in + p.kernel_w;
  int32_t* tap_in = col_w + p.kernel_w;
  int32_t* tap_w = tap_in + p.kernel_h * p.kernel_w;
  for (int32_t b = 0; b < p.batch; ++b) {
    const int8_t* image = input + b * p.in_h * p.in_w * p.in_c;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t rows = axis_taps(oy + p.pad_top, p.kernel_h, p.dilation_h, p.stride_h, p.in_h, p.in_w * p.in_c,
                                     p.kernel_w * group_in_c, row_in, row_w);
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t cols =
            axis_taps(ox + p.pad_left, p.kernel_w, p.dilation_w, p.stride_w, p.in_w, p.in_c, group_in_c, col_in, col_w);
        int32_t taps = 0;
        for (int32_t r = 0; r < rows; ++r)
          for (int32_t c = 0; c < cols; ++c, ++taps) {
            tap_in[taps] = row_in[r] + col_in[c];
            tap_w[taps] = row_w[r] + col_w[c];
          }
        for (int32_t g = 0; g < p.groups; ++g) {
          const int8_t* group_in = image + g * group_in_c;
          for (int32_t j = 0; j < group_out_c; ++j) {
            const int32_t oc = g * group_out_c + j;
            const int8_t* filter = weights + oc * filter_size;
            int32_t acc = bias != nullptr ? bias[oc] : 0;
            if (group_in_c == 1) {  // one input channel per group (depthwise-like): no inner loop
              for (int32_t t = 0; t < taps; ++t) acc += (group_in[tap_in[t]] + p.input_offset) * filter[tap_w[t]];
            } else {
              for (int32_t t = 0; t < taps; ++t) {
                const int8_t* in = group_in + tap_in[t];
                const int8_t* w = filter + tap_w[t];
                for (int32_t ic = 0; ic < group_in_c; ++ic) acc += (in[ic] + p.input_offset) * w[ic];
              }
            }
            output[oc] = detail::offset_and_clamp(requantize_channel_as<Rounding>(acc, p.requant, oc), p.output_offset,
                                                  p.act_min, p.act_max);
          }
        }
        output += p.out_c;
      }
    }
  }
}

}  // namespace

void conv_transpose2d_s8(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                         int8_t* output, int32_t* scratch) {
  if (p.requant.rounding == kRoundTflite)
    return conv_transpose_loop<kRoundTflite>(p, input, weights, bias, output, scratch);
  conv_transpose_loop<kRoundSingle>(p, input, weights, bias, output, scratch);
}

}  // namespace rt
}  // namespace tinyq
