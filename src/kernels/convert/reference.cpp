// Scalar reference: the specification every SIMD table is tested against.
#include "kernels/convert/convert_kernels.h"
#include "qforge/float_convert.h"

namespace qforge::kernels {
namespace {

void f32_to_f16_ref(const float* in, uint16_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = f32_to_f16(in[i]);
}
void f16_to_f32_ref(const uint16_t* in, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = f16_to_f32(in[i]);
}
void f32_to_bf16_ref(const float* in, uint16_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = f32_to_bf16(in[i]);
}
void bf16_to_f32_ref(const uint16_t* in, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = bf16_to_f32(in[i]);
}

}  // namespace

ConvertKernels convert_kernels_scalar() {
  return {Isa::Scalar, &f32_to_f16_ref, &f16_to_f32_ref, &f32_to_bf16_ref, &bf16_to_f32_ref};
}

}  // namespace qforge::kernels
