#include "exec/float_ops.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "util/bytes.hpp"
#include "util/error.hpp"

namespace tinyq::fops {

namespace {

// Eigen's vectorised functions on one block of kBlock floats, 32-byte aligned and padded to
// whole packets: every element goes through the packet path. On an unaligned Map, Eigen
// peels the elements before the first aligned address and the tail after the last packet
// into its scalar path, which rounds differently (sigmoid of a very negative x: 0 from one
// path, a denormal from the other), so a value's result depended on where its buffer happened
// to start in memory, i.e. on malloc: a quantized model then differed from run to run.
constexpr std::int64_t kBlock = 256;

template <typename F>
void packet_blocks(const float* x, float* y, std::int64_t count, F f) {
  alignas(64) float in[kBlock], out[kBlock];
  Eigen::Map<const Eigen::ArrayXf, Eigen::Aligned32> a(in, kBlock);
  Eigen::Map<Eigen::ArrayXf, Eigen::Aligned32> b(out, kBlock);
  for (std::int64_t start = 0; start < count; start += kBlock) {
    const std::int64_t n = std::min(kBlock, count - start);
    std::memcpy(in, x + start, std::size_t(n) * sizeof(float));
    std::fill(in + n, in + kBlock, 0.0f);
    f(a, b);
    std::memcpy(y + start, out, std::size_t(n) * sizeof(float));
  }
}

}  // namespace

bool unary_vectorized(Op op, const float* x, float* y, std::int64_t count) {
  Eigen::Map<const Eigen::ArrayXf> in(x, count);
  Eigen::Map<Eigen::ArrayXf> out(y, count);
  switch (op) {
    // Exact in either path: no blocks needed.
    case Op::Relu: out = in.max(0.0f); return true;
    case Op::Neg: out = -in; return true;
    case Op::Sqrt: out = in.sqrt(); return true;
    // Approximations whose packet and scalar forms differ: always the packet form.
    case Op::Sigmoid: packet_blocks(x, y, count, [](auto& a, auto& b) { b = a.logistic(); }); return true;
    case Op::Tanh: packet_blocks(x, y, count, [](auto& a, auto& b) { b = a.tanh(); }); return true;
    case Op::Exp: packet_blocks(x, y, count, [](auto& a, auto& b) { b = a.exp(); }); return true;
    default: return false;
  }
}

bool unary_loop(Op op, const Attributes& attrs, const float* x, float* y, std::int64_t count) {
  // The same expressions as unary_function, in loops the compiler vectorises (no std::function
  // call per element: HardSigmoid was 7% of quantizing mobilenet_v3_small).
  switch (op) {
    case Op::Clip: {
      const float lo = attrs.get_float("min", -std::numeric_limits<float>::infinity());
      const float hi = attrs.get_float("max", std::numeric_limits<float>::infinity());
      for (std::int64_t i = 0; i < count; ++i) y[i] = std::min(std::max(x[i], lo), hi);
      return true;
    }
    case Op::LeakyRelu: {
      const float alpha = attrs.get_float("alpha", 0.01f);
      for (std::int64_t i = 0; i < count; ++i) y[i] = x[i] >= 0 ? x[i] : alpha * x[i];
      return true;
    }
    case Op::HardSigmoid: {
      const float alpha = attrs.get_float("alpha", 0.2f), beta = attrs.get_float("beta", 0.5f);
      for (std::int64_t i = 0; i < count; ++i) y[i] = std::clamp(alpha * x[i] + beta, 0.0f, 1.0f);
      return true;
    }
    case Op::HardSwish:
      for (std::int64_t i = 0; i < count; ++i) y[i] = x[i] * std::clamp(x[i] / 6.0f + 0.5f, 0.0f, 1.0f);
      return true;
    default: return false;
  }
}

std::function<float(float)> unary_function(Op op, const Attributes& attrs) {
  switch (op) {
    case Op::Relu: return [](float x) { return x > 0 ? x : 0.0f; };
    case Op::Clip: {
      float lo = attrs.get_float("min", -std::numeric_limits<float>::infinity());
      float hi = attrs.get_float("max", std::numeric_limits<float>::infinity());
      return [lo, hi](float x) { return std::min(std::max(x, lo), hi); };
    }
    case Op::LeakyRelu: {
      float alpha = attrs.get_float("alpha", 0.01f);
      return [alpha](float x) { return x >= 0 ? x : alpha * x; };
    }
    case Op::Sigmoid: return [](float x) { return 1.0f / (1.0f + std::exp(-x)); };
    case Op::Tanh: return [](float x) { return std::tanh(x); };
    case Op::HardSigmoid: {
      float alpha = attrs.get_float("alpha", 0.2f), beta = attrs.get_float("beta", 0.5f);
      return [alpha, beta](float x) { return std::clamp(alpha * x + beta, 0.0f, 1.0f); };
    }
    case Op::HardSwish: return [](float x) { return x * std::clamp(x / 6.0f + 0.5f, 0.0f, 1.0f); };
    case Op::Sqrt: return [](float x) { return std::sqrt(x); };
    case Op::Exp: return [](float x) { return std::exp(x); };
    case Op::Neg: return [](float x) { return -x; };
    case Op::Identity: return [](float x) { return x; };
    default: fail("", "{} is not a unary op", op_name(op));
  }
}

namespace {

template <typename F>
void broadcast_loop(const float* a, const Shape& a_shape, const float* b, const Shape& b_shape, float* out,
                    const Shape& out_shape, F f) {
  const std::size_t rank = out_shape.size();
  std::int64_t total = 1;
  for (auto d : out_shape) total *= d;
  if (a_shape == out_shape && b_shape == out_shape) {
    for (std::int64_t i = 0; i < total; ++i) out[i] = f(a[i], b[i]);
    return;
  }
  // Strides of a and b over the output's axes (0 where broadcast).
  std::vector<std::int64_t> sa(rank, 0), sb(rank, 0);
  auto fill = [&](const Shape& s, std::vector<std::int64_t>& st) {
    std::int64_t stride = 1;
    for (std::size_t i = s.size(); i-- > 0;) {
      std::size_t o = i + rank - s.size();
      st[o] = s[i] == 1 ? 0 : stride;
      stride *= s[i];
    }
  };
  fill(a_shape, sa);
  fill(b_shape, sb);
  if (rank == 0) {
    out[0] = f(a[0], b[0]);
    return;
  }
  const std::int64_t inner = out_shape[rank - 1];
  const std::int64_t ia = sa[rank - 1], ib = sb[rank - 1];
  std::vector<std::int64_t> index(rank, 0);
  std::int64_t oa = 0, ob = 0;
  for (std::int64_t o = 0; o < total; o += inner) {
    float* dst = out + o;
    // The common inner strides in loops of their own, which vectorise (a squeeze-excitation
    // scale is [N,H,W,C] * [N,1,1,C]: both 1).
    const float* pa = a + oa;
    const float* pb = b + ob;
    if (ia == 1 && ib == 1)
      for (std::int64_t i = 0; i < inner; ++i) dst[i] = f(pa[i], pb[i]);
    else if (ia == 1 && ib == 0)
      for (std::int64_t i = 0; i < inner; ++i) dst[i] = f(pa[i], pb[0]);
    else if (ia == 0 && ib == 1)
      for (std::int64_t i = 0; i < inner; ++i) dst[i] = f(pa[0], pb[i]);
    else
      for (std::int64_t i = 0; i < inner; ++i) dst[i] = f(pa[i * ia], pb[i * ib]);
    for (std::size_t axis = rank - 1; axis-- > 0;) {
      oa += sa[axis];
      ob += sb[axis];
      if (++index[axis] < out_shape[axis]) break;
      oa -= sa[axis] * out_shape[axis];
      ob -= sb[axis] * out_shape[axis];
      index[axis] = 0;
    }
  }
}

// (outer, axis, inner) view of a shape around one axis.
struct AxisView {
  std::int64_t outer = 1, dim = 1, inner = 1;
};
AxisView view_around(const Shape& shape, int axis) {
  AxisView v;
  for (int i = 0; i < int(shape.size()); ++i)
    (i < axis ? v.outer : i == axis ? v.dim : v.inner) *= shape[std::size_t(i)];
  return v;
}

}  // namespace

void binary(Op op, const float* a, const Shape& as, const float* b, const Shape& bs, float* out, const Shape& os) {
  switch (op) {
    case Op::Add: broadcast_loop(a, as, b, bs, out, os, [](float x, float y) { return x + y; }); break;
    case Op::Sub: broadcast_loop(a, as, b, bs, out, os, [](float x, float y) { return x - y; }); break;
    case Op::Mul: broadcast_loop(a, as, b, bs, out, os, [](float x, float y) { return x * y; }); break;
    case Op::Div: broadcast_loop(a, as, b, bs, out, os, [](float x, float y) { return x / y; }); break;
    case Op::Pow: broadcast_loop(a, as, b, bs, out, os, [](float x, float y) { return std::pow(x, y); }); break;
    case Op::PRelu: broadcast_loop(a, as, b, bs, out, os, [](float x, float s) { return x < 0 ? x * s : x; }); break;
    default: fail("", "{} is not a binary op", op_name(op));
  }
}

void softmax(const float* in, float* out, const Shape& shape, int axis) {
  AxisView v = view_around(shape, axis);
  for (std::int64_t o = 0; o < v.outer; ++o)
    for (std::int64_t i = 0; i < v.inner; ++i) {
      const float* x = in + o * v.dim * v.inner + i;
      float* y = out + o * v.dim * v.inner + i;
      float m = -std::numeric_limits<float>::infinity();
      for (std::int64_t d = 0; d < v.dim; ++d) m = std::max(m, x[d * v.inner]);
      float sum = 0;
      for (std::int64_t d = 0; d < v.dim; ++d) sum += (y[d * v.inner] = std::exp(x[d * v.inner] - m));
      for (std::int64_t d = 0; d < v.dim; ++d) y[d * v.inner] /= sum;
    }
}

void layer_norm(const float* in, const float* scale, const float* bias, float* out, const Shape& shape, int axis,
                float epsilon) {
  std::int64_t rows = 1, size = 1;
  for (int i = 0; i < int(shape.size()); ++i) (i < axis ? rows : size) *= shape[std::size_t(i)];
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* x = in + r * size;
    float* y = out + r * size;
    double mean = 0, var = 0;
    for (std::int64_t i = 0; i < size; ++i) mean += x[i];
    mean /= double(size);
    for (std::int64_t i = 0; i < size; ++i) var += (x[i] - mean) * (x[i] - mean);
    var /= double(size);
    float inv = float(1.0 / std::sqrt(var + double(epsilon)));
    for (std::int64_t i = 0; i < size; ++i) y[i] = (x[i] - float(mean)) * inv * scale[i] + bias[i];
  }
}

