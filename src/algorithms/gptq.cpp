// GPTQ (Frantar et al., 2022): optimal-brain-quantization updates with a Cholesky-factored
// inverse Hessian, columns in lazy batches. docs/gptq.md derives every step.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "algorithms/cholesky.h"
#include "qforge/error.h"
#include "qforge/weight_quant.h"

namespace qforge {
namespace {

[[noreturn]] void invalid(const std::string& m) { throw Error(ErrorCategory::InvalidArgument, m); }

}  // namespace

GptqHessian::GptqHessian(std::span<const double> h, int64_t cols, const GptqOptions& options) : cols_(cols) {
  if (cols < 1 || h.size() != static_cast<size_t>(cols * cols))
    invalid("GPTQ: a Hessian of " + std::to_string(h.size()) + " values is not " + std::to_string(cols) + "²");
  if (!(options.damp >= 0) || options.damp > 1) invalid("GPTQ: damp must be in [0, 1], got " + std::to_string(options.damp));
  const auto n = static_cast<size_t>(cols);
  dead_.assign(n, 0);
  double trace = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = h[i * n + i];
    if (!std::isfinite(d) || d < 0) throw Error(ErrorCategory::Numeric, "GPTQ: Hessian diagonal " + std::to_string(i) + " is " + std::to_string(d));
    if (d == 0) {
      dead_[i] = 1;
      ++dead_count_;
    }
    trace += d == 0 ? 1.0 : d;  // a dead column's diagonal becomes 1, as the reference sets it
  }
  perm_.resize(n);
  std::iota(perm_.begin(), perm_.end(), int64_t{0});
  if (options.act_order)  // stable: equal diagonals keep their natural order
    std::stable_sort(perm_.begin(), perm_.end(), [&](int64_t a, int64_t b) {
      return h[static_cast<size_t>(a) * n + static_cast<size_t>(a)] > h[static_cast<size_t>(b) * n + static_cast<size_t>(b)];
    });
  std::vector<double> hp(n * n);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) {
      const double v = h[static_cast<size_t>(perm_[i]) * n + static_cast<size_t>(perm_[j])];
      if (!std::isfinite(v)) throw Error(ErrorCategory::Numeric, "GPTQ: the Hessian holds a non-finite value");
      hp[i * n + j] = v;
    }
  for (size_t i = 0; i < n; ++i)
    if (dead_[static_cast<size_t>(perm_[i])]) hp[i * n + i] = 1;
  const double mean_diag = trace / static_cast<double>(n);
  // An ill-conditioned H (few tokens, correlated inputs) gets ten times more damping, up to 3 times.
  double damp = options.damp;
  for (int attempt = 0; attempt < 4; ++attempt, damp = damp > 0 ? std::min(1.0, damp * 10) : 0.01) {
    std::vector<double> a = hp;
    for (size_t i = 0; i < n; ++i) a[i * n + i] += damp * mean_diag;
    if (linalg::upper_cholesky_of_inverse(a, cols, u_)) {
      damp_used_ = damp;
      return;
    }
  }
  throw Error(ErrorCategory::Numeric, "GPTQ: the Hessian is not positive definite even with damp " + std::to_string(damp));
}

