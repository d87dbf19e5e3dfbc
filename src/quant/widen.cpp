#include "quant/widen.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>

#include "codegen/memory_layout.hpp"
#include "codegen/target.hpp"
#include "exec/float_executor.hpp"
#include "exec/int8_executor.hpp"
#include "qmodel/kernel_params.hpp"
#include "qmodel/qgraph_validation.hpp"
#include "quant/layer_error.hpp"
#include "quant/multiplier.hpp"
#include "quant/quantize_node.hpp"
#include "tinyq/kernels.hpp"
#include "util/error.hpp"

namespace tinyq {

namespace {

bool is_mac(const QNode& n) {
  return n.kernel == QKernel::Conv || n.kernel == QKernel::Depthwise || n.kernel == QKernel::Dense;
}

bool is_output(const QGraph& q, int value) {
  return std::find(q.outputs.begin(), q.outputs.end(), value) != q.outputs.end();
}

std::vector<std::size_t> readers(const QGraph& q, int value) {
  std::vector<std::size_t> r;
  for (std::size_t k = 0; k < q.nodes.size(); ++k)
    if (std::find(q.nodes[k].inputs.begin(), q.nodes[k].inputs.end(), value) != q.nodes[k].inputs.end()) r.push_back(k);
  return r;
}

// A multiplication or addition with tinyq's rounding reading `value` as an operand: mul_wide and
// add_wide read it as int16 (and their output can be int16 too). TFLite's Sub is not one.
bool binary_reads_int16(const QNode& n, int value) {
  return (n.kernel == QKernel::Mul || n.kernel == QKernel::Add) &&
         n.get("rounding", rt::kRoundSingle) == rt::kRoundSingle && n.get("subtract", 0) == 0 &&
         std::find(n.inputs.begin(), n.inputs.end(), value) != n.inputs.end();
}

// A reader that carries an int16 tensor on, whose output is not a model output: in the same
// format a reshape, or a max pooling that keeps its input's quantization (max_pool2d_s16); into
// an int16 format of its own an average pooling with tinyq's rounding (avg_pool2d_s16), a table
// lookup (lookup_s16), a multiplication or addition (binary_reads_int16), a concat
// (concat_wide).
// `in` is the int8 format `value` has (or had, before it became int16).
bool carries_int16(const QGraph& q, const QNode& n, int value, const QuantParam& in) {
  if (is_output(q, n.output) || n.inputs.empty()) return false;
  if (n.kernel == QKernel::Mul || n.kernel == QKernel::Add) return binary_reads_int16(n, value);
  // A concat (concat_wide), unless its branches keep their own scales (channel-group scales,
  // folded into its readers' weights: int8 only).
  if (n.kernel == QKernel::Concat)
    return std::find(n.inputs.begin(), n.inputs.end(), value) != n.inputs.end() &&
           q.values[std::size_t(n.output)].channel_scales.empty();
  if (n.inputs[0] != value) return false;
  if (n.kernel == QKernel::Reshape || n.kernel == QKernel::Lookup) return true;
  if (n.kernel == QKernel::AvgPool)
    return n.get("truncate", 0) == 0 && n.get("rounding", rt::kRoundSingle) == rt::kRoundSingle &&
           n.i32.contains("count_multiplier");
  const QuantParam& out = q.values[std::size_t(n.output)].quant;
  return n.kernel == QKernel::MaxPool && in.scale == out.scale && in.zero_point == out.zero_point &&
         in.bits == out.bits;
}

// Whether a 16x8 layer reads `value`, directly or through readers that carry int16.
bool read_by_mac(const QGraph& q, int value) {
  for (std::size_t k : readers(q, value)) {
    const QNode& n = q.nodes[k];
    if (is_mac(n) && n.inputs[0] == value) return true;
    if (carries_int16(q, n, value, q.values[std::size_t(value)].quant) && read_by_mac(q, n.output)) return true;
  }
  return false;
}

// Why `n` cannot have an int16 output, or empty.
std::string why_not(const QGraph& q, const QNode& n) {
  if (!is_mac(n)) return "only conv, depthwise and dense layers have int16 outputs";
  if (q.values[std::size_t(n.output)].quant.bits == 16) return "its output is int16 already";
  if (is_output(q, n.output)) return "its output is a model output, and the model's outputs are int8";
  if (!read_by_mac(q, n.output))
    return "no conv, depthwise or dense layer reads its output, directly or through reshapes, poolings, adds, "
           "muls, lookups or concats (int16 would only add a requantization)";
  return {};
}

// Every requantization multiplier of `n` under `key` scaled by `factor`; throws when one
// leaves the 16x8 kernels' range (shift <= 15).
void scale_multipliers(QNode& n, const std::string& key, double factor) {
  auto& m = n.i32.at(key + "_multiplier");
  auto& s = n.i32.at(key + "_shift");
  for (std::size_t i = 0; i < m.size(); ++i) {
    const QuantizedMultiplier scaled = quantize_multiplier(multiplier_value({m[i], s[i]}) * factor);
    if (scaled.shift > 15)
      fail(n.name, "int16: requantization multiplier {:g} too large for the 16x8 kernels", multiplier_value(scaled));
    m[i] = scaled.multiplier;
    s[i] = scaled.shift;
  }
}

// The int16 format of a tensor: symmetric over its calibrated range (the histogram's span,
// which leaves out lone outliers, and the int8 clipping range), 32767 steps each side.
QuantParam int16_param(const QValue& v) {
  const CalibrationSummary& c = v.calibration;
  const float m = std::max(
      {std::fabs(c.histogram_min), std::fabs(c.histogram_max), std::fabs(c.clip_lo), std::fabs(c.clip_hi), 1e-30f});
  return {std::max(m / 32767.0f, 1e-30f), 0, 16};
}

// A 16x8 layer reading `value`, now int16 with scale `wide`, which it read as `narrow`:
// acc = bias + sum (q8 - zp) w at scale s8 * s_w becomes bias' + sum q16 w at s16 * s_w.
void read_int16(QNode& n, const QuantParam& narrow, float wide) {
  const double ratio = double(narrow.scale) / double(wide);
  for (std::int32_t& b : n.i32.at("bias")) {
    const double scaled = std::nearbyint(double(b) * ratio);
    if (std::fabs(scaled) > double(std::numeric_limits<std::int32_t>::max()))
      fail(n.name, "int16: bias {} does not fit int32 at the int16 input's scale", b);
    b = std::int32_t(scaled);
  }
  scale_multipliers(n, "requant", double(wide) / double(narrow.scale));
  n.ints["input_offset"] = 0;
}

class Widener {
 public:
  explicit Widener(QGraph& q) : q_(q) {}

