// Pre-quantized unary operators and MEAN. LOGISTIC, TANH, RELU, RELU6, LEAKY_RELU, HARD_SWISH
// and an int8 -> int8 QUANTIZE map each input byte to one output byte: their node is a
// 256-entry table (rt::lookup_s8) filled with TFLite Micro's own integer arithmetic
// (tflite_activation_tables.cpp), so its bytes are TFLite Micro's by construction. MEAN over
// contiguous axes is TFLite's sum, offset and one requantization with 1 / n folded into the
// multiplier: rt::avg_pool2d_s8's TFLite-mean mode over a window of the whole image.
#include <fmt/format.h>

#include <algorithm>

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
  // Reduced axes, resolved and deduplicated as TFLite's ResolveAxis does; they must be one
  // contiguous run, so that the input is [outer, reduced, inner] and the mean is a window
  // over the middle axis (in_h = reduced, in_w = 1, channels = inner).
  const auto& x = xt.shape;
  const std::int64_t rank = std::int64_t(x.size());
  std::vector<std::int64_t> axes;
  for (std::size_t k = 0; k < at.data.size(); k += 4) {
    std::int64_t a = std::int32_t(std::uint32_t(at.data[k]) | std::uint32_t(at.data[k + 1]) << 8 |
                                  std::uint32_t(at.data[k + 2]) << 16 | std::uint32_t(at.data[k + 3]) << 24);
    if (a < -rank || a >= rank) fail(ctx.at(op), "axis {} out of range for {}", a, shape_string(x));
    axes.push_back(a < 0 ? a + rank : a);
  }
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  if (axes.back() - axes.front() + 1 != std::int64_t(axes.size()))
    fail(ctx.at(op), "MEAN over axes that are not contiguous is not supported");
  std::int64_t outer = 1, n = 1, inner = 1;
  for (std::int64_t d = 0; d < rank; ++d) {
    const std::int64_t dim = x[std::size_t(d)];
    if (dim < 1 || dim > (std::int64_t(1) << 24)) fail(ctx.at(op), "input {} has an unsupported size", shape_string(x));
    (d < axes.front() ? outer : d > axes.back() ? inner : n) *= dim;
  }
  for (std::int64_t v : {outer, n, inner})
    if (v > (std::int64_t(1) << 24)) fail(ctx.at(op), "input {} is too large for MEAN", shape_string(x));
  if (element_count(yt.shape) != outer * inner)
    fail(ctx.at(op), "output {} does not follow from the input {} and the axes", shape_string(yt.shape),
         shape_string(x));
  const TfliteMultiplier m = mean_multiplier(in.scale, out.scale, n);
  // TFLite multiplies the int32 sum by 2^shift first when the shift is positive.
  const std::int64_t max_sum = n * std::max(std::abs(-128 - in.zero_point), std::abs(127 - in.zero_point));
  if (m.shift > 30 || (m.shift > 0 && max_sum > (std::int64_t{std::numeric_limits<std::int32_t>::max()} >> m.shift)))
    fail(ctx.at(op), "scales give a multiplier of 2^{}, whose int32 arithmetic overflows in TFLite", m.shift - 1);
  auto i32 = [](std::int64_t v) { return static_cast<std::int32_t>(v); };
  QNode q;
  q.kernel = QKernel::AvgPool;
  write_scalars(q, rt::AvgPoolParams{.pool = {.batch = i32(outer),
                                              .in_h = i32(n),
                                              .in_w = 1,
                                              .channels = i32(inner),
                                              .out_h = 1,
                                              .out_w = 1,
                                              .kernel_h = i32(n),
                                              .kernel_w = 1,
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
