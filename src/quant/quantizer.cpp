#include "quant/quantizer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "exec/float_executor.hpp"
#include "exec/int8_executor.hpp"
#include "quant/auto_calibration.hpp"
#include "quant/bias_correction.hpp"
#include "quant/collect_statistics.hpp"
#include "quant/concat_folding.hpp"
#include "quant/equalization.hpp"
#include "quant/layer_error.hpp"
#include "quant/op_rules.hpp"
#include "quant/quantize_node.hpp"
#include "quant/range_search.hpp"
#include "quant/rounding.hpp"
#include "quant/widen.hpp"
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
  // Not minmax when it spans lone outliers (see choose_auto_calibration).
  const bool offer_minmax = !h.has_outliers();
  CalibrationMethod best = offer_minmax ? CalibrationMethod::minmax : CalibrationMethod::percentile;
  double best_error = quantization_mse(h, calibrate(h, best));
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
  s.histogram_min = h.bins_min();  // what the bins below span (lone outliers in the end bins)
  s.histogram_max = h.bins_max();
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
                    const QuantSettings& settings, const AutoChoices& chosen, const RangeScales& scales = {});
UnionFind quantization_groups(const Graph& graph, const QuantSettings& settings);

// The tensors whose range the whole-model search may move: one per quantization group with
// statistics, in model order, not softmax outputs (their format is fixed).
std::vector<ValueId> searchable_tensors(const Graph& graph, const std::unordered_map<ValueId, TensorHistogram>& stats,
                                        const QuantSettings& settings) {
  UnionFind groups = quantization_groups(graph, settings);
  std::vector<bool> listed(graph.values.size(), false);
  for (auto& node : graph.nodes)
    if (node.op == Op::Softmax) listed[std::size_t(groups.find(node.outputs[0]))] = true;
  std::vector<ValueId> roots;
  auto consider = [&](ValueId id) {
    const ValueId root = groups.find(id);
    if (!stats.count(id) || listed[std::size_t(root)]) return;
    listed[std::size_t(root)] = true;
    roots.push_back(root);
  };
  for (ValueId in : graph.inputs) consider(in);
  for (auto& node : graph.nodes) consider(node.outputs[0]);
  return roots;
}

// Statistics, then (for consumer-error `auto`) the per-tensor choice, then (preset `best`)
// the whole-model range search, then the QGraph.
QGraph calibrate_and_quantize(const Graph& graph, const InputSamples& samples, const QuantSettings& settings,
                              const CollectOptions& collect) {
  const auto stats = collect_statistics(graph, samples, collect);
  AutoChoices chosen;
  if (uses_consumer_error(settings))
    chosen = choose_auto_calibration(graph, stats, samples, {.threads = collect.threads});
  if (!settings.range_search || settings.scheme != "affine") return build_qgraph(graph, stats, settings, chosen);
  const RangeSearchResult found =
      search_ranges(graph, searchable_tensors(graph, stats, settings), samples,
                    [&](const RangeScales& scales) { return build_qgraph(graph, stats, settings, chosen, scales); },
                    {.threads = collect.threads});
  QGraph q = build_qgraph(graph, stats, settings, chosen, found.scales);
  q.settings.searched_ranges = found.changed;
  return q;
}

// Input ranges that a model is unlikely to have been trained on. `what` names the input
// when the model has several.
void check_input_range(const Tensor& samples, const std::string& what, std::vector<std::string>& warnings) {
  const auto x = samples.f32();
  if (x.empty()) return;
  const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
  if (*lo == *hi) {
    warnings.push_back(
        fmt::format("{}: every input value is {:g}; ranges calibrated on it fit no real input", what, *lo));
    return;
  }
  const float magnitude = std::max(std::fabs(*lo), std::fabs(*hi));
  if (magnitude > 1e4f)
    warnings.push_back(
        fmt::format("{}: inputs reach {:g}, more than 1e4 (a model is normally fed values near [-1, 1] or [0, 255] "
                    "at most): check the data's scaling",
                    what, magnitude));
  else if (*lo >= 0 && *hi > 1 && *hi <= 255 &&
           std::all_of(x.begin(), x.end(), [](float v) { return v == std::floor(v); }))
    warnings.push_back(
        fmt::format("{}: every input value is an integer in [0, {:g}]: unscaled 8-bit pixels? --scale applies to "
                    "uint8 data only; if the model expects [0, 1], save the data as uint8 or pass --std 255",
                    what, *hi));
}

