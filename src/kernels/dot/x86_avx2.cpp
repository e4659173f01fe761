// AVX2 + FMA + F16C kernels for the float formats and the 32-element block formats' single dots
// (compiled with those flags only; the super-block formats live in x86_avx2_superblock.cpp, the
// block formats' matmuls, interleaved, in x86_avx2_interleaved.cpp). Every output element
// follows the spec in reference.cpp exactly, whatever the tile; float single dots are 1 × 1
// tiles.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <utility>

#include "kernels/dot/dot_kernels.h"
#include "kernels/dot/x86_avx2_tiling.h"
#include "kernels/dot/x86_block_unpack.h"
#include "kernels/x86_avx2_reduce.h"
#include "qforge/float_convert.h"

namespace qforge::kernels {
namespace {

float hmax8(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// Float tile shapes (rows × tokens), chosen by interleaved A/B timing on this machine class.
constexpr int kFloatRows = 4, kFloatTokens = 3, kFloatDecodeRows = 4;

// max |x_i| over `count` values (a multiple of 8); a NaN lane keeps the maximum, as fmax does.
float abs_max(const float* x, int64_t count) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 amax = _mm256_setzero_ps();
  for (int64_t i = 0; i < count; i += 8) amax = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)), amax);
  return hmax8(amax);
}

// The spec's code rule for the 32 values at x under id = 127/amax (0 when d is 0); returns Σ q.
int32_t quantize_32(const float* x, __m256 id, int8_t* qs) {
  const __m256 lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
  __m256i q[4];
  for (int k = 0; k < 4; ++k) {
    __m256 t = _mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), id);
    t = _mm256_and_ps(t, _mm256_cmp_ps(t, t, _CMP_ORD_Q));  // NaN → 0
    t = _mm256_min_ps(_mm256_max_ps(t, lo), hi);
    q[k] = _mm256_cvtps_epi32(_mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
  return hsum8_i32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
}

void quantize_a8_avx2(const float* x, BlockA8* out, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b) {
    const float m = abs_max(x + b * 32, 32);
    const float d = m / 127.0f;
    out[b].d = d;
    out[b].s = d * static_cast<float>(quantize_32(x + b * 32, _mm256_set1_ps(d != 0.0f ? 127.0f / m : 0.0f), out[b].qs));
  }
}

void quantize_a8k_avx2(const float* x, BlockA8K* out, int64_t n) {
  for (int64_t b = 0; b < n / 256; ++b) {
    const float m = abs_max(x + b * 256, 256);
    out[b] = BlockA8K{};
    out[b].d = m / 127.0f;
    const __m256 id = _mm256_set1_ps(out[b].d != 0.0f ? 127.0f / m : 0.0f);
    for (int j = 0; j < 8; ++j) out[b].bsums[j] = static_cast<int16_t>(quantize_32(x + b * 256 + 32 * j, id, out[b].qs + 32 * j));
  }
}

