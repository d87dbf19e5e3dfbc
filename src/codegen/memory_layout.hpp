#pragma once
// Where every tensor of a quantized model lives on the MCU: the execution order, the
// buffers (activations after aliasing and in-place reuse, plus per-layer scratch) and their
// offsets in the one static arena.
#include <cstddef>
#include <map>
#include <utility>
#include <vector>

#include "codegen/memory_planner.hpp"
#include "codegen/patch_plan.hpp"
#include "codegen/target.hpp"
#include "ir/qgraph.hpp"

namespace tinyq {

struct MemoryLayout {
  std::vector<int> order;                  // node indices in execution order
  std::vector<BufferRequest> buffers;      // what the planner placed
  std::vector<int> value_buffer;           // per QValue: its buffer (aliases share one), -1 if unused
  std::vector<int> scratch_buffer;         // per node: its scratch buffer, -1 if none
  std::vector<std::size_t> scratch_bytes;  // per node: bytes its kernel asks for on the target
  std::vector<bool> in_place;              // per node: writes its output over a dying input
  std::vector<int> extra_buffer;           // per extra persistent buffer asked for: its buffer
  ArenaPlan plan;
  std::size_t lower_bound = 0;        // largest sum of live buffers at one step
  std::size_t tflm_greedy_bytes = 0;  // TFLM's greedy by size: stored order, no in-place
  std::size_t arena_bytes() const { return plan.arena_bytes; }
  std::size_t value_offset(int value) const { return plan.offsets[std::size_t(value_buffer[std::size_t(value)])]; }
  // Streaming: bytes into a value's buffer where node n (-1: the C interface) reads or writes
  // it (a layer's window of rows, the newest row). Empty for a windowed model.
  std::map<std::pair<int, int>, std::size_t> view_bytes;
  std::size_t access_offset(int node, int value) const {
    const auto it = view_bytes.find({node, value});
    return value_offset(value) + (it == view_bytes.end() ? 0 : it->second);
  }
};

// Buffers are rounded up to kArenaAlignment bytes and placed at multiples of it.
inline constexpr std::size_t kArenaAlignment = 4;

// Scratch bytes node `n`'s kernel needs on `target` (the runtime's own sizing twins).
std::size_t node_scratch_bytes(const QNode& n, const Target& target);

// Plans the model's memory for one target: chooses the execution order with the lowest
// arena (exact search over topological orders for the peak of live bytes when the graph
// is small enough, else the stored order), marks in-place nodes and places the buffers.
// `persistent_bytes` (per value, 0 for none): buffers of that size kept across invocations
// (streaming histories): live at every step, so nothing else ever shares their bytes.
// `extra_persistent`: more such buffers that hold no value (recurrent states).
// `patch`: its layers run interleaved, row by row, as one stage (patch_plan.hpp): they keep
// the stored order, their buffers hold the rows the plan says and live through the whole
// stage, and each layer's scratch may share bytes only with the other stage layers' scratch.
MemoryLayout plan_memory(const QGraph& graph, const Target& target,
                         const std::vector<std::size_t>& persistent_bytes = {},
                         const std::vector<std::size_t>& extra_persistent = {}, const PatchPlan* patch = nullptr);

// The same plan for a given execution order (node indices, a topological order), without the
// search over orders: for comparing variants of one model in one order (quant/widen.cpp).
MemoryLayout plan_memory_in_order(const QGraph& graph, const Target& target, const std::vector<int>& order);

}  // namespace tinyq
