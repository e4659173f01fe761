// AVX-512 (F/BW/VL/DQ) instantiation of the convert bodies.
#include <immintrin.h>

#include "kernels/convert/convert_kernels.h"
#include "kernels/convert/generic.h"

namespace qforge::kernels {
namespace {

struct Avx512 {
  static constexpr size_t kLanes = 16;
  static __m512 load_f32(const float* p) { return _mm512_loadu_ps(p); }
  static void store_f32(float* p, __m512 v) { _mm512_storeu_ps(p, v); }
  static __m256i load_u16(const uint16_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static void store_u16(uint16_t* p, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
  static __m256i f32_to_f16(__m512 v) { return _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static __m512 f16_to_f32(__m256i h) { return _mm512_cvtph_ps(h); }
  static __m512 bf16_to_f32(__m256i b) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(b), 16));
  }
  static __m256i f32_to_bf16(__m512 v) {
    const __m512i u = _mm512_castps_si512(v);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7FFF)), lsb), 16);
    const __m512i abs = _mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF));
    const __mmask16 is_nan = _mm512_cmpgt_epi32_mask(abs, _mm512_set1_epi32(0x7F800000));
    const __m512i qnan = _mm512_or_si512(_mm512_srli_epi32(_mm512_andnot_si512(abs, u), 16), _mm512_set1_epi32(0x7FC0));
    return _mm512_cvtepi32_epi16(_mm512_mask_blend_epi32(is_nan, rounded, qnan));
  }
};

}  // namespace

ConvertKernels convert_kernels_avx512() { return make_convert_kernels<Avx512>(Isa::Avx512); }

}  // namespace qforge::kernels
