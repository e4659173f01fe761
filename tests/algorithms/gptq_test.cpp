// GPTQ against a dense transcription of the paper's Algorithm 1 (explicit inverse, no lazy
// batches), and the property it exists for: a lower layer-output error than RTN.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

#include "qforge/error.h"
#include "qforge/weight_quant.h"

namespace qforge {
namespace {

struct Layer {
  int64_t rows, cols;
  std::vector<float> w;
  std::vector<double> h;  // Σ x xᵀ
};

// Inputs with correlated channels and a few large ones, as LLM activations have.
Layer make_layer(int64_t rows, int64_t cols, int64_t tokens, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n01(0.0f, 1.0f);
  Layer L{rows, cols, std::vector<float>(static_cast<size_t>(rows * cols)), std::vector<double>(static_cast<size_t>(cols * cols), 0.0)};
  for (auto& v : L.w) v = 0.05f * n01(rng);
  const int64_t factors = 6;
  std::vector<float> mix(static_cast<size_t>(factors * cols));
  for (auto& v : mix) v = n01(rng);
  std::vector<double> x(static_cast<size_t>(cols));
  for (int64_t t = 0; t < tokens; ++t) {
    float f[factors];
    for (auto& v : f) v = n01(rng);
    for (int64_t c = 0; c < cols; ++c) {
      double s = 0.3 * n01(rng);
      for (int64_t k = 0; k < factors; ++k) s += f[k] * mix[static_cast<size_t>(k * cols + c)];
      x[static_cast<size_t>(c)] = s * (c % 17 == 3 ? 8.0 : 1.0);
    }
    for (int64_t i = 0; i < cols; ++i)
      for (int64_t j = 0; j < cols; ++j) L.h[static_cast<size_t>(i * cols + j)] += x[static_cast<size_t>(i)] * x[static_cast<size_t>(j)];
  }
  return L;
}

// Gauss-Jordan inverse with partial pivoting.
std::vector<double> inverse(std::vector<double> a, int64_t n) {
  std::vector<double> inv(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) inv[static_cast<size_t>(i * n + i)] = 1;
  auto A = [&](int64_t i, int64_t j) -> double& { return a[static_cast<size_t>(i * n + j)]; };
  auto I = [&](int64_t i, int64_t j) -> double& { return inv[static_cast<size_t>(i * n + j)]; };
  for (int64_t c = 0; c < n; ++c) {
    int64_t p = c;
    for (int64_t r = c + 1; r < n; ++r)
      if (std::fabs(A(r, c)) > std::fabs(A(p, c))) p = r;
    for (int64_t j = 0; j < n; ++j) {
      std::swap(A(c, j), A(p, j));
      std::swap(I(c, j), I(p, j));
    }
    const double d = A(c, c);
    for (int64_t j = 0; j < n; ++j) {
      A(c, j) /= d;
      I(c, j) /= d;
    }
    for (int64_t r = 0; r < n; ++r)
      if (r != c && A(r, c) != 0) {
        const double f = A(r, c);
        for (int64_t j = 0; j < n; ++j) {
          A(r, j) -= f * A(c, j);
          I(r, j) -= f * I(c, j);
        }
      }
  }
  return inv;
}

// Algorithm 1 of the paper, densely: H⁻¹ = Cholesky(H⁻¹)ᵀ, then for every column i:
// q = quant(w_i); E = (w_i − q) / [H⁻¹]_ii; W_{:, i:} −= E · [H⁻¹]_{i, i:}.
// Groups are fit on the current weights when they start (static groups: on the originals).
QuantizedMatrix dense_gptq(const Layer& L, const WeightGrid& grid, double damp, bool act_order) {
  const int64_t n = L.cols;
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), int64_t{0});
  auto diag = [&](int64_t i) { return L.h[static_cast<size_t>(i * n + i)]; };
  if (act_order) std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) { return diag(a) > diag(b); });
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += diag(i) == 0 ? 1 : diag(i);
  mean /= static_cast<double>(n);
  std::vector<double> hp(static_cast<size_t>(n * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) hp[static_cast<size_t>(i * n + j)] = L.h[static_cast<size_t>(perm[i] * n + perm[j])];
  for (int64_t i = 0; i < n; ++i) {
    double& d = hp[static_cast<size_t>(i * n + i)];
    if (d == 0) d = 1;
    d += damp * mean;
  }
  std::vector<double> hinv = inverse(hp, n);
  // Upper Cholesky: hinv = Uᵀ U.
  std::vector<double> u(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    double s = hinv[static_cast<size_t>(i * n + i)];
    for (int64_t k = 0; k < i; ++k) s -= u[static_cast<size_t>(k * n + i)] * u[static_cast<size_t>(k * n + i)];
    const double uii = std::sqrt(s);
    u[static_cast<size_t>(i * n + i)] = uii;
    for (int64_t j = i + 1; j < n; ++j) {
      double t = hinv[static_cast<size_t>(i * n + j)];
      for (int64_t k = 0; k < i; ++k) t -= u[static_cast<size_t>(k * n + i)] * u[static_cast<size_t>(k * n + j)];
      u[static_cast<size_t>(i * n + j)] = t / uii;
    }
  }
  QuantizedMatrix q = make_quantized_matrix(grid, L.rows, n);
  const int64_t g = grid.group_cols(n), groups = grid.groups_per_row(n);
  const bool fixed = grid.group_size == 0 || act_order;
  for (int64_t r = 0; r < L.rows; ++r) {
    std::vector<double> x(static_cast<size_t>(n));
    const float* src = &L.w[static_cast<size_t>(r * n)];
    for (int64_t p = 0; p < n; ++p) x[static_cast<size_t>(p)] = diag(perm[p]) == 0 ? 0.0 : src[perm[p]];
    if (fixed)
      for (int64_t k = 0; k < groups; ++k) {
        std::vector<float> grp(src + k * g, src + k * g + grid.group_len(n, k));
        for (size_t j = 0; j < grp.size(); ++j)
          if (diag(k * g + static_cast<int64_t>(j)) == 0) grp[j] = 0;
        q.params[static_cast<size_t>(r * groups + k)] = grid.fit(grp);
      }
    for (int64_t p = 0; p < n; ++p) {
      GroupParams& gp = q.params[static_cast<size_t>(r * groups + perm[p] / g)];
      if (!fixed && p % g == 0) {
        std::vector<float> grp(static_cast<size_t>(grid.group_len(n, p / g)));
        for (size_t j = 0; j < grp.size(); ++j) grp[j] = static_cast<float>(x[static_cast<size_t>(p) + j]);
        gp = grid.fit(grp);
      }
      const int32_t c = grid.nearest(static_cast<float>(x[static_cast<size_t>(p)]), gp);
      q.codes[static_cast<size_t>(r * n + perm[p])] = static_cast<int16_t>(c);
      const double e = (x[static_cast<size_t>(p)] - grid.value(c, gp)) / u[static_cast<size_t>(p * n + p)];
      for (int64_t j = p + 1; j < n; ++j) x[static_cast<size_t>(j)] -= e * u[static_cast<size_t>(p * n + j)];
    }
  }
  return q;
}

