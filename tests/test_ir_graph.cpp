#include <gtest/gtest.h>

#include "ir/graph.hpp"
#include "ir/shape_inference.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

ValueId add_input(Graph& g, const std::string& name, Shape shape) {
  Value v;
  v.name = name;
  v.shape = std::move(shape);
  ValueId id = g.add_value(v);
  g.inputs.push_back(id);
  return id;
}

ValueId add_node(Graph& g, const std::string& name, Op op, std::vector<ValueId> inputs, Attributes attrs = {}) {
  Node n;
  n.name = name;
  n.op = op;
  n.inputs = std::move(inputs);
  n.attrs = std::move(attrs);
  Value out;
  out.name = name + "_out";
  out.shape = infer_output_shape(g, n);
  n.outputs = {g.add_value(out)};
  g.nodes.push_back(n);
  return n.outputs[0];
}

TEST(Tensor, ElementCountRejectsHugeShapesBeforeAllocating) {
  EXPECT_THROW(element_count({1 << 20, 1 << 20, 4}), Error);
  EXPECT_THROW(Tensor(DType::f32, {std::int64_t{1} << 40}), Error);
  EXPECT_THROW(element_count({3, -1}), Error);
  EXPECT_EQ(element_count({2, 3, 4}), 24);
  EXPECT_EQ(element_count({}), 1);
}

TEST(Tensor, TransposeMovesElementsToPermutedPositions) {
  std::vector<float> v(24);
  for (int i = 0; i < 24; ++i) v[std::size_t(i)] = float(i);
  Tensor t = Tensor::from_floats({2, 3, 4}, v);
  Tensor p = t.transposed({2, 0, 1});  // shape [4,2,3]; p[k][i][j] = t[i][j][k]
  ASSERT_EQ(p.shape(), (Shape{4, 2, 3}));
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) EXPECT_EQ(p.f32()[std::size_t((k * 2 + i) * 3 + j)], float((i * 3 + j) * 4 + k));
}

TEST(Tensor, CastRoundTripsIntegers) {
  std::vector<std::int64_t> v{-3, 0, 7};
  Tensor t = Tensor::from_i64({3}, v);
  EXPECT_EQ(t.cast(DType::f32).cast(DType::i64).as_i64(), v);
}

TEST(Graph, TopologicalSortOrdersProducersFirst) {
  Graph g;
  ValueId x = add_input(g, "x", {1, 4});
  ValueId a = add_node(g, "a", Op::Relu, {x});
  add_node(g, "b", Op::Sigmoid, {a});
  std::swap(g.nodes[0], g.nodes[1]);
  EXPECT_THROW(g.validate(), Error);  // b before a: a's output is used before it exists
  g.topological_sort();
  EXPECT_EQ(g.nodes[0].name, "a");
  EXPECT_NO_THROW(g.validate());
}

TEST(Graph, TopologicalSortNamesANodeOnACycle) {
  Graph g;
  ValueId x = add_input(g, "x", {1, 4});
  ValueId a = add_node(g, "a", Op::Add, {x, x});
  ValueId b = add_node(g, "b", Op::Relu, {a});
  g.nodes[0].inputs[1] = b;  // a now depends on b, which depends on a
  try {
    g.topological_sort();
    FAIL() << "expected a cycle error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cycle"), std::string::npos);
  }
}

TEST(Graph, ValidateRejectsDuplicateNodeNames) {
  Graph g;
  ValueId x = add_input(g, "x", {1, 4});
  ValueId a = add_node(g, "same", Op::Relu, {x});
  add_node(g, "same", Op::Relu, {a});
  EXPECT_THROW(g.validate(), Error);
}

TEST(Graph, CompactDropsDeadNodesAndRenumbersValues) {
  Graph g;
  ValueId x = add_input(g, "x", {1, 4});
  ValueId live = add_node(g, "live", Op::Relu, {x});
  ValueId dead = add_node(g, "dead", Op::Sigmoid, {x});
  add_node(g, "dead2", Op::Tanh, {dead});
  g.outputs = {live};
  g.compact();
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].name, "live");
  EXPECT_EQ(g.values.size(), 2u);
  EXPECT_EQ(g.value(g.outputs[0]).name, "live_out");
}

TEST(ShapeInference, ConvOutputFollowsStridePaddingAndDilation) {
  Graph g;
  ValueId x = add_input(g, "x", {1, 28, 28, 3});
  ValueId w = g.add_constant("w", Tensor(DType::f32, {8, 3, 3, 3}));
  ValueId b = g.add_constant("b", Tensor(DType::f32, {8}));
  Attributes a;
  a.set("strides", std::vector<std::int64_t>{2, 2});
  a.set("pads", std::vector<std::int64_t>{1, 1, 1, 1});
  a.set("dilations", std::vector<std::int64_t>{1, 1});
  ValueId y = add_node(g, "conv", Op::Conv, {x, w, b}, a);
  EXPECT_EQ(g.value(y).shape, (Shape{1, 14, 14, 8}));
}

TEST(ShapeInference, CeilModeDropsAWindowStartingInTheEndPadding) {
  EXPECT_EQ(window_output_size(5, 2, 2, 1, 0, 0, false), 2);
  EXPECT_EQ(window_output_size(5, 2, 2, 1, 0, 0, true), 3);
  EXPECT_EQ(window_output_size(4, 3, 2, 1, 1, 1, true), 3);
  EXPECT_EQ(window_output_size(5, 2, 2, 1, 1, 1, true), 3);  // a fourth window would start in the end padding
}

TEST(ShapeInference, BroadcastFollowsNumpyRules) {
  EXPECT_EQ(broadcast_shapes({1, 4, 4, 8}, {8}, ""), (Shape{1, 4, 4, 8}));
  EXPECT_EQ(broadcast_shapes({3, 1}, {1, 5}, ""), (Shape{3, 5}));
  EXPECT_THROW(broadcast_shapes({3, 4}, {5}, "here"), Error);
}

TEST(ShapeInference, MismatchedConcatIsAnErrorNamingTheNode) {
  Graph g;
  ValueId x = add_input(g, "x", {1, 4, 4, 2});
  ValueId y = add_input(g, "y", {1, 5, 4, 2});
  Attributes a;
  a.set("axis", std::int64_t{3});
  try {
    add_node(g, "cat", Op::Concat, {x, y}, a);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "cat");
  }
}

}  // namespace
}  // namespace tinyq
