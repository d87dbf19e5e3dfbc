// Converters for Keras' elementwise layers: Activation, ReLU, LeakyReLU, PReLU, Softmax and
// Rescaling (the preprocessing layer that often opens a Keras 2.6+ model).
#include <limits>

#include "frontend/keras/importer.hpp"

namespace tinyq::keras_import {

namespace {

using Ints = std::vector<std::int64_t>;

ValueId convert_activation(LayerCall& c) {
  const auto& config = c.layer().config;
  if (auto it = config.find("activation"); it != config.end() && !it->is_string() && !it->is_null())
    c.fail("'activation' must be a name (serialized activation objects are not supported)");
  return c.activation(c.input(), c.text("activation", "linear"), "");
}

// Keras: max_value if x >= max_value; x if threshold <= x < max_value; negative_slope *
// (x - threshold) otherwise. With threshold 0 that is Relu, Clip or LeakyRelu (+ Clip); a
// non-zero threshold has no IR form.
ValueId convert_relu(LayerCall& c) {
  const ValueId x = c.input();
  const std::optional<float> max_value = c.optional_number("max_value");
  const float slope = c.number("negative_slope", 0.0f);
  const float threshold = c.number("threshold", 0.0f);
  if (threshold != 0.0f) c.fail("threshold {} is not supported (only 0)", threshold);
  if (max_value && *max_value < 0) c.fail("max_value {} must not be negative", *max_value);
  if (slope < 0) c.fail("negative_slope {} must not be negative", slope);
  if (slope == 0.0f) {
    if (!max_value) return c.emit(Op::Relu, {x}, {}, "relu");
    Attributes a;
    a.set("min", 0.0f);
    a.set("max", *max_value);
    return c.emit(Op::Clip, {x}, a, "clip");
  }
  Attributes leaky;
  leaky.set("alpha", slope);
  const ValueId y = c.emit(Op::LeakyRelu, {x}, leaky, "leaky_relu");
  if (!max_value) return y;
  Attributes a;
  a.set("min", std::numeric_limits<float>::lowest());
  a.set("max", *max_value);
  return c.emit(Op::Clip, {y}, a, "clip");
}

ValueId convert_leaky_relu(LayerCall& c) {
  // Keras 2 calls the slope alpha (default 0.3); later versions negative_slope.
  const float alpha = c.has("alpha") ? c.number("alpha", 0.3f) : c.number("negative_slope", 0.3f);
  Attributes a;
  a.set("alpha", alpha);
  return c.emit(Op::LeakyRelu, {c.input()}, a, "leaky_relu");
}

// alpha has the input's shape without the batch axis, with size 1 on shared_axes.
ValueId convert_prelu(LayerCall& c) {
  const ValueId x = c.input();
  const Shape xs = c.shape(x);
  if (xs.size() < 2) c.fail("expects an input of rank 2 or more");
  Shape alpha(xs.begin() + 1, xs.end());
  const auto& config = c.layer().config;
  if (auto it = config.find("shared_axes"); it != config.end() && !it->is_null()) {
    const Ints axes = it->is_array() ? c.ints("shared_axes", it->size(), 1, 1, std::int64_t(alpha.size()))
                                     : c.ints("shared_axes", 1, 1, 1, std::int64_t(alpha.size()));
    for (std::int64_t a : axes) alpha[std::size_t(a - 1)] = 1;
  }
  std::vector<Tensor> w = c.weights({{"alpha", alpha}});
  const ValueId slope = c.constant("alpha", std::move(w[0]));
  return c.emit(Op::PRelu, {x, slope}, {}, "prelu");
}

ValueId convert_softmax(LayerCall& c) {
  const ValueId x = c.input();
  const auto rank = std::int64_t(c.shape(x).size());
  const auto& config = c.layer().config;
  std::int64_t axis = -1;
  if (auto it = config.find("axis"); it != config.end() && !it->is_null()) {
    if (it->is_array() && it->size() != 1) c.fail("softmax over several axes is not supported");
    axis = it->is_array() ? c.ints("axis", 1, -1, -rank, rank - 1)[0] : c.integer("axis", -1, -rank, rank - 1);
  }
  if (axis < 0) axis += rank;
  if (axis < 1) c.fail("softmax over the batch axis is not supported");
  Attributes a;
  a.set("axis", axis);
  return c.emit(Op::Softmax, {x}, a, "softmax");
}

// y = x * scale + offset (scalars; per-channel lists are not supported).
ValueId convert_rescaling(LayerCall& c) {
  const auto& config = c.layer().config;
  for (const char* key : {"scale", "offset"})
    if (auto it = config.find(key); it != config.end() && it->is_array())
      c.fail("a per-channel '{}' is not supported (only one number)", key);
  const float scale = c.number("scale", 1.0f), offset = c.number("offset", 0.0f);
  ValueId y = c.input();
  if (scale != 1.0f) y = c.emit(Op::Mul, {y, c.constant("scale", Tensor::scalar(scale))}, {}, "scale");
  if (offset != 0.0f) y = c.emit(Op::Add, {y, c.constant("offset", Tensor::scalar(offset))}, {}, "offset");
  return y;
}

}  // namespace

void register_activation_converters(ConverterTable& t) {
  t["Activation"] = convert_activation;
  t["ReLU"] = convert_relu;
  t["LeakyReLU"] = convert_leaky_relu;
  t["PReLU"] = convert_prelu;
  t["Softmax"] = convert_softmax;
  t["Rescaling"] = convert_rescaling;
}

}  // namespace tinyq::keras_import