struct Case {
  WeightGrid grid;
  bool act_order;
};

std::vector<Case> cases() {
  return {{WeightGrid::integer(4, 0, false), false}, {WeightGrid::integer(3, 32, true), false},
          {WeightGrid::ggml(GgmlType::Q4_0), false}, {WeightGrid::ggml(GgmlType::Q4_1), false},
          {WeightGrid::ggml(GgmlType::Q8_0), false}, {WeightGrid::integer(4, 32, false), true},
          {WeightGrid::integer(2, 64, false), false}, {WeightGrid::ggml(GgmlType::Q5_0), true},
          {WeightGrid::integer(4, 80, false), false}, {WeightGrid::integer(3, 80, true), true}};  // 192 = 2·80 + 32
}

TEST(Gptq, EqualsADenseTranscriptionOfAlgorithm1) {
  Layer L = make_layer(12, 192, 400, 7);
  for (int64_t c = 0; c < L.cols; ++c) {  // one dead input channel
    L.h[static_cast<size_t>(40 * L.cols + c)] = 0;
    L.h[static_cast<size_t>(c * L.cols + 40)] = 0;
  }
  for (const Case& k : cases()) {
    SCOPED_TRACE(k.grid.describe() + (k.act_order ? " act-order" : ""));
    GptqOptions opt;
    opt.act_order = k.act_order;
    opt.block = 64;  // several lazy batches over 192 columns
    const GptqHessian h(L.h, L.cols, opt);
    EXPECT_EQ(h.dead_columns(), 1);
    const QuantizedMatrix got = quantize_gptq(L.w, L.rows, L.cols, h, k.grid, opt);
    const QuantizedMatrix want = dense_gptq(L, k.grid, opt.damp, k.act_order);
    EXPECT_EQ(got.codes, want.codes);
    ASSERT_EQ(got.params.size(), want.params.size());
    for (size_t i = 0; i < got.params.size(); ++i) {
      EXPECT_EQ(got.params[i].scale, want.params[i].scale) << i;
      EXPECT_EQ(got.params[i].zero, want.params[i].zero) << i;
      EXPECT_EQ(got.params[i].min, want.params[i].min) << i;
    }
  }
}

