// AVX2 + FMA grid kernels (compiled with those flags only): per row and group the f32 scale
// and shift/minimum are broadcast once, then each run of 8 codes is pulled out of the packed
// bits with variable shifts, decoded to exactly dequantize_packed's f32 values and fed to the
// f32 dot's lane order (e4m3 16 at a time through f16, in its own spec: Fp8Tile). Leftover columns (cols % 8)
// take the spec's scalar decode.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "kernels/dot/x86_avx2_tiling.h"
#include "kernels/grid/grid_decode.h"
#include "kernels/grid/grid_kernels.h"
#include "qforge/codebook.h"

namespace qforge::kernels {
namespace {

// Tile shapes of the f32 kernels (the decode is amortized over the tile's tokens). fp8's,
// 4096² × 512 tokens, two threads, Zen 4 (GFLOP/s): 4×3 115–118, 2×6 118–119, 2×4 97–98, 1×8
// 100–101, 3×4 126–130.
constexpr int kRows = 4, kTokens = 3, kDecodeRows = 4;
constexpr int kFp8Rows = 3, kFp8Tokens = 4;

// The 8 codes of columns i..i+7 (i a multiple of 8: they start on a byte and fill `bits` bytes).
__m256i codes8(const uint8_t* row, int64_t i, int bits, __m256i lane_shift, __m256i mask) {
  const uint8_t* p = row + i / 8 * bits;
  if (bits <= 4) {  // all 8 within one 32-bit word
    uint32_t u;
    std::memcpy(&u, p, 4);
    return _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(u)), lane_shift), mask);
  }
  if (bits == 8) return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  // 5–7 bits: codes 0–3 and 4–7 from 64-bit shifts, interleaved back into order
  uint64_t u;
  std::memcpy(&u, p, 8);
  const __m256i v = _mm256_set1_epi64x(static_cast<int64_t>(u));
  const __m256i b = _mm256_set1_epi64x(bits);
  const __m256i k0 = _mm256_mul_epu32(_mm256_setr_epi64x(0, 1, 2, 3), b), k1 = _mm256_mul_epu32(_mm256_setr_epi64x(4, 5, 6, 7), b);
  const __m256i mixed = _mm256_blend_epi32(_mm256_srlv_epi64(v, k0), _mm256_slli_epi64(_mm256_srlv_epi64(v, k1), 32), 0xAA);
  return _mm256_and_si256(_mm256_permutevar8x32_epi32(mixed, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7)), mask);
}

// A group's parameters, broadcast. For NF4 in decode tiles (one token: registers to spare) also
// the group's sixteen values s·nf4[c], formed once per group with the same product
// dequantize_packed rounds, so decoding 8 codes is two permutes and a blend; wider tiles keep
// the table unscaled and multiply (measured: the scaled tables' registers slow the 4×3 tile).
struct Params {
  __m256 scale, min;
  __m256i shift;
  __m256 nf4_lo, nf4_hi;
};

template <GridCodec kCodec, bool kScaledTable>
__m256 decode8(__m256i c, const Params& p) {
  if constexpr (kCodec == GridCodec::IntShift) {
    return _mm256_mul_ps(p.scale, _mm256_cvtepi32_ps(_mm256_add_epi32(c, p.shift)));
  } else if constexpr (kCodec == GridCodec::IntMin) {
    return _mm256_add_ps(_mm256_mul_ps(p.scale, _mm256_cvtepi32_ps(c)), p.min);
  } else {
    static_assert(kCodec == GridCodec::NF4, "e4m3 runs on Fp8Tile");
    // codes 0–7 from the low half of the table, 8–15 from the high half (bit 3 into the sign)
    const __m256 v = _mm256_blendv_ps(_mm256_permutevar8x32_ps(p.nf4_lo, c), _mm256_permutevar8x32_ps(p.nf4_hi, c),
                                      _mm256_castsi256_ps(_mm256_slli_epi32(c, 28)));
    return kScaledTable ? v : _mm256_mul_ps(p.scale, v);
  }
}

// A tile's R rows of codes and T tokens, its eight-lane accumulators (zero), and the f32 spec's
// finish: reduce8, the leftover columns one fma at a time with the spec's decode, the store.
template <int R, int T>
struct F32Tile {
  const uint8_t* row[R];
  const float* x[T];
  __m256 acc[R][T];

