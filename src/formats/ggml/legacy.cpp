// The 32-element "legacy" block types: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and IQ4_NL.
// Quantizers follow llama.cpp's *_ref routines operation for operation, including their
// rounding: Q4_0/Q5_0 truncate (int8)(v + 8.5), Q4_1/Q5_1 truncate v + 0.5, Q8_0 uses roundf.
#include <algorithm>
#include <cfloat>

#include "formats/ggml/blocks.h"
#include "formats/ggml/common.h"

namespace qforge::ggml {
namespace {

// The signed value of largest magnitude (the first one on ties) and its magnitude.
void signed_absmax(const float* x, int n, float* amax, float* max) {
  *amax = 0.0f;
  *max = 0.0f;
  for (int j = 0; j < n; ++j)
    if (*amax < std::fabs(x[j])) {
      *amax = std::fabs(x[j]);
      *max = x[j];
    }
}

void min_max(const float* x, int n, float* mn, float* mx) {
  *mn = FLT_MAX;
  *mx = -FLT_MAX;
  for (int j = 0; j < n; ++j) {
    *mn = std::min(*mn, x[j]);
    *mx = std::max(*mx, x[j]);
  }
}

// The 5th bits of 32 codes: bit j of qh for element j.
void store_high_bits(const uint8_t* q, uint8_t qh[4]) {
  uint32_t h = 0;
  for (int j = 0; j < 32; ++j) h |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
  std::memcpy(qh, &h, 4);
}
uint32_t load_high_bits(const uint8_t qh[4]) {
  uint32_t h;
  std::memcpy(&h, qh, 4);
  return h;
}

constexpr int8_t kIQ4NLValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

}  // namespace

void quantize_q4_0(const float* x, std::span<uint8_t> dst, size_t n) {
  for (size_t i = 0; i < n / QK4_0; ++i, x += QK4_0) {
    float amax, max;
    signed_absmax(x, QK4_0, &amax, &max);
    const float d = max / -8.0f;  // the extreme value maps to code 0 exactly
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ4_0 b{};
    b.d = fp16(d);
    for (int j = 0; j < QK4_0 / 2; ++j) {
      const auto lo = static_cast<uint8_t>(std::min(15, static_cast<int>(static_cast<int8_t>(x[j] * id + 8.5f))));
      const auto hi = static_cast<uint8_t>(std::min(15, static_cast<int>(static_cast<int8_t>(x[j + 16] * id + 8.5f))));
      b.qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
    store_block(dst, i, b);
  }
}

void dequantize_q4_0(std::span<const uint8_t> src, float* y, size_t n) {
  for (size_t i = 0; i < n / QK4_0; ++i, y += QK4_0) {
    const auto b = load_block<BlockQ4_0>(src, i);
    const float d = fp32(b.d);
    for (int j = 0; j < 16; ++j) {
      y[j] = static_cast<float>((b.qs[j] & 0x0F) - 8) * d;
      y[j + 16] = static_cast<float>((b.qs[j] >> 4) - 8) * d;
    }
  }
}

void quantize_q4_1(const float* x, std::span<uint8_t> dst, size_t n) {
  for (size_t i = 0; i < n / QK4_1; ++i, x += QK4_1) {
    float mn, mx;
    min_max(x, QK4_1, &mn, &mx);
    const float d = (mx - mn) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ4_1 b{};
    b.d = fp16(d);
    b.m = fp16(mn);
    for (int j = 0; j < 16; ++j) {
      const auto lo = static_cast<uint8_t>(std::min(15, static_cast<int>(static_cast<int8_t>((x[j] - mn) * id + 0.5f))));
      const auto hi = static_cast<uint8_t>(std::min(15, static_cast<int>(static_cast<int8_t>((x[j + 16] - mn) * id + 0.5f))));
      b.qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
    store_block(dst, i, b);
  }
}

void dequantize_q4_1(std::span<const uint8_t> src, float* y, size_t n) {
  for (size_t i = 0; i < n / QK4_1; ++i, y += QK4_1) {
    const auto b = load_block<BlockQ4_1>(src, i);
    const float d = fp32(b.d), m = fp32(b.m);
    for (int j = 0; j < 16; ++j) {
      y[j] = static_cast<float>(b.qs[j] & 0x0F) * d + m;
      y[j + 16] = static_cast<float>(b.qs[j] >> 4) * d + m;
    }
  }
}

void quantize_q5_0(const float* x, std::span<uint8_t> dst, size_t n) {
  for (size_t i = 0; i < n / QK5_0; ++i, x += QK5_0) {
    float amax, max;
    signed_absmax(x, QK5_0, &amax, &max);
    const float d = max / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ5_0 b{};
    b.d = fp16(d);
    uint8_t q[32];
    for (int j = 0; j < 32; ++j)
      q[j] = static_cast<uint8_t>(std::min(31, static_cast<int>(static_cast<int8_t>(x[j] * id + 16.5f))));
    for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>((q[j] & 0x0F) | ((q[j + 16] & 0x0F) << 4));
    store_high_bits(q, b.qh);
    store_block(dst, i, b);
  }
}

void dequantize_q5_0(std::span<const uint8_t> src, float* y, size_t n) {
  for (size_t i = 0; i < n / QK5_0; ++i, y += QK5_0) {
    const auto b = load_block<BlockQ5_0>(src, i);
    const float d = fp32(b.d);
    const uint32_t h = load_high_bits(b.qh);
    for (int j = 0; j < 16; ++j) {
      const int q0 = (b.qs[j] & 0x0F) | static_cast<int>(((h >> j) & 1) << 4);
      const int q1 = (b.qs[j] >> 4) | static_cast<int>(((h >> (j + 16)) & 1) << 4);
      y[j] = static_cast<float>(q0 - 16) * d;
      y[j + 16] = static_cast<float>(q1 - 16) * d;
    }
  }
}

void quantize_q5_1(const float* x, std::span<uint8_t> dst, size_t n) {
  for (size_t i = 0; i < n / QK5_1; ++i, x += QK5_1) {
    float mn, mx;
    min_max(x, QK5_1, &mn, &mx);
    const float d = (mx - mn) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ5_1 b{};
    b.d = fp16(d);
    b.m = fp16(mn);
    uint8_t q[32];
    for (int j = 0; j < 32; ++j) q[j] = static_cast<uint8_t>((x[j] - mn) * id + 0.5f);  // truncation, no clamp
    for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>((q[j] & 0x0F) | ((q[j + 16] & 0x0F) << 4));
    store_high_bits(q, b.qh);
    store_block(dst, i, b);
  }
}

void dequantize_q5_1(std::span<const uint8_t> src, float* y, size_t n) {
  for (size_t i = 0; i < n / QK5_1; ++i, y += QK5_1) {
    const auto b = load_block<BlockQ5_1>(src, i);
    const float d = fp32(b.d), m = fp32(b.m);
    const uint32_t h = load_high_bits(b.qh);
    for (int j = 0; j < 16; ++j) {
      const int q0 = (b.qs[j] & 0x0F) | static_cast<int>(((h >> j) & 1) << 4);
      const int q1 = (b.qs[j] >> 4) | static_cast<int>(((h >> (j + 16)) & 1) << 4);
      y[j] = static_cast<float>(q0) * d + m;
      y[j + 16] = static_cast<float>(q1) * d + m;
    }
  }
}

void quantize_q8_0(const float* x, std::span<uint8_t> dst, size_t n) {
  for (size_t i = 0; i < n / QK8_0; ++i, x += QK8_0) {
    float amax = 0.0f;
    for (int j = 0; j < QK8_0; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;  // the f32 d, not its fp16 rounding
    BlockQ8_0 b{};
    b.d = fp16(d);
    for (int j = 0; j < QK8_0; ++j) b.qs[j] = static_cast<int8_t>(std::round(x[j] * id));
    store_block(dst, i, b);
  }
}

void dequantize_q8_0(std::span<const uint8_t> src, float* y, size_t n) {
  for (size_t i = 0; i < n / QK8_0; ++i, y += QK8_0) {
    const auto b = load_block<BlockQ8_0>(src, i);
    const float d = fp32(b.d);
    for (int j = 0; j < QK8_0; ++j) y[j] = static_cast<float>(b.qs[j]) * d;
  }
}

void dequantize_iq4_nl(std::span<const uint8_t> src, float* y, size_t n) {
  for (size_t i = 0; i < n / QK4_NL; ++i, y += QK4_NL) {
    const auto b = load_block<BlockIQ4_NL>(src, i);
    const float d = fp32(b.d);
    for (int j = 0; j < 16; ++j) {
      y[j] = d * static_cast<float>(kIQ4NLValues[b.qs[j] & 0x0F]);
      y[j + 16] = d * static_cast<float>(kIQ4NLValues[b.qs[j] >> 4]);
    }
  }
}

}  // namespace qforge::ggml
