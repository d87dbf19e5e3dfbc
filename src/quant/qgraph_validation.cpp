#include "quant/qgraph_validation.hpp"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "exec/kernel_params.hpp"
#include "util/error.hpp"

namespace tinyq {

namespace {

class NodeCheck {
 public:
  NodeCheck(const QGraph& g, const QNode& n, const std::string& where) : g_(g), n_(n), where_(where) {}

  [[noreturn]] void bad(const std::string& what) const {
    fail(where_, "inconsistent model: node '{}' ({}): {}", n_.name, qkernel_name(n_.kernel), what);
  }
  void require(bool ok, const char* what) const {
    if (!ok) bad(what);
  }
  std::int64_t count(int value) const { return element_count(g_.values[std::size_t(value)].shape); }
  std::int64_t in(std::size_t i = 0) const {
    if (i >= n_.inputs.size()) bad("missing input");
    return count(n_.inputs[i]);
  }
  std::int64_t out() const { return count(n_.output); }
  void positive(std::initializer_list<std::int64_t> values, const char* what) const {
    for (auto v : values) require(v > 0 && v <= (std::int64_t(1) << 24), what);
  }
  void clamp_range(std::int32_t lo, std::int32_t hi) const {
    require(-128 <= lo && lo <= hi && hi <= 127, "activation clamp outside [-128, 127]");
  }
  void offsets(std::int32_t input_offset, std::int32_t output_offset) const {
    require(input_offset >= -127 && input_offset <= 128, "input offset outside [-127, 128]");
    require(output_offset >= -128 && output_offset <= 127, "output offset outside [-128, 127]");
  }
  void shift(std::int32_t s) const { require(s >= -31 && s <= 30, "requantization shift outside [-31, 30]"); }
  void requant(const rt::Requant& r, std::int64_t channels) const {
    require(r.count == 1 || r.count == channels, "requantization count is neither 1 nor the channel count");
    require(n_.words(prefix_of(r.multiplier) + "_shift").size() == std::size_t(r.count),
            "multiplier/shift lengths differ");
    for (std::int32_t i = 0; i < r.count; ++i) shift(r.shift[i]);
  }
  std::size_t array_size(const char* key) const {
    if (auto it = n_.i8.find(key); it != n_.i8.end()) return it->second.size();
    if (auto it = n_.i32.find(key); it != n_.i32.end()) return it->second.size();
    bad(std::string("lacks array '") + key + "'");
  }
  // |bias| + max|q + input_offset| * sum |w| per output channel must fit int32: no partial
  // sum of any accumulation order can wrap (the quantizer's own bound).
  void accumulators(const std::vector<std::int8_t>& weights, const std::vector<std::int32_t>& bias,
                    std::int64_t channels, std::int64_t taps, bool channel_major, std::int32_t input_offset) const {
    const std::int64_t max_input = std::max(std::abs(-128 + input_offset), std::abs(127 + input_offset));
    for (std::int64_t c = 0; c < channels; ++c) {
      std::int64_t sum = 0;
      for (std::int64_t t = 0; t < taps; ++t)
        sum += std::abs(int(weights[std::size_t(channel_major ? c * taps + t : t * channels + c)]));
      const std::int64_t bound = max_input * sum + (bias.empty() ? 0 : std::abs(std::int64_t(bias[std::size_t(c)])));
      require(bound <= 2147483647, "int32 accumulator could overflow");
    }
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

void check_node(const QGraph& g, const QNode& n, const std::string& where) {
  NodeCheck c(g, n, where);
  switch (n.kernel) {
    case QKernel::Conv:
    case QKernel::Depthwise: {
      const rt::ConvParams p = conv_params(n);
      c.positive({p.batch, p.in_h, p.in_w, p.in_c, p.out_h, p.out_w, p.out_c, p.kernel_h, p.kernel_w, p.stride_h,
                  p.stride_w, p.dilation_h, p.dilation_w, p.groups},
                 "non-positive or huge dimension");
      c.require(p.pad_top >= 0 && p.pad_left >= 0 && p.pad_top < (1 << 16) && p.pad_left < (1 << 16), "bad padding");
      c.require(c.in() == std::int64_t(p.batch) * p.in_h * p.in_w * p.in_c, "input size does not match its parameters");
      c.require(c.out() == std::int64_t(p.batch) * p.out_h * p.out_w * p.out_c,
                "output size does not match its parameters");
      c.offsets(p.input_offset, p.output_offset);
      c.clamp_range(p.act_min, p.act_max);
      c.requant(p.requant, p.out_c);
      const auto& w = n.bytes("weights");
      const auto& b = n.words("bias");
      c.require(b.empty() || b.size() == std::size_t(p.out_c), "bias length is not the channel count");
      if (n.kernel == QKernel::Conv) {
        c.require(p.in_c % p.groups == 0 && p.out_c % p.groups == 0, "channels not divisible by groups");
        const std::int64_t taps = std::int64_t(p.kernel_h) * p.kernel_w * (p.in_c / p.groups);
        c.require(std::int64_t(w.size()) == p.out_c * taps, "weights length does not match the kernel shape");
        c.accumulators(w, b, p.out_c, taps, true, p.input_offset);
      } else {
        c.require(p.out_c % p.in_c == 0, "depthwise output channels are not a multiple of the input channels");
        const std::int64_t taps = std::int64_t(p.kernel_h) * p.kernel_w;
        c.require(std::int64_t(w.size()) == p.out_c * taps, "weights length does not match the kernel shape");
        c.accumulators(w, b, p.out_c, taps, false, p.input_offset);
      }
      break;
    }
    case QKernel::Dense: {
      const rt::DenseParams p = dense_params(n);
      c.positive({p.rows, p.in_features, p.out_features}, "non-positive or huge dimension");
      c.require(c.in() == std::int64_t(p.rows) * p.in_features, "input size does not match its parameters");
      c.require(c.out() == std::int64_t(p.rows) * p.out_features, "output size does not match its parameters");
      c.offsets(p.input_offset, p.output_offset);
      c.clamp_range(p.act_min, p.act_max);
      c.requant(p.requant, p.out_features);
      const auto& w = n.bytes("weights");
      const auto& b = n.words("bias");
      c.require(std::int64_t(w.size()) == std::int64_t(p.out_features) * p.in_features, "weights length mismatch");
      c.require(b.empty() || b.size() == std::size_t(p.out_features), "bias length mismatch");
      c.accumulators(w, b, p.out_features, p.in_features, true, p.input_offset);
      break;
    }
    case QKernel::MaxPool:
    case QKernel::AvgPool: {
      const rt::PoolParams p = pool_params(n);
      c.positive(
          {p.batch, p.in_h, p.in_w, p.channels, p.out_h, p.out_w, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w},
          "non-positive or huge dimension");
      c.require(p.pad_top >= 0 && p.pad_left >= 0 && p.pad_bottom >= 0 && p.pad_right >= 0 && p.pad_top < (1 << 16) &&
                    p.pad_left < (1 << 16) && p.pad_bottom < (1 << 16) && p.pad_right < (1 << 16),
                "bad padding");
      c.require(c.in() == std::int64_t(p.batch) * p.in_h * p.in_w * p.channels, "input size mismatch");
      c.require(c.out() == std::int64_t(p.batch) * p.out_h * p.out_w * p.channels, "output size mismatch");
      c.clamp_range(p.act_min, p.act_max);
      if (n.kernel == QKernel::AvgPool) {
        const rt::AvgPoolParams a = avg_pool_params(n);
        c.offsets(a.input_offset, a.output_offset);
        c.require(std::int64_t(p.kernel_h) * p.kernel_w <= (1 << 16), "pooling window too large");
        if (!a.truncate) {
          const std::size_t entries = std::size_t(p.kernel_h) * std::size_t(p.kernel_w) + 1;
          c.require(n.words("count_multiplier").size() >= entries && n.words("count_shift").size() >= entries,
                    "count multiplier table too short");
          for (std::size_t i = 1; i < entries; ++i) c.shift(a.count_shift[i]);
        }
      }
      break;
    }
    case QKernel::Add:
    case QKernel::Mul: {
      const auto& a = n.words("a_shape");
      const auto& b = n.words("b_shape");
      const auto& o = n.words("out_shape");
      c.require(a.size() <= 4 && b.size() <= 4 && o.size() <= 4 && !o.empty(), "more than 4 dimensions");
      auto elements = [&](const std::vector<std::int32_t>& s) {
        std::int64_t e = 1;
        for (auto d : s) {
          c.require(d > 0 && d <= (1 << 24), "bad dimension");
          e *= d;
        }
        return e;
      };
      const std::int64_t oe = elements(o);
      c.require(elements(a) <= oe && elements(b) <= oe, "operand larger than the output");
      for (const auto* s : {&a, &b})
        for (std::size_t i = 0; i < s->size(); ++i) {
          const std::int32_t d = (*s)[s->size() - 1 - i], od = o[o.size() - 1 - i];
          c.require(s->size() <= o.size() && (d == od || d == 1), "operand shapes do not broadcast to the output");
        }
      c.require(c.out() == oe, "output size mismatch");
      const BinaryOperands ops = binary_operands(n);
      c.require(ops.a_input >= 0 ? c.count(ops.a_input) == elements(a)
                                 : n.bytes("a_const").size() == std::size_t(elements(a)),
                "first operand size mismatch");
      c.require(ops.b_input >= 0 ? c.count(ops.b_input) == elements(b)
                                 : n.bytes("b_const").size() == std::size_t(elements(b)),
                "second operand size mismatch");
      if (n.kernel == QKernel::Add) {
        const rt::AddParams p = add_params(n);
        c.require(p.left_shift >= 0 && p.left_shift <= 22, "left shift outside [0, 22]");
        for (auto s : {p.a_shift, p.b_shift, p.output_shift}) c.shift(s);
        c.require(p.a_offset >= -127 && p.a_offset <= 128 && p.b_offset >= -127 && p.b_offset <= 128, "bad offsets");
        c.require(p.output_offset >= -128 && p.output_offset <= 127, "bad output offset");
        c.clamp_range(p.act_min, p.act_max);
      } else {
        const rt::MulParams p = mul_params(n);
        c.shift(p.output_shift);
        c.require(p.a_offset >= -127 && p.a_offset <= 128 && p.b_offset >= -127 && p.b_offset <= 128, "bad offsets");
        c.require(p.output_offset >= -128 && p.output_offset <= 127, "bad output offset");
        c.clamp_range(p.act_min, p.act_max);
      }
      break;
    }
    case QKernel::Concat: {
      const rt::ConcatParams p = concat_params(n);
      c.require(p.inputs == std::int32_t(n.inputs.size()) && p.inputs > 0 && p.outer > 0, "bad input count");
      for (const char* key : {"input_row", "input_offset", "multiplier", "shift"})
        c.require(c.array_size(key) == std::size_t(p.inputs), "per-input array length is not the input count");
      std::int64_t row = 0;
      for (std::int32_t i = 0; i < p.inputs; ++i) {
        c.require(p.input_row[i] > 0 && std::int64_t(p.outer) * p.input_row[i] == c.in(std::size_t(i)),
                  "input size mismatch");
        if (p.multiplier[i] != 0) c.shift(p.shift[i]);
        row += p.input_row[i];
      }
      c.require(std::int64_t(p.outer) * row == c.out(), "output size mismatch");
      break;
    }
    case QKernel::Pad: {
      const rt::PadParams p = pad_params(n);
      c.positive({p.batch, p.in_h, p.in_w, p.channels}, "non-positive dimension");
      c.require(p.pad_top >= 0 && p.pad_left >= 0 && p.pad_bottom >= 0 && p.pad_right >= 0 && p.pad_top < (1 << 16) &&
                    p.pad_left < (1 << 16) && p.pad_bottom < (1 << 16) && p.pad_right < (1 << 16),
                "bad padding");
      c.require(c.in() == std::int64_t(p.batch) * p.in_h * p.in_w * p.channels, "input size mismatch");
      c.require(c.out() == std::int64_t(p.batch) * (p.in_h + p.pad_top + p.pad_bottom) *
                               (p.in_w + p.pad_left + p.pad_right) * p.channels,
                "output size mismatch");
      break;
    }
    case QKernel::Resize: {
      const rt::ResizeParams p = resize_params(n);
      c.positive({p.batch, p.in_h, p.in_w, p.channels, p.out_h, p.out_w}, "non-positive dimension");
      c.require(c.in() == std::int64_t(p.batch) * p.in_h * p.in_w * p.channels, "input size mismatch");
      c.require(c.out() == std::int64_t(p.batch) * p.out_h * p.out_w * p.channels, "output size mismatch");
      c.require(
          n.words("source_y").size() == std::size_t(p.out_h) && n.words("source_x").size() == std::size_t(p.out_w),
          "source index tables have the wrong length");
      for (std::int32_t y = 0; y < p.out_h; ++y)
        c.require(p.source_y[y] >= 0 && p.source_y[y] < p.in_h, "source row out of range");
      for (std::int32_t x = 0; x < p.out_w; ++x)
        c.require(p.source_x[x] >= 0 && p.source_x[x] < p.in_w, "source column out of range");
      break;
    }
    case QKernel::Lookup:
      c.require(n.bytes("table").size() == 256, "lookup table is not 256 entries");
      c.require(c.in() == c.out(), "input and output sizes differ");
      break;
    case QKernel::Softmax: {
      const auto& t = n.words("exp_table");
      const std::int64_t rows = n.get("rows"), depth = n.get("depth");
      c.require(t.size() == 256 && t[0] > 0, "bad exp table");
      for (auto v : t) c.require(v >= 0 && v <= (1 << 16), "exp table entry outside [0, 2^16]");
      c.require(rows > 0 && depth > 0 && depth <= 65535 && rows * depth == c.in() && c.in() == c.out(),
                "size mismatch");
      break;
    }
    case QKernel::Prelu: {
      const rt::PreluParams p = prelu_params(n);
      c.positive({p.outer, p.channels}, "non-positive dimension");
      c.require(std::int64_t(p.outer) * p.channels == c.in() && c.in() == c.out(), "size mismatch");
      c.offsets(p.input_offset, p.output_offset);
      c.shift(p.positive_shift);
      c.requant(p.negative, p.channels);
      c.clamp_range(p.act_min, p.act_max);
      break;
    }
    case QKernel::LayerNorm: {
      const rt::LayerNormParams p = layer_norm_params(n);
      c.require(p.rows > 0 && p.depth >= 1 && p.depth <= (1 << 15), "depth outside [1, 2^15]");
      c.require(std::int64_t(p.rows) * p.depth == c.in() && c.in() == c.out(), "size mismatch");
      c.require(p.epsilon_q >= 0 && p.epsilon_q <= (std::int64_t(1) << 61), "epsilon outside [0, 2^61]");
      c.requant(p.gamma, p.depth);
      c.require(n.words("beta_q").empty() || n.words("beta_q").size() == std::size_t(p.depth), "beta length mismatch");
      c.require(p.output_offset >= -128 && p.output_offset <= 127, "bad output offset");
      c.clamp_range(p.act_min, p.act_max);
      break;
    }
    case QKernel::Reshape: c.require(c.in() == c.out(), "reshape changes the element count"); break;
  }
}

}  // namespace

void validate_qgraph(const QGraph& g, const std::string& where) {
  const int values = int(g.values.size());
  auto in_range = [&](int v) {
    if (v < 0 || v >= values) fail(where, "corrupt model: value index out of range");
  };
  std::set<int> defined(g.inputs.begin(), g.inputs.end());
  for (int v : g.inputs) in_range(v);
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
    check_node(g, n, where);
  }
  for (int v : g.outputs) {
    in_range(v);
    if (!defined.contains(v)) fail(where, "output '{}' is never computed", g.values[std::size_t(v)].name);
  }
}

}  // namespace tinyq
