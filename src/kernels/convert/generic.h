// The bulk conversion bodies, written once over a vector-traits type V. Each per-ISA file
// defines V (lane count, load/store, the conversion primitives) and instantiates these.
// Leftover elements go through the scalar reference, so every ISA agrees with it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qforge/float_convert.h"

namespace qforge::kernels {

template <class V>
void f32_to_f16_body(const float* in, uint16_t* out, size_t n) {
  size_t i = 0;
  for (; i + V::kLanes <= n; i += V::kLanes) V::store_u16(out + i, V::f32_to_f16(V::load_f32(in + i)));
  for (; i < n; ++i) out[i] = f32_to_f16(in[i]);
}

template <class V>
void f16_to_f32_body(const uint16_t* in, float* out, size_t n) {
  size_t i = 0;
  for (; i + V::kLanes <= n; i += V::kLanes) V::store_f32(out + i, V::f16_to_f32(V::load_u16(in + i)));
  for (; i < n; ++i) out[i] = f16_to_f32(in[i]);
}

template <class V>
void f32_to_bf16_body(const float* in, uint16_t* out, size_t n) {
  size_t i = 0;
  for (; i + V::kLanes <= n; i += V::kLanes) V::store_u16(out + i, V::f32_to_bf16(V::load_f32(in + i)));
  for (; i < n; ++i) out[i] = f32_to_bf16(in[i]);
}

template <class V>
void bf16_to_f32_body(const uint16_t* in, float* out, size_t n) {
  size_t i = 0;
  for (; i + V::kLanes <= n; i += V::kLanes) V::store_f32(out + i, V::bf16_to_f32(V::load_u16(in + i)));
  for (; i < n; ++i) out[i] = bf16_to_f32(in[i]);
}

template <class V>
ConvertKernels make_convert_kernels(Isa isa) {
  return {isa, &f32_to_f16_body<V>, &f16_to_f32_body<V>, &f32_to_bf16_body<V>, &bf16_to_f32_body<V>};
}

}  // namespace qforge::kernels
