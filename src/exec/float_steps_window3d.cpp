// Float executor steps of the 3-D windows (Conv3d, ConvTranspose3d, MaxPool3d, AvgPool3d) on
// NCDHW tensors: direct kernels (src/exec/float/window3d.hpp), run sample by sample.
#include "exec/float/window3d.hpp"
#include "exec/float_step.hpp"
#include "util/error.hpp"

namespace tinyq::float_steps {

Step window3d_step(const StepContext& c) {
  const Node& node = c.node;
  const Shape& x = c.in_shape(0);
  const Shape& y = c.out_shape;
  const ValueId out = c.out;
  const std::vector<ValueId>& ins = c.ins;
  const bool conv = node.op == Op::Conv3d || node.op == Op::ConvTranspose3d;
  fk::Window3dShape s{};
  s.batch = as_int(x[0]);
  s.in_c = as_int(x[1]);
  s.out_c = as_int(y[1]);
  s.groups = as_int(node.attrs.get_int("group", 1));
  for (std::size_t i = 0; i < 3; ++i) {
    s.in[i] = as_int(x[2 + i]);
    s.out[i] = as_int(y[2 + i]);
    s.kernel[i] = as_int(conv ? c.in_shape(1)[2 + i] : attr_at(node, "kernel", i, 1));
    s.stride[i] = as_int(attr_at(node, "strides", i, 1));
    s.dilation[i] = as_int(attr_at(node, "dilations", i, 1));
    s.pad_begin[i] = as_int(attr_at(node, "pads", i, 0));
    s.pad_end[i] = as_int(attr_at(node, "pads", i + 3, 0));
  }
  const ValueId bias = conv && ins.size() > 2 ? ins[2] : kNoValue;
  switch (node.op) {
    case Op::MaxPool3d:
      return {c.with_clamp([=](Workspace& ws) { fk::max_pool3d(s, ws.ptr[ins[0]], ws.ptr[out]); }), out};
    case Op::AvgPool3d: {
      const bool include = node.attrs.get_int("count_include_pad", 0) != 0;
      return {c.with_clamp([=](Workspace& ws) { fk::avg_pool3d(s, ws.ptr[ins[0]], ws.ptr[out], include); }), out};
    }
    case Op::Conv3d:
    case Op::ConvTranspose3d: {
      const auto kernel = node.op == Op::Conv3d ? fk::conv3d : fk::conv_transpose3d;
      return {c.with_clamp([=](Workspace& ws) {
                kernel(s, ws.ptr[ins[0]], ws.ptr[ins[1]], bias == kNoValue ? nullptr : ws.ptr[bias], ws.ptr[out]);
              }),
              out};
    }
    default: break;
  }
  fail(node.name, "3-D window step builder called for {}", op_name(node.op));
}

}  // namespace tinyq::float_steps
