#pragma once
// Float kernels for 3-D windows (Conv3d, ConvTranspose3d, MaxPool3d, AvgPool3d) on NCDHW
// tensors, the source layout: the IR keeps rank-5 activations as ONNX has them (only 4-D
// activations are stored channels-last). Direct loops, float only: there is no int8 or MCU
// kernel behind them, so they favour being obviously right over speed.
#include <array>

namespace tinyq::fk {

struct Window3dShape {
  int batch;
  int in_c, out_c;             // pooling: equal
  std::array<int, 3> in, out;  // D, H, W
  std::array<int, 3> kernel, stride, dilation;
  std::array<int, 3> pad_begin, pad_end;  // pad_end matters to count_include_pad only
  int groups;                             // convolutions only
};

// in [batch,C,D,H,W] -> out [batch,C,OD,OH,OW]. Padding never wins a max; a window entirely
// in padding gives -infinity. NaN propagates.
void max_pool3d(const Window3dShape& shape, const float* in, float* out);
// count_include_pad: divide by the window clipped to the padded input (pads included, the
// ceil_mode overhang not); else by the taps inside the input (a window with none gives 0).
void avg_pool3d(const Window3dShape& shape, const float* in, float* out, bool count_include_pad);
// weight [out_c, in_c/groups, KD, KH, KW] (ONNX's layout), bias [out_c] or nullptr.
void conv3d(const Window3dShape& shape, const float* in, const float* weight, const float* bias, float* out);
// Scatter form: input voxel i adds weight[c, :, k] * in to output voxel i*stride - pad_begin +
// k*dilation; taps outside the output are dropped (how pads and output_padding crop).
// weight [in_c, out_c/groups, KD, KH, KW], bias [out_c] or nullptr.
void conv_transpose3d(const Window3dShape& shape, const float* in, const float* weight, const float* bias, float* out);

}  // namespace tinyq::fk
