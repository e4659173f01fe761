// AVX-512 VNNI w8a8 GEMM (compiled with AVX-512 + VNNI flags only): the AVX2 kernel's widened
// int16 path on 32 lanes, with vpdpwssd doing madd and the int32 add in one instruction. Integer
// sums, so the result equals the spec bit for bit; amax and the quantizer are the AVX2 ones.
#include <immintrin.h>

#include <algorithm>

#include "kernels/w8a8/w8a8_kernels.h"

namespace qforge::kernels {
namespace {

// 4 rows × 4 tokens: 16 zmm accumulators, 4 widened weight rows and one token's codes of the 32
// registers; the same cache blocking as the AVX2 kernel.
constexpr int kRows = 4, kTokens = 4;
constexpr int64_t kRowBlock = 64, kDepthBlock = 8192, kTokenBlock = 16;

template <int R, int T>
void tile(const I8GemmArgs& a, int64_t r0, int64_t t0, int64_t k0, int64_t kc) {
  const int8_t* w[R];
  const int16_t* x[T];
  for (int r = 0; r < R; ++r) w[r] = a.w + (r0 + r) * a.ldw + k0;
  for (int t = 0; t < T; ++t) x[t] = a.x + (t0 + t) * a.ldx + k0;
  __m512i acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_si512();
  int64_t j = 0;
  for (; j + 32 <= kc; j += 32) {
    __m512i wv[R];
    for (int r = 0; r < R; ++r) wv[r] = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[r] + j)));
    for (int t = 0; t < T; ++t) {
      const __m512i xv = _mm512_loadu_si512(x[t] + j);
      for (int r = 0; r < R; ++r) acc[r][t] = _mm512_dpwssd_epi32(acc[r][t], wv[r], xv);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) {
      int32_t s = _mm512_reduce_add_epi32(acc[r][t]);
      for (int64_t i = j; i < kc; ++i) s += int32_t{w[r][i]} * int32_t{x[t][i]};
      int32_t& o = a.out[(t0 + t) * a.ldo + r0 + r];
      o = k0 == 0 ? s : o + s;
    }
}

template <int R>
void tile_tokens(const I8GemmArgs& a, int64_t r0, int64_t t0, int64_t t1, int64_t k0, int64_t kc) {
  int64_t t = t0;
  for (; t + kTokens <= t1; t += kTokens) tile<R, kTokens>(a, r0, t, k0, kc);
  for (; t < t1; ++t) tile<R, 1>(a, r0, t, k0, kc);
}

void gemm_avx512_vnni(const I8GemmArgs& a) {
  for (int64_t rb = 0; rb < a.rows; rb += kRowBlock) {
    const int64_t re = std::min(a.rows, rb + kRowBlock);
    for (int64_t k0 = 0; k0 < a.k; k0 += kDepthBlock) {
      const int64_t kc = std::min(kDepthBlock, a.k - k0);
      for (int64_t tb = 0; tb < a.n; tb += kTokenBlock) {
        const int64_t te = std::min(a.n, tb + kTokenBlock);
        int64_t r = rb;
        for (; r + kRows <= re; r += kRows) tile_tokens<kRows>(a, r, tb, te, k0, kc);
        switch (re - r) {
          case 3: tile_tokens<3>(a, r, tb, te, k0, kc); break;
          case 2: tile_tokens<2>(a, r, tb, te, k0, kc); break;
          case 1: tile_tokens<1>(a, r, tb, te, k0, kc); break;
          default: break;
        }
      }
    }
  }
  if (a.k == 0)
    for (int64_t t = 0; t < a.n; ++t) std::fill_n(a.out + t * a.ldo, a.rows, 0);
}

}  // namespace

W8A8Kernels w8a8_kernels_avx512_vnni() {
  W8A8Kernels k = w8a8_kernels_avx2();
  k.isa = Isa::Avx512;
  k.gemm = gemm_avx512_vnni;
  return k;
}

}  // namespace qforge::kernels
