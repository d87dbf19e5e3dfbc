#pragma once
// Linear and cubic Resize (ONNX Resize's interpolating modes), NHWC, separable over H and W.
// The taps along one axis are computed once (resize_axis_taps) and shared by the float
// kernel and the int8 quantizer, so both read the same input pixels with the same weights.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.hpp"

namespace tinyq::fk {

// How output coordinates map to input coordinates and which neighbours are weighted.
struct ResizeAxisSpec {
  std::int64_t in_size = 1;
  std::int64_t out_size = 1;
  double scale = 1.0;                     // output length / input length, as the model gives it
  std::string coordinate_mode;            // half_pixel, pytorch_half_pixel, align_corners, asymmetric,
                                          // tf_crop_and_resize
  std::string mode;                       // linear or cubic
  double cubic_a = -0.75;                 // cubic_coeff_a
  bool exclude_outside = false;           // taps outside the input get weight 0, the rest renormalised
  double roi_start = 0.0, roi_end = 1.0;  // tf_crop_and_resize's region, normalised to [0, 1]
};

// For output index o: taps input indices index[o * taps + k] (always inside [0, in_size))
// with weights weight[o * taps + k]; outside[o] is true when tf_crop_and_resize maps o
// outside the input (the output is then the extrapolation value).
struct ResizeAxisTaps {
  int taps = 0;
  std::vector<std::int64_t> index;
  std::vector<double> weight;
  std::vector<std::uint8_t> outside;
};

// Throws tinyq::Error on an unknown mode or a non-positive scale.
ResizeAxisTaps resize_axis_taps(const ResizeAxisSpec& spec);

// in [batch, in_h, in_w, channels] -> out [batch, out_h, out_w, channels], where out_h and
// out_w are the tap tables' lengths.
void resize_interpolate(const float* in, std::int64_t batch, std::int64_t in_h, std::int64_t in_w,
                        std::int64_t channels, const ResizeAxisTaps& y, const ResizeAxisTaps& x,
                        float extrapolation_value, float* out);

// The H and W tap tables of an IR Resize node in linear or cubic mode (attributes mode,
// scales, coordinate_transformation_mode, cubic_coeff_a, exclude_outside, roi) from its NHWC
// input shape to its output shape. Throws tinyq::Error naming the node on anything the
// kernels cannot run (other ranks, batch or channel changes, unknown modes).
std::pair<ResizeAxisTaps, ResizeAxisTaps> resize_taps(const Node& node, const Shape& in, const Shape& out);

}  // namespace tinyq::fk
