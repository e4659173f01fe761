// HQQ: the lp error it minimises falls below RTN's on the same grid; the solver's pieces.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "qforge/error.h"
#include "qforge/weight_quant.h"

namespace qforge {
namespace {

std::vector<float> llm_like(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::student_t_distribution<float> t(4.0f);
  std::vector<float> w(n);
  for (auto& v : w) v = 0.02f * t(rng);
  return w;
}

TEST(Hqq, LpErrorIsBelowRtnOnTheSameGrid) {
  const int64_t rows = 48, cols = 256;
  const std::vector<float> w = llm_like(static_cast<size_t>(rows * cols), 1);
  for (const WeightGrid& grid : {WeightGrid::ggml(GgmlType::Q4_1), WeightGrid::integer_min(3, 64), WeightGrid::integer_min(2, 64),
                                 WeightGrid::integer_min(4, 128), WeightGrid::ggml(GgmlType::Q5_1)}) {
    SCOPED_TRACE(grid.describe());
    const QuantizedMatrix h = quantize_hqq(w, rows, cols, grid);
    const QuantizedMatrix r = quantize_rtn(w, rows, cols, grid);
    const double eh = lp_error(w, h, 0.7), er = lp_error(w, r, 0.7);
    EXPECT_LT(eh, er) << "hqq " << eh << " rtn " << er;  // typically 2–4 % lower: only the zero point moves
    // Each code is the nearest on its group's stored parameters.
    for (int64_t c = 0; c < cols; c += 7) {
      const GroupParams& p = h.group(3, c);
      EXPECT_EQ(h.codes[static_cast<size_t>(3 * cols + c)], grid.nearest(w[static_cast<size_t>(3 * cols + c)], p));
    }
  }
}

TEST(Hqq, OneIterationIsMinMaxAndMoreIterationsOnlyLowerTheL1Error) {
  const int64_t rows = 8, cols = 64;
  const std::vector<float> w = llm_like(static_cast<size_t>(rows * cols), 2);
  const WeightGrid grid = WeightGrid::integer_min(3, 32);
  HqqOptions one;
  one.iters = 1;
  const QuantizedMatrix h1 = quantize_hqq(w, rows, cols, grid, one);
  const QuantizedMatrix r = quantize_rtn(w, rows, cols, grid);
  for (size_t i = 0; i < r.params.size(); ++i) {  // min-max: the same grid up to the f16 rounding of 1/(1/s)
    EXPECT_NEAR(h1.params[i].scale, r.params[i].scale, 1e-3f * r.params[i].scale) << i;
    EXPECT_NEAR(h1.params[i].min, r.params[i].min, 1e-3f * std::fabs(r.params[i].min)) << i;
  }
  const auto l1 = [&](const QuantizedMatrix& q) { return lp_error(w, q, 1.0); };
  EXPECT_LE(l1(quantize_hqq(w, rows, cols, grid)), l1(h1) * 1.001);
}

TEST(Hqq, ScaleUpdateLowersTheLpErrorFurther) {
  const int64_t rows = 48, cols = 256;
  const std::vector<float> w = llm_like(static_cast<size_t>(rows * cols), 3);
  for (const WeightGrid& grid : {WeightGrid::integer_min(4, 64), WeightGrid::integer_min(3, 64), WeightGrid::integer_min(2, 32)}) {
    SCOPED_TRACE(grid.describe());
    HqqOptions scaled;
    scaled.update_scale = true;
    const QuantizedMatrix z = quantize_hqq(w, rows, cols, grid), s = quantize_hqq(w, rows, cols, grid, scaled);
    const double ez = lp_error(w, z, 0.7), es = lp_error(w, s, 0.7), er = lp_error(w, quantize_rtn(w, rows, cols, grid), 0.7);
    EXPECT_LT(es, er);
    EXPECT_LT(es, ez) << "zero only " << ez << ", with the scale " << es;
    size_t moved = 0;  // the scales did move
    for (size_t i = 0; i < z.params.size(); ++i) moved += z.params[i].scale != s.params[i].scale;
    EXPECT_GT(moved, z.params.size() / 2);
  }
}

TEST(Hqq, AxisZeroGroupsRunDownTheTensorViewedAsGroupRows) {
  // w viewed as [G, M]: group j holds w[j], w[M + j], w[2M + j], ...
  const std::vector<float> w = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};  // G = 3, M = 4
  const std::vector<float> b = axis0_groups(w, 3);
  EXPECT_EQ(b, (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  std::vector<float> back(12);
  axis0_scatter(b, 3, back);
  EXPECT_EQ(back, w);

  const int64_t rows = 64, cols = 96;
  std::vector<float> x = llm_like(static_cast<size_t>(rows * cols), 4);
  for (int64_t r = 0; r < rows; ++r) x[static_cast<size_t>(r * cols + 5)] *= 30;  // an outlier input column
  HqqOptions a0;
  a0.axis = 0;
  const WeightGrid grid = WeightGrid::integer_min(4, 64);
  const QuantizedMatrix h = quantize_hqq(x, rows, cols, grid, a0);
  EXPECT_TRUE(h.grid.axis0);
  EXPECT_EQ(h.rows, rows * cols / 64);
  EXPECT_EQ(h.cols, 64);
  EXPECT_EQ(h.grid.describe(), "int4 min G=64 axis 0");
  // the same as HQQ along rows of the regrouped tensor, and below RTN on those groups
  const std::vector<float> g = axis0_groups(x, 64);
  const QuantizedMatrix same = quantize_hqq(g, rows * cols / 64, 64, grid);
  EXPECT_EQ(h.codes, same.codes);
  QuantizedMatrix rtn = quantize_rtn(g, rows * cols / 64, 64, grid);
  rtn.grid.axis0 = true;
  EXPECT_LT(lp_error(x, h, 0.7), lp_error(x, rtn, 0.7));
  // an outlier input column lands in groups of its own column: axis 0 confines it
  EXPECT_LT(lp_error(x, h, 0.7), lp_error(x, quantize_hqq(x, rows, cols, grid), 0.7));
  a0.axis = 0;
  EXPECT_THROW((void)quantize_hqq(x, rows, cols, WeightGrid::ggml(GgmlType::Q4_1), a0), Error);
  EXPECT_THROW((void)quantize_hqq(x, rows, cols, WeightGrid::integer_min(4, 100), a0), Error);
}

TEST(Hqq, RefusesGridsWithoutAFloatZeroAndBadOptions) {
  const std::vector<float> w(64, 0.5f);
  EXPECT_THROW((void)quantize_hqq(w, 2, 32, WeightGrid::ggml(GgmlType::Q4_0)), Error);
  EXPECT_THROW((void)quantize_hqq(w, 2, 32, WeightGrid::integer(4, 32, false)), Error);
  HqqOptions bad;
  bad.lp_norm = 2;
  EXPECT_THROW((void)quantize_hqq(w, 2, 32, WeightGrid::integer_min(4, 32), bad), Error);
  // A constant group is exact.
  const QuantizedMatrix c = quantize_hqq(w, 2, 32, WeightGrid::integer_min(4, 32));
  for (int64_t i = 0; i < 32; ++i) EXPECT_EQ(c.value(1, i), 0.5f);
}

}  // namespace
}  // namespace qforge
