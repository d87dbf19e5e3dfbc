// Max, average and global pooling.
#include <algorithm>
#include <cmath>

#include "quant/quantize_node.hpp"
#include "util/error.hpp"

namespace tinyq::quant_detail {

QNode quantize_pool(const Context& ctx, const Node& node) {
  const Shape& x = ctx.graph.value(node.inputs[0]).shape;
  const Shape& y = ctx.graph.value(node.outputs[0]).shape;
  const QuantParam &in = ctx.param(node.inputs[0]), &out = ctx.param(node.outputs[0]);
  const bool global = node.op == Op::GlobalAvgPool || node.op == Op::GlobalMaxPool;
  const bool average = node.op == Op::AvgPool || node.op == Op::GlobalAvgPool;
  auto attr = [&](const char* key, std::size_t i, std::int64_t fallback) {
    if (global) return key == std::string("kernel") ? x[1 + i] : fallback;
    auto v = node.attrs.get_ints(key);
    return i < v.size() ? v[i] : fallback;
  };
  QNode q;
  q.kernel = average ? QKernel::AvgPool : QKernel::MaxPool;
  q.ints = {{"batch", x[0]},
            {"in_h", x[1]},
            {"in_w", x[2]},
            {"channels", x[3]},
            {"out_h", y[1]},
            {"out_w", y[2]},
            {"kernel_h", attr("kernel", 0, 1)},
            {"kernel_w", attr("kernel", 1, 1)},
            {"stride_h", attr("strides", 0, 1)},
            {"stride_w", attr("strides", 1, 1)},
            {"pad_top", attr("pads", 0, 0)},
            {"pad_left", attr("pads", 1, 0)},
            {"pad_bottom", attr("pads", 2, 0)},
            {"pad_right", attr("pads", 3, 0)}};
  set_activation_clamp(q, node, out);
  if (!average) {
    if (in.scale != out.scale || in.zero_point != out.zero_point)
      fail(node.name, "max pooling must keep its input's quantization");
    if (attr("dilations", 0, 1) != 1 || attr("dilations", 1, 1) != 1)
      fail(node.name, "no int8 kernel for dilated max pooling");
    return q;
  }
  q.ints["count_include_pad"] = global ? 1 : node.attrs.get_int("count_include_pad", 0);
  q.ints["input_offset"] = -in.zero_point;
  q.ints["output_offset"] = out.zero_point;
  if (ctx.nnom()) {
    // NNoM 0.4: integer division, truncated, same format in and out: small values vanish.
    if (in.scale != out.scale || in.zero_point != 0 || out.zero_point != 0)
      fail(node.name, "nnom average pooling needs equal power-of-two formats");
    q.ints["truncate"] = 1;
    return q;
  }
  q.ints["truncate"] = 0;
  // Its own output scale and a rounded division: one multiplier per possible tap count,
  // so border windows divide exactly (DESIGN: small values must not vanish).
  const std::int64_t taps = q.get("kernel_h") * q.get("kernel_w");
  append_multiplier(q, "count", 0.0);  // entry 0 unused
  for (std::int64_t n = 1; n <= taps; ++n)
    append_multiplier(q, "count", double(in.scale) / (double(out.scale) * double(n)));
  return q;
}

}  // namespace tinyq::quant_detail
