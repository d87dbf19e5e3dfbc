// Float executor steps of normalization (softmax, layer norm, per-channel affine) and data
// movement (concat, reshape, transpose, slice, gather, pad, resize).
#include <algorithm>
#include <cstring>
#include <memory>

#include "exec/float/resize.hpp"
#include "exec/float_ops.hpp"
#include "exec/float_step.hpp"
#include "ir/strided_view.hpp"
#include "util/bytes.hpp"
#include "util/error.hpp"

namespace tinyq::float_steps {

Step normalization_step(const StepContext& c) {
  const Node& node = c.node;
  const ValueId out = c.out;
  const Shape& out_shape = c.out_shape;
  const std::vector<ValueId>& ins = c.ins;
  switch (node.op) {
    case Op::Softmax: {
      int axis = int(node.attrs.get_int("axis", -1));
      if (axis < 0) axis += int(out_shape.size());
      return {[=](Workspace& ws) { fops::softmax(ws.ptr[ins[0]], ws.ptr[out], out_shape, axis); }, out};
    }
    case Op::LayerNorm: {
      int axis = int(node.attrs.get_int("axis", -1));
      if (axis < 0) axis += int(out_shape.size());
      float eps = node.attrs.get_float("epsilon", 1e-5f);
      return {c.with_clamp([=](Workspace& ws) {
                fops::layer_norm(ws.ptr[ins[0]], ws.ptr[ins[1]], ws.ptr[ins[2]], ws.ptr[out], out_shape, axis, eps);
              }),
              out};
    }
    case Op::ChannelAffine: {
      int axis = int(node.attrs.get_int("axis", 1));
      return {c.with_clamp([=](Workspace& ws) {
                fops::channel_affine(ws.ptr[ins[0]], ws.ptr[ins[1]], ws.ptr[ins[2]], ws.ptr[out], out_shape, axis);
              }),
              out};
    }
    default: break;
  }
  fail(node.name, "normalization step builder called for {}", op_name(node.op));
}

Step movement_step(const StepContext& c) {
  const Node& node = c.node;
  const ValueId out = c.out;
  const Shape& out_shape = c.out_shape;
  const std::int64_t out_count = c.out_count;
  const std::vector<ValueId>& ins = c.ins;
  const fk::Activation act = c.act;
  const bool has_clamp = c.has_clamp;
  switch (node.op) {
    case Op::Concat: {
      int axis = int(node.attrs.get_int("axis", 0));
      std::vector<Shape> shapes;
      for (std::size_t i = 0; i < ins.size(); ++i) shapes.push_back(c.in_shape(i));
      return {c.with_clamp([=](Workspace& ws) {
                ws.parts.clear();  // the worker's own list, reused: no allocation per call
                for (auto v : ins) ws.parts.push_back(ws.ptr[v]);
                fops::concat(ws.parts, shapes, ws.ptr[out], axis);
              }),
              out};
    }
    case Op::Reshape:
    case Op::Identity:
      if (has_clamp)
        return {[=](Workspace& ws) {
                  copy_bytes(ws.ptr[out], ws.ptr[ins[0]], std::size_t(out_count) * sizeof(float));
                  fops::clamp(ws.ptr[out], out_count, act.min, act.max);
                },
                out};
      return {[=](Workspace& ws) { ws.ptr[out] = ws.ptr[ins[0]]; }, out};  // same bytes, new shape
    case Op::Transpose: {
      Shape x = c.in_shape(0);
      auto p = node.attrs.get_ints("perm");
      std::vector<int> perm(p.begin(), p.end());
      return {c.with_clamp([=](Workspace& ws) {
                permute_elements(reinterpret_cast<const std::byte*>(ws.ptr[ins[0]]),
                                 reinterpret_cast<std::byte*>(ws.ptr[out]), x, perm, sizeof(float));
              }),
              out};
    }
    case Op::Slice:
    case Op::Gather: {
      const StridedView view = simplified(strided_view(node, c.in_shape(0)));
      return {c.with_clamp([=](Workspace& ws) {
                strided_copy(reinterpret_cast<const std::byte*>(ws.ptr[ins[0]]),
                             reinterpret_cast<std::byte*>(ws.ptr[out]), view, sizeof(float));
              }),
              out};
    }
    case Op::Pad: {
      Shape x = c.in_shape(0);
      auto pads = node.attrs.get_ints("pads");
      std::string mode = node.attrs.get_string("mode", "constant");
      float value = node.attrs.get_float("value", 0.0f);
      return {c.with_clamp([=](Workspace& ws) { fops::pad(ws.ptr[ins[0]], x, ws.ptr[out], pads, mode, value); }), out};
    }
    case Op::Resize: {
      Shape x = c.in_shape(0);
      auto scales = node.attrs.get_floats("scales");
      auto coord = node.attrs.get_string("coordinate_transformation_mode", "half_pixel");
      if (node.attrs.get_string("mode", "nearest") != "nearest") {
        // Not structured bindings: clang before 16 cannot capture those in the lambda.
        const auto taps = fk::resize_taps(node, x, out_shape);
        const fk::ResizeAxisTaps taps_y = taps.first, taps_x = taps.second;
        const float extrapolation = node.attrs.get_float("extrapolation_value", 0.0f);
        return {c.with_clamp([=](Workspace& ws) {
                  fk::resize_interpolate(ws.ptr[ins[0]], x[0], x[1], x[2], x[3], taps_y, taps_x, extrapolation,
                                         ws.ptr[out]);
                }),
                out};
      }
      auto nearest = node.attrs.get_string("nearest_mode", "round_prefer_floor");
      return {c.with_clamp([=](Workspace& ws) {
                fops::resize_nearest(ws.ptr[ins[0]], x, ws.ptr[out], out_shape, scales, coord, nearest);
              }),
              out};
    }
    default: break;
  }
  fail(node.name, "data-movement step builder called for {}", op_name(node.op));
}

}  // namespace tinyq::float_steps
