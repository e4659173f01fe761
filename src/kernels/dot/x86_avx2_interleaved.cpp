// AVX2 matmul kernels for Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K and Q6_K in the four-row
// interleaved layout: the tiles of x86_interleaved_tile.h, x86_q4_k_tile.h and x86_q6_k_tile.h
// on maddubs, and the activations' expansion to their layouts.
// Four maddubs and three int16 adds (|sum| ≤ 4·2·31·127 < 2^15) feed one madd per block, group
// and token. Before the layout, each row paid its own unpack, madd, convert and FMA, and the
// scales were gathered from four rows with scalar loads (a third of the decode time).
#include <immintrin.h>

#include <algorithm>

#include "kernels/dot/dot_kernels.h"
#include "kernels/dot/x86_avx2_tiling.h"
#include "kernels/dot/x86_interleaved_tile.h"
#include "kernels/dot/x86_q4_k_tile.h"
#include "kernels/dot/x86_q6_k_tile.h"

namespace qforge::kernels {
namespace {

// 32 codes in expand_a8x4's layout with two broadcasts and four byte shuffles: register g takes
// byte 8·(g/2) + 4·(p/16) + p%4 of the low (g even) or high (g odd) 16 codes into byte p.
inline void expand_codes(const int8_t* codes, int8_t (*out)[32]) {
  const __m256i first = _mm256_setr_epi8(0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7);
  const __m256i second = _mm256_add_epi8(first, _mm256_set1_epi8(8));
  const __m256i lo = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(codes)));
  const __m256i hi = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + 16)));
  auto* q = reinterpret_cast<__m256i*>(out);
  _mm256_store_si256(q, _mm256_shuffle_epi8(lo, first));
  _mm256_store_si256(q + 1, _mm256_shuffle_epi8(hi, first));
  _mm256_store_si256(q + 2, _mm256_shuffle_epi8(lo, second));
  _mm256_store_si256(q + 3, _mm256_shuffle_epi8(hi, second));
}

void expand_a8x4_avx2(const BlockA8* a, BlockA8x4* out, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b) {
    expand_codes(a[b].qs, out[b].qs);
    // Σ of codes 4k..4k+3 in lane k; the even lanes are half 0, the odd ones half 1
    const __m256i codes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b].qs));
    const __m256i quads = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), codes), _mm256_set1_epi16(1));
    const __m128i lo = _mm256_castsi256_si128(quads), hi = _mm256_extracti128_si256(quads, 1);
    __m128i h = _mm_add_epi32(lo, hi);
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(1, 0, 3, 2)));
    _mm256_store_si256(reinterpret_cast<__m256i*>(out[b].sums),
                       _mm256_permutevar8x32_epi32(_mm256_castsi128_si256(h), _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1)));
    // quarters: lanes 0 + 2, 4 + 6, 1 + 3, 5 + 7 (|sum| ≤ 16·127 fits int16)
    const __m128i lo2 = _mm_add_epi32(lo, _mm_shuffle_epi32(lo, _MM_SHUFFLE(1, 0, 3, 2)));
    const __m128i hi2 = _mm_add_epi32(hi, _mm_shuffle_epi32(hi, _MM_SHUFFLE(1, 0, 3, 2)));
    const __m128i quarters = _mm_unpacklo_epi32(lo2, hi2);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out[b].quarters), _mm_packs_epi32(quarters, quarters));
    out[b].d = a[b].d;
    out[b].s = a[b].s;
    std::fill_n(out[b].pad, sizeof(out[b].pad), uint8_t{0});
  }
}

// expand_a8kx4: every sub-block as above; the bsums' int16 pairs (2u, 2u + 1) and (4 + 2u, 5 + 2u)
// are 32-bit words u and 2 + u, broadcast to lanes 0–3 and 4–7.
void expand_a8kx4_avx2(const BlockA8K* a, BlockA8Kx4* out, int64_t nsb) {
  for (int64_t sb = 0; sb < nsb; ++sb) {
    for (int j = 0; j < 8; ++j) expand_codes(a[sb].qs + 32 * j, out[sb].qs[j]);
    const __m256i words = _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a[sb].bsums)));
    _mm256_store_si256(reinterpret_cast<__m256i*>(out[sb].bsums[0]), _mm256_permutevar8x32_epi32(words, _mm256_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2)));
    _mm256_store_si256(reinterpret_cast<__m256i*>(out[sb].bsums[1]), _mm256_permutevar8x32_epi32(words, _mm256_setr_epi32(1, 1, 1, 1, 3, 3, 3, 3)));
    out[sb].d = a[sb].d;
    std::fill_n(out[sb].pad, sizeof(out[sb].pad), uint8_t{0});
  }
}

}  // namespace

void add_interleaved_kernels_avx2(DotKernels& k) {
  k.expand_a8x4 = expand_a8x4_avx2;
  k.expand_a8kx4 = expand_a8kx4_avx2;
  // Q8_0 in the same 2 × 4 tile: one thread in cache, 1024 × 4096 × 256, GOP/s, two rounds on a
  // Zen 4: 1×3 101, 100; 2×2 99, 102; 1×4 109, 106; 2×4 109, 108; 1×6 113, 108 (row layout 81)
  k.matmul.q8_0x4 = group_matmul<GroupQ8_0, MaddubsDot>;
  k.matmul.q4_0x4 = group_matmul<GroupQ4_0, MaddubsDot>;
  k.matmul.q4_1x4 = group_matmul<GroupQ4_1, MaddubsDot>;
  k.matmul.q5_0x4 = group_matmul<GroupQ5_0, MaddubsDot>;
  k.matmul.q5_1x4 = group_matmul<GroupQ5_1, MaddubsDot>;
  k.matmul.q4_kx4 = q4_k_matmul<MaddubsDot>;
  k.matmul.q6_kx4 = q6_k_matmul<MaddubsDot>;
}

}  // namespace qforge::kernels
