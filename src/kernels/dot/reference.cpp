// The dot kernels' spec: plain loops that fix the result bit for bit (integer formats) or
// compute it in the most direct order (float formats). SIMD versions are tested against these.
// Element values are read by index, straight from each block's documented layout, so they do
// not share the SIMD files' unpacking tricks.
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/dot/dot_kernels.h"
#include "kernels/dot/interleaved4.h"
#include "qforge/float_convert.h"

namespace qforge::kernels {
namespace {

float half(uint16_t h) { return f16_to_f32(h); }

// max |v_i| over `count` values, skipping NaN (as fmax does).
float max_abs(const float* v, int count) {
  float amax = 0;
  for (int i = 0; i < count; ++i) amax = std::fmax(amax, std::fabs(v[i]));
  return amax;
}

// The int8 code rule for `count` values under the scale d = amax/127: q = round-half-even(v·127/amax)
// clamped to ±127, all 0 when d is 0 (NaN, from a NaN or an infinity among the values, → 0,
// never UB); returns Σ q.
int quantize_codes(const float* v, int count, float amax, float d, int8_t* qs) {
  const float id = d != 0.0f ? 127.0f / amax : 0.0f;
  int sum = 0;
  for (int i = 0; i < count; ++i) {
    float t = v[i] * id;
    if (t != t) t = 0;
    t = std::fmin(std::fmax(t, -127.0f), 127.0f);
    const auto q = static_cast<int>(std::nearbyint(t));  // ties to even (default rounding)
    qs[i] = static_cast<int8_t>(q);
    sum += q;
  }
  return sum;
}

void quantize_a8_ref(const float* x, BlockA8* out, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b) {
    const float amax = max_abs(x + b * 32, 32);
    const float d = amax / 127.0f;
    out[b].d = d;
    out[b].s = d * static_cast<float>(quantize_codes(x + b * 32, 32, amax, d, out[b].qs));
  }
}

void quantize_a8k_ref(const float* x, BlockA8K* out, int64_t n) {
  for (int64_t b = 0; b < n / 256; ++b) {
    const float amax = max_abs(x + b * 256, 256);
    out[b] = BlockA8K{};
    out[b].d = amax / 127.0f;
    for (int j = 0; j < 8; ++j)
      out[b].bsums[j] = static_cast<int16_t>(quantize_codes(x + b * 256 + 32 * j, 32, amax, out[b].d, out[b].qs + 32 * j));
  }
}

// Σ over blocks of d_w·d_a·(lane sums) in the spec's order (`weights(b, i)`: weight i of block
// b as an integer; `scale(b)`: its f32 scale). Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1: two lanes, lane h
// summing the elements i with bit 2 of i equal to h (the lanes their interleaved kernels form),
// then acc[0] + acc[1].
template <class Weight, class Scale>
float halves_dot(const BlockA8* a, int64_t nb, Weight weights, Scale scale) {
  float acc[2] = {0, 0};
  for (int64_t b = 0; b < nb; ++b) {
    const float d = scale(b) * a[b].d;
    for (int h = 0; h < 2; ++h) {
      int32_t lane = 0;
      for (int i = 0; i < 32; ++i)
        if (((i >> 2) & 1) == h) lane += weights(b, i) * a[b].qs[i];
      acc[h] = std::fma(d, static_cast<float>(lane), acc[h]);
    }
  }
  return acc[0] + acc[1];
}

int nibble(const uint8_t* qs, int i) { return i < 16 ? qs[i] & 0x0F : qs[i - 16] >> 4; }
int high_bit(const uint8_t* qh, int i) { return (qh[i / 8] >> (i % 8)) & 1; }

float q8_0_ref(const ggml::BlockQ8_0* w, const BlockA8* a, int64_t nb) {
  return halves_dot(a, nb, [&](int64_t b, int i) { return int{w[b].qs[i]}; }, [&](int64_t b) { return half(w[b].d); });
}
float q4_0_ref(const ggml::BlockQ4_0* w, const BlockA8* a, int64_t nb) {
  return halves_dot(a, nb, [&](int64_t b, int i) { return nibble(w[b].qs, i) - 8; }, [&](int64_t b) { return half(w[b].d); });
}
float q5_0_ref(const ggml::BlockQ5_0* w, const BlockA8* a, int64_t nb) {
  return halves_dot(
      a, nb, [&](int64_t b, int i) { return (nibble(w[b].qs, i) | high_bit(w[b].qh, i) << 4) - 16; },
      [&](int64_t b) { return half(w[b].d); });
}
// Formats with a minimum: x = d·q + m, so Σ x·a = d·d_a·Σ q·q_a + m·s_a; the m·s_a terms are
// summed in block order beside the lanes and added last.
float q4_1_ref(const ggml::BlockQ4_1* w, const BlockA8* a, int64_t nb) {
  float mins = 0;
  for (int64_t b = 0; b < nb; ++b) mins += half(w[b].m) * a[b].s;
  return halves_dot(a, nb, [&](int64_t b, int i) { return nibble(w[b].qs, i); }, [&](int64_t b) { return half(w[b].d); }) + mins;
}
float q5_1_ref(const ggml::BlockQ5_1* w, const BlockA8* a, int64_t nb) {
  float mins = 0;
  for (int64_t b = 0; b < nb; ++b) mins += half(w[b].m) * a[b].s;
  return halves_dot(a, nb, [&](int64_t b, int i) { return nibble(w[b].qs, i) | high_bit(w[b].qh, i) << 4; },
                   [&](int64_t b) { return half(w[b].d); }) +
         mins;
}

// Q4_K (x = d·sc_j·q − dmin·m_j) in two lanes: lane h sums over the sub-blocks j sc_j times the
// products of elements 32j + i with bit 2 of i equal to h (the lanes its interleaved kernels
// form), min_h sums m_j·bsum_j over j = 4h..4h+3; per super-block
// acc[h] = fma(−(dmin·d_a), min_h, fma(d·d_a, lane_h, acc[h])); then acc[0] + acc[1].
float q4_k_ref(const ggml::BlockQ4_K* w, const BlockA8K* a, int64_t nsb) {
  float acc[2] = {0, 0};
  for (int64_t sb = 0; sb < nsb; ++sb) {
    int32_t lanes[2] = {0, 0}, mins[2] = {0, 0};
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      ggml::unpack_scale_min(j, w[sb].scales, &sc, &m);
      for (int h = 0; h < 2; ++h) {
        int32_t lane = 0;
        for (int i = 0; i < 32; ++i) {
          const int e = 32 * j + i, q = (w[sb].qs[32 * (e / 64) + e % 32] >> (4 * (e / 32 % 2))) & 0xF;
          if (((i >> 2) & 1) == h) lane += q * a[sb].qs[e];
        }
        lanes[h] += sc * lane;
      }
      mins[j / 4] += m * a[sb].bsums[j];
    }
    const float d = half(w[sb].d) * a[sb].d, dmin = half(w[sb].dmin) * a[sb].d;
    for (int h = 0; h < 2; ++h) acc[h] = std::fma(-dmin, static_cast<float>(mins[h]), std::fma(d, static_cast<float>(lanes[h]), acc[h]));
  }
  return acc[0] + acc[1];
}

