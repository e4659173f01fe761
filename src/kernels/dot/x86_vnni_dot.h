// The byte dot product of the integer tiles (MaddubsDot's contract, dot/x86_avx2_tiling.h) on
// 256-bit vpdpbusd (AVX512-VL + VNNI): each int32 lane the sum of four u8 × s8 products in one
// instruction, where AVX2 takes maddubs, madd and an add. Include only from files compiled with
// AVX-512 VNNI flags.
#pragma once

#include <immintrin.h>

namespace qforge::kernels {
namespace {

// dot4 chains its four products through one accumulator; madd_add is vpdpwssd.
struct VnniDot {
  static constexpr bool kFused = true;
  static __m256i dot(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }
  static __m256i dot_add(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(acc, u, s); }
  static __m256i madd_add(__m256i acc, __m256i p, __m256i m) { return _mm256_dpwssd_epi32(acc, p, m); }
  static __m256i dot4(__m256i u0, __m256i u1, __m256i u2, __m256i u3, const __m256i* s) {
    __m256i acc = _mm256_dpbusd_epi32(_mm256_setzero_si256(), u0, _mm256_load_si256(s));
    acc = _mm256_dpbusd_epi32(acc, u1, _mm256_load_si256(s + 1));
    acc = _mm256_dpbusd_epi32(acc, u2, _mm256_load_si256(s + 2));
    return _mm256_dpbusd_epi32(acc, u3, _mm256_load_si256(s + 3));
  }
};

}  // namespace
}  // namespace qforge::kernels
