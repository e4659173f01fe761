#include "algorithms/cholesky.h"

#include <cmath>

namespace qforge::linalg {

bool cholesky_lower(std::vector<double>& a, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    double* rj = &a[static_cast<size_t>(j * n)];
    double d = rj[j];
    for (int64_t k = 0; k < j; ++k) d -= rj[k] * rj[k];
    if (!(d > 0)) return false;
    const double l = std::sqrt(d);
    rj[j] = l;
    for (int64_t i = j + 1; i < n; ++i) {
      double* ri = &a[static_cast<size_t>(i * n)];
      double s = ri[j];
      for (int64_t k = 0; k < j; ++k) s -= ri[k] * rj[k];
      ri[j] = s / l;
    }
    for (int64_t k = j + 1; k < n; ++k) rj[k] = 0;
  }
  return true;
}

bool upper_cholesky_of_inverse(const std::vector<double>& a, int64_t n, std::vector<double>& u) {
  const auto at = [n](int64_t i, int64_t j) { return static_cast<size_t>(i * n + j); };
  // M = chol(P a P), P the reversal; then V = P M P is upper with a = V Vᵀ.
  std::vector<double> m(a.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) m[at(i, j)] = a[at(n - 1 - i, n - 1 - j)];
  if (!cholesky_lower(m, n)) return false;
  // U = V⁻¹ = P M⁻¹ P. Row i of X = M⁻¹ is (e_i − Σ_{k<i} M_ik·X_k) / M_ii (rows, not columns,
  // so the inner loop runs over contiguous memory).
  std::vector<double> x(a.size(), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    double* xi = &x[at(i, 0)];
    xi[i] = 1;
    for (int64_t k = 0; k < i; ++k) {
      const double coef = m[at(i, k)];
      const double* xk = &x[at(k, 0)];
      for (int64_t c = 0; c <= k; ++c) xi[c] -= coef * xk[c];
    }
    const double d = m[at(i, i)];
    for (int64_t c = 0; c <= i; ++c) xi[c] /= d;
  }
  u.assign(a.size(), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j) u[at(i, j)] = x[at(n - 1 - i, n - 1 - j)];
  return true;
}

}  // namespace qforge::linalg
