#include "qmodel/qgraph_validation.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <set>

#include "ir/shape_inference.hpp"
#include "qmodel/kernel_params.hpp"
#include "util/error.hpp"

namespace tinyq {

namespace {

constexpr std::int64_t kMaxDim = std::int64_t(1) << 24;  // any dimension, count or size
constexpr std::int64_t kMaxPad = std::int64_t(1) << 16;

class NodeCheck {
 public:
  NodeCheck(const QGraph& g, const QNode& n, const std::string& where) : g_(g), n_(n), where_(where) {}

  [[noreturn]] void bad(const std::string& what) const {
    fail(where_, "inconsistent model: node '{}' ({}): {}", n_.name, qkernel_name(n_.kernel), what);
  }
  void require(bool ok, const char* what) const {
    if (!ok) bad(what);
  }
  // One scalar parameter, checked as the int64 the file holds: the *_params() accessors
  // narrow to int32 afterwards, which is only safe once every field is known to fit.
  std::int64_t field(const char* key, std::int64_t lo, std::int64_t hi) const {
    auto it = n_.ints.find(key);
    if (it == n_.ints.end()) bad(fmt::format("lacks parameter '{}'", key));
    if (it->second < lo || it->second > hi)
      bad(fmt::format("parameter '{}' = {} outside [{}, {}]", key, it->second, lo, hi));
    return it->second;
  }
  void fields(std::initializer_list<const char*> keys, std::int64_t lo, std::int64_t hi) const {
    for (const char* key : keys) field(key, lo, hi);
  }
  void dims(std::initializer_list<const char*> keys) const { fields(keys, 1, kMaxDim); }
  void pads(std::initializer_list<const char*> keys) const { fields(keys, 0, kMaxPad); }
  // act_min <= act_max within the output's range (an empty clamp range is no activation at all).
  void clamp_fields() const {
    const bool wide = bits(n_.output) == 16;
    fields({"act_min", "act_max"}, wide ? -32768 : -128, wide ? 32767 : 127);
    require(n_.get("act_min") <= n_.get("act_max"), "act_min is above act_max");
  }
  // input_offset = -(input zero point), output_offset = output zero point.
  void offset_fields(const char* input_key = "input_offset", const char* output_key = "output_offset") const {
    if (input_key) field(input_key, -127, 128);
    field(output_key, -128, 127);
  }
  // A Q31 multiplier: 0 or |m| in [2^30, 2^31) (quantize_multiplier's normal form). Negative
  // only where the op gives it a sign (Sub, PReLU slopes, LayerNorm gamma).
  void multiplier(std::int64_t m, bool may_be_negative) const {
    const std::int64_t a = m < 0 ? -m : m;
    require(m == 0 || (a >= (std::int64_t(1) << 30) && a < (std::int64_t(1) << 31)),
            "requantization multiplier is not 0 or a normalized Q31 value");
    require(m >= 0 || may_be_negative, "negative requantization multiplier");
  }
  void scalar_requant(const std::string& prefix, bool may_be_negative) const {
    multiplier(field((prefix + "_multiplier").c_str(), INT32_MIN, INT32_MAX), may_be_negative);
    field((prefix + "_shift").c_str(), -31, 30);
  }
  std::int64_t count(int value) const { return element_count(g_.values[std::size_t(value)].shape); }
  int bits(int value) const { return g_.values[std::size_t(value)].quant.bits; }
  // A 16x8 node: an int16 input or output (kernels.hpp, conv2d_wide).
  bool wide() const {
    return bits(n_.output) == 16 ||
           std::any_of(n_.inputs.begin(), n_.inputs.end(), [&](int v) { return bits(v) == 16; });
  }
  const QuantParam& quant(int value) const { return g_.values[std::size_t(value)].quant; }
  std::int64_t in(std::size_t i = 0) const {
    if (i >= n_.inputs.size()) bad("missing input");
    return count(n_.inputs[i]);
  }
  std::int64_t out() const { return count(n_.output); }
  void inputs(std::size_t expected) const { require(n_.inputs.size() == expected, "wrong number of inputs"); }
  // The node's offsets must be its tensors' zero points: the kernel and the generated
  // interface would otherwise disagree on what a byte means.
  void matches_input(std::int64_t input_offset, std::size_t i = 0) const {
    require(input_offset == -std::int64_t(quant(n_.inputs.at(i)).zero_point),
            "input offset is not minus the input's zero point");
  }
  void matches_output(std::int64_t output_offset) const {
    require(output_offset == quant(n_.output).zero_point, "output offset is not the output's zero point");
  }
  void shift(std::int32_t s) const { require(s >= -31 && s <= 30, "requantization shift outside [-31, 30]"); }
  // A rounding mode (rt::kRoundSingle or rt::kRoundTflite), optional under `key`.
  void rounding(const std::string& key) const {
    if (n_.ints.contains(key)) field(key.c_str(), rt::kRoundSingle, rt::kRoundTflite);
  }
  void requant(const rt::Requant& r, std::int64_t channels, bool may_be_negative) const {
    require(r.count == 1 || r.count == channels, "requantization count is neither 1 nor the channel count");
    const std::string prefix = prefix_of(r.multiplier);
    require(n_.words(prefix + "_shift").size() == std::size_t(r.count), "multiplier/shift lengths differ");
    rounding(prefix + "_rounding");
    for (std::int32_t i = 0; i < r.count; ++i) {
      multiplier(r.multiplier[i], may_be_negative);
      shift(r.shift[i]);
      require(!wide() || r.shift[i] <= 15, "16x8 requantization shift above 15");
    }
  }
  std::size_t array_size(const char* key) const {
    if (auto it = n_.i8.find(key); it != n_.i8.end()) return it->second.size();
    if (auto it = n_.i32.find(key); it != n_.i32.end()) return it->second.size();
    bad(std::string("lacks array '") + key + "'");
  }
  const std::vector<std::int32_t>& words(const char* key) const {
    if (auto it = n_.i32.find(key); it != n_.i32.end()) return it->second;
    bad(std::string("lacks array '") + key + "'");
  }
  const std::vector<std::int8_t>& bytes(const char* key) const {
    if (auto it = n_.i8.find(key); it != n_.i8.end()) return it->second;
    bad(std::string("lacks array '") + key + "'");
  }
  // |bias| + max|q + input_offset| * sum |w| per output channel must fit int32: no partial
  // sum of any accumulation order can wrap (the quantizer's own bound).
  // A 16x8 node's accumulator is int64, bounded by 2^47 (requantize_wide's range).
  void accumulators(const std::vector<std::int8_t>& weights, const std::vector<std::int32_t>& bias,
                    std::int64_t channels, std::int64_t taps, bool channel_major, std::int32_t input_offset) const {
    const std::int64_t max_input =
        bits(n_.inputs.at(0)) == 16 ? 32768 : std::max(std::abs(-128 + input_offset), std::abs(127 + input_offset));
    const std::int64_t limit = wide() ? (std::int64_t(1) << 47) - 1 : 2147483647;
    for (std::int64_t c = 0; c < channels; ++c) {
      std::int64_t sum = 0;
      for (std::int64_t t = 0; t < taps; ++t)
        sum += std::abs(int(weights[std::size_t(channel_major ? c * taps + t : t * channels + c)]));
      const std::int64_t bound = max_input * sum + (bias.empty() ? 0 : std::abs(std::int64_t(bias[std::size_t(c)])));
      require(bound <= limit, "accumulator could overflow");
    }
  }
  // One spatial axis of a window op. Pads come from ONNX (smaller than the window) plus any
  // explicit Pad node folded into the op (fold_pad), so a pad may reach the window but never
  // the window plus the whole input: beyond that whole rows of outputs would see no input.
  // `pad_end` < 0: the op does not store its end padding (conv), any end pad in that range
  // may explain out. Otherwise out must be the floor or the ceil_mode size (ONNX's rule).
  void window_axis(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride, std::int64_t dilation,
                   std::int64_t pad_begin, std::int64_t pad_end, const char* axis) const {
    const std::int64_t extent = dilation * (kernel - 1) + 1;
    const std::int64_t max_pad = in + extent - 1;
    if (pad_begin > max_pad || pad_end > max_pad)
      bad(fmt::format("{} padding is larger than the window plus the input", axis));
    if (pad_end >= 0) {
      const std::int64_t floor_size = window_output_size(in, kernel, stride, dilation, pad_begin, pad_end, false);
      const std::int64_t ceil_size = window_output_size(in, kernel, stride, dilation, pad_begin, pad_end, true);
      if (out != floor_size && out != ceil_size)
        bad(fmt::format("output {} {} does not follow from the input, window, stride and padding", axis, out));
      return;
    }
    // The smallest end pad giving `out` windows: the last one must end inside the padded input.
    const std::int64_t need = (out - 1) * stride + extent - in - pad_begin;
    if (need + stride - 1 < 0 || std::max<std::int64_t>(need, 0) > max_pad)
      bad(fmt::format("output {} {} does not follow from the input, window, stride and padding", axis, out));
  }

