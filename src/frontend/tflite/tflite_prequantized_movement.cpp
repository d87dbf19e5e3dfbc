// Pre-quantized CONCATENATION, PAD and PADV2: data movement on int8 bytes. TFLite's converter
// gives their inputs and output one quantization, and TFLite Micro's int8 kernels then copy
// bytes (padding with the output's zero point, or PADV2's int8 value): the same bytes here.
// A file whose operands differ in quantization is refused rather than requantized, since that
// arithmetic would be ours, not TFLite's.
#include <fmt/format.h>

#include "frontend/tflite/tflite_prequantized_ops.hpp"
#include "qmodel/kernel_fields.hpp"
#include "util/error.hpp"

namespace tinyq::tflite {

namespace {

void require_same_quantization(const PrequantContext& ctx, const OperatorInfo& op, const QuantParam& in,
                               const QuantParam& out, const std::string& operand) {
  if (in.scale != out.scale || in.zero_point != out.zero_point)
    fail(ctx.at(op), "{} is quantized differently from the output (scale {} zero point {} vs {} {}); not supported",
         operand, in.scale, in.zero_point, out.scale, out.zero_point);
}

std::vector<std::int64_t> int32_constant(const PrequantContext& ctx, const OperatorInfo& op, std::size_t i) {
  const TensorInfo& t = ctx.input(op, i);
  if (!t.has_data || t.type != TensorType::Int32 || t.data.size() % 4 != 0)
    fail(ctx.at(op), "input {} ('{}') must be an int32 constant", i, t.name);
  std::vector<std::int64_t> v;
  for (std::size_t k = 0; k < t.data.size(); k += 4)  // little-endian, whatever the host
    v.push_back(std::int32_t(std::uint32_t(t.data[k]) | std::uint32_t(t.data[k + 1]) << 8 |
                             std::uint32_t(t.data[k + 2]) << 16 | std::uint32_t(t.data[k + 3]) << 24));
  return v;
}

std::int32_t p32(const PrequantContext& ctx, const OperatorInfo& op, std::int64_t v) {
  if (v < 0 || v > std::numeric_limits<std::int32_t>::max()) fail(ctx.at(op), "size {} out of range", v);
  return std::int32_t(v);
}

}  // namespace

QNode prequantized_concat(const PrequantContext& ctx, const OperatorInfo& op) {
  if (op.inputs.empty()) fail(ctx.at(op), "has no inputs");
  const auto o = options_as<ConcatenationOptions>(op, ctx.at(op));
  if (o.activation != Activation::None)
    fail(ctx.at(op), "a fused {} on CONCATENATION is not supported", activation_name(o.activation));
  const TensorInfo& yt = ctx.output(op);
  const QuantParam out = ctx.activation(op, yt);
  const std::int64_t rank = std::int64_t(yt.shape.size());
  std::int64_t axis = o.axis < 0 ? o.axis + rank : o.axis;
  if (axis < 0 || axis >= rank) fail(ctx.at(op), "axis {} out of range for rank {}", o.axis, rank);
  std::int64_t outer = 1;
  for (std::int64_t d = 0; d < axis; ++d) outer *= yt.shape[std::size_t(d)];
  QNode q;
  q.kernel = QKernel::Concat;
  write_scalars(q, rt::ConcatParams{.inputs = p32(ctx, op, std::int64_t(op.inputs.size())),
                                    .outer = p32(ctx, op, outer),
                                    .input_row = nullptr,
                                    .input_offset = nullptr,
                                    .multiplier = nullptr,
                                    .shift = nullptr,
                                    .output_offset = out.zero_point});
  using P = rt::ConcatParams;
  std::int64_t total = 0;
  for (std::size_t i = 0; i < op.inputs.size(); ++i) {
    const TensorInfo& xt = ctx.input(op, i);
    if (xt.has_data) fail(ctx.at(op), "a constant operand ('{}') is not supported", xt.name);
    if (xt.shape.size() != yt.shape.size()) fail(ctx.at(op), "input '{}' has another rank than the output", xt.name);
    require_same_quantization(ctx, op, ctx.activation(op, xt), out, fmt::format("input '{}'", xt.name));
    const std::int64_t row = outer > 0 ? element_count(xt.shape) / outer : 0;
    total += row;
    q.i32[key_of(&P::input_row)].push_back(p32(ctx, op, row));
    q.i32[key_of(&P::input_offset)].push_back(-out.zero_point);
    q.i32[key_of(&P::multiplier)].push_back(0);  // same quantization: a plain copy
    q.i32[key_of(&P::shift)].push_back(0);
  }
  if (outer * total != element_count(yt.shape)) fail(ctx.at(op), "input sizes do not add up to the output");
  return q;
}

QNode prequantized_pad(const PrequantContext& ctx, const OperatorInfo& op) {
  const bool with_value = op.builtin_code == std::int32_t(BuiltinOp::PadV2);
  const TensorInfo &xt = ctx.input(op, 0), &yt = ctx.output(op);
  const QuantParam in = ctx.activation(op, xt), out = ctx.activation(op, yt);
  require_same_quantization(ctx, op, in, out, "the input");
  const auto paddings = int32_constant(ctx, op, 1);
  if (xt.shape.size() != 4 || paddings.size() != 8)
    fail(ctx.at(op), "only padding of a 4-D NHWC tensor is supported (got rank {})", xt.shape.size());
  if (paddings[0] || paddings[1] || paddings[6] || paddings[7])
    fail(ctx.at(op), "only padding of H and W is supported, not of the batch or channels");
  for (auto p : paddings)
    if (p < 0 || p > 65536) fail(ctx.at(op), "paddings must be in 0..65536, got {}", p);
  std::int8_t value = std::int8_t(out.zero_point);  // PAD pads with real zero
  if (with_value && ctx.has_input(op, 2)) {
    const TensorInfo& v = ctx.input(op, 2);
    if (!v.has_data || v.type != TensorType::Int8 || v.data.size() != 1)
      fail(ctx.at(op), "the padding value '{}' must be one int8 constant", v.name);
    value = std::int8_t(v.data[0]);
  }
  QNode q;
  q.kernel = QKernel::Pad;
  write_scalars(q, rt::PadParams{.batch = p32(ctx, op, xt.shape[0]),
                                 .in_h = p32(ctx, op, xt.shape[1]),
                                 .in_w = p32(ctx, op, xt.shape[2]),
                                 .channels = p32(ctx, op, xt.shape[3]),
                                 .pad_top = p32(ctx, op, paddings[2]),
                                 .pad_left = p32(ctx, op, paddings[4]),
                                 .pad_bottom = p32(ctx, op, paddings[3]),
                                 .pad_right = p32(ctx, op, paddings[5]),
                                 .value = value});
  return q;
}

}  // namespace tinyq::tflite