  void widen(std::size_t k) {
    QNode& p = q_.nodes[k];
    QValue& v = q_.values[std::size_t(p.output)];
    const QuantParam narrow = v.quant, wide = int16_param(v);
    // The producer: the same accumulator, requantized to the int16 scale, its fused clamp in
    // int16 steps.
    scale_multipliers(p, "requant", double(narrow.scale) / double(wide.scale));
    p.ints["output_offset"] = 0;
    clamp_to_int16(p, wide);
    v.quant = wide;
    route(p.output, narrow, k);
  }

  void finish() {
    // Requantize nodes go right after the node producing their input, latest first so that
    // earlier positions stay valid.
    std::sort(inserts_.begin(), inserts_.end(), [](auto& a, auto& b) { return a.first > b.first; });
    for (auto& [after, node] : inserts_) q_.nodes.insert(q_.nodes.begin() + std::ptrdiff_t(after) + 1, std::move(node));
    inserts_.clear();
  }

 private:
  // A node's fused clamp (act_min / act_max of its float node) in the int16 format `wide`.
  void clamp_to_int16(QNode& n, const QuantParam& wide) const {
    const Node* source = float_node(n.source_output);
    const quant_detail::Clamp c =
        source ? quant_detail::activation_clamp(*source, wide) : quant_detail::Clamp{-32768, 32767};
    n.ints["act_min"] = c.min;
    n.ints["act_max"] = c.max;
  }

  // An average pooling reading an int16 tensor of scale `wide_in`: its output becomes int16 in
  // a format of its own (its calibrated range), the divisor tables s_in / (s_out * n) rebuilt
  // for the two int16 scales, no offsets, its clamp in int16 steps.
  void average_to_int16(QNode& n, float wide_in, QValue& out) const {
    out.quant = int16_param(out);
    const std::int64_t taps = std::int64_t(n.i32.at("count_multiplier").size()) - 1;
    quant_detail::set_count_multipliers(n, taps, wide_in, out.quant.scale);
    n.ints["input_offset"] = 0;
    n.ints["output_offset"] = 0;
    clamp_to_int16(n, out.quant);
  }