// "calibration data", and which input's when the model has several.
std::string data_name(const Graph& graph, std::size_t input) {
  if (graph.inputs.size() == 1) return "calibration data";
  return fmt::format("calibration data for input '{}'", graph.value(graph.inputs[input]).name);
}

// Float against int8 on `samples` (up to 256): the model output's SQNR, for outputs of more
// than one element per sample the fraction of samples with the same top-1 (up to one output
// quantization step), and the layers with the lowest SQNR.
Prediction predict_damage(const QGraph& q, const InputSamples& samples, int threads, bool held_back) {
  Prediction p;
  p.held_back = held_back;
  p.samples = std::min<std::int64_t>(samples.count(q.float_graph), 256);
  if (p.samples <= 0) return p;
  const InputSamples subset = samples.head(q.float_graph, p.samples);
  const auto reference = FloatExecutor(q.float_graph, {.threads = threads}).run(subset.tensors());
  const auto quantized = Int8Executor(q, {.threads = threads}).run(subset.tensors());
  double signal = 0, noise = 0;
  for (std::size_t o = 0; o < reference.size(); ++o)
    for (std::int64_t i = 0; i < reference[o].numel(); ++i) {
      const double f = reference[o].f32()[std::size_t(i)], d = quantized[o].f32()[std::size_t(i)];
      if (!std::isfinite(f) || !std::isfinite(d)) continue;
      signal += f * f;
      noise += (f - d) * (f - d);
    }
  p.output_sqnr_db = noise > 0 ? 10.0 * std::log10(std::max(signal, 1e-30) / noise) : 200.0;
  const std::int64_t per = reference[0].numel() / p.samples;
  if (per > 1) {
    // The same top-1 up to the output's resolution: the int8 model's pick counts as agreeing
    // when its float value is within one output step of the float maximum. Without the
    // tolerance a regression output (an autoencoder's 640 reconstructed values at 47 dB)
    // "disagrees" on most samples between near-equal values int8 cannot tell apart.
    const double step = q.values[std::size_t(q.outputs[0])].quant.scale;
    std::int64_t same = 0;
    for (std::int64_t k = 0; k < p.samples; ++k) {
      const float* f = reference[0].f32().data() + k * per;
      const float* d = quantized[0].f32().data() + k * per;
      const float float_max = *std::max_element(f, f + per);
      same += double(f[std::max_element(d, d + per) - d]) >= double(float_max) - step;
    }
    p.agreement = double(same) / double(p.samples);
  }
  auto layers = measure_layer_error(q, subset, threads);
  std::sort(layers.begin(), layers.end(), [](auto& a, auto& b) { return a.sqnr_db < b.sqnr_db; });
  for (std::size_t i = 0; i < layers.size() && i < 3; ++i)
    p.worst_layers.emplace_back(layers[i].name, layers[i].sqnr_db);
  return p;
}

void warn_on_damage(const Prediction& p, std::vector<std::string>& warnings) {
  if (p.samples <= 0 || (p.output_sqnr_db >= kMinOutputSqnrDb && p.agreement >= kMinAgreement)) return;
  std::string worst;
  for (auto& [name, sqnr] : p.worst_layers)
    worst += fmt::format("{}{} ({:.1f} dB)", worst.empty() ? "" : ", ", name, sqnr);
  warnings.push_back(fmt::format(
      "the int8 model is far from the float model on {} {} samples: output SQNR {:.1f} dB (normal: >= {:g}), top-1 "
      "agreement {:.1f}% (normal: >= {:g}%), expect an accuracy loss; lowest-SQNR layers: {}; check the calibration "
      "data, try another preset",
      p.samples, p.held_back ? "held-back" : "calibration", p.output_sqnr_db, kMinOutputSqnrDb, 100 * p.agreement,
      100 * kMinAgreement, worst));
}

