// AVX2 w8a8 kernels (compiled with AVX2 flags only). The GEMM widens 16 int8 weights to int16
// and multiplies them with 16 activation codes by madd (exact int16 × int16 → int32 pair sums):
// the same multiply count per instruction as maddubs + madd, with no int16 saturation to avoid,
// so every activation range (symmetric int8, static unsigned 0..255) runs on one path. 7-bit
// codes (gemm_u8: bytes below 128 here) take maddubs itself: no widening, 32 products per
// multiply instruction.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "kernels/w8a8/gemm_blocking.h"
#include "kernels/w8a8/w8a8_kernels.h"
#include "kernels/x86_avx2_reduce.h"

namespace qforge::kernels {
namespace {

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

// How a tile multiplies, per step of depth: kStep weights of a row (`weights`) against kStep
// codes of a token (`codes`), their products summed into 8 int32 lanes (`dot`).
// Wide16: 16 int8 weights widened to int16, madd with 16 int16 codes — any code −255..255.
struct Wide16 {
  using Args = I8GemmArgs;
  using Code = int16_t;
  static constexpr int kStep = 16;
  static __m256i weights(const int8_t* p) { return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static __m256i codes(const int16_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static __m256i dot(__m256i w, __m256i x) { return _mm256_madd_epi16(w, x); }
};
// Bytes7: 32 int8 weights and 32 codes 0..127 in one maddubs (pair sums ≤ 2·127·128 fit int16),
// widened into int32 by madd with ones.
struct Bytes7 {
  using Args = U8GemmArgs;
  using Code = uint8_t;
  static constexpr int kStep = 32;
  static __m256i weights(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static __m256i codes(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static __m256i dot(__m256i w, __m256i x) { return _mm256_madd_epi16(_mm256_maddubs_epi16(x, w), _mm256_set1_epi16(1)); }
};

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
      s0 = _mm256_add_epi32(s0, P::dot(wv, x0));
      s1 = _mm256_add_epi32(s1, P::dot(wv, x1));
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
          for (int r = 0; r < R; ++r) acc[r][t] = _mm256_add_epi32(acc[r][t], P::dot(wv[r], xv));
        }
      }
      store_sums(a, r0, t0, k0, j, kc, acc);
    }
  };
};

void gemm_avx2(const I8GemmArgs& a) { w8a8::blocked_gemm<TileOf<Wide16>::Tile, 2>(a); }
void gemm_u8_avx2(const U8GemmArgs& a) { w8a8::blocked_gemm<TileOf<Bytes7>::Tile, 2>(a); }

float amax_avx2(const float* x, int64_t k) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= k; j += 8) m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)), m);  // NaN lane keeps m
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, m);
  float r = 0;
  for (const float v : lanes) r = std::max(r, v);
  for (; j < k; ++j) r = std::max(r, std::fabs(x[j]));
  return r;
}

// Four elements at a time in double, as the spec divides: the quotient and its rounding are
// exact IEEE operations, so the codes equal the scalar loop's.
void quantize_avx2(const float* x, int64_t k, float s, int16_t* q) {
  const __m256d sd = _mm256_set1_pd(static_cast<double>(s)), lo = _mm256_set1_pd(-127.0), hi = _mm256_set1_pd(127.0);
  int64_t j = 0;
  for (; j + 8 <= k; j += 8) {
    __m128i half[2];
    for (int h = 0; h < 2; ++h) {
      __m256d v = _mm256_div_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + j + 4 * h)), sd);
      v = _mm256_round_pd(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      v = _mm256_and_pd(v, _mm256_cmp_pd(v, v, _CMP_ORD_Q));  // NaN → 0
      half[h] = _mm256_cvtpd_epi32(_mm256_min_pd(_mm256_max_pd(v, lo), hi));
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + j), _mm_packs_epi32(half[0], half[1]));
  }
  for (; j < k; ++j) q[j] = round_code(static_cast<double>(x[j]) / static_cast<double>(s));
}

}  // namespace

W8A8Kernels w8a8_kernels_avx2() { return {Isa::Avx2, gemm_avx2, gemm_u8_avx2, amax_avx2, quantize_avx2, 128}; }

}  // namespace qforge::kernels
