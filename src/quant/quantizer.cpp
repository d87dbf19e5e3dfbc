#include "quant/quantizer.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "exec/float_executor.hpp"
#include "quant/auto_calibration.hpp"
#include "quant/bias_correction.hpp"
#include "quant/collect_statistics.hpp"
#include "quant/equalization.hpp"
#include "quant/layer_error.hpp"
#include "quant/op_rules.hpp"
#include "quant/quantize_node.hpp"
#include "util/error.hpp"

namespace tinyq {

namespace {

struct UnionFind {
  std::vector<ValueId> parent;
  explicit UnionFind(std::size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  ValueId find(ValueId v) {
    while (parent[std::size_t(v)] != v) v = parent[std::size_t(v)] = parent[std::size_t(parent[std::size_t(v)])];
    return v;
  }
  void unite(ValueId a, ValueId b) { parent[std::size_t(find(a))] = find(b); }
};

using AutoChoices = std::unordered_map<ValueId, AutoChoice>;

// `auto` on affine tensors picks by consumer-output error (auto_calibration.hpp); that needs
// the calibration samples.
bool uses_consumer_error(const QuantSettings& settings) {
  return settings.calibration == "auto" && settings.scheme == "affine";
}

// The method a tensor is calibrated with: the named one, or for `auto` the consumer-error
// choice. Without one (quantize_with_statistics has statistics but no samples), `auto`
// falls back to the method with the smallest expected quantization error of the tensor itself.
CalibrationMethod method_for(const TensorHistogram& h, ValueId id, const std::string& method,
                             const AutoChoices& chosen) {
  if (method != "auto") return calibration_method_from_name(method);
  if (auto it = chosen.find(id); it != chosen.end()) return it->second.method;
  CalibrationMethod best = CalibrationMethod::minmax;
  double best_error = quantization_mse(h, calibrate_minmax(h));
  for (auto m : {CalibrationMethod::percentile, CalibrationMethod::kl, CalibrationMethod::mse}) {
    double e = quantization_mse(h, calibrate(h, m));
    if (e < best_error) best = m, best_error = e;
  }
  return best;
}

CalibrationSummary summarize(const std::unordered_map<ValueId, TensorHistogram>& stats, ValueId id, ValueId root,
                             ClipRange range, const QuantSettings& settings, bool fixed,
                             const std::unordered_map<ValueId, CalibrationMethod>& methods) {
  CalibrationSummary s;
  // `auto` records the method it picked for the tensor.
  const std::string method = methods.count(id) ? calibration_method_name(methods.at(id)) : settings.calibration;
  s.method = fixed ? "fixed" : id != root ? "shared" : settings.scheme == "pow2" ? "pow2" : method;
  s.clip_lo = range.lo;
  s.clip_hi = range.hi;
  auto it = stats.find(id);
  if (it == stats.end()) return s;
  const TensorHistogram& h = it->second;
  s.histogram_min = h.min();
  s.histogram_max = h.max();
  if (h.bins().empty()) return s;
  // Fold the 2048 calibration bins into a few for the report.
  s.histogram.assign(CalibrationSummary::kSummaryBins, 0);
  const std::size_t fold = h.bins().size() / CalibrationSummary::kSummaryBins;
  for (std::size_t i = 0; i < h.bins().size(); ++i)
    s.histogram[std::min(i / fold, s.histogram.size() - 1)] +=
        std::uint32_t(std::min<std::uint64_t>(h.bins()[i], UINT32_MAX));
  return s;
}

QGraph build_qgraph(const Graph& graph, const std::unordered_map<ValueId, TensorHistogram>& stats,
                    const QuantSettings& settings, const AutoChoices& chosen);

// Statistics, then (for consumer-error `auto`) the per-tensor choice, then the QGraph.
QGraph calibrate_and_quantize(const Graph& graph, const Tensor& samples, const QuantSettings& settings,
                              const CollectOptions& collect) {
  const auto stats = collect_statistics(graph, samples, collect);
  AutoChoices chosen;
  if (uses_consumer_error(settings))
    chosen = choose_auto_calibration(graph, stats, samples, {.threads = collect.threads});
  return build_qgraph(graph, stats, settings, chosen);
}

}  // namespace

QuantSettings resolve_settings(const QuantizeOptions& o) {
  QuantSettings s;
  s.preset = o.preset;
  if (o.preset == "best")
    s.scheme = "affine", s.granularity = "channel", s.calibration = "auto", s.bias_correction = true;
  else if (o.preset == "cmsis")
    s.scheme = "affine", s.granularity = "channel", s.calibration = "minmax";
  else if (o.preset == "nnom")
    s.scheme = "pow2", s.granularity = "tensor", s.calibration = "minmax";
  else if (o.preset == "pow2")
    s.scheme = "pow2", s.granularity = "channel", s.calibration = "mse";
  else
    fail("--preset", "unknown preset '{}' (best, cmsis, nnom, pow2)", o.preset);
  if (o.scheme) {
    if (*o.scheme != "affine" && *o.scheme != "pow2") fail("--scheme", "unknown scheme '{}' (affine, pow2)", *o.scheme);
    s.scheme = *o.scheme;
  }
  if (o.granularity) {
    if (*o.granularity != "channel" && *o.granularity != "tensor")
      fail("--granularity", "unknown granularity '{}' (channel, tensor)", *o.granularity);
    s.granularity = *o.granularity;
  }
  if (o.bias_correction) s.bias_correction = *o.bias_correction;
  if (o.calibration) {
    if (*o.calibration != "auto") calibration_method_from_name(*o.calibration);  // validates
    s.calibration = *o.calibration;
  }
  return s;
}

QGraph quantize(const Graph& graph, const Tensor& samples, const QuantizeOptions& options) {
  QuantSettings settings = resolve_settings(options);
  if (graph.inputs.size() != 1)
    fail("", "quantization needs a model with one input, this one has {}", graph.inputs.size());
  CollectOptions collect{.threads = options.threads, .histograms = true, .progress = options.progress};
  settings.calibration_samples = sample_count(graph, {samples});
  QGraph q = calibrate_and_quantize(graph, samples, settings, collect);
  // Per-tensor and power-of-two weight formats share one scale across channels: try evening
  // out the channel ranges, and keep it where it helps the model's output on calibration
  // data (it can widen activation ranges). NNoM does not equalize, so its preset does not.
  if (settings.preset != "nnom" && (settings.granularity == "tensor" || settings.scheme == "pow2")) {
    Graph equalized = graph;
    if (equalize_cross_layer(equalized) > 0) {
      QuantSettings with = settings;
      with.equalization = true;
      QGraph candidate = calibrate_and_quantize(equalized, samples, with, collect);
      if (output_sqnr_db(candidate, samples, options.threads) > output_sqnr_db(q, samples, options.threads))
        q = std::move(candidate);
    }
  }
  if (settings.bias_correction) correct_bias(q, samples, options.threads);
  return q;
}

QGraph quantize_with_statistics(const Graph& graph, const std::unordered_map<ValueId, TensorHistogram>& stats,
                                const QuantSettings& settings) {
  return build_qgraph(graph, stats, settings, {});
}

namespace {

QGraph build_qgraph(const Graph& graph, const std::unordered_map<ValueId, TensorHistogram>& stats,
                    const QuantSettings& settings, const AutoChoices& chosen) {
  // 1. Values that must share one quantization.
  UnionFind groups(graph.values.size());
  const bool shared_concat = settings.preset == "nnom";  // NNoM: every branch takes the concat's format
  for (auto& node : graph.nodes) {
    if (keeps_quantization(node.op)) groups.unite(node.inputs[0], node.outputs[0]);
    // NNoM's average pooling divides in the input's own format.
    if ((node.op == Op::AvgPool || node.op == Op::GlobalAvgPool) && settings.preset == "nnom")
      groups.unite(node.inputs[0], node.outputs[0]);
    if (node.op == Op::Concat && shared_concat)
      for (ValueId in : node.inputs) groups.unite(in, node.outputs[0]);
  }

  // 2. One range per group: the hull of its members' calibrated ranges.
  std::unordered_map<ValueId, ClipRange> group_range;
  std::unordered_map<ValueId, const TensorHistogram*> group_hist;  // the widest member, for pow2
  std::unordered_map<ValueId, bool> fixed_softmax;
  std::unordered_map<ValueId, CalibrationMethod> methods;  // what `auto` picked, per tensor
  for (auto& [id, h] : stats) {
    ValueId root = groups.find(id);
    ClipRange r;
    if (settings.scheme == "pow2") {
      r = calibrate_minmax(h);
    } else {
      const CalibrationMethod m = method_for(h, id, settings.calibration, chosen);
      if (settings.calibration == "auto") methods[id] = m;
      r = calibrate(h, m);
    }
    auto it = group_range.find(root);
    if (it == group_range.end())
      group_range[root] = r;
    else
      it->second = {std::min(it->second.lo, r.lo), std::max(it->second.hi, r.hi)};
    auto& widest = group_hist[root];
    if (!widest || h.abs_max() > widest->abs_max()) widest = &h;
  }
  for (auto& node : graph.nodes)
    if (node.op == Op::Softmax) fixed_softmax[groups.find(node.outputs[0])] = true;

  std::unordered_map<ValueId, QuantParam> params;
  auto param_of_group = [&](ValueId root) -> QuantParam {
    if (fixed_softmax.count(root)) return {1.0f / 256.0f, -128};  // the integer softmax's fixed format
    auto it = group_range.find(root);
    if (it == group_range.end()) fail(graph.value(root).name, "no calibration statistics for this tensor");
    if (settings.scheme == "pow2") {
      const TensorHistogram& h = *group_hist.at(root);
      const int frac = settings.preset == "nnom" ? nnom_frac_bits(std::max(-it->second.lo, it->second.hi))
                                                 : choose_pow2_frac_bits(h);
      return {std::ldexp(1.0f, -frac), 0};
    }
    return affine_quant_param(it->second);
  };

  // 3. Quantized values for the graph input and every node output.
  QGraph q;
  q.settings = settings;
  q.float_graph = graph;
  std::unordered_map<ValueId, int> qvalue;
  auto add_qvalue = [&](ValueId id) {
    const Value& v = graph.value(id);
    const ValueId root = groups.find(id);
    params[id] = param_of_group(root);
    qvalue[id] = int(q.values.size());
    QValue qv{v.name, v.shape, v.layout, params[id], {}};
    qv.calibration = summarize(stats, id, root, fixed_softmax.count(root) ? ClipRange{0, 1} : group_range[root],
                               settings, fixed_softmax.count(root) > 0, methods);
    q.values.push_back(std::move(qv));
  };
  for (ValueId in : graph.inputs) add_qvalue(in);
  for (auto& node : graph.nodes) add_qvalue(node.outputs[0]);

  // 4. One QNode per IR node.
  quant_detail::Context ctx{graph, settings, params, qvalue};
  for (auto& node : graph.nodes) {
    QNode qn = quant_detail::quantize_node(ctx, node);
    qn.name = node.name;
    qn.op = std::string(op_name(node.op));
    for (ValueId in : node.inputs)
      if (in != kNoValue && !graph.value(in).is_constant()) qn.inputs.push_back(qvalue.at(in));
    qn.output = qvalue.at(node.outputs[0]);
    qn.source_output = node.outputs[0];
    q.nodes.push_back(std::move(qn));
  }
  for (ValueId in : graph.inputs) q.inputs.push_back(qvalue.at(in));
  for (ValueId out : graph.outputs) q.outputs.push_back(qvalue.at(out));
  return q;
}

}  // namespace

}  // namespace tinyq