TEST(Gptq, LayerOutputErrorIsBelowRoundToNearest) {
  const Layer L = make_layer(32, 256, 600, 11);
  for (const Case& k : cases()) {
    SCOPED_TRACE(k.grid.describe() + (k.act_order ? " act-order" : ""));
    GptqOptions opt;
    opt.act_order = k.act_order;
    const QuantizedMatrix g = quantize_gptq(L.w, L.rows, L.cols, GptqHessian(L.h, L.cols, opt), k.grid, opt);
    const QuantizedMatrix r = quantize_rtn(L.w, L.rows, L.cols, k.grid);
    const double eg = layer_output_error(L.w, g, L.h), er = layer_output_error(L.w, r, L.h);
    EXPECT_LT(eg, 0.8 * er) << "gptq " << eg << " rtn " << er;
  }
}

TEST(Gptq, ResultDoesNotDependOnHowRowsAreSplit) {
  const Layer L = make_layer(21, 128, 300, 5);
  const GptqOptions opt;
  const GptqHessian h(L.h, L.cols, opt);
  const WeightGrid grid = WeightGrid::ggml(GgmlType::Q4_0);
  const QuantizedMatrix a = quantize_gptq(L.w, L.rows, L.cols, h, grid, opt);
  const ParallelFor by3 = [](int64_t n, const std::function<void(int64_t, int64_t)>& body) {
    for (int64_t b = 0; b < n; b += 3) body(b, std::min(n, b + 3));
  };
  const QuantizedMatrix b = quantize_gptq(L.w, L.rows, L.cols, h, grid, opt, by3);
  EXPECT_EQ(a.codes, b.codes);
}

TEST(Gptq, FactorIsTheUpperCholeskyOfTheDampedInverse) {
  const Layer L = make_layer(1, 48, 100, 3);
  GptqOptions opt;
  opt.act_order = true;
  const GptqHessian h(L.h, L.cols, opt);
  const int64_t n = L.cols;
  for (int64_t i = 1; i < n; ++i)  // act-order: decreasing diagonal
    EXPECT_GE(L.h[static_cast<size_t>(h.order()[i - 1] * (n + 1))], L.h[static_cast<size_t>(h.order()[i] * (n + 1))]);
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += L.h[static_cast<size_t>(i * (n + 1))];
  mean /= static_cast<double>(n);
  // (Uᵀ U) · (H_perm + λI) = I
  for (int64_t i = 0; i < n; i += 7)
    for (int64_t j = 0; j < n; j += 5) {
      double s = 0;
      for (int64_t k = 0; k < n; ++k) {
        double hinv_ik = 0;
        for (int64_t m = 0; m <= std::min(i, k); ++m) hinv_ik += h.u(m, i) * h.u(m, k);
        double hkj = L.h[static_cast<size_t>(h.order()[k] * n + h.order()[j])];
        if (k == j) hkj += opt.damp * mean;
        s += hinv_ik * hkj;
      }
      EXPECT_NEAR(s, i == j ? 1.0 : 0.0, 1e-8);
    }
}

TEST(Gptq, RefusesWhatItCannotFactorAndNamesIt) {
  std::vector<double> neg(16, 0.0);
  for (int i = 0; i < 4; ++i) neg[static_cast<size_t>(i * 5)] = -1;
  EXPECT_THROW(GptqHessian(neg, 4, {}), Error);
  EXPECT_THROW(GptqHessian(std::vector<double>(15, 1.0), 4, {}), Error);
  // Rank one (one calibration token) factors once the damping is raised; it says so.
  std::vector<double> rank1(16);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) rank1[static_cast<size_t>(i * 4 + j)] = (i + 1.0) * (j + 1.0);
  GptqOptions none;
  none.damp = 0;
  const GptqHessian h(rank1, 4, none);
  EXPECT_GT(h.damp_used(), 0.0);
}

}  // namespace
}  // namespace qforge
