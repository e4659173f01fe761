// AVX-512 VNNI w8a8 GEMM (compiled with AVX-512 + VNNI flags only): the AVX2 kernel's widened
// int16 path on 32 lanes, with vpdpwssd doing madd and the int32 add in one instruction. Integer
// sums, so the result equals the spec bit for bit; amax and the quantizer are the AVX2 ones.
#include <immintrin.h>

#include "kernels/w8a8/gemm_blocking.h"
#include "kernels/w8a8/w8a8_kernels.h"

namespace qforge::kernels {
namespace {

// Register tile, up to 4 rows × 4 tokens: 16 zmm accumulators, 4 widened weight rows and one
// token's codes of the 32 registers; the loops around it are the AVX2 kernel's (gemm_blocking.h).
template <int R, int T>
struct Tile {
  static void run(const I8GemmArgs& a, int64_t r0, int64_t t0, int64_t k0, int64_t kc) {
    const int8_t* w[R];
    const int16_t* x[T];
    for (int r = 0; r < R; ++r) w[r] = a.w + (r0 + r) * a.ldw + k0;
    for (int t = 0; t < T; ++t) x[t] = a.x + (t0 + t) * a.ldx + k0;
    __m512i acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_si512();
    int64_t j = 0;
    for (; j + 32 <= kc; j += 32) {
      __m512i wv[R];
      for (int r = 0; r < R; ++r) wv[r] = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[r] + j)));
      for (int t = 0; t < T; ++t) {
        const __m512i xv = _mm512_loadu_si512(x[t] + j);
        for (int r = 0; r < R; ++r) acc[r][t] = _mm512_dpwssd_epi32(acc[r][t], wv[r], xv);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) w8a8::finish_sum(a, r0 + r, t0 + t, k0, j, kc, _mm512_reduce_add_epi32(acc[r][t]));
  }
};

void gemm_avx512_vnni(const I8GemmArgs& a) { w8a8::blocked_gemm<Tile, 4>(a); }

}  // namespace

W8A8Kernels w8a8_kernels_avx512_vnni() {
  W8A8Kernels k = w8a8_kernels_avx2();
  k.isa = Isa::Avx512;
  k.gemm = gemm_avx512_vnni;
  return k;
}

}  // namespace qforge::kernels
