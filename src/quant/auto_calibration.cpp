#include "quant/auto_calibration.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <memory>
#include <thread>

#include "exec/float_executor.hpp"
#include "exec/parallel.hpp"
#include "quant/op_rules.hpp"
#include "util/bytes.hpp"

namespace tinyq {

namespace {

constexpr CalibrationMethod kCandidates[] = {CalibrationMethod::minmax, CalibrationMethod::percentile,
                                             CalibrationMethod::kl, CalibrationMethod::mse};
// Samples captured at once: bounds the memory that holds every needed activation.
constexpr std::int64_t kChunk = 64;

// Ops whose outputs are some of their inputs' values, moved or selected: the error they pass
// on is the error they receive, so the consumers behind them are the ones that count.
bool looks_through(Op op) { return keeps_quantization(op) || op == Op::Concat; }

// The part of the graph a tensor's quantization error flows into before any op computes
// with it, run in float on its own.
struct Region {
  ValueId tensor = kNoValue;
  std::vector<ValueId> inputs;              // tensor first, then every other activation the nodes read
  std::vector<ValueId> outputs;             // the region's outputs (values of the model)
  std::unique_ptr<FloatExecutor> executor;  // null when no node consumes the tensor
  bool own_error = false;                   // the tensor is a model output
  std::vector<AutoChoice> candidates;       // distinct quantizations, in kCandidates order
  std::vector<QuantParam> params;
  std::vector<double> noise;   // per candidate and region output (+ own error)
  std::vector<double> signal;  // per region output (+ own error)
};

bool same_param(const QuantParam& a, const QuantParam& b) { return a.scale == b.scale && a.zero_point == b.zero_point; }

// The subgraph of the nodes reachable from `tensor` through looks_through ops; its outputs
// are where those paths end in a computing op, or leave the model.
std::unique_ptr<FloatExecutor> build_region(const Graph& graph, Region& r, int threads) {
  std::vector<bool> member(graph.nodes.size(), false);
  std::vector<int> stack = graph.consumers(r.tensor);
  while (!stack.empty()) {
    const int n = stack.back();
    stack.pop_back();
    if (member[std::size_t(n)]) continue;
    member[std::size_t(n)] = true;
    const Node& node = graph.nodes[std::size_t(n)];
    if (looks_through(node.op))
      for (int c : graph.consumers(node.outputs[0])) stack.push_back(c);
  }
  // Every value but only the constants the region's nodes read: copying all of them (every
  // weight of the model, once per region) was seconds of memcpy and page faults on
  // EfficientNet-B0. Activations are captured in the stored layout (NHWC): the region takes
  // them as they are, Plain, with no permutation on the way in or out (the steps read shapes,
  // never the layout).
  std::vector<bool> read(graph.values.size(), false);
  for (std::size_t n = 0; n < graph.nodes.size(); ++n)
    if (member[n])
      for (ValueId in : graph.nodes[n].inputs)
        if (in != kNoValue) read[std::size_t(in)] = true;
  Graph sub;
  sub.values.reserve(graph.values.size());
  for (std::size_t v = 0; v < graph.values.size(); ++v) {
    const Value& from = graph.values[v];
    Value& to = sub.values.emplace_back();
    to.name = from.name;
    to.dtype = from.dtype;
    to.shape = from.shape;
    to.quant = from.quant;
    if (read[v]) to.constant = from.constant;
  }
  std::vector<bool> produced(graph.values.size(), false);
  for (std::size_t n = 0; n < graph.nodes.size(); ++n)
    if (member[n]) {
      const Node& node = graph.nodes[n];
      sub.nodes.push_back(node);
      produced[std::size_t(node.outputs[0])] = true;
      if (!looks_through(node.op) || graph.is_graph_output(node.outputs[0])) sub.outputs.push_back(node.outputs[0]);
    }
  r.outputs = sub.outputs;
  r.inputs = {r.tensor};
  for (const Node& node : sub.nodes)
    for (ValueId in : node.inputs)
      if (in != kNoValue && !graph.value(in).is_constant() && !produced[std::size_t(in)] &&
          std::find(r.inputs.begin(), r.inputs.end(), in) == r.inputs.end())
        r.inputs.push_back(in);
  if (sub.nodes.empty()) return nullptr;
  sub.inputs = r.inputs;
  sub.compact();
  return std::make_unique<FloatExecutor>(sub, ExecOptions{.threads = threads});
}

// Sums of squares in double over eight interleaved partial sums, added up at the end: one
// running sum is bound by the latency of each addition (these sums over every consumer output
// of every candidate were the largest cost of `auto` on EfficientNet-B0). The order is fixed,
// so the result is too.
template <typename F>
double sum_squares(std::size_t n, F term) {
  constexpr std::size_t kLanes = 8;
  double part[kLanes] = {};
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (std::size_t l = 0; l < kLanes; ++l) {
      const double d = term(i + l);
      part[l] += d * d;
    }
  for (; i < n; ++i) {
    const double d = term(i);
    part[0] += d * d;
  }
  double total = 0;
  for (double v : part) total += v;
  return total;
}

void add_error(const Tensor& got, const Tensor& want, double& noise) {
  const float* g = got.f32().data();
  const float* w = want.f32().data();
  noise += sum_squares(got.f32().size(), [&](std::size_t i) { return double(g[i]) - double(w[i]); });
}

double energy(const Tensor& t) {
  const float* x = t.f32().data();
  return sum_squares(t.f32().size(), [&](std::size_t i) { return double(x[i]); });
}

// Activations of one chunk of samples, in the stored layout (as Plain tensors of the stored
// shape, which is what the regions take), for the values some region reads.
class Capture {
 public:
  Capture(const Graph& graph, const std::vector<bool>& needed) : graph_(graph), needed_(needed) {}

