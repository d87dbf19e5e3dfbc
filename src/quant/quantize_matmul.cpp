// MatMul of two activations (attention: Q x K^T, scores x V): per-tensor operands and
// output, one requantization of the exact int32 accumulator (rt::matmul_s8).
#include <cstdint>
#include <limits>

#include "qmodel/kernel_fields.hpp"
#include "quant/quantize_node.hpp"
#include "util/error.hpp"

namespace tinyq::quant_detail {

QNode quantize_matmul(const Context& ctx, const Node& node) {
  // int8_unsupported has checked ranks 2..4, no constant operand and batch dims that are
  // either the output's or all 1, so each operand is one matrix per batch or one shared.
  const Shape& a = ctx.graph.value(node.inputs[0]).shape;
  const Shape& b = ctx.graph.value(node.inputs[1]).shape;
  const Shape& y = ctx.graph.value(node.outputs[0]).shape;
  const std::int64_t m = a[a.size() - 2], k = a.back(), n = b.back();
  const std::int64_t batch = element_count(y) / (m * n);
  const bool a_batched = element_count(a) / (m * k) != 1, b_batched = element_count(b) / (k * n) != 1;
  // Each (q + offset) lies in [-255, 255]: k products of at most 255^2 must fit int32.
  const std::int64_t bound = k * 255 * 255;
  if (bound > std::numeric_limits<std::int32_t>::max())
    fail(node.name, "MatMul inner dimension {} exceeds the int8 kernel's int32 accumulator (at most 33025)", k);
  const QuantParam &qa = ctx.param(node.inputs[0]), &qb = ctx.param(node.inputs[1]), &out = ctx.param(node.outputs[0]);
  const QuantizedMultiplier mult = quantize_multiplier(double(qa.scale) * qb.scale / out.scale);
  // A multiplier above 1 scales the accumulator up: the product must still fit int32 before
  // the output clamp (requantize's contract).
  if (mult.shift > 0 && (bound << mult.shift) > std::numeric_limits<std::int32_t>::max())
    fail(node.name, "MatMul output scale too fine for its operands: the requantized accumulator may overflow int32");
  const Clamp clamp = activation_clamp(node, out);
  QNode q;
  q.kernel = QKernel::MatMul;
  write_scalars(q, rt::MatMulParams{.batch = param32(node, batch),
                                    .m = param32(node, m),
                                    .k = param32(node, k),
                                    .n = param32(node, n),
                                    .a_batch_stride = a_batched ? param32(node, m * k) : 0,
                                    .b_batch_stride = b_batched ? param32(node, k * n) : 0,
                                    .a_offset = -qa.zero_point,
                                    .b_offset = -qb.zero_point,
                                    .output_offset = out.zero_point,
                                    .output_multiplier = mult.multiplier,
                                    .output_shift = mult.shift,
                                    .act_min = clamp.min,
                                    .act_max = clamp.max});
  return q;
}

}  // namespace tinyq::quant_detail
