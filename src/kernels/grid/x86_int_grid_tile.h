// The integer path's matmul tile for qforge's integer grids, written once over the byte dot
// product `Dot` (kernels/x86_byte_dot.h): each record of four rows × 32 columns unpacks from its
// planes into four registers laid out as the expanded activations (grid_kernels.h), one dot
// gives the four rows' halves in eight int32 lanes, and one convert and one FMA by the token's
// d_a add them to the group's sums; a group's f32 scales and minima, four rows in one load, are
// applied once per group. Include only from ISA files (AVX2 flags or more); the unnamed
// namespace keeps each one's copy.
#pragma once

#include <immintrin.h>

#include <algorithm>

#include "kernels/dot/x86_avx2_tiling.h"
#include "kernels/grid/grid_kernels.h"

namespace qforge::kernels {
namespace {

// Decode: four row groups at once, four streams from memory (the interleaved GGUF formats' choice).
constexpr int kIntGridDecodeGroups = 4;
// Prompt tiles in 16 ymm registers (AVX2, AVX-VNNI): row groups × tokens. AVX2, 4096² × 512
// tokens, two threads, Zen 4 (GOP/s for int4 G=128, nf4 G=64, int3 G=128, int8 per channel):
// 2×2 223, 168, 188, 214; 1×4 200, 166, 197, 193; 2×3 240, 174, 153, 201; 3×2 250, 171, 189, 175.
constexpr int kIntGridGroups = 2, kIntGridTokens = 2;

// A record's four registers: register K holds the codes the activations' register K meets
// (8 bits: c − 128, signed). Always inlined: as a call (GCC declined to inline 3 and 7 bits)
// the four registers went through the stack, 3 bits in cache 2.5× slower.
template <int kBits>
[[gnu::always_inline]] inline void unpack_record(const uint8_t* p, __m256i (&q)[4]) {
  const auto* v = reinterpret_cast<const __m256i*>(p);
  if constexpr (kBits == 8) {
    for (int k = 0; k < 4; ++k) q[k] = _mm256_loadu_si256(v + k);
    return;
  }
  if constexpr (kBits >= 4) {
    unpack_nibbles(p, q);
  }
  constexpr int kPairsAt = kBits >= 4 ? 64 : 0;
  if constexpr (kBits % 4 >= 2) {  // register K's pair at bits 2K..2K+1 of its byte
    const __m256i three = _mm256_set1_epi8(3);
    const __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + kPairsAt));
    const __m256i pk[4] = {_mm256_and_si256(y, three), _mm256_and_si256(_mm256_srli_epi16(y, 2), three),
                           _mm256_and_si256(_mm256_srli_epi16(y, 4), three), _mm256_and_si256(_mm256_srli_epi16(y, 6), three)};
    for (int k = 0; k < 4; ++k) q[k] = kBits >= 4 ? _mm256_or_si256(q[k], _mm256_slli_epi16(pk[k], 4)) : pk[k];  // ≤ 3: no carry
  }
  if constexpr (kBits % 2 == 1) {  // register K's top bits: the 32-bit word K
    constexpr int kBitAt = kPairsAt + (kBits % 4 >= 2 ? 32 : 0);
    const __m256i top = _mm256_set1_epi8(static_cast<char>(1 << (kBits - 1)));
    for (int k = 0; k < 4; ++k) q[k] = _mm256_or_si256(q[k], _mm256_and_si256(bits_to_bytes(p + kBitAt + 4 * k), top));
  }
}

// Tiled's view of an IntGridArgs: its "rows" are groups of four.
struct IntGridGroups {
  const IntGridArgs& m;
  int64_t rows, n;
};