// Q6_K (x = d·sc·(q − 32), sc the int8 scale of the element's 16) keeps activations per 32
// (its own error is small enough that one activation scale per 256 showed: SmolLM2's KLD
// 0.0102 → 0.0123), in two lanes as Q4_K: per sub-block j, lane h sums sc·(q − 32)·a over the
// elements i with bit 2 of i equal to h, and inner[h] = fma(d_a, lane_h, inner[h]) with d_a
// of activation block 8b + j; per super-block acc[h] = fma(d, inner[h], acc[h]).
int q6_k_weight(const ggml::BlockQ6_K& b, int e) {  // q − 32: 4 low bits from ql, 2 high bits from qh
  const int half_ = e / 128, l = e % 128, g = l / 32, ll = l % 32;
  const int low = (b.ql[64 * half_ + 32 * (g % 2) + ll] >> (4 * (g / 2))) & 0xF;
  const int high = (b.qh[32 * half_ + ll] >> (2 * g)) & 3;
  return (low | high << 4) - 32;
}
float q6_k_ref(const ggml::BlockQ6_K* w, const BlockA8* a, int64_t nsb) {
  float acc[2] = {0, 0};
  for (int64_t sb = 0; sb < nsb; ++sb) {
    float inner[2] = {0, 0};
    for (int j = 0; j < 8; ++j) {
      const BlockA8& ab = a[sb * 8 + j];
      for (int h = 0; h < 2; ++h) {
        int32_t lane = 0;
        for (int i = 0; i < 32; ++i)
          if (((i >> 2) & 1) == h) lane += w[sb].scales[2 * j + i / 16] * q6_k_weight(w[sb], 32 * j + i) * ab.qs[i];
        inner[h] = std::fma(ab.d, static_cast<float>(lane), inner[h]);
      }
    }
    const float d = half(w[sb].d);
    for (int h = 0; h < 2; ++h) acc[h] = std::fma(d, inner[h], acc[h]);
  }
  return acc[0] + acc[1];
}

