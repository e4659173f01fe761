// The matmul tile for Q6_K in the four-row interleaved layout (dot_kernels.h's BlockQ6_Kx4),
// written once over the byte dot product `Dot` (kernels/x86_byte_dot.h). Per sub-block and group
// of four rows: two loads of low nibbles and one of top bits give four registers of 6-bit codes
// q (every row in each); registers 0 and 2 hold elements 0–15 of the sub-block, 1 and 3 elements
// 16–31, so their maddubs pair sums (|sum| ≤ 2·2·63·127 < 2^15) go through madd by the four rows'
// scales of those 16 elements, and the codes' offset comes off exactly as a third madd of the
// activations' quarter sums by −32·(scale pair). One convert and FMA by the activation scale
// per sub-block, one FMA by d per super-block. Include only from ISA files (AVX2 flags or
// more); the unnamed namespace keeps each one's copy its own.
#pragma once

#include <immintrin.h>

#include "kernels/dot/dot_kernels.h"
#include "kernels/dot/x86_avx2_tiling.h"

namespace qforge::kernels {
namespace {

// Prompt tiles in groups × tokens (AVX2: one thread in cache, 512 × 4096 × 128 tokens, Zen 4,
// GOP/s: 1×3 99, 1×4 113, 2×2 100, 2×3 117, 3×2 103; AVX-512 VNNI takes 2×4 as for Q4_K: 2×3
// 143, 2×4 154, 3×4 154, 2×6 162); decode four groups at once (four streams from memory).
constexpr int kQ6KGroups = 2, kQ6KTokens = 3, kQ6KDecodeGroups = 4;

// A group's sub-block j: its scales as madd's multipliers — of elements 0–15 (a) and 16–31 (b)
// of row l % 4 in both int16 halves of lane l — and −32 times the pair (a, b) of row l % 4 in
// lane l, the partner of the activations' quarter sums.
struct Q6KMultipliers {
  __m256i a, b, offset;
};

inline Q6KMultipliers q6_k_multipliers(const int8_t (&scales)[8]) {
  const __m128i s = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(scales));
  Q6KMultipliers m;
  m.a = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(s, _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 1, 1, 2, 2, 3, 3)));
  m.b = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(s, _mm_setr_epi8(4, 4, 5, 5, 6, 6, 7, 7, 4, 4, 5, 5, 6, 6, 7, 7)));
  const __m256i pairs = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(s, _mm_setr_epi8(0, 4, 1, 5, 2, 6, 3, 7, 0, 4, 1, 5, 2, 6, 3, 7)));
  m.offset = _mm256_slli_epi16(_mm256_sub_epi16(_mm256_setzero_si256(), pairs), 5);  // |−32·sc| ≤ 4096
  return m;
}

template <class Dot>
struct Q6KGroupTile {
  template <int R, int T>
  static void run(const GroupsOf<Matmul4Args>& g, int64_t g0, int64_t t0) {
    const Matmul4Args& m = g.m;
    const int64_t nsb = m.k / 256;
    const BlockQ6_Kx4* w[R];
    for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const BlockQ6_Kx4*>(m.w) + (g0 + r) * nsb;
    const BlockA8x4* a[T];
    for (int t = 0; t < T; ++t) a[t] = m.x + (t0 + t) * nsb * 8;
    const __m256i top2 = _mm256_set1_epi8(0x30);
    __m256 acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
    for (int64_t sb = 0; sb < nsb; ++sb) {
      __m256 inner[R][T];
      for (int r = 0; r < R; ++r) {
        // decode: the next tile's block, its head here and each sub-block's 96 bytes below
        if constexpr (T == 1) _mm_prefetch(reinterpret_cast<const char*>(w[r] + sb + R * nsb), _MM_HINT_T0);
        for (int t = 0; t < T; ++t) inner[r][t] = _mm256_setzero_ps();
      }
      for (int j = 0; j < 8; ++j) {
        __m256i quarters[T];
        __m256 da[T];
        for (int t = 0; t < T; ++t) {  // lane l: the quarter sums (elements 0–15, 16–31) of half l / 4
          const BlockA8x4& x = a[t][8 * sb + j];
          quarters[t] = _mm256_permutevar8x32_epi32(_mm256_castsi128_si256(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x.quarters))),
                                                    _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1));
          da[t] = _mm256_broadcast_ss(&x.d);
        }
        for (int r = 0; r < R; ++r) {
          const BlockQ6_Kx4::Sub& sub = w[r][sb].sub[j];
          if constexpr (T == 1) {  // the same sub-block R groups on
            const char* next = reinterpret_cast<const char*>(&sub) + R * nsb * static_cast<int64_t>(sizeof(BlockQ6_Kx4));
            _mm_prefetch(next, _MM_HINT_T0);
            _mm_prefetch(next + sizeof(sub) - 1, _MM_HINT_T0);
          }
          __m256i q[4];
          unpack_nibbles(sub.ql, q);
          const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sub.qh));  // register g's top bits at bits 2g
          const __m256i q0 = _mm256_or_si256(q[0], _mm256_and_si256(_mm256_slli_epi16(h, 4), top2));
          const __m256i q1 = _mm256_or_si256(q[1], _mm256_and_si256(_mm256_slli_epi16(h, 2), top2));
          const __m256i q2 = _mm256_or_si256(q[2], _mm256_and_si256(h, top2));
          const __m256i q3 = _mm256_or_si256(q[3], _mm256_and_si256(_mm256_srli_epi16(h, 2), top2));
          const Q6KMultipliers mult = q6_k_multipliers(w[r][sb].scales[j]);
          for (int t = 0; t < T; ++t) {
            const auto* xq = reinterpret_cast<const __m256i*>(a[t][8 * sb + j].qs);
            const __m256i p02 = _mm256_add_epi16(_mm256_maddubs_epi16(q0, _mm256_load_si256(xq)), _mm256_maddubs_epi16(q2, _mm256_load_si256(xq + 2)));
            const __m256i p13 = _mm256_add_epi16(_mm256_maddubs_epi16(q1, _mm256_load_si256(xq + 1)), _mm256_maddubs_epi16(q3, _mm256_load_si256(xq + 3)));
            const __m256i lanes = Dot::madd_add(Dot::madd_add(_mm256_madd_epi16(p02, mult.a), p13, mult.b), quarters[t], mult.offset);
            inner[r][t] = _mm256_fmadd_ps(da[t], _mm256_cvtepi32_ps(lanes), inner[r][t]);
          }
        }
      }
      for (int r = 0; r < R; ++r) {
        const __m256 d = _mm256_cvtph_ps(_mm_castpd_si128(_mm_loaddup_pd(reinterpret_cast<const double*>(w[r][sb].d))));
        for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(d, inner[r][t], acc[r][t]);
      }
    }
    store_group_halves(acc, m.y, m.ldy, m.rows, g0, t0);
  }
};

template <class Dot, int kG = kQ6KGroups, int kT = kQ6KTokens>
void q6_k_matmul(const Matmul4Args& m) {
  const auto nb = static_cast<size_t>(m.k / 32);
  Tiled<Q6KGroupTile<Dot>, kG, kT, kQ6KDecodeGroups, GroupsOf<Matmul4Args>>::run({m, (m.rows + 3) / 4, m.n}, nb * sizeof(BlockA8x4),
                                                                                 nb / 8 * sizeof(BlockQ6_Kx4));
}

}  // namespace
}  // namespace qforge::kernels
