#include "ir/shape_inference.hpp"

#include <algorithm>
#include <limits>

#include "ir/recurrent.hpp"
#include "ir/strided_view.hpp"
#include "util/error.hpp"

namespace tinyq {

Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& where) {
  Shape out(std::max(a.size(), b.size()), 1);
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::int64_t da = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    std::int64_t db = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    if (da != db && da != 1 && db != 1)
      fail(where, "shapes {} and {} cannot be broadcast together", shape_string(a), shape_string(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::int64_t window_output_size(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t dilation,
                                std::int64_t pad_begin, std::int64_t pad_end, bool ceil_mode) {
  // In 128-bit arithmetic: a hostile input size near 2^63 must not overflow (the callers reject
  // the result; it saturates at INT64_MAX). A stride below 1 has no windows.
  if (stride < 1) return 0;
  using Wide = __int128;
  const Wide span = Wide{in} + pad_begin + pad_end - Wide{dilation} * (Wide{kernel} - 1) - 1;
  if (span < 0) return 0;
  Wide out = ceil_mode ? (span + stride - 1) / stride + 1 : span / stride + 1;
  // ONNX/PyTorch rule: the last window must start inside the input or its begin padding.
  if (ceil_mode && (out - 1) * stride >= Wide{in} + pad_begin) --out;
  const Wide most = std::numeric_limits<std::int64_t>::max();
  return static_cast<std::int64_t>(out > most ? most : out);
}

namespace {

const Shape& input_shape(const Graph& g, const Node& n, std::size_t i) {
  if (i >= n.inputs.size() || n.inputs[i] == kNoValue) fail(n.name, "{} needs input {}", op_name(n.op), i);
  return g.value(n.inputs[i]).shape;
}

void require_rank(const Node& n, const Shape& s, std::size_t rank) {
  if (s.size() != rank) fail(n.name, "{} expects a rank-{} input, got {}", op_name(n.op), rank, shape_string(s));
}

std::int64_t attr_at(const Node& n, const char* key, std::size_t i, std::int64_t fallback) {
  auto v = n.attrs.get_ints(key);
  return i < v.size() ? v[i] : fallback;
}

Shape window_shape(const Graph& g, const Node& n, std::int64_t out_c, std::int64_t kh, std::int64_t kw) {
  const Shape& x = input_shape(g, n, 0);
  require_rank(n, x, 4);
  bool ceil_mode = n.attrs.get_int("ceil_mode", 0) != 0;
  // Checked here as well as at import: a .tqm file carries the float graph.
  constexpr std::int64_t kMaxAttr = std::int64_t{1} << 20;
  const auto in_range = [](std::int64_t v, std::int64_t lo) { return v >= lo && v <= kMaxAttr; };
  bool valid = in_range(kh, 1) && in_range(kw, 1);
  for (std::size_t i = 0; i < 2; ++i)
    valid = valid && in_range(attr_at(n, "strides", i, 1), 1) && in_range(attr_at(n, "dilations", i, 1), 1);
  for (std::size_t i = 0; i < 4; ++i) valid = valid && in_range(attr_at(n, "pads", i, 0), 0);
  if (!valid) fail(n.name, "{} kernel, strides, dilations or pads out of range", op_name(n.op));
  std::int64_t oh = window_output_size(x[1], kh, attr_at(n, "strides", 0, 1), attr_at(n, "dilations", 0, 1),
                                       attr_at(n, "pads", 0, 0), attr_at(n, "pads", 2, 0), ceil_mode);
  std::int64_t ow = window_output_size(x[2], kw, attr_at(n, "strides", 1, 1), attr_at(n, "dilations", 1, 1),
                                       attr_at(n, "pads", 1, 0), attr_at(n, "pads", 3, 0), ceil_mode);
  if (oh <= 0 || ow <= 0) fail(n.name, "window larger than the padded input {}", shape_string(x));
  if (oh > (std::int64_t{1} << 31) || ow > (std::int64_t{1} << 31))
    fail(n.name, "{} output would exceed 2^31 along an axis (input {})", op_name(n.op), shape_string(x));
  return {x[0], oh, ow, out_c};
}

// Output [N, out_c, D', H', W'] of a 3-D window over x[N,C,D,H,W] with a kernel of k; the
// attributes are checked here as well as at import (a .tqm file carries the float graph).
Shape window3d_shape(const Graph& g, const Node& n, std::int64_t out_c, const std::vector<std::int64_t>& k) {
  const Shape& x = input_shape(g, n, 0);
  require_rank(n, x, 5);
  const auto strides = n.attrs.get_ints("strides"), dilations = n.attrs.get_ints("dilations"),
             pads = n.attrs.get_ints("pads");
  if (k.size() != 3 || strides.size() != 3 || dilations.size() != 3 || pads.size() != 6)
    fail(n.name, "{} needs 3 kernel sizes, strides and dilations and 6 pads", op_name(n.op));
  const bool transposed = n.op == Op::ConvTranspose3d;
  auto output_padding = n.attrs.get_ints("output_padding");
  if (output_padding.empty()) output_padding.assign(3, 0);
  if (output_padding.size() != 3) fail(n.name, "{} needs 3 output_padding values", op_name(n.op));
  constexpr std::int64_t kMaxAttr = std::int64_t{1} << 20;
  Shape out{x[0], out_c, 0, 0, 0};
  for (std::size_t i = 0; i < 3; ++i) {
    if (k[i] < 1 || k[i] > kMaxAttr || strides[i] < 1 || strides[i] > kMaxAttr || dilations[i] < 1 ||
        dilations[i] > kMaxAttr || pads[i] < 0 || pads[i] > kMaxAttr || pads[i + 3] < 0 || pads[i + 3] > kMaxAttr ||
        output_padding[i] < 0 || output_padding[i] > kMaxAttr)
      fail(n.name, "{} kernel, strides, dilations, pads or output_padding out of range", op_name(n.op));
    // Bounded operands: these products fit int64 (x[i] < 2^31 after element_count).
    const std::int64_t size = transposed ? strides[i] * (x[2 + i] - 1) + output_padding[i] + (k[i] - 1) * dilations[i] +
                                               1 - pads[i] - pads[i + 3]
                                         : window_output_size(x[2 + i], k[i], strides[i], dilations[i], pads[i],
                                                              pads[i + 3], n.attrs.get_int("ceil_mode", 0) != 0);
    if (size <= 0) fail(n.name, "{} output would be empty (input {})", op_name(n.op), shape_string(x));
    if (size > (std::int64_t{1} << 31)) fail(n.name, "{} output would exceed 2^31 along an axis", op_name(n.op));
    out[2 + i] = size;
  }
  return out;
}

int normalize_axis(const Node& n, std::int64_t axis, std::size_t rank) {
  if (axis < 0) axis += std::int64_t(rank);
  if (axis < 0 || axis >= std::int64_t(rank)) fail(n.name, "axis {} out of range for rank {}", axis, rank);
  return int(axis);
}

}  // namespace

Shape infer_output_shape(const Graph& g, const Node& n) {
  if (is_binary_elementwise(n.op)) return broadcast_shapes(input_shape(g, n, 0), input_shape(g, n, 1), n.name);
  if (is_unary_elementwise(n.op)) return input_shape(g, n, 0);
  if (is_recurrent(n.op)) return recurrent_output_shape(g, n);
  switch (n.op) {
    case Op::Conv: {
      const Shape& x = input_shape(g, n, 0);
      const Shape& w = input_shape(g, n, 1);
      require_rank(n, w, 4);
      std::int64_t group = n.attrs.get_int("group", 1);
      if (x.size() == 4 && (group <= 0 || x[3] != w[3] * group || w[0] % group != 0))
        fail(n.name, "Conv input channels {} do not match weight {} with group {}", x.size() == 4 ? x[3] : 0,
             shape_string(w), group);
      return window_shape(g, n, w[0], w[1], w[2]);
    }
    case Op::ConvTranspose: {
      const Shape& x = input_shape(g, n, 0);
      const Shape& w = input_shape(g, n, 1);
      require_rank(n, x, 4);
      require_rank(n, w, 4);
      std::int64_t group = n.attrs.get_int("group", 1);
      if (x[3] != w[0]) fail(n.name, "ConvTranspose input channels {} do not match weight {}", x[3], shape_string(w));
      if (group < 1 || x[3] % group != 0)
        fail(n.name, "ConvTranspose group {} does not divide its {} input channels", group, x[3]);
      for (int i = 0; i < 2; ++i) {
        if (attr_at(n, "strides", i, 1) < 1 || attr_at(n, "dilations", i, 1) < 1)
          fail(n.name, "ConvTranspose strides and dilations must be at least 1");
        if (attr_at(n, "pads", i, 0) < 0 || attr_at(n, "pads", i + 2, 0) < 0 || attr_at(n, "output_padding", i, 0) < 0)
          fail(n.name, "ConvTranspose pads and output_padding must not be negative");
      }
      Shape out{x[0], 0, 0, w[3] * group};
      for (int i = 0; i < 2; ++i) {
        // In 128-bit arithmetic: hostile attributes (strides of 2^62) must not overflow.
        using Wide = __int128;
        const Wide size = Wide(attr_at(n, "strides", i, 1)) * (x[1 + i] - 1) + attr_at(n, "output_padding", i, 0) +
                          Wide(w[1 + i] - 1) * attr_at(n, "dilations", i, 1) + 1 - attr_at(n, "pads", i, 0) -
                          attr_at(n, "pads", i + 2, 0);
        if (size <= 0) fail(n.name, "ConvTranspose output would be empty");
        if (size > (Wide(1) << 31)) fail(n.name, "ConvTranspose output would exceed 2^31 rows or columns");
        out[1 + i] = std::int64_t(size);
      }
      return out;
    }
    case Op::Dense: {
      Shape x = input_shape(g, n, 0);
      const Shape& w = input_shape(g, n, 1);
      require_rank(n, w, 2);
      if (x.empty() || x.back() != w[1])
        fail(n.name, "Dense input {} does not match weight {}", shape_string(x), shape_string(w));
      x.back() = w[0];
      return x;
    }
    case Op::MatMul: {
      Shape a = input_shape(g, n, 0), b = input_shape(g, n, 1);
      if (a.empty() || b.empty()) fail(n.name, "MatMul of a scalar");
      bool a_vec = a.size() == 1, b_vec = b.size() == 1;
      if (a_vec) a.insert(a.begin(), 1);
      if (b_vec) b.push_back(1);
      if (a.back() != b[b.size() - 2])
        fail(n.name, "MatMul shapes {} and {} do not fit", shape_string(a), shape_string(b));
      Shape batch = broadcast_shapes(Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2), n.name);
      if (!a_vec) batch.push_back(a[a.size() - 2]);
      if (!b_vec) batch.push_back(b.back());
      return batch;
    }
    case Op::MaxPool:
    case Op::AvgPool: {
      const Shape& x = input_shape(g, n, 0);
      require_rank(n, x, 4);
      return window_shape(g, n, x[3], attr_at(n, "kernel", 0, 1), attr_at(n, "kernel", 1, 1));
    }
    case Op::MaxPool3d:
    case Op::AvgPool3d: {
      const Shape& x = input_shape(g, n, 0);
      require_rank(n, x, 5);
      return window3d_shape(g, n, x[1], n.attrs.get_ints("kernel"));
    }
    case Op::Conv3d:
    case Op::ConvTranspose3d: {
      const Shape& x = input_shape(g, n, 0);
      const Shape& w = input_shape(g, n, 1);
      require_rank(n, x, 5);
      require_rank(n, w, 5);
      const std::int64_t group = n.attrs.get_int("group", 1);
      if (group < 1 || x[1] % group != 0)
        fail(n.name, "{} group {} does not divide its {} input channels", op_name(n.op), group, x[1]);
      const bool transposed = n.op == Op::ConvTranspose3d;
      // Conv3d w[O, C/g, k...], ConvTranspose3d w[C, O/g, k...]; group <= C, so no product overflows.
      if (transposed ? w[0] != x[1] : (w[1] * group != x[1] || w[0] % group != 0))
        fail(n.name, "{} input channels {} do not match weight {} with group {}", op_name(n.op), x[1], shape_string(w),
             group);
      return window3d_shape(g, n, transposed ? w[1] * group : w[0], {w[2], w[3], w[4]});
    }
    case Op::GlobalAvgPool:
    case Op::GlobalMaxPool: {
      const Shape& x = input_shape(g, n, 0);
      require_rank(n, x, 4);
      return {x[0], 1, 1, x[3]};
    }
    case Op::ReduceMean: {
      const Shape& x = input_shape(g, n, 0);
      auto axes = n.attrs.get_ints("axes");
      bool keep = n.attrs.get_int("keepdims", 1) != 0;
      std::vector<bool> reduced(x.size(), axes.empty());
      for (auto a : axes) reduced[std::size_t(normalize_axis(n, a, x.size()))] = true;
      Shape out;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (!reduced[i])
          out.push_back(x[i]);
        else if (keep)
          out.push_back(1);
      }
      return out;
    }
    case Op::LayerNorm:
    case Op::ChannelAffine: return input_shape(g, n, 0);
    case Op::Softmax: {
      const Shape& x = input_shape(g, n, 0);
      normalize_axis(n, n.attrs.get_int("axis", -1), x.size());
      return x;
    }
    case Op::Concat: {
      Shape out = input_shape(g, n, 0);
      int axis = normalize_axis(n, n.attrs.get_int("axis", 0), out.size());
      for (std::size_t i = 1; i < n.inputs.size(); ++i) {
        const Shape& s = input_shape(g, n, i);
        if (s.size() != out.size()) fail(n.name, "Concat inputs of different rank");
        for (std::size_t d = 0; d < s.size(); ++d)
          if (int(d) != axis && s[d] != out[d])
            fail(n.name, "Concat input {} has shape {}, expected {} off axis {}", i, shape_string(s), shape_string(out),
                 axis);
        out[std::size_t(axis)] += s[std::size_t(axis)];
      }
      return out;
    }
    case Op::Reshape: {
      Shape out = n.attrs.get_ints("shape");
      if (element_count(out, n.name) != element_count(input_shape(g, n, 0), n.name))
        fail(n.name, "Reshape from {} to {} changes the element count", shape_string(input_shape(g, n, 0)),
             shape_string(out));
      return out;
    }
    case Op::Transpose: {
      const Shape& x = input_shape(g, n, 0);
      auto perm = n.attrs.get_ints("perm");
      if (perm.size() != x.size()) fail(n.name, "Transpose perm has {} axes for rank {}", perm.size(), x.size());
      Shape out(x.size());
      std::vector<bool> seen(x.size(), false);
      for (std::size_t i = 0; i < perm.size(); ++i) {
        int axis = normalize_axis(n, perm[i], x.size());
        if (seen[std::size_t(axis)]) fail(n.name, "Transpose perm repeats axis {}", axis);
        seen[std::size_t(axis)] = true;
        out[i] = x[std::size_t(axis)];
      }
      return out;
    }
    case Op::Slice: return strided_view(n, input_shape(g, n, 0)).shape;  // checks the resolved ranges
    case Op::Gather: {
      const Shape& x = input_shape(g, n, 0);
      strided_view(n, x);  // checks axis and indices
      const std::size_t axis = std::size_t(normalize_axis(n, n.attrs.get_int("axis", 0), x.size()));
      Shape out(x.begin(), x.begin() + std::ptrdiff_t(axis));
      for (auto d : n.attrs.get_ints("indices_shape")) out.push_back(d);
      out.insert(out.end(), x.begin() + std::ptrdiff_t(axis) + 1, x.end());
      return out;
    }
    case Op::Pad: {
      Shape out = input_shape(g, n, 0);
      auto pads = n.attrs.get_ints("pads");
      if (pads.size() != 2 * out.size()) fail(n.name, "Pad has {} pads for rank {}", pads.size(), out.size());
      for (std::size_t i = 0; i < out.size(); ++i) {
        std::int64_t grown = 0, size = 0;
        if (__builtin_add_overflow(pads[i], pads[i + out.size()], &grown) ||
            __builtin_add_overflow(out[i], grown, &size))
          fail(n.name, "Pad of {} and {} on axis {} of size {} overflows int64", pads[i], pads[i + out.size()], i,
               out[i]);
        out[i] = size;
        if (out[i] < 0) fail(n.name, "Pad makes a negative dimension");
      }
      return out;
    }
    case Op::Resize: {
      Shape out = n.attrs.get_ints("sizes");
      if (out.size() != input_shape(g, n, 0).size()) fail(n.name, "Resize sizes rank mismatch");
      return out;
    }
    default: break;  // elementwise ops: handled above
  }
  fail(n.name, "no shape rule for {}", op_name(n.op));
}

void infer_shapes(Graph& graph) {
  for (auto& node : graph.nodes) {
    Shape shape = infer_output_shape(graph, node);
    element_count(shape, node.name);
    for (auto out : node.outputs) graph.value(out).shape = shape;
  }
}

}  // namespace tinyq