  // A multiplication or addition reading `value` (int8 format `narrow` before, int16 of scale
  // `wide` now) as one or both operands: each such operand's offset becomes 0 and its scale
  // enters the multipliers (a mul's output multiplier s_a * s_b / s_out; an add's operand
  // multiplier s_x / (2 max), the max kept, and its headroom down to 15 bits, the output
  // multiplier 2^5 larger). Its output becomes int16 too (a format of its own) where it reaches
  // a 16x8 layer and is not a model output (a squeeze-excitation gate before the block's
  // projection; a residual add before the next block).
  void binary_int16(QNode& n, std::size_t r, int value, const QuantParam& narrow, float wide) {
    const bool add = n.kernel == QKernel::Add;
    const BinaryOperands ops = binary_operands(n);
    double output_factor = 1.0;
    for (const auto& [input, name] : {std::pair{ops.a_input, "a"}, std::pair{ops.b_input, "b"}}) {
      if (input != value) continue;
      const double factor = double(wide) / double(narrow.scale);
      if (add) {
        scale_scalar(n, std::string(name) + "_multiplier", std::string(name) + "_shift", factor);
      } else {
        output_factor *= factor;
      }
      n.ints[std::string(name) + "_offset"] = 0;
    }
    if (add && n.ints.at("left_shift") > 15) {
      output_factor *= std::ldexp(1.0, int(n.ints.at("left_shift")) - 15);
      n.ints["left_shift"] = 15;
    }
    QValue& out = q_.values[std::size_t(n.output)];
    const QuantParam out_narrow = out.quant;
    const bool widen_output = out.quant.bits == 8 && !is_output(q_, n.output) && read_by_mac(q_, n.output);
    if (widen_output) {
      out.quant = int16_param(out);
      output_factor *= double(out_narrow.scale) / double(out.quant.scale);
      n.ints["output_offset"] = 0;
      clamp_to_int16(n, out.quant);
    }
    scale_scalar(n, "output_multiplier", "output_shift", output_factor);
    if (widen_output) route(n.output, out_narrow, r);
  }

  // A concat reading an int16 tensor whose output reaches a 16x8 layer: the output becomes int16
  // (a format of its own, over the concat's calibrated range) and each input's requantization is
  // rebuilt from its current format (a copy where the formats are one). When the output is int16
  // already (another input was widened first), only the inputs' requantizations change.
  void concat_int16(QNode& n, std::size_t r) {
    QValue& out = q_.values[std::size_t(n.output)];
    const QuantParam out_narrow = out.quant;
    const bool widen_output = out.quant.bits == 8;
    if (widen_output) {
      out.quant = int16_param(out);
      n.ints["output_offset"] = 0;
    }
    auto& multiplier = n.i32.at("multiplier");
    auto& shift = n.i32.at("shift");
    auto& offset = n.i32.at("input_offset");
    for (std::size_t i = 0; i < n.inputs.size(); ++i) {
      const QuantParam& in = q_.values[std::size_t(n.inputs[i])].quant;
      offset[i] = -in.zero_point;
      const QuantizedMultiplier m = quant_detail::concat_input_multiplier(in, out.quant, n.name);
      if (m.shift > 14) fail(n.name, "int16: concat requantization multiplier {:g} too large", multiplier_value(m));
      multiplier[i] = m.multiplier;
      shift[i] = m.shift;
    }
    if (widen_output) route(n.output, out_narrow, r);
  }

  // A scalar requantization (ints `multiplier`, `shift`) multiplied by `factor`.
  static void scale_scalar(QNode& n, const std::string& multiplier, const std::string& shift, double factor) {
    const QuantizedMultiplier m = quantize_multiplier(
        multiplier_value({std::int32_t(n.ints.at(multiplier)), std::int32_t(n.ints.at(shift))}) * factor);
    n.ints[multiplier] = m.multiplier;
    n.ints[shift] = m.shift;
  }

