// Layer normalisation: parameters for layer_norm_s8 (math documented in kernels.hpp).
#include <cmath>

#include "qmodel/kernel_fields.hpp"
#include "quant/quantize_node.hpp"
#include "util/error.hpp"

namespace tinyq::quant_detail {

QNode quantize_layer_norm(const Context& ctx, const Node& node) {
  const Shape& x = ctx.graph.value(node.inputs[0]).shape;
  const std::int64_t depth = x.back();  // over the last axis only (int8_support.cpp)
  const QuantParam &in = ctx.param(node.inputs[0]), &out = ctx.param(node.outputs[0]);
  const double epsilon = node.attrs.get_float("epsilon", 1e-5f);
  const double epsilon_q =
      std::nearbyint(65536.0 * double(depth) * double(depth) * epsilon / (double(in.scale) * in.scale));
  if (epsilon_q > std::ldexp(1.0, 61)) fail(node.name, "LayerNorm epsilon is too large for the input scale");

  QNode q;
  q.kernel = QKernel::LayerNorm;
  const Clamp clamp = activation_clamp(node, out);
  write_scalars(q, rt::LayerNormParams{.rows = param32(node, element_count(x) / depth),
                                       .depth = param32(node, depth),
                                       .epsilon_q = std::int64_t(epsilon_q),
                                       .gamma = {},
                                       .beta_q = nullptr,
                                       .output_offset = out.zero_point,
                                       .act_min = clamp.min,
                                       .act_max = clamp.max});
  auto gamma = ctx.graph.value(node.inputs[1]).constant->f32();
  auto beta = ctx.graph.value(node.inputs[2]).constant->f32();
  for (std::int64_t i = 0; i < depth; ++i) {
    const double g = gamma[std::size_t(i)];
    // The kernel's int32 bound on gamma * normalised (kernels.hpp).
    if (std::abs(g) * std::sqrt(double(depth)) * 256.0 / out.scale >= std::ldexp(1.0, 30))
      fail(node.name, "LayerNorm gamma {} is too large for the output scale", g);
    append_multiplier(q, key_of(&rt::LayerNormParams::gamma), g / (128.0 * out.scale));
    q.i32[key_of(&rt::LayerNormParams::beta_q)].push_back(
        std::int32_t(std::nearbyint(256.0 * beta[std::size_t(i)] / out.scale)));
  }
  return q;
}

}  // namespace tinyq::quant_detail
