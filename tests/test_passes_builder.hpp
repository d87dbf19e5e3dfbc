#pragma once
// Shared by the tests/test_passes_*.cpp files: a tiny graph builder and the checks every
// pass test makes. A test builds a small graph by hand, runs ONE pass through `run_pass`
// and then asserts on the rewritten graph; `run_pass` already checked that the result is
// well formed (ordered, shapes consistent) and computes what the original computed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "exec/float_executor.hpp"
#include "ir/graph.hpp"
#include "ir/shape_inference.hpp"
#include "passes/passes.hpp"

namespace tinyq::pass_test {

using Ints = std::vector<std::int64_t>;
inline constexpr float kInf = std::numeric_limits<float>::infinity();

inline AttrValue I(std::int64_t v) { return v; }

inline Attributes attrs(std::initializer_list<std::pair<std::string, AttrValue>> list) {
  Attributes a;
  for (const auto& [key, value] : list) a.set(key, value);
  return a;
}

// Builds a graph node by node; every node's output shape comes from shape inference.
struct GraphBuilder {
  Graph g;
  std::mt19937 rng;

  explicit GraphBuilder(unsigned seed = 1) : rng(seed) {}

  // `shape` is the stored shape (NHWC for 4-D image tensors with layout NHWC).
  ValueId input(const std::string& name, Shape shape, Layout layout = Layout::Plain) {
    Value v;
    v.name = name;
    v.shape = std::move(shape);
    v.layout = layout;
    ValueId id = g.add_value(std::move(v));
    g.inputs.push_back(id);
    return id;
  }

  ValueId constant(const std::string& name, Shape shape, const std::vector<float>& values) {
    return g.add_constant(name, Tensor::from_floats(std::move(shape), values));
  }

  ValueId scalar(const std::string& name, float value) { return g.add_constant(name, Tensor::scalar(value)); }

  // Uniform in [lo, hi).
  ValueId random(const std::string& name, Shape shape, float lo = -1.0f, float hi = 1.0f) {
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(std::size_t(element_count(shape)));
    for (auto& x : v) x = dist(rng);
    return constant(name, std::move(shape), v);
  }

  ValueId node(const std::string& name, Op op, std::vector<ValueId> inputs, Attributes a = {},
               Layout layout = Layout::Plain) {
    Node n;
    n.name = name;
    n.op = op;
    n.inputs = std::move(inputs);
    n.attrs = std::move(a);
    Value out;
    out.name = name + "_out";
    out.layout = layout;
    out.shape = infer_output_shape(g, n);
    n.outputs = {g.add_value(std::move(out))};
    g.nodes.push_back(std::move(n));
    return g.nodes.back().outputs[0];
  }

  // Conv with random weights [out_c, kh, kw, in_c/group] and bias; NHWC in and out.
  ValueId conv(const std::string& name, ValueId x, std::int64_t out_c, std::int64_t kh, std::int64_t kw,
               Attributes a = {}) {
    const std::int64_t group = a.get_int("group", 1);
    const std::int64_t in_c = g.value(x).shape.at(3);
    ValueId w = random(name + "_w", {out_c, kh, kw, in_c / group});
    ValueId b = random(name + "_b", {out_c});
    return node(name, Op::Conv, {x, w, b}, std::move(a), Layout::NHWC);
  }

  ValueId dense(const std::string& name, ValueId x, std::int64_t out_features, Attributes a = {}) {
    ValueId w = random(name + "_w", {out_features, g.value(x).shape.back()});
    ValueId b = random(name + "_b", {out_features});
    return node(name, Op::Dense, {x, w, b}, std::move(a));
  }

  void output(ValueId v) { g.outputs.push_back(v); }
};

// Random data for each graph input in the source layout (what FloatExecutor::run takes),
// with `samples` samples stacked along the first axis. Values in [-2, 2): signs matter
// for clamps and max pooling.
inline std::vector<Tensor> random_inputs(const Graph& g, unsigned seed, std::int64_t samples = 2) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  std::vector<Tensor> inputs;
  for (ValueId in : g.inputs) {
    Shape s = g.value(in).source_shape();
    s[0] *= samples;
    Tensor t(DType::f32, s);
    for (auto& v : t.f32()) v = dist(rng);
    inputs.push_back(std::move(t));
  }
  return inputs;
}

inline std::vector<Tensor> run_graph(const Graph& g, const std::vector<Tensor>& inputs) {
  return FloatExecutor(g, {.threads = 1}).run(inputs);
}

// Same outputs up to float rounding: |a - b| <= 1e-5 * max(1, |a|, |b|).
inline void expect_same_outputs(const Graph& before, const Graph& after, unsigned seed = 7) {
  auto inputs = random_inputs(before, seed);
  auto expected = run_graph(before, inputs);
  auto actual = run_graph(after, inputs);
  ASSERT_EQ(expected.size(), actual.size());
  for (std::size_t o = 0; o < expected.size(); ++o) {
    ASSERT_EQ(expected[o].shape(), actual[o].shape()) << "output " << o;
    auto e = expected[o].f32(), a = actual[o].f32();
    int reported = 0;
    for (std::size_t i = 0; i < e.size(); ++i) {
      const float tol = 1e-5f * std::max({1.0f, std::fabs(e[i]), std::fabs(a[i])});
      const bool same = std::fabs(e[i] - a[i]) <= tol || (std::isnan(e[i]) && std::isnan(a[i]));
      if (!same && reported++ < 5)
        ADD_FAILURE() << "output " << o << " element " << i << ": before " << e[i] << ", after " << a[i];
    }
  }
}