QuantizedMatrix quantize_gptq(std::span<const float> w, int64_t rows, int64_t cols, const GptqHessian& h,
                              const WeightGrid& grid, const GptqOptions& options, const ParallelFor& par) {
  if (static_cast<int64_t>(w.size()) != rows * cols)
    invalid("GPTQ: " + std::to_string(w.size()) + " weights for [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
  if (h.cols() != cols) invalid("GPTQ: the Hessian is for " + std::to_string(h.cols()) + " inputs, the weight has " + std::to_string(cols));
  if (options.block < 1) invalid("GPTQ: block must be >= 1");
  if (grid.per_tensor() || grid.double_quant)
    invalid("GPTQ fits scales group by group; " + grid.describe() + " needs all of them first (use rtn for it)");
  QuantizedMatrix q = make_quantized_matrix(grid, rows, cols);
  const int64_t g = grid.group_cols(cols), groups = grid.groups_per_row(cols);
  // Batches hold whole groups, so a group's weights are fully updated when it is fit.
  const int64_t block = grid.group_size == 0 ? options.block : (options.block + g - 1) / g * g;
  // Per-channel and act-order grids are fit once, on the unquantized weights (static groups).
  const bool static_groups = grid.group_size == 0 || options.act_order;
  const std::vector<int64_t>& perm = h.order();
  for (float v : w)
    if (!std::isfinite(v)) throw Error(ErrorCategory::Numeric, "GPTQ: a weight is NaN or Inf; refusing to quantize");

  par(rows, [&](int64_t begin, int64_t end) {
    constexpr int64_t kTile = 8;  // rows sharing each pass over U
    std::vector<double> x(static_cast<size_t>(kTile * cols)), err(static_cast<size_t>(kTile * block));
    std::vector<float> group(static_cast<size_t>(g));
    for (int64_t r0 = begin; r0 < end; r0 += kTile) {
      const int64_t tile = std::min(kTile, end - r0);
      for (int64_t t = 0; t < tile; ++t) {
        const float* src = &w[static_cast<size_t>((r0 + t) * cols)];
        for (int64_t p = 0; p < cols; ++p) x[static_cast<size_t>(t * cols + p)] = h.dead(perm[p]) ? 0.0 : src[perm[p]];
        if (!static_groups) continue;
        for (int64_t k = 0; k < groups; ++k) {
          const int64_t len = grid.group_len(cols, k);
          for (int64_t j = 0; j < len; ++j) group[static_cast<size_t>(j)] = h.dead(k * g + j) ? 0.0f : src[k * g + j];
          q.params[static_cast<size_t>((r0 + t) * groups + k)] = grid.fit({group.data(), static_cast<size_t>(len)});
        }
      }
      for (int64_t s = 0; s < cols; s += block) {
        const int64_t e = std::min(s + block, cols);
        for (int64_t t = 0; t < tile; ++t) {
          double* xr = &x[static_cast<size_t>(t * cols)];
          const int64_t r = r0 + t;
          for (int64_t p = s; p < e; ++p) {
            const int64_t col = perm[p];
            GroupParams& gp = q.params[static_cast<size_t>(r * groups + col / g)];
            if (!static_groups && p % g == 0) {  // identity order: p is the column
              const int64_t len = grid.group_len(cols, p / g);
              for (int64_t j = 0; j < len; ++j) group[static_cast<size_t>(j)] = static_cast<float>(xr[p + j]);
              gp = grid.fit({group.data(), static_cast<size_t>(len)});
            }
            const int32_t code = grid.nearest(static_cast<float>(xr[p]), gp);
            q.codes[static_cast<size_t>(r * cols + col)] = static_cast<int16_t>(code);
            const double e_p = (xr[p] - static_cast<double>(grid.value(code, gp))) / h.u(p, p);
            err[static_cast<size_t>(t * block + (p - s))] = e_p;
            const double* up = h.u_row(p);
            for (int64_t j = p + 1; j < e; ++j) xr[j] -= e_p * up[j];
          }
        }
        // The batch's errors reach the later columns in one pass over U's rows s..e.
        for (int64_t b = 0; b < e - s; ++b) {
          const double* up = h.u_row(s + b);
          for (int64_t t = 0; t < tile; ++t) {
            const double e_b = err[static_cast<size_t>(t * block + b)];
            double* xr = &x[static_cast<size_t>(t * cols)];
            for (int64_t j = e; j < cols; ++j) xr[j] -= e_b * up[j];
          }
        }
      }
    }
  });
  return q;
}

double layer_output_error(std::span<const float> w, const QuantizedMatrix& q, std::span<const double> h) {
  if (static_cast<int64_t>(w.size()) != q.rows * q.cols || h.size() != static_cast<size_t>(q.cols * q.cols))
    invalid("layer_output_error: sizes do not match");
  std::vector<float> d(w.size());
  for (int64_t r = 0; r < q.rows; ++r)
    for (int64_t c = 0; c < q.cols; ++c) d[static_cast<size_t>(r * q.cols + c)] = w[static_cast<size_t>(r * q.cols + c)] - q.value(r, c);
  return quadratic_form(h, q.cols)(d.data(), q.rows);
}

}  // namespace qforge
