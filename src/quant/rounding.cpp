#include "quant/rounding.hpp"

#include <algorithm>
#include <cmath>
#include <thread>
#include <unordered_map>

#include "exec/int8_executor.hpp"
#include "exec/parallel.hpp"
#include "qmodel/samples.hpp"
#include "quant/multiplier.hpp"

namespace tinyq {

std::vector<double> gram_matrix(const std::vector<float>& x, std::int64_t rows, std::int64_t k) {
  std::vector<double> g(std::size_t(k * k), 0.0);
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = x.data() + r * k;
    for (std::int64_t a = 0; a < k; ++a) {
      const double xa = row[a];
      if (xa == 0) continue;  // inputs at the zero point (ReLU zeros, padding) add nothing
      double* ga = g.data() + a * k;
      for (std::int64_t b = a; b < k; ++b) ga[b] += xa * double(row[b]);
    }
  }
  for (std::int64_t a = 0; a < k; ++a)
    for (std::int64_t b = 0; b < a; ++b) g[std::size_t(a * k + b)] = g[std::size_t(b * k + a)];
  return g;
}

double rounding_objective(const std::vector<double>& g, std::int64_t k, const double* target, const std::int8_t* q) {
  double sum = 0;
  for (std::int64_t a = 0; a < k; ++a) {
    const double ea = double(q[a]) - target[a];
    double row = 0;
    for (std::int64_t b = 0; b < k; ++b) row += g[std::size_t(a * k + b)] * (double(q[b]) - target[b]);
    sum += ea * row;
  }
  return sum;
}

int round_channel(const std::vector<double>& g, std::int64_t k, const double* target, std::int8_t* q, int passes) {
  // r = G e, e = q - target: the objective's gradient over 2.
  std::vector<double> r(std::size_t(k), 0.0);
  for (std::int64_t b = 0; b < k; ++b) {
    const double eb = double(q[b]) - target[b];
    if (eb == 0) continue;
    for (std::int64_t a = 0; a < k; ++a) r[std::size_t(a)] += g[std::size_t(a * k + b)] * eb;
  }
  int changed = 0;
  std::vector<std::int8_t> start(q, q + k);
  for (int pass = 0; pass < passes; ++pass) {
    bool flipped = false;
    for (std::int64_t i = 0; i < k; ++i) {
      const double lo = std::clamp(std::floor(target[i]), -127.0, 127.0);
      const double hi = std::clamp(std::ceil(target[i]), -127.0, 127.0);
      const double now = q[i];
      if (lo == hi || (now != lo && now != hi)) continue;
      const double d = now == lo ? hi - lo : lo - hi;
      const double gii = g[std::size_t(i * k + i)];
      // Strictly better by more than rounding noise, so that no pair of flips cycles.
      if (2 * d * r[std::size_t(i)] + d * d * gii >= -1e-9 * gii) continue;
      q[i] = std::int8_t(now + d);
      const double* gi = g.data() + i * k;  // column i = row i (G is symmetric)
      for (std::int64_t a = 0; a < k; ++a) r[std::size_t(a)] += d * gi[a];
      flipped = true;
    }
    if (!flipped) break;
  }
  for (std::int64_t i = 0; i < k; ++i) changed += q[i] != start[std::size_t(i)];
  return changed;
}