// Cross-layer equalization (equalization.hpp), kept only where it lowers the model's output
// error on calibration data: it can widen ranges it was not aimed at. Candidates: weight-range
// equalization where weights share one scale across channels (per-tensor, power of two),
// activation-range equalization for every scheme (one activation scale spans all channels).
// They are ranked on a cheaper quantization of a subset (no consumer-error search), and the
// winner is quantized in full and kept if it beats `baseline`. NNoM does not equalize, so
// its preset does not come here.
QGraph equalize_if_better(const Graph& graph, const InputSamples& samples, const QuantSettings& settings,
                          const CollectOptions& collect, QGraph baseline) {
  std::vector<Graph> candidates;
  for (EqualizeBy by : {EqualizeBy::weight_ranges, EqualizeBy::activation_ranges}) {
    if (by == EqualizeBy::weight_ranges && settings.granularity != "tensor" && settings.scheme != "pow2") continue;
    Graph equalized = graph;
    if (equalize_cross_layer(equalized, by, &samples, collect.threads) > 0) candidates.push_back(std::move(equalized));
  }
  if (candidates.empty()) return baseline;
  const InputSamples subset = samples.head(graph, 512);
  QuantSettings proxy = settings;
  if (uses_consumer_error(proxy)) proxy.calibration = "mse";
  CollectOptions quiet = collect;
  quiet.progress = nullptr;
  auto proxy_sqnr = [&](const Graph& g) {
    return output_sqnr_db(calibrate_and_quantize(g, subset, proxy, quiet), subset, collect.threads);
  };
  double best_sqnr = proxy_sqnr(graph);
  const Graph* best = nullptr;
  for (const Graph& c : candidates)
    if (const double sqnr = proxy_sqnr(c); sqnr > best_sqnr) best_sqnr = sqnr, best = &c;
  if (!best) return baseline;
  QuantSettings with = settings;
  with.equalization = true;
  QGraph candidate = calibrate_and_quantize(*best, samples, with, quiet);
  if (output_sqnr_db(candidate, samples, collect.threads) > output_sqnr_db(baseline, samples, collect.threads))
    return candidate;
  return baseline;
}

// Optimized weight rounding (rounding.hpp), then bias correction; the rounding is kept only
// when, after bias correction, the model's output error is lower than with nearest rounding
// on the calibration data and also on `holdout` (samples calibration did not see; skipped
// when empty): it fits each layer on its own and could fit a small data set.
QGraph round_if_better(QGraph q, const InputSamples& samples, const InputSamples& holdout,
                       const QuantSettings& settings, int threads) {
  constexpr std::int64_t kCompareSamples = 1024;
  QGraph rounded = q;
  const int layers = optimize_rounding(rounded, samples, {.threads = threads, .centered = settings.bias_correction});
  if (settings.bias_correction) correct_bias(q, samples, threads);
  if (layers == 0) return q;
  if (settings.bias_correction) correct_bias(rounded, samples, threads);
  const auto lowers_error = [&](const InputSamples& data) {
    return output_sqnr_db(rounded, data, threads, kCompareSamples) > output_sqnr_db(q, data, threads, kCompareSamples);
  };
  if (!lowers_error(samples) || (!holdout.empty() && !lowers_error(holdout))) return q;
  rounded.settings.rounded_layers = layers;
  return rounded;
}

