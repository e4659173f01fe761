// The integer path's matmul tile for qforge's integer grids, written once over the byte dot
// product `Dot` (kernels/x86_byte_dot.h): each repacked block of 32 unpacks to bytes in element
// order from its planes (grid_kernels.h) and meets the tokens' int8 activations like Q4_1; a
// group's f32 scale and minimum are applied once per group, for all R rows of the tile.
// Include only from ISA files (AVX2 flags or more); the unnamed namespace keeps each one's copy.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/dot/x86_avx2_tiling.h"
#include "kernels/grid/grid_kernels.h"

namespace qforge::kernels {
namespace {

// Decode tiles: four rows, four streams from memory.
constexpr int kDecodeRows = 4;
// Prompt tiles in 16 ymm registers (AVX2, AVX-VNNI): the block formats' 4 × 2.
constexpr int kIntGridRows = 4, kIntGridTokens = 2;

// The pairs plane: byte 8m + j of the result is bits 2m..2m+1 of byte j.
__m256i pairs(const uint8_t* p) {
  uint64_t u;
  std::memcpy(&u, p, 8);
  return _mm256_and_si256(_mm256_srlv_epi64(_mm256_set1_epi64x(static_cast<int64_t>(u)), _mm256_setr_epi64x(0, 2, 4, 6)),
                          _mm256_set1_epi8(3));
}

// A block's 32 codes as bytes in element order (8 bits: c − 128, signed).
template <int kBits>
__m256i unpack(const uint8_t* p) {
  if constexpr (kBits == 2) return pairs(p);
  if constexpr (kBits == 3) return _mm256_or_si256(pairs(p), _mm256_and_si256(bits_to_bytes(p + 8), _mm256_set1_epi8(4)));
  if constexpr (kBits == 4) return nibbles(p);
  if constexpr (kBits == 5) return _mm256_or_si256(nibbles(p), _mm256_and_si256(bits_to_bytes(p + 16), _mm256_set1_epi8(0x10)));
  if constexpr (kBits == 6) return _mm256_or_si256(nibbles(p), _mm256_slli_epi16(pairs(p + 16), 4));  // pairs ≤ 3: no carry
  if constexpr (kBits == 7)
    return _mm256_or_si256(_mm256_or_si256(nibbles(p), _mm256_slli_epi16(pairs(p + 16), 4)),
                           _mm256_and_si256(bits_to_bytes(p + 24), _mm256_set1_epi8(0x40)));
  if constexpr (kBits == 8) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// Element g of R rows' parameter arrays (at[r] + g) in lanes 0..R−1 of a register, by inserts
// (filling a stack array and loading it stalls on store forwarding: 2× slower at G = 32).
template <int R>
__m256 row_params(const float* p, const size_t (&at)[R], int64_t g) {
  static_assert(R <= 4, "four rows' parameters per 128-bit half");
  __m128 v = _mm_load_ss(p + at[0] + g);
  if constexpr (R > 1) v = _mm_insert_ps(v, _mm_load_ss(p + at[1] + g), 0x10);
  if constexpr (R > 2) v = _mm_insert_ps(v, _mm_load_ss(p + at[2] + g), 0x20);
  if constexpr (R > 3) v = _mm_insert_ps(v, _mm_load_ss(p + at[3] + g), 0x30);
  return _mm256_zextps128_ps256(v);  // lanes ≥ R: zero, never read
}

// R rows × T tokens in the spec's order: per block, each row's lane sums scaled by d_a into
// its group sums; per group, those scaled by the row's s into its accumulators, and the
// tokens' activation sums times the R rows' minima (one vector) into the minimum terms.
// kLevels: a 4-bit level grid, its nibbles looked up in the 16 levels by one byte shuffle.
template <class Dot, int kBits, bool kLevels = false>
struct IntGridTile {
  template <int R, int T>
  static void run(const IntGridArgs& m, int64_t r0, int64_t t0) {
    static_assert(!kLevels || kBits == 4, "levels index 4-bit codes");
    constexpr bool kSigned = kBits == 8 || kLevels;
    // signed codes: biased to bytes c + 128 where Dot takes any byte, else |c| and signs
    constexpr bool kBias = kSigned && Dot::kAnyByte, kAbsSign = kSigned && !Dot::kAnyByte;
    constexpr size_t kBlock = int_grid_block_bytes(kBits);
    const IntGridMatrix& w = *m.w;
    [[maybe_unused]] __m256i levels;
    if constexpr (kLevels) levels = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.levels)));
    if constexpr (kLevels && kBias) levels = _mm256_xor_si256(levels, _mm256_set1_epi8(-128));  // biased once, not per block
    const int64_t nb = w.cols / 32;
    const uint8_t* row[R];
    size_t params[R];
    const BlockA8* a[T];
    for (int r = 0; r < R; ++r) {
      row[r] = w.codes + static_cast<size_t>(m.row0 + r0 + r) * w.row_bytes;
      params[r] = static_cast<size_t>((m.row0 + r0 + r) * w.groups_per_row);
    }
    for (int t = 0; t < T; ++t) a[t] = m.x + (t0 + t) * nb;
    __m256 acc[R][T], mins[T];
    for (int t = 0; t < T; ++t) {
      mins[t] = _mm256_setzero_ps();
      for (int r = 0; r < R; ++r) acc[r][t] = _mm256_setzero_ps();
    }
    for (int64_t g = 0; g < w.groups_per_row; ++g) {
      __m256 inner[R][T];
      float act_sum[T];
      for (int t = 0; t < T; ++t) {
        act_sum[t] = 0.0f;
        for (int r = 0; r < R; ++r) inner[r][t] = _mm256_setzero_ps();
      }
      const int64_t end = std::min(nb, (g + 1) * w.group_blocks);
      for (int64_t b = g * w.group_blocks; b < end; ++b) {
        __m256 da[T];
        __m256i aq[T];
        [[maybe_unused]] __m256i neg_offset_sums[T];
        load_block_a8<T, kBias ? 128 : 0>(a, b, aq, neg_offset_sums);
        for (int t = 0; t < T; ++t) da[t] = _mm256_broadcast_ss(&a[t][b].d), act_sum[t] += a[t][b].s;
        for (int r = 0; r < R; ++r) {
          const uint8_t* block = row[r] + static_cast<size_t>(b) * kBlock;
          // decode streams R rows at once, which defeats the hardware prefetcher: fetch the same
          // place R rows on (the next tile's)
          if constexpr (T == 1) _mm_prefetch(reinterpret_cast<const char*>(block) + R * w.row_bytes, _MM_HINT_T0);
          __m256i wq = unpack<kBits>(block);
          if constexpr (kLevels) wq = _mm256_shuffle_epi8(levels, wq);
          if constexpr (kBias && !kLevels) wq = _mm256_xor_si256(wq, _mm256_set1_epi8(-128));  // c + 128 as a byte
          [[maybe_unused]] __m256i aw;
          if constexpr (kAbsSign) aw = _mm256_abs_epi8(wq);
          for (int t = 0; t < T; ++t) {
            __m256i lanes;
            if constexpr (kAbsSign) lanes = Dot::dot(aw, _mm256_sign_epi8(aq[t], wq));
            else if constexpr (kBias) lanes = Dot::dot_add(neg_offset_sums[t], wq, aq[t]);  // Σ (c + 128)·a − 128·Σ a
            else lanes = Dot::dot(wq, aq[t]);
            inner[r][t] = _mm256_fmadd_ps(da[t], _mm256_cvtepi32_ps(lanes), inner[r][t]);
          }
        }
      }
      for (int r = 0; r < R; ++r) {
        const __m256 s = _mm256_broadcast_ss(&w.scales[params[r] + static_cast<size_t>(g)]);
        for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(s, inner[r][t], acc[r][t]);
      }
      if constexpr (!kLevels) {
        const __m256 mw = row_params<R>(w.mins, params, g);
        for (int t = 0; t < T; ++t) mins[t] = _mm256_add_ps(mins[t], _mm256_mul_ps(mw, _mm256_set1_ps(act_sum[t])));
      }
    }
    for (int t = 0; t < T; ++t) {
      alignas(32) float mt[8];
      _mm256_store_ps(mt, mins[t]);
      for (int r = 0; r < R; ++r)
        m.y[(t0 + t) * m.ldy + r0 + r] = kLevels ? reduce8_avx(acc[r][t]) / kLevelDenominator : reduce8_avx(acc[r][t]) + mt[r];
    }
  }
};

