// 3-D window kernels, NCDHW. Every loop walks output voxels (or input voxels for the
// transposed convolution) and visits the window's taps that fall inside the input.
#include "exec/float/window3d.hpp"

#include <algorithm>
#include <cstddef>
#include <limits>

namespace tinyq::fk {
namespace {

std::size_t volume(const std::array<int, 3>& d) { return std::size_t(d[0]) * std::size_t(d[1]) * std::size_t(d[2]); }

// Taps k in [0, kernel) with lo <= start + k*dilation < hi.
int count_taps(int start, int kernel, int dilation, int lo, int hi) {
  int n = 0;
  for (int k = 0; k < kernel; ++k) {
    const int i = start + k * dilation;
    n += (i >= lo && i < hi) ? 1 : 0;
  }
  return n;
}

// Calls f(output voxel offset, window start per axis) for every output voxel of one plane.
template <typename F>
void for_each_output(const Window3dShape& s, F f) {
  std::size_t o = 0;
  for (int od = 0; od < s.out[0]; ++od)
    for (int oh = 0; oh < s.out[1]; ++oh)
      for (int ow = 0; ow < s.out[2]; ++ow, ++o)
        f(o, std::array<int, 3>{od * s.stride[0] - s.pad_begin[0], oh * s.stride[1] - s.pad_begin[1],
                                ow * s.stride[2] - s.pad_begin[2]});
}

// Calls f(input voxel offset, tap index in the kernel) for the window's taps inside the input.
template <typename F>
void for_each_tap(const Window3dShape& s, const std::array<int, 3>& start, F f) {
  for (int kd = 0; kd < s.kernel[0]; ++kd) {
    const int id = start[0] + kd * s.dilation[0];
    if (id < 0 || id >= s.in[0]) continue;
    for (int kh = 0; kh < s.kernel[1]; ++kh) {
      const int ih = start[1] + kh * s.dilation[1];
      if (ih < 0 || ih >= s.in[1]) continue;
      for (int kw = 0; kw < s.kernel[2]; ++kw) {
        const int iw = start[2] + kw * s.dilation[2];
        if (iw < 0 || iw >= s.in[2]) continue;
        f((std::size_t(id) * std::size_t(s.in[1]) + std::size_t(ih)) * std::size_t(s.in[2]) + std::size_t(iw),
          (std::size_t(kd) * std::size_t(s.kernel[1]) + std::size_t(kh)) * std::size_t(s.kernel[2]) + std::size_t(kw));
      }
    }
  }
}

}  // namespace

void max_pool3d(const Window3dShape& s, const float* in, float* out) {
  const std::size_t in_plane = volume(s.in), out_plane = volume(s.out);
  for (std::size_t p = 0; p < std::size_t(s.batch) * std::size_t(s.in_c); ++p) {
    const float* src = in + p * in_plane;
    float* dst = out + p * out_plane;
    for_each_output(s, [&](std::size_t o, const std::array<int, 3>& start) {
      float acc = -std::numeric_limits<float>::infinity();
      for_each_tap(s, start, [&](std::size_t i, std::size_t) {
        if (src[i] > acc || src[i] != src[i]) acc = src[i];  // a NaN wins and stays
      });
      dst[o] = acc;
    });
  }
}

void avg_pool3d(const Window3dShape& s, const float* in, float* out, bool count_include_pad) {
  const std::size_t in_plane = volume(s.in), out_plane = volume(s.out);
  for (std::size_t p = 0; p < std::size_t(s.batch) * std::size_t(s.in_c); ++p) {
    const float* src = in + p * in_plane;
    float* dst = out + p * out_plane;
    for_each_output(s, [&](std::size_t o, const std::array<int, 3>& start) {
      int taps = 1;
      for (int a = 0; a < 3; ++a)
        taps *= count_include_pad
                    ? count_taps(start[a], s.kernel[a], s.dilation[a], -s.pad_begin[a], s.in[a] + s.pad_end[a])
                    : count_taps(start[a], s.kernel[a], s.dilation[a], 0, s.in[a]);
      double sum = 0;
      for_each_tap(s, start, [&](std::size_t i, std::size_t) { sum += src[i]; });
      dst[o] = taps > 0 ? float(sum / taps) : 0.0f;
    });
  }
}

void conv3d(const Window3dShape& s, const float* in, const float* weight, const float* bias, float* out) {
  const int cin_g = s.in_c / s.groups, cout_g = s.out_c / s.groups;
  const std::size_t in_plane = volume(s.in), out_plane = volume(s.out), taps = volume(s.kernel);
  for (int b = 0; b < s.batch; ++b)
    for (int oc = 0; oc < s.out_c; ++oc) {
      const int g = oc / cout_g;
      const float* w_o = weight + std::size_t(oc) * std::size_t(cin_g) * taps;
      const float* src_g = in + (std::size_t(b) * std::size_t(s.in_c) + std::size_t(g) * std::size_t(cin_g)) * in_plane;
      float* dst = out + (std::size_t(b) * std::size_t(s.out_c) + std::size_t(oc)) * out_plane;
      for_each_output(s, [&](std::size_t o, const std::array<int, 3>& start) {
        double acc = bias ? bias[oc] : 0.0f;
        for (int ci = 0; ci < cin_g; ++ci) {
          const float* src = src_g + std::size_t(ci) * in_plane;
          const float* w = w_o + std::size_t(ci) * taps;
          for_each_tap(s, start, [&](std::size_t i, std::size_t k) { acc += double(src[i]) * w[k]; });
        }
        dst[o] = float(acc);
      });
    }
}

void conv_transpose3d(const Window3dShape& s, const float* in, const float* weight, const float* bias, float* out) {
  const int cin_g = s.in_c / s.groups, cout_g = s.out_c / s.groups;
  const std::size_t in_plane = volume(s.in), out_plane = volume(s.out), taps = volume(s.kernel);
  for (int b = 0; b < s.batch; ++b) {
    float* out_b = out + std::size_t(b) * std::size_t(s.out_c) * out_plane;
    for (int oc = 0; oc < s.out_c; ++oc)
      std::fill_n(out_b + std::size_t(oc) * out_plane, out_plane, bias ? bias[oc] : 0.0f);
    for (int c = 0; c < s.in_c; ++c) {
      const int g = c / cin_g;
      const float* src = in + (std::size_t(b) * std::size_t(s.in_c) + std::size_t(c)) * in_plane;
      std::size_t i = 0;
      for (int id = 0; id < s.in[0]; ++id)
        for (int ih = 0; ih < s.in[1]; ++ih)
          for (int iw = 0; iw < s.in[2]; ++iw, ++i) {
            const float v = src[i];
            const std::array<int, 3> first{id * s.stride[0] - s.pad_begin[0], ih * s.stride[1] - s.pad_begin[1],
                                           iw * s.stride[2] - s.pad_begin[2]};
            for (int kd = 0; kd < s.kernel[0]; ++kd) {
              const int od = first[0] + kd * s.dilation[0];
              if (od < 0 || od >= s.out[0]) continue;
              for (int kh = 0; kh < s.kernel[1]; ++kh) {
                const int oh = first[1] + kh * s.dilation[1];
                if (oh < 0 || oh >= s.out[1]) continue;
                for (int kw = 0; kw < s.kernel[2]; ++kw) {
                  const int ow = first[2] + kw * s.dilation[2];
                  if (ow < 0 || ow >= s.out[2]) continue;
                  const std::size_t o =
                      (std::size_t(od) * std::size_t(s.out[1]) + std::size_t(oh)) * std::size_t(s.out[2]) +
                      std::size_t(ow);
                  const std::size_t k =
                      (std::size_t(kd) * std::size_t(s.kernel[1]) + std::size_t(kh)) * std::size_t(s.kernel[2]) +
                      std::size_t(kw);
                  for (int j = 0; j < cout_g; ++j)
                    out_b[std::size_t(g * cout_g + j) * out_plane + o] +=
                        v * weight[(std::size_t(c) * std::size_t(cout_g) + std::size_t(j)) * taps + k];
                }
              }
            }
          }
    }
  }
}

}  // namespace tinyq::fk