// R row groups × T tokens in the spec's order: per block, each group's lanes (four rows' two
// halves) scaled by d_a into its group sums; per weight group, those scaled by the four rows'
// s into the accumulators, and the tokens' activation sums times the four rows' minima beside.
// kLevels: a 4-bit level grid, its nibbles looked up in the 16 levels by one byte shuffle.
template <class Dot, int kBits, bool kLevels = false>
struct IntGridTile {
  template <int R, int T>
  static void run(const IntGridGroups& gr, int64_t g0, int64_t t0) {
    static_assert(!kLevels || kBits == 4, "levels index 4-bit codes");
    constexpr bool kSigned = kBits == 8 || kLevels;
    // signed codes: biased to bytes c + 128 where Dot takes any byte, else |c| and signs
    constexpr bool kBias = kSigned && Dot::kAnyByte, kAbsSign = kSigned && !Dot::kAnyByte;
    // maddubs' int16 pair sums of four registers fit for codes < 32; wider ones take a madd each
    constexpr bool kDot4 = !kSigned && (kBits <= 5 || Dot::kAnyByte);
    constexpr size_t kRecord = int_grid_record_bytes(kBits);
    const IntGridArgs& m = gr.m;
    const IntGridMatrix& w = *m.w;
    [[maybe_unused]] __m256i levels;
    if constexpr (kLevels) levels = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.levels)));
    if constexpr (kLevels && kBias) levels = _mm256_xor_si256(levels, _mm256_set1_epi8(-128));  // biased once, not per block
    const int64_t nb = w.cols / 32, first = m.row0 / 4 + g0;
    const uint8_t* rec[R];
    size_t params[R];  // group g's four scales (and minima) at params[r] + 4·g
    for (int r = 0; r < R; ++r) {
      rec[r] = w.codes + static_cast<size_t>(first + r) * w.row_group_bytes;
      params[r] = static_cast<size_t>((first + r) * w.groups_per_row) * 4;
    }
    const BlockA8x4* a[T];
    for (int t = 0; t < T; ++t) a[t] = m.x + (t0 + t) * nb;
    __m256 acc[R][T];
    __m128 mins[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps(), mins[r][t] = _mm_setzero_ps();
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
        for (int t = 0; t < T; ++t) da[t] = _mm256_broadcast_ss(&a[t][b].d), act_sum[t] += a[t][b].s;
        for (int r = 0; r < R; ++r) {
          const uint8_t* record = rec[r] + static_cast<size_t>(b) * kRecord;
          // decode: ask for the same record R row groups on, the next tile's
          if constexpr (T == 1) _mm_prefetch(reinterpret_cast<const char*>(record) + R * w.row_group_bytes, _MM_HINT_T0);
          __m256i q[4];
          unpack_record<kBits>(record, q);
          [[maybe_unused]] __m256i aw[4];
          for (int k = 0; k < 4; ++k) {
            if constexpr (kLevels) q[k] = _mm256_shuffle_epi8(levels, q[k]);
            if constexpr (kBias && !kLevels) q[k] = _mm256_xor_si256(q[k], _mm256_set1_epi8(-128));  // c + 128 as a byte
            if constexpr (kAbsSign) aw[k] = _mm256_abs_epi8(q[k]);
          }
          for (int t = 0; t < T; ++t) {
            const auto* xq = reinterpret_cast<const __m256i*>(a[t][b].qs);
            __m256i lanes;
            if constexpr (kAbsSign) {
              lanes = Dot::dot(aw[0], _mm256_sign_epi8(_mm256_load_si256(xq), q[0]));
              for (int k = 1; k < 4; ++k) lanes = Dot::dot_add(lanes, aw[k], _mm256_sign_epi8(_mm256_load_si256(xq + k), q[k]));
            } else if constexpr (kDot4) {
              lanes = Dot::dot4(q[0], q[1], q[2], q[3], xq);
            } else {
              lanes = Dot::dot(q[0], _mm256_load_si256(xq));
              for (int k = 1; k < 4; ++k) lanes = Dot::dot_add(lanes, q[k], _mm256_load_si256(xq + k));
            }
            if constexpr (kBias)  // Σ (c + 128)·a − 128·Σ a, exact in int32
              lanes = _mm256_sub_epi32(lanes, _mm256_slli_epi32(_mm256_load_si256(reinterpret_cast<const __m256i*>(a[t][b].sums)), 7));
            inner[r][t] = _mm256_fmadd_ps(da[t], _mm256_cvtepi32_ps(lanes), inner[r][t]);
          }
        }
      }
      for (int r = 0; r < R; ++r) {
        const size_t p = params[r] + 4 * static_cast<size_t>(g);
        if constexpr (T == 1) {  // and the next tile's parameters, two more streams per row group
          const size_t ahead = p + static_cast<size_t>(R * w.groups_per_row) * 4;
          _mm_prefetch(reinterpret_cast<const char*>(w.scales + ahead), _MM_HINT_T0);
          if constexpr (!kLevels) _mm_prefetch(reinterpret_cast<const char*>(w.mins + ahead), _MM_HINT_T0);
        }
        const __m256 s = _mm256_broadcast_ps(reinterpret_cast<const __m128*>(w.scales + p));  // the four rows' scales, lanes l and l + 4
        for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(s, inner[r][t], acc[r][t]);
        if constexpr (!kLevels) {
          const __m128 mw = _mm_loadu_ps(w.mins + p);
          for (int t = 0; t < T; ++t) mins[r][t] = _mm_add_ps(mins[r][t], _mm_mul_ps(mw, _mm_set1_ps(act_sum[t])));
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      const int valid = static_cast<int>(std::min<int64_t>(4, m.rows - 4 * (g0 + r)));
      for (int t = 0; t < T; ++t) {
        __m128 y = _mm_add_ps(_mm256_castps256_ps128(acc[r][t]), _mm256_extractf128_ps(acc[r][t], 1));  // acc[0] + acc[1] per row
        y = kLevels ? _mm_div_ps(y, _mm_set1_ps(kLevelDenominator)) : _mm_add_ps(y, mins[r][t]);
        store_rows4(m.y + (t0 + t) * m.ldy + 4 * (g0 + r), y, valid);
      }
    }
  }
};

