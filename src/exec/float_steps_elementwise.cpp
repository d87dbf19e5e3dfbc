// Float executor steps of elementwise ops, plus the context every step builder shares.
#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>

#include "exec/float_ops.hpp"
#include "exec/float_step.hpp"
#include "util/error.hpp"

namespace tinyq::float_steps {

StepContext::StepContext(const Graph& graph, const Node& n, std::size_t& scratch)
    : g(graph),
      node(n),
      out(n.outputs.at(0)),
      out_shape(graph.value(out).shape),
      out_count(element_count(out_shape)),
      ins(n.inputs),
      act{n.attrs.get_float("act_min", -std::numeric_limits<float>::infinity()),
          n.attrs.get_float("act_max", std::numeric_limits<float>::infinity())},
      has_clamp(n.attrs.has("act_min") || n.attrs.has("act_max")),
      scratch_floats(scratch) {}

std::function<void(Workspace&)> StepContext::with_clamp(std::function<void(Workspace&)> body) const {
  if (!has_clamp) return body;
  return [body = std::move(body), out = out, count = out_count, act = act](Workspace& ws) {
    body(ws);
    fops::clamp(ws.ptr[out], count, act.min, act.max);
  };
}

std::int64_t attr_at(const Node& n, const char* key, std::size_t i, std::int64_t fallback) {
  auto v = n.attrs.get_ints(key);
  return i < v.size() ? v[i] : fallback;
}

Step elementwise_step(const StepContext& c) {
  const Graph& g = c.g;
  const Node& node = c.node;
  const ValueId out = c.out;
  const Shape& out_shape = c.out_shape;
  const std::int64_t out_count = c.out_count;
  const std::vector<ValueId>& ins = c.ins;
  const fk::Activation act = c.act;
  const bool has_clamp = c.has_clamp;
  if (is_binary_elementwise(node.op)) {
    Shape a = c.in_shape(0), b = c.in_shape(1);
    Op op = node.op;
    return {c.with_clamp(
                [=](Workspace& ws) { fops::binary(op, ws.ptr[ins[0]], a, ws.ptr[ins[1]], b, ws.ptr[out], out_shape); }),
            out};
  }
  if (is_unary_elementwise(node.op) && node.op != Op::Identity) {  // Identity aliases, below
    // Vectorised where Eigen has the function (tanh/sigmoid per element through a
    // std::function cost 7x against onnxruntime on avgpool_cnn, docs/BENCHMARKS.md).
    const Op op = node.op;
    auto f = fops::unary_function(node.op, node.attrs);
    const Attributes attrs = node.attrs;
    auto apply = [=](const float* x, float* y, std::int64_t count) {
      if (!fops::unary_vectorized(op, x, y, count) && !fops::unary_loop(op, attrs, x, y, count))
        for (std::int64_t i = 0; i < count; ++i) y[i] = f(x[i]);
      if (has_clamp) fops::clamp(y, count, act.min, act.max);
    };
    Step step{[=](Workspace& ws) { apply(ws.ptr[ins[0]], ws.ptr[out], out_count); }, out};
    if (!g.value(ins[0]).is_constant())
      step.run_chunk = [=](Workspace& ws, int n) { apply(ws.ptr[ins[0]], ws.ptr[out], out_count * n); };
    return step;
  }
  fail(node.name, "elementwise step builder called for {}", op_name(node.op));
}

}  // namespace tinyq::float_steps
