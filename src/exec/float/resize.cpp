#include "exec/float/resize.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "util/error.hpp"

namespace tinyq::fk {

namespace {

// Input coordinate of output index o, as ONNX's reference implementation computes it (in
// double). align_corners and tf_crop_and_resize divide by the real-valued output length
// scale * in_size, not by the rounded one: that is what the conformance data encodes for
// scales that do not give a whole number of pixels. Returns NaN for "outside".
double source_coordinate(const ResizeAxisSpec& s, std::int64_t o) {
  const double in = double(s.in_size), x = double(o);
  const double out_length = s.scale * in;
  const std::string& m = s.coordinate_mode;
  if (m == "half_pixel") return (x + 0.5) / s.scale - 0.5;
  if (m == "pytorch_half_pixel") return out_length == 1.0 ? -0.5 : (x + 0.5) / s.scale - 0.5;
  if (m == "asymmetric") return x / s.scale;
  if (m == "align_corners") return out_length == 1.0 ? 0.0 : x * (in - 1) / (out_length - 1);
  if (m == "tf_crop_and_resize") {
    const double span = s.roi_end - s.roi_start;
    double c = out_length == 1.0 ? span * (in - 1) / 2 : x * span * (in - 1) / (out_length - 1);
    c += s.roi_start * (in - 1);
    return c < 0 || c > in - 1 ? std::nan("") : c;
  }
  fail("", "coordinate_transformation_mode '{}' is not supported for {} resizing", m, s.mode);
}

// Weights of the taps at base-1 .. base+2 (cubic) or base, base+1 (linear) for a coordinate
// ratio in (0, 1] past base.
std::array<double, 4> coefficients(const ResizeAxisSpec& s, double r) {
  if (s.mode == "linear") return {1 - r, r, 0, 0};
  const double a = s.cubic_a, q = 1 - r;
  return {((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a, ((a + 2) * r - (a + 3)) * r * r + 1,
          ((a + 2) * q - (a + 3)) * q * q + 1, ((a * (q + 1) - 5 * a) * (q + 1) + 8 * a) * (q + 1) - 4 * a};
}

}  // namespace

ResizeAxisTaps resize_axis_taps(const ResizeAxisSpec& s) {
  if (s.mode != "linear" && s.mode != "cubic") fail("", "unknown interpolation mode '{}'", s.mode);
  if (!(s.scale > 0) || !std::isfinite(s.scale)) fail("", "scale must be positive and finite");
  if (s.in_size < 1 || s.out_size < 1) fail("", "sizes must be positive");
  ResizeAxisTaps t;
  t.taps = s.mode == "linear" ? 2 : 4;
  const auto n = std::size_t(t.taps);
  t.index.resize(std::size_t(s.out_size) * n);
  t.weight.resize(std::size_t(s.out_size) * n);
  t.outside.assign(std::size_t(s.out_size), 0);
  // The reference edge-pads the input by taps/2 and takes the `taps` padded pixels nearest
  // to the coordinate: a window that slides but never leaves the padded input.
  const std::int64_t pad = t.taps / 2;
  for (std::int64_t o = 0; o < s.out_size; ++o) {
    double x = source_coordinate(s, o);
    if (std::isnan(x)) {
      t.outside[std::size_t(o)] = 1;
      x = 0;  // taps stay valid indices; the kernel writes the extrapolation value instead
    }
    x = std::clamp(x, -double(1 << 30), double(1 << 30));  // huge coordinates: still a window at the edge
    // Prefer the pixel left of x: a whole-number x has ratio 1 to the pixel before it.
    double base = std::floor(x);
    double ratio = x - base;
    if (ratio == 0) {
      base -= 1;
      ratio = 1;
    }
    const std::array<double, 4> c = coefficients(s, ratio);
    std::int64_t first = std::int64_t(base) - (pad - 1);
    first = std::clamp<std::int64_t>(first + pad, 0, s.in_size + 2 * pad - t.taps) - pad;
    double sum = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const std::int64_t i = first + std::int64_t(k);
      double w = c[k];
      if (s.exclude_outside && (i < 0 || i >= s.in_size)) w = 0;
      t.index[std::size_t(o) * n + k] = std::clamp<std::int64_t>(i, 0, s.in_size - 1);
      t.weight[std::size_t(o) * n + k] = w;
      sum += w;
    }
    if (s.exclude_outside && sum != 0)
      for (std::size_t k = 0; k < n; ++k) t.weight[std::size_t(o) * n + k] /= sum;
  }
  return t;
}

std::pair<ResizeAxisTaps, ResizeAxisTaps> resize_taps(const Node& node, const Shape& in, const Shape& out) {
  if (in.size() != 4 || out.size() != 4 || in[0] != out[0] || in[3] != out[3])
    fail(node.name, "Resize {} -> {}: only spatial (H, W) resizing of 4-D tensors is supported", shape_string(in),
         shape_string(out));
  const auto scales = node.attrs.get_floats("scales");
  if (scales.size() != 4) fail(node.name, "Resize needs 4 scales, has {}", scales.size());
  const auto roi = node.attrs.get_floats("roi", {0, 1, 0, 1});
  if (roi.size() != 4) fail(node.name, "Resize roi needs 4 values (H start, end, W start, end), has {}", roi.size());
  for (float r : roi)
    if (!std::isfinite(r)) fail(node.name, "Resize roi must be finite");
  const double a = node.attrs.get_float("cubic_coeff_a", -0.75f);
  if (!std::isfinite(a)) fail(node.name, "cubic_coeff_a must be finite");
  ResizeAxisSpec spec;
  spec.coordinate_mode = node.attrs.get_string("coordinate_transformation_mode", "half_pixel");
  spec.mode = node.attrs.get_string("mode", "nearest");
  spec.cubic_a = a;
  spec.exclude_outside = node.attrs.get_int("exclude_outside", 0) != 0;
  try {
    ResizeAxisSpec y = spec, x = spec;
    y.in_size = in[1], y.out_size = out[1], y.scale = scales[1], y.roi_start = roi[0], y.roi_end = roi[1];
    x.in_size = in[2], x.out_size = out[2], x.scale = scales[2], x.roi_start = roi[2], x.roi_end = roi[3];
    if (node.attrs.get_int("scale_from_sizes", 0) != 0) {
      y.scale = double(out[1]) / double(in[1]);
      x.scale = double(out[2]) / double(in[2]);
    }
    return {resize_axis_taps(y), resize_axis_taps(x)};
  } catch (const Error& e) {
    fail(node.name, "{}", e.what());
  }
}

void resize_interpolate(const float* in, std::int64_t batch, std::int64_t in_h, std::int64_t in_w,
                        std::int64_t channels, const ResizeAxisTaps& y, const ResizeAxisTaps& x,
                        float extrapolation_value, float* out) {
  const auto out_h = std::int64_t(y.outside.size()), out_w = std::int64_t(x.outside.size());
  const auto ny = std::size_t(y.taps), nx = std::size_t(x.taps);
  std::vector<double> acc(static_cast<std::size_t>(channels));
  for (std::int64_t b = 0; b < batch; ++b) {
    const float* image = in + b * in_h * in_w * channels;
    for (std::int64_t oy = 0; oy < out_h; ++oy) {
      for (std::int64_t ox = 0; ox < out_w; ++ox) {
        float* dst = out + ((b * out_h + oy) * out_w + ox) * channels;
        if (y.outside[std::size_t(oy)] || x.outside[std::size_t(ox)]) {
          std::fill(dst, dst + channels, extrapolation_value);
          continue;
        }
        std::fill(acc.begin(), acc.end(), 0.0);
        for (std::size_t i = 0; i < ny; ++i) {
          const double wy = y.weight[std::size_t(oy) * ny + i];
          const float* row = image + y.index[std::size_t(oy) * ny + i] * in_w * channels;
          for (std::size_t j = 0; j < nx; ++j) {
            const double w = wy * x.weight[std::size_t(ox) * nx + j];
            const float* px = row + x.index[std::size_t(ox) * nx + j] * channels;
            for (std::int64_t ch = 0; ch < channels; ++ch) acc[std::size_t(ch)] += w * double(px[ch]);
          }
        }
        for (std::int64_t ch = 0; ch < channels; ++ch) dst[ch] = float(acc[std::size_t(ch)]);
      }
    }
  }
}

}  // namespace tinyq::fk
