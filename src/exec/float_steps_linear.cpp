// Float executor steps of the linear ops: convolution (direct, packed weights, row-split over
// the worker pool), transposed convolution, dense (a packed 1x1 convolution), MatMul.
#include <algorithm>
#include <cstring>
#include <memory>

#include "exec/float_ops.hpp"
#include "exec/float_step.hpp"
#include "util/error.hpp"

namespace tinyq::float_steps {

namespace {

// Conv2dShape and ConvTranspose2dShape list the same fields in the same order: one filler.
// x is NHWC, w [*, KH, KW, *], y NHWC.
template <typename WindowShape>
WindowShape window_params(const Node& node, const Shape& x, const Shape& w, const Shape& y) {
  return {as_int(x[0]),
          as_int(x[1]),
          as_int(x[2]),
          as_int(x[3]),
          as_int(y[1]),
          as_int(y[2]),
          as_int(y[3]),
          as_int(w[1]),
          as_int(w[2]),
          as_int(attr_at(node, "strides", 0, 1)),
          as_int(attr_at(node, "strides", 1, 1)),
          as_int(attr_at(node, "dilations", 0, 1)),
          as_int(attr_at(node, "dilations", 1, 1)),
          as_int(attr_at(node, "pads", 0, 0)),
          as_int(attr_at(node, "pads", 1, 0)),
          as_int(node.attrs.get_int("group", 1))};
}

// Conv with constant weights (every shape but depthwise): weights packed once, here. A
// single-sample call with several threads splits the output rows over the worker pool.
Step packed_conv_step(const fk::Conv2dShape& s, const float* weight, ValueId in, ValueId bias, ValueId out,
                      fk::Activation act) {
  auto packed = std::make_shared<std::vector<float>>(fk::packed_conv2d_floats(s));
  fk::pack_conv2d_weights(s, weight, packed->data());
  const int rows = s.batch * s.out_h;
  return {[=](Workspace& ws) {
            const float* b = bias == kNoValue ? nullptr : ws.ptr[bias];
            if (ws.pool == nullptr || rows == 1) {
              fk::conv2d_packed(s, ws.ptr[in], packed->data(), b, ws.ptr[out], act, 0, rows);
              return;
            }
            // A few row ranges per worker, claimed dynamically (the machine is shared).
            const int parts = std::min(rows, 4 * ws.pool->workers());
            auto part = [&](int i) {
              fk::conv2d_packed(s, ws.ptr[in], packed->data(), b, ws.ptr[out], act, rows * i / parts,
                                rows * (i + 1) / parts);
            };
            ws.pool->run(parts, part);
          },
          out};
}

// Dense with constant weights is a 1x1 convolution over a 1 x rows "image": the direct conv
// kernel with weights packed once, tiles of 5 rows x 16 outputs. Eigen's GEMM re-packed the
// 784x128 weights of mlp on every call (a quarter of its time), its GEMV for one row ran at
// 3 GFLOP/s on seed_cnn's classifier.
Step packed_dense_step(int rows, int in_features, int out_features, const float* weight, ValueId in, ValueId bias,
                       ValueId out, fk::Activation act, bool chunkable) {
  auto shape = [=](int n) {
    const int pixels = rows * n;
    return fk::Conv2dShape{.batch = 1,
                           .in_h = 1,
                           .in_w = pixels,
                           .in_c = in_features,
                           .out_h = 1,
                           .out_w = pixels,
                           .out_c = out_features,
                           .kernel_h = 1,
                           .kernel_w = 1,
                           .stride_h = 1,
                           .stride_w = 1,
                           .dilation_h = 1,
                           .dilation_w = 1,
                           .pad_top = 0,
                           .pad_left = 0,
                           .groups = 1};
  };
  auto packed = std::make_shared<std::vector<float>>(fk::packed_conv2d_floats(shape(1)));
  fk::pack_conv2d_weights(shape(1), weight, packed->data());
  auto dense = [=](Workspace& ws, int n) {
    fk::conv2d_packed(shape(n), ws.ptr[in], packed->data(), bias == kNoValue ? nullptr : ws.ptr[bias], ws.ptr[out], act,
                      0, 1);
  };
  Step step{[=](Workspace& ws) { dense(ws, 1); }, out};
  if (chunkable) step.run_chunk = dense;
  return step;
}

}  // namespace

Step linear_step(const StepContext& c) {
  const Graph& g = c.g;
  const Node& node = c.node;
  const ValueId out = c.out;
  const Shape& out_shape = c.out_shape;
  const std::int64_t out_count = c.out_count;
  const std::vector<ValueId>& ins = c.ins;
  const fk::Activation act = c.act;
  switch (node.op) {
    case Op::Conv: {
      const auto s = window_params<fk::Conv2dShape>(node, c.in_shape(0), c.in_shape(1), out_shape);
      ValueId bias = ins.size() > 2 ? ins[2] : kNoValue;
      if (g.value(ins[1]).is_constant() && fk::conv2d_uses_packed_weights(s))
        return packed_conv_step(s, g.value(ins[1]).constant->f32().data(), ins[0], bias, out, act);
      c.scratch_floats = std::max(c.scratch_floats, fk::conv2d_scratch_floats(s));
      return {[=](Workspace& ws) {
                fk::conv2d(s, ws.ptr[ins[0]], ws.ptr[ins[1]], bias == kNoValue ? nullptr : ws.ptr[bias], ws.ptr[out],
                           ws.scratch, act);
              },
              out};
    }
    case Op::ConvTranspose: {
      const auto s = window_params<fk::ConvTranspose2dShape>(node, c.in_shape(0), c.in_shape(1), out_shape);
      ValueId bias = ins.size() > 2 ? ins[2] : kNoValue;
      return {[=](Workspace& ws) {
                fk::conv_transpose2d(s, ws.ptr[ins[0]], ws.ptr[ins[1]], bias == kNoValue ? nullptr : ws.ptr[bias],
                                     ws.ptr[out], act);
              },
              out};
    }
    case Op::Dense: {
      const Shape& w = c.in_shape(1);
      int rows = as_int(out_count / w[0]);
      ValueId bias = ins.size() > 2 ? ins[2] : kNoValue;
      if (g.value(ins[1]).is_constant())
        return packed_dense_step(rows, as_int(w[1]), as_int(w[0]), g.value(ins[1]).constant->f32().data(), ins[0], bias,
                                 out, act, !g.value(ins[0]).is_constant());
      auto dense = [=](Workspace& ws, int n) {
        fk::dense(rows * n, as_int(w[1]), as_int(w[0]), ws.ptr[ins[0]], ws.ptr[ins[1]],
                  bias == kNoValue ? nullptr : ws.ptr[bias], ws.ptr[out], act);
      };
      Step step{[=](Workspace& ws) { dense(ws, 1); }, out};
      if (!g.value(ins[0]).is_constant()) step.run_chunk = dense;
      return step;
    }
    case Op::MatMul: {
      Shape a = c.in_shape(0), b = c.in_shape(1);
      if (a.size() < 2 || b.size() < 2) fail(node.name, "MatMul with a 1-D operand is not supported");
      std::int64_t m = a[a.size() - 2], k = a.back(), n = b.back();
      // An empty operand (a constant sliced to nothing) has no batch to divide by.
      if (m * k == 0 || k * n == 0 || out_count == 0) fail(node.name, "MatMul on an empty tensor is not supported");
      std::int64_t a_batch = element_count(a) / (m * k), b_batch = element_count(b) / (k * n);
      std::int64_t batch = out_count / (m * n);
      if ((a_batch != batch && a_batch != 1) || (b_batch != batch && b_batch != 1) ||
          (a_batch == 1 && b_batch == 1 && batch != 1))
        fail(node.name, "MatMul batch broadcasting beyond one shared matrix is not supported");
      std::size_t sa = a_batch == 1 ? 0 : std::size_t(m * k), sb = b_batch == 1 ? 0 : std::size_t(k * n);
      return {c.with_clamp([=](Workspace& ws) {
                fk::matmul(as_int(batch), as_int(m), as_int(k), as_int(n), ws.ptr[ins[0]], sa, ws.ptr[ins[1]], sb,
                           ws.ptr[out]);
              }),
              out};
    }
    default: break;
  }
  fail(node.name, "linear step builder called for {}", op_name(node.op));
}

}  // namespace tinyq::float_steps
