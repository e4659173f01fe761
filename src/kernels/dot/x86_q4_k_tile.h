// The matmul tile for Q4_K in the four-row interleaved layout (dot_kernels.h's BlockQ4_Kx4),
// written once over the byte dot product `Dot` (kernels/x86_byte_dot.h). Per super-block and
// group of four rows, one pass unpacks the 32 scales and the 32 minimums from their two nibble
// planes. Per sub-block, two loads give four registers of nibbles (every row in each); their
// maddubs against the expanded activations, summed in int16 (|sum| ≤ 4·2·15·127 < 2^15), times
// the four rows' scales (madd, or vpdpwssd) go into int32 lanes: the spec's two halves of the
// four rows. Per super-block, one convert and FMA take the lanes, two madds of the minimums
// against the activations' bsums and one more FMA the minimum term. Include only from ISA
// files (AVX2 flags or more); the unnamed namespace keeps each one's copy its own.
#pragma once

#include <immintrin.h>

#include "kernels/dot/dot_kernels.h"
#include "kernels/dot/x86_avx2_tiling.h"

namespace qforge::kernels {
namespace {

// Prompt tiles in groups × tokens (AVX2: one thread in cache, 512 × 4096 × 128 tokens, Zen 4,
// GOP/s: 1×2 156, 1×4 179, 2×2 172, 2×3 184, 3×2 170); decode four groups at once (four streams
// from memory, as the 32-element formats).
constexpr int kQ4KGroups = 2, kQ4KTokens = 3, kQ4KDecodeGroups = 4;

using GroupK4Args = GroupsOf<MatmulK4Args>;

// A group's super-block unpacked: sc in the scale order (byte 4j + r), the minimums widened to
// int16 in the minimum order (m0: entries 0–15, m1: 16–31), d and dmin of row l % 4 in lane l.
struct Q4KScales {
  __m256i sc, m0, m1;
  __m256 d, dmin;
};

inline Q4KScales q4_k_scales(const BlockQ4_Kx4& b) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i low = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.scales_low));
  const __m128i high = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales_high));
  const __m256i top = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(high, 4), high), low4);  // entry e's nibble in byte e
  Q4KScales s;
  s.sc = _mm256_or_si256(_mm256_and_si256(low, low4), _mm256_slli_epi16(_mm256_and_si256(top, _mm256_set1_epi8(3)), 4));
  const __m256i m = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(low, 4), low4),
                                    _mm256_slli_epi16(_mm256_and_si256(top, _mm256_set1_epi8(12)), 2));
  s.m0 = _mm256_cvtepu8_epi16(_mm256_castsi256_si128(m));
  s.m1 = _mm256_cvtepu8_epi16(_mm256_extracti128_si256(m, 1));
  s.d = _mm256_cvtph_ps(_mm_castpd_si128(_mm_loaddup_pd(reinterpret_cast<const double*>(b.d))));
  s.dmin = _mm256_cvtph_ps(_mm_castpd_si128(_mm_loaddup_pd(reinterpret_cast<const double*>(b.dmin))));
  return s;
}

// Sub-block j's scales as madd's multipliers: sc of row l % 4 in both int16 halves of lane l.
inline __m256i q4_k_multiplier(__m256i sc, int j) {
  const __m256i pick = _mm256_setr_epi8(0, -1, 0, -1, 1, -1, 1, -1, 2, -1, 2, -1, 3, -1, 3, -1,  //
                                        0, -1, 0, -1, 1, -1, 1, -1, 2, -1, 2, -1, 3, -1, 3, -1);
  return _mm256_shuffle_epi8(_mm256_permutevar8x32_epi32(sc, _mm256_set1_epi32(j)), pick);
}

template <class Dot>
struct Q4KGroupTile {
  template <int R, int T>
  static void run(const GroupK4Args& g, int64_t g0, int64_t t0) {
    const MatmulK4Args& m = g.m;
    const int64_t nsb = m.k / 256;
    const BlockQ4_Kx4* w[R];
    for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const BlockQ4_Kx4*>(m.w) + (g0 + r) * nsb;
    const BlockA8Kx4* a[T];
    for (int t = 0; t < T; ++t) a[t] = m.x + (t0 + t) * nsb;
    __m256 acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
    for (int64_t sb = 0; sb < nsb; ++sb) {
      Q4KScales s[R];
      for (int r = 0; r < R; ++r) {
        // decode: the next tile's block, its head here and sub-block j's line (64 + 64j) below
        if constexpr (T == 1) _mm_prefetch(reinterpret_cast<const char*>(w[r] + sb + R * nsb), _MM_HINT_T0);
        s[r] = q4_k_scales(w[r][sb]);
      }
      __m256i lanes[R][T];
      for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) lanes[r][t] = _mm256_setzero_si256();
      for (int j = 0; j < 8; ++j)
        for (int r = 0; r < R; ++r) {
          if constexpr (T == 1) _mm_prefetch(reinterpret_cast<const char*>(w[r] + sb + R * nsb) + 64 + 64 * j, _MM_HINT_T0);
          __m256i q[4];
          unpack_nibbles(w[r][sb].qs + 64 * j, q);
          const __m256i mult = q4_k_multiplier(s[r].sc, j);
          for (int t = 0; t < T; ++t) {
            const auto* xq = reinterpret_cast<const __m256i*>(a[t][sb].qs[j]);
            const __m256i p01 = _mm256_add_epi16(_mm256_maddubs_epi16(q[0], _mm256_load_si256(xq)), _mm256_maddubs_epi16(q[1], _mm256_load_si256(xq + 1)));
            const __m256i p23 = _mm256_add_epi16(_mm256_maddubs_epi16(q[2], _mm256_load_si256(xq + 2)), _mm256_maddubs_epi16(q[3], _mm256_load_si256(xq + 3)));
            lanes[r][t] = Dot::madd_add(lanes[r][t], _mm256_add_epi16(p01, p23), mult);
          }
        }
      for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) {
          const BlockA8Kx4& x = a[t][sb];
          const __m256 da = _mm256_broadcast_ss(&x.d);
          const __m256i mins = Dot::madd_add(_mm256_madd_epi16(s[r].m0, _mm256_load_si256(reinterpret_cast<const __m256i*>(x.bsums[0]))),
                                             s[r].m1, _mm256_load_si256(reinterpret_cast<const __m256i*>(x.bsums[1])));
          acc[r][t] = _mm256_fmadd_ps(_mm256_mul_ps(s[r].d, da), _mm256_cvtepi32_ps(lanes[r][t]), acc[r][t]);
          acc[r][t] = _mm256_fnmadd_ps(_mm256_mul_ps(s[r].dmin, da), _mm256_cvtepi32_ps(mins), acc[r][t]);
        }
    }
    store_group_halves(acc, m.y, m.ldy, m.rows, g0, t0);
  }
};

template <class Dot, int kG = kQ4KGroups, int kT = kQ4KTokens>
void q4_k_matmul(const MatmulK4Args& m) {
  const auto nsb = static_cast<size_t>(m.k / 256);
  Tiled<Q4KGroupTile<Dot>, kG, kT, kQ4KDecodeGroups, GroupK4Args>::run({m, (m.rows + 3) / 4, m.n}, nsb * sizeof(BlockA8Kx4),
                                                                      nsb * sizeof(BlockQ4_Kx4));
}

}  // namespace
}  // namespace qforge::kernels
