// Float executor steps of pooling: max / average windows, global pooling, ReduceMean.
#include <algorithm>
#include <cstring>
#include <memory>

#include "exec/float_ops.hpp"
#include "exec/float_step.hpp"
#include "util/error.hpp"

namespace tinyq::float_steps {

Step pool_step(const StepContext& c) {
  const Node& node = c.node;
  const ValueId out = c.out;
  const Shape& out_shape = c.out_shape;
  const std::vector<ValueId>& ins = c.ins;
  const fk::Activation act = c.act;
  switch (node.op) {
    case Op::MaxPool:
    case Op::AvgPool: {
      const Shape& x = c.in_shape(0);
      fk::Pool2dShape s{as_int(x[0]),
                        as_int(x[1]),
                        as_int(x[2]),
                        as_int(x[3]),
                        as_int(out_shape[1]),
                        as_int(out_shape[2]),
                        as_int(attr_at(node, "kernel", 0, 1)),
                        as_int(attr_at(node, "kernel", 1, 1)),
                        as_int(attr_at(node, "strides", 0, 1)),
                        as_int(attr_at(node, "strides", 1, 1)),
                        as_int(attr_at(node, "dilations", 0, 1)),
                        as_int(attr_at(node, "dilations", 1, 1)),
                        as_int(attr_at(node, "pads", 0, 0)),
                        as_int(attr_at(node, "pads", 1, 0)),
                        as_int(attr_at(node, "pads", 2, 0)),
                        as_int(attr_at(node, "pads", 3, 0))};
      if (node.op == Op::MaxPool)
        return {[=](Workspace& ws) { fk::max_pool2d(s, ws.ptr[ins[0]], ws.ptr[out], act); }, out};
      bool include = node.attrs.get_int("count_include_pad", 0) != 0;
      return {[=](Workspace& ws) { fk::avg_pool2d(s, ws.ptr[ins[0]], ws.ptr[out], include, act); }, out};
    }
    case Op::GlobalAvgPool:
    case Op::GlobalMaxPool: {
      const Shape& x = c.in_shape(0);
      bool avg = node.op == Op::GlobalAvgPool;
      return {c.with_clamp([=](Workspace& ws) {
                (avg ? fk::global_avg_pool : fk::global_max_pool)(as_int(x[0]), as_int(x[1]), as_int(x[2]),
                                                                  as_int(x[3]), ws.ptr[ins[0]], ws.ptr[out]);
              }),
              out};
    }
    case Op::ReduceMean: {
      Shape x = c.in_shape(0);
      auto axes = node.attrs.get_ints("axes");
      if (axes.empty())
        for (std::size_t i = 0; i < x.size(); ++i) axes.push_back(std::int64_t(i));
      return {c.with_clamp([=](Workspace& ws) { fops::reduce_mean(ws.ptr[ins[0]], ws.ptr[out], x, axes); }), out};
    }
    default: break;
  }
  fail(node.name, "pooling step builder called for {}", op_name(node.op));
}

}  // namespace tinyq::float_steps
