// AWQ: scaling salient input channels lowers the output error below RTN's; α = 0 is RTN;
// the scales are centred; clipping does not lose to plain rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "qforge/error.h"
#include "qforge/weight_quant.h"

namespace qforge {
namespace {

struct Data {
  int64_t cols;
  std::vector<double> h, mean_abs;
};

// Inputs where a few channels are 10–50× larger than the rest, as in LLM activations.
Data inputs(int64_t cols, int64_t tokens, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n01;
  Data d{cols, std::vector<double>(static_cast<size_t>(cols * cols)), std::vector<double>(static_cast<size_t>(cols))};
  std::vector<double> x(static_cast<size_t>(cols));
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t c = 0; c < cols; ++c) x[static_cast<size_t>(c)] = n01(rng) * (c % 23 == 5 ? 10.0 + static_cast<double>(c % 41) : 1.0);
    for (int64_t i = 0; i < cols; ++i) {
      d.mean_abs[static_cast<size_t>(i)] += std::fabs(x[static_cast<size_t>(i)]) / static_cast<double>(tokens);
      for (int64_t j = 0; j < cols; ++j) d.h[static_cast<size_t>(i * cols + j)] += x[static_cast<size_t>(i)] * x[static_cast<size_t>(j)];
    }
  }
  return d;
}

std::vector<float> weights(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::student_t_distribution<float> t(5.0f);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (auto& v : w) v = 0.02f * t(rng);
  return w;
}

double error_of(const QuantizedMatrix& q, std::span<const float> w, const Data& d, std::span<const float> scales = {}) {
  std::vector<float> delta(w.size());
  for (int64_t r = 0; r < q.rows; ++r)
    for (int64_t c = 0; c < q.cols; ++c)
      delta[static_cast<size_t>(r * q.cols + c)] =
          w[static_cast<size_t>(r * q.cols + c)] - q.value(r, c) / (scales.empty() ? 1.0f : scales[static_cast<size_t>(c)]);
  return quadratic_form(d.h, d.cols)(delta.data(), q.rows);
}

TEST(Awq, ScalingSalientChannelsBeatsRoundToNearest) {
  const int64_t cols = 128;
  const Data d = inputs(cols, 400, 1);
  const std::vector<float> wq = weights(48, cols, 2), wk = weights(16, cols, 3);
  for (const WeightGrid& grid : {WeightGrid::integer(4, 32, false), WeightGrid::integer(3, 64, true), WeightGrid::ggml(GgmlType::Q4_0)}) {
    SCOPED_TRACE(grid.describe());
    const AwqScales s = awq_search_scales({{wq, 48}, {wk, 16}}, d.mean_abs, grid, quadratic_form(d.h, cols));
    const double rtn = error_of(quantize_rtn(wq, 48, cols, grid), wq, d) + error_of(quantize_rtn(wk, 16, cols, grid), wk, d);
    EXPECT_DOUBLE_EQ(s.rtn_error, rtn);  // α = 0 is RTN
    EXPECT_GT(s.alpha, 0.0);
    EXPECT_LT(s.error, 0.9 * rtn) << "awq " << s.error << " rtn " << rtn;
    double lo = 1e30, hi = 0;
    for (float v : s.scales) {
      lo = std::min<double>(lo, v);
      hi = std::max<double>(hi, v);
    }
    EXPECT_NEAR(lo * hi, 1.0, 1e-5);  // centred: √(max·min) = 1
    // The search's figure is what the scaled weights really give.
    std::vector<float> scaled(wq.size());
    for (int64_t r = 0; r < 48; ++r)
      for (int64_t c = 0; c < cols; ++c) scaled[static_cast<size_t>(r * cols + c)] = wq[static_cast<size_t>(r * cols + c)] * s.scales[static_cast<size_t>(c)];
    std::vector<float> scaled_k(wk.size());
    for (int64_t r = 0; r < 16; ++r)
      for (int64_t c = 0; c < cols; ++c) scaled_k[static_cast<size_t>(r * cols + c)] = wk[static_cast<size_t>(r * cols + c)] * s.scales[static_cast<size_t>(c)];
    const double again = error_of(quantize_rtn(scaled, 48, cols, grid), wq, d, s.scales) +
                         error_of(quantize_rtn(scaled_k, 16, cols, grid), wk, d, s.scales);
    EXPECT_NEAR(again, s.error, 1e-9 * s.error);
  }
}

TEST(Awq, ClippingDoesNotLoseToPlainRounding) {
  const int64_t rows = 32, cols = 128;
  const Data d = inputs(cols, 300, 4);
  const std::vector<float> w = weights(rows, cols, 5);
  for (const WeightGrid& grid : {WeightGrid::integer(3, 32, false), WeightGrid::ggml(GgmlType::Q4_1)}) {
    SCOPED_TRACE(grid.describe());
    const double clipped = error_of(awq_clip_quantize(w, rows, cols, d.h, grid), w, d);
    const double rtn = error_of(quantize_rtn(w, rows, cols, grid), w, d);
    EXPECT_LE(clipped, rtn) << "clipped " << clipped << " rtn " << rtn;
  }
}

TEST(Awq, RefusesMismatchedShapes) {
  const std::vector<float> w(10, 0.1f);
  const std::vector<double> m(4, 1.0), h(16, 0.0);
  EXPECT_THROW((void)awq_search_scales({{w, 2}}, m, WeightGrid::integer(4, 0, false), quadratic_form(h, 4)), Error);
  EXPECT_THROW((void)awq_clip_quantize(w, 2, 4, h, WeightGrid::integer(4, 0, false)), Error);
}

}  // namespace
}  // namespace qforge