  // A table lookup reading an int16 tensor of scale `wide_in`: its output becomes int16 in a
  // format of its own, the table rebuilt from the float op at lookup_s16's 513 breakpoints
  // (inputs -32768 + 128 k; the last one, 32768, is past int16 and only ever interpolated
  // towards), clamped as the float node clamps.
  void lookup_to_int16(QNode& n, float wide_in, QValue& out) const {
    const Node* source = float_node(n.source_output);
    if (source == nullptr) fail(n.name, "int16: no float op to rebuild the lookup table from");
    out.quant = int16_param(out);
    const auto f = quant_detail::clamped_unary_function(*source);
    std::vector<std::int32_t> table(static_cast<std::size_t>(rt::kLookup16Entries));
    for (std::size_t k = 0; k < table.size(); ++k) {
      const float x = wide_in * float(-32768 + 128 * std::int64_t(k));
      const double y = double(f(x)) / double(out.quant.scale);
      table[k] = std::isnan(y) ? 0 : std::int32_t(std::clamp(std::nearbyint(y), -32768.0, 32767.0));
    }
    n.i32["table16"] = std::move(table);
    n.i8.erase("table");
  }

  const Node* float_node(int value) const {
    for (const Node& n : q_.float_graph.nodes)
      if (!n.outputs.empty() && n.outputs[0] == ValueId(value)) return &n;
    return nullptr;
  }

  // The readers of `value` (now int16, int8 format `narrow` before), produced by node `k`:
  // 16x8 layers read it as it is, the readers that carry int16 pass it on, every other reader
  // gets an int8 copy.
  void route(int value, const QuantParam& narrow, std::size_t k) {
    const float wide = q_.values[std::size_t(value)].quant.scale;
    std::vector<std::size_t> int8_readers;
    for (std::size_t r : readers(q_, value)) {
      QNode& n = q_.nodes[r];
      if (is_mac(n) && n.inputs[0] == value) {
        read_int16(n, narrow, wide);
      } else if (binary_reads_int16(n, value)) {
        binary_int16(n, r, value, narrow, wide);
      } else if (n.kernel == QKernel::Concat && carries_int16(q_, n, value, narrow) &&
                 (q_.values[std::size_t(n.output)].quant.bits == 16 || read_by_mac(q_, n.output))) {
        concat_int16(n, r);
      } else if (carries_int16(q_, n, value, narrow) &&
                 ((n.kernel != QKernel::AvgPool && n.kernel != QKernel::Lookup) ||
                  read_by_mac(q_, n.output))) {  // (their own format pays then)
        QValue& carried = q_.values[std::size_t(n.output)];
        const QuantParam carried_narrow = carried.quant;
        if (n.kernel == QKernel::AvgPool) {
          average_to_int16(n, wide, carried);
        } else if (n.kernel == QKernel::Lookup) {
          lookup_to_int16(n, wide, carried);
        } else {
          carried.quant = q_.values[std::size_t(value)].quant;
          if (n.kernel == QKernel::MaxPool) clamp_to_int16(n, carried.quant);
        }
        route(n.output, carried_narrow, r);
      } else {
        int8_readers.push_back(r);
      }
    }
    if (int8_readers.empty()) return;
    // One int8 copy for all of them.
    const QValue& v = q_.values[std::size_t(value)];
    QValue copy = v;
    copy.name = v.name + "/int8";
    copy.quant = narrow;
    const int copy_id = int(q_.values.size());
    q_.values.push_back(copy);
    QNode node;
    node.name = q_.nodes[k].name + "/int8";
    node.op = "Requantize";
    node.kernel = QKernel::Requantize;
    node.inputs = {value};
    node.output = copy_id;
    node.source_output = q_.nodes[k].source_output;
    const QuantizedMultiplier m = quantize_multiplier(double(wide) / double(narrow.scale));
    node.ints = {{"count", element_count(v.shape)},
                 {"input_bits", 16},
                 {"output_bits", 8},
                 {"input_offset", 0},
                 {"output_offset", narrow.zero_point},
                 {"requant_multiplier", m.multiplier},
                 {"requant_shift", m.shift}};
    for (std::size_t r : int8_readers)
      for (int& in : q_.nodes[r].inputs)
        if (in == value) in = copy_id;
    inserts_.emplace_back(k, std::move(node));
  }

