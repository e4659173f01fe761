// AVX2 + F16C instantiation of the convert bodies (compiled with -mavx2 -mfma -mf16c only).
#include <immintrin.h>

#include "kernels/convert/convert_kernels.h"
#include "kernels/convert/generic.h"

namespace qforge::kernels {
namespace {

struct Avx2 {
  static constexpr size_t kLanes = 8;
  static __m256 load_f32(const float* p) { return _mm256_loadu_ps(p); }
  static void store_f32(float* p, __m256 v) { _mm256_storeu_ps(p, v); }
  static __m128i load_u16(const uint16_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
  static void store_u16(uint16_t* p, __m128i v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v); }
  static __m128i f32_to_f16(__m256 v) { return _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static __m256 f16_to_f32(__m128i h) { return _mm256_cvtph_ps(h); }
  static __m256 bf16_to_f32(__m128i b) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(b), 16));
  }
  static __m128i f32_to_bf16(__m256 v) {
    const __m256i u = _mm256_castps_si256(v);
    // round to nearest even: add 0x7FFF plus the lsb that survives, then keep the top half
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7FFF)), lsb), 16);
    // NaN becomes the canonical quiet NaN with its sign, as the scalar reference does
    const __m256i abs = _mm256_and_si256(u, _mm256_set1_epi32(0x7FFFFFFF));
    const __m256i is_nan = _mm256_cmpgt_epi32(abs, _mm256_set1_epi32(0x7F800000));
    const __m256i qnan = _mm256_or_si256(_mm256_srli_epi32(_mm256_andnot_si256(abs, u), 16), _mm256_set1_epi32(0x7FC0));
    const __m256i r = _mm256_blendv_epi8(rounded, qnan, is_nan);
    // 32-bit lanes (all ≤ 0xFFFF) to 16-bit: pack within 128-bit halves, then fix the order
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08);
    return _mm256_castsi256_si128(packed);
  }
};

}  // namespace

ConvertKernels convert_kernels_avx2() { return make_convert_kernels<Avx2>(Isa::Avx2); }

}  // namespace qforge::kernels
