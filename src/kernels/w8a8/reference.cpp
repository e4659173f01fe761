// The w8a8 kernels' spec: plain loops. The SIMD versions are tested against these bit for bit.
#include <algorithm>
#include <cmath>

#include "kernels/w8a8/w8a8_kernels.h"

namespace qforge::kernels {
namespace {

template <class Args>
void gemm_ref(const Args& a) {
  for (int64_t t = 0; t < a.n; ++t)
    for (int64_t r = 0; r < a.rows; ++r) {
      const int8_t* w = a.w + r * a.ldw;
      const auto* x = a.x + t * a.ldx;
      int32_t acc = 0;
      for (int64_t j = 0; j < a.k; ++j) acc += int32_t{w[j]} * int32_t{x[j]};
      a.out[t * a.ldo + r] = acc;
    }
}

float amax_ref(const float* x, int64_t k) {
  float m = 0;
  for (int64_t j = 0; j < k; ++j) m = std::max(m, std::fabs(x[j]));
  return m;
}

void quantize_ref(const float* x, int64_t k, float s, int16_t* q) {
  for (int64_t j = 0; j < k; ++j) q[j] = round_code(static_cast<double>(x[j]) / static_cast<double>(s));
}

}  // namespace

W8A8Kernels w8a8_kernels_scalar() { return {Isa::Scalar, gemm_ref<I8GemmArgs>, gemm_ref<U8GemmArgs>, amax_ref, quantize_ref, 256}; }

}  // namespace qforge::kernels
