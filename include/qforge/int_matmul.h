// Integer matmul, scalar reference: int8 × int8 (or int8 × uint8) → int32, then rescale to
// f32 by s_w·s_x. Layout as in the math: Y[M×N] = W[M×K] · X[K×N]; rows of W are output
// channels (per-channel weight scales), columns of X are tokens (per-token activation scales).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace qforge {

// C = A·B with A[M×K] int8 and B[K×N] int8, row-major, exact int32 accumulation.
std::vector<int32_t> matmul_s8s8_s32_ref(std::span<const int8_t> a, std::span<const int8_t> b, int64_t m,
                                         int64_t n, int64_t k);
// Same with unsigned activations (the operand order AVX2 maddubs/VNNI consume).
std::vector<int32_t> matmul_s8u8_s32_ref(std::span<const int8_t> a, std::span<const uint8_t> b, int64_t m,
                                         int64_t n, int64_t k);

// Y[i,j] = w_scale[i]·x_scale[j]·(C[i,j] − x_zero[j]·Σ_k A[i,k]).
// w_scale has 1 (per tensor) or M (per channel) entries; x_scale and x_zero have 1 (per
// tensor) or N (per token) entries; x_zero may be empty (symmetric activations).
// a_row_sums are Σ_k A[i,k] (only read when x_zero is non-empty; see row_sums_s8).
std::vector<float> rescale_s32_to_f32(std::span<const int32_t> c, int64_t m, int64_t n,
                                      std::span<const float> w_scale, std::span<const float> x_scale,
                                      std::span<const int32_t> x_zero, std::span<const int32_t> a_row_sums);
std::vector<int32_t> row_sums_s8(std::span<const int8_t> a, int64_t m, int64_t k);

}  // namespace qforge
