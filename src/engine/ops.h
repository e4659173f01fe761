// f32 building blocks of the decoder. Each is deterministic and independent of threading.
#pragma once

#include <cstdint>


namespace qforge::engine {

// y = x / sqrt(mean(x²) + eps) · weight
void rms_norm(const float* x, const float* weight, int64_t n, double eps, float* y);
// y = (x − mean) / sqrt(var + eps) · weight + bias  (GPT-2's LayerNorm; biased variance)
void layer_norm(const float* x, const float* weight, const float* bias, int64_t n, double eps, float* y);
// in place, over one row of logits or scores
void softmax(float* x, int64_t n);
float silu(float x);
// GELU, exact x·Φ(x) (erf) or the tanh approximation GPT-2 was trained with ("gelu_new")
float gelu_erf(float x);
float gelu_tanh(float x);
float dot_f32(const float* a, const float* b, int64_t n);

}  // namespace qforge::engine
