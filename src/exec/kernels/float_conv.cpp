// conv2d: picks one of three paths and sizes its scratch from the same choice.
//  - depthwise (groups == in_c, out_c a multiple of in_c): direct NHWC loop, float_depthwise.cpp;
//  - pointwise (1x1, stride 1, unpadded, same spatial size): GEMM straight on the input, no scratch;
//  - otherwise im2col of one sample and one group into `scratch`, then one GEMM per group.
#include <algorithm>
#include <cassert>

#include "exec/kernels/kernel_common.hpp"

namespace tinyq::fk {
namespace {

enum class ConvPath { kDepthwise, kPointwise, kIm2col };

ConvPath choose_path(const Conv2dShape& s) {
  if (detail::is_depthwise(s)) return ConvPath::kDepthwise;
  if (s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_top == 0 && s.pad_left == 0 &&
      s.out_h == s.in_h && s.out_w == s.in_w) {
    return ConvPath::kPointwise;
  }
  return ConvPath::kIm2col;
}

std::size_t im2col_cols(const Conv2dShape& s) {
  return static_cast<std::size_t>(s.kernel_h) * s.kernel_w * (s.in_c / s.groups);
}

std::size_t im2col_rows(const Conv2dShape& s) { return static_cast<std::size_t>(s.out_h) * s.out_w; }

// col [out_h*out_w, kernel_h*kernel_w*cin_g]: row p holds the receptive field of output pixel p
// for the channels of `group`, in weight order (ky, kx, c); taps in the padding are zero.
void im2col(const Conv2dShape& s, const float* in_sample, int group, float* col) {
  const int cin_g = s.in_c / s.groups;
  const std::size_t in_row = static_cast<std::size_t>(s.in_w) * s.in_c;
  const std::size_t tap_row = static_cast<std::size_t>(s.kernel_w) * cin_g;
  // groups == 1 and dilation_w == 1: the kx taps of one input row are one contiguous run.
  const bool contiguous_taps = s.groups == 1 && s.dilation_w == 1;
  float* dst = col;
  for (int oh = 0; oh < s.out_h; ++oh) {
    const int ih0 = oh * s.stride_h - s.pad_top;
    for (int ow = 0; ow < s.out_w; ++ow) {
      const int iw0 = ow * s.stride_w - s.pad_left;
      const bool row_inside = iw0 >= 0 && iw0 + s.kernel_w <= s.in_w;
      for (int ky = 0; ky < s.kernel_h; ++ky) {
        const int ih = ih0 + ky * s.dilation_h;
        if (ih < 0 || ih >= s.in_h) {
          std::fill_n(dst, tap_row, 0.0f);
          dst += tap_row;
          continue;
        }
        const float* src_row = in_sample + ih * in_row + static_cast<std::size_t>(group) * cin_g;
        if (contiguous_taps && row_inside) {
          std::copy_n(src_row + static_cast<std::size_t>(iw0) * s.in_c, tap_row, dst);
          dst += tap_row;
          continue;
        }
        for (int kx = 0; kx < s.kernel_w; ++kx) {
          const int iw = iw0 + kx * s.dilation_w;
          if (iw < 0 || iw >= s.in_w) {
            std::fill_n(dst, cin_g, 0.0f);
          } else {
            std::copy_n(src_row + static_cast<std::size_t>(iw) * s.in_c, cin_g, dst);
          }
          dst += cin_g;
        }
      }
    }
  }
}

void pointwise_conv2d(const Conv2dShape& s, const float* in, const float* weight, float* out) {
  const Eigen::Index pixels = static_cast<Eigen::Index>(s.batch) * s.in_h * s.in_w;
  const int cin_g = s.in_c / s.groups;
  const int cout_g = s.out_c / s.groups;
  for (int g = 0; g < s.groups; ++g) {
    detail::ConstStridedMatrixMap x(in + g * cin_g, pixels, cin_g, Eigen::OuterStride<>(s.in_c));
    detail::ConstMatrixMap w(weight + static_cast<std::size_t>(g) * cout_g * cin_g, cout_g, cin_g);
    detail::StridedMatrixMap y(out + g * cout_g, pixels, cout_g, Eigen::OuterStride<>(s.out_c));
    y.noalias() = x * w.transpose();
  }
}

void im2col_conv2d(const Conv2dShape& s, const float* in, const float* weight, float* out, float* scratch) {
  const std::size_t rows = im2col_rows(s);
  const std::size_t cols = im2col_cols(s);
  const int cout_g = s.out_c / s.groups;
  const std::size_t in_sample = static_cast<std::size_t>(s.in_h) * s.in_w * s.in_c;
  const std::size_t out_sample = rows * s.out_c;
  for (int b = 0; b < s.batch; ++b) {
    for (int g = 0; g < s.groups; ++g) {
      im2col(s, in + b * in_sample, g, scratch);
      detail::ConstMatrixMap x(scratch, static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
      detail::ConstMatrixMap w(weight + g * cout_g * cols, cout_g, static_cast<Eigen::Index>(cols));
      detail::StridedMatrixMap y(out + b * out_sample + g * cout_g, static_cast<Eigen::Index>(rows), cout_g,
                                 Eigen::OuterStride<>(s.out_c));
      y.noalias() = x * w.transpose();
    }
  }
}

}  // namespace

std::size_t conv2d_scratch_floats(const Conv2dShape& shape) {
  switch (choose_path(shape)) {
    case ConvPath::kDepthwise: return detail::depthwise_scratch_floats(shape);
    case ConvPath::kPointwise: return 0;
    case ConvPath::kIm2col: return im2col_rows(shape) * im2col_cols(shape);
  }
  return 0;
}

void conv2d(const Conv2dShape& shape, const float* in, const float* weight, const float* bias, float* out,
            float* scratch, Activation act) {
  assert(shape.groups > 0 && shape.in_c % shape.groups == 0 && shape.out_c % shape.groups == 0);
  switch (choose_path(shape)) {
    case ConvPath::kDepthwise: detail::depthwise_conv2d(shape, in, weight, bias, out, scratch, act); return;
    case ConvPath::kPointwise: pointwise_conv2d(shape, in, weight, out); break;
    case ConvPath::kIm2col: im2col_conv2d(shape, in, weight, out, scratch); break;
  }
  const std::size_t pixels = static_cast<std::size_t>(shape.batch) * shape.out_h * shape.out_w;
  detail::add_bias_and_activate(pixels, shape.out_c, bias, out, act);
}

}  // namespace tinyq::fk
