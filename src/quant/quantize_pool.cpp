// Max, average and global pooling.
#include <algorithm>
#include <cmath>

#include "qmodel/kernel_fields.hpp"
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
  auto p32 = [&](std::int64_t v) { return param32(node, v); };
  const Clamp clamp = activation_clamp(node, out);
  const rt::PoolParams pool{.batch = p32(x[0]),
                            .in_h = p32(x[1]),
                            .in_w = p32(x[2]),
                            .channels = p32(x[3]),
                            .out_h = p32(y[1]),
                            .out_w = p32(y[2]),
                            .kernel_h = p32(attr("kernel", 0, 1)),
                            .kernel_w = p32(attr("kernel", 1, 1)),
                            .stride_h = p32(attr("strides", 0, 1)),
                            .stride_w = p32(attr("strides", 1, 1)),
                            .pad_top = p32(attr("pads", 0, 0)),
                            .pad_left = p32(attr("pads", 1, 0)),
                            .pad_bottom = p32(attr("pads", 2, 0)),
                            .pad_right = p32(attr("pads", 3, 0)),
                            .act_min = clamp.min,
                            .act_max = clamp.max};
  if (!average) {
    if (in.scale != out.scale || in.zero_point != out.zero_point)
      fail(node.name, "max pooling must keep its input's quantization");
    write_scalars(q, pool);
    return q;
  }
  // NNoM 0.4: integer division, truncated, same format in and out: small values vanish.
  const bool truncate = ctx.nnom();
  if (truncate && (in.scale != out.scale || in.zero_point != 0 || out.zero_point != 0))
    fail(node.name, "nnom average pooling needs equal power-of-two formats");
  write_scalars(q, rt::AvgPoolParams{.pool = pool,
                                     .count_include_pad = p32(global ? 1 : node.attrs.get_int("count_include_pad", 0)),
                                     .input_offset = -in.zero_point,
                                     .output_offset = out.zero_point,
                                     .count_multiplier = nullptr,
                                     .count_shift = nullptr,
                                     .truncate = truncate ? 1 : 0});
  if (truncate) return q;
  // Its own output scale and a rounded division: one multiplier per possible tap count,
  // so border windows divide exactly (docs/DESIGN.md: small values must not vanish).
  set_count_multipliers(q, std::int64_t(pool.kernel_h) * pool.kernel_w, in.scale, out.scale);
  return q;
}

void set_count_multipliers(QNode& q, std::int64_t taps, double in_scale, double out_scale) {
  auto& multipliers = q.i32[key_of(&rt::AvgPoolParams::count_multiplier)];
  auto& shifts = q.i32[key_of(&rt::AvgPoolParams::count_shift)];
  multipliers.clear();
  shifts.clear();
  for (std::int64_t n = 0; n <= taps; ++n) {  // entry 0 unused
    const QuantizedMultiplier m = quantize_multiplier(n == 0 ? 0.0 : in_scale / (out_scale * double(n)));
    multipliers.push_back(m.multiplier);
    shifts.push_back(m.shift);
  }
}

}  // namespace tinyq::quant_detail