// The ternary formats: each names element e's integer value (e < 256) and the super-block's f32 scale.
struct SpecTQ2_0 {  // x = d·(q − 1); byte m of half h holds elements 128h + m + 32k at bits 2k
  using Block = ggml::BlockTQ2_0;
  static int weight(const Block& b, int e) { return ((b.qs[32 * (e / 128) + e % 32] >> (2 * (e % 128 / 32))) & 3) - 1; }
  static float scale(const Block& b) { return half(b.d); }
};
struct SpecTQ1_0 {  // x = d·(t − 1), trits packed five per byte (four in qh)
  using Block = ggml::BlockTQ1_0;
  static int weight(const Block& b, int e) {
    if (e < 160) return ggml::unpack_trit(b.qs[e % 32], e / 32) - 1;
    if (e < 240) return ggml::unpack_trit(b.qs[32 + (e - 160) % 16], (e - 160) / 16) - 1;
    return ggml::unpack_trit(b.qh[(e - 240) % 4], (e - 240) / 4) - 1;
  }
  static float scale(const Block& b) { return half(b.d); }
};

// Per super-block, the eight int32 lanes over all sub-blocks scaled once by d·d_a into the accumulators.
template <class Format>
float superblock_dot(const typename Format::Block* w, const BlockA8K* a, int64_t nsb) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t sb = 0; sb < nsb; ++sb) {
    int32_t lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int j = 0; j < 8; ++j)
      for (int k = 0; k < 8; ++k) {
        int32_t lane = 0;
        for (int i = 32 * j + 4 * k; i < 32 * j + 4 * k + 4; ++i) lane += Format::weight(w[sb], i) * a[sb].qs[i];
        lanes[k] += lane;
      }
    const float d = Format::scale(w[sb]) * a[sb].d;
    for (int k = 0; k < 8; ++k) acc[k] = std::fma(d, static_cast<float>(lanes[k]), acc[k]);
  }
  return reduce8(acc);
}

// Float formats: eight lane accumulators over the whole multiples of 8, reduce8, then the
// leftovers one fma at a time.
template <class Load>
float float_dot(const float* x, int64_t n, Load load) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  const int64_t whole = n - n % 8;
  for (int64_t i = 0; i < whole; ++i) acc[i % 8] = std::fma(x[i], load(i), acc[i % 8]);
  float s = reduce8(acc);
  for (int64_t i = whole; i < n; ++i) s = std::fma(x[i], load(i), s);
  return s;
}
float f32_ref(const float* x, const float* w, int64_t n) { return float_dot(x, n, [&](int64_t i) { return w[i]; }); }
float f16_ref(const float* x, const uint16_t* w, int64_t n) { return float_dot(x, n, [&](int64_t i) { return half(w[i]); }); }
float bf16_ref(const float* x, const uint16_t* w, int64_t n) {
  return float_dot(x, n, [&](int64_t i) { return bf16_to_f32(w[i]); });
}

