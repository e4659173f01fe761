// The byte dot product that the x86 integer tiles are written over, one policy per way the
// hardware computes it: each int32 lane of dot(u, s) is the sum of four adjacent products of
// unsigned bytes u and signed bytes s (lane k: bytes 4k..4k+3).
//   MaddubsDot (AVX2): maddubs then madd with ones — exact while no pair of products leaves
//     int16, which each caller's operands guarantee.
//   VnniDot (AVX512-VL + VNNI) and AvxVnniDot (AVX-VNNI: Alder Lake and later, Zen 5): one
//     vpdpbusd, no int16 step — the same instruction in its EVEX and its VEX encoding.
// dot_add(acc, u, s) = acc + dot(u, s); dot4 sums four register pairs (on AVX2 the four int16
// pair sums too, so the caller bounds them); madd_add(acc, p, m) = acc + madd(p, m), int16 pairs
// times int16 multipliers into int32 (vpdpwssd on VNNI). kFused: whether dot_add is one
// instruction (then the super-block tiles accumulate int32 lanes where AVX2 keeps int16 pairs).
// kAnyByte: whether u may be any byte 0..255 (no int16 step to saturate); then signed weights q
// go in as the bytes q + 128 and −128·Σ a starts the accumulator, where AVX2 takes |q| and the
// activations' signs flipped by q's (one instruction per row and one per row and token saved).
// Include only from files compiled with AVX2 flags or more; a policy's functions compile only
// where its instructions are enabled, and the unnamed namespace keeps each file's copy its own.
#pragma once

#include <immintrin.h>

namespace qforge::kernels {
namespace {

struct MaddubsDot {
  static constexpr bool kFused = false, kAnyByte = false;
  static __m256i dot(__m256i u, __m256i s) { return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)); }
  static __m256i dot_add(__m256i acc, __m256i u, __m256i s) { return _mm256_add_epi32(acc, dot(u, s)); }
  static __m256i madd_add(__m256i acc, __m256i p, __m256i m) { return _mm256_add_epi32(acc, _mm256_madd_epi16(p, m)); }
  static __m256i dot4(__m256i u0, __m256i u1, __m256i u2, __m256i u3, const __m256i* s) {
    const __m256i p01 = _mm256_add_epi16(_mm256_maddubs_epi16(u0, _mm256_load_si256(s)), _mm256_maddubs_epi16(u1, _mm256_load_si256(s + 1)));
    const __m256i p23 = _mm256_add_epi16(_mm256_maddubs_epi16(u2, _mm256_load_si256(s + 2)), _mm256_maddubs_epi16(u3, _mm256_load_si256(s + 3)));
    return _mm256_madd_epi16(_mm256_add_epi16(p01, p23), _mm256_set1_epi16(1));
  }
};

// The two encodings of the 256-bit VNNI instructions.
struct EvexVnni {  // AVX512-VL + VNNI: 32 ymm registers
  static __m256i dpbusd(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(acc, u, s); }
  static __m256i dpwssd(__m256i acc, __m256i p, __m256i m) { return _mm256_dpwssd_epi32(acc, p, m); }
};
struct VexVnni {  // AVX-VNNI: 16 ymm registers
  static __m256i dpbusd(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_avx_epi32(acc, u, s); }
  static __m256i dpwssd(__m256i acc, __m256i p, __m256i m) { return _mm256_dpwssd_avx_epi32(acc, p, m); }
};

// dot4 chains its four products through one accumulator.
template <class Encoding>
struct VnniDotOf {
  static constexpr bool kFused = true, kAnyByte = true;
  static __m256i dot(__m256i u, __m256i s) { return Encoding::dpbusd(_mm256_setzero_si256(), u, s); }
  static __m256i dot_add(__m256i acc, __m256i u, __m256i s) { return Encoding::dpbusd(acc, u, s); }
  static __m256i madd_add(__m256i acc, __m256i p, __m256i m) { return Encoding::dpwssd(acc, p, m); }
  static __m256i dot4(__m256i u0, __m256i u1, __m256i u2, __m256i u3, const __m256i* s) {
    __m256i acc = Encoding::dpbusd(_mm256_setzero_si256(), u0, _mm256_load_si256(s));
    acc = Encoding::dpbusd(acc, u1, _mm256_load_si256(s + 1));
    acc = Encoding::dpbusd(acc, u2, _mm256_load_si256(s + 2));
    return Encoding::dpbusd(acc, u3, _mm256_load_si256(s + 3));
  }
};
using VnniDot = VnniDotOf<EvexVnni>;
using AvxVnniDot = VnniDotOf<VexVnni>;

}  // namespace
}  // namespace qforge::kernels