void channel_affine(const float* in, const float* scale, const float* shift, float* out, const Shape& shape, int axis) {
  AxisView v = view_around(shape, axis);
  for (std::int64_t o = 0; o < v.outer; ++o)
    for (std::int64_t c = 0; c < v.dim; ++c) {
      const float* x = in + (o * v.dim + c) * v.inner;
      float* y = out + (o * v.dim + c) * v.inner;
      for (std::int64_t i = 0; i < v.inner; ++i) y[i] = x[i] * scale[c] + shift[c];
    }
}

void reduce_mean(const float* in, float* out, const Shape& shape, const std::vector<std::int64_t>& axes) {
  const std::size_t rank = shape.size();
  std::vector<bool> reduced(rank, false);
  for (auto a : axes) reduced[std::size_t(a)] = true;
  Shape kept(rank);
  std::int64_t out_count = 1, in_count = 1;
  for (std::size_t i = 0; i < rank; ++i) {
    kept[i] = reduced[i] ? 1 : shape[i];
    out_count *= kept[i];
    in_count *= shape[i];
  }
  std::vector<double> acc(std::size_t(out_count), 0.0);
  std::vector<std::int64_t> index(rank, 0), out_strides(rank, 1);
  for (std::size_t i = rank; i-- > 1;) out_strides[i - 1] = out_strides[i] * kept[i];
  for (std::int64_t n = 0; n < in_count; ++n) {
    std::int64_t o = 0;
    for (std::size_t i = 0; i < rank; ++i)
      if (!reduced[i]) o += index[i] * out_strides[i];
    acc[std::size_t(o)] += in[n];
    for (std::size_t axis = rank; axis-- > 0;) {
      if (++index[axis] < shape[axis]) break;
      index[axis] = 0;
    }
  }
  const double count = double(in_count / std::max<std::int64_t>(out_count, 1));
  for (std::int64_t o = 0; o < out_count; ++o) out[o] = float(acc[std::size_t(o)] / count);
}

