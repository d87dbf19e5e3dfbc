// Converters for Keras' pooling layers: MaxPooling1D/2D, AveragePooling1D/2D and the global
// average / max poolings. TensorFlow's 'same' pooling ignores the padded cells (max over
// real values, average over the count of real values): count_include_pad = 0.
#include "frontend/keras/window.hpp"

namespace tinyq::keras_import {

namespace {

ValueId convert_pool(LayerCall& c, Op op, int dims) {
  c.require_channels_last();
  const ValueId x = to_nhwc(c, c.input(), dims);
  if (!c.has("pool_size")) c.fail("has no 'pool_size'");
  const Window w = read_window(c, c.shape(x), dims, "pool_size", true, false);
  Attributes attrs = window_attrs(w);
  attrs.set("kernel", w.kernel);
  attrs.set("ceil_mode", std::int64_t{0});
  if (op == Op::AvgPool) attrs.set("count_include_pad", std::int64_t{0});
  const ValueId y = c.emit(op, {x}, attrs, op == Op::MaxPool ? "max_pool" : "avg_pool");
  return from_nhwc(c, y, dims);
}

// [N, H, W, C] -> [N, C] (keepdims: [N, 1, 1, C]); 1-D: [N, L, C] -> [N, C] or [N, 1, C].
ValueId convert_global_pool(LayerCall& c, Op op, int dims) {
  c.require_channels_last();
  const ValueId x = to_nhwc(c, c.input(), dims);
  const ValueId y = c.emit(op, {x}, {}, op == Op::GlobalAvgPool ? "global_avg_pool" : "global_max_pool");
  const Shape s = c.shape(y);
  if (c.flag("keepdims", false)) return dims == 2 ? y : c.reshape(y, {s[0], 1, s[3]}, "keepdims");
  return c.reshape(y, {s[0], s[3]}, "flat");
}

}  // namespace

void register_pool_converters(ConverterTable& t) {
  t["MaxPooling1D"] = [](LayerCall& c) { return convert_pool(c, Op::MaxPool, 1); };
  t["MaxPooling2D"] = [](LayerCall& c) { return convert_pool(c, Op::MaxPool, 2); };
  t["AveragePooling1D"] = [](LayerCall& c) { return convert_pool(c, Op::AvgPool, 1); };
  t["AveragePooling2D"] = [](LayerCall& c) { return convert_pool(c, Op::AvgPool, 2); };
  t["GlobalAveragePooling1D"] = [](LayerCall& c) { return convert_global_pool(c, Op::GlobalAvgPool, 1); };
  t["GlobalAveragePooling2D"] = [](LayerCall& c) { return convert_global_pool(c, Op::GlobalAvgPool, 2); };
  t["GlobalMaxPooling1D"] = [](LayerCall& c) { return convert_global_pool(c, Op::GlobalMaxPool, 1); };
  t["GlobalMaxPooling2D"] = [](LayerCall& c) { return convert_global_pool(c, Op::GlobalMaxPool, 2); };
}

}  // namespace tinyq::keras_import