  void run(const FloatExecutor& executor, const InputSamples& chunk, std::int64_t samples) {
    for (std::size_t v = 0; v < needed_.size(); ++v)
      if (needed_[v]) {
        Shape s = graph_.value(ValueId(v)).shape;
        s[0] *= samples;
        auto it = tensors_.find(ValueId(v));
        if (it == tensors_.end() || it->second.shape() != s) tensors_[ValueId(v)] = Tensor(DType::f32, s);
      }
    for (std::size_t i = 0; i < graph_.inputs.size(); ++i)
      if (const ValueId in = graph_.inputs[i]; needed_[std::size_t(in)]) {
        const Value& value = graph_.value(in);
        const std::int64_t n = element_count(value.shape);
        for (std::int64_t k = 0; k < samples; ++k) {
          const auto* src = reinterpret_cast<const std::byte*>(chunk[i].f32().data() + k * n);
          auto* dst = reinterpret_cast<std::byte*>(tensors_.at(in).f32().data() + k * n);
          if (value.layout == Layout::NHWC && value.shape.size() == 4)
            permute_elements(src, dst, value.source_shape(), {0, 2, 3, 1}, sizeof(float));
          else
            copy_bytes(dst, src, std::size_t(n) * sizeof(float));
        }
      }
    executor.run(chunk.tensors(), [&](int, std::int64_t sample, ValueId v, std::span<const float> data) {
      if (!needed_[std::size_t(v)]) return;
      copy_bytes(tensors_.at(v).f32().data() + sample * std::int64_t(data.size()), data.data(), data.size_bytes());
    });
  }
  // Lent to a region for one measurement and given back, to save copying them.
  Tensor take(ValueId v) { return std::move(tensors_.at(v)); }
  const Tensor& at(ValueId v) const { return tensors_.at(v); }
  void give_back(ValueId v, Tensor t) { tensors_.at(v) = std::move(t); }

