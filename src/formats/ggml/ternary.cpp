// Ternary 256-element blocks (BitNet b1.58 models in llama.cpp): TQ1_0 packs 5 trits per
// byte in the multiply-decodable form ceil(v·256/243), TQ2_0 packs 2 bits per trit.
// Both scale by the block's absmax and round with lroundf, as the reference does.
#include <algorithm>

#include "formats/ggml/blocks.h"
#include "formats/ggml/common.h"

namespace qforge::ggml {
namespace {

float block_absmax(const float* x) {
  float amax = 0.0f;
  for (int j = 0; j < QK_K; ++j) amax = std::max(amax, std::fabs(x[j]));
  return amax;
}

// (round(x/d) + 1) in {0, 1, 2}; x/d is within [−1, 1] by construction of d.
int trit(float v, float id) { return static_cast<int>(std::lround(v * id)) + 1; }

// Five trits (the first most significant), scaled so that multiplying by 3^k brings trit k
// to the top of the byte.
uint8_t pack5(const int t[5]) {
  unsigned v = 0;
  for (int k = 0; k < 5; ++k) v = v * 3 + static_cast<unsigned>(t[k]);
  return static_cast<uint8_t>((v * 256 + 242) / 243);
}

}  // namespace

void quantize_tq1_0(const float* x, std::span<uint8_t> dst, size_t n) {
  for (size_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    const float d = block_absmax(x);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockTQ1_0 b{};
    b.d = fp16(d);
    // qs[0..31]: elements 0..159, trit k of byte m is element m + 32k
    for (int m = 0; m < 32; ++m) {
      int t[5];
      for (int k = 0; k < 5; ++k) t[k] = trit(x[m + 32 * k], id);
      b.qs[m] = pack5(t);
    }
    // qs[32..47]: elements 160..239, trit k of byte m is element 160 + m + 16k
    for (int m = 0; m < 16; ++m) {
      int t[5];
      for (int k = 0; k < 5; ++k) t[k] = trit(x[160 + m + 16 * k], id);
      b.qs[32 + m] = pack5(t);
    }
    // qh[0..3]: elements 240..255, four trits per byte (element 240 + j + 4k) and a zero fifth
    for (int j = 0; j < 4; ++j) {
      int t[5] = {0, 0, 0, 0, 0};
      for (int k = 0; k < 4; ++k) t[k] = trit(x[240 + j + 4 * k], id);
      b.qh[j] = pack5(t);
    }
    store_block(dst, i, b);
  }
}

void dequantize_tq1_0(std::span<const uint8_t> src, float* y, size_t n) {
  for (size_t i = 0; i < n / QK_K; ++i, y += QK_K) {
    const auto b = load_block<BlockTQ1_0>(src, i);
    const float d = fp32(b.d);
    for (int m = 0; m < 32; ++m)
      for (int k = 0; k < 5; ++k) y[m + 32 * k] = static_cast<float>(unpack_trit(b.qs[m], k) - 1) * d;
    for (int m = 0; m < 16; ++m)
      for (int k = 0; k < 5; ++k) y[160 + m + 16 * k] = static_cast<float>(unpack_trit(b.qs[32 + m], k) - 1) * d;
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 4; ++k) y[240 + j + 4 * k] = static_cast<float>(unpack_trit(b.qh[j], k) - 1) * d;
  }
}

void quantize_tq2_0(const float* x, std::span<uint8_t> dst, size_t n) {
  for (size_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    const float d = block_absmax(x);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockTQ2_0 b{};
    b.d = fp16(d);
    // byte m of half h holds elements 128h + m + 32k at bits 2k
    for (int h = 0; h < 2; ++h)
      for (int m = 0; m < 32; ++m) {
        unsigned q = 0;
        for (int k = 0; k < 4; ++k) q |= static_cast<unsigned>(trit(x[128 * h + m + 32 * k], id) & 3) << (2 * k);
        b.qs[32 * h + m] = static_cast<uint8_t>(q);
      }
    store_block(dst, i, b);
  }
}

void dequantize_tq2_0(std::span<const uint8_t> src, float* y, size_t n) {
  for (size_t i = 0; i < n / QK_K; ++i, y += QK_K) {
    const auto b = load_block<BlockTQ2_0>(src, i);
    const float d = fp32(b.d);
    for (int h = 0; h < 2; ++h)
      for (int m = 0; m < 32; ++m)
        for (int k = 0; k < 4; ++k)
          y[128 * h + m + 32 * k] = static_cast<float>(static_cast<int>((b.qs[32 * h + m] >> (2 * k)) & 3) - 1) * d;
  }
}

}  // namespace qforge::ggml
