#pragma once
// Private helpers shared by the float kernels: Eigen views and the bias + activation epilogue.
#include <algorithm>
#include <cstddef>

// The executor parallelises across samples; Eigen must never start threads of its own.
#ifndef EIGEN_DONT_PARALLELIZE
#define EIGEN_DONT_PARALLELIZE
#endif
#include <Eigen/Core>

#include "exec/float/kernels.hpp"

namespace tinyq::fk::detail {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<RowMatrix>;
using ConstMatrixMap = Eigen::Map<const RowMatrix>;
// A column block of a wider row-major matrix (one group's channels of an NHWC tensor).
using StridedMatrixMap = Eigen::Map<RowMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;
using ConstStridedMatrixMap = Eigen::Map<const RowMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;

// min/max in this order keeps NaN (a NaN compares false, so both return their first argument).
inline float clamp(float v, Activation act) { return std::min(std::max(v, act.min), act.max); }

// data [rows, channels]: data[r,c] = act(data[r,c] + bias[c]); bias may be nullptr.
void add_bias_and_activate(std::size_t rows, int channels, const float* bias, float* data, Activation act);

// The direct NHWC loop for depthwise conv (groups == in_c, out_c == in_c * multiplier).
// `scratch` holds depthwise_scratch_floats(shape) floats.
bool is_depthwise(const Conv2dShape& shape);
std::size_t depthwise_scratch_floats(const Conv2dShape& shape);
void depthwise_conv2d(const Conv2dShape& shape, const float* in, const float* weight, const float* bias, float* out,
                      float* scratch, Activation act);

}  // namespace tinyq::fk::detail
