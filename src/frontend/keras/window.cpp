#include "frontend/keras/window.hpp"

#include <algorithm>
#include <cctype>

namespace tinyq::keras_import {

ValueId to_nhwc(LayerCall& call, ValueId x, int dims) {
  const Shape s = call.shape(x);
  if (dims == 2) {
    if (s.size() != 4) call.fail("expects a 4-D input [batch, height, width, channels], got {}", shape_string(s));
    return x;
  }
  if (s.size() != 3) call.fail("expects a 3-D input [batch, steps, channels], got {}", shape_string(s));
  return call.reshape(x, {s[0], 1, s[1], s[2]}, "as_2d");
}

ValueId from_nhwc(LayerCall& call, ValueId y, int dims) {
  if (dims == 2) return y;
  const Shape s = call.shape(y);
  return call.reshape(y, {s[0], s[2], s[3]}, "as_1d");
}

Window read_window(const LayerCall& call, const Shape& x, int dims, const char* kernel_key, bool strides_default_kernel,
                   bool allow_causal) {
  if (!call.has(kernel_key)) call.fail("has no '{}'", kernel_key);
  const Ints kernel = call.ints(kernel_key, std::size_t(dims), 1, 1, kMaxWindow);
  const Ints strides = strides_default_kernel && !call.has("strides")
                           ? kernel
                           : call.ints("strides", std::size_t(dims), 1, 1, kMaxWindow);
  const Ints dilations = call.ints("dilation_rate", std::size_t(dims), 1, 1, kMaxWindow);
  std::string padding = call.text("padding", "valid");
  std::transform(padding.begin(), padding.end(), padding.begin(), [](unsigned char c) { return std::tolower(c); });
  Window w;
  const int first = 2 - dims;  // a 1-D window sits on the W axis
  for (int i = 0; i < dims; ++i) {
    w.kernel[std::size_t(first + i)] = kernel[std::size_t(i)];
    w.strides[std::size_t(first + i)] = strides[std::size_t(i)];
    w.dilations[std::size_t(first + i)] = dilations[std::size_t(i)];
  }
  if (padding == "same") {
    for (std::size_t i = 0; i < 2; ++i) {
      auto [before, after] = same_padding(x[1 + i], w.kernel[i], w.strides[i], w.dilations[i]);
      w.pads[i] = before;
      w.pads[i + 2] = after;
    }
  } else if (padding == "causal" && allow_causal) {
    w.pads[1] = (w.kernel[1] - 1) * w.dilations[1];  // all on the left: no step sees the future
  } else if (padding != "valid") {
    call.fail("padding '{}' is not supported (valid, same{})", padding, allow_causal ? ", causal" : "");
  }
  return w;
}

Attributes window_attrs(const Window& w) {
  Attributes a;
  a.set("strides", w.strides);
  a.set("dilations", w.dilations);
  a.set("pads", w.pads);
  return a;
}

std::vector<std::pair<std::int64_t, std::int64_t>> padding_pairs(const LayerCall& call, const char* key, int dims,
                                                                 std::int64_t fallback) {
  constexpr std::int64_t kMax = std::int64_t{1} << 20;
  const auto& config = call.layer().config;
  auto it = config.find(key);
  std::vector<std::pair<std::int64_t, std::int64_t>> pairs(std::size_t(dims), {fallback, fallback});
  if (it == config.end() || it->is_null()) return pairs;
  auto value = [&](const nlohmann::json& j) {
    if (!j.is_number_integer() || j.get<std::int64_t>() < 0 || j.get<std::int64_t>() > kMax ||
        (j.is_number_unsigned() && j.get<std::uint64_t>() > std::uint64_t(kMax)))
      call.fail("'{}' must hold integers in [0, {}]", key, kMax);
    return j.get<std::int64_t>();
  };
  const nlohmann::json& j = *it;
  if (j.is_number()) {
    const std::int64_t v = value(j);
    return std::vector<std::pair<std::int64_t, std::int64_t>>(std::size_t(dims), {v, v});
  }
  if (!j.is_array()) call.fail("'{}' must be an integer or a list", key);
  if (dims == 1) {
    if (j.size() != 2) call.fail("'{}' must be an integer or a [before, after] pair", key);
    return {{value(j[0]), value(j[1])}};
  }
  if (j.size() != 2) call.fail("'{}' must be an integer, a pair, or a pair per axis", key);
  for (std::size_t i = 0; i < 2; ++i) {
    if (j[i].is_array()) {
      if (j[i].size() != 2) call.fail("'{}' must hold [before, after] pairs", key);
      pairs[i] = {value(j[i][0]), value(j[i][1])};
    } else {
      const std::int64_t v = value(j[i]);  // (symmetric_height, symmetric_width)
      pairs[i] = {v, v};
    }
  }
  return pairs;
}

}  // namespace tinyq::keras_import