// Matmuls: one dot per output element, in any order (each element's bits are fixed by the dot).
// kActElems and kBlockElems: elements per activation block and per weight block.
template <auto Dot, class Block, class Act, int kActElems, int kBlockElems>
void int_matmul(const MatmulArgs& m) {
  const auto* a = static_cast<const Act*>(m.x);
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t t = 0; t < m.n; ++t)
      m.y[t * m.ldy + r] = Dot(reinterpret_cast<const Block*>(m.w + static_cast<size_t>(r) * m.row_bytes), a + t * (m.k / kActElems),
                               m.k / kBlockElems);
}
template <class Format>
void superblock_matmul(const MatmulArgs& m) {
  int_matmul<superblock_dot<Format>, typename Format::Block, BlockA8K, 256, 256>(m);
}
// The interleaved layout through the row spec: each row taken back to GGUF blocks (of
// kBlockElems elements), each token's activations back to BlockA8 (expand_a8x4 keeps d, s and
// every code).
template <auto Dot, class Block, GgmlType t, int kBlockElems = 32>
void interleaved_matmul(const Matmul4Args& m) {
  const int64_t nb = m.k / 32, blocks = m.k / kBlockElems;
  std::vector<BlockA8> a(static_cast<size_t>(m.n * nb));
  for (int64_t i = 0; i < m.n * nb; ++i) {
    const BlockA8x4& x = m.x[i];
    a[static_cast<size_t>(i)].d = x.d, a[static_cast<size_t>(i)].s = x.s;
    for (int e = 0; e < 32; ++e) a[static_cast<size_t>(i)].qs[e] = x.qs[interleaved_register(e)][interleaved_pos(0, e % 16) % 32];
  }
  std::vector<Block> row(static_cast<size_t>(blocks));
  for (int64_t r = 0; r < m.rows; ++r) {
    extract_row(t, m.w, r, m.k, reinterpret_cast<uint8_t*>(row.data()));
    for (int64_t tok = 0; tok < m.n; ++tok) m.y[tok * m.ldy + r] = Dot(row.data(), &a[static_cast<size_t>(tok * nb)], blocks);
  }
}
// Q4_K's groups the same way, each token's BlockA8Kx4 back to BlockA8K.
void q4_kx4_matmul(const MatmulK4Args& m) {
  const int64_t nsb = m.k / 256;
  std::vector<BlockA8K> a(static_cast<size_t>(m.n * nsb));
  for (int64_t s = 0; s < m.n * nsb; ++s) {
    const BlockA8Kx4& x = m.x[s];
    BlockA8K& b = a[static_cast<size_t>(s)];
    b = BlockA8K{};
    b.d = x.d;
    for (int j = 0; j < 8; ++j) {
      const int e = q4_kx4_min_entry(0, j);  // bsums[u][q] meets entry 16u + q
      b.bsums[j] = x.bsums[e / 16][e % 16];
      for (int i = 0; i < 32; ++i) b.qs[32 * j + i] = x.qs[j][interleaved_register(i)][interleaved_pos(0, i % 16) % 32];
    }
  }
  std::vector<ggml::BlockQ4_K> row(static_cast<size_t>(nsb));
  for (int64_t r = 0; r < m.rows; ++r) {
    extract_row(GgmlType::Q4_K, m.w, r, m.k, reinterpret_cast<uint8_t*>(row.data()));
    for (int64_t tok = 0; tok < m.n; ++tok) m.y[tok * m.ldy + r] = q4_k_ref(row.data(), &a[static_cast<size_t>(tok * nsb)], nsb);
  }
}
template <auto Dot, class Elem>
void float_matmul(const MatmulArgs& m) {
  const auto* x = static_cast<const float*>(m.x);
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t t = 0; t < m.n; ++t)
      m.y[t * m.ldy + r] = Dot(x + t * m.k, reinterpret_cast<const Elem*>(m.w + static_cast<size_t>(r) * m.row_bytes), m.k);
}

}  // namespace

DotKernels dot_kernels_scalar() {
  DotKernels k{};
  k.isa = Isa::Scalar;
  k.quantize_a8 = quantize_a8_ref;
  k.quantize_a8k = quantize_a8k_ref;
  k.expand_a8x4 = expand_a8x4;
  k.expand_a8kx4 = expand_a8kx4;
  k.q8_0 = q8_0_ref, k.q4_0 = q4_0_ref, k.q4_1 = q4_1_ref, k.q5_0 = q5_0_ref, k.q5_1 = q5_1_ref;
  k.q4_k = q4_k_ref, k.q6_k = q6_k_ref;
  k.tq1_0 = superblock_dot<SpecTQ1_0>, k.tq2_0 = superblock_dot<SpecTQ2_0>;
  k.f32 = f32_ref, k.f16 = f16_ref, k.bf16 = bf16_ref;
  MatmulKernels& mm = k.matmul;
  mm.q8_0x4 = interleaved_matmul<q8_0_ref, ggml::BlockQ8_0, GgmlType::Q8_0>;
  mm.q4_0x4 = interleaved_matmul<q4_0_ref, ggml::BlockQ4_0, GgmlType::Q4_0>;
  mm.q4_1x4 = interleaved_matmul<q4_1_ref, ggml::BlockQ4_1, GgmlType::Q4_1>;
  mm.q5_0x4 = interleaved_matmul<q5_0_ref, ggml::BlockQ5_0, GgmlType::Q5_0>;
  mm.q5_1x4 = interleaved_matmul<q5_1_ref, ggml::BlockQ5_1, GgmlType::Q5_1>;
  mm.q6_kx4 = interleaved_matmul<q6_k_ref, ggml::BlockQ6_K, GgmlType::Q6_K, 256>;
  mm.f32 = float_matmul<f32_ref, float>, mm.f16 = float_matmul<f16_ref, uint16_t>, mm.bf16 = float_matmul<bf16_ref, uint16_t>;
  mm.q4_kx4 = q4_kx4_matmul;
  mm.tq1_0 = superblock_matmul<SpecTQ1_0>, mm.tq2_0 = superblock_matmul<SpecTQ2_0>;
  return k;
}

}  // namespace qforge::kernels
