// Measured memory read bandwidth: the ceiling for decode, where every weight is read once
// per token. A single sequential stream understates it on these machines: reading several
// rows 16 KB apart, a cache line from each in turn (as a GEMV does), keeps more misses in
// flight (measured 22 vs 17 GB/s on one thread). The ceiling is the best of those patterns.
#pragma once

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

#include "timing.h"

namespace qforge::bench {

// GB/s reading `bytes` with `threads` threads, each reading its share in groups of `rows`
// rows of 16 KB, one 64-byte line of each row in turn (median of several passes).
inline double read_bandwidth_rows_gbs(size_t bytes, int threads, size_t rows) {
  constexpr size_t kRow = 16384 / sizeof(uint64_t), kLine = 64 / sizeof(uint64_t);
  const size_t n = bytes / sizeof(uint64_t) / (kRow * rows * static_cast<size_t>(threads)) * (kRow * rows * static_cast<size_t>(threads));
  std::vector<uint64_t> buf(n, 1);
  std::vector<uint64_t> sums(static_cast<size_t>(threads));
  auto pass = [&] {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        const size_t b = n * static_cast<size_t>(t) / static_cast<size_t>(threads);
        const size_t e = n * static_cast<size_t>(t + 1) / static_cast<size_t>(threads);
        uint64_t s[kLine] = {};
        for (size_t g = b; g < e; g += kRow * rows)
          for (size_t i = 0; i < kRow; i += kLine)
            for (size_t r = 0; r < rows; ++r)
              for (size_t j = 0; j < kLine; ++j) s[j] += buf[g + r * kRow + i + j];
        uint64_t total = 0;
        for (uint64_t v : s) total += v;
        sums[static_cast<size_t>(t)] = total;
      });
    for (auto& th : pool) th.join();
  };
  const double s = median_seconds(pass, 5);
  volatile uint64_t keep = sums[0];
  (void)keep;
  return static_cast<double>(n * sizeof(uint64_t)) / s / 1e9;
}

// The best of a sequential read and reads of 4 and 8 interleaved rows.
inline double read_bandwidth_gbs(size_t bytes, int threads) {
  double best = 0;
  for (const size_t rows : {size_t{1}, size_t{4}, size_t{8}}) best = std::max(best, read_bandwidth_rows_gbs(bytes, threads, rows));
  return best;
}

}  // namespace qforge::bench