template <class Dot, int kR, int kT, int kBits, bool kLevels = false>
void matmul(const IntGridArgs& m) {
  Tiled<IntGridTile<Dot, kBits, kLevels>, kR, kT, kDecodeRows, IntGridArgs>::run(m, static_cast<size_t>(m.w->cols / 32) * sizeof(BlockA8),
                                                                        m.w->row_bytes);
}

// The matmul for m's bit width, on R × T tiles over `Dot`.
template <class Dot, int kR, int kT>
void int_grid_matmul(const IntGridArgs& m) {
  if (m.w->levels) return m.w->bits == 4 ? matmul<Dot, kR, kT, 4, true>(m) : void();  // the engine builds only 4-bit level grids
  switch (m.w->bits) {
    case 2: return matmul<Dot, kR, kT, 2>(m);
    case 3: return matmul<Dot, kR, kT, 3>(m);
    case 4: return matmul<Dot, kR, kT, 4>(m);
    case 5: return matmul<Dot, kR, kT, 5>(m);
    case 6: return matmul<Dot, kR, kT, 6>(m);
    case 7: return matmul<Dot, kR, kT, 7>(m);
    case 8: return matmul<Dot, kR, kT, 8>(m);
    default: return;  // the engine builds only 2–8-bit matrices
  }
}

// AVX-VNNI's table: AVX2's with the integer path on Dot in 16 registers' tiles (Dot is
// AvxVnniDot there; the kernel tests' twin takes VnniDot, the EVEX encoding).
template <class Dot>
GridKernels avx_vnni_grid_table() {
  GridKernels k = grid_kernels_avx2();
  k.isa = Isa::AvxVnni;
  k.int_matmul = int_grid_matmul<Dot, kIntGridRows, kIntGridTokens>;
  return k;
}

}  // namespace
}  // namespace qforge::kernels
