// AVX2 w8a8 kernels (compiled with AVX2 flags only). The GEMM widens 16 int8 weights to int16
// and multiplies them with 16 activation codes by madd (exact int16 × int16 → int32 pair sums):
// the same multiply count per instruction as maddubs + madd, with no int16 saturation to avoid,
// so every activation range (symmetric int8, static unsigned 0..255) runs on one path. 7-bit
// codes (gemm_u8: bytes below 128 here) take maddubs itself: no widening, 32 products per
// multiply instruction.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "kernels/w8a8/w8a8_kernels.h"
#include "kernels/w8a8/x86_avx2_tile.h"

namespace qforge::kernels {
namespace {

// The int16 codes' policy (the tile's contract: x86_avx2_tile.h).
// Wide16: 16 int8 weights widened to int16, madd with 16 int16 codes — any code −255..255.
struct Wide16 {
  using Args = I8GemmArgs;
  using Code = int16_t;
  static constexpr int kStep = 16;
  static __m256i weights(const int8_t* p) { return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static __m256i codes(const int16_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static __m256i dot_add(__m256i acc, __m256i w, __m256i x) { return _mm256_add_epi32(acc, _mm256_madd_epi16(w, x)); }
};

void gemm_avx2(const I8GemmArgs& a) { w8a8::blocked_gemm<TileOf<Wide16>::Tile, 2>(a); }

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

W8A8Kernels w8a8_kernels_avx2() { return {Isa::Avx2, gemm_avx2, gemm_u8_on<MaddubsDot>, amax_avx2, quantize_avx2, 128}; }

}  // namespace qforge::kernels