 private:
  const QGraph& g_;
  const QNode& n_;
  const std::string& where_;
  std::string prefix_of(const std::int32_t* multiplier) const {
    for (const auto& [key, values] : n_.i32)
      if (values.data() == multiplier && key.ends_with("_multiplier")) return key.substr(0, key.size() - 11);
    bad("requantization arrays missing");
  }
};

// The rt::ConvParams conv, depthwise and conv-transpose share: one input, positive sizes,
// pads, offsets and clamp in range, and tensor sizes that match them.
rt::ConvParams checked_conv_params(const NodeCheck& c, const QNode& n) {
  c.inputs(1);
  c.dims({"batch", "in_h", "in_w", "in_c", "out_h", "out_w", "out_c", "kernel_h", "kernel_w", "stride_h", "stride_w",
          "dilation_h", "dilation_w", "groups"});
  c.pads({"pad_top", "pad_left"});
  c.offset_fields();
  c.clamp_fields();
  const rt::ConvParams p = conv_params(n);
  c.require(c.in() == std::int64_t(p.batch) * p.in_h * p.in_w * p.in_c, "input size does not match its parameters");
  c.require(c.out() == std::int64_t(p.batch) * p.out_h * p.out_w * p.out_c,
            "output size does not match its parameters");
  return p;
}

// Conv and depthwise: geometry, offsets, requantization, weights and the accumulator bound.
void check_conv(const NodeCheck& c, const QNode& n) {
  const rt::ConvParams p = checked_conv_params(c, n);
  c.window_axis(p.in_h, p.out_h, p.kernel_h, p.stride_h, p.dilation_h, p.pad_top, -1, "height");
  c.window_axis(p.in_w, p.out_w, p.kernel_w, p.stride_w, p.dilation_w, p.pad_left, -1, "width");
  c.matches_input(p.input_offset);
  c.matches_output(p.output_offset);
  c.requant(p.requant, p.out_c, false);
  const auto& w = c.bytes("weights");
  const auto& b = c.words("bias");
  c.require(b.empty() || b.size() == std::size_t(p.out_c), "bias length is not the channel count");
  if (n.kernel == QKernel::Conv) {
    c.require(p.in_c % p.groups == 0 && p.out_c % p.groups == 0, "channels not divisible by groups");
    const std::int64_t taps = std::int64_t(p.kernel_h) * p.kernel_w * (p.in_c / p.groups);
    c.require(std::int64_t(w.size()) == p.out_c * taps, "weights length does not match the kernel shape");
    c.accumulators(w, b, p.out_c, taps, true, p.input_offset);
  } else {
    c.require(p.groups == p.in_c, "depthwise groups is not the input channel count");
    c.require(p.out_c % p.in_c == 0, "depthwise output channels are not a multiple of the input channels");
    const std::int64_t taps = std::int64_t(p.kernel_h) * p.kernel_w;
    c.require(std::int64_t(w.size()) == p.out_c * taps, "weights length does not match the kernel shape");
    c.accumulators(w, b, p.out_c, taps, false, p.input_offset);
  }
}

// ConvTranspose: the kernel reads only input pixels it proves in range (0 <= iy < in_h from
// oy + pad_top - ky * dilation_h), so safety needs sizes, weights and int32 positions: oy +
// pad_top and ky * dilation_h below 2^30. Beyond that the output must be one the input can
// reach: its first row no further than the padded window's end (else it is bias only, a
// damaged file), its size at most what the window covers plus an output padding below the
// stride or dilation (ONNX's limit; Keras and TFLite stay inside it too).
void check_conv_transpose(const NodeCheck& c, const QNode& n) {
  const rt::ConvParams p = checked_conv_params(c, n);
  auto axis = [&](std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride, std::int64_t dilation,
                  std::int64_t pad, const char* name) {
    const std::int64_t extent = dilation * (kernel - 1) + 1;
    if (extent >= (std::int64_t(1) << 30) || stride * (in - 1) >= (std::int64_t(1) << 30))
      c.bad(fmt::format("{} window or stride too large", name));
    const std::int64_t full = stride * (in - 1) + extent;  // rows the taps reach, before cropping
    if (pad >= full) c.bad(fmt::format("{} padding is larger than the output the input reaches", name));
    if (out > full - pad + std::max(stride, dilation) - 1)
      c.bad(fmt::format("output {} {} does not follow from the input, window, stride and padding", name, out));
  };
  axis(p.in_h, p.out_h, p.kernel_h, p.stride_h, p.dilation_h, p.pad_top, "height");
  axis(p.in_w, p.out_w, p.kernel_w, p.stride_w, p.dilation_w, p.pad_left, "width");
  c.matches_input(p.input_offset);
  c.matches_output(p.output_offset);
  c.requant(p.requant, p.out_c, false);
  const auto& w = c.bytes("weights");
  const auto& b = c.words("bias");
  c.require(b.empty() || b.size() == std::size_t(p.out_c), "bias length is not the channel count");
  c.require(p.in_c % p.groups == 0 && p.out_c % p.groups == 0, "channels not divisible by groups");
  const std::int64_t taps = std::int64_t(p.kernel_h) * p.kernel_w * (p.in_c / p.groups);
  c.require(std::int64_t(w.size()) == p.out_c * taps, "weights length does not match the kernel shape");
  c.accumulators(w, b, p.out_c, taps, true, p.input_offset);
}

// Dense: sizes, offsets, requantization, weights and the accumulator bound.
void check_dense(const NodeCheck& c, const QNode& n) {
  c.inputs(1);
  c.dims({"rows", "in_features", "out_features"});
  c.offset_fields();
  c.clamp_fields();
  const rt::DenseParams p = dense_params(n);
  c.require(c.in() == std::int64_t(p.rows) * p.in_features, "input size does not match its parameters");
  c.require(c.out() == std::int64_t(p.rows) * p.out_features, "output size does not match its parameters");
  c.matches_input(p.input_offset);
  c.matches_output(p.output_offset);
  c.requant(p.requant, p.out_features, false);
  const auto& w = c.bytes("weights");
  const auto& b = c.words("bias");
  c.require(std::int64_t(w.size()) == std::int64_t(p.out_features) * p.in_features, "weights length mismatch");
  c.require(b.empty() || b.size() == std::size_t(p.out_features), "bias length mismatch");
  c.accumulators(w, b, p.out_features, p.in_features, true, p.input_offset);
}

// Max and average pooling: window geometry; average pooling's divisor tables.
void check_pool(const NodeCheck& c, const QNode& n) {
  c.inputs(1);
  c.dims({"batch", "in_h", "in_w", "channels", "out_h", "out_w", "kernel_h", "kernel_w", "stride_h", "stride_w"});
  c.pads({"pad_top", "pad_left", "pad_bottom", "pad_right"});
  c.clamp_fields();
  const rt::PoolParams p = pool_params(n);
  c.require(c.in() == std::int64_t(p.batch) * p.in_h * p.in_w * p.channels, "input size mismatch");
  c.require(c.out() == std::int64_t(p.batch) * p.out_h * p.out_w * p.channels, "output size mismatch");
  c.window_axis(p.in_h, p.out_h, p.kernel_h, p.stride_h, 1, p.pad_top, p.pad_bottom, "height");
  c.window_axis(p.in_w, p.out_w, p.kernel_w, p.stride_w, 1, p.pad_left, p.pad_right, "width");
  c.require(std::int64_t(p.kernel_h) * p.kernel_w <= (1 << 16), "pooling window too large");
  if (n.kernel == QKernel::MaxPool) {
    const QuantParam &qi = c.quant(n.inputs[0]), &qo = c.quant(n.output);
    c.require(qi.scale == qo.scale && qi.zero_point == qo.zero_point,
              "max pooling changes the quantization of its input");
    return;
  }
  c.field("count_include_pad", 0, 1);
  const bool wide = c.bits(n.inputs[0]) == 16;
  if (wide) {  // int16 tensors are symmetric
    c.field("input_offset", 0, 0);
    c.field("output_offset", 0, 0);
  } else {
    c.offset_fields();
  }
  const bool truncate = n.ints.contains("truncate") && c.field("truncate", 0, 1) != 0;
  c.rounding("rounding");
  const rt::AvgPoolParams a = avg_pool_params(n);
  const bool tflite = a.rounding == rt::kRoundTflite;
  if (wide) {
    // avg_pool2d_s16: tinyq's rescale only, symmetric tensors, and an int32 sum that cannot
    // overflow (|q| <= 32768 per tap).
    c.require(!tflite && !truncate, "int16 average pooling rounds as tinyq does only");
    c.require(std::int64_t(p.kernel_h) * p.kernel_w <= 65535, "int16 average pooling window above 65,535 taps");
  }
  if (tflite && n.i32.contains("count_multiplier")) {
    // TFLite's MEAN over H and W: one window over the whole image, one multiplier with 1 / n
    // folded in (not normalized), offsets the zero points.
    c.require(!truncate, "average pooling both truncates and rounds as TFLite");
    c.require(p.kernel_h == p.in_h && p.kernel_w == p.in_w && p.out_h == 1 && p.out_w == 1 && p.pad_top == 0 &&
                  p.pad_left == 0 && p.pad_bottom == 0 && p.pad_right == 0,
              "TFLite mean window is not the whole image");
    c.require(c.words("count_multiplier").size() == 1 && c.words("count_shift").size() == 1,
              "TFLite mean has not one multiplier");
    c.require(a.count_multiplier[0] >= 0, "negative TFLite mean multiplier");
    c.shift(a.count_shift[0]);
    c.matches_input(a.input_offset);
    c.matches_output(a.output_offset);
    // TFLite multiplies the sum by 2^shift in int32 first: it must fit.
    const std::int64_t max_sum = std::int64_t(p.kernel_h) * p.kernel_w *
                                 std::max(std::abs(-128 + a.input_offset), std::abs(127 + a.input_offset));
    c.require(a.count_shift[0] <= 0 || max_sum <= (std::int64_t{INT32_MAX} >> a.count_shift[0]),
              "TFLite mean sum overflows");
    return;
  }
  if (tflite) {
    // TFLite averages the stored bytes themselves (rounding ties away from zero is not
    // shift-invariant, so no offsets), and its input and output share one quantization; its
    // rounded division needs no tables and is not also a truncation.
    const QuantParam &qi = c.quant(n.inputs[0]), &qo = c.quant(n.output);
    c.require(a.input_offset == 0 && a.output_offset == 0, "TFLite average pooling has offsets");
    c.require(qi.scale == qo.scale && qi.zero_point == qo.zero_point,
              "TFLite average pooling changes the quantization of its input");
    c.require(!truncate, "average pooling both truncates and rounds as TFLite");
  } else {
    c.matches_input(a.input_offset);
    c.matches_output(a.output_offset);
  }
  if (!truncate && !tflite) {
    const std::size_t entries = std::size_t(p.kernel_h) * std::size_t(p.kernel_w) + 1;
    c.require(c.words("count_multiplier").size() == entries && c.words("count_shift").size() == entries,
              "count multiplier table is not one entry per tap count");
    for (std::size_t i = 1; i < entries; ++i) {
      c.multiplier(a.count_multiplier[i], false);
      c.shift(a.count_shift[i]);
    }
  }
}

// Add / Mul: operands (activations or constants), broadcasting, scalar requantization.
void check_binary(const NodeCheck& c, const QNode& n) {
  const bool a_const = c.field("a_const", 0, 1) != 0, b_const = c.field("b_const", 0, 1) != 0;
  c.require(!(a_const && b_const), "both operands are constants");
  c.inputs(std::size_t(!a_const) + std::size_t(!b_const));
  if (a_const) c.bytes("a_const");  // binary_operands() below reads them
  if (b_const) c.bytes("b_const");
  c.fields({"a_offset", "b_offset"}, -127, 128);
  c.field("output_offset", -128, 127);
  c.clamp_fields();
  const auto& a = c.words("a_shape");
  const auto& b = c.words("b_shape");
  const auto& o = c.words("out_shape");
  c.require(a.size() <= 4 && b.size() <= 4 && o.size() <= 4 && !o.empty(), "more than 4 dimensions");
  auto elements = [&](const std::vector<std::int32_t>& s) {
    std::int64_t e = 1;
    for (auto d : s) {
      c.require(d > 0 && d <= kMaxDim, "bad dimension");
      e *= d;
    }
    return e;
  };
  const std::int64_t oe = elements(o);
  c.require(elements(a) <= oe && elements(b) <= oe, "operand larger than the output");
  for (const auto* s : {&a, &b})
    for (std::size_t i = 0; i < s->size(); ++i) {
      c.require(s->size() <= o.size(), "operand has more dimensions than the output");
      const std::int32_t d = (*s)[s->size() - 1 - i], od = o[o.size() - 1 - i];
      c.require(d == od || d == 1, "operand shapes do not broadcast to the output");
    }
  c.require(c.out() == oe, "output size mismatch");
  const BinaryOperands ops = binary_operands(n);
  c.require(
      ops.a_input >= 0 ? c.count(ops.a_input) == elements(a) : c.bytes("a_const").size() == std::size_t(elements(a)),
      "first operand size mismatch");
  c.require(
      ops.b_input >= 0 ? c.count(ops.b_input) == elements(b) : c.bytes("b_const").size() == std::size_t(elements(b)),
      "second operand size mismatch");
  if (ops.a_input >= 0)
    c.require(n.get("a_offset") == -c.quant(ops.a_input).zero_point, "first operand offset is not its zero point");
  if (ops.b_input >= 0)
    c.require(n.get("b_offset") == -c.quant(ops.b_input).zero_point, "second operand offset is not its zero point");
  c.matches_output(n.get("output_offset"));
  c.rounding("rounding");
  if (n.kernel == QKernel::Add) {
    c.field("left_shift", 0, 22);
    // add_wide: tinyq's rounding, and headroom an int16 operand leaves room for.
    if (c.wide()) {
      c.require(n.get("rounding", rt::kRoundSingle) == rt::kRoundSingle && n.get("subtract", 0) == 0,
                "int16 add rounds as TFLite");
      c.require(n.get("left_shift") <= 15, "int16 add with a left shift above 15");
    }
    c.scalar_requant("a", false);
    c.scalar_requant("b", true);  // Sub negates b
    c.scalar_requant("output", false);
    // TFLite's SUB subtracts the rescaled b term (tinyq's own Sub negates b's multiplier).
    if (n.ints.contains("subtract") && c.field("subtract", 0, 1) != 0)
      c.require(n.get("rounding", rt::kRoundSingle) == rt::kRoundTflite, "subtract without TFLite's rounding");
  } else {
    c.scalar_requant("output", false);
    // mul_wide: tinyq's rounding (int16 operands have offset 0, checked above as zero points).
    if (c.wide()) c.require(n.get("rounding", rt::kRoundSingle) == rt::kRoundSingle, "int16 mul rounds as TFLite");
    // TFLite's MUL multiplies the product by 2^shift in int32 first: |product| <= 255^2 < 2^16.
    if (n.get("rounding", rt::kRoundSingle) == rt::kRoundTflite)
      c.require(n.get("output_shift") <= 15, "TFLite multiplication shift above 15");
  }
}

// Concat: one row length, offset and requantization per input.
void check_concat(const NodeCheck& c, const QNode& n) {
  const std::int64_t inputs = c.field("inputs", 1, 1 << 16);
  c.field("outer", 1, kMaxDim);
  c.field("output_offset", -128, 127);
  c.inputs(std::size_t(inputs));
  const rt::ConcatParams p = concat_params(n);
  for (const char* key : {"input_row", "input_offset", "multiplier", "shift"})
    c.require(c.array_size(key) == std::size_t(p.inputs), "per-input array length is not the input count");
  c.matches_output(p.output_offset);
  std::int64_t row = 0;
  for (std::int32_t i = 0; i < p.inputs; ++i) {
    c.require(p.input_row[i] > 0 && p.input_row[i] <= kMaxDim &&
                  std::int64_t(p.outer) * p.input_row[i] == c.in(std::size_t(i)),
              "input size mismatch");
    c.require(p.input_offset[i] >= -127 && p.input_offset[i] <= 128, "input offset outside [-127, 128]");
    c.matches_input(p.input_offset[i], std::size_t(i));
    c.multiplier(p.multiplier[i], false);
    c.shift(p.shift[i]);
    if (c.wide()) {  // concat_wide: copies between one width only, results that fit int32
      c.require(p.multiplier[i] != 0 || c.bits(n.inputs[std::size_t(i)]) == c.bits(n.output),
                "int16 concat copies between tensors of different widths");
      c.require(p.shift[i] <= 14, "int16 concat requantization shift above 14");
    }
    row += p.input_row[i];
  }
  c.require(std::int64_t(p.outer) * row == c.out(), "output size mismatch");
}

// Pad: sizes and the fill value.
void check_pad(const NodeCheck& c, const QNode& n) {
  c.inputs(1);
  c.dims({"batch", "in_h", "in_w", "channels"});
  c.pads({"pad_top", "pad_left", "pad_bottom", "pad_right"});
  c.field("value", -128, 127);
  const rt::PadParams p = pad_params(n);
  c.require(c.in() == std::int64_t(p.batch) * p.in_h * p.in_w * p.channels, "input size mismatch");
  c.require(c.out() == std::int64_t(p.batch) * (p.in_h + p.pad_top + p.pad_bottom) *
                           (p.in_w + p.pad_left + p.pad_right) * p.channels,
            "output size mismatch");
}

// Nearest resize: sizes and source index tables.
void check_resize(const NodeCheck& c, const QNode& n) {
  c.inputs(1);
  c.dims({"batch", "in_h", "in_w", "channels", "out_h", "out_w"});
  const rt::ResizeParams p = resize_params(n);
  c.require(c.in() == std::int64_t(p.batch) * p.in_h * p.in_w * p.channels, "input size mismatch");
  c.require(c.out() == std::int64_t(p.batch) * p.out_h * p.out_w * p.channels, "output size mismatch");
  c.require(c.words("source_y").size() == std::size_t(p.out_h) && c.words("source_x").size() == std::size_t(p.out_w),
            "source index tables have the wrong length");
  for (std::int32_t y = 0; y < p.out_h; ++y)
    c.require(p.source_y[y] >= 0 && p.source_y[y] < p.in_h, "source row out of range");
  for (std::int32_t x = 0; x < p.out_w; ++x)
    c.require(p.source_x[x] >= 0 && p.source_x[x] < p.in_w, "source column out of range");
}

// Bilinear resize: sizes, index tables inside the input (-1 only as an extrapolated point's
// first entry), Q10 weights in [0, 1024] summing to 1024 per pair, which bounds the
// accumulator by 2^27.
void check_resize_bilinear(const NodeCheck& c, const QNode& n) {
  c.inputs(1);
  c.dims({"batch", "in_h", "in_w", "channels", "out_h", "out_w"});
  c.field("extrapolation", -128, 127);
  const rt::ResizeBilinearParams p = resize_bilinear_params(n);
  c.require(c.in() == std::int64_t(p.batch) * p.in_h * p.in_w * p.channels, "input size mismatch");
  c.require(c.out() == std::int64_t(p.batch) * p.out_h * p.out_w * p.channels, "output size mismatch");
  auto check_axis = [&](const char* index_key, const char* weight_key, std::int32_t out, std::int32_t in) {
    const auto& index = c.words(index_key);
    const auto& weight = c.words(weight_key);
    c.require(index.size() == 2 * std::size_t(out) && weight.size() == 2 * std::size_t(out),
              "bilinear tables have the wrong length");
    for (std::size_t i = 0; i < index.size(); i += 2) {
      const bool outside = index[i] == -1;
      c.require(outside || (index[i] >= 0 && index[i] < in), "bilinear source index out of range");
      c.require(index[i + 1] >= 0 && index[i + 1] < in, "bilinear source index out of range");
      c.require(weight[i] >= 0 && weight[i] <= 1024 && weight[i + 1] >= 0 && weight[i] + weight[i + 1] == 1024,
                "bilinear weights must be Q10 in [0, 1024] and sum to 1024");
    }
  };
  check_axis("y_index", "y_weight", p.out_h, p.in_h);
  check_axis("x_index", "x_weight", p.out_w, p.in_w);
}

// MatMul of two activations: sizes, batch strides (a whole matrix or 0: shared), offsets that
// are the operands' zero points, and an int32 accumulator that is exact (k * 255 * 255 fits)
// and a requantized value that fits int32 before the clamp (acc * 2^shift, for shift > 0).
void check_matmul(const NodeCheck& c, const QNode& n) {
  c.inputs(2);
  c.dims({"batch", "m", "k", "n"});
  c.fields({"a_offset", "b_offset"}, -127, 128);
  c.field("output_offset", -128, 127);
  c.clamp_fields();
  c.scalar_requant("output", false);
  const rt::MatMulParams p = matmul_params(n);
  const std::int64_t a_matrix = std::int64_t(p.m) * p.k, b_matrix = std::int64_t(p.k) * p.n;
  c.require(p.a_batch_stride == 0 || p.a_batch_stride == a_matrix, "first operand batch stride is not 0 or m * k");
  c.require(p.b_batch_stride == 0 || p.b_batch_stride == b_matrix, "second operand batch stride is not 0 or k * n");
  c.require(c.in(0) == (p.a_batch_stride ? p.batch : 1) * a_matrix, "first operand size mismatch");
  c.require(c.in(1) == (p.b_batch_stride ? p.batch : 1) * b_matrix, "second operand size mismatch");
  c.require(c.out() == std::int64_t(p.batch) * p.m * p.n, "output size mismatch");
  c.matches_input(p.a_offset, 0);
  c.matches_input(p.b_offset, 1);
  c.matches_output(p.output_offset);
  const std::int64_t bound = std::int64_t(p.k) * 255 * 255;
  c.require(bound <= INT32_MAX, "inner dimension too large for the int32 accumulator");
  c.require(p.output_shift <= 0 || (bound << p.output_shift) <= INT32_MAX, "requantized accumulator may not fit int32");
}

// Recurrent layers: sizes of every array against the dimensions, and the kernel's bounds:
// each projection's accumulator and its requantized value fit int32 (inputs q - z of at most
// 255, Q15 states of at most 32767), the output requantization of the state fits int32, and
// the peepholes stay within Q16's +-64 so that p * c fits int32 in Q12.
void check_recurrent(const NodeCheck& c, const QNode& n) {
  c.inputs(1);
  const std::int64_t cell = c.field("cell", rt::kCellLstm, rt::kCellRnn);
  c.dims({"steps", "batch", "input"});
  const std::int64_t hidden = c.field("hidden", 1, 512);
  const std::int64_t directions = c.field("directions", 1, 2);
  c.field("reverse", 0, directions == 1 ? 1 : 0);
  c.field("linear_before_reset", 0, cell == rt::kCellGru ? 1 : 0);
  const std::int64_t output =
      c.field("output", rt::kRecurrentY, cell == rt::kCellLstm ? rt::kRecurrentYc : rt::kRecurrentYh);
  c.offset_fields();
  c.scalar_requant("output", false);
  c.field("cell_clip", 0, cell == rt::kCellLstm ? INT32_MAX : 0);
  if (n.ints.contains("relu")) c.field("relu", 0, cell == rt::kCellRnn ? 1 : 0);
  // Before recurrent_params(), whose own error for a missing array would not name the file.
  for (const char* key :
       {"bias_x", "bias_h", "x_requant_multiplier", "x_requant_shift", "h_requant_multiplier", "h_requant_shift"})
    c.words(key);
  const rt::RecurrentParams p = recurrent_params(n);
  const std::int64_t gates = rt::recurrent_gate_count(p.cell), rows = directions * gates * hidden;
  const std::int64_t state = directions * p.batch * hidden;
  c.require(c.in() == std::int64_t(p.steps) * p.batch * p.input, "input size does not match its parameters");
  c.require(c.out() == (output == rt::kRecurrentY ? std::int64_t(p.steps) * state : state),
            "output size does not match its parameters");
  c.matches_input(p.input_offset);
  c.matches_output(p.output_offset);
  c.require(output != rt::kRecurrentYc || p.output_shift <= 0, "cell state output multiplier is 1 or more");
  c.require(p.output_shift <= 16, "hidden state output multiplier is 2^16 or more");
  // The kernel adds the output offset before clamping: the requantized state, |h| <= 32768 or
  // |c| <= 2^31 - 1, plus 128 must fit int32.
  const double max_state = output == rt::kRecurrentYc ? 2147483647.0 : 32768.0;
  c.require(max_state * std::ldexp(std::abs(double(p.output_multiplier)), p.output_shift - 31) + 129 <= 2147483647.0,
            "requantized output state could overflow int32");
  const auto& w = c.bytes("weights");
  const auto& r = c.bytes("recurrent_weights");
  c.require(std::int64_t(w.size()) == rows * p.input && std::int64_t(r.size()) == rows * hidden,
            "weights length mismatch");
  const auto& bx = c.words("bias_x");
  const auto& bh = c.words("bias_h");
  c.require(std::int64_t(bx.size()) == rows && std::int64_t(bh.size()) == rows, "bias length mismatch");
  c.requant(p.x_requant, rows, false);
  c.requant(p.h_requant, rows, false);
  c.require(p.x_requant.count == rows && p.h_requant.count == rows, "requantization is not per gate row");
  auto projection = [&](const std::vector<std::int8_t>& m, const std::vector<std::int32_t>& bias, const rt::Requant& q,
                        std::int64_t cols, double max_input) {
    for (std::int64_t j = 0; j < rows; ++j) {
      double sum = 0;
      for (std::int64_t i = 0; i < cols; ++i) sum += std::abs(int(m[std::size_t(j * cols + i)]));
      const double bound = std::abs(double(bias[std::size_t(j)])) + max_input * sum;
      c.require(bound <= 2147483647.0, "int32 accumulator could overflow");
      const double real = std::ldexp(std::abs(double(q.multiplier[j])), q.shift[j] - 31);
      c.require(bound * real <= 1073741823.0, "requantized pre-activation could overflow int32");
    }
  };
  projection(w, bx, p.x_requant, p.input, std::max(std::abs(-128 + p.input_offset), std::abs(127 + p.input_offset)));
  // h is Q15 in [-32768, 32767]: a saturated tanh is 2 * 0 - 1 = -32768 exactly.
  projection(r, bh, p.h_requant, hidden, 32768.0);
  auto optional_state = [&](const char* key, std::int64_t size, std::int64_t limit) {
    if (!n.i32.contains(key)) return;
    const auto& v = c.words(key);
    c.require(std::int64_t(v.size()) == size, "initial state or peephole length mismatch");
    for (std::int32_t x : v) c.require(std::abs(std::int64_t(x)) <= limit, "initial state or peephole out of range");
  };
  optional_state("initial_h", state, 32767);
  c.require(cell == rt::kCellLstm || (!n.i32.contains("initial_c") && !n.i32.contains("peephole")),
            "cell state or peepholes on a GRU or RNN");
  optional_state("initial_c", state, INT32_MAX);
  optional_state("peephole", directions * 3 * hidden, 1 << 22);
}

// Strided copy: sizes, and every input position the copy reads lies inside the input. The
// sum of the per-axis spans bounds every partial sum the kernel forms, so int32 holds them.
void check_strided_copy(const NodeCheck& c, const QNode& n) {
  c.inputs(1);
  const std::int64_t rank = c.field("rank", 1, rt::kMaxCopyRank);
  const std::int64_t index_axis = c.field("index_axis", -1, rank - 1);
  const std::int64_t offset = c.field("offset", 0, INT32_MAX);
  const auto& shape = c.words("shape");
  const auto& stride = c.words("stride");
  c.require(shape.size() == std::size_t(rank) && stride.size() == std::size_t(rank),
            "shape or stride length is not the rank");
  const bool has_index = n.i32.contains("index");
  c.require(has_index == (index_axis >= 0), "index table present without an index axis, or missing");
  std::int64_t total = 1, lo = offset, hi = offset, span = offset;
  for (std::int64_t d = 0; d < rank; ++d) {
    const std::int64_t dim = shape[std::size_t(d)];
    c.require(dim >= 1 && dim <= kMaxDim, "copy dimension out of range");
    total *= dim;
    c.require(total <= c.out(), "copy shape larger than the output");
    std::int64_t a = 0, b = 0;  // lowest and highest contribution of this axis
    if (d == index_axis) {
      const auto& index = c.words("index");
      c.require(index.size() == std::size_t(dim), "index table length is not its axis' size");
      a = *std::min_element(index.begin(), index.end());
      b = *std::max_element(index.begin(), index.end());
    } else {
      const std::int64_t last = (dim - 1) * stride[std::size_t(d)];
      a = std::min<std::int64_t>(0, last);
      b = std::max<std::int64_t>(0, last);
    }
    lo += a;
    hi += b;
    span += std::max(-a, b);
    c.require(span <= INT32_MAX, "copy positions exceed 32 bits");
  }
  c.require(total == c.out(), "copy shape does not match the output size");
  c.require(lo >= 0 && hi < c.in(), "copy reads outside its input");
}

// Lookup: a 256-entry table.
void check_lookup(const NodeCheck& c, const QNode& n) {
  c.inputs(1);
  c.require(c.in() == c.out(), "input and output sizes differ");
  if (c.wide()) {  // lookup_s16: int16 in and out, the interpolated table
    c.require(c.bits(n.inputs[0]) == 16 && c.bits(n.output) == 16, "int16 lookup with an int8 side");
    const auto& t = c.words("table16");
    c.require(t.size() == std::size_t(rt::kLookup16Entries), "int16 lookup table is not 513 entries");
    for (std::int32_t v : t) c.require(v >= -32768 && v <= 32767, "int16 lookup table value outside int16");
    return;
  }
  c.require(c.bytes("table").size() == 256, "lookup table is not 256 entries");
}

// Softmax: the exp table and sizes; TFLite's softmax (rounding 1) has a Q0.31 table whose
// first entry is exp(0) and at most 511 values per row (rt::softmax_s8_tflite's bounds).
void check_softmax(const NodeCheck& c, const QNode& n) {
  c.inputs(1);
  c.rounding("rounding");
  const bool tflite = n.get("rounding", rt::kRoundSingle) == rt::kRoundTflite;
  const auto& t = c.words("exp_table");
  const std::int64_t rows = c.field("rows", 1, kMaxDim), depth = c.field("depth", 1, tflite ? 511 : 65535);
  c.require(t.size() == 256 && t[0] > 0, "bad exp table");
  if (tflite) {
    c.require(t[0] == INT32_MAX, "TFLite softmax table does not start at exp(0)");
    for (auto v : t) c.require(v >= 0, "negative exp table entry");
  } else {
    for (auto v : t) c.require(v >= 0 && v <= (1 << 16), "exp table entry outside [0, 2^16]");
  }
  c.require(rows * depth == c.in() && c.in() == c.out(), "size mismatch");
}

// PReLU: per-channel negative-side requantization.
void check_prelu(const NodeCheck& c, const QNode& n) {
  c.inputs(1);
  c.dims({"outer", "channels"});
  c.offset_fields();
  c.clamp_fields();
  c.scalar_requant("positive", false);
  const rt::PreluParams p = prelu_params(n);
  c.require(std::int64_t(p.outer) * p.channels == c.in() && c.in() == c.out(), "size mismatch");
  c.matches_input(p.input_offset);
  c.matches_output(p.output_offset);
  c.requant(p.negative, p.channels, true);
}

// LayerNorm: sizes, epsilon, per-element gamma and beta.
void check_layer_norm(const NodeCheck& c, const QNode& n) {
  c.inputs(1);
  c.field("rows", 1, kMaxDim);
  c.field("depth", 1, 1 << 15);
  c.field("epsilon_q", 0, std::int64_t(1) << 61);
  c.field("output_offset", -128, 127);
  c.clamp_fields();
  const rt::LayerNormParams p = layer_norm_params(n);
  c.require(std::int64_t(p.rows) * p.depth == c.in() && c.in() == c.out(), "size mismatch");
  c.requant(p.gamma, p.depth, true);  // negative gamma
  c.require(c.words("beta_q").empty() || c.words("beta_q").size() == std::size_t(p.depth), "beta length mismatch");
  c.matches_output(p.output_offset);
}

// int16 <-> int8 (or a scale change): sizes, formats and offsets that are the tensors' own.
void check_requantize(const NodeCheck& c, const QNode& n) {
  c.inputs(1);
  c.field("count", 1, std::int64_t(1) << 31);
  c.field("input_bits", c.bits(n.inputs[0]), c.bits(n.inputs[0]));
  c.field("output_bits", c.bits(n.output), c.bits(n.output));
  c.offset_fields();
  c.scalar_requant("requant", false);
  const rt::RequantizeParams p = requantize_params(n);
  // |in + input_offset| < 2^17: up to 2^14 the requantized value stays within int32.
  c.require(p.shift <= 14, "requantization shift above 14");
  c.require(c.in() == p.count && c.out() == p.count, "size mismatch");
  c.matches_input(p.input_offset);
  c.matches_output(p.output_offset);
}

void check_node(const QGraph& g, const QNode& n, const std::string& where) {
  const NodeCheck c(g, n, where);
  // Only the 16x8 kernels (conv, depthwise, dense, add, mul, lookup: any width per tensor) and
  // requantize_tensor read or write int16 tensors; a reshape and the poolings keep the width.
  const bool reads_int16 = n.kernel == QKernel::Conv || n.kernel == QKernel::Depthwise || n.kernel == QKernel::Dense ||
                           n.kernel == QKernel::Requantize || n.kernel == QKernel::Mul ||  // mul_wide
                           n.kernel == QKernel::Add ||                                     // add_wide
                           n.kernel == QKernel::Lookup ||                                  // lookup_s16
                           n.kernel == QKernel::Concat;                                    // concat_wide
  if (n.kernel == QKernel::Reshape || n.kernel == QKernel::MaxPool ||
      n.kernel == QKernel::AvgPool)  // max_pool2d_s16 keeps the format, avg_pool2d_s16 the width
    c.require(!n.inputs.empty() && c.bits(n.inputs[0]) == c.bits(n.output), "reshape or pooling changes the bit width");
  else if (!reads_int16 && c.wide())
    c.bad(
        "has an int16 tensor, which only conv, depthwise, dense, pooling, add, mul, lookup, concat and requantize "
        "read or write");
  switch (n.kernel) {
    case QKernel::Requantize: return check_requantize(c, n);
    case QKernel::Conv:
    case QKernel::Depthwise: return check_conv(c, n);
    case QKernel::Dense: return check_dense(c, n);
    case QKernel::MaxPool:
    case QKernel::AvgPool: return check_pool(c, n);
    case QKernel::Add:
    case QKernel::Mul: return check_binary(c, n);
    case QKernel::Concat: return check_concat(c, n);
    case QKernel::Pad: return check_pad(c, n);
    case QKernel::Resize: return check_resize(c, n);
    case QKernel::ResizeBilinear: return check_resize_bilinear(c, n);
    case QKernel::MatMul: return check_matmul(c, n);
    case QKernel::Recurrent: return check_recurrent(c, n);
    case QKernel::Lookup: return check_lookup(c, n);
    case QKernel::Softmax: return check_softmax(c, n);
    case QKernel::Prelu: return check_prelu(c, n);
    case QKernel::LayerNorm: return check_layer_norm(c, n);
    case QKernel::StridedCopy: return check_strided_copy(c, n);
    case QKernel::ConvTranspose: return check_conv_transpose(c, n);
    case QKernel::Reshape:
      c.inputs(1);
      c.require(c.in() == c.out(), "reshape changes the element count");
      return;
  }
}

// Finite, ordered report fields: they are printed into HTML reports and compared by
// re-calibration, and a NaN there only ever means a damaged file.
void check_value(const QValue& v, const std::string& where) {
  const float s = v.quant.scale;
  if (!(s >= kMinScale && s <= kMaxScale))
    fail(where, "inconsistent model: value '{}' has scale {} outside [{}, {}]", v.name, s, kMinScale, kMaxScale);
  if (v.quant.zero_point < -128 || v.quant.zero_point > 127)
    fail(where, "inconsistent model: value '{}' has zero point {} outside [-128, 127]", v.name, v.quant.zero_point);
  if (!v.channel_scales.empty() &&
      (v.shape.empty() || std::int64_t(v.channel_scales.size()) != v.shape.back() || v.quant.bits != 8 ||
       !std::all_of(v.channel_scales.begin(), v.channel_scales.end(),
                    [](float c) { return c >= kMinScale && c <= kMaxScale; })))
    fail(where, "inconsistent model: value '{}' has channel scales that do not fit it", v.name);
  if ((v.quant.bits != 8 && v.quant.bits != 16) || (v.quant.bits == 16 && v.quant.zero_point != 0))
    fail(where, "inconsistent model: value '{}' has {} bits and zero point {} (8, or 16 with zero point 0)", v.name,
         v.quant.bits, v.quant.zero_point);
  const CalibrationSummary& c = v.calibration;
  auto ordered = [](float lo, float hi) { return std::isfinite(lo) && std::isfinite(hi) && lo <= hi; };
  if (!ordered(c.histogram_min, c.histogram_max) || !ordered(c.clip_lo, c.clip_hi))
    fail(where, "inconsistent model: value '{}' has a non-finite or reversed calibration range", v.name);
  if (!c.histogram.empty() && c.histogram.size() != std::size_t(CalibrationSummary::kSummaryBins))
    fail(where, "inconsistent model: value '{}' has a calibration histogram of {} bins", v.name, c.histogram.size());
}

}  // namespace

void validate_qgraph(const QGraph& g, const std::string& where) {
  const int values = int(g.values.size());
  auto in_range = [&](int v) {
    if (v < 0 || v >= values) fail(where, "corrupt model: value index out of range");
  };
  for (const QValue& v : g.values) check_value(v, where);
  std::set<int> defined(g.inputs.begin(), g.inputs.end());
  for (int v : g.inputs) in_range(v);
  // The model's interface (generated code, run_int8) is int8.
  for (const auto* ends : {&g.inputs, &g.outputs})
    for (int v : *ends)
      if (v >= 0 && v < values && g.values[std::size_t(v)].quant.bits != 8)
        fail(where, "inconsistent model: model input or output '{}' is not int8", g.values[std::size_t(v)].name);
  for (const QNode& n : g.nodes) {
    in_range(n.output);
    for (int v : n.inputs) {
      in_range(v);
      if (!defined.contains(v))
        fail(where, "node '{}' reads '{}' before it is computed", n.name, g.values[std::size_t(v)].name);
    }
    if (!defined.insert(n.output).second)
      fail(where, "node '{}' overwrites '{}'", n.name, g.values[std::size_t(n.output)].name);
    if (element_count(g.values[std::size_t(n.output)].shape) <= 0) fail(where, "node '{}' has an empty output", n.name);
    // The float value it approximates: layer-error reports and bias correction index by it.
    if (n.source_output < 0 || n.source_output >= int(g.float_graph.values.size()))
      fail(where, "inconsistent model: node '{}' approximates float value {}, which does not exist", n.name,
           n.source_output);
    check_node(g, n, where);
  }
  // Channel scales are folded into the weights of the layers that read them: nothing else may
  // read such a tensor, nor may it leave the model.
  for (const QNode& n : g.nodes)
    for (std::size_t i = 0; i < n.inputs.size(); ++i)
      if (!g.values[std::size_t(n.inputs[i])].channel_scales.empty() &&
          !(i == 0 && (n.kernel == QKernel::Conv || n.kernel == QKernel::Depthwise || n.kernel == QKernel::Dense)))
        fail(where, "inconsistent model: node '{}' reads '{}', whose channels have their own scales", n.name,
             g.values[std::size_t(n.inputs[i])].name);
  for (int v : g.outputs) {
    in_range(v);
    if (!g.values[std::size_t(v)].channel_scales.empty())
      fail(where, "inconsistent model: output '{}' has channel scales", g.values[std::size_t(v)].name);
    if (!defined.contains(v)) fail(where, "output '{}' is never computed", g.values[std::size_t(v)].name);
  }
}

}  // namespace tinyq
