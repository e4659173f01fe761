// AWQ (Lin et al., 2023): activation-aware per-channel scaling before rounding, and clipping.
// docs/awq.md derives why scaling the salient input channels up lowers their rounding error.
#include <algorithm>
#include <cmath>
#include <limits>

#include "qforge/error.h"
#include "qforge/weight_quant.h"

namespace qforge {

QuadraticForm quadratic_form(std::span<const double> h, int64_t cols) {
  return [h, cols](const float* d, int64_t rows) {
    double total = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const float* dr = d + r * cols;
      for (int64_t i = 0; i < cols; ++i) {
        const double* hi = &h[static_cast<size_t>(i * cols)];
        double s = 0;
        for (int64_t j = 0; j < cols; ++j) s += hi[j] * dr[j];
        total += dr[i] * s;
      }
    }
    return total;
  };
}

AwqScales awq_search_scales(std::span<const double> mean_abs_x, const AwqObjective& error, const AwqOptions& o) {
  const auto cols = static_cast<int64_t>(mean_abs_x.size());
  if (cols == 0 || o.grid_points < 1) throw Error(ErrorCategory::InvalidArgument, "AWQ: needs input statistics and at least one α");
  AwqScales best;
  best.error = std::numeric_limits<double>::infinity();
  std::vector<float> s(static_cast<size_t>(cols));
  for (int a = 0; a < o.grid_points; ++a) {
    const double alpha = static_cast<double>(a) / o.grid_points;
    double lo = std::numeric_limits<double>::infinity(), hi = 0;
    for (int64_t j = 0; j < cols; ++j) {
      const double v = std::pow(std::max(mean_abs_x[static_cast<size_t>(j)], 1e-4), alpha);
      s[static_cast<size_t>(j)] = static_cast<float>(v);
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    const auto norm = static_cast<float>(std::sqrt(lo * hi));  // keeps the scales centred on 1
    for (float& v : s) v /= norm;
    const double err = error(s);
    if (a == 0) best.rtn_error = err;
    if (err < best.error) {
      best.error = err;
      best.alpha = alpha;
      best.scales = s;
    }
  }
  return best;
}

AwqScales awq_search_scales(const std::vector<AwqLinear>& linears, std::span<const double> mean_abs_x, const WeightGrid& grid,
                            const QuadraticForm& form, const AwqOptions& o) {
  const auto cols = static_cast<int64_t>(mean_abs_x.size());
  if (linears.empty()) throw Error(ErrorCategory::InvalidArgument, "AWQ: needs linears, input statistics and at least one α");
  for (const auto& l : linears)
    if (static_cast<int64_t>(l.w.size()) != l.rows * cols)
      throw Error(ErrorCategory::InvalidArgument, "AWQ: a linear's weights do not match its " + std::to_string(cols) + " inputs");
  std::vector<float> scaled, delta;
  // Σ over the linears of ‖(W − Q(W·s)/s) Xᵀ‖² through H
  return awq_search_scales(mean_abs_x, [&](std::span<const float> s) {
    double err = 0;
    for (const auto& l : linears) {
      scaled.resize(l.w.size());
      delta.resize(l.w.size());
      for (int64_t r = 0; r < l.rows; ++r)
        for (int64_t j = 0; j < cols; ++j) scaled[static_cast<size_t>(r * cols + j)] = l.w[static_cast<size_t>(r * cols + j)] * s[static_cast<size_t>(j)];
      const QuantizedMatrix q = quantize_rtn(scaled, l.rows, cols, grid);
      for (int64_t r = 0; r < l.rows; ++r)
        for (int64_t j = 0; j < cols; ++j)
          delta[static_cast<size_t>(r * cols + j)] = l.w[static_cast<size_t>(r * cols + j)] - q.value(r, j) / s[static_cast<size_t>(j)];
      err += form(delta.data(), l.rows);
    }
    return err;
  }, o);
}

QuantizedMatrix awq_clip_quantize(std::span<const float> w, int64_t rows, int64_t cols, std::span<const double> h,
                                  const WeightGrid& grid, const AwqOptions& o) {
  if (static_cast<int64_t>(w.size()) != rows * cols || h.size() != static_cast<size_t>(cols * cols))
    throw Error(ErrorCategory::InvalidArgument, "AWQ clip: sizes do not match");
  const int64_t g = grid.group_cols(cols), groups = grid.groups_per_row(cols);
  std::vector<float> clamped(w.begin(), w.end()), wc(static_cast<size_t>(g)), d(static_cast<size_t>(g));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < groups; ++k) {
      const int64_t c0 = k * g, len = grid.group_len(cols, k);
      const float* x = &w[static_cast<size_t>(r * cols + c0)];
      float amax = 0;
      for (int64_t j = 0; j < len; ++j) amax = std::max(amax, std::fabs(x[j]));
      double best = std::numeric_limits<double>::infinity();
      float best_max = amax;
      for (int i = 0; i < o.clip_steps; ++i) {
        const float m = amax * (1.0f - 0.5f * static_cast<float>(i) / static_cast<float>(o.clip_steps));
        for (int64_t j = 0; j < len; ++j) wc[static_cast<size_t>(j)] = std::clamp(x[j], -m, m);
        const GroupParams p = grid.fit({wc.data(), static_cast<size_t>(len)});
        for (int64_t j = 0; j < len; ++j) d[static_cast<size_t>(j)] = x[j] - grid.value(grid.nearest(wc[static_cast<size_t>(j)], p), p);
        double e = 0;  // δ_g H_gg δ_gᵀ
        for (int64_t a = 0; a < len; ++a) {
          double t = 0;
          for (int64_t b = 0; b < len; ++b) t += h[static_cast<size_t>((c0 + a) * cols + c0 + b)] * d[static_cast<size_t>(b)];
          e += d[static_cast<size_t>(a)] * t;
        }
        if (e < best) {
          best = e;
          best_max = m;
        }
      }
      for (int64_t j = 0; j < len; ++j) clamped[static_cast<size_t>(r * cols + c0 + j)] = std::clamp(x[j], -best_max, best_max);
    }
  return quantize_rtn(clamped, rows, cols, grid);
}

}  // namespace qforge
