// The matmul tile for the 32-element block formats in their GGUF layout (Q8_0; Q4_0 … Q5_1 for
// single dots), written once over the byte dot product `Dot` (kernels/x86_byte_dot.h): AVX2's maddubs
// + madd, or VNNI's vpdpbusd. Each format only says how to unpack a block of 32 weights into
// int8 lanes in element order. Include only from ISA files (AVX2 flags or more); the unnamed
// namespace keeps each one's copy its own.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/dot/dot_kernels.h"
#include "kernels/dot/x86_avx2_tiling.h"

namespace qforge::kernels {
namespace {

// Register tile shapes (rows × tokens), chosen by interleaved A/B timing on this machine class
// (4 decode rows beat 8; 4×2 int tiles fit the 16 ymm registers).
constexpr int kIntRows = 4, kIntTokens = 2, kIntDecodeRows = 4;

// 32 five-bit values 0..31: the nibbles, with bit j of qh as bit 4 of element j.
__m256i five_bits(const uint8_t* qh, const uint8_t* qs) {
  return _mm256_or_si256(nibbles(qs), _mm256_and_si256(bits_to_bytes(qh), _mm256_set1_epi8(0x10)));
}

// How each format's block of 32 becomes int8 lanes in element order. Signed weights take the
// abs/sign route into maddubs, or go biased by 128 into a dot that takes any byte; the others
// are unsigned, and an offset format's lane sums are corrected exactly in int32:
// Σ (q − o)·a = Σ q·a − o·Σ a.
struct UnpackQ8_0 {
  using Block = ggml::BlockQ8_0;
  static constexpr bool kSigned = true, kMin = false;
  static constexpr int kOffset = 0;
  static __m256i weights(const Block& w) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs)); }
};
struct UnpackQ4_0 {
  using Block = ggml::BlockQ4_0;
  static constexpr bool kMin = false;
  static constexpr int kOffset = 8;
  static __m256i weights(const Block& w) { return nibbles(w.qs); }
};
struct UnpackQ5_0 {
  using Block = ggml::BlockQ5_0;
  static constexpr bool kMin = false;
  static constexpr int kOffset = 16;
  static __m256i weights(const Block& w) { return five_bits(w.qh, w.qs); }
};
struct UnpackQ4_1 {
  using Block = ggml::BlockQ4_1;
  static constexpr bool kMin = true;
  static constexpr int kOffset = 0;
  static __m256i weights(const Block& w) { return nibbles(w.qs); }
};
struct UnpackQ5_1 {
  using Block = ggml::BlockQ5_1;
  static constexpr bool kMin = true;
  static constexpr int kOffset = 0;
  static __m256i weights(const Block& w) { return five_bits(w.qh, w.qs); }
};

// A register tile of R weight rows × T tokens over all k/32 blocks, each element in the spec's
// order: lanes from the byte dot product (lane k = Σ of elements 4k..4k+3), scaled and
// accumulated once per block; the minimum terms of the _1 formats summed beside, in block order.
template <class Unpack, class Dot>
struct IntTile {
  template <int R, int T>
  static void run(const MatmulArgs& m, int64_t r0, int64_t t0) {
    using Block = typename Unpack::Block;
    const int64_t nb = m.k / 32;
    const Block* w[R];
    const BlockA8* a[T];
    for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const Block*>(m.w + static_cast<size_t>(r0 + r) * m.row_bytes);
    for (int t = 0; t < T; ++t) a[t] = static_cast<const BlockA8*>(m.x) + (t0 + t) * nb;
    __m256 acc[R][T];
    float mins[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps(), mins[r][t] = 0.0f;
    static_assert(R <= 8, "the rows' scales travel in one 128-bit register");
    // signed weights: biased to bytes q + 128 where Dot takes any byte, else |q| and signs
    constexpr bool kBias = Unpack::kSigned && Dot::kAnyByte, kAbsSign = Unpack::kSigned && !Dot::kAnyByte;
    constexpr int kOffset = kBias ? 128 : Unpack::kOffset;
    for (int64_t b = 0; b < nb; ++b) {
      // the R rows' f16 scales converted together, then d_w·d_a for each token, for all rows,
      // kept in memory: a broadcast load per row and token beats a register permute (a load
      // port instead of the busy shuffle unit: +7 % decode in cache, q8_0 prompts +25 %)
      uint64_t scale_bits[2] = {0, 0};
      for (int r = 0; r < R; ++r) scale_bits[r / 4] |= uint64_t{w[r][b].d} << (16 * (r % 4));
      const __m256 dw = _mm256_cvtph_ps(_mm_set_epi64x(static_cast<int64_t>(scale_bits[1]), static_cast<int64_t>(scale_bits[0])));
      alignas(32) float d[T][8];
      for (int t = 0; t < T; ++t) _mm256_store_ps(d[t], _mm256_mul_ps(dw, _mm256_broadcast_ss(&a[t][b].d)));
      __m256i aq[T];
      [[maybe_unused]] __m256i neg_offset_sums[T];
      load_block_a8<T, kOffset>(a, b, aq, neg_offset_sums);
      for (int r = 0; r < R; ++r) {
        // decode streams R rows at once, which defeats the hardware prefetcher: ask for the
        // same place in the next row group (measured 1.4–1.5× on one thread from memory)
        if constexpr (T == 1) _mm_prefetch(reinterpret_cast<const char*>(&w[r][b]) + R * m.row_bytes, _MM_HINT_T0);
        __m256i wq = Unpack::weights(w[r][b]);
        if constexpr (kBias) wq = _mm256_xor_si256(wq, _mm256_set1_epi8(-128));  // q + 128 as a byte
        [[maybe_unused]] __m256i aw;
        if constexpr (kAbsSign) aw = _mm256_abs_epi8(wq);
        for (int t = 0; t < T; ++t) {
          __m256i sums;
          if constexpr (kAbsSign) sums = Dot::dot(aw, _mm256_sign_epi8(aq[t], wq));
          else if constexpr (kOffset != 0) sums = Dot::dot_add(neg_offset_sums[t], wq, aq[t]);  // Σ (q + o)·a − o·Σ a
          else sums = Dot::dot(wq, aq[t]);
          const __m256 lanes = _mm256_cvtepi32_ps(sums);
          acc[r][t] = _mm256_fmadd_ps(_mm256_broadcast_ss(&d[t][r]), lanes, acc[r][t]);
        }
        if constexpr (Unpack::kMin) {
          const float mw = half(w[r][b].m);
          for (int t = 0; t < T; ++t) mins[r][t] += mw * a[t][b].s;
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) m.y[(t0 + t) * m.ldy + r0 + r] = reduce8_avx(acc[r][t]) + mins[r][t];
  }
};

template <class Unpack, class Dot, int kR, int kT>
void int_matmul(const MatmulArgs& m) {
  Tiled<IntTile<Unpack, Dot>, kR, kT, kIntDecodeRows>::run(m, static_cast<size_t>(m.k / 32) * sizeof(BlockA8), m.row_bytes);
}
// Single dots are 1 × 1 tiles.
template <class Unpack, class Dot>
float int_dot(const typename Unpack::Block* w, const BlockA8* a, int64_t nb) {
  float y;
  IntTile<Unpack, Dot>::template run<1, 1>({reinterpret_cast<const uint8_t*>(w), 0, 1, a, 1, nb * 32, &y, 1}, 0, 0);
  return y;
}
}  // namespace
}  // namespace qforge::kernels