namespace {

// One layer whose rounding is optimized: where its patches come from and how its weights
// are laid out. Output channels fall into groups that read the same input columns (one
// group for conv and dense, one per input channel for depthwise); each group has its own G.
struct Layer {
  std::size_t node = 0;
  int input = -1;                   // QValue index of its input
  const Tensor* weights = nullptr;  // float weights, [O, KH, KW, C/g] or [O, K]
  std::int64_t k = 0;               // patch length: KH*KW*C or K
  std::int64_t per_sample = 0;      // patches per sample
  std::vector<std::int64_t> rows;   // chosen patches: sample * per_sample + position, ascending
  std::vector<float> x;             // rows.size() × k, input minus its zero point
  std::int64_t groups = 1, out_c = 0, taps = 1;
  bool depthwise = false, dense = false;
  // conv geometry
  std::int64_t batch = 1, in_h = 1, in_w = 1, in_c = 1, out_h = 1, out_w = 1, kh = 1, kw = 1, sh = 1, sw = 1, dh = 1,
               dw = 1, pad_top = 0, pad_left = 0, offset = 0;
};

// Patch `p` of one sample (its bytes in the stored layout) into out[0..k): im2col order
// (ky, kx, c) for convolutions, matching the weights' [KH, KW, C] order.
void patch(const Layer& l, const std::int8_t* sample, std::int64_t p, float* out) {
  if (l.dense) {
    for (std::int64_t j = 0; j < l.k; ++j) out[j] = float(sample[p * l.k + j] + l.offset);
    return;
  }
  const std::int64_t b = p / (l.out_h * l.out_w), oy = p / l.out_w % l.out_h, ox = p % l.out_w;
  const std::int8_t* image = sample + b * l.in_h * l.in_w * l.in_c;
  for (std::int64_t ky = 0; ky < l.kh; ++ky)
    for (std::int64_t kx = 0; kx < l.kw; ++kx) {
      float* dst = out + (ky * l.kw + kx) * l.in_c;
      const std::int64_t iy = oy * l.sh - l.pad_top + ky * l.dh, ix = ox * l.sw - l.pad_left + kx * l.dw;
      if (iy < 0 || iy >= l.in_h || ix < 0 || ix >= l.in_w) {
        std::fill(dst, dst + l.in_c, 0.0f);  // padded taps are real 0
        continue;
      }
      const std::int8_t* src = image + (iy * l.in_w + ix) * l.in_c;
      for (std::int64_t c = 0; c < l.in_c; ++c) dst[c] = float(src[c] + l.offset);
    }
}

// The layers to round: conv, depthwise and dense nodes made from a float Conv / Dense with
// constant weights of the int8 weights' size (not per-channel affine ops run as depthwise).
std::vector<Layer> find_layers(const QGraph& q) {
  std::unordered_map<ValueId, const Node*> producer;
  for (const Node& n : q.float_graph.nodes) producer[n.outputs[0]] = &n;
  std::vector<Layer> layers;
  for (std::size_t i = 0; i < q.nodes.size(); ++i) {
    const QNode& n = q.nodes[i];
    if (n.kernel != QKernel::Conv && n.kernel != QKernel::Depthwise && n.kernel != QKernel::Dense) continue;
    // 16x8 layers keep nearest rounding: the patches below are read as int8.
    if (q.values[std::size_t(n.inputs.at(0))].quant.bits != 8 || q.values[std::size_t(n.output)].quant.bits != 8)
      continue;
    // Readers of a concat with channel scales: their int8 weights are not the float model's.
    if (!q.values[std::size_t(n.inputs.at(0))].channel_scales.empty()) continue;
    auto it = producer.find(ValueId(n.source_output));
    if (it == producer.end() || n.inputs.size() != 1) continue;
    const Node& f = *it->second;
    if ((f.op != Op::Conv && f.op != Op::Dense) || f.inputs.size() < 2) continue;
    const Value& wv = q.float_graph.value(f.inputs[1]);
    if (!wv.is_constant() || std::size_t(wv.constant->numel()) != n.bytes("weights").size()) continue;
    Layer l;
    l.node = i;
    l.input = n.inputs[0];
    l.weights = &*wv.constant;
    l.offset = n.get("input_offset");
    if (n.kernel == QKernel::Dense) {
      l.dense = true;
      l.k = n.get("in_features");
      l.out_c = n.get("out_features");
      l.per_sample = n.get("rows");
    } else {
      l.batch = n.get("batch"), l.in_h = n.get("in_h"), l.in_w = n.get("in_w"), l.in_c = n.get("in_c");
      l.out_h = n.get("out_h"), l.out_w = n.get("out_w"), l.out_c = n.get("out_c");
      l.kh = n.get("kernel_h"), l.kw = n.get("kernel_w"), l.sh = n.get("stride_h"), l.sw = n.get("stride_w");
      l.dh = n.get("dilation_h"), l.dw = n.get("dilation_w"), l.pad_top = n.get("pad_top"),
      l.pad_left = n.get("pad_left");
      l.taps = l.kh * l.kw;
      l.k = l.taps * l.in_c;
      l.per_sample = l.batch * l.out_h * l.out_w;
      l.depthwise = n.kernel == QKernel::Depthwise;
      l.groups = l.depthwise ? l.in_c : n.get("groups", 1);
      if (l.groups <= 0 || l.in_c % l.groups != 0 || l.out_c % l.groups != 0) continue;
    }
    if (l.k <= 1 || l.per_sample <= 0) continue;  // one weight per output: nearest is optimal
    layers.push_back(std::move(l));
  }
  return layers;
}

// Chooses each layer's patches (evenly spread over samples and positions) and fills X from
// the int8 model's own activations on `samples`.
void collect_inputs(const QGraph& q, const InputSamples& samples, std::int64_t total, std::vector<Layer>& layers,
                    const RoundingOptions& o) {
  std::unordered_map<int, std::vector<std::size_t>> readers;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    Layer& l = layers[i];
    const std::int64_t patches = total * l.per_sample;
    const std::int64_t kg = l.k / l.groups;
    // Forming G costs rows × k_g² per group: fewer rows for very wide patches.
    const std::int64_t budget = std::max<std::int64_t>(512, std::int64_t(4e8) / std::max<std::int64_t>(kg * l.k, 1));
    const std::int64_t n = std::min({patches, o.max_rows, budget});
    for (std::int64_t j = 0; j < n; ++j) l.rows.push_back(j * patches / n);
    l.x.assign(std::size_t(n * l.k), 0.0f);
    readers[l.input].push_back(i);
  }
  auto fill = [&](int value, std::int64_t s, const std::int8_t* bytes) {
    auto it = readers.find(value);
    if (it == readers.end()) return;
    for (std::size_t i : it->second) {
      Layer& l = layers[i];
      auto first = std::lower_bound(l.rows.begin(), l.rows.end(), s * l.per_sample);
      auto last = std::lower_bound(first, l.rows.end(), (s + 1) * l.per_sample);
      for (auto r = first; r != last; ++r)
        patch(l, bytes, *r - s * l.per_sample, l.x.data() + (r - l.rows.begin()) * l.k);
    }
  };
  const InputSamples subset = samples.head(q.float_graph, total);
  for (std::size_t i = 0; i < q.inputs.size(); ++i) {
    const QValue& v = q.values[std::size_t(q.inputs[i])];
    if (!readers.count(q.inputs[i])) continue;
    const std::vector<std::int8_t> bytes = to_stored_bytes(v, quantize_samples(v, subset[i]));
    const std::size_t per = std::size_t(element_count(v.shape));
    for (std::int64_t s = 0; s < total; ++s) fill(q.inputs[i], s, bytes.data() + std::size_t(s) * per);
  }
  // Each sample's patches go to their own rows: no two threads write the same place.
  Int8Executor(q, {.threads = o.threads})
      .run(subset.tensors(), [&](int, std::int64_t s, int node, std::span<const std::int8_t> d) {
        fill(q.nodes[std::size_t(node)].output, s, d.data());
      });
}

