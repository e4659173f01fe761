// The matmul tile for the ternary super-block formats TQ1_0 and TQ2_0, written once over the
// byte dot-product policy `Dot` (kernels/x86_byte_dot.h). Each format says how to unpack
// sub-block j into 32 bytes in element order; one tile body does the rest, bit for bit as
// reference.cpp's superblock_dot: a super-block's sums stay integer (int16 pairs, or int32
// lanes where the byte dot product is one instruction) until its end, where one float
// multiply-add takes them. Include only from ISA files (AVX2 flags or more); the unnamed
// namespace keeps each one's copy.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <utility>

#include "kernels/dot/dot_kernels.h"
#include "kernels/dot/x86_avx2_tiling.h"

namespace qforge::kernels {
namespace {

// Decode tiles as for the 32-element formats; prompt tiles in 16 ymm registers (AVX2, AVX-VNNI).
constexpr int kSuperDecodeRows = 4, kSuperRows = 4, kSuperTokens = 2;

// 32 bytes at p shifted right by `bits` within each byte and masked to `mask`.
__m256i bit_field(const uint8_t* p, int bits, int mask) {
  const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm256_and_si256(_mm256_srl_epi16(raw, _mm_cvtsi32_si128(bits)), _mm256_set1_epi8(static_cast<char>(mask)));
}

struct SuperTQ2_0 {
  using Block = ggml::BlockTQ2_0;
  static constexpr int kOffset = 1;
  static constexpr bool unroll(int /*tokens*/) { return true; }  // the sub-block loop (SuperTile)
  // sub-block j = 4h + k is bits 2k..2k+1 of qs[32h..32h+31]
  static __m256i weights(const Block& b, int j) { return bit_field(b.qs + 32 * (j / 4), 2 * (j % 4), 0x03); }
};

// The trits that 32 bytes hold for one sub-block: byte i of `bytes` times 3^k, k its trit for
// this sub-block, brings that trit to the top (mod 256), where (v·3) >> 8 reads it. In 16-bit
// lanes with the byte in the high half, the product keeps exactly v·3^k mod 256 there and
// mulhi by 3 is (v·3) >> 8: two multiplies per 16 trits. pow_lo and pow_hi are 3^k for bytes
// 0–7 and 8–15 of each 128-bit lane (unpacklo / unpackhi's); packus puts them back in order.
inline __m256i trits(__m256i bytes, __m256i pow_lo, __m256i pow_hi) {
  const __m256i zero = _mm256_setzero_si256(), three = _mm256_set1_epi16(3);
  const __m256i lo = _mm256_mulhi_epu16(_mm256_mullo_epi16(_mm256_unpacklo_epi8(zero, bytes), pow_lo), three);
  const __m256i hi = _mm256_mulhi_epu16(_mm256_mullo_epi16(_mm256_unpackhi_epi8(zero, bytes), pow_hi), three);
  return _mm256_packus_epi16(lo, hi);
}

struct SuperTQ1_0 {
  using Block = ggml::BlockTQ1_0;
  static constexpr int kOffset = 1;
  static constexpr bool unroll(int tokens) { return tokens == 1; }  // decode only: the 4×2 tile ran 1.4× slower unrolled
  // sub-blocks 0–4: trit j of qs[0..31]; 5 and 6: trits 0–1 and 2–3 of qs[32..47], sixteen each;
  // 7: trit 4 of qs[32..47], then trits 0–3 of qh[0..3] (element 240 + i + 4k is trit k of qh[i])
  static __m256i weights(const Block& b, int j) {
    static constexpr int16_t kPow3[5] = {1, 3, 9, 27, 81};
    if (j < 5) {
      const __m256i pow = _mm256_set1_epi16(kPow3[j]);
      return trits(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)), pow, pow);
    }
    const __m128i tail = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs + 32));
    if (j < 7) {
      const __m256i pow = _mm256_set_m128i(_mm_set1_epi16(kPow3[2 * j - 9]), _mm_set1_epi16(kPow3[2 * j - 10]));
      return trits(_mm256_set_m128i(tail, tail), pow, pow);
    }
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    return trits(_mm256_set_m128i(_mm_set1_epi32(static_cast<int>(qh)), tail),
                 _mm256_set_m128i(_mm_setr_epi16(1, 1, 1, 1, 3, 3, 3, 3), _mm_set1_epi16(81)),
                 _mm256_set_m128i(_mm_setr_epi16(9, 9, 9, 9, 27, 27, 27, 27), _mm_set1_epi16(81)));
  }
};

