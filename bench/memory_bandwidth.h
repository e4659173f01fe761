// Measured memory read bandwidth: the ceiling for decode, where every weight is read once
// per token.
#pragma once

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

#include "timing.h"

namespace qforge::bench {

// GB/s reading `bytes` of memory with `threads` threads (median of several passes).
inline double read_bandwidth_gbs(size_t bytes, int threads) {
  const size_t n = bytes / sizeof(uint64_t);
  std::vector<uint64_t> buf(n, 1);
  std::vector<uint64_t> sums(static_cast<size_t>(threads));
  auto pass = [&] {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        const size_t b = n * static_cast<size_t>(t) / static_cast<size_t>(threads);
        const size_t e = n * static_cast<size_t>(t + 1) / static_cast<size_t>(threads);
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        size_t i = b;
        for (; i + 4 <= e; i += 4) {
          s0 += buf[i];
          s1 += buf[i + 1];
          s2 += buf[i + 2];
          s3 += buf[i + 3];
        }
        for (; i < e; ++i) s0 += buf[i];
        sums[static_cast<size_t>(t)] = s0 + s1 + s2 + s3;
      });
    for (auto& th : pool) th.join();
  };
  const double s = median_seconds(pass, 5);
  volatile uint64_t keep = sums[0];
  (void)keep;
  return static_cast<double>(n * sizeof(uint64_t)) / s / 1e9;
}

}  // namespace qforge::bench
