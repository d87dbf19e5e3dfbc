#include "quant/equalization_regions.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>

namespace tinyq::equalization {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// A fused clamp that commutes with a positive scale: none, or [0, inf) (ReLU). ReLU6's
// finite upper bound would have to be scaled per channel, which one clamp cannot express.
bool scale_invariant_clamp(const Node& n) {
  const float lo = n.attrs.get_float("act_min", -kInf), hi = n.attrs.get_float("act_max", kInf);
  return !std::isfinite(hi) && (lo == 0.0f || lo == -kInf);
}

bool is_linear(const Graph& g, const Node& n) {
  if (n.op != Op::Conv && n.op != Op::Dense) return false;
  if (n.inputs.size() < 2 || !g.value(n.inputs[1]).is_constant()) return false;
  if (n.inputs.size() > 2 && n.inputs[2] != kNoValue && !g.value(n.inputs[2]).is_constant()) return false;
  // A grouped (not depthwise) conv mixes channels within groups only; not handled.
  return n.op == Op::Dense || n.attrs.get_int("group", 1) == 1 || is_depthwise(g, n);
}

// Ops with f(s * x) = s * f(x) per channel for s > 0, given their attributes.
bool commutes_with_scale(const Graph& g, const Node& n) {
  if (!scale_invariant_clamp(n)) return false;
  switch (n.op) {
    case Op::Relu:
    case Op::LeakyRelu:
    case Op::Identity:
    case Op::Concat:
    case Op::Reshape: return true;
    case Op::PRelu: return n.inputs.size() == 2 && g.value(n.inputs[1]).is_constant();
    case Op::MaxPool:
    case Op::AvgPool:
    case Op::GlobalAvgPool:
    case Op::GlobalMaxPool: return g.value(n.inputs[0]).shape.size() == 4;
    case Op::Clip: return n.attrs.get_float("min", -kInf) == 0.0f && !std::isfinite(n.attrs.get_float("max", kInf));
    case Op::Pad: {
      if (n.attrs.get_string("mode", "constant") != "constant" || n.attrs.get_float("value", 0.0f) != 0.0f)
        return false;
      const auto pads = n.attrs.get_ints("pads");
      const std::size_t rank = g.value(n.inputs[0]).shape.size();
      return pads.size() == 2 * rank && pads[rank - 1] == 0 && pads[2 * rank - 1] == 0;  // channels not padded
    }
    default: return false;
  }
}

// The inputs of `n` that carry the scaled data (the rest are constants such as PReLU slopes).
std::vector<ValueId> data_inputs(const Node& n) {
  if (n.op == Op::Concat) return n.inputs;
  return {n.inputs[0]};
}

struct UnionFind {
  std::vector<int> parent;
  int add(int count) {
    const int first = int(parent.size());
    for (int i = 0; i < count; ++i) parent.push_back(first + i);
    return first;
  }
  int find(int v) {
    while (parent[std::size_t(v)] != v) v = parent[std::size_t(v)] = parent[std::size_t(parent[std::size_t(v)])];
    return v;
  }
  void unite(int a, int b) { parent[std::size_t(find(a))] = find(b); }
};

class RegionBuilder {
 public:
  explicit RegionBuilder(const Graph& g) : g_(g) {}

  // Floods from `start` over every tensor the rescale must reach; false when something
  // around it does not allow a rescale.
  bool grow(ValueId start, std::vector<char>& seen) {
    std::vector<ValueId> queue{start};
    seen[std::size_t(start)] = 1;
    bool ok = true;
    auto visit = [&](ValueId v) {
      if (!seen[std::size_t(v)]) seen[std::size_t(v)] = 1, queue.push_back(v);
    };
    for (std::size_t head = 0; head < queue.size(); ++head) {
      const ValueId t = queue[head];
      tensors_.push_back(t);
      if (g_.is_graph_output(t) || g_.value(t).shape.empty()) ok = false;
      const int p = g_.producer(t);
      if (p < 0) {
        ok = false;
      } else if (const Node& pn = g_.nodes[std::size_t(p)]; is_linear(g_, pn)) {
        if (!scale_invariant_clamp(pn)) ok = false;
        add_unique(producers_, p);
      } else if (commutes_with_scale(g_, pn)) {
        add_unique(ops_, p);
        for (ValueId in : data_inputs(pn)) visit(in);
      } else {
        ok = false;
      }
      for (int c : g_.consumers(t)) {
        const Node& cn = g_.nodes[std::size_t(c)];
        const auto uses = std::count(cn.inputs.begin(), cn.inputs.end(), t);
        if (is_linear(g_, cn) && cn.inputs[0] == t && uses == 1) {
          add_unique(consumers_, c);
        } else if (commutes_with_scale(g_, cn) && (cn.op == Op::Concat || (cn.inputs[0] == t && uses == 1))) {
          add_unique(ops_, c);
          visit(cn.outputs[0]);
        } else {
          ok = false;
        }
      }
    }
    return ok && !producers_.empty() && !consumers_.empty();
  }