struct LoadF32 {
  using Elem = float;
  static __m256 load(const float* p) { return _mm256_loadu_ps(p); }
  static float scalar(float v) { return v; }
};
struct LoadF16 {
  using Elem = uint16_t;
  static __m256 load(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static float scalar(uint16_t v) { return half(v); }
};
struct LoadBF16 {
  using Elem = uint16_t;
  static __m256 load(const uint16_t* p) {
    const __m256i u = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
  }
  static float scalar(uint16_t v) { return bf16_to_f32(v); }
};

// A register tile of R rows × T tokens of a float format, in the spec's order.
template <class Load>
struct FloatTile {
  template <int R, int T>
  static void run(const MatmulArgs& m, int64_t r0, int64_t t0) {
    using Elem = typename Load::Elem;
    const Elem* w[R];
    const float* x[T];
    for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const Elem*>(m.w + static_cast<size_t>(r0 + r) * m.row_bytes);
    for (int t = 0; t < T; ++t) x[t] = static_cast<const float*>(m.x) + (t0 + t) * m.k;
    __m256 acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
    const int64_t whole = m.k - m.k % 8;
    for (int64_t i = 0; i < whole; i += 8) {
      for (int r = 0; r < R; ++r) {
        const __m256 wv = Load::load(w[r] + i);
        for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(_mm256_loadu_ps(x[t] + i), wv, acc[r][t]);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) {
        float s = reduce8_avx(acc[r][t]);
        for (int64_t i = whole; i < m.k; ++i) s = std::fmaf(x[t][i], Load::scalar(w[r][i]), s);
        m.y[(t0 + t) * m.ldy + r0 + r] = s;
      }
  }
};

template <class Load, int kR, int kT>
void float_matmul(const MatmulArgs& m) {
  Tiled<FloatTile<Load>, kR, kT, kFloatDecodeRows>::run(m, static_cast<size_t>(m.k) * sizeof(float), m.row_bytes);
}

// Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1 rows in their GGUF layout, in the spec's two halves (the
// matmul kernels read them interleaved): the eight lanes of 4 products folded to the even and
// the odd ones.
template <class Unpack>
float halves_dot(const typename Unpack::Block* w, const BlockA8* a, int64_t nb) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m128 acc = _mm_setzero_ps();
  float mins = 0;
  for (int64_t b = 0; b < nb; ++b) {
    const __m256i aq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b].qs));
    const __m256i wq = Unpack::weights(w[b]);
    __m256i lanes = Unpack::kSigned ? _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(wq), _mm256_sign_epi8(aq, wq)), ones)
                                    : _mm256_madd_epi16(_mm256_maddubs_epi16(wq, aq), ones);
    if constexpr (Unpack::kOffset != 0)
      lanes = _mm256_sub_epi32(lanes, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(Unpack::kOffset), aq), ones));
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(lanes), _mm256_extracti128_si256(lanes, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(1, 0, 3, 2)));  // lanes 0, 1: the halves
    acc = _mm_fmadd_ps(_mm_set1_ps(half(w[b].d) * a[b].d), _mm_cvtepi32_ps(h), acc);
    if constexpr (Unpack::kMin) mins += half(w[b].m) * a[b].s;
  }
  return (_mm_cvtss_f32(acc) + _mm_cvtss_f32(_mm_movehdup_ps(acc))) + mins;
}

template <class Load>
float float_dot(const float* x, const typename Load::Elem* w, int64_t n) {
  float y;
  FloatTile<Load>::template run<1, 1>({reinterpret_cast<const uint8_t*>(w), 0, 1, x, 1, n, &y, 1}, 0, 0);
  return y;
}

}  // namespace

DotKernels dot_kernels_avx2() {
  DotKernels k{};
  k.isa = Isa::Avx2;
  k.quantize_a8 = quantize_a8_avx2;
  k.quantize_a8k = quantize_a8k_avx2;
  k.q8_0 = halves_dot<UnpackQ8_0>, k.q4_0 = halves_dot<UnpackQ4_0>, k.q4_1 = halves_dot<UnpackQ4_1>;
  k.q5_0 = halves_dot<UnpackQ5_0>, k.q5_1 = halves_dot<UnpackQ5_1>;
  // Q4_K and Q6_K run interleaved only (q4_kx4, q6_kx4); their single-row dots are the spec
  k.q4_k = dot_kernels_scalar().q4_k, k.q6_k = dot_kernels_scalar().q6_k;
  k.f32 = float_dot<LoadF32>, k.f16 = float_dot<LoadF16>, k.bf16 = float_dot<LoadBF16>;
  MatmulKernels& mm = k.matmul;
  mm.f32 = float_matmul<LoadF32, kFloatRows, kFloatTokens>, mm.f16 = float_matmul<LoadF16, kFloatRows, kFloatTokens>;
  mm.bf16 = float_matmul<LoadBF16, kFloatRows, kFloatTokens>;
  add_superblock_kernels_avx2(k);
  add_interleaved_kernels_avx2(k);
  return k;
}

}  // namespace qforge::kernels