// The rewritten graph is well formed: nodes in execution order, every input defined, and
// each stored output shape is what shape inference derives from the node as it now is.
inline void expect_well_formed(const Graph& g) {
  EXPECT_NO_THROW(g.validate());
  for (const Node& n : g.nodes) {
    Shape inferred;
    EXPECT_NO_THROW(inferred = infer_output_shape(g, n)) << n.name;
    EXPECT_EQ(inferred, g.value(n.outputs.at(0)).shape) << "stale output shape at node " << n.name;
  }
}

struct PassRun {
  bool changed = false;
  Graph before;
};

// Runs one pass on `g` (as simplify would, followed by the re-sort simplify does), checks
// the result is well formed, has the same interface and computes the same outputs.
template <typename Pass>
PassRun run_pass(Graph& g, Pass pass) {
  PassRun r;
  r.before = g;
  r.changed = pass(g);
  g.topological_sort();
  expect_well_formed(g);
  EXPECT_EQ(g.inputs, r.before.inputs);
  EXPECT_EQ(g.outputs.size(), r.before.outputs.size());
  for (std::size_t o = 0; o < std::min(g.outputs.size(), r.before.outputs.size()); ++o) {
    EXPECT_EQ(g.value(g.outputs[o]).name, r.before.value(r.before.outputs[o]).name);
    EXPECT_EQ(g.value(g.outputs[o]).source_shape(), r.before.value(r.before.outputs[o]).source_shape());
  }
  expect_same_outputs(r.before, g);
  return r;
}

// A pass that must not fire: reports no change and leaves every node as it was.
inline void expect_unchanged(const PassRun& r, const Graph& after) {
  EXPECT_FALSE(r.changed);
  const Graph& before = r.before;
  ASSERT_EQ(before.nodes.size(), after.nodes.size());
  for (std::size_t n = 0; n < before.nodes.size(); ++n) {
    const Node &b = before.nodes[n], &a = after.nodes[n];
    EXPECT_EQ(b.name, a.name);
    EXPECT_EQ(b.op, a.op) << b.name;
    EXPECT_EQ(b.inputs, a.inputs) << b.name;
    EXPECT_EQ(b.outputs, a.outputs) << b.name;
    EXPECT_TRUE(b.attrs.all() == a.attrs.all()) << "attributes of " << b.name << " changed";
  }
  EXPECT_EQ(before.outputs, after.outputs);
}

// Nodes still doing work: a copy of the graph with dead nodes and values dropped.
inline Graph live(const Graph& g) {
  Graph copy = g;
  copy.compact();
  return copy;
}

inline std::vector<Op> ops(const Graph& g) {
  std::vector<Op> result;
  for (const Node& n : g.nodes) result.push_back(n.op);
  return result;
}

inline const Node* find_node(const Graph& g, const std::string& name) {
  for (const Node& n : g.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

// The node producing `v`, or nullptr.
inline const Node* producer_of(const Graph& g, ValueId v) {
  int p = g.producer(v);
  return p < 0 ? nullptr : &g.nodes[std::size_t(p)];
}

inline const Node* producer_of(const Graph& g, const std::string& value_name) {
  for (std::size_t i = 0; i < g.values.size(); ++i)
    if (g.values[i].name == value_name) return producer_of(g, ValueId(i));
  return nullptr;
}

inline std::vector<float> floats(const Graph& g, ValueId v) {
  const Value& value = g.value(v);
  if (!value.is_constant()) return {};
  auto data = value.constant->f32();
  return {data.begin(), data.end()};
}

// The opset-13 LayerNorm export, with knobs to break it.
struct LayerNormParts {
  float exponent = 2.0f;
  float epsilon = 1e-5f;
  bool eps_on_left = false;
  bool affine = true;
  std::int64_t mean_axis = -1;  // -1: the last axis
  Attributes beta_attrs = {};
};

// mean = ReduceMean(x); d = x - mean; v = ReduceMean(d^2); y = d / Sqrt(v + eps) [* gamma + beta]
inline ValueId layer_norm_pattern(GraphBuilder& b, ValueId x, const LayerNormParts& p = {}) {
  const std::int64_t rank = std::int64_t(b.g.value(x).shape.size()), size = b.g.value(x).shape.back();
  const std::int64_t last = rank - 1;
  const Attributes mean_attrs = attrs({{"axes", Ints{p.mean_axis < 0 ? last : p.mean_axis}}, {"keepdims", I(1)}});
  ValueId mean = b.node("mean", Op::ReduceMean, {x}, mean_attrs);
  ValueId d = b.node("center", Op::Sub, {x, mean});
  ValueId sq = b.node("square", Op::Pow, {d, b.scalar("two", p.exponent)});
  ValueId var = b.node("var", Op::ReduceMean, {sq}, attrs({{"axes", Ints{last}}, {"keepdims", I(1)}}));
  ValueId eps = b.scalar("eps", p.epsilon);
  ValueId ve =
      b.node("add_eps", Op::Add, p.eps_on_left ? std::vector<ValueId>{eps, var} : std::vector<ValueId>{var, eps});
  ValueId s = b.node("std", Op::Sqrt, {ve});
  ValueId y = b.node("normalize", Op::Div, {d, s});
  if (!p.affine) return y;
  ValueId m = b.node("gamma_mul", Op::Mul, {y, b.random("gamma", {size}, 0.5f, 1.5f)});
  return b.node("beta_add", Op::Add, {b.random("beta", {1, size}), m}, p.beta_attrs);
}

}  // namespace tinyq::pass_test

namespace tinyq {
// Readable gtest messages for op lists.
inline void PrintTo(Op op, std::ostream* os) { *os << op_name(op); }
}  // namespace tinyq
