#include "frontend/onnx/const_eval.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "ir/shape_inference.hpp"
#include "util/bytes.hpp"
#include "util/error.hpp"

namespace tinyq::onnx_import {

namespace {
std::vector<std::int64_t> strides_of(const Shape& s) {
  std::vector<std::int64_t> st(s.size(), 1);
  for (std::size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}
bool is_float(DType t) { return t == DType::f32; }
// Integer shape arithmetic done in double: out-of-range results (2^62 * 3, found by
// fuzz_onnx_import) saturate instead of being an undefined cast; NaN gives 0.
std::int64_t saturate_i64(double v) {
  if (v >= 9.2e18) return std::numeric_limits<std::int64_t>::max();
  if (v <= -9.2e18) return std::numeric_limits<std::int64_t>::min();
  return v == v ? std::int64_t(v) : 0;
}
}  // namespace

Tensor eval_binary(const Tensor& a, const Tensor& b, const std::function<double(double, double)>& fn,
                   const std::string& where) {
  Shape out_shape = broadcast_shapes(a.shape(), b.shape(), where);
  bool as_float = is_float(a.dtype()) || is_float(b.dtype());
  Tensor out(as_float ? DType::f32 : DType::i64, out_shape);
  auto av = a.as_f32(), bv = b.as_f32();
  auto ai = a.as_i64(), bi = b.as_i64();
  const std::size_t rank = out_shape.size();
  auto index_into = [&](const Shape& s, std::int64_t flat) {
    // Map an output index to the broadcast source index.
    auto st = strides_of(s);
    auto out_st = strides_of(out_shape);
    std::int64_t src = 0;
    for (std::size_t d = 0; d < rank; ++d) {
      std::int64_t coord = (flat / out_st[d]) % out_shape[d];
      std::size_t sd = d + s.size() - rank;
      if (d + s.size() >= rank && s[sd] != 1) src += coord * st[sd];
    }
    return std::size_t(src);
  };
  for (std::int64_t i = 0; i < out.numel(); ++i) {
    std::size_t ia = index_into(a.shape(), i), ib = index_into(b.shape(), i);
    if (as_float)
      out.data<float>()[std::size_t(i)] = float(fn(av[ia], bv[ib]));
    else
      out.data<std::int64_t>()[std::size_t(i)] = saturate_i64(fn(double(ai[ia]), double(bi[ib])));
  }
  return out;
}

Tensor eval_gather(const Tensor& data, const Tensor& indices, int axis, const std::string& where) {
  const Shape& ds = data.shape();
  if (axis < 0 || std::size_t(axis) >= ds.size()) fail(where, "Gather axis out of range");
  Shape out_shape(ds.begin(), ds.begin() + axis);
  out_shape.insert(out_shape.end(), indices.shape().begin(), indices.shape().end());
  out_shape.insert(out_shape.end(), ds.begin() + axis + 1, ds.end());
  Tensor out(data.dtype(), out_shape);
  // Checked: an empty tensor may declare huge other dimensions.
  const std::int64_t outer = element_count(Shape(ds.begin(), ds.begin() + axis), where);
  const std::int64_t inner = element_count(Shape(ds.begin() + axis + 1, ds.end()), where);
  const std::int64_t dim = ds[std::size_t(axis)];
  const std::size_t es = dtype_size(data.dtype());
  auto idx = indices.as_i64();
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::size_t k = 0; k < idx.size(); ++k) {
      std::int64_t j = idx[k] < 0 ? idx[k] + dim : idx[k];
      if (j < 0 || j >= dim) fail(where, "Gather index {} out of range for dimension {}", idx[k], dim);
      copy_bytes(out.bytes().data() + ((o * std::int64_t(idx.size()) + std::int64_t(k)) * inner) * std::int64_t(es),
                 data.bytes().data() + ((o * dim + j) * inner) * std::int64_t(es), std::size_t(inner) * es);
    }
  return out;
}

Tensor eval_slice(const Tensor& data, const std::vector<std::int64_t>& starts, const std::vector<std::int64_t>& ends,
                  const std::vector<std::int64_t>& axes_in, const std::vector<std::int64_t>& steps_in,
                  const std::string& where) {
  const Shape& ds = data.shape();
  const std::size_t rank = ds.size();
  std::vector<std::int64_t> begin(rank, 0), step(rank, 1);
  Shape out_shape = ds;
  if (starts.size() != ends.size()) fail(where, "Slice starts and ends differ in length");
  for (std::size_t i = 0; i < starts.size(); ++i) {
    std::int64_t axis = axes_in.empty() ? std::int64_t(i) : axes_in[i];
    if (axis < 0) axis += std::int64_t(rank);
    if (axis < 0 || axis >= std::int64_t(rank)) fail(where, "Slice axis out of range");
    std::int64_t dim = ds[std::size_t(axis)];
    std::int64_t st = steps_in.empty() ? 1 : steps_in[i];
    if (st == 0) fail(where, "Slice step 0");
    // Dimensions are below 2^31, so any step beyond +-2^32 selects the same elements (one at
    // most); clamping keeps the count arithmetic below from overflowing (-INT64_MIN is UB).
    st = std::clamp<std::int64_t>(st, -(std::int64_t{1} << 32), std::int64_t{1} << 32);
    auto clampi = [&](std::int64_t v, bool is_end) {
      if (v < 0) v += dim;
      if (st > 0) return std::clamp<std::int64_t>(v, 0, dim);
      return is_end ? std::clamp<std::int64_t>(v, -1, dim - 1) : std::clamp<std::int64_t>(v, 0, dim - 1);
    };
    std::int64_t s = clampi(starts[i], false), e = clampi(ends[i], true);
    std::int64_t count = st > 0 ? std::max<std::int64_t>(0, (e - s + st - 1) / st)
                                : std::max<std::int64_t>(0, (s - e + (-st) - 1) / (-st));
    begin[std::size_t(axis)] = s;
    step[std::size_t(axis)] = st;
    out_shape[std::size_t(axis)] = count;
  }
  Tensor out(data.dtype(), out_shape);
  auto in_st = strides_of(ds);
  const std::size_t es = dtype_size(data.dtype());
  std::vector<std::int64_t> coord(rank, 0);
  for (std::int64_t i = 0; i < out.numel(); ++i) {
    std::int64_t rem = i, src = 0;
    for (std::size_t d = rank; d-- > 0;) {
      coord[d] = rem % out_shape[d];
      rem /= out_shape[d];
      src += (begin[d] + coord[d] * step[d]) * in_st[d];
    }
    copy_bytes(out.bytes().data() + i * std::int64_t(es), data.bytes().data() + src * std::int64_t(es), es);
  }
  return out;
}

Tensor eval_concat(const std::vector<Tensor>& parts, int axis, const std::string& where) {
  if (parts.empty()) fail(where, "Concat of nothing");
  Shape out_shape = parts[0].shape();
  if (axis < 0 || std::size_t(axis) >= out_shape.size()) fail(where, "Concat axis out of range");
  DType type = parts[0].dtype();
  for (std::size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].shape().size() != out_shape.size()) fail(where, "Concat inputs of different rank");
    for (std::size_t d = 0; d < out_shape.size(); ++d)
      if (int(d) != axis && parts[i].shape()[d] != out_shape[d])
        fail(where, "Concat input {} has dimension {} of {} where the first input has {} (only axis {} may differ)", i,
             d, parts[i].shape()[d], out_shape[d], axis);
    out_shape[std::size_t(axis)] += parts[i].shape()[std::size_t(axis)];
    if (parts[i].dtype() != type) type = DType::f32;
  }
  Tensor out(type, out_shape);
  const std::int64_t outer = element_count(Shape(out_shape.begin(), out_shape.begin() + axis), where);
  const std::size_t es = dtype_size(type);
  std::int64_t offset = 0;
  std::int64_t out_row = out.numel() / std::max<std::int64_t>(outer, 1);
  for (auto& p0 : parts) {
    Tensor p = p0.cast(type);
    std::int64_t row = p.numel() / std::max<std::int64_t>(outer, 1);
    for (std::int64_t o = 0; o < outer; ++o)
      copy_bytes(out.bytes().data() + (o * out_row + offset) * std::int64_t(es),
                 p.bytes().data() + o * row * std::int64_t(es), std::size_t(row) * es);
    offset += row;
  }
  return out;
}

}  // namespace tinyq::onnx_import
