// tinyq runtime: general 2-D convolution (groups, stride, dilation, padding), NHWC, int8.
//
// Per output pixel and group, the receptive field is copied once into an int16 patch with
// the input offset added (padded taps become 0, i.e. real 0). Each output channel is then a
// dot product of two contiguous vectors of kernel_h * kernel_w * in_c/groups values, which
// compilers vectorise and which is the shape the DSP / MVE paths specialise.
#include "kernel_paths.hpp"
#include "kernel_util.hpp"

namespace tinyq {
namespace rt {

namespace {

int32_t dot_s16_s8(const int16_t* patch, const int8_t* filter, int32_t length) {
  int32_t acc = 0;
  for (int32_t i = 0; i < length; ++i) acc += static_cast<int32_t>(patch[i]) * filter[i];
  return acc;
}

// The rounding as a template argument: one loop per rounding, no test per output; out of line,
// so that each compiles alone (tinyq's as it did before TFLite's existed).
template <int32_t Rounding>
__attribute__((noinline)) void conv_loop(const ConvParams& p, const int8_t* input, const int8_t* weights,
                                         const int32_t* bias, int8_t* output, int16_t* scratch) {
  const int32_t group_in_c = p.in_c / p.groups;
  const int32_t group_out_c = p.out_c / p.groups;
  const int32_t filter_size = p.kernel_h * p.kernel_w * group_in_c;
  for (int32_t b = 0; b < p.batch; ++b) {
    const int8_t* image = input + b * p.in_h * p.in_w * p.in_c;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_top;
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t x0 = ox * p.stride_w - p.pad_left;
        for (int32_t g = 0; g < p.groups; ++g) {
          // im2col of this pixel's receptive field for group g.
          int16_t* dst = scratch;
          for (int32_t ty = 0; ty < p.kernel_h; ++ty) {
            const int32_t iy = y0 + ty * p.dilation_h;
            for (int32_t tx = 0; tx < p.kernel_w; ++tx) {
              const int32_t ix = x0 + tx * p.dilation_w;
              if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) {
                for (int32_t ic = 0; ic < group_in_c; ++ic) *dst++ = 0;
              } else {
                const int8_t* in = image + (iy * p.in_w + ix) * p.in_c + g * group_in_c;
                for (int32_t ic = 0; ic < group_in_c; ++ic) *dst++ = static_cast<int16_t>(in[ic] + p.input_offset);
              }
            }
          }
          for (int32_t j = 0; j < group_out_c; ++j) {
            const int32_t oc = g * group_out_c + j;
            int32_t acc = dot_s16_s8(scratch, weights + oc * filter_size, filter_size);
            if (bias != nullptr) acc += bias[oc];
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

void conv2d_s8_portable(const ConvParams& p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                        int8_t* output, int16_t* scratch) {
  if (p.requant.rounding == kRoundTflite) return conv_loop<kRoundTflite>(p, input, weights, bias, output, scratch);
  conv_loop<kRoundSingle>(p, input, weights, bias, output, scratch);
}

}  // namespace rt
}  // namespace tinyq
