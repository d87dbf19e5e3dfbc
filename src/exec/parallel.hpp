#pragma once
// Spread `count` samples over `threads` workers in small chunks (dynamic scheduling: the
// machine is shared, so static splits straggle). `work(thread, sample)` runs on workers;
// the first exception any worker throws is rethrown here after all have stopped.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

namespace tinyq {

template <typename Setup, typename Work>
void for_each_sample(std::int64_t count, int threads, Setup setup, Work work) {
  const int workers = int(std::clamp<std::int64_t>(count, 1, std::max(1, threads)));
  std::atomic<std::int64_t> next{0};
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(workers));
  auto run = [&](int thread) {
    try {
      auto state = setup(thread);
      constexpr std::int64_t kChunk = 4;
      for (std::int64_t first; (first = next.fetch_add(kChunk)) < count;)
        for (std::int64_t s = first; s < std::min(count, first + kChunk); ++s) work(thread, state, s);
    } catch (...) {
      errors[static_cast<std::size_t>(thread)] = std::current_exception();
      next = count;  // stop the others early
    }
  };
  if (workers == 1) {
    run(0);
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < workers; ++t) pool.emplace_back(run, t);
    for (auto& t : pool) t.join();
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace tinyq