  F32Tile(const GridArgs& m, int64_t r0, int64_t t0) {
    for (int r = 0; r < R; ++r) row[r] = m.w->codes + static_cast<size_t>(m.row0 + r0 + r) * m.w->code_row_bytes;
    for (int t = 0; t < T; ++t) x[t] = m.x + (t0 + t) * m.w->cols;
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  }
  void finish(const GridArgs& m, int64_t r0, int64_t t0) const {
    const GridMatrix& w = *m.w;
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) {
        float s = reduce8_avx(acc[r][t]);
        for (int64_t i = w.cols - w.cols % 8; i < w.cols; ++i) s = std::fmaf(x[t][i], grid_value(w, m.row0 + r0 + r, i), s);
        m.y[(t0 + t) * m.ldy + r0 + r] = s;
      }
  }
};

template <GridCodec kCodec>
struct GridTile {
  template <int R, int T>
  static void run(const GridArgs& m, int64_t r0, int64_t t0) {
    constexpr bool kScaledTable = T == 1;
    const GridMatrix& w = *m.w;
    F32Tile<R, T> tile(m, r0, t0);
    const auto& row = tile.row;
    const auto& x = tile.x;
    const __m256i lane_shift = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(w.bits));
    const __m256i mask = _mm256_set1_epi32((1 << w.bits) - 1);
    const float* nf4 = nf4_values().data();
    const __m256 nf4_lo = _mm256_loadu_ps(nf4), nf4_hi = _mm256_loadu_ps(nf4 + 8);
    auto& acc = tile.acc;
    const int64_t whole = w.cols - w.cols % 8;
    for (int64_t g = 0; g < w.groups_per_row; ++g) {
      const int64_t begin = g * w.group, end = std::min(begin + w.group, whole);
      Params p[R];
      for (int r = 0; r < R; ++r) {
        const auto k = static_cast<size_t>((m.row0 + r0 + r) * w.groups_per_row + g);
        p[r].scale = _mm256_set1_ps(w.scales[k]);
        if constexpr (kCodec == GridCodec::NF4) {
          p[r].nf4_lo = kScaledTable ? _mm256_mul_ps(p[r].scale, nf4_lo) : nf4_lo;
          p[r].nf4_hi = kScaledTable ? _mm256_mul_ps(p[r].scale, nf4_hi) : nf4_hi;
        }
        if constexpr (kCodec == GridCodec::IntShift) p[r].shift = _mm256_set1_epi32(w.shifts[k]);
        if constexpr (kCodec == GridCodec::IntMin) p[r].min = _mm256_set1_ps(w.mins[k]);
      }
      for (int64_t i = begin; i < end; i += 8)
        for (int r = 0; r < R; ++r) {
          if constexpr (T == 1)  // decode streams R rows at once: fetch ahead R rows on (the next tile's)
            _mm_prefetch(reinterpret_cast<const char*>(row[r] + i / 8 * w.bits) + R * w.code_row_bytes, _MM_HINT_T0);
          const __m256 v = decode8<kCodec, kScaledTable>(codes8(row[r], i, w.bits, lane_shift, mask), p[r]);
          for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(_mm256_loadu_ps(x[t] + i), v, acc[r][t]);
        }
    }
    tile.finish(m, r0, t0);
  }
};

