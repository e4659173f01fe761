// ggml block layouts, byte for byte. fp16 fields are IEEE half bit patterns.
#pragma once

#include <cstdint>

namespace qforge::ggml {

inline constexpr int QK4_0 = 32, QK4_1 = 32, QK5_0 = 32, QK5_1 = 32, QK8_0 = 32, QK4_NL = 32, QK_K = 256;
inline constexpr int K_SCALE_SIZE = 12;

// x = d·(q − 8), q in 0..15; qs[j] holds element j (low nibble) and j+16 (high nibble).
struct BlockQ4_0 { uint16_t d; uint8_t qs[QK4_0 / 2]; };
static_assert(sizeof(BlockQ4_0) == 18, "Q4_0 block is 18 bytes");
// x = d·q + m
struct BlockQ4_1 { uint16_t d, m; uint8_t qs[QK4_1 / 2]; };
static_assert(sizeof(BlockQ4_1) == 20, "Q4_1 block is 20 bytes");
// x = d·(q − 16), q 5-bit: low nibbles in qs, fifth bits in qh (bit j for element j)
struct BlockQ5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[QK5_0 / 2]; };
static_assert(sizeof(BlockQ5_0) == 22, "Q5_0 block is 22 bytes");
// x = d·q + m
struct BlockQ5_1 { uint16_t d, m; uint8_t qh[4]; uint8_t qs[QK5_1 / 2]; };
static_assert(sizeof(BlockQ5_1) == 24, "Q5_1 block is 24 bytes");
// x = d·q, q int8
struct BlockQ8_0 { uint16_t d; int8_t qs[QK8_0]; };
static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 block is 34 bytes");
// x = d·kvalues_iq4nl[q]
struct BlockIQ4_NL { uint16_t d; uint8_t qs[QK4_NL / 2]; };
static_assert(sizeof(BlockIQ4_NL) == 18, "IQ4_NL block is 18 bytes");

// 16 sub-blocks of 16: x = d·(scales&15)·q − dmin·(scales>>4), q 2-bit
struct BlockQ2_K { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; uint16_t d, dmin; };
static_assert(sizeof(BlockQ2_K) == 84, "Q2_K block is 84 bytes");
// 16 sub-blocks of 16: x = d·(s − 32)·(q − 4·!hbit), 6-bit scales packed in 12 bytes
struct BlockQ3_K { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[12]; uint16_t d; };
static_assert(sizeof(BlockQ3_K) == 110, "Q3_K block is 110 bytes");
// 8 sub-blocks of 32: x = d·sc·q − dmin·m, 6-bit sc/m packed in 12 bytes
struct BlockQ4_K { uint16_t d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qs[QK_K / 2]; };
static_assert(sizeof(BlockQ4_K) == 144, "Q4_K block is 144 bytes");
// as Q4_K with a fifth bit per element in qh
struct BlockQ5_K { uint16_t d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; };
static_assert(sizeof(BlockQ5_K) == 176, "Q5_K block is 176 bytes");
// 16 sub-blocks of 16: x = d·scales[i]·(q − 32), q 6-bit (ql low nibbles, qh top 2 bits)
struct BlockQ6_K { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; uint16_t d; };
static_assert(sizeof(BlockQ6_K) == 210, "Q6_K block is 210 bytes");
// ternary, 5 trits per byte stored as ceil(v·256/243); x = d·(t − 1)
struct BlockTQ1_0 { uint8_t qs[(QK_K - 4 * QK_K / 64) / 5]; uint8_t qh[QK_K / 64]; uint16_t d; };
static_assert(sizeof(BlockTQ1_0) == 54, "TQ1_0 block is 54 bytes");
// ternary in 2 bits: x = d·(q − 1)
struct BlockTQ2_0 { uint8_t qs[QK_K / 4]; uint16_t d; };
static_assert(sizeof(BlockTQ2_0) == 66, "TQ2_0 block is 66 bytes");

// Q4_K/Q5_K pack eight 6-bit scales and eight 6-bit mins into 12 bytes: sub-block j < 4 in the
// low 6 bits of bytes j and j + 4; j ≥ 4 in the nibbles of byte j + 4 with its top two bits in
// the spare top bits of bytes j − 4 (scale) and j (min).
inline void unpack_scale_min(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// The inverse of unpack_scale_min: j = 0..7 in order into zeroed bytes (j < 4 writes whole
// bytes that j ≥ 4 then tops up).
inline void pack_scale_min(int j, uint8_t sc, uint8_t m, uint8_t* q) {
  if (j < 4) {
    q[j] = sc;
    q[j + 4] = m;
  } else {
    q[j + 4] = static_cast<uint8_t>((sc & 0xF) | ((m & 0xF) << 4));
    q[j - 4] = static_cast<uint8_t>(q[j - 4] | ((sc >> 4) << 6));
    q[j] = static_cast<uint8_t>(q[j] | ((m >> 4) << 6));
  }
}

// Trit k (0 = most significant) of a TQ1_0 byte: multiplying by 3^k mod 256 brings it to the
// top, and (v·3) >> 8 reads it.
inline int unpack_trit(uint8_t byte, int k) {
  constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
  const auto shifted = static_cast<uint8_t>(byte * kPow3[k]);
  return (static_cast<int>(shifted) * 3) >> 8;
}

}  // namespace qforge::ggml
