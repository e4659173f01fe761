// Helpers shared by the ggml block codecs: fp16 fields, and the rounding rules each
// reference quantizer uses (they differ per type and bit-exactness depends on them).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>

#include "qforge/float_convert.h"

namespace qforge::ggml {

inline uint16_t fp16(float x) { return f32_to_f16(x); }
inline float fp32(uint16_t h) { return f16_to_f32(h); }

// k-quants' nearest_int: adding 1.5·2^23 leaves round(f) (ties to even) in the low
// mantissa bits. Valid for |f| < 2^22; callers have rejected NaN/Inf already.
inline int nearest_int(float f) {
  const float v = f + 12582912.0f;
  int32_t i;
  std::memcpy(&i, &v, sizeof i);
  return (i & 0x007FFFFF) - 0x00400000;
}

// Blocks are copied out of (and into) the byte stream: file data need not be aligned.
template <class Block>
Block load_block(std::span<const uint8_t> src, size_t index) {
  Block b;
  std::memcpy(&b, src.data() + index * sizeof(Block), sizeof(Block));
  return b;
}
template <class Block>
void store_block(std::span<uint8_t> dst, size_t index, const Block& b) {
  std::memcpy(dst.data() + index * sizeof(Block), &b, sizeof(Block));
}

// Per-type codecs, n = elements (a multiple of the block size, checked by the caller).
void dequantize_q4_0(std::span<const uint8_t> src, float* y, size_t n);
void dequantize_q4_1(std::span<const uint8_t> src, float* y, size_t n);
void dequantize_q5_0(std::span<const uint8_t> src, float* y, size_t n);
void dequantize_q5_1(std::span<const uint8_t> src, float* y, size_t n);
void dequantize_q8_0(std::span<const uint8_t> src, float* y, size_t n);
void dequantize_iq4_nl(std::span<const uint8_t> src, float* y, size_t n);
void quantize_q4_0(const float* x, std::span<uint8_t> dst, size_t n);
void quantize_q4_1(const float* x, std::span<uint8_t> dst, size_t n);
void quantize_q5_0(const float* x, std::span<uint8_t> dst, size_t n);
void quantize_q5_1(const float* x, std::span<uint8_t> dst, size_t n);
void quantize_q8_0(const float* x, std::span<uint8_t> dst, size_t n);

void dequantize_q2_k(std::span<const uint8_t> src, float* y, size_t n);
void dequantize_q3_k(std::span<const uint8_t> src, float* y, size_t n);
void dequantize_q4_k(std::span<const uint8_t> src, float* y, size_t n);
void dequantize_q5_k(std::span<const uint8_t> src, float* y, size_t n);
void dequantize_q6_k(std::span<const uint8_t> src, float* y, size_t n);
void quantize_q4_k(const float* x, std::span<uint8_t> dst, size_t n);
void quantize_q6_k(const float* x, std::span<uint8_t> dst, size_t n);

void dequantize_tq1_0(std::span<const uint8_t> src, float* y, size_t n);
void dequantize_tq2_0(std::span<const uint8_t> src, float* y, size_t n);
void quantize_tq1_0(const float* x, std::span<uint8_t> dst, size_t n);
void quantize_tq2_0(const float* x, std::span<uint8_t> dst, size_t n);

}  // namespace qforge::ggml
