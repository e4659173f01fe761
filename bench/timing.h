// Timing for the benchmark programs: the median of several runs, so that one noisy run on a
// shared machine does not decide the figure.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace qforge::bench {

template <class F>
double median_seconds(F&& fn, int runs = 7) {
  fn();  // warm caches and page in buffers
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const auto a = std::chrono::steady_clock::now();
    fn();
    const auto b = std::chrono::steady_clock::now();
    t.push_back(std::chrono::duration<double>(b - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace qforge::bench
