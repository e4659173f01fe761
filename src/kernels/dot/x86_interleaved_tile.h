// The matmul tile for Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1 in the four-row interleaved layout
// (dot_kernels.h), written once over the byte dot product `Dot` (kernels/x86_byte_dot.h): AVX2's
// maddubs + madd, or VNNI's vpdpbusd. Per block of 32 and group of four rows: two 32-byte loads
// give four registers of nibbles (every row in each; Q8_0 loads its four registers of bytes);
// their dot with the expanded activations gives eight int32 lanes, the spec's two halves of the
// four rows; one convert and one FMA by the four rows' scales (one 8-byte load) finish the block. The Q5 formats' fifth bits come
// from one 32-bit word per register. Include only from ISA files (AVX2 flags or more); the
// unnamed namespace keeps each one's copy its own.
#pragma once

#include <immintrin.h>

#include <algorithm>

#include "kernels/dot/dot_kernels.h"
#include "kernels/dot/x86_avx2_tiling.h"

namespace qforge::kernels {
namespace {

// Register tiles: prompts in 2 groups × 4 tokens (one thread, 512 × 4096 × 512: 1×4 110, 2×2
// 120, 2×3 132, 2×4 140, 3×3 141, 2×6 143 GOP/s); decode four groups at once, four streams from
// memory (Zen 4, two threads, 4096², three alternating rounds: Q4_0 0.39–0.40 ms with one group,
// 0.33–0.35 with four, 0.29–0.34 with eight; on Zen 3 two groups had measured no faster than one).
constexpr int kGroups = 2, kTokens = 4, kDecodeGroups = 4;

// kOffsetShift: log2 of the codes' offset (Q4_0 stores q + 8, Q5_0 q + 16; −1: none), taken
// off as sums << kOffsetShift; kFifth: a fifth bit per code in qh; kSigned: signed bytes, the
// four registers loaded as they are (Q8_0).
struct GroupQ8_0 {
  using Block = BlockQ8_0x4;
  static constexpr bool kMin = false, kFifth = false, kSigned = true;
  static constexpr int kOffsetShift = -1;
};
struct GroupQ4_0 {
  using Block = BlockQ4_0x4;
  static constexpr bool kMin = false, kFifth = false, kSigned = false;
  static constexpr int kOffsetShift = 3;
};
struct GroupQ4_1 {
  using Block = BlockQ4_1x4;
  static constexpr bool kMin = true, kFifth = false, kSigned = false;
  static constexpr int kOffsetShift = -1;
};
struct GroupQ5_0 {
  using Block = BlockQ5_0x4;
  static constexpr bool kMin = false, kFifth = true, kSigned = false;
  static constexpr int kOffsetShift = 4;
};
struct GroupQ5_1 {
  using Block = BlockQ5_1x4;
  static constexpr bool kMin = true, kFifth = true, kSigned = false;
  static constexpr int kOffsetShift = -1;
};

using GroupArgs = GroupsOf<Matmul4Args>;

template <class Group, class Dot>
struct GroupTile {
  template <int R, int T>
  static void run(const GroupArgs& g, int64_t g0, int64_t t0) {
    using Block = typename Group::Block;
    const Matmul4Args& m = g.m;
    const int64_t nb = m.k / 32;
    const Block* w[R];
    for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const Block*>(m.w) + (g0 + r) * nb;
    const BlockA8x4* a[T];
    for (int t = 0; t < T; ++t) a[t] = m.x + (t0 + t) * nb;
    // signed bytes: biased to q + 128 where Dot takes any byte (offset 128 = 2^7), else |q| and signs
    constexpr bool kBias = Group::kSigned && Dot::kAnyByte, kAbsSign = Group::kSigned && !Dot::kAnyByte;
    constexpr int kShift = kBias ? 7 : Group::kOffsetShift;
    __m256 acc[R][T];
    [[maybe_unused]] __m128 mins[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps(), mins[r][t] = _mm_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      for (int r = 0; r < R; ++r) {
        // decode: ask for the same block of the group R groups on, the next tile's (Zen 4, two
        // threads from memory, 32768 × 4096, three rounds: Q8_0 23–24 GB/s with 1 KB ahead in
        // the group's own stream, 30–32 so; Q4_0 29.5 → 33–43, 4096² decode 0.38 → 0.33 ms; two
        // tiles on, or eight groups at once, no better)
        if constexpr (T == 1) _mm_prefetch(reinterpret_cast<const char*>(w[r] + b + R * nb), _MM_HINT_T0);
        const Block& wb = w[r][b];
        const auto* qs = reinterpret_cast<const __m256i*>(wb.qs);
        __m256i q0, q1, q2, q3;
        [[maybe_unused]] __m256i aw0, aw1, aw2, aw3;
        if constexpr (Group::kSigned) {
          q0 = _mm256_loadu_si256(qs), q1 = _mm256_loadu_si256(qs + 1);
          q2 = _mm256_loadu_si256(qs + 2), q3 = _mm256_loadu_si256(qs + 3);
          if constexpr (kBias) {
            const __m256i bias = _mm256_set1_epi8(-128);
            q0 = _mm256_xor_si256(q0, bias), q1 = _mm256_xor_si256(q1, bias);
            q2 = _mm256_xor_si256(q2, bias), q3 = _mm256_xor_si256(q3, bias);
          } else {
            aw0 = _mm256_abs_epi8(q0), aw1 = _mm256_abs_epi8(q1), aw2 = _mm256_abs_epi8(q2), aw3 = _mm256_abs_epi8(q3);
          }
        } else {
          __m256i q[4];
          unpack_nibbles(wb.qs, q);
          q0 = q[0], q1 = q[1], q2 = q[2], q3 = q[3];
        }
        if constexpr (Group::kFifth) {  // 16 where the register's qh word has the byte's bit
          const __m256i sixteen = _mm256_set1_epi8(16);
          const auto* qh = reinterpret_cast<const uint8_t*>(wb.qh);
          q0 = _mm256_or_si256(q0, _mm256_and_si256(bits_to_bytes(qh), sixteen));
          q1 = _mm256_or_si256(q1, _mm256_and_si256(bits_to_bytes(qh + 4), sixteen));
          q2 = _mm256_or_si256(q2, _mm256_and_si256(bits_to_bytes(qh + 8), sixteen));
          q3 = _mm256_or_si256(q3, _mm256_and_si256(bits_to_bytes(qh + 12), sixteen));
        }
        // the four rows' scales in lanes l and l + 4, as the lanes' rows
        const __m256 dw = _mm256_cvtph_ps(_mm_castpd_si128(_mm_loaddup_pd(reinterpret_cast<const double*>(wb.d))));
        [[maybe_unused]] __m128 mw;
        if constexpr (Group::kMin) mw = _mm_cvtph_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(wb.m)));
        for (int t = 0; t < T; ++t) {
          const BlockA8x4& x = a[t][b];
          const auto* xq = reinterpret_cast<const __m256i*>(x.qs);
          __m256i lanes;
          if constexpr (kAbsSign) {  // one madd per register: four maddubs' int16 sums could overflow
            lanes = Dot::dot(aw0, _mm256_sign_epi8(_mm256_load_si256(xq), q0));
            lanes = Dot::dot_add(lanes, aw1, _mm256_sign_epi8(_mm256_load_si256(xq + 1), q1));
            lanes = Dot::dot_add(lanes, aw2, _mm256_sign_epi8(_mm256_load_si256(xq + 2), q2));
            lanes = Dot::dot_add(lanes, aw3, _mm256_sign_epi8(_mm256_load_si256(xq + 3), q3));
          } else {
            lanes = Dot::dot4(q0, q1, q2, q3, xq);
          }
          if constexpr (kShift >= 0)  // Σ (q − o)·a = Σ q·a − o·Σ a, exact in int32
            lanes = _mm256_sub_epi32(lanes, _mm256_slli_epi32(_mm256_load_si256(reinterpret_cast<const __m256i*>(x.sums)), kShift));
          acc[r][t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_broadcast_ss(&x.d)), _mm256_cvtepi32_ps(lanes), acc[r][t]);
          if constexpr (Group::kMin) mins[r][t] = _mm_add_ps(mins[r][t], _mm_mul_ps(mw, _mm_broadcast_ss(&x.s)));
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      const int valid = static_cast<int>(std::min<int64_t>(4, m.rows - 4 * (g0 + r)));
      for (int t = 0; t < T; ++t) {
        __m128 y = _mm_add_ps(_mm256_castps256_ps128(acc[r][t]), _mm256_extractf128_ps(acc[r][t], 1));  // acc[0] + acc[1] per row
        if constexpr (Group::kMin) y = _mm_add_ps(y, mins[r][t]);
        store_rows4(m.y + (t0 + t) * m.ldy + 4 * (g0 + r), y, valid);
      }
    }
  }
};

template <class Group, class Dot, int kG = kGroups, int kT = kTokens>
void group_matmul(const Matmul4Args& m) {
  const auto nb = static_cast<size_t>(m.k / 32);
  Tiled<GroupTile<Group, Dot>, kG, kT, kDecodeGroups, GroupArgs>::run({m, (m.rows + 3) / 4, m.n}, nb * sizeof(BlockA8x4),
                                                                           nb * sizeof(typename Group::Block));
}

}  // namespace
}  // namespace qforge::kernels
