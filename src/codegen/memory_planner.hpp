#pragma once
// Offline placement of buffers in one static arena.
//
// A buffer occupies [offset, offset + bytes) from the step that produces it to the step
// that last reads it (both inclusive). Two buffers whose lifetimes overlap must not overlap
// in memory; that is the whole problem (dynamic storage allocation, NP-hard in general, but
// small and structured for neural networks).
//
// Three figures matter:
//  - the lower bound: the largest sum of sizes of buffers alive at one step (no placement
//    can do better);
//  - TFLM's GreedyMemoryPlanner: buffers by decreasing size, each at the lowest offset that
//    fits between the already placed buffers it conflicts with (implemented here as the
//    comparison the issue asks for);
//  - tinyq's planner: several orderings with first-fit and best-fit placement, then an exact
//    search when those miss the lower bound and the problem is small; the best result wins.
#include <cstddef>
#include <string>
#include <vector>

namespace tinyq {

struct BufferRequest {
  std::string name;
  std::size_t bytes = 0;
  int first_step = 0, last_step = 0;  // inclusive
};

struct ArenaPlan {
  std::vector<std::size_t> offsets;  // per request
  std::size_t arena_bytes = 0;
  std::string method;  // which ordering produced it
};

std::size_t live_lower_bound(const std::vector<BufferRequest>& buffers);
ArenaPlan plan_greedy_by_size(const std::vector<BufferRequest>& buffers);
ArenaPlan plan_arena(const std::vector<BufferRequest>& buffers);

// Throws (an internal error) if two conflicting buffers overlap or one exceeds the arena.
void check_plan(const std::vector<BufferRequest>& buffers, const ArenaPlan& plan);

}  // namespace tinyq
