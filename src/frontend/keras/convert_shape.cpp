// Converters for Keras' data-movement and merge layers: Flatten, Reshape, Permute, the
// dropout family (identity at inference), Add / Subtract / Multiply / Average, Concatenate,
// ZeroPadding1D/2D, Cropping1D/2D, UpSampling1D/2D. Stored shapes are Keras' own
// (channels-last), so Keras' axis numbers apply as they are.
#include <numeric>

#include "frontend/keras/window.hpp"

namespace tinyq::keras_import {

namespace {

ValueId identity(LayerCall& c) { return c.input(); }

// Keras flattens in the order it stores (H, W, C): the IR's order, a plain Reshape. With
// data_format channels_first Keras first moves the channel axis last, then flattens.
ValueId convert_flatten(LayerCall& c) {
  ValueId x = c.input();
  Shape s = c.shape(x);
  if (s.size() < 2) c.fail("expects an input of rank 2 or more");
  if (c.text("data_format", "channels_last") == "channels_first" && s.size() >= 3) {
    Ints perm{0};
    for (std::size_t i = 2; i < s.size(); ++i) perm.push_back(std::int64_t(i));
    perm.push_back(1);
    Attributes a;
    a.set("perm", perm);
    x = c.emit(Op::Transpose, {x}, a, "channels_last");
  }
  return c.reshape(x, {s[0], element_count(s) / s[0]}, "flatten");
}

ValueId convert_reshape(LayerCall& c) {
  const ValueId x = c.input();
  const Shape s = c.shape(x);
  const auto& config = c.layer().config;
  auto it = config.find("target_shape");
  if (it == config.end() || !it->is_array() || it->empty() || it->size() > 6)
    c.fail("'target_shape' must be a list of 1 to 6 dimensions");
  Shape target = c.ints("target_shape", it->size(), 1, -1, kMaxElements);
  std::int64_t known = 1;
  int unknown = -1;
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (target[i] == -1) {
      if (unknown >= 0) c.fail("'target_shape' has more than one -1");
      unknown = int(i);
    } else if (target[i] == 0) {
      c.fail("'target_shape' has a 0 dimension");
    } else {
      known *= target[i];
      if (known > kMaxElements) c.fail("'target_shape' is too large");
    }
  }
  const std::int64_t count = element_count(s) / s[0];
  if (unknown >= 0) {
    if (count % known != 0) c.fail("cannot reshape {} to {}", shape_string(s), shape_string(target));
    target[std::size_t(unknown)] = count / known;
  } else if (known != count) {
    c.fail("cannot reshape {} to {}: {} elements per sample against {}", shape_string(s), shape_string(target), count,
           known);
  }
  target.insert(target.begin(), s[0]);
  Attributes a;
  a.set("shape", target);
  return c.emit(Op::Reshape, {x}, a, "reshape");
}

ValueId convert_permute(LayerCall& c) {
  const ValueId x = c.input();
  const auto rank = std::int64_t(c.shape(x).size());
  const Ints dims = c.ints("dims", std::size_t(rank - 1), 0, 1, rank - 1);
  Ints perm{0};
  std::vector<bool> seen(std::size_t(rank), false);
  for (std::int64_t d : dims) {
    if (seen[std::size_t(d)]) c.fail("'dims' repeats axis {}", d);
    seen[std::size_t(d)] = true;
    perm.push_back(d);
  }
  Attributes a;
  a.set("perm", perm);
  return c.emit(Op::Transpose, {x}, a, "permute");
}

// Keras merges tensors of one rank (its own rank expansion differs from numpy's, so other
// ranks are refused rather than broadcast differently).
void require_mergeable(LayerCall& c, std::size_t min_inputs) {
  if (c.inputs().size() < min_inputs) c.fail("needs at least {} inputs, got {}", min_inputs, c.inputs().size());
  for (ValueId v : c.inputs())
    if (c.shape(v).size() != c.shape(c.inputs()[0]).size())
      c.fail("inputs of different ranks ({} and {}) are not supported", shape_string(c.shape(c.inputs()[0])),
             shape_string(c.shape(v)));
}

ValueId convert_merge(LayerCall& c, Op op) {
  require_mergeable(c, 2);
  const auto& in = c.inputs();
  ValueId y = in[0];
  for (std::size_t i = 1; i < in.size(); ++i) y = c.emit(op, {y, in[i]}, {}, "merge_" + std::to_string(i));
  return y;
}

ValueId convert_subtract(LayerCall& c) {
  if (c.inputs().size() != 2) c.fail("needs exactly 2 inputs, got {}", c.inputs().size());
  require_mergeable(c, 2);
  return c.emit(Op::Sub, {c.inputs()[0], c.inputs()[1]}, {}, "subtract");
}

ValueId convert_average(LayerCall& c) {
  const ValueId sum = convert_merge(c, Op::Add);
  const ValueId inverse = c.constant("inverse_count", Tensor::scalar(1.0f / float(c.inputs().size())));
  return c.emit(Op::Mul, {sum, inverse}, {}, "average");
}

ValueId convert_concatenate(LayerCall& c) {
  require_mergeable(c, 1);
  if (c.inputs().size() == 1) return c.inputs()[0];
  const auto rank = std::int64_t(c.shape(c.inputs()[0]).size());
  std::int64_t axis = c.integer("axis", -1, -rank, rank - 1);
  if (axis < 0) axis += rank;
  if (axis == 0) c.fail("concatenation along the batch axis is not supported");
  Attributes a;
  a.set("axis", axis);
  return c.emit(Op::Concat, c.inputs(), a, "concat");
}

// ZeroPadding (sign +1) and Cropping (sign -1: the IR's Pad crops with negative pads).
ValueId convert_pad(LayerCall& c, int dims, int sign) {
  c.require_channels_last();
  const ValueId x = c.input();
  const Shape s = c.shape(x);
  if (s.size() != std::size_t(dims + 2)) c.fail("expects a {}-D input, got {}", dims + 2, shape_string(s));
  const auto pairs = padding_pairs(c, sign > 0 ? "padding" : "cropping", dims, sign > 0 ? 1 : 0);
  const std::size_t rank = s.size();
  Ints pads(2 * rank, 0);
  for (int i = 0; i < dims; ++i) {
    auto [before, after] = pairs[std::size_t(i)];
    if (sign < 0 && before + after >= s[std::size_t(1 + i)])
      c.fail("cropping {}+{} leaves nothing of size {}", before, after, s[std::size_t(1 + i)]);
    pads[std::size_t(1 + i)] = sign * before;
    pads[rank + std::size_t(1 + i)] = sign * after;
  }
  Attributes a;
  a.set("pads", pads);
  a.set("mode", std::string("constant"));
  a.set("value", 0.0f);
  return c.emit(Op::Pad, {x}, a, sign > 0 ? "zero_pad" : "crop");
}

// Nearest upsampling by whole factors: source index = floor(out / factor).
ValueId convert_upsampling(LayerCall& c, int dims) {
  c.require_channels_last();
  const ValueId x = to_nhwc(c, c.input(), dims);
  const Shape s = c.shape(x);
  const std::string interpolation = c.text("interpolation", "nearest");
  if (interpolation != "nearest") c.fail("interpolation '{}' is not supported (only nearest)", interpolation);
  const Ints size = c.ints("size", std::size_t(dims), 2, 1, 1024);
  Ints factor{1, 1};
  for (int i = 0; i < dims; ++i) factor[std::size_t(2 - dims + i)] = size[std::size_t(i)];
  Attributes a;
  a.set("mode", std::string("nearest"));
  a.set("sizes", Ints{s[0], s[1] * factor[0], s[2] * factor[1], s[3]});
  a.set("scales", std::vector<float>{1.0f, float(factor[0]), float(factor[1]), 1.0f});
  a.set("coordinate_transformation_mode", std::string("asymmetric"));
  a.set("nearest_mode", std::string("floor"));
  return from_nhwc(c, c.emit(Op::Resize, {x}, a, "upsample"), dims);
}

}  // namespace

void register_shape_converters(ConverterTable& t) {
  t["Flatten"] = convert_flatten;
  t["Reshape"] = convert_reshape;
  t["Permute"] = convert_permute;
  for (const char* name : {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout",
                           "AlphaDropout", "ActivityRegularization"})
    t[name] = identity;
  t["Add"] = [](LayerCall& c) { return convert_merge(c, Op::Add); };
  t["Multiply"] = [](LayerCall& c) { return convert_merge(c, Op::Mul); };
  t["Subtract"] = convert_subtract;
  t["Average"] = convert_average;
  t["Concatenate"] = convert_concatenate;
  t["ZeroPadding1D"] = [](LayerCall& c) { return convert_pad(c, 1, 1); };
  t["ZeroPadding2D"] = [](LayerCall& c) { return convert_pad(c, 2, 1); };
  t["Cropping1D"] = [](LayerCall& c) { return convert_pad(c, 1, -1); };
  t["Cropping2D"] = [](LayerCall& c) { return convert_pad(c, 2, -1); };
  t["UpSampling1D"] = [](LayerCall& c) { return convert_upsampling(c, 1); };
  t["UpSampling2D"] = [](LayerCall& c) { return convert_upsampling(c, 2); };
}

}  // namespace tinyq::keras_import