// Index into the int8 (and float) weights of output channel o's j-th weight in its group.
std::size_t weight_index(const Layer& l, std::int64_t o, std::int64_t j) {
  if (l.depthwise) return std::size_t(j * l.out_c + o);  // int8: [KH, KW, O]
  return std::size_t(o * (l.k / l.groups) + j);
}

// Rounds the output channels of group g; returns the weights changed.
int round_group(QGraph& q, const Layer& l, std::int64_t g, bool centered) {
  QNode& n = q.nodes[l.node];
  const std::int64_t kg = l.k / l.groups, in_g = l.in_c / l.groups, per_group = l.out_c / l.groups;
  // Columns of X the group reads: taps × its input channels (all of them for dense).
  std::vector<std::int64_t> columns;
  if (l.dense) {
    for (std::int64_t j = 0; j < l.k; ++j) columns.push_back(j);
  } else {
    for (std::int64_t t = 0; t < l.taps; ++t)
      for (std::int64_t c = 0; c < in_g; ++c) columns.push_back(t * l.in_c + g * in_g + c);
  }
  const std::int64_t rows = std::int64_t(l.rows.size());
  std::vector<float> xg(std::size_t(rows * kg));
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < kg; ++j)
      xg[std::size_t(r * kg + j)] = l.x[std::size_t(r * l.k + columns[std::size_t(j)])];
  std::vector<double> gram = gram_matrix(xg, rows, kg);
  if (centered && rows > 0) {
    std::vector<double> sum(static_cast<std::size_t>(kg), 0.0);
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t j = 0; j < kg; ++j) sum[std::size_t(j)] += xg[std::size_t(r * kg + j)];
    for (std::int64_t a = 0; a < kg; ++a)
      for (std::int64_t b = 0; b < kg; ++b)
        gram[std::size_t(a * kg + b)] -= sum[std::size_t(a)] * sum[std::size_t(b)] / double(rows);
  }

  const double s_in = q.values[std::size_t(n.inputs[0])].quant.scale;
  const double s_out = q.values[std::size_t(n.output)].quant.scale;
  const auto& multiplier = n.words("requant_multiplier");
  const auto& shift = n.words("requant_shift");
  auto& weights = n.i8.at("weights");  // at(): other threads read the map too
  const auto w = l.weights->f32();
  std::vector<double> target(static_cast<std::size_t>(kg));
  std::vector<std::int8_t> qw(static_cast<std::size_t>(kg));
  int changed = 0;
  for (std::int64_t o = g * per_group; o < (g + 1) * per_group; ++o) {
    const std::size_t m = multiplier.size() == 1 ? 0 : std::size_t(o);
    // The requantization multiplier is s_in * s_w[o] / s_out.
    const double s_w = multiplier_value({multiplier[m], shift[m]}) * s_out / s_in;
    if (!(s_w > 0) || !std::isfinite(s_w)) continue;
    for (std::int64_t j = 0; j < kg; ++j) {
      const std::size_t float_index = l.depthwise ? std::size_t(o * kg + j) : weight_index(l, o, j);
      target[std::size_t(j)] = double(w[float_index]) / s_w;
      qw[std::size_t(j)] = weights[weight_index(l, o, j)];
    }
    const int c = round_channel(gram, kg, target.data(), qw.data());
    if (c == 0) continue;
    changed += c;
    for (std::int64_t j = 0; j < kg; ++j) weights[weight_index(l, o, j)] = qw[std::size_t(j)];
  }
  return changed;
}

}  // namespace

