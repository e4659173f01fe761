// Horizontal reductions shared by the AVX2 kernel files. Include only from translation units
// compiled with AVX2 flags; the unnamed namespace keeps each file's copy its own.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace qforge::kernels {
namespace {

// The sum of the eight int32 lanes (exact, so the order does not matter).
inline int32_t hsum8_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

}  // namespace
}  // namespace qforge::kernels
