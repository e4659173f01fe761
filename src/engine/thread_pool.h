// A small persistent thread pool. Waiting threads spin briefly (a few tens of microseconds —
// decode issues thousands of short jobs a second, and a condition-variable wake-up costs about
// as much as a small job), then sleep on a condition variable: these machines are 2 shared
// vCPUs, and a pool that only spins collapses as soon as anything else runs. Work is split into
// fixed contiguous ranges, so results never depend on timing; callers make them independent
// of the thread count too.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace qforge::engine {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  // Calls fn(begin, end) on disjoint ranges covering [0, n), one per thread; returns when all are done.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker(int index);
  // Spins until pred() or the spin budget is spent; then sleeps on cv until pred().
  template <class Pred>
  void wait_for(std::condition_variable& cv, std::atomic<int>& sleepers, Pred pred);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  std::atomic<int> worker_sleepers_{0}, caller_sleeping_{0};
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;  // published by generation_
  int64_t n_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace qforge::engine
