// HQQ (Badri & Shaji, 2023): half-quadratic optimisation of the zero point under an lp error
// norm, p < 1. docs/hqq.md derives the two alternating steps.
#include <algorithm>
#include <cmath>
#include <limits>

#include "qforge/error.h"
#include "qforge/weight_quant.h"

namespace qforge {
namespace {

// argmin_e |e|^p + β/2 (e − x)²: the generalised soft threshold sign(x)·max(|x| − |x|^(p−1)/β, 0).
double shrink_lp(double x, double beta, double p) {
  const double a = std::fabs(x);
  if (a == 0) return 0;
  const double t = a - std::pow(a, p - 1) / beta;
  return t > 0 ? std::copysign(t, x) : 0.0;
}

// One group: returns HQQ's (inverse scale, float zero) in its own parametrisation
// q = round(w·s_inv + z), ŵ = (q − z)/s_inv.
void solve_group(const float* w, int64_t n, double qmax, const HqqOptions& o, double& s_inv, double& zero) {
  double mn = w[0], mx = w[0];
  for (int64_t i = 1; i < n; ++i) {
    mn = std::min<double>(mn, w[i]);
    mx = std::max<double>(mx, w[i]);
  }
  s_inv = mx > mn ? std::min(qmax / (mx - mn), 2e4) : 1.0;  // HQQ clamps the inverse scale at 2e4
  zero = -mn * s_inv;
  double beta = o.beta, best = std::numeric_limits<double>::infinity(), best_zero = zero, best_s_inv = s_inv;
  for (int it = 0; it < o.iters; ++it) {
    double err = 0, sum = 0;
    double sq = 0, sy = 0, sqq = 0, sqy = 0;  // for the scale update's least squares
    for (int64_t i = 0; i < n; ++i) {
      const double q = std::clamp(std::nearbyint(w[i] * s_inv + zero), 0.0, qmax);
      const double r = (q - zero) / s_inv;
      const double e = shrink_lp(w[i] - r, beta, o.lp_norm);
      sum += q - (w[i] - e) * s_inv;  // the zero that makes (q − z)/s_inv = w − e on average
      err += std::fabs(w[i] - r);
      const double y = w[i] - e;
      sq += q;
      sy += y;
      sqq += q * q;
      sqy += q * y;
    }
    err /= static_cast<double>(n);
    if (!(err < best)) break;  // the parameters that gave the best error are kept
    best = err;
    best_zero = zero;
    best_s_inv = s_inv;
    zero = sum / static_cast<double>(n);
    if (o.update_scale) {
      // Both parameters at once: w − e ≈ s·q + m by least squares over the group, z = −m/s.
      const double dn = static_cast<double>(n), var = sqq - sq * sq / dn;
      const double s = var > 0 ? (sqy - sq * sy / dn) / var : 0;
      if (s > 0 && std::isfinite(s) && 1 / s <= 2e4) {
        s_inv = 1 / s;
        zero = -(sy - s * sq) / dn * s_inv;
      }
    }
    beta *= o.kappa;
  }
  zero = best_zero;
  s_inv = best_s_inv;
}

}  // namespace

QuantizedMatrix quantize_hqq(std::span<const float> w, int64_t rows, int64_t cols, const WeightGrid& grid, const HqqOptions& o) {
  if (!grid.has_float_min())
    throw Error(ErrorCategory::InvalidArgument, "HQQ optimises a float zero point; " + grid.describe() +
                                                    " has none (use q4_1, q5_1 or an integer_min grid)");
  if (static_cast<int64_t>(w.size()) != rows * cols)
    throw Error(ErrorCategory::InvalidArgument, "HQQ: " + std::to_string(w.size()) + " weights for [" + std::to_string(rows) + ", " +
                                                    std::to_string(cols) + "]");
  if (!(o.lp_norm > 0 && o.lp_norm <= 1) || !(o.beta > 0) || !(o.kappa >= 1) || o.iters < 1)
    throw Error(ErrorCategory::InvalidArgument, "HQQ: needs 0 < p <= 1, beta > 0, kappa >= 1, iters >= 1");
  for (float v : w)
    if (!std::isfinite(v)) throw Error(ErrorCategory::Numeric, "HQQ: a weight is NaN or Inf; refusing to quantize");
  if (o.axis != 0 && o.axis != 1) throw Error(ErrorCategory::InvalidArgument, "HQQ: axis is 0 or 1, not " + std::to_string(o.axis));
  if (o.axis == 0) {
    if (grid.kind != GridKind::IntMin || grid.group_size < 1 || (rows * cols) % grid.group_size != 0)
      throw Error(ErrorCategory::InvalidArgument, "HQQ axis 0 takes an int_min grid whose group size divides the tensor's " +
                                                      std::to_string(rows * cols) + " weights, not " + grid.describe());
    const std::vector<float> b = axis0_groups(w, grid.group_size);
    HqqOptions along = o;
    along.axis = 1;
    QuantizedMatrix q = quantize_hqq(b, rows * cols / grid.group_size, grid.group_size, grid, along);
    q.grid.axis0 = true;
    return q;
  }
  QuantizedMatrix q = make_quantized_matrix(grid, rows, cols);
  const int64_t g = grid.group_cols(cols), groups = grid.groups_per_row(cols);
  const auto qmax = static_cast<double>(grid.qmax());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < groups; ++k) {
      const float* x = &w[static_cast<size_t>(r * cols + k * g)];
      const int64_t len = grid.group_len(cols, k);
      double s_inv = 1, zero = 0;
      solve_group(x, len, qmax, o, s_inv, zero);
      // ŵ = (q − z)/s_inv = s·q + m with s = 1/s_inv, m = −z·s, stored as f16; codes re-rounded on them.
      const GroupParams p = {f16_param(static_cast<float>(1.0 / s_inv)), f16_param(static_cast<float>(-zero / s_inv)), 0};
      q.params[static_cast<size_t>(r * groups + k)] = p;
      for (int64_t j = 0; j < len; ++j) q.codes[static_cast<size_t>(r * cols + k * g + j)] = static_cast<int16_t>(grid.nearest(x[j], p));
    }
  return q;
}

double lp_error(std::span<const float> w, const QuantizedMatrix& q, double p) {
  const std::vector<float> b = q.grid.axis0 ? axis0_groups(w, q.grid.group_size) : std::vector<float>();
  const std::span<const float> x = q.grid.axis0 ? std::span<const float>(b) : w;  // in q's element order
  double s = 0;
  for (int64_t r = 0; r < q.rows; ++r)
    for (int64_t c = 0; c < q.cols; ++c)
      s += std::pow(std::fabs(static_cast<double>(x[static_cast<size_t>(r * q.cols + c)]) - q.value(r, c)), p);
  return s;
}

}  // namespace qforge