  QGraph& q_;
  std::vector<std::pair<std::size_t, QNode>> inserts_;
};

}  // namespace

std::vector<std::string> int16_candidates(const QGraph& q) {
  std::vector<std::string> names;
  for (const QNode& n : q.nodes)
    if (why_not(q, n).empty()) names.push_back(n.name);
  return names;
}

void widen_to_int16(QGraph& q, const std::vector<std::string>& nodes) {
  std::vector<std::size_t> chosen;
  for (const std::string& name : nodes) {
    auto it = std::find_if(q.nodes.begin(), q.nodes.end(), [&](const QNode& n) { return n.name == name; });
    if (it == q.nodes.end()) fail("--int16", "no node named '{}' in the quantized model", name);
    if (std::string why = why_not(q, *it); !why.empty()) fail(name, "cannot be int16: {}", why);
    const std::size_t k = std::size_t(it - q.nodes.begin());
    if (std::find(chosen.begin(), chosen.end(), k) == chosen.end()) chosen.push_back(k);
  }
  Widener widener(q);
  for (std::size_t k : chosen) widener.widen(k);
  widener.finish();
  validate_qgraph(q, "int16");
}

namespace {

// The arena `tinyq generate` plans with the portable kernels, in one execution order for the
// int8 model and every int16 variant of it (the order generate finds for the int8 model; the
// search over orders is too slow to repeat for every trial on branchy graphs). What int16
// tensors cost in RAM is how much they raise the live peak, not the sum of their sizes: tensors
// never live at the same time share bytes, and most int16 tensors lie away from the peak.
class ArenaMeter {
 public:
  explicit ArenaMeter(const QGraph& int8) : target_(target_by_name("portable")) {
    const MemoryLayout layout = plan_memory(int8, target_);
    for (int n : layout.order) order_.push_back(int8.nodes[std::size_t(n)].name);
    int8_bytes_ = std::int64_t(layout.arena_bytes());
  }

  std::int64_t int8_bytes() const { return int8_bytes_; }

  // `widened`'s arena: the int8 order, each int8 copy (widen's "<node>/int8") right after its
  // producer.
  std::int64_t bytes(const QGraph& widened) const {
    std::map<std::string, int> index;
    for (std::size_t k = 0; k < widened.nodes.size(); ++k) index[widened.nodes[k].name] = int(k);
    std::vector<int> order;
    for (const std::string& name : order_) {
      order.push_back(index.at(name));
      if (auto copy = index.find(name + "/int8"); copy != index.end()) order.push_back(copy->second);
    }
    return std::int64_t(plan_memory_in_order(widened, target_, order).arena_bytes());
  }

 private:
  const Target& target_;
  std::vector<std::string> order_;
  std::int64_t int8_bytes_ = 0;
};

// A model's output SQNR against float on fixed samples, the float outputs computed once.
class OutputError {
 public:
  OutputError(const QGraph& q, InputSamples samples, int threads)
      : samples_(std::move(samples)),
        threads_(threads),
        reference_(FloatExecutor(q.float_graph, {.threads = threads}).run(samples_.tensors())) {}

  double sqnr_db(const QGraph& trial) const {
    return outputs_sqnr_db(reference_, Int8Executor(trial, {.threads = threads_}).run(samples_.tensors()));
  }