// int16 activations (widen.hpp): the named layers, or for `auto`, when the int8 model's
// output SQNR on calibration data is below kMinOutputSqnrDb (a model int8 does not hold),
// the few layers that raise it most. Models int8 holds are left as they are, byte for byte.
// Returns whether `q` came back bias-corrected already (auto's check corrects a copy; when
// it finds nothing to do, that copy is the result).
bool widen_where_needed(QGraph& q, const InputSamples& samples, const QuantizeOptions& options) {
  const std::string mode = q.settings.int16;
  if (mode == "off") return false;
  if (mode != "auto") {
    std::vector<std::string> names;
    for (std::size_t start = 0; start <= mode.size();) {
      const std::size_t end = std::min(mode.find(',', start), mode.size());
      if (end == start) fail("--int16", "empty node name in '{}'", mode);
      names.push_back(mode.substr(start, end - start));
      start = end + 1;
    }
    widen_to_int16(q, names);
    return false;
  }
  // Judged as the preset would deliver it, bias corrected; the search itself runs before the
  // correction, which is then made for the int16 model.
  constexpr std::int64_t kCheckSamples = 256;
  QGraph corrected = q;
  if (q.settings.bias_correction) correct_bias(corrected, samples, options.threads);
  if (output_sqnr_db(corrected, samples, options.threads, kCheckSamples) >= kMinOutputSqnrDb) {
    if (q.settings.optimized_rounding) return false;  // rounding starts from the uncorrected model
    q = std::move(corrected);
    return true;
  }
  const Int16Choice choice = choose_int16(q, samples, options.int16_ram, options.threads);
  q.settings.int16_searched = true;
  q.settings.int16_sqnr_before_db = choice.sqnr_before_db;
  q.settings.int16_sqnr_after_db = choice.sqnr_after_db;
  q.settings.int16_arena_before = choice.arena_before;
  q.settings.int16_arena_after = choice.arena_after;
  q.settings.int16_ram_budget = choice.ram_budget;
  if (!choice.layers.empty()) widen_to_int16(q, choice.layers);
  return false;
}

}  // namespace

Tensor clamp_input_outliers(const Tensor& samples, std::vector<std::string>* warnings, const std::string& what) {
  TensorHistogram h;
  h.observe_range(samples.f32());
  h.start_histograms();
  if (!h.has_outliers()) return samples;
  // The exact extremes of the rest (the bins end at a power of two above them).
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (float x : samples.f32())
    if (x >= h.bins_min() && x <= h.bins_max()) lo = std::min(lo, x), hi = std::max(hi, x);
  Tensor clamped = samples;
  auto x = clamped.f32();
  const std::int64_t per_sample = samples.numel() / std::max<std::int64_t>(samples.shape()[0], 1);
  std::int64_t count = 0, first = -1;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (x[i] < lo || x[i] > hi) {
      if (first < 0) first = std::int64_t(i);
      ++count;
      x[i] = std::clamp(x[i], lo, hi);
    }
  if (warnings)
    warnings->push_back(
        fmt::format("{}: {} of {} input values lie more than {}x beyond the rest (first: element {} = {:g}, "
                    "sample {}); they were clamped to the rest's range [{:g}, {:g}] for calibration: check the data",
                    what, count, x.size(), 1 << TensorHistogram::kOutlierGapOctaves, first,
                    samples.f32()[std::size_t(first)], first / per_sample, lo, hi));
  return clamped;
}

QuantSettings resolve_settings(const QuantizeOptions& o) {
  QuantSettings s;
  s.preset = o.preset;
  if (o.preset == "best") {
    s.scheme = "affine", s.granularity = "channel", s.calibration = "auto", s.bias_correction = true;
    // Kept only where it lowers the output error on calibration and held-back data: it raised
    // the held-back output SQNR of every zoo model, by 0.2-3.7 dB (docs/BENCHMARKS.md).
    s.optimized_rounding = true;
  } else if (o.preset == "fast")  // best's formats, one histogram method instead of the per-tensor search
    s.scheme = "affine", s.granularity = "channel", s.calibration = "mse", s.bias_correction = true;
  else if (o.preset == "cmsis")
    s.scheme = "affine", s.granularity = "channel", s.calibration = "minmax";
  else if (o.preset == "nnom")
    s.scheme = "pow2", s.granularity = "tensor", s.calibration = "minmax";
  else if (o.preset == "pow2")
    s.scheme = "pow2", s.granularity = "channel", s.calibration = "mse";
  else
    fail("--preset", "unknown preset '{}' (best, fast, cmsis, nnom, pow2)", o.preset);
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
  if (o.optimized_rounding) s.optimized_rounding = *o.optimized_rounding;
  if (o.range_search) s.range_search = *o.range_search;
  s.int16 = o.preset == "best" || o.preset == "fast" ? "auto" : "off";
  if (o.int16) {
    if (o.int16->empty()) fail("--int16", "expected auto, off or node names separated by commas");
    s.int16 = *o.int16;
  }
  if (o.calibration) {
    if (*o.calibration != "auto") calibration_method_from_name(*o.calibration);  // validates
    s.calibration = *o.calibration;
  }
  return s;
}

