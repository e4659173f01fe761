#include "engine/thread_pool.h"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace qforge::engine {
namespace {

constexpr auto kSpin = std::chrono::microseconds(50);

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

std::pair<int64_t, int64_t> range_of(int64_t n, int parts, int index) {
  const int64_t chunk = (n + parts - 1) / parts;
  const int64_t begin = std::min(n, chunk * index);
  return {begin, std::min(n, begin + chunk)};
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < std::max(1, threads); ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

// The sleeper announces itself (seq_cst) before re-checking pred under the mutex; the waker
// changes the state (seq_cst) before reading the announcement. One of the two must see the
// other's write, so a wake-up is never lost, and wakers skip the mutex when nobody sleeps.
template <class Pred>
void ThreadPool::wait_for(std::condition_variable& cv, std::atomic<int>& sleepers, Pred pred) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0; !pred(); ++i) {
    cpu_relax();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) {
      std::unique_lock<std::mutex> lock(mu_);
      sleepers.fetch_add(1);
      cv.wait(lock, pred);
      sleepers.fetch_sub(1);
      return;
    }
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (workers_.empty() || n < 2) {
    fn(0, n);
    return;
  }
  job_ = &fn;
  n_ = n;
  pending_.store(static_cast<int>(workers_.size()));
  generation_.fetch_add(1);  // publishes job_ and n_
  if (worker_sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    wake_.notify_all();
  }
  const auto [b, e] = range_of(n, size(), 0);
  if (b < e) fn(b, e);
  wait_for(done_, caller_sleeping_, [this] { return pending_.load() == 0; });
}

void ThreadPool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    wait_for(wake_, worker_sleepers_, [&] { return stop_.load() || generation_.load() != seen; });
    if (stop_.load()) return;
    seen = generation_.load();
    const auto [b, e] = range_of(n_, size(), index);
    if (b < e) (*job_)(b, e);
    if (pending_.fetch_sub(1) == 1 && caller_sleeping_.load() > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      done_.notify_one();
    }
  }
}

}  // namespace qforge::engine
