// AVX-512 VNNI w8a8 GEMM (compiled with AVX-512 + VNNI flags only): byte codes (gemm_u8, any
// 0..255) meet the int8 weights in vpdpbusd, 64 products summed four at a time straight into
// int32 lanes, no int16 step to saturate. Integer sums, so it equals the spec bit for bit. Every
// activation scheme's codes fit a byte here (u8_codes = 256), so the int16 `gemm` is never
// called on these CPUs and stays AVX2's, as do amax and the quantizer.
#include <immintrin.h>

#include "kernels/w8a8/gemm_blocking.h"
#include "kernels/w8a8/w8a8_kernels.h"

namespace qforge::kernels {
namespace {

// {Σ a, Σ b, Σ c, Σ d} over each vector's 16 lanes: halves added, then three hadds (a quarter
// of four separate reductions' instructions).
__m128i sum_rows_4(__m512i a, __m512i b, __m512i c, __m512i d) {
  const auto half = [](__m512i v) { return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1)); };
  const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(half(a), half(b)), _mm256_hadd_epi32(half(c), half(d)));
  return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

// The main 4 × 4 byte tile's whole steps with its sixteen accumulators as named variables: GCC 12
// kept the array form's accumulators on the stack, stored back every step. Returns the depth done.
int64_t byte_steps_4x4(const int8_t* const (&w)[4], const uint8_t* const (&x)[4], int64_t kc, __m512i (&acc)[4][4]) {
  __m512i a00 = acc[0][0], a01 = acc[0][1], a02 = acc[0][2], a03 = acc[0][3];
  __m512i a10 = acc[1][0], a11 = acc[1][1], a12 = acc[1][2], a13 = acc[1][3];
  __m512i a20 = acc[2][0], a21 = acc[2][1], a22 = acc[2][2], a23 = acc[2][3];
  __m512i a30 = acc[3][0], a31 = acc[3][1], a32 = acc[3][2], a33 = acc[3][3];
  int64_t j = 0;
  for (; j + 64 <= kc; j += 64) {
    const __m512i w0 = _mm512_loadu_si512(w[0] + j), w1 = _mm512_loadu_si512(w[1] + j);
    const __m512i w2 = _mm512_loadu_si512(w[2] + j), w3 = _mm512_loadu_si512(w[3] + j);
    // token t's codes times the four rows, into that token's four accumulators
    const auto token = [&](int t, __m512i& s0, __m512i& s1, __m512i& s2, __m512i& s3) {
      const __m512i xv = _mm512_loadu_si512(x[t] + j);
      s0 = _mm512_dpbusd_epi32(s0, xv, w0);
      s1 = _mm512_dpbusd_epi32(s1, xv, w1);
      s2 = _mm512_dpbusd_epi32(s2, xv, w2);
      s3 = _mm512_dpbusd_epi32(s3, xv, w3);
    };
    token(0, a00, a10, a20, a30);
    token(1, a01, a11, a21, a31);
    token(2, a02, a12, a22, a32);
    token(3, a03, a13, a23, a33);
  }
  acc[0][0] = a00, acc[0][1] = a01, acc[0][2] = a02, acc[0][3] = a03;
  acc[1][0] = a10, acc[1][1] = a11, acc[1][2] = a12, acc[1][3] = a13;
  acc[2][0] = a20, acc[2][1] = a21, acc[2][2] = a22, acc[2][3] = a23;
  acc[3][0] = a30, acc[3][1] = a31, acc[3][2] = a32, acc[3][3] = a33;
  return j;
}

// Register tile for byte codes, up to 4 rows × 4 tokens: 16 zmm accumulators, 4 weight rows and
// one token's codes. The depth's last partial step loads under a mask (zero bytes add nothing),
// so every sum is finished in registers.
template <int R, int T>
struct ByteTile {
  static void run(const U8GemmArgs& a, int64_t r0, int64_t t0, int64_t k0, int64_t kc) {
    const int8_t* w[R];
    const uint8_t* x[T];
    for (int r = 0; r < R; ++r) w[r] = a.w + (r0 + r) * a.ldw + k0;
    for (int t = 0; t < T; ++t) x[t] = a.x + (t0 + t) * a.ldx + k0;
    __m512i acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_si512();
    int64_t j = 0;
    if constexpr (R == 4 && T == 4) j = byte_steps_4x4(w, x, kc, acc);
    for (; j < kc; j += 64) {
      const __mmask64 m = kc - j >= 64 ? ~__mmask64{0} : (__mmask64{1} << (kc - j)) - 1;
      __m512i wv[R];
      for (int r = 0; r < R; ++r) wv[r] = _mm512_maskz_loadu_epi8(m, w[r] + j);
      for (int t = 0; t < T; ++t) {
        const __m512i xv = _mm512_maskz_loadu_epi8(m, x[t] + j);
        for (int r = 0; r < R; ++r) acc[r][t] = _mm512_dpbusd_epi32(acc[r][t], xv, wv[r]);
      }
    }
    for (int t = 0; t < T; ++t) {
      int32_t* o = a.out + (t0 + t) * a.ldo + r0;
      if constexpr (R == 4) {  // the four rows' sums of a token as one vector
        __m128i s = sum_rows_4(acc[0][t], acc[1][t], acc[2][t], acc[3][t]);
        if (k0 != 0) s = _mm_add_epi32(s, _mm_loadu_si128(reinterpret_cast<const __m128i*>(o)));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(o), s);
      } else {
        for (int r = 0; r < R; ++r) {
          const int32_t s = _mm512_reduce_add_epi32(acc[r][t]);
          o[r] = k0 == 0 ? s : o[r] + s;
        }
      }
    }
  }
};

void gemm_u8_avx512_vnni(const U8GemmArgs& a) { w8a8::blocked_gemm<ByteTile, 4>(a); }

}  // namespace

W8A8Kernels w8a8_kernels_avx512_vnni() {
  W8A8Kernels k = w8a8_kernels_avx2();
  k.isa = Isa::Avx512;
  k.gemm_u8 = gemm_u8_avx512_vnni;
  k.u8_codes = 256;
  return k;
}

}  // namespace qforge::kernels
