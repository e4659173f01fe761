// How the 32-element block formats' GGUF blocks become int8 lanes in element order, for the
// x86 kernels that read the row layout (the single dots; the matmuls read the interleaved one).
// Include only from ISA files (AVX2 flags or more); the unnamed namespace keeps each one's copy
// its own.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/dot/dot_kernels.h"
#include "kernels/dot/x86_avx2_tiling.h"

namespace qforge::kernels {
namespace {

// 32 five-bit values 0..31: the nibbles, with bit j of qh as bit 4 of element j.
__m256i five_bits(const uint8_t* qh, const uint8_t* qs) {
  return _mm256_or_si256(nibbles(qs), _mm256_and_si256(bits_to_bytes(qh), _mm256_set1_epi8(0x10)));
}

// How each format's block of 32 becomes int8 lanes in element order. Signed weights (kSigned)
// take the abs/sign route into maddubs; the others are unsigned, and an offset format's lane
// sums are corrected exactly in int32: Σ (q − o)·a = Σ q·a − o·Σ a.
struct UnpackQ8_0 {
  using Block = ggml::BlockQ8_0;
  static constexpr bool kSigned = true, kMin = false;
  static constexpr int kOffset = 0;
  static __m256i weights(const Block& w) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs)); }
};
struct UnpackQ4_0 {
  using Block = ggml::BlockQ4_0;
  static constexpr bool kSigned = false, kMin = false;
  static constexpr int kOffset = 8;
  static __m256i weights(const Block& w) { return nibbles(w.qs); }
};
struct UnpackQ5_0 {
  using Block = ggml::BlockQ5_0;
  static constexpr bool kSigned = false, kMin = false;
  static constexpr int kOffset = 16;
  static __m256i weights(const Block& w) { return five_bits(w.qh, w.qs); }
};
struct UnpackQ4_1 {
  using Block = ggml::BlockQ4_1;
  static constexpr bool kSigned = false, kMin = true;
  static constexpr int kOffset = 0;
  static __m256i weights(const Block& w) { return nibbles(w.qs); }
};
struct UnpackQ5_1 {
  using Block = ggml::BlockQ5_1;
  static constexpr bool kSigned = false, kMin = true;
  static constexpr int kOffset = 0;
  static __m256i weights(const Block& w) { return five_bits(w.qh, w.qs); }
};

}  // namespace
}  // namespace qforge::kernels
