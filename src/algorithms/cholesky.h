// Dense symmetric positive-definite factorizations in double, for GPTQ's inverse Hessian.
#pragma once

#include <cstdint>
#include <vector>

namespace qforge::linalg {

// In place: a (n×n, row-major, symmetric) becomes its lower Cholesky factor L (a = L·Lᵀ),
// upper triangle zeroed. False when a pivot is not positive (a is not positive definite).
bool cholesky_lower(std::vector<double>& a, int64_t n);

// The upper-triangular U with Uᵀ·U = a⁻¹, without forming a⁻¹: a = V·Vᵀ with V upper
// (the Cholesky factor of a with rows and columns reversed), then U = V⁻¹. False when a is
// not positive definite.
bool upper_cholesky_of_inverse(const std::vector<double>& a, int64_t n, std::vector<double>& u);

}  // namespace qforge::linalg
