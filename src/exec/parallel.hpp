#pragma once
// Parallelism helpers of the executors.
//  - for_each_sample: spread `count` samples over `threads` workers in small chunks (dynamic
//    scheduling: the machine is shared, so static splits straggle). `work(thread, sample)` runs
//    on workers; the first exception any worker throws is rethrown here after all have stopped.
//  - WorkerPool: helper threads kept alive between calls, to split one op of a single-sample
//    call over the cores (intra-op parallelism).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
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

// Threads that wait for work between calls. Starting a thread costs tens of microseconds, as
// much as a whole convolution of one 28x28 image, so single-sample calls can only split ops over
// cores with threads that already exist. Helpers spin for a while after each job (a forward
// pass issues jobs microseconds apart; sleeping and waking would cost more than the op), then
// block. Tasks are claimed one at a time, the caller included: on a busy machine a helper the OS
// has not scheduled leaves its share to the others instead of stalling the call.
// run() is for one caller at a time; f must not throw.
class WorkerPool {
 public:
  explicit WorkerPool(int workers) {
    for (int i = 1; i < workers; ++i) helpers_.emplace_back([this] { helper(); });
  }
  ~WorkerPool() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
      state_.store((generation(state_.load()) + 1) << kGenerationShift, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto& t : helpers_) t.join();
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int workers() const { return int(helpers_.size()) + 1; }

  // Calls f(task) for every task in [0, tasks) (tasks < 2^20), spread over the caller and the
  // helpers; returns when all calls have returned.
  template <typename F>
  void run(int tasks, F& f) {
    job_ = [](void* ctx, int task) { (*static_cast<F*>(ctx))(task); };
    ctx_ = &f;
    finished_.store(0, std::memory_order_relaxed);
    const std::uint64_t job = ((generation(state_.load(std::memory_order_relaxed)) + 1) << kGenerationShift) |
                              (std::uint64_t(tasks) << kIndexBits);
    {
      std::lock_guard lock(mutex_);  // pairs with the helpers' wait: no lost wake-up
      state_.store(job, std::memory_order_release);
    }
    if (sleepers_.load(std::memory_order_acquire) > 0) wake_.notify_all();
    work(job);
    for (int spins = 0; finished_.load(std::memory_order_acquire) != tasks; ++spins) relax(spins);
  }

 private:
  // state_ packs generation | task count | next task into one word, so a task is only ever
  // claimed together with the job it belongs to (job_ and ctx_ stay valid until it finishes).
  static constexpr int kIndexBits = 20;
  static constexpr int kGenerationShift = 2 * kIndexBits;
  static constexpr std::uint64_t kIndexMask = (std::uint64_t(1) << kIndexBits) - 1;
  static std::uint64_t generation(std::uint64_t s) { return s >> kGenerationShift; }
  static std::uint64_t task_count(std::uint64_t s) { return (s >> kIndexBits) & kIndexMask; }
  static std::uint64_t next_task(std::uint64_t s) { return s & kIndexMask; }

  static void relax(int spins) {
    if (spins < 4096) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else {
      std::this_thread::yield();  // whoever holds the last task was descheduled: give it the core
    }
  }

  // Claims and runs tasks of the job in `s` until none is left.
  void work(std::uint64_t s) {
    while (next_task(s) < task_count(s)) {
      if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        job_(ctx_, int(next_task(s)));
        finished_.fetch_add(1, std::memory_order_release);
        s = state_.load(std::memory_order_acquire);
      }
    }
  }

  void helper() {
    using Clock = std::chrono::steady_clock;
    constexpr auto kSpinFor = std::chrono::microseconds(300);
    std::uint64_t seen = 0;  // generation of the last job looked at
    for (;;) {
      std::uint64_t s;
      auto spin_start = Clock::now();
      for (int spins = 0; generation(s = state_.load(std::memory_order_acquire)) == seen; ++spins) {
        if ((spins & 255) != 255 || Clock::now() - spin_start < kSpinFor) {
          relax(0);
          continue;
        }
        std::unique_lock lock(mutex_);
        sleepers_.fetch_add(1, std::memory_order_release);
        wake_.wait(lock, [&] { return generation(state_.load(std::memory_order_acquire)) != seen; });
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
        spin_start = Clock::now();
      }
      if (stop_) return;
      seen = generation(s);
      work(s);
    }
  }

  std::vector<std::thread> helpers_;
  std::atomic<std::uint64_t> state_{0};
  std::atomic<int> finished_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  void (*job_)(void*, int) = nullptr;
  void* ctx_ = nullptr;
  std::mutex mutex_;
  std::condition_variable wake_;
};

}  // namespace tinyq
