// BatchNormalization with training_mode=1, as ONNX defines it: the batch it is given is
// normalised with its own statistics (mean and population variance over every axis but C),
// and the optional running-statistics outputs are input_mean * momentum + batch_mean *
// (1 - momentum) (variance likewise). Built from elementwise and ReduceMean nodes, so every
// executor runs it; deterministic, unlike training-mode Dropout. The statistics cover the
// batch one executor run sees: the model's declared batch (a dynamic batch runs one sample).
#include <onnx/onnx_pb.h>

#include <cmath>
#include <string>
#include <vector>

#include "frontend/onnx/importer.hpp"
#include "util/error.hpp"

namespace tinyq::onnx_import {

using Ints = std::vector<std::int64_t>;

void convert_batch_norm_training(Importer& im, const onnx::NodeProto& node) {
  const ValueId x = im.input(node, 0);
  // Copies, not references: add_constant and emit grow the graph's value table.
  const Shape shape = im.graph().value(x).shape;
  const Layout layout = im.graph().value(x).layout;
  int channel_axis;
  if (layout == Layout::NHWC && shape.size() == 4)
    channel_axis = 3;
  else if (layout == Layout::Plain && shape.size() == 2)
    channel_axis = 1;
  else
    fail(im.at(node), "training_mode=1 is supported for (N,C) and (N,C,H,W) inputs only");
  const std::int64_t channels = shape[std::size_t(channel_axis)];
  const float epsilon = attr_float(node, "epsilon", 1e-5f);
  const float momentum = attr_float(node, "momentum", 0.9f);
  if (!std::isfinite(epsilon) || !std::isfinite(momentum)) fail(im.at(node), "epsilon and momentum must be finite");
  // A 1-D layer arrives lifted to (N,1,L,C) and must give NHWC outputs only (lift_1d.cpp);
  // a lifted input cannot be told from an (N,C,1,W) one, so both refuse the [C] outputs.
  const bool wants_running =
      (node.output_size() > 1 && !node.output(1).empty()) || (node.output_size() > 2 && !node.output(2).empty());
  if (wants_running && channel_axis == 3 && shape[1] == 1)
    fail(im.at(node), "training_mode=1 running-statistics outputs are not supported on 1-D (or H = 1) inputs");
  for (int i = 3; i < node.output_size(); ++i)
    if (!node.output(i).empty()) fail(im.at(node), "output {} ('{}') is not supported", i, node.output(i));
  std::vector<Tensor> params;  // scale, B, input_mean, input_var
  for (int i = 1; i <= 4; ++i) {
    params.push_back(im.constant_input(node, i).cast(DType::f32));
    if (params.back().numel() != channels)
      fail(im.at(node), "parameter {} has {} values for {} channels", i, params.back().numel(), channels);
    params.back() = params.back().reshaped({channels});
  }

  Attributes reduce;
  Ints axes;
  for (int a = 0; a < int(shape.size()); ++a)
    if (a != channel_axis) axes.push_back(a);
  reduce.set("axes", axes);
  reduce.set("keepdims", std::int64_t{1});
  const std::string base = node.name().empty() ? node.output(0) : node.name();
  auto internal = [&](const std::string& suffix, Op op, std::vector<ValueId> in, Attributes attrs = {},
                      Layout l = Layout::Plain) {
    return im.emit_internal(base + suffix, op, std::move(in), attrs, l);
  };

  const ValueId mean = internal("_batch_mean", Op::ReduceMean, {x}, reduce, layout);
  const ValueId centered = internal("_centered", Op::Sub, {x, mean}, {}, layout);
  const ValueId squared = internal("_squared", Op::Mul, {centered, centered}, {}, layout);
  const ValueId var = internal("_batch_var", Op::ReduceMean, {squared}, reduce, layout);
  const ValueId eps = im.add_constant(base + "_epsilon", Tensor::scalar(epsilon));
  const ValueId std_dev =
      internal("_std_dev", Op::Sqrt, {internal("_var_eps", Op::Add, {var, eps}, {}, layout)}, {}, layout);
  const ValueId normalized = internal("_normalized", Op::Div, {centered, std_dev}, {}, layout);
  const ValueId gamma = im.add_constant(base + "_scale", params[0]);
  const ValueId beta = im.add_constant(base + "_bias", params[1]);
  const ValueId scaled = internal("_scaled", Op::Mul, {normalized, gamma}, {}, layout);
  im.emit(node, Op::Add, {scaled, beta}, {}, layout);

  // Running statistics: [C] vectors.
  for (int k = 1; k <= 2; ++k) {
    if (node.output_size() <= k || node.output(k).empty()) continue;
    const std::string what = k == 1 ? "_running_mean" : "_running_var";
    Attributes flat;
    flat.set("shape", Ints{channels});
    const ValueId batch = internal(what + "_batch", Op::Reshape, {k == 1 ? mean : var}, flat);
    const ValueId weight = im.add_constant(base + what + "_weight", Tensor::scalar(1.0f - momentum));
    Tensor kept = params[std::size_t(k + 1)];
    for (float& v : kept.f32()) v *= momentum;
    const ValueId weighted = internal(what + "_weighted", Op::Mul, {batch, weight});
    im.emit(node, Op::Add, {weighted, im.add_constant(base + what + "_kept", std::move(kept))}, {}, Layout::Plain,
            node.output(k));
  }
}

}  // namespace tinyq::onnx_import
