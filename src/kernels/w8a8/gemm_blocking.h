// The w8a8 GEMM's loops around a register tile, written once for every ISA file. Each file
// supplies Tile<R, T>::run(a, r0, t0, k0, kc): out (+)= the R rows × T tokens of sums over
// depth [k0, k0 + kc) (assign when k0 = 0, add after), for R ≤ 4 and T ≤ its widest.
// Included only by the ISA files; the unnamed namespace keeps each one's copy compiled with its
// own flags (a shared inline copy could be the AVX-512 one on an AVX2-only CPU).
// Cache blocks, chosen by timing 4096×4096 × 512 tokens on the AVX2 machine class (235 GOP/s
// against 184 for 1024-deep blocks of 128 tokens): a 4-row group's whole rows (up to 8192
// deep) stay in L1 while a 16-token slice of activations (128 KB at k = 4096) is read from L2.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/w8a8/w8a8_kernels.h"

namespace qforge::kernels::w8a8 {
namespace {

constexpr int64_t kRowBlock = 64, kDepthBlock = 8192, kTokenBlock = 16;

// The leftover depth [j, kc) of one row and token, in scalar; then the sum into out.
template <class Args>
void finish_sum(const Args& a, int64_t row, int64_t tok, int64_t k0, int64_t j, int64_t kc, int32_t s) {
  const int8_t* w = a.w + row * a.ldw + k0;
  const auto* x = a.x + tok * a.ldx + k0;
  for (int64_t i = j; i < kc; ++i) s += int32_t{w[i]} * int32_t{x[i]};
  int32_t& o = a.out[tok * a.ldo + row];
  o = k0 == 0 ? s : o + s;
}

template <template <int, int> class Tile, int R, int T, class Args>
void tile_tokens(const Args& a, int64_t r0, int64_t t0, int64_t t1, int64_t k0, int64_t kc) {
  int64_t t = t0;
  for (; t + T <= t1; t += T) Tile<R, T>::run(a, r0, t, k0, kc);
  for (; t < t1; ++t) Tile<R, 1>::run(a, r0, t, k0, kc);
}

// Tiles of 4 rows × T tokens, leftover rows and tokens in narrower tiles of the same kind
// (Args: I8GemmArgs or U8GemmArgs).
template <template <int, int> class Tile, int T, class Args>
void blocked_gemm(const Args& a) {
  for (int64_t rb = 0; rb < a.rows; rb += kRowBlock) {
    const int64_t re = std::min(a.rows, rb + kRowBlock);
    for (int64_t k0 = 0; k0 < a.k; k0 += kDepthBlock) {
      const int64_t kc = std::min(kDepthBlock, a.k - k0);
      for (int64_t tb = 0; tb < a.n; tb += kTokenBlock) {
        const int64_t te = std::min(a.n, tb + kTokenBlock);
        int64_t r = rb;
        for (; r + 4 <= re; r += 4) tile_tokens<Tile, 4, T>(a, r, tb, te, k0, kc);
        switch (re - r) {
          case 3: tile_tokens<Tile, 3, T>(a, r, tb, te, k0, kc); break;
          case 2: tile_tokens<Tile, 2, T>(a, r, tb, te, k0, kc); break;
          case 1: tile_tokens<Tile, 1, T>(a, r, tb, te, k0, kc); break;
          default: break;
        }
      }
    }
  }
  if (a.k == 0)  // no depth: every sum is 0
    for (int64_t t = 0; t < a.n; ++t) std::fill_n(a.out + t * a.ldo, a.rows, 0);
}

}  // namespace
}  // namespace qforge::kernels::w8a8