 private:
  InputSamples samples_;
  int threads_;
  std::vector<Tensor> reference_;
};

// The choice's layers in model order, as reports list layers.
Int16Choice ordered_choice(const QGraph& q, Int16Choice choice) {
  std::vector<std::string> ordered;
  for (const QNode& n : q.nodes)
    if (std::find(choice.layers.begin(), choice.layers.end(), n.name) != choice.layers.end()) ordered.push_back(n.name);
  choice.layers = std::move(ordered);
  return choice;
}

struct Trial {
  bool fits = false;  // widen_to_int16 took the layers and the arena grows within the budget
  double sqnr_db = -INFINITY;
  std::int64_t arena_growth = 0;
};

}  // namespace

Int16Choice choose_int16(const QGraph& q, const InputSamples& samples, std::int64_t ram_budget, int threads) {
  constexpr std::int64_t kSamples = 256;
  constexpr std::int64_t kRankingSamples = 64;  // each candidate alone, when there are many
  constexpr std::size_t kFewCandidates = 8;
  constexpr std::size_t kMaxRanked = 96;  // beyond: those whose own int8 output is worst
  constexpr double kMinGainDb = 0.5;
  const std::int64_t available = samples.count(q.float_graph);
  const InputSamples subset = samples.head(q.float_graph, std::min(kSamples, available));
  const OutputError check(q, subset, threads);
  Int16Choice choice;
  choice.sqnr_before_db = choice.sqnr_after_db = check.sqnr_db(q);
  const ArenaMeter arena(q);
  choice.arena_before = choice.arena_after = arena.int8_bytes();
  choice.ram_budget = ram_budget > 0 ? ram_budget : choice.arena_before;  // default: the arena at most doubles

  // `layers` int16: whether that fits, and if so the output SQNR on `on` (measure) or not (the
  // planner's answer alone).
  auto trial = [&](const std::vector<std::string>& layers, const OutputError* on) {
    Trial t;
    QGraph widened = q;
    try {
      widen_to_int16(widened, layers);
    } catch (const Error&) {
      return t;  // a bound the 16x8 kernels cannot meet
    }
    t.arena_growth = arena.bytes(widened) - choice.arena_before;
    t.fits = t.arena_growth <= choice.ram_budget;
    if (t.fits && on) t.sqnr_db = on->sqnr_db(widened);
    return t;
  };
  auto take = [&](const std::vector<std::string>& layers, const Trial& t) {
    choice.layers = layers;
    choice.sqnr_after_db = t.sqnr_db;
    choice.arena_after = choice.arena_before + t.arena_growth;
  };

  std::vector<std::string> names = int16_candidates(q);
  if (names.empty()) return choice;
  if (names.size() > kMaxRanked) {
    std::map<std::string, double> layer_sqnr;
    for (const LayerError& e : measure_layer_error(q, subset, threads)) layer_sqnr[e.name] = e.sqnr_db;
    std::stable_sort(names.begin(), names.end(), [&](auto& a, auto& b) { return layer_sqnr[a] < layer_sqnr[b]; });
    names.resize(kMaxRanked);
  }

  // 1. Each candidate alone: how much its int16 output raises the model's output SQNR. Many
  // candidates are ranked on fewer samples; every set chosen below is measured on all.
  std::optional<OutputError> ranking_samples;
  if (names.size() > kFewCandidates)
    ranking_samples.emplace(q, samples.head(q.float_graph, std::min(kRankingSamples, available)), threads);
  const OutputError& ranking = ranking_samples ? *ranking_samples : check;
  const double ranking_before = ranking_samples ? ranking.sqnr_db(q) : choice.sqnr_before_db;
  std::vector<std::pair<double, std::string>> ranked;  // gain in dB, name
  for (const std::string& name : names) {
    const Trial t = trial({name}, &ranking);
    if (t.fits) ranked.emplace_back(t.sqnr_db - ranking_before, name);
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.first > b.first; });

  // 2. Damage in a few layers: greedily by that gain, each kept only if it adds 0.5 dB.
  for (const auto& [gain, name] : ranked) {
    if (gain < kMinGainDb) break;
    std::vector<std::string> layers = choice.layers;
    layers.push_back(name);
    const Trial t = trial(layers, &check);
    if (t.fits && t.sqnr_db >= choice.sqnr_after_db + kMinGainDb) take(layers, t);
  }

  // 3. Damage spread over many layers shows in no single trial: the ranked candidates in order
  // as far as the arena budget allows, and if together they add 0.5 dB more than step 2 found,
  // the shortest head of that order within 0.5 dB of them all (bisection: a head's SQNR grows
  // with its length, not strictly).
  std::vector<std::string> widest;
  for (const auto& entry : ranked) {
    widest.push_back(entry.second);
    if (!trial(widest, nullptr).fits) widest.pop_back();
  }
  if (widest.size() <= choice.layers.size()) return ordered_choice(q, std::move(choice));
  const Trial all = trial(widest, &check);
  if (!all.fits || all.sqnr_db < choice.sqnr_after_db + kMinGainDb) return ordered_choice(q, std::move(choice));
  auto head = [&](std::size_t n) {
    return std::vector<std::string>(widest.begin(), widest.begin() + std::ptrdiff_t(n));
  };
  std::size_t lo = 1, hi = widest.size();
  Trial shortest = all;
  while (lo < hi) {
    const std::size_t mid = (lo + hi) / 2;
    const Trial t = trial(head(mid), &check);
    if (t.fits && t.sqnr_db >= all.sqnr_db - kMinGainDb) {
      hi = mid;
      shortest = t;
    } else {
      lo = mid + 1;
    }
  }
  take(head(hi), shortest);
  return ordered_choice(q, std::move(choice));
}

}  // namespace tinyq