void concat(const std::vector<const float*>& inputs, const std::vector<Shape>& shapes, float* out, int axis) {
  std::int64_t outer = 1, out_row = 0;
  for (int i = 0; i < axis; ++i) outer *= shapes[0][std::size_t(i)];
  std::vector<std::int64_t> rows;
  for (auto& s : shapes) {
    std::int64_t row = 1;
    for (std::size_t i = std::size_t(axis); i < s.size(); ++i) row *= s[i];
    rows.push_back(row);
    out_row += row;
  }
  for (std::int64_t o = 0; o < outer; ++o) {
    float* dst = out + o * out_row;
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      copy_bytes(dst, inputs[k] + o * rows[k], std::size_t(rows[k]) * sizeof(float));
      dst += rows[k];
    }
  }
}

void pad(const float* in, const Shape& shape, float* out, const std::vector<std::int64_t>& pads,
         const std::string& mode, float value) {
  const std::size_t rank = shape.size();
  Shape out_shape(rank);
  std::int64_t total = 1;
  for (std::size_t i = 0; i < rank; ++i) {
    out_shape[i] = shape[i] + pads[i] + pads[i + rank];
    total *= out_shape[i];
  }
  std::vector<std::int64_t> in_strides(rank, 1), index(rank, 0);
  for (std::size_t i = rank; i-- > 1;) in_strides[i - 1] = in_strides[i] * shape[i];
  for (std::int64_t n = 0; n < total; ++n) {
    std::int64_t src = 0;
    bool inside = true;
    for (std::size_t i = 0; i < rank && inside; ++i) {
      std::int64_t c = index[i] - pads[i];
      const std::int64_t dim = shape[i];
      if (c < 0 || c >= dim) {
        if (mode == "constant" || dim == 0) {
          inside = false;
        } else if (mode == "edge") {
          c = std::clamp<std::int64_t>(c, 0, dim - 1);
        } else {  // reflect, repeated for pads wider than the axis
          if (dim == 1) {
            c = 0;
          } else {
            std::int64_t period = 2 * (dim - 1);
            c = ((c % period) + period) % period;
            if (c >= dim) c = period - c;
          }
        }
      }
      src += c * in_strides[i];
    }
    out[n] = inside ? in[src] : value;
    for (std::size_t axis = rank; axis-- > 0;) {
      if (++index[axis] < out_shape[axis]) break;
      index[axis] = 0;
    }
  }
}

