// Pre-quantized unary operators and MEAN. LOGISTIC, TANH, RELU, RELU6, LEAKY_RELU, HARD_SWISH
// and an int8 -> int8 QUANTIZE map each input byte to one output byte: their node is a
// 256-entry table (rt::lookup_s8) filled with TFLite Micro's own integer arithmetic
// (tflite_activation_tables.cpp), so its bytes are TFLite Micro's by construction. MEAN over
// H and W is TFLite's sum, offset and one requantization with 1 / n folded into the
// multiplier: rt::avg_pool2d_s8's TFLite-mean mode over a window of the whole image.
#include <fmt/format.h>

#include "frontend/tflite/tflite_activation_tables.hpp"
#include "frontend/tflite/tflite_prequantized_ops.hpp"
#include "frontend/tflite/tflite_quant_params.hpp"
#include "ir/shape_inference.hpp"
#include "qmodel/kernel_fields.hpp"
#include "util/error.hpp"

namespace tinyq::tflite {

namespace {

Int8Quant int8_quant(const QuantParam& q) { return {q.scale, q.zero_point}; }

void require_output(const PrequantContext& ctx, const OperatorInfo& op, const QuantParam& out, float scale,
                    std::int32_t zero_point) {
  if (out.scale != scale || out.zero_point != zero_point)
    fail(ctx.at(op),
         "int8 output must have scale {} and zero point {} (has {} and {}), as TFLite Micro's kernel assumes", scale,
         zero_point, out.scale, out.zero_point);
}

}  // namespace

QNode prequantized_lookup(const PrequantContext& ctx, const OperatorInfo& op) {
  const TensorInfo &xt = ctx.input(op, 0), &yt = ctx.output(op);
  const QuantParam in = ctx.activation(op, xt), out = ctx.activation(op, yt);
  if (element_count(xt.shape) != element_count(yt.shape))
    fail(ctx.at(op), "output {} has another size than the input {}", shape_string(yt.shape), shape_string(xt.shape));
  const std::string where = ctx.at(op);
  QNode q;
  q.kernel = QKernel::Lookup;
  std::vector<std::int8_t>& table = q.i8["table"];
  switch (BuiltinOp(op.builtin_code)) {
    case BuiltinOp::Logistic:
      require_output(ctx, op, out, 1.0f / 256, -128);
      table = logistic_table(int8_quant(in), where);
      break;
    case BuiltinOp::Tanh:
      require_output(ctx, op, out, 1.0f / 128, 0);
      table = tanh_table(int8_quant(in), where);
      break;
    case BuiltinOp::Relu: table = relu_table(int8_quant(in), int8_quant(out), where); break;
    case BuiltinOp::Relu6:
      // TFLite Micro clamps the input bytes and never looks at the output's quantization.
      require_output(ctx, op, out, in.scale, in.zero_point);
      table = relu6_table(int8_quant(in));
      break;
    case BuiltinOp::LeakyRelu: {
      const float alpha = options_as<LeakyReluOptions>(op, where).alpha;
      if (!std::isfinite(alpha)) fail(where, "alpha {} is not finite", alpha);
      table = leaky_relu_table(int8_quant(in), int8_quant(out), alpha, where);
      break;
    }
    case BuiltinOp::HardSwish: table = hard_swish_table(int8_quant(in), int8_quant(out), where); break;
    case BuiltinOp::Quantize: table = requantize_table(int8_quant(in), int8_quant(out), where); break;
    default: fail(where, "is not a unary int8 operator");
  }
  return q;
}

QNode prequantized_mean(const PrequantContext& ctx, const OperatorInfo& op) {
  const TensorInfo &xt = ctx.input(op, 0), &at = ctx.input(op, 1), &yt = ctx.output(op);
  const QuantParam in = ctx.activation(op, xt), out = ctx.activation(op, yt);
  if (!at.has_data || at.type != TensorType::Int32 || at.data.empty() || at.data.size() % 4 != 0)
    fail(ctx.at(op), "axes '{}' must be an int32 constant", at.name);
  if (xt.shape.size() != 4)
    fail(ctx.at(op), "MEAN of a {}-D tensor; only the mean over H and W of NHWC (4-D) is supported", xt.shape.size());
  bool axis_h = false, axis_w = false;
  for (std::size_t k = 0; k < at.data.size(); k += 4) {
    std::int32_t a = std::int32_t(std::uint32_t(at.data[k]) | std::uint32_t(at.data[k + 1]) << 8 |
                                  std::uint32_t(at.data[k + 2]) << 16 | std::uint32_t(at.data[k + 3]) << 24);
    if (a < 0) a += 4;
    if (a == 1)
      axis_h = true;
    else if (a == 2)
      axis_w = true;
    else
      fail(ctx.at(op), "MEAN over axis {}; only the mean over H and W (axes 1 and 2) is supported", a);
  }
  if (!axis_h || !axis_w) fail(ctx.at(op), "only the mean over both H and W (axes 1 and 2) is supported");
  const auto& x = xt.shape;
  if (element_count(yt.shape) != x[0] * x[3])
    fail(ctx.at(op), "output {} is not one value per batch and channel of {}", shape_string(yt.shape), shape_string(x));
  for (auto d : x)
    if (d < 1 || d > (std::int64_t(1) << 24)) fail(ctx.at(op), "input {} has an unsupported size", shape_string(x));
  const std::int64_t n = x[1] * x[2];
  if (n > (std::int64_t(1) << 24)) fail(ctx.at(op), "MEAN over {} values; at most 2^24 are supported", n);
  const TfliteMultiplier m = mean_multiplier(in.scale, out.scale, n);
  // TFLite multiplies the int32 sum by 2^shift first when the shift is positive.
  const std::int64_t max_sum = n * std::max(std::abs(-128 - in.zero_point), std::abs(127 - in.zero_point));
  if (m.shift > 30 || (m.shift > 0 && max_sum > (std::int64_t{std::numeric_limits<std::int32_t>::max()} >> m.shift)))
    fail(ctx.at(op), "scales give a multiplier of 2^{}, whose int32 arithmetic overflows in TFLite", m.shift - 1);
  auto i32 = [](std::int64_t v) { return static_cast<std::int32_t>(v); };
  QNode q;
  q.kernel = QKernel::AvgPool;
  write_scalars(q, rt::AvgPoolParams{.pool = {.batch = i32(x[0]),
                                              .in_h = i32(x[1]),
                                              .in_w = i32(x[2]),
                                              .channels = i32(x[3]),
                                              .out_h = 1,
                                              .out_w = 1,
                                              .kernel_h = i32(x[1]),
                                              .kernel_w = i32(x[2]),
                                              .stride_h = 1,
                                              .stride_w = 1,
                                              .pad_top = 0,
                                              .pad_left = 0,
                                              .pad_bottom = 0,
                                              .pad_right = 0,
                                              .act_min = -128,
                                              .act_max = 127},
                                     .count_include_pad = 0,
                                     .input_offset = -in.zero_point,
                                     .output_offset = out.zero_point,
                                     .count_multiplier = nullptr,
                                     .count_shift = nullptr,
                                     .truncate = 0,
                                     .rounding = rt::kRoundTflite});
  q.i32[key_of(&rt::AvgPoolParams::count_multiplier)] = {m.multiplier};
  q.i32[key_of(&rt::AvgPoolParams::count_shift)] = {m.shift};
  return q;
}

}  // namespace tinyq::tflite