// A register tile of R rows × T tokens over all k/256 super-blocks, in the spec's order: per
// sub-block, maddubs's pair sums go straight into the super-block's int16 pairs (|pair| ≤
// 2·3·127 per sub-block, 8 sub-blocks fit) that one madd by ones turns into lanes, less the
// offset's Σ a pairs (where Dot::kFused, the byte dot product's int32 lanes instead: the same
// integers); per super-block the lanes times d·d_a into the accumulators.
template <class Unpack, class Dot>
struct SuperTile {
  template <int R, int T>
  static void run(const MatmulArgs& m, int64_t r0, int64_t t0) {
    using Block = typename Unpack::Block;
    const int64_t nsb = m.k / 256;
    const Block* w[R];
    const BlockA8K* a[T];
    for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const Block*>(m.w + static_cast<size_t>(r0 + r) * m.row_bytes);
    for (int t = 0; t < T; ++t) a[t] = static_cast<const BlockA8K*>(m.x) + (t0 + t) * nsb;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
    for (int64_t sb = 0; sb < nsb; ++sb) {
      __m256i sums[R][T], offset_pairs[T];
      for (int t = 0; t < T; ++t) {
        offset_pairs[t] = _mm256_setzero_si256();
        for (int r = 0; r < R; ++r) sums[r][t] = _mm256_setzero_si256();
      }
      const auto sub_block = [&](int j) {
        __m256i aq[T];
        for (int t = 0; t < T; ++t) {
          aq[t] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[t][sb].qs + 32 * j));
          offset_pairs[t] = _mm256_add_epi16(offset_pairs[t], _mm256_maddubs_epi16(_mm256_set1_epi8(Unpack::kOffset), aq[t]));
        }
        for (int r = 0; r < R; ++r) {
          // decode streams R rows at once, which defeats the hardware prefetcher: ask for the same
          // place R rows on (the next tile's; 1.4–1.5× on one thread from memory)
          if (T == 1)  // every 64-byte line of the block: 8 requests from its first byte to its last
            _mm_prefetch(reinterpret_cast<const char*>(&w[r][sb]) + R * m.row_bytes + j * ((sizeof(Block) - 1) / 7), _MM_HINT_T0);
          const __m256i wq = Unpack::weights(w[r][sb], j);
          for (int t = 0; t < T; ++t) {
            if constexpr (Dot::kFused) sums[r][t] = Dot::dot_add(sums[r][t], wq, aq[t]);  // int32 lanes, no pairs
            else sums[r][t] = _mm256_add_epi16(sums[r][t], _mm256_maddubs_epi16(wq, aq[t]));
          }
        }
      };
      // unrolled where it measured faster (decode in cache, one thread: TQ2_0 +20 %, TQ1_0 +8 %)
      if constexpr (Unpack::unroll(T))
        [&]<int... J>(std::integer_sequence<int, J...>) { (sub_block(J), ...); }(std::make_integer_sequence<int, 8>{});
      else
        for (int j = 0; j < 8; ++j) sub_block(j);
      for (int r = 0; r < R; ++r) {
        const float d = half(w[r][sb].d);
        for (int t = 0; t < T; ++t) {
          const __m256i lanes = Dot::kFused ? _mm256_sub_epi32(sums[r][t], _mm256_madd_epi16(offset_pairs[t], ones))
                                            : _mm256_madd_epi16(_mm256_sub_epi16(sums[r][t], offset_pairs[t]), ones);
          acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(d * a[t][sb].d), _mm256_cvtepi32_ps(lanes), acc[r][t]);
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) m.y[(t0 + t) * m.ldy + r0 + r] = reduce8_avx(acc[r][t]);
  }
};

template <class Unpack, class Dot, int kR, int kT>
void superblock_matmul(const MatmulArgs& m) {
  Tiled<SuperTile<Unpack, Dot>, kR, kT, kSuperDecodeRows>::run(m, static_cast<size_t>(m.k / 256) * sizeof(BlockA8K), m.row_bytes);
}

template <class Unpack, class Dot>
float superblock_dot(const typename Unpack::Block* w, const BlockA8K* a, int64_t nsb) {
  float y;
  SuperTile<Unpack, Dot>::template run<1, 1>({reinterpret_cast<const uint8_t*>(w), 0, 1, a, 1, nsb * 256, &y, 1}, 0, 0);
  return y;
}

}  // namespace
}  // namespace qforge::kernels
