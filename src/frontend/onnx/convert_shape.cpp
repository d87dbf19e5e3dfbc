// Converters for ops that move data without arithmetic: Constant, Shape and the shape
// arithmetic around it, Reshape/Flatten/Squeeze/Unsqueeze, Transpose, Concat, Pad, Resize.
// Gather, Slice and Split: convert_slice.cpp.
#include <algorithm>
#include <cmath>

#include "frontend/onnx/const_eval.hpp"
#include "frontend/onnx/importer.hpp"
#include "frontend/onnx/onnx_tensor.hpp"
#include "util/bytes.hpp"

namespace tinyq::onnx_import {

namespace {

using Ints = std::vector<std::int64_t>;

bool is_constant(Importer& im, ValueId v) { return im.graph().value(v).is_constant(); }

// Reshape a run-time value into `onnx_shape` (ONNX order). The data must be in ONNX
// order first, so an NHWC value gets a Transpose (a no-op the passes drop when H=W=1, or
// fold into a following Dense).
void emit_reshape(Importer& im, const onnx::NodeProto& node, ValueId x, const Shape& onnx_shape) {
  if (is_constant(im, x)) {
    im.define_constant(node.output(0), im.graph().value(x).constant->reshaped(onnx_shape));
    return;
  }
  x = im.to_layout(x, Layout::Plain, node.name());
  Attributes attrs;
  attrs.set("shape", Ints(onnx_shape.begin(), onnx_shape.end()));
  im.emit(node, Op::Reshape, {x}, attrs, Layout::Plain);
}

void convert_constant(Importer& im, const onnx::NodeProto& node) {
  if (auto* a = find_attr(node, "value")) {
    im.define_constant(node.output(0), tensor_from_onnx(a->t(), im.at(node)));
  } else if (auto* f = find_attr(node, "value_float")) {
    im.define_constant(node.output(0), Tensor::scalar(f->f()));
  } else if (auto* fs = find_attr(node, "value_floats")) {
    std::vector<float> v(fs->floats().begin(), fs->floats().end());
    im.define_constant(node.output(0), Tensor::from_floats({std::int64_t(v.size())}, v));
  } else if (auto* i = find_attr(node, "value_int")) {
    std::int64_t v = i->i();
    im.define_constant(node.output(0), Tensor::from_i64({}, std::span<const std::int64_t>(&v, 1)));
  } else if (auto* is = find_attr(node, "value_ints")) {
    Ints v(is->ints().begin(), is->ints().end());
    im.define_constant(node.output(0), Tensor::from_i64({std::int64_t(v.size())}, v));
  } else {
    fail(im.at(node), "Constant without a supported value attribute");
  }
}

void convert_shape_op(Importer& im, const onnx::NodeProto& node) {
  Shape s = im.source_shape(im.input(node, 0));
  std::int64_t rank = std::int64_t(s.size());
  std::int64_t start = attr_int(node, "start", 0), end = attr_int(node, "end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<std::int64_t>(start, 0, rank);
  end = std::clamp<std::int64_t>(end, start, rank);
  Ints dims(s.begin() + start, s.begin() + end);
  im.define_constant(node.output(0), Tensor::from_i64({std::int64_t(dims.size())}, dims));
}

void convert_constant_of_shape(Importer& im, const onnx::NodeProto& node) {
  Ints shape = im.constant_input(node, 0).as_i64();
  Tensor value = Tensor::scalar(0.0f);
  if (auto* a = find_attr(node, "value")) value = tensor_from_onnx(a->t(), im.at(node));
  if (const std::int64_t n = element_count(Shape(shape.begin(), shape.end()), im.at(node)); n > kMaxGeneratedValues)
    fail(im.at(node), "ConstantOfShape of {} values is beyond tinyq's limit of {}", n, kMaxGeneratedValues);
  Tensor out(value.dtype(), Shape(shape.begin(), shape.end()));
  const std::size_t es = dtype_size(value.dtype());
  for (std::int64_t i = 0; i < out.numel(); ++i)
    copy_bytes(out.bytes().data() + i * std::int64_t(es), value.bytes().data(), es);
  im.define_constant(node.output(0), std::move(out));
}

void convert_concat(Importer& im, const onnx::NodeProto& node) {
  std::vector<ValueId> inputs;
  bool all_constant = true, any_nhwc = false;
  for (int i = 0; i < node.input_size(); ++i) {
    if (node.input(i).empty()) continue;
    ValueId v = im.input(node, i);
    inputs.push_back(v);
    all_constant = all_constant && is_constant(im, v);
    any_nhwc = any_nhwc || im.graph().value(v).layout == Layout::NHWC;
  }
  if (inputs.empty()) fail(im.at(node), "Concat without inputs");
  std::size_t rank = im.graph().value(inputs[0]).shape.size();
  int axis = normalize_axis(im, node, attr_int(node, "axis", 0), rank);
  if (all_constant) {
    std::vector<Tensor> parts;
    for (auto v : inputs) parts.push_back(*im.graph().value(v).constant);
    im.define_constant(node.output(0), eval_concat(parts, axis, im.at(node)));
    return;
  }
  Layout layout = any_nhwc && rank == 4 ? Layout::NHWC : Layout::Plain;
  for (auto& v : inputs) {
    if (im.graph().value(v).shape.size() != rank) fail(im.at(node), "Concat inputs of different rank");
    v = im.to_layout(v, layout, node.name());
  }
  Attributes attrs;
  attrs.set("axis", std::int64_t(layout == Layout::NHWC ? kNchwToNhwcAxis[axis] : axis));
  im.emit(node, Op::Concat, inputs, attrs, layout);
}

// Resolve ONNX Reshape's 0 (copy) and -1 (infer) entries against the input's ONNX shape.
Shape resolve_reshape(Importer& im, const onnx::NodeProto& node, const Shape& in, Ints target) {
  bool allow_zero = attr_int(node, "allowzero", 0) != 0;
  std::int64_t known = 1;
  int infer = -1;
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (target[i] == 0 && !allow_zero) {
      if (i >= in.size()) fail(im.at(node), "Reshape copies dimension {} that the input lacks", i);
      target[i] = in[i];
    }
    if (target[i] == -1) {
      if (infer >= 0) fail(im.at(node), "Reshape has more than one -1");
      infer = int(i);
    } else if (target[i] < 0) {
      fail(im.at(node), "Reshape dimension {} is negative", target[i]);
    } else {
      // Checked before multiplying: a dimension of 2^63 - 1 overflowed the product (fuzzer find).
      if (target[i] > kMaxElements || (target[i] > 0 && known > kMaxElements / target[i]))
        fail(im.at(node), "Reshape target too large");
      known *= target[i];
    }
  }
  std::int64_t total = element_count(in, im.at(node));
  if (infer >= 0) {
    if (known == 0 || total % known != 0) fail(im.at(node), "Reshape cannot infer -1 for {} elements", total);
    target[std::size_t(infer)] = total / known;
  }
  if (element_count(target, im.at(node)) != total)
    fail(im.at(node), "Reshape from {} to {} changes the element count", shape_string(in), shape_string(target));
  return target;
}

void convert_reshape(Importer& im, const onnx::NodeProto& node) {
  ValueId x = im.input(node, 0);
  Ints target = im.opset() < 5 ? attr_ints(node, "shape") : im.constant_input(node, 1).as_i64();
  emit_reshape(im, node, x, resolve_reshape(im, node, im.source_shape(x), target));
}

void convert_flatten(Importer& im, const onnx::NodeProto& node) {
  ValueId x = im.input(node, 0);
  Shape s = im.source_shape(x);
  int axis = int(attr_int(node, "axis", 1));
  if (axis < 0) axis += int(s.size());
  if (axis < 0 || axis > int(s.size())) fail(im.at(node), "Flatten axis out of range");
  // Each side's product checked: an empty input may declare huge other dimensions (fuzzer).
  const std::int64_t rows = element_count(Shape(s.begin(), s.begin() + axis), im.at(node));
  const std::int64_t cols = element_count(Shape(s.begin() + axis, s.end()), im.at(node));
  emit_reshape(im, node, x, {rows, cols});
}

Ints squeeze_axes(Importer& im, const onnx::NodeProto& node) {
  if (im.opset() >= 13) {
    if (auto a = im.optional_constant(node, 1)) return a->as_i64();
    return {};
  }
  return attr_ints(node, "axes");
}

void convert_squeeze(Importer& im, const onnx::NodeProto& node) {
  ValueId x = im.input(node, 0);
  Shape s = im.source_shape(x);
  Ints axes = squeeze_axes(im, node);
  std::vector<bool> drop(s.size(), false);
  if (axes.empty())
    for (std::size_t i = 0; i < s.size(); ++i) drop[i] = s[i] == 1;
  for (auto a : axes) {
    int axis = normalize_axis(im, node, a, s.size());
    if (s[std::size_t(axis)] != 1) fail(im.at(node), "cannot squeeze axis {} of size {}", axis, s[std::size_t(axis)]);
    drop[std::size_t(axis)] = true;
  }
  Shape out;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!drop[i]) out.push_back(s[i]);
  emit_reshape(im, node, x, out);
}

void convert_unsqueeze(Importer& im, const onnx::NodeProto& node) {
  ValueId x = im.input(node, 0);
  Shape s = im.source_shape(x);
  Ints axes = squeeze_axes(im, node);
  const std::size_t rank = s.size() + axes.size();
  std::vector<bool> inserted(rank, false);
  for (auto a : axes) {
    int axis = normalize_axis(im, node, a, rank);
    if (inserted[std::size_t(axis)]) fail(im.at(node), "Unsqueeze repeats axis {}", axis);
    inserted[std::size_t(axis)] = true;
  }
  Shape out;
  std::size_t next = 0;
  for (std::size_t i = 0; i < rank; ++i) out.push_back(inserted[i] ? 1 : s.at(next++));
  emit_reshape(im, node, x, out);
}

void convert_transpose(Importer& im, const onnx::NodeProto& node) {
  ValueId x = im.input(node, 0);
  const Value& v = im.graph().value(x);
  const std::size_t rank = v.shape.size();
  Ints perm = attr_ints(node, "perm");
  if (perm.empty())
    for (std::size_t i = 0; i < rank; ++i) perm.push_back(std::int64_t(rank - 1 - i));
  if (perm.size() != rank) fail(im.at(node), "perm has {} axes for rank {}", perm.size(), rank);
  for (auto& p : perm) p = normalize_axis(im, node, p, rank);
  if (v.is_constant()) {
    im.define_constant(node.output(0), v.constant->transposed(std::vector<int>(perm.begin(), perm.end())));
    return;
  }
  // Express the ONNX permutation on the stored axes; pick the output layout that makes it
  // the identity when there is one (e.g. NCHW->NHWC on data already stored NHWC is free).
  auto stored_of = [&](std::int64_t onnx_axis) {
    return v.layout == Layout::NHWC ? std::int64_t(kNchwToNhwcAxis[onnx_axis]) : onnx_axis;
  };
  Ints plain(rank), nhwc;
  for (std::size_t i = 0; i < rank; ++i) plain[i] = stored_of(perm[i]);
  auto is_identity = [](const Ints& p) {
    for (std::size_t i = 0; i < p.size(); ++i)
      if (p[i] != std::int64_t(i)) return false;
    return true;
  };
  if (rank == 4) {
    nhwc.resize(4);
    for (std::size_t i = 0; i < 4; ++i) nhwc[i] = stored_of(perm[std::size_t(kToNhwcPerm[i])]);
  }
  if (is_identity(plain) || (rank == 4 && is_identity(nhwc))) {
    Attributes attrs;
    attrs.set("shape", Ints(v.shape.begin(), v.shape.end()));
    // Same bytes, new meaning: a Reshape to the same shape relabels the layout.
    Layout layout = is_identity(plain) ? Layout::Plain : Layout::NHWC;
    im.emit(node, Op::Reshape, {x}, attrs, layout);
    return;
  }
  Attributes attrs;
  attrs.set("perm", plain);
  im.emit(node, Op::Transpose, {x}, attrs, Layout::Plain);
}

void convert_pad(Importer& im, const onnx::NodeProto& node) {
  ValueId x = im.input(node, 0);
  const Value& v = im.graph().value(x);
  const std::size_t rank = v.shape.size();
  std::string mode = attr_string(node, "mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge")
    fail(im.at(node), "Pad mode '{}' is not supported", mode);
  Ints pads;
  float value = 0.0f;
  if (im.opset() < 11) {
    pads = attr_ints(node, "pads");
    value = attr_float(node, "value", 0.0f);
  } else {
    pads = im.constant_input(node, 1).as_i64();
    if (auto c = im.optional_constant(node, 2); c && c->numel() > 0) value = c->as_f32()[0];
    if (im.has_input(node, 3)) {
      Ints axes = im.constant_input(node, 3).as_i64();
      Ints full(2 * rank, 0);
      if (pads.size() != 2 * axes.size()) fail(im.at(node), "Pad has {} pads for {} axes", pads.size(), axes.size());
      for (std::size_t i = 0; i < axes.size(); ++i) {
        std::size_t a = std::size_t(normalize_axis(im, node, axes[i], rank));
        full[a] = pads[i];
        full[a + rank] = pads[i + axes.size()];
      }
      pads = full;
    }
  }
  if (pads.size() != 2 * rank) fail(im.at(node), "Pad has {} pads for rank {}", pads.size(), rank);
  for (auto p : pads)
    if (p < 0 || p > 65536) fail(im.at(node), "pads must be in 0..65536 (negative pads are not supported)");
  Ints stored(2 * rank);
  for (std::size_t a = 0; a < rank; ++a) {
    std::size_t s = v.layout == Layout::NHWC ? std::size_t(kNchwToNhwcAxis[a]) : a;
    stored[s] = pads[a];
    stored[s + rank] = pads[a + rank];
  }
  Attributes attrs;
  attrs.set("pads", stored);
  attrs.set("mode", mode);
  attrs.set("value", value);
  im.emit(node, Op::Pad, {x}, attrs, v.layout);
}

// tf_crop_and_resize's region of interest (input 1: starts then ends, normalised, one pair
// per source axis) as the IR keeps it: {H start, H end, W start, W end}. N and C are not
// resized, so their region must map every index to itself.
std::vector<float> resize_roi(Importer& im, const onnx::NodeProto& node, const Shape& in) {
  auto roi_tensor = im.optional_constant(node, 1);
  if (!roi_tensor || roi_tensor->numel() != 8)
    fail(im.at(node), "tf_crop_and_resize needs a constant roi of 8 values (starts and ends of N, C, H, W)");
  const std::vector<float> roi = roi_tensor->as_f32();
  for (float r : roi)
    if (!std::isfinite(r)) fail(im.at(node), "roi values must be finite");
  for (std::size_t axis : {std::size_t(0), std::size_t(1)})
    if (in[axis] > 1 && (roi[axis] != 0.0f || roi[axis + 4] != 1.0f))
      fail(im.at(node), "a roi that crops the N or C axis is not supported");
  return {roi[2], roi[6], roi[3], roi[7]};
}

void convert_resize(Importer& im, const onnx::NodeProto& node) {
  bool upsample = node.op_type() == "Upsample";
  std::string mode = attr_string(node, "mode", "nearest");
  if (mode == "bilinear") mode = "linear";  // Upsample-7's older name
  if (mode != "nearest" && mode != "linear" && mode != "cubic")
    fail(im.at(node), "Resize mode '{}' is not supported (nearest, linear, cubic)", mode);
  ValueId x = im.to_layout(im.input(node, 0), Layout::NHWC, node.name());
  Shape in = im.source_shape(x);
  if (in.size() != 4) fail(im.at(node), "only 4-D (N,C,H,W) resizing is supported");
  std::vector<float> scales;
  Ints sizes;
  if (upsample) {
    scales = im.opset() < 9 ? attr_floats(node, "scales") : im.constant_input(node, 1).as_f32();
  } else if (im.opset() < 11) {
    scales = im.constant_input(node, 1).as_f32();
  } else {
    if (auto s = im.optional_constant(node, 2); s && s->numel() > 0) scales = s->as_f32();
    if (auto s = im.optional_constant(node, 3); s && s->numel() > 0) sizes = s->as_i64();
  }
  if (find_attr(node, "axes")) fail(im.at(node), "Resize with 'axes' is not supported");
  if (attr_int(node, "antialias", 0) != 0) fail(im.at(node), "Resize with antialias=1 is not supported");
  std::string policy = attr_string(node, "keep_aspect_ratio_policy", "stretch");
  if (policy != "stretch") fail(im.at(node), "keep_aspect_ratio_policy '{}' is not supported", policy);
  Shape out(4);
  if (!sizes.empty()) {
    if (sizes.size() != 4) fail(im.at(node), "sizes must have 4 entries");
    scales.clear();
    for (int i = 0; i < 4; ++i) {
      out[std::size_t(i)] = sizes[std::size_t(i)];
      scales.push_back(float(sizes[std::size_t(i)]) / float(in[std::size_t(i)]));
    }
  } else {
    if (scales.size() != 4) fail(im.at(node), "scales must have 4 entries");
    for (int i = 0; i < 4; ++i) {
      if (!(scales[std::size_t(i)] > 0) || scales[std::size_t(i)] > 1024)
        fail(im.at(node), "scale must be in (0, 1024]");
      // In double and bounded before the conversion: a huge input dimension times the scale
      // would not fit int64 (found by the fuzzer).
      const double size = std::floor(double(in[std::size_t(i)]) * double(scales[std::size_t(i)]));
      if (!(size < 0x1p62)) fail(im.at(node), "output dimension {} of {} is too large", i, size);
      out[std::size_t(i)] = std::int64_t(size);
    }
  }
  if (out[0] != in[0] || out[1] != in[1]) fail(im.at(node), "only spatial (H, W) resizing is supported");
  std::string coord =
      upsample || im.opset() < 11 ? "asymmetric" : attr_string(node, "coordinate_transformation_mode", "half_pixel");
  std::string nearest = upsample || im.opset() < 11 ? "floor" : attr_string(node, "nearest_mode", "round_prefer_floor");
  // tf_half_pixel_for_nn is nearest's own; tf_crop_and_resize is implemented by the
  // interpolating kernels only (nearest with a crop region has no user yet).
  const bool interpolating = mode != "nearest";
  if (coord != "half_pixel" && coord != "pytorch_half_pixel" && coord != "align_corners" && coord != "asymmetric" &&
      !(coord == "tf_half_pixel_for_nn" && !interpolating) && !(coord == "tf_crop_and_resize" && interpolating))
    fail(im.at(node), "coordinate_transformation_mode {} is not supported with mode {}", coord, mode);
  if (nearest != "round_prefer_floor" && nearest != "round_prefer_ceil" && nearest != "floor" && nearest != "ceil")
    fail(im.at(node), "unknown nearest_mode '{}'", nearest);
  Attributes attrs;
  attrs.set("sizes", Ints{out[0], out[2], out[3], out[1]});
  attrs.set("scales", std::vector<float>{scales[0], scales[2], scales[3], scales[1]});
  attrs.set("coordinate_transformation_mode", coord);
  attrs.set("nearest_mode", nearest);
  if (interpolating) {
    attrs.set("mode", mode);
    // From sizes, ONNX's scale is sizes / input exactly; the float scales above are rounded,
    // which moves align_corners' and pytorch_half_pixel's "one output pixel" tests.
    if (!sizes.empty()) attrs.set("scale_from_sizes", std::int64_t{1});
    if (!upsample && im.opset() >= 11) {
      const float a = attr_float(node, "cubic_coeff_a", -0.75f);
      const float extrapolation = attr_float(node, "extrapolation_value", 0.0f);
      if (!std::isfinite(a) || !std::isfinite(extrapolation))
        fail(im.at(node), "cubic_coeff_a and extrapolation_value must be finite");
      attrs.set("cubic_coeff_a", a);
      attrs.set("exclude_outside", std::int64_t(attr_int(node, "exclude_outside", 0) != 0));
      attrs.set("extrapolation_value", extrapolation);
    }
    if (coord == "tf_crop_and_resize") attrs.set("roi", resize_roi(im, node, in));
  }
  im.emit(node, Op::Resize, {x}, attrs, Layout::NHWC);
}

}  // namespace

void register_shape_converters(ConverterTable& t) {
  t["Constant"] = convert_constant;
  t["Shape"] = convert_shape_op;
  t["ConstantOfShape"] = convert_constant_of_shape;
  t["Concat"] = convert_concat;
  t["Reshape"] = convert_reshape;
  t["Flatten"] = convert_flatten;
  t["Squeeze"] = convert_squeeze;
  t["Unsqueeze"] = convert_unsqueeze;
  t["Transpose"] = convert_transpose;
  t["Pad"] = convert_pad;
  t["Resize"] = convert_resize;
  t["Upsample"] = convert_resize;
  register_slice_converters(t);  // Gather, Slice, Split (convert_slice.cpp)
}

}  // namespace tinyq::onnx_import