 private:
  const Graph& graph_;
  const std::vector<bool>& needed_;
  std::unordered_map<ValueId, Tensor> tensors_;
};

// Rounds `x` to the int8 grid of `p` and back into `y`, as the int8 model represents the tensor.
void fake_quantize(const Tensor& x, const QuantParam& p, Tensor& y) {
  const float* in = x.f32().data();
  float* out = y.f32().data();
  const std::size_t n = x.f32().size();
  const float zero = float(p.zero_point), scale = p.scale;
  // quantize_to_int8 (round half to even, clamp) and back, written so that it vectorises: the
  // clamped value is an integer in [-128, 127], so the int8 round trip is the identity on it.
  for (std::size_t i = 0; i < n; ++i) {
    float q = std::nearbyint(in[i] / scale) + zero;
    q = q < -128.0f ? -128.0f : (q > 127.0f ? 127.0f : q);
    out[i] = scale * (q - zero);
  }
}

// Adds one chunk's consumer errors for every candidate of `r`. The exact outputs are the
// model's own, captured with its run: no reference run of the region.
void measure_chunk(Region& r, Capture& capture) {
  std::vector<Tensor> inputs;
  for (ValueId in : r.inputs) inputs.push_back(capture.take(in));
  std::vector<const Tensor*> reference;
  for (ValueId out : r.outputs) reference.push_back(&capture.at(out));
  Tensor exact = std::move(inputs[0]);
  inputs[0] = Tensor(DType::f32, exact.shape());  // the candidates' fake-quantized copies
  const std::size_t terms = reference.size() + (r.own_error ? 1 : 0);
  if (r.signal.empty()) {
    r.signal.assign(terms, 0.0);
    r.noise.assign(terms * r.candidates.size(), 0.0);
  }
  for (std::size_t o = 0; o < reference.size(); ++o) r.signal[o] += energy(*reference[o]);
  if (r.own_error) r.signal[terms - 1] += energy(exact);
  for (std::size_t k = 0; k < r.candidates.size(); ++k) {
    fake_quantize(exact, r.params[k], inputs[0]);
    double* noise = r.noise.data() + k * terms;
    if (r.executor) {
      const std::vector<Tensor> outputs = r.executor->run(inputs);
      for (std::size_t o = 0; o < outputs.size(); ++o) add_error(outputs[o], *reference[o], noise[o]);
    }
    if (r.own_error) add_error(inputs[0], exact, noise[terms - 1]);
  }
  inputs[0] = std::move(exact);
  for (std::size_t i = 0; i < r.inputs.size(); ++i) capture.give_back(r.inputs[i], std::move(inputs[i]));
}

}  // namespace

QuantParam affine_quant_param(ClipRange r) {
  // The range must hold real 0 exactly (zero padding, ReLU) and must not be empty.
  float lo = std::min(r.lo, 0.0f), hi = std::max(r.hi, 0.0f);
  if (hi - lo < 1e-8f) hi = lo + 1e-8f;
  const float scale = (hi - lo) / 255.0f;
  const float zero = std::clamp(std::nearbyint(-128.0f - lo / scale), -128.0f, 127.0f);
  return {scale, std::int32_t(zero)};
}

std::unordered_map<ValueId, AutoChoice> choose_auto_calibration(
    const Graph& graph, const std::unordered_map<ValueId, TensorHistogram>& stats, const InputSamples& samples,
    const AutoCalibrationOptions& options) {
  // Candidates per tensor, in ValueId order (the result must not depend on hashing order).
  std::vector<ValueId> ids;
  for (auto& [id, h] : stats) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  std::unordered_map<ValueId, AutoChoice> result;
  std::vector<Region> regions;
  std::vector<bool> needed(graph.values.size(), false);
  // Every method's range for every tensor, tensors spread over the threads (KL alone is a
  // few milliseconds per tensor); each histogram is read by one thread only.
  constexpr std::size_t kMethods = std::size(kCandidates);
  std::vector<ClipRange> ranges(ids.size() * kMethods);
  for_each_sample(
      std::int64_t(ids.size()), options.threads > 0 ? options.threads : int(std::thread::hardware_concurrency()),
      [](int) { return 0; },
      [&](int, int, std::int64_t k) {
        const TensorHistogram& h = stats.at(ids[std::size_t(k)]);
        for (std::size_t m = 0; m < kMethods; ++m) ranges[std::size_t(k) * kMethods + m] = calibrate(h, kCandidates[m]);
      });
  for (std::size_t k = 0; k < ids.size(); ++k) {
    const ValueId id = ids[k];
    Region r;
    r.tensor = id;
    const TensorHistogram& h = stats.at(id);
    for (std::size_t mi = 0; mi < kMethods; ++mi) {
      const CalibrationMethod m = kCandidates[mi];
      // minmax spans lone outliers (TensorHistogram): one 1e38 among thousands of values would
      // give every other value the same int8 code. Its error is measured on the calibration
      // data, where the outlier's own clipping error can still make it "win"; never offer it.
      if (m == CalibrationMethod::minmax && h.has_outliers()) continue;
      const ClipRange range = ranges[k * kMethods + mi];
      const QuantParam p = affine_quant_param(range);
      if (std::none_of(r.params.begin(), r.params.end(), [&](const QuantParam& q) { return same_param(p, q); })) {
        r.candidates.push_back({m, range, 0});
        r.params.push_back(p);
      }
    }
    result[id] = r.candidates.front();
    if (r.candidates.size() < 2) continue;  // every method quantizes it alike
    r.own_error = graph.is_graph_output(id);
    r.executor = build_region(graph, r, options.threads);
    if (!r.executor && !r.own_error) continue;  // nothing reads it
    for (ValueId in : r.inputs) needed[std::size_t(in)] = true;
    for (ValueId out : r.outputs) needed[std::size_t(out)] = true;
    regions.push_back(std::move(r));
  }
  if (regions.empty()) return result;

  FloatExecutor model(graph, {.threads = options.threads});
  const std::int64_t total = std::min(samples.count(graph), options.max_samples);
  Capture capture(graph, needed);
  for (std::int64_t first = 0; first < total; first += kChunk) {
    const std::int64_t count = std::min(kChunk, total - first);
    capture.run(model, samples.range(graph, first, count), count);
    for (Region& r : regions) measure_chunk(r, capture);
  }

  for (Region& r : regions) {
    const std::size_t terms = r.signal.size();
    for (std::size_t k = 0; k < r.candidates.size(); ++k) {
      double error = 0;
      for (std::size_t o = 0; o < terms; ++o) error += r.noise[k * terms + o] / std::max(r.signal[o], 1e-30);
      r.candidates[k].error = error;
    }
    // The smallest error; on a tie the earlier method (strict <).
    const AutoChoice* best = &r.candidates.front();
    for (const AutoChoice& c : r.candidates)
      if (c.error < best->error) best = &c;
    result[r.tensor] = *best;
  }
  return result;
}

}  // namespace tinyq