QGraph quantize(const Graph& graph, const InputSamples& raw_samples, const QuantizeOptions& options) {
  QuantSettings settings = resolve_settings(options);
  if (graph.inputs.empty()) fail("", "quantization needs a model with at least one input");
  // Outliers are judged per input: two inputs (an image and a sensor reading) need not share
  // a range.
  InputSamples samples = raw_samples;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    samples[i] = clamp_input_outliers(samples[i], options.warnings, data_name(graph, i));
    if (options.warnings) check_input_range(samples[i], data_name(graph, i), *options.warnings);
  }
  CollectOptions collect{.threads = options.threads, .histograms = true, .progress = options.progress};
  settings.calibration_samples = samples.count(graph);
  QGraph q = calibrate_and_quantize(graph, samples, settings, collect);
  if (settings.preset != "nnom") q = equalize_if_better(graph, samples, settings, collect, std::move(q));
  // int16 layers first: bias correction then measures the model as it will run.
  const bool corrected = widen_where_needed(q, samples, options);
  InputSamples holdout = options.holdout;  // clamped like the calibration samples
  for (Tensor& t : holdout.tensors()) t = clamp_input_outliers(t, nullptr);
  if (settings.optimized_rounding)
    q = round_if_better(std::move(q), samples, holdout, settings, options.threads);
  else if (settings.bias_correction && !corrected)
    correct_bias(q, samples, options.threads);
  if (options.warnings) {
    const bool held_back = !holdout.empty();
    const Prediction p = predict_damage(q, held_back ? holdout : samples, options.threads, held_back);
    warn_on_damage(p, *options.warnings);
    if (options.prediction) *options.prediction = p;
  }
  return q;
}

QGraph quantize_with_statistics(const Graph& graph, const std::unordered_map<ValueId, TensorHistogram>& stats,
                                const QuantSettings& settings, const RangeScales& scales) {
  return build_qgraph(graph, stats, settings, {}, scales);
}

namespace {

// 1. Values that must share one quantization.
UnionFind quantization_groups(const Graph& graph, const QuantSettings& settings) {
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
  return groups;
}

QGraph build_qgraph(const Graph& graph, const std::unordered_map<ValueId, TensorHistogram>& stats,
                    const QuantSettings& settings, const AutoChoices& chosen, const RangeScales& scales) {
  UnionFind groups = quantization_groups(graph, settings);

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
  // The whole-model search's factors (range_search.hpp): narrower or wider than calibrated,
  // given for any member of a group.
  for (const auto& [id, factor] : scales)
    if (auto it = group_range.find(groups.find(id)); it != group_range.end())
      it->second = {float(it->second.lo * factor), float(it->second.hi * factor)};

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
    QValue qv{v.name, v.shape, v.layout, params[id], {}, {}};
    qv.calibration = summarize(stats, id, root, fixed_softmax.count(root) ? ClipRange{0, 1} : group_range[root],
                               settings, fixed_softmax.count(root) > 0, methods);
    q.values.push_back(std::move(qv));
  };
  for (ValueId in : graph.inputs) add_qvalue(in);
  for (auto& node : graph.nodes) add_qvalue(node.outputs[0]);
  // Concats whose branches keep their own scales (concat_folding.hpp).
  const auto folded = quant_detail::foldable_concats(graph, settings, params);
  for (const auto& [id, scales] : folded) q.values[std::size_t(qvalue.at(id))].channel_scales = scales;

  // 4. One QNode per IR node.
  quant_detail::Context ctx{graph, settings, params, qvalue};
  for (auto& node : graph.nodes) {
    const auto read_folded = node.inputs.empty() ? folded.end() : folded.find(node.inputs[0]);
    QNode qn = read_folded != folded.end() ? quant_detail::quantize_folded_reader(ctx, node, read_folded->second)
                                           : quant_detail::quantize_node(ctx, node);
    if (node.op == Op::Concat && folded.count(node.outputs[0]))  // every branch copied as it is
      std::fill(qn.i32.at("multiplier").begin(), qn.i32.at("multiplier").end(), 0);
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
