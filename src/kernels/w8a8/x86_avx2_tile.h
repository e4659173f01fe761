// The AVX2-class w8a8 register tile, written once over how a step multiplies (the policy P):
// int8 weights × activation codes into int32 lanes, up to 4 rows × 2 tokens in the 16 ymm
// registers. AVX2 runs it on int16 codes (madd) and 7-bit bytes (maddubs), AVX-VNNI on any byte
// (vpdpbusd). Include only from ISA files (AVX2 flags or more); the unnamed namespace keeps each
// one's copy its own.
#pragma once

#include <immintrin.h>

#include "kernels/w8a8/gemm_blocking.h"
#include "kernels/w8a8/w8a8_kernels.h"
#include "kernels/x86_avx2_reduce.h"
#include "kernels/x86_byte_dot.h"

namespace qforge::kernels {
namespace {

// A policy P says how a tile multiplies, per step of depth: kStep weights of a row (`weights`)
// against kStep codes of a token (`codes`), their products summed into 8 int32 lanes added to
// acc (`dot_add(acc, w, x)`).
// Bytes<Dot>: 32 int8 weights and 32 byte codes in one byte dot product (kernels/x86_byte_dot.h):
// codes below 128 on AVX2's maddubs (pair sums ≤ 2·127·128 fit int16), any byte on vpdpbusd.
template <class Dot>
struct Bytes {
  using Args = U8GemmArgs;
  using Code = uint8_t;
  static constexpr int kStep = 32;
  static __m256i weights(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static __m256i codes(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static __m256i dot_add(__m256i acc, __m256i w, __m256i x) { return Dot::dot_add(acc, x, w); }
};

// A tile's sums into out (added to it past the first depth block), the depth [j, kc) in scalar.
template <int R, int T, class Args>
void store_sums(const Args& a, int64_t r0, int64_t t0, int64_t k0, int64_t j, int64_t kc, const __m256i (&acc)[R][T]) {
  if constexpr (R == 4) {
    if (j == kc) {  // the four rows' sums of a token as one vector: three hadds instead of four hsums
      for (int t = 0; t < T; ++t) {
        const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(acc[0][t], acc[1][t]), _mm256_hadd_epi32(acc[2][t], acc[3][t]));
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
        auto* o = reinterpret_cast<__m128i*>(a.out + (t0 + t) * a.ldo + r0);
        if (k0 != 0) s = _mm_add_epi32(s, _mm_loadu_si128(o));
        _mm_storeu_si128(o, s);
      }
      return;
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) w8a8::finish_sum(a, r0 + r, t0 + t, k0, j, kc, hsum8_i32(acc[r][t]));
}

// The main 4 × 2 tile's whole steps with its eight accumulators as named variables: GCC 12
// kept the array form's accumulators rotating through eight register copies per step (a
// scratch harness: 63 % → 70 % of the multiply pipes' peak on one core). Returns the depth done.
template <class P>
int64_t steps_4x2(const int8_t* const (&w)[4], const typename P::Code* const (&x)[2], int64_t kc, __m256i (&acc)[4][2]) {
  __m256i a00 = acc[0][0], a01 = acc[0][1], a10 = acc[1][0], a11 = acc[1][1];
  __m256i a20 = acc[2][0], a21 = acc[2][1], a30 = acc[3][0], a31 = acc[3][1];
  int64_t j = 0;
  for (; j + P::kStep <= kc; j += P::kStep) {
    const __m256i x0 = P::codes(x[0] + j), x1 = P::codes(x[1] + j);
    // row r's weights times both tokens, into that row's two accumulators
    const auto row = [&](int r, __m256i& s0, __m256i& s1) {
      const __m256i wv = P::weights(w[r] + j);
      s0 = P::dot_add(s0, wv, x0);
      s1 = P::dot_add(s1, wv, x1);
    };
    row(0, a00, a01);
    row(1, a10, a11);
    row(2, a20, a21);
    row(3, a30, a31);
  }
  acc[0][0] = a00, acc[0][1] = a01, acc[1][0] = a10, acc[1][1] = a11;
  acc[2][0] = a20, acc[2][1] = a21, acc[3][0] = a30, acc[3][1] = a31;
  return j;
}

// Register tile, up to 4 rows × 2 tokens: 8 int32 accumulators, 4 weight rows and one token's
// codes fit the 16 ymm registers (3×4 and 4×3 tiles spill and run slower, timed). Whole steps
// in registers, the rest scalar (gemm_blocking.h's finish_sum).
template <class P>
struct TileOf {
  template <int R, int T>
  struct Tile {
    static void run(const typename P::Args& a, int64_t r0, int64_t t0, int64_t k0, int64_t kc) {
      const int8_t* w[R];
      const typename P::Code* x[T];
      for (int r = 0; r < R; ++r) w[r] = a.w + (r0 + r) * a.ldw + k0;
      for (int t = 0; t < T; ++t) x[t] = a.x + (t0 + t) * a.ldx + k0;
      __m256i acc[R][T];
      for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_si256();
      int64_t j = 0;
      if constexpr (R == 4 && T == 2) j = steps_4x2<P>(w, x, kc, acc);
      for (; j + P::kStep <= kc; j += P::kStep) {
        __m256i wv[R];
        for (int r = 0; r < R; ++r) wv[r] = P::weights(w[r] + j);
        for (int t = 0; t < T; ++t) {
          const __m256i xv = P::codes(x[t] + j);
          for (int r = 0; r < R; ++r) acc[r][t] = P::dot_add(acc[r][t], wv[r], xv);
        }
      }
      store_sums(a, r0, t0, k0, j, kc, acc);
    }
  };
};

// gemm_u8 on Dot's byte dot product in the 4 × 2 tiles.
template <class Dot>
void gemm_u8_on(const U8GemmArgs& a) { w8a8::blocked_gemm<TileOf<Bytes<Dot>>::template Tile, 2>(a); }

// AVX-VNNI's table: AVX2's with gemm_u8 on Dot, which takes any byte (Dot is AvxVnniDot there;
// the kernel tests' twin takes VnniDot, the EVEX encoding).
template <class Dot>
W8A8Kernels avx_vnni_w8a8_table() {
  W8A8Kernels k = w8a8_kernels_avx2();
  k.isa = Isa::AvxVnni;
  k.gemm_u8 = gemm_u8_on<Dot>;
  k.u8_codes = 256;
  return k;
}

}  // namespace
}  // namespace qforge::kernels
