// AVX2 + FMA + F16C dot kernels (compiled with those flags only). Integer formats follow the
// spec in reference.cpp exactly: each format only says how to unpack a block of 32 weights into
// int8 lanes in element order; one body does the rest.
#include <immintrin.h>

#include <cstring>

#include "kernels/dot/dot_kernels.h"
#include "qforge/float_convert.h"

namespace qforge::kernels {
namespace {

float hmax8(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

int32_t hsum8_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// f16 → f32 inline (F16C); exact, so it equals the reference's f16_to_f32 bit for bit.
float half(uint16_t h) { return _cvtsh_ss(h); }

float reduce8_avx(__m256 v) {
  alignas(32) float a[8];
  _mm256_store_ps(a, v);
  return reduce8(a);
}

void quantize_a8_avx2(const float* x, BlockA8* out, int64_t n) {
  const __m256 sign = _mm256_set1_ps(-0.0f), lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t b = 0; b < n / 32; ++b) {
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_loadu_ps(x + b * 32 + 8 * k);
      amax = _mm256_max_ps(_mm256_andnot_ps(sign, v[k]), amax);  // a NaN lane keeps amax (as fmax does)
    }
    const float m = hmax8(amax);
    const float d = m / 127.0f;
    const __m256 id = _mm256_set1_ps(d != 0.0f ? 127.0f / m : 0.0f);
    __m256i q[4];
    for (int k = 0; k < 4; ++k) {
      __m256 t = _mm256_mul_ps(v[k], id);
      t = _mm256_and_ps(t, _mm256_cmp_ps(t, t, _CMP_ORD_Q));  // NaN → 0
      t = _mm256_min_ps(_mm256_max_ps(t, lo), hi);
      q[k] = _mm256_cvtps_epi32(_mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    const int32_t sum = hsum8_i32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
    const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[b].qs), _mm256_permutevar8x32_epi32(packed, order));
    out[b].d = d;
    out[b].s = d * static_cast<float>(sum);
  }
}

// 32 four-bit values, qs[j] holding element j (low nibble) and j + 16 (high nibble), in order.
__m256i nibbles(const uint8_t* qs) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i mask = _mm_set1_epi8(0x0F);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), mask), _mm_and_si128(raw, mask));
}

// 0xFF in byte j where bit j of the 32-bit field qh is set.
__m256i bits_to_bytes(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)),
                                             _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
  const __m256i select = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ULL));
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, select), select);
}

struct UnpackQ8_0 {
  static constexpr bool kSigned = true;
  static __m256i weights(const ggml::BlockQ8_0& w) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs)); }
};
struct UnpackQ4_0 {
  static constexpr bool kSigned = true;
  static __m256i weights(const ggml::BlockQ4_0& w) { return _mm256_sub_epi8(nibbles(w.qs), _mm256_set1_epi8(8)); }
};
struct UnpackQ5_0 {  // (q | bit·16) − 16 = q | (bit ? 0 : 0xF0) as int8
  static constexpr bool kSigned = true;
  static __m256i weights(const ggml::BlockQ5_0& w) {
    return _mm256_or_si256(nibbles(w.qs), _mm256_andnot_si256(bits_to_bytes(w.qh), _mm256_set1_epi8(static_cast<char>(0xF0))));
  }
};
struct UnpackQ4_1 {
  static constexpr bool kSigned = false;
  static __m256i weights(const ggml::BlockQ4_1& w) { return nibbles(w.qs); }
};
struct UnpackQ5_1 {
  static constexpr bool kSigned = false;
  static __m256i weights(const ggml::BlockQ5_1& w) {
    return _mm256_or_si256(nibbles(w.qs), _mm256_and_si256(bits_to_bytes(w.qh), _mm256_set1_epi8(0x10)));
  }
};

// The spec's lanes: maddubs pairs then madd pairs give lane k = Σ of elements 4k..4k+3.
template <class Unpack, class Block>
float lanes_dot(const Block* w, const BlockA8* a, int64_t nb) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const __m256i wq = Unpack::weights(w[b]);
    const __m256i aq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b].qs));
    const __m256i pairs = Unpack::kSigned ? _mm256_maddubs_epi16(_mm256_abs_epi8(wq), _mm256_sign_epi8(aq, wq))
                                          : _mm256_maddubs_epi16(wq, aq);
    const __m256 lanes = _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, ones));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(half(w[b].d) * a[b].d), lanes, acc);
  }
  return reduce8_avx(acc);
}

template <class Block>
float block_mins(const Block* w, const BlockA8* a, int64_t nb) {
  float mins = 0;
  for (int64_t b = 0; b < nb; ++b) mins += half(w[b].m) * a[b].s;
  return mins;
}

float q8_0_avx2(const ggml::BlockQ8_0* w, const BlockA8* a, int64_t nb) { return lanes_dot<UnpackQ8_0>(w, a, nb); }
float q4_0_avx2(const ggml::BlockQ4_0* w, const BlockA8* a, int64_t nb) { return lanes_dot<UnpackQ4_0>(w, a, nb); }
float q5_0_avx2(const ggml::BlockQ5_0* w, const BlockA8* a, int64_t nb) { return lanes_dot<UnpackQ5_0>(w, a, nb); }
float q4_1_avx2(const ggml::BlockQ4_1* w, const BlockA8* a, int64_t nb) {
  const float mins = block_mins(w, a, nb);
  return lanes_dot<UnpackQ4_1>(w, a, nb) + mins;
}
float q5_1_avx2(const ggml::BlockQ5_1* w, const BlockA8* a, int64_t nb) {
  const float mins = block_mins(w, a, nb);
  return lanes_dot<UnpackQ5_1>(w, a, nb) + mins;
}

// Float dots: four independent 8-lane FMA chains, then the leftovers one by one.
template <class Load>
float float_dot(const float* x, int64_t n, Load load, const auto& scalar) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int k = 0; k < 4; ++k) acc[k] = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8 * k), load(i + 8 * k), acc[k]);
  for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), load(i), acc[0]);
  float s = reduce8_avx(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  for (; i < n; ++i) s += x[i] * scalar(i);
  return s;
}

float f32_avx2(const float* x, const float* w, int64_t n) {
  return float_dot(x, n, [&](int64_t i) { return _mm256_loadu_ps(w + i); }, [&](int64_t i) { return w[i]; });
}
float f16_avx2(const float* x, const uint16_t* w, int64_t n) {
  return float_dot(
      x, n, [&](int64_t i) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i))); },
      [&](int64_t i) { return f16_to_f32(w[i]); });
}
float bf16_avx2(const float* x, const uint16_t* w, int64_t n) {
  return float_dot(
      x, n,
      [&](int64_t i) {
        const __m256i u = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
      },
      [&](int64_t i) { return bf16_to_f32(w[i]); });
}

}  // namespace

DotKernels dot_kernels_avx2() {
  return {Isa::Avx2, quantize_a8_avx2, q8_0_avx2, q4_0_avx2, q4_1_avx2, q5_0_avx2, q5_1_avx2, f32_avx2, f16_avx2, bf16_avx2};
}

}  // namespace qforge::kernels
