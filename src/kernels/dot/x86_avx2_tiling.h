// What the x86 dot-kernel files share: the spec's final reduction in registers, the f16 scale
// conversion, the nibble and bit-plane unpacking, the byte dot products (kernels/x86_byte_dot.h),
// and the loop that runs a register tile over a rows × tokens grid. Include only from
// translation units compiled with AVX2 flags (or AVX-512's, a superset); the unnamed namespace
// keeps each file's copy its own.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "kernels/dot/dot_kernels.h"
#include "kernels/x86_byte_dot.h"

namespace qforge::kernels {
namespace {

// f16 → f32 inline (F16C); exact, so it equals the reference's f16_to_f32 bit for bit.
inline float half(uint16_t h) { return _cvtsh_ss(h); }

// The spec's reduce8 tree in registers: (a0+a4, a1+a5, a2+a6, a3+a7), then pairs 0+2 and 1+3, then the two.
inline float reduce8_avx(__m256 v) {
  const __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 q = _mm_add_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
}

// 32 four-bit values, qs[j] holding element j (low nibble) and j + 16 (high nibble), in order:
// the 16 bytes in both halves, the upper half shifted down by 4, then masked.
inline __m256i nibbles(const uint8_t* qs) {
  const __m256i raw = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
  return _mm256_and_si256(_mm256_srlv_epi64(raw, _mm256_setr_epi64x(0, 0, 4, 4)), _mm256_set1_epi8(0x0F));
}

// The four registers of a four-row record's 64 bytes of nibbles (BlockQ4_0x4's qs, and the records
// laid out like it): the low and high nibbles of bytes 0–31, then of bytes 32–63.
[[gnu::always_inline]] inline void unpack_nibbles(const uint8_t* p, __m256i (&q)[4]) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)), x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
  q[0] = _mm256_and_si256(x0, low4), q[1] = _mm256_and_si256(_mm256_srli_epi16(x0, 4), low4);
  q[2] = _mm256_and_si256(x1, low4), q[3] = _mm256_and_si256(_mm256_srli_epi16(x1, 4), low4);
}

// 0xFF in byte j where bit j of the 32-bit field qh is set.
inline __m256i bits_to_bytes(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)),
                                             _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
  const __m256i select = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ULL));
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, select), select);
}

// The T tokens' int8 codes of activation block b, and for weights whose codes carry an offset
// o (0 < o ≤ 128), −o·(lane sums of a): once per token for all rows, the start of each row's
// accumulator (Dot::dot_add), so the offset costs nothing per row. Exact: the pair sums
// o·(a + a') stay within int16 for |a| ≤ 127.
template <int T, int kOffset>
inline void load_block_a8(const BlockA8* const (&a)[T], int64_t b, __m256i (&aq)[T], __m256i (&neg_offset_sums)[T]) {
  static_assert(kOffset >= 0 && kOffset <= 128, "an unsigned byte offset");
  for (int t = 0; t < T; ++t) {
    aq[t] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[t][b].qs));
    if constexpr (kOffset != 0)
      neg_offset_sums[t] = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(static_cast<char>(kOffset)), aq[t]),
                                             _mm256_set1_epi16(-1));
  }
}

// Four rows' outputs y (lanes 0..3) to out[0..valid), valid ≤ 4: the last group of four rows
// of an interleaved matrix may hold fewer.
inline void store_rows4(float* out, __m128 y, int valid) {
  if (valid == 4) {
    _mm_storeu_ps(out, y);
    return;
  }
  alignas(16) float v[4];
  _mm_store_ps(v, y);
  std::copy_n(v, valid, out);
}

// A tile's R groups × T tokens of accumulators, lanes l and l + 4 row l's two halves, summed
// (acc[0] + acc[1] of the spec) and stored for the group's valid rows: y[t·ldy + 4g + l].
template <int R, int T>
inline void store_group_halves(const __m256 (&acc)[R][T], float* y, int64_t ldy, int64_t rows, int64_t g0, int64_t t0) {
  for (int r = 0; r < R; ++r) {
    const int valid = static_cast<int>(std::min<int64_t>(4, rows - 4 * (g0 + r)));
    for (int t = 0; t < T; ++t)
      store_rows4(y + (t0 + t) * ldy + 4 * (g0 + r), _mm_add_ps(_mm256_castps256_ps128(acc[r][t]), _mm256_extractf128_ps(acc[r][t], 1)),
                  valid);
  }
}

// Tiled's view of an interleaved matmul's arguments (Matmul4Args, MatmulK4Args): its "rows"
// are groups of four.
template <class Args>
struct GroupsOf {
  const Args& m;
  int64_t rows, n;
};

// Runs Tile::run<R, T> over the rows × tokens grid: kR × kT tiles, smaller ones at the edges;
// a single token (decode) goes in tiles of kDecodeR rows. Rows go in bands of about 4 MB of
// weights, which stay in L3 while every block of tokens passes over them; tokens go in blocks
// of about 192 KB of activations, which stay in L2 while every row group of the band passes
// over them (without bands, f32 weights came from memory once per token block).
template <class Tile, int kR, int kT, int kDecodeR, class Args = MatmulArgs>
struct Tiled {
  using Fn = void (*)(const Args&, int64_t, int64_t);
  template <size_t... I>
  static constexpr std::array<Fn, sizeof...(I)> grid(std::index_sequence<I...>) {
    return {&Tile::template run<static_cast<int>(I / kT) + 1, static_cast<int>(I % kT) + 1>...};
  }
  template <size_t... I>
  static constexpr std::array<Fn, sizeof...(I)> column(std::index_sequence<I...>) {
    return {&Tile::template run<static_cast<int>(I) + 1, 1>...};
  }
  static constexpr std::array<Fn, kR * kT> kTiles = grid(std::make_index_sequence<kR * kT>{});
  static constexpr std::array<Fn, kDecodeR> kDecodeTiles = column(std::make_index_sequence<kDecodeR>{});

  static void run(const Args& m, size_t token_bytes, size_t row_bytes) {
    if (m.n == 1) {
      for (int64_t r0 = 0; r0 < m.rows; r0 += kDecodeR)
        kDecodeTiles[static_cast<size_t>(std::min<int64_t>(kDecodeR, m.rows - r0)) - 1](m, r0, 0);
      return;
    }
    const int64_t block = std::max<int64_t>(kT, static_cast<int64_t>((size_t{192} << 10) / std::max<size_t>(token_bytes, 1)) / kT * kT);
    const int64_t band = std::max<int64_t>(kR, static_cast<int64_t>((size_t{4} << 20) / std::max<size_t>(row_bytes, 1)) / kR * kR);
    for (int64_t rb = 0; rb < m.rows; rb += band) {
      const int64_t re = std::min(m.rows, rb + band);
      for (int64_t tb = 0; tb < m.n; tb += block) {
        const int64_t te = std::min(m.n, tb + block);
        for (int64_t r0 = rb; r0 < re; r0 += kR) {
          const auto rr = static_cast<size_t>(std::min<int64_t>(kR, re - r0));
          for (int64_t t0 = tb; t0 < te; t0 += kT)
            kTiles[(rr - 1) * kT + static_cast<size_t>(std::min<int64_t>(kT, te - t0)) - 1](m, r0, t0);
        }
      }
    }
  }
};

}  // namespace
}  // namespace qforge::kernels