// e4m3 weights in fp8's spec (grid_kernels.h), 16 at a time in 16-bit lanes: each byte b
// becomes the f16 with the same sign, exponent field and mantissa (b << 8, shifted right
// arithmetically by one, bit 14 cleared) — exactly e4m3(b)·2^−8, subnormals included — which
// F16C widens 8 at a time into the group's lane sums; the group's scale comes once per lane.
// kNan: the matrix holds 0x7F/0xFF, which then get f16's NaN exponent (two compares and masks
// per 16 that NaN-free matrices skip).
struct Fp8Tile {
  template <bool kNan>
  static __m256i halves(const uint8_t* p) {
    const __m256i b = _mm256_slli_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 8);
    const __m256i h = _mm256_and_si256(_mm256_srai_epi16(b, 1), _mm256_set1_epi16(static_cast<short>(0xBFFF)));
    if constexpr (!kNan) return h;
    const __m256i nan = _mm256_cmpeq_epi16(_mm256_and_si256(h, _mm256_set1_epi16(0x7FFF)), _mm256_set1_epi16(0x3F80));
    return _mm256_or_si256(h, _mm256_and_si256(nan, _mm256_set1_epi16(0x7C00)));
  }

  template <bool kNan, int R, int T>
  static void group(const uint8_t* const (&row)[R], const float* const (&x)[T], int64_t begin, int64_t end, size_t row_bytes,
                    __m256 (&inner)[R][T]) {
    int64_t i = begin;
    for (; i + 16 <= end; i += 16)
      for (int r = 0; r < R; ++r) {
        if constexpr (T == 1) _mm_prefetch(reinterpret_cast<const char*>(row[r] + i) + R * row_bytes, _MM_HINT_T0);
        const __m256i h = halves<kNan>(row[r] + i);
        const __m256 lo = _mm256_cvtph_ps(_mm256_castsi256_si128(h)), hi = _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1));
        for (int t = 0; t < T; ++t) {
          inner[r][t] = _mm256_fmadd_ps(_mm256_loadu_ps(x[t] + i), lo, inner[r][t]);
          inner[r][t] = _mm256_fmadd_ps(_mm256_loadu_ps(x[t] + i + 8), hi, inner[r][t]);
        }
      }
    for (; i < end; i += 8)  // a group's last 8 (groups are multiples of 8)
      for (int r = 0; r < R; ++r) {
        uint8_t tail[16] = {};
        std::memcpy(tail, row[r] + i, 8);
        const __m256 lo = _mm256_cvtph_ps(_mm256_castsi256_si128(halves<kNan>(tail)));
        for (int t = 0; t < T; ++t) inner[r][t] = _mm256_fmadd_ps(_mm256_loadu_ps(x[t] + i), lo, inner[r][t]);
      }
  }

  template <int R, int T>
  static void run(const GridArgs& m, int64_t r0, int64_t t0) {
    const GridMatrix& w = *m.w;
    F32Tile<R, T> tile(m, r0, t0);
    const auto& row = tile.row;
    const auto& x = tile.x;
    auto& acc = tile.acc;
    const int64_t whole = w.cols - w.cols % 8;
    for (int64_t g = 0; g < w.groups_per_row; ++g) {
      const int64_t begin = g * w.group, end = std::min(begin + w.group, whole);
      __m256 inner[R][T];
      for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) inner[r][t] = _mm256_setzero_ps();
      if (w.nan_codes) group<true>(row, x, begin, end, w.code_row_bytes, inner);
      else group<false>(row, x, begin, end, w.code_row_bytes, inner);
      for (int r = 0; r < R; ++r) {
        const __m256 s = _mm256_set1_ps(w.scales[static_cast<size_t>((m.row0 + r0 + r) * w.groups_per_row + g)]);
        for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(s, _mm256_mul_ps(inner[r][t], _mm256_set1_ps(256.0f)), acc[r][t]);
      }
    }
    tile.finish(m, r0, t0);
  }
};

template <GridCodec kCodec>
void matmul(const GridArgs& m) {
  const size_t token_bytes = static_cast<size_t>(m.w->cols) * sizeof(float);
  if constexpr (kCodec == GridCodec::Fp8)
    Tiled<Fp8Tile, kFp8Rows, kFp8Tokens, kDecodeRows, GridArgs>::run(m, token_bytes, m.w->code_row_bytes);
  else
    Tiled<GridTile<kCodec>, kRows, kTokens, kDecodeRows, GridArgs>::run(m, token_bytes, m.w->code_row_bytes);
}

void matmul_avx2(const GridArgs& m) {
  switch (m.w->codec) {
    case GridCodec::IntShift: return matmul<GridCodec::IntShift>(m);
    case GridCodec::IntMin: return matmul<GridCodec::IntMin>(m);
    case GridCodec::NF4: return matmul<GridCodec::NF4>(m);
    case GridCodec::Fp8: return matmul<GridCodec::Fp8>(m);
  }
}

}  // namespace

GridKernels grid_kernels_avx2() { return {Isa::Avx2, matmul_avx2, int_grid_matmul_avx2}; }

}  // namespace qforge::kernels