int optimize_rounding(QGraph& q, const InputSamples& samples, const RoundingOptions& options) {
  const std::int64_t total = std::min<std::int64_t>(samples.count(q.float_graph), options.max_samples);
  if (total <= 0) return 0;
  std::vector<Layer> layers = find_layers(q);
  if (layers.empty()) return 0;
  collect_inputs(q, samples, total, layers, options);
  // One task per (layer, group); tasks write disjoint weights, so the result does not depend
  // on the threads.
  std::vector<std::pair<std::size_t, std::int64_t>> tasks;
  for (std::size_t i = 0; i < layers.size(); ++i)
    for (std::int64_t g = 0; g < layers[i].groups; ++g) tasks.emplace_back(i, g);
  std::vector<int> changed(tasks.size(), 0);
  const int threads = options.threads > 0 ? options.threads : int(std::thread::hardware_concurrency());
  for_each_sample(
      std::int64_t(tasks.size()), threads, [](int) { return 0; },
      [&](int, int, std::int64_t t) {
        changed[std::size_t(t)] =
            round_group(q, layers[tasks[std::size_t(t)].first], tasks[std::size_t(t)].second, options.centered);
      });
  std::vector<bool> touched(layers.size(), false);
  for (std::size_t t = 0; t < tasks.size(); ++t)
    if (changed[t] > 0) touched[tasks[t].first] = true;
  return int(std::count(touched.begin(), touched.end(), true));
}

}  // namespace tinyq
