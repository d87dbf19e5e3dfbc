// Ops that move int8 data: reshape, concat, pad; and softmax's fixed output format.
#include <algorithm>
#include <cmath>

#include "exec/float_ops.hpp"
#include "quant/quantize_node.hpp"
#include "util/error.hpp"

namespace tinyq::quant_detail {

QNode quantize_data_movement(const Context& ctx, const Node& node) {
  const Shape& y = ctx.graph.value(node.outputs[0]).shape;
  const QuantParam& out = ctx.param(node.outputs[0]);
  QNode q;
  switch (node.op) {
    case Op::Reshape:
    case Op::Identity: q.kernel = QKernel::Reshape; return q;
    case Op::Concat: {
      q.kernel = QKernel::Concat;
      std::int64_t axis = node.attrs.get_int("axis", 0);
      if (axis < 0) axis += std::int64_t(y.size());
      std::int64_t outer = 1;
      for (std::int64_t d = 0; d < axis; ++d) outer *= y[std::size_t(d)];
      q.ints = {{"inputs", std::int64_t(node.inputs.size())}, {"outer", outer}, {"output_offset", out.zero_point}};
      for (ValueId in : node.inputs) {
        const QuantParam& p = ctx.param(in);
        q.i32["input_row"].push_back(std::int32_t(element_count(ctx.graph.value(in).shape) / outer));
        q.i32["input_offset"].push_back(-p.zero_point);
        if (p.scale == out.scale && p.zero_point == out.zero_point) {
          q.i32["multiplier"].push_back(0);  // same quantization: a plain copy
          q.i32["shift"].push_back(0);
        } else {
          QuantizedMultiplier m = quantize_multiplier(double(p.scale) / out.scale);
          if (m.multiplier == 0) fail(node.name, "concat input scale ratio too small to requantize");
          q.i32["multiplier"].push_back(m.multiplier);
          q.i32["shift"].push_back(m.shift);
        }
      }
      return q;
    }
    case Op::Pad: {
      const Shape& x = ctx.graph.value(node.inputs[0]).shape;
      auto pads = node.attrs.get_ints("pads");
      if (node.attrs.get_string("mode", "constant") != "constant" || x.size() != 4 || pads[0] || pads[3] || pads[4] ||
          pads[7])
        fail(node.name, "no int8 kernel for this Pad (only constant padding of H and W of a 4-D tensor)");
      const QuantParam& in = ctx.param(node.inputs[0]);
      q.kernel = QKernel::Pad;
      q.ints = {{"batch", x[0]},
                {"in_h", x[1]},
                {"in_w", x[2]},
                {"channels", x[3]},
                {"pad_top", pads[1]},
                {"pad_left", pads[2]},
                {"pad_bottom", pads[5]},
                {"pad_right", pads[6]},
                {"value", quantize_value(node.attrs.get_float("value", 0), in)}};
      return q;
    }
    case Op::Resize: {
      const Shape& x = ctx.graph.value(node.inputs[0]).shape;
      auto scales = node.attrs.get_floats("scales");
      const auto coord = node.attrs.get_string("coordinate_transformation_mode", "half_pixel");
      const auto nearest = node.attrs.get_string("nearest_mode", "round_prefer_floor");
      q.kernel = QKernel::Resize;
      q.ints = {{"batch", x[0]}, {"in_h", x[1]}, {"in_w", x[2]}, {"channels", x[3]}, {"out_h", y[1]}, {"out_w", y[2]}};
      for (auto i : fops::nearest_source_indices(x[1], y[1], scales.at(1), coord, nearest))
        q.i32["source_y"].push_back(std::int32_t(i));
      for (auto i : fops::nearest_source_indices(x[2], y[2], scales.at(2), coord, nearest))
        q.i32["source_x"].push_back(std::int32_t(i));
      return q;
    }
    default: fail(node.name, "no int8 kernel for {}", op_name(node.op));
  }
}

QNode quantize_softmax(const Context& ctx, const Node& node) {
  const Shape& x = ctx.graph.value(node.inputs[0]).shape;
  std::int64_t axis = node.attrs.get_int("axis", -1);
  if (axis < 0) axis += std::int64_t(x.size());
  if (axis != std::int64_t(x.size()) - 1) fail(node.name, "no int8 kernel for Softmax over a non-last axis");
  const QuantParam& in = ctx.param(node.inputs[0]);
  QNode q;
  q.kernel = QKernel::Softmax;
  q.ints = {{"rows", element_count(x) / x.back()}, {"depth", x.back()}};
  // exp(x_i - max) for every possible int8 difference d = max - q: computed here, once.
  for (int d = 0; d < 256; ++d)
    q.i32["exp_table"].push_back(std::int32_t(std::nearbyint(65536.0 * std::exp(-double(in.scale) * d))));
  return q;
}

}  // namespace tinyq::quant_detail
