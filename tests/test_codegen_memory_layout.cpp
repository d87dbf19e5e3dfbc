// From a quantized graph to arena buffers: views, in-place reuse, scratch, and the
// execution order that lowers the peak.
#include <gtest/gtest.h>

#include "codegen/memory_layout.hpp"

namespace tinyq {
namespace {

// A graph builder for layout tests: kernels matter only through their kind (views,
// in-place candidates); sizes come from the value shapes.
struct Builder {
  QGraph g;
  int value(const std::string& name, std::int64_t bytes) {
    QValue v;
    v.name = name;
    v.shape = {1, bytes};
    g.values.push_back(v);
    return int(g.values.size()) - 1;
  }
  int input(const std::string& name, std::int64_t bytes) {
    int v = value(name, bytes);
    g.inputs.push_back(v);
    return v;
  }
  int node(QKernel kernel, std::vector<int> inputs, const std::string& out, std::int64_t bytes) {
    QNode n;
    n.name = out;
    n.kernel = kernel;
    n.inputs = std::move(inputs);
    n.output = value(out, bytes);
    g.nodes.push_back(n);
    return n.output;
  }
};

const Target& portable() { return target_by_name("portable"); }

TEST(MemoryLayout, SchedulesOneBranchToTheEndBeforeStartingTheNext) {
  Builder b;
  int x = b.input("x", 1000);
  // Stored order interleaves the branches: both 4000-byte intermediates alive at once.
  int a1 = b.node(QKernel::MaxPool, {x}, "a1", 4000);
  int b1 = b.node(QKernel::MaxPool, {x}, "b1", 4000);
  int a2 = b.node(QKernel::MaxPool, {a1}, "a2", 100);
  int b2 = b.node(QKernel::MaxPool, {b1}, "b2", 100);
  b.g.outputs = {b.node(QKernel::Concat, {a2, b2}, "y", 200)};
  MemoryLayout m = plan_memory(b.g, portable());
  EXPECT_EQ(m.arena_bytes(), m.lower_bound);
  EXPECT_EQ(m.arena_bytes(), 1000u + 4000 + 100);       // x, one branch's intermediate, the other's result
  EXPECT_GE(m.tflm_greedy_bytes, 1000u + 4000 + 4000);  // the stored order keeps both alive
}

TEST(MemoryLayout, ReshapeIsAViewOfItsInput) {
  Builder b;
  int x = b.input("x", 64);
  int h = b.node(QKernel::MaxPool, {x}, "h", 256);
  int r = b.node(QKernel::Reshape, {h}, "r", 256);
  b.g.outputs = {b.node(QKernel::MaxPool, {r}, "y", 16)};
  MemoryLayout m = plan_memory(b.g, portable());
  EXPECT_EQ(m.value_buffer[std::size_t(h)], m.value_buffer[std::size_t(r)]);
  EXPECT_EQ(m.value_offset(h), m.value_offset(r));
}

TEST(MemoryLayout, ElementwiseNodeOverwritesAnInputThatDies) {
  Builder b;
  int x = b.input("x", 64);
  int h = b.node(QKernel::MaxPool, {x}, "h", 256);
  int s = b.node(QKernel::Lookup, {h}, "sigmoid", 256);
  b.g.outputs = {b.node(QKernel::MaxPool, {s}, "y", 16)};
  MemoryLayout m = plan_memory(b.g, portable());
  EXPECT_TRUE(m.in_place[1]);
  EXPECT_EQ(m.value_offset(h), m.value_offset(s));
  EXPECT_EQ(m.arena_bytes(), 64u + 256);
}

TEST(MemoryLayout, ElementwiseNodeKeepsAnInputThatIsStillNeeded) {
  Builder b;
  int x = b.input("x", 64);
  int h = b.node(QKernel::MaxPool, {x}, "h", 256);
  int s = b.node(QKernel::Lookup, {h}, "sigmoid", 256);
  b.g.outputs = {b.node(QKernel::Concat, {h, s}, "y", 512)};  // h is read after the lookup
  MemoryLayout m = plan_memory(b.g, portable());
  EXPECT_FALSE(m.in_place[1]);
  EXPECT_NE(m.value_offset(h), m.value_offset(s));
}

TEST(MemoryLayout, GraphInputsAndOutputsAreNeverOverwritten) {
  Builder b;
  int x = b.input("x", 128);
  int s = b.node(QKernel::Lookup, {x}, "s", 128);  // x dies here, but it is the model input
  b.g.outputs = {s};
  MemoryLayout m = plan_memory(b.g, portable());
  EXPECT_FALSE(m.in_place[0]);
  EXPECT_NE(m.value_offset(x), m.value_offset(s));
}

}  // namespace
}  // namespace tinyq