namespace {
float source_coordinate(float x_out, float scale, std::int64_t in_size, std::int64_t out_size,
                        const std::string& mode) {
  if (mode == "asymmetric") return x_out / scale;
  if (mode == "align_corners") return out_size == 1 ? 0.0f : x_out * float(in_size - 1) / float(out_size - 1);
  if (mode == "pytorch_half_pixel") return out_size > 1 ? (x_out + 0.5f) / scale - 0.5f : 0.0f;
  if (mode == "tf_half_pixel_for_nn") return (x_out + 0.5f) / scale;
  return (x_out + 0.5f) / scale - 0.5f;  // half_pixel
}
std::int64_t nearest_index(float x, const std::string& mode, std::int64_t size) {
  std::int64_t i;
  if (mode == "floor")
    i = std::int64_t(std::floor(x));
  else if (mode == "ceil")
    i = std::int64_t(std::ceil(x));
  else if (mode == "round_prefer_ceil")
    i = std::int64_t(std::floor(x + 0.5f));
  else
    i = x == std::floor(x) + 0.5f ? std::int64_t(std::floor(x)) : std::int64_t(std::round(x));  // round_prefer_floor
  return std::clamp<std::int64_t>(i, 0, size - 1);
}
}  // namespace

std::vector<std::int64_t> nearest_source_indices(std::int64_t in_size, std::int64_t out_size, float scale,
                                                 const std::string& coordinate_mode, const std::string& nearest_mode) {
  std::vector<std::int64_t> src(static_cast<std::size_t>(out_size));
  for (std::int64_t o = 0; o < out_size; ++o)
    src[std::size_t(o)] =
        nearest_index(source_coordinate(float(o), scale, in_size, out_size, coordinate_mode), nearest_mode, in_size);
  return src;
}

void resize_nearest(const float* in, const Shape& is, float* out, const Shape& os, const std::vector<float>& scales,
                    const std::string& coordinate_mode, const std::string& nearest_mode) {
  const std::int64_t channels = is[3];
  const auto src_y = nearest_source_indices(is[1], os[1], scales[1], coordinate_mode, nearest_mode);
  const auto src_x = nearest_source_indices(is[2], os[2], scales[2], coordinate_mode, nearest_mode);
  for (std::int64_t n = 0; n < os[0]; ++n)
    for (std::int64_t y = 0; y < os[1]; ++y)
      for (std::int64_t x = 0; x < os[2]; ++x)
        copy_bytes(out + ((n * os[1] + y) * os[2] + x) * channels,
                   in + ((n * is[1] + src_y[std::size_t(y)]) * is[2] + src_x[std::size_t(x)]) * channels,
                   std::size_t(channels) * sizeof(float));
}

void clamp(float* data, std::int64_t count, float min, float max) {
  for (std::int64_t i = 0; i < count; ++i) data[i] = std::min(std::max(data[i], min), max);
}

}  // namespace tinyq::fops
