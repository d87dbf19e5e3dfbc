// The arena planner: valid placements, never worse than TFLM's greedy-by-size, and at the
// lower bound where a simple argument says it must be.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>

#include "codegen/memory_planner.hpp"

namespace tinyq {
namespace {

TEST(LiveLowerBound, IsTheLargestSumOfBuffersAliveAtOneStep) {
  std::vector<BufferRequest> b = {{"a", 100, 0, 1}, {"b", 50, 1, 2}, {"c", 70, 2, 3}, {"d", 10, 3, 3}};
  EXPECT_EQ(live_lower_bound(b), 150u);  // step 1: a + b; step 2: b + c = 120; step 3: c + d = 80
}

TEST(GreedyBySize, PlacesLargestFirstAtTheLowestFittingOffset) {
  std::vector<BufferRequest> b = {{"small", 10, 0, 0}, {"big", 100, 0, 1}, {"mid", 50, 1, 2}};
  ArenaPlan p = plan_greedy_by_size(b);
  EXPECT_EQ(p.offsets[1], 0u);    // big first, at 0
  EXPECT_EQ(p.offsets[2], 100u);  // mid conflicts with big
  EXPECT_EQ(p.offsets[0], 100u);  // small conflicts with big only
  EXPECT_EQ(p.arena_bytes, 150u);
  check_plan(b, p);
}

// A chain of layers: each buffer lives from its producer to its consumer. Two buffers are
// alive at a time, so the lower bound is the largest neighbouring pair.
TEST(PlanArena, ReachesTheLowerBoundOnAChain) {
  std::vector<BufferRequest> b;
  const std::size_t sizes[] = {784, 12544, 3136, 6272, 1568, 3136, 512, 40};
  for (int i = 0; i < 8; ++i) b.push_back({fmt::format("t{}", i), sizes[i], i, i + 1});
  ArenaPlan p = plan_arena(b);
  EXPECT_EQ(p.arena_bytes, live_lower_bound(b));
}

// Greedy by size puts the two large buffers side by side, then has no room below them for
// the one that outlives both; ordering by lifetime does.
TEST(PlanArena, BeatsGreedyBySizeWhereSizeOrderMisleads) {
  std::vector<BufferRequest> b = {
      {"long", 40, 0, 4}, {"x", 60, 0, 1}, {"y", 60, 2, 3}, {"z", 50, 1, 2}, {"w", 30, 3, 4}};
  ArenaPlan greedy = plan_greedy_by_size(b), ours = plan_arena(b);
  check_plan(b, greedy);
  EXPECT_LE(ours.arena_bytes, greedy.arena_bytes);
  EXPECT_EQ(ours.arena_bytes, live_lower_bound(b));
}

TEST(PlanArena, IsValidAndNeverWorseThanGreedyOnRandomProblems) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<BufferRequest> b;
    const int steps = 2 + int(rng() % 20), count = 1 + int(rng() % 30);
    for (int i = 0; i < count; ++i) {
      int first = int(rng() % unsigned(steps)), last = first + int(rng() % 4);
      b.push_back({fmt::format("b{}", i), 4 * (1 + rng() % 64), first, last});
    }
    ArenaPlan ours = plan_arena(b), greedy = plan_greedy_by_size(b);
    check_plan(b, ours);
    check_plan(b, greedy);
    EXPECT_GE(ours.arena_bytes, live_lower_bound(b));
    EXPECT_LE(ours.arena_bytes, greedy.arena_bytes) << "trial " << trial;
  }
}

TEST(PlanArena, ZeroSizedBuffersTakeNoRoom) {
  std::vector<BufferRequest> b = {{"a", 16, 0, 1}, {"empty", 0, 0, 1}, {"b", 16, 1, 2}};
  EXPECT_EQ(plan_arena(b).arena_bytes, 32u);
}

TEST(CheckPlan, RejectsOverlappingLiveBuffers) {
  std::vector<BufferRequest> b = {{"a", 16, 0, 1}, {"b", 16, 1, 2}};
  ArenaPlan bad{{0, 8}, 24, "hand-made"};
  EXPECT_ANY_THROW(check_plan(b, bad));
}

}  // namespace
}  // namespace tinyq
