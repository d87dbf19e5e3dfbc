#include "codegen/memory_planner.hpp"

#include <algorithm>
#include <numeric>

#include "util/error.hpp"

namespace tinyq {

namespace {

bool lifetimes_overlap(const BufferRequest& a, const BufferRequest& b) {
  return a.first_step <= b.last_step && b.first_step <= a.last_step;
}

struct Placed {
  std::size_t offset, end;
};

// The offset for `bytes` among `busy` (the placed buffers it conflicts with, any order).
// First fit takes the lowest gap that is large enough; best fit the smallest such gap,
// the top of the arena counting as a gap only when nothing else fits.
std::size_t find_offset(std::vector<Placed>& busy, std::size_t bytes, bool best_fit) {
  std::sort(busy.begin(), busy.end(), [](const Placed& a, const Placed& b) { return a.offset < b.offset; });
  std::size_t cursor = 0, best = SIZE_MAX, best_gap = SIZE_MAX;
  for (const Placed& p : busy) {
    if (p.offset >= cursor && p.offset - cursor >= bytes) {
      if (!best_fit) return cursor;
      if (p.offset - cursor < best_gap) best_gap = p.offset - cursor, best = cursor;
    }
    cursor = std::max(cursor, p.end);
  }
  return best != SIZE_MAX ? best : cursor;
}

ArenaPlan place_in_order(const std::vector<BufferRequest>& buffers, const std::vector<std::size_t>& order,
                         bool best_fit, std::string method) {
  ArenaPlan plan;
  plan.method = std::move(method);
  plan.offsets.assign(buffers.size(), 0);
  std::vector<bool> placed(buffers.size(), false);
  std::vector<Placed> busy;
  for (std::size_t i : order) {
    busy.clear();
    for (std::size_t j = 0; j < buffers.size(); ++j)
      if (placed[j] && lifetimes_overlap(buffers[i], buffers[j]))
        busy.push_back({plan.offsets[j], plan.offsets[j] + buffers[j].bytes});
    plan.offsets[i] = buffers[i].bytes == 0 ? 0 : find_offset(busy, buffers[i].bytes, best_fit);
    placed[i] = true;
    plan.arena_bytes = std::max(plan.arena_bytes, plan.offsets[i] + buffers[i].bytes);
  }
  return plan;
}

std::vector<std::size_t> sorted_order(const std::vector<BufferRequest>& buffers, auto&& before) {
  std::vector<std::size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return before(buffers[a], buffers[b]); });
  return order;
}

// Exact search: place buffers one by one (in decreasing size), trying every "left-aligned"
// offset (0 or the end of a conflicting placed buffer), pruning branches that cannot beat
// the best arena found. Bounded by a node budget; returns false if the budget ran out.
struct ExactSearch {
  const std::vector<BufferRequest>& buffers;
  std::vector<std::size_t> order;
  std::vector<std::size_t> offsets, best_offsets;
  std::size_t best = SIZE_MAX, lower_bound = 0;
  long budget = 200000;

  void run(std::size_t k, std::size_t height) {
    if (height >= best || budget-- <= 0) return;
    if (k == order.size()) {
      best = height;
      best_offsets = offsets;
      return;
    }
    const std::size_t i = order[k];
    std::vector<std::size_t> candidates{0};
    for (std::size_t m = 0; m < k; ++m)
      if (lifetimes_overlap(buffers[i], buffers[order[m]]))
        candidates.push_back(offsets[order[m]] + buffers[order[m]].bytes);
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    for (std::size_t c : candidates) {
      bool fits = true;
      for (std::size_t m = 0; m < k && fits; ++m) {
        const std::size_t j = order[m];
        if (lifetimes_overlap(buffers[i], buffers[j]) && c < offsets[j] + buffers[j].bytes &&
            offsets[j] < c + buffers[i].bytes)
          fits = false;
      }
      if (!fits) continue;
      offsets[i] = c;
      run(k + 1, std::max(height, c + buffers[i].bytes));
      if (best == lower_bound || budget <= 0) return;
    }
  }
};

}  // namespace

std::size_t live_lower_bound(const std::vector<BufferRequest>& buffers) {
  int last = 0;
  for (const auto& b : buffers) last = std::max(last, b.last_step);
  std::size_t bound = 0;
  for (int step = 0; step <= last; ++step) {
    std::size_t live = 0;
    for (const auto& b : buffers)
      if (b.first_step <= step && step <= b.last_step) live += b.bytes;
    bound = std::max(bound, live);
  }
  return bound;
}

ArenaPlan plan_greedy_by_size(const std::vector<BufferRequest>& buffers) {
  // TFLM sorts by size, largest first (ties keep their original order), then first fit.
  auto order = sorted_order(buffers, [](const BufferRequest& a, const BufferRequest& b) { return a.bytes > b.bytes; });
  return place_in_order(buffers, order, false, "greedy by size (TFLM)");
}

ArenaPlan plan_arena(const std::vector<BufferRequest>& buffers) {
  const std::size_t bound = live_lower_bound(buffers);
  auto life = [](const BufferRequest& b) { return b.last_step - b.first_step; };
  std::vector<std::pair<std::string, std::vector<std::size_t>>> orders = {
      {"size", sorted_order(buffers, [](const BufferRequest& a, const BufferRequest& b) { return a.bytes > b.bytes; })},
      {"lifetime",
       sorted_order(buffers, [&](const BufferRequest& a, const BufferRequest& b) { return life(a) > life(b); })},
      {"area", sorted_order(buffers,
                            [&](const BufferRequest& a, const BufferRequest& b) {
                              return a.bytes * std::size_t(life(a) + 1) > b.bytes * std::size_t(life(b) + 1);
                            })},
      {"start", sorted_order(buffers, [](const BufferRequest& a,
                                         const BufferRequest& b) { return a.first_step < b.first_step; })},
  };
  ArenaPlan best;
  best.arena_bytes = SIZE_MAX;
  for (const auto& [name, order] : orders)
    for (bool best_fit : {false, true}) {
      ArenaPlan p = place_in_order(buffers, order, best_fit, name + (best_fit ? ", best fit" : ", first fit"));
      if (p.arena_bytes < best.arena_bytes) best = std::move(p);
    }
  if (best.arena_bytes > bound && buffers.size() <= 400) {
    ExactSearch search{buffers, orders[0].second, std::vector<std::size_t>(buffers.size(), 0),
                       {},      best.arena_bytes, bound};
    search.run(0, 0);
    if (!search.best_offsets.empty() && search.best < best.arena_bytes) {
      best.offsets = search.best_offsets;
      best.arena_bytes = search.best;
      best.method = "exact search";
    }
  }
  check_plan(buffers, best);
  return best;
}

void check_plan(const std::vector<BufferRequest>& buffers, const ArenaPlan& plan) {
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    if (plan.offsets[i] + buffers[i].bytes > plan.arena_bytes)
      fail(buffers[i].name, "internal error: buffer placed outside the arena");
    for (std::size_t j = i + 1; j < buffers.size(); ++j)
      if (buffers[i].bytes && buffers[j].bytes && lifetimes_overlap(buffers[i], buffers[j]) &&
          plan.offsets[i] < plan.offsets[j] + buffers[j].bytes && plan.offsets[j] < plan.offsets[i] + buffers[i].bytes)
        fail(buffers[i].name, "internal error: overlaps {} in the arena plan", buffers[j].name);
  }
}

}  // namespace tinyq