template <class Dot, int kG, int kT, int kBits, bool kLevels = false>
void matmul(const IntGridArgs& m) {
  Tiled<IntGridTile<Dot, kBits, kLevels>, kG, kT, kIntGridDecodeGroups, IntGridGroups>::run(
      {m, (m.rows + 3) / 4, m.n}, static_cast<size_t>(m.w->cols / 32) * sizeof(BlockA8x4), m.w->row_group_bytes);
}

// The matmul for m's bit width, on G row groups × T tokens tiles over `Dot`.
template <class Dot, int kG, int kT>
void int_grid_matmul(const IntGridArgs& m) {
  if (m.w->levels) return m.w->bits == 4 ? matmul<Dot, kG, kT, 4, true>(m) : void();  // the engine builds only 4-bit level grids
  switch (m.w->bits) {
    case 2: return matmul<Dot, kG, kT, 2>(m);
    case 3: return matmul<Dot, kG, kT, 3>(m);
    case 4: return matmul<Dot, kG, kT, 4>(m);
    case 5: return matmul<Dot, kG, kT, 5>(m);
    case 6: return matmul<Dot, kG, kT, 6>(m);
    case 7: return matmul<Dot, kG, kT, 7>(m);
    case 8: return matmul<Dot, kG, kT, 8>(m);
    default: return;  // the engine builds only 2–8-bit matrices
  }
}

// AVX-VNNI's table: AVX2's with the integer path on Dot in 16 registers' tiles (Dot is
// AvxVnniDot there; the kernel tests' twin takes VnniDot, the EVEX encoding).
template <class Dot>
GridKernels avx_vnni_grid_table() {
  GridKernels k = grid_kernels_avx2();
  k.isa = Isa::AvxVnni;
  k.int_matmul = int_grid_matmul<Dot, kIntGridGroups, kIntGridTokens>;
  return k;
}

}  // namespace
}  // namespace qforge::kernels