  // Channel classes; false when a reshape scrambles channels beyond recognition.
  bool finish(Region& region) {
    std::unordered_map<ValueId, int> base;
    UnionFind classes;
    for (ValueId t : tensors_) base[t] = classes.add(int(g_.value(t).shape.back()));
    auto channels = [&](ValueId t) { return g_.value(t).shape.back(); };
    for (int o : ops_) {
      const Node& n = g_.nodes[std::size_t(o)];
      const ValueId out = n.outputs[0];
      if (n.op == Op::Concat) {
        const std::int64_t rank = std::int64_t(g_.value(out).shape.size());
        std::int64_t axis = n.attrs.get_int("axis", 0);
        if (axis < 0) axis += rank;
        std::int64_t offset = 0;
        for (ValueId in : n.inputs) {
          const bool along_channels = axis == rank - 1;
          if (!along_channels && channels(in) != channels(out)) return false;
          for (std::int64_t c = 0; c < channels(in); ++c)
            classes.unite(base[in] + int(c), base[out] + int(along_channels ? offset + c : c));
          offset += channels(in);
        }
      } else if (n.op == Op::Reshape) {
        // Element f of the flat data is channel f mod C before and f mod C' after.
        const std::int64_t cin = channels(n.inputs[0]), cout = channels(out);
        const std::int64_t period = std::lcm(cin, cout);
        if (period > (std::int64_t(1) << 24)) return false;
        for (std::int64_t f = 0; f < period; ++f)
          classes.unite(base[n.inputs[0]] + int(f % cin), base[out] + int(f % cout));
      } else {
        if (channels(n.inputs[0]) != channels(out)) return false;
        for (std::int64_t c = 0; c < channels(out); ++c) classes.unite(base[n.inputs[0]] + int(c), base[out] + int(c));
      }
    }
    // Number the classes 0..K-1.
    std::unordered_map<int, int> number;
    auto class_of = [&](int flat) {
      const int root = classes.find(flat);
      auto [it, added] = number.emplace(root, int(number.size()));
      return it->second;
    };
    for (ValueId t : tensors_) {
      std::vector<int> cls(std::size_t(channels(t)));
      for (std::size_t c = 0; c < cls.size(); ++c) cls[c] = class_of(base[t] + int(c));
      region.tensors.emplace_back(t, std::move(cls));
    }
    auto classes_of = [&](ValueId t) -> const std::vector<int>& {
      for (auto& [v, cls] : region.tensors)
        if (v == t) return cls;
      return region.tensors.front().second;  // unreachable: every producer output is in the region
    };
    for (int p : producers_) region.producers.push_back({p, classes_of(g_.nodes[std::size_t(p)].outputs[0])});
    for (int c : consumers_) region.consumers.push_back({c, classes_of(g_.nodes[std::size_t(c)].inputs[0])});
    region.classes = int(number.size());
    return true;
  }

 private:
  static void add_unique(std::vector<int>& v, int x) {
    if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
  }
  const Graph& g_;
  std::vector<ValueId> tensors_;
  std::vector<int> producers_, consumers_, ops_;
};

}  // namespace

bool is_depthwise(const Graph& g, const Node& n) {
  if (n.op != Op::Conv || n.inputs.size() < 2) return false;
  const Shape& w = g.value(n.inputs[1]).shape;
  const std::int64_t group = n.attrs.get_int("group", 1);
  return group > 1 && w.size() == 4 && w[3] == 1 && group == w[0];
}

std::vector<Region> find_regions(const Graph& g) {
  std::vector<char> seen(g.values.size(), 0);
  std::vector<Region> regions;
  for (const Node& n : g.nodes) {
    if (!is_linear(g, n) || seen[std::size_t(n.outputs[0])]) continue;
    RegionBuilder builder(g);
    Region region;
    if (builder.grow(n.outputs[0], seen) && builder.finish(region)) regions.push_back(std::move(region));
  }
  return regions;
}

}  // namespace tinyq::equalization
