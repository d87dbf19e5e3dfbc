// LSTM, GRU and RNN (tanh): int8 weights per gate row, int32 biases, and the fixed-point
// state formats of rt::recurrent_s8 (Q12 gate pre-activations, Q15 gates and hidden state,
// Q20 cell state). Only the input and output tensors take calibrated scales: the state
// formats are fixed because tanh and sigma bound h and the gates, and Q20 in int32 holds any
// cell state a trained LSTM reaches with 10^-6 resolution.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ir/recurrent.hpp"
#include "qmodel/kernel_fields.hpp"
#include "quant/calibration.hpp"
#include "quant/quantize_node.hpp"
#include "util/error.hpp"

namespace tinyq::quant_detail {

namespace {

constexpr double kQ12 = 1.0 / 4096.0, kQ15 = 1.0 / 32768.0, kQ20 = 1.0 / 1048576.0;
constexpr double kInt32Max = double(std::numeric_limits<std::int32_t>::max());

// Symmetric int8 rows of a [rows, cols] matrix: one scale per row (per gate unit) with
// per-channel granularity, else one per direction's matrix (`rows_per_tensor` rows);
// power-of-two scales in the pow2 scheme (NNoM's rule: the largest that keeps max|w|).
struct QuantizedRows {
  std::vector<std::int8_t> values;
  std::vector<double> scale;
};
QuantizedRows quantize_rows(const Context& ctx, std::span<const float> w, std::int64_t rows, std::int64_t cols,
                            std::int64_t rows_per_tensor) {
  std::vector<double> max_abs(std::size_t(rows), 0.0);
  for (std::int64_t j = 0; j < rows; ++j)
    for (std::int64_t i = 0; i < cols; ++i)
      max_abs[std::size_t(j)] = std::max(max_abs[std::size_t(j)], double(std::abs(w[std::size_t(j * cols + i)])));
  if (!ctx.per_channel())
    for (std::int64_t first = 0; first < rows; first += rows_per_tensor) {
      const auto begin = max_abs.begin() + first, end = begin + rows_per_tensor;
      std::fill(begin, end, *std::max_element(begin, end));
    }
  QuantizedRows q;
  q.values.resize(w.size());
  for (std::int64_t j = 0; j < rows; ++j) {
    const double m = max_abs[std::size_t(j)];
    const double scale = ctx.pow2() ? std::ldexp(1.0, -nnom_frac_bits(float(m))) : (m > 0 ? m / 127.0 : 1.0);
    q.scale.push_back(scale);
    for (std::int64_t i = 0; i < cols; ++i) {
      const double v = std::nearbyint(double(w[std::size_t(j * cols + i)]) / scale);
      q.values[std::size_t(j * cols + i)] = std::int8_t(std::clamp(v, -127.0, 127.0));
    }
  }
  return q;
}

std::int32_t fixed_point(const Node& node, double real, double unit, const char* what) {
  const double q = std::nearbyint(real / unit);
  if (!(std::abs(q) <= kInt32Max)) fail(node.name, "{} {} does not fit int32 at its fixed-point scale", what, real);
  return std::int32_t(q);
}

// One projection (x or h side) of every gate row: int32 biases in units of s_w[j] * s_in,
// the multipliers to `target` (Q12, or a Relu RNN's h scale), and the kernel's bounds: the accumulator (bias plus the
// largest |input| times sum |w|) and its requantized value must fit int32.
void write_projection(QNode& q, const Node& node, const QuantizedRows& w, std::int64_t cols, double s_in,
                      double max_input, std::span<const float> bias, const char* bias_key, const char* requant_key,
                      double target) {
  std::vector<std::int32_t>& b = q.i32[bias_key];
  for (std::size_t j = 0; j < w.scale.size(); ++j) {
    const double unit = w.scale[j] * s_in;
    b.push_back(fixed_point(node, bias[j], unit, "recurrent bias"));
    double sum = 0;
    for (std::int64_t i = 0; i < cols; ++i) sum += std::abs(double(w.values[j * std::size_t(cols) + std::size_t(i)]));
    const double bound = std::abs(double(b.back())) + max_input * sum;
    if (bound > kInt32Max)
      fail(node.name, "{} gate row {}: the int32 accumulator could overflow ({} > 2^31-1)", op_name(node.op), j, bound);
    const double m = unit / target;
    if (bound * m > kInt32Max / 2)
      fail(node.name, "{} gate row {}: the requantized pre-activation could overflow int32 (input scale too coarse)",
           op_name(node.op), j);
    append_multiplier(q, requant_key, m);
  }
}

}  // namespace

QNode quantize_recurrent(const Context& ctx, const Node& node) {
  // int8_unsupported has checked: constant weights and initial states (|h0| <= 1 unless Relu,
  // |c0| < 2048, |P| < 64), hidden size <= 512.
  const RecurrentDims d = recurrent_dims(ctx.graph, node);
  const std::int64_t rows = d.gates * d.hidden, all_rows = d.directions * rows;
  const QuantParam &in = ctx.param(node.inputs[0]), &out = ctx.param(node.outputs[0]);
  auto constant = [&](std::size_t i) { return ctx.graph.value(node.inputs[i]).constant->f32(); };
  const std::string output = node.attrs.get_string("output", "Y");
  const bool lstm = node.op == Op::LSTM;

  QNode q;
  q.kernel = QKernel::Recurrent;
  const QuantizedRows w = quantize_rows(ctx, constant(1), all_rows, d.input, rows);
  const QuantizedRows r = quantize_rows(ctx, constant(2), all_rows, d.hidden, rows);
  q.i8["weights"] = w.values;
  q.i8["recurrent_weights"] = r.values;
  // B [D, 2*G*H] holds each direction's W biases then its R biases.
  std::vector<float> wb, rb;
  const auto b = constant(3);
  for (std::int64_t dir = 0; dir < d.directions; ++dir) {
    const auto first = b.begin() + dir * 2 * rows;
    wb.insert(wb.end(), first, first + rows);
    rb.insert(rb.end(), first + rows, first + 2 * rows);
  }
  // A Relu RNN's h has no bound to fix a format on: it takes the layer output's calibrated
  // range, twice over (the output's range may be clipped by calibration, and Y_h sees only
  // the last step), in 32767 steps; power of two in the pow2 scheme. The projections then
  // bring x and h straight to h's units.
  const bool relu = node.op == Op::RNN && node.attrs.get_string("activation", "Tanh") == "Relu";
  double h_unit = kQ15;
  if (relu) {
    const double out_max = double(out.scale) * (127.0 - out.zero_point);
    h_unit = out_max > 0 ? 2.0 * out_max / 32767.0 : kQ15;
    if (ctx.pow2()) h_unit = std::ldexp(1.0, int(std::ceil(std::log2(h_unit))));
  }
  const double target = relu ? h_unit : kQ12;
  const double max_x = std::max(std::abs(-128.0 - in.zero_point), std::abs(127.0 - in.zero_point));
  write_projection(q, node, w, d.input, in.scale, max_x, wb, "bias_x", "x_requant", target);
  // |h| <= 32768 in Q15 (a saturated tanh is -32768), as the .tqm validator assumes.
  write_projection(q, node, r, d.hidden, h_unit, 32768.0, rb, "bias_h", "h_requant", target);

  // Initial states of zeros are left out (null: the kernel starts from zeros).
  auto store_state = [&](const char* key, std::span<const float> values, double unit, std::int32_t limit) {
    std::vector<std::int32_t> fixed;
    for (float v : values) fixed.push_back(std::clamp(fixed_point(node, v, unit, key), -limit, limit));
    if (std::any_of(fixed.begin(), fixed.end(), [](std::int32_t v) { return v != 0; })) q.i32[key] = fixed;
  };
  store_state("initial_h", constant(4), h_unit, 32767);
  if (lstm) {
    store_state("initial_c", constant(5), kQ20, std::numeric_limits<std::int32_t>::max());
    if (node.inputs.size() == 7) store_state("peephole", constant(6), 1.0 / 65536.0, 1 << 22);
  }

  // Y and Y_h come from Q15 h, Y_c from Q20 c; the kernel requires the requantized state to
  // fit int32 (a multiplier below 2^16 for h, below 1 for c), with the output offset added
  // (|h| <= 32768, |c| <= 2^31 - 1; the .tqm validator's bound).
  const bool cell_out = output == "Y_c";
  const double state_unit = cell_out ? kQ20 : h_unit;
  const double m = state_unit / out.scale;
  if (m >= (cell_out ? 1.0 : 65536.0))
    fail(node.name, "{} output scale {} is too fine for its state", op_name(node.op), out.scale);
  const QuantizedMultiplier om = quantize_multiplier(m);
  if (om.shift > (cell_out ? 0 : 16) ||
      (cell_out ? kInt32Max : 32768.0) * std::ldexp(double(om.multiplier), om.shift - 31) + 129 > kInt32Max)
    fail(node.name, "{} output scale {} is too fine for its state", op_name(node.op), out.scale);
  const float clip = node.attrs.get_float("cell_clip", 0.0f);
  write_scalars(q, rt::RecurrentParams{
                       .cell = lstm ? rt::kCellLstm : (node.op == Op::GRU ? rt::kCellGru : rt::kCellRnn),
                       .steps = param32(node, d.steps),
                       .batch = param32(node, d.batch),
                       .input = param32(node, d.input),
                       .hidden = param32(node, d.hidden),
                       .directions = param32(node, d.directions),
                       .reverse = node.attrs.get_string("direction", "forward") == "reverse" ? 1 : 0,
                       .linear_before_reset = node.attrs.get_int("linear_before_reset", 0) != 0 ? 1 : 0,
                       .output = output == "Y" ? rt::kRecurrentY : (cell_out ? rt::kRecurrentYc : rt::kRecurrentYh),
                       .input_offset = -in.zero_point,
                       .output_offset = out.zero_point,
                       .output_multiplier = om.multiplier,
                       .output_shift = om.shift,
                       .bias_x = nullptr,
                       .bias_h = nullptr,
                       .x_requant = {},
                       .h_requant = {},
                       .peephole = nullptr,
                       .initial_h = nullptr,
                       .initial_c = nullptr,
                       // A clip at or beyond Q20's own range (+-2048) changes nothing: 0.
                       .cell_clip = clip > 0 && clip < 2047.0f ? fixed_point(node, clip, kQ20, "cell_clip") : 0,
                       .relu = relu ? 1 : 0});
  return q;
}

}  // namespace tinyq::quant_detail
