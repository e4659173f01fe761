// Degenerate input is defined behaviour: zeros, constants, NaN/Inf, huge outliers, subnormals.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <vector>

#include "qforge/metrics.h"
#include "qforge/quant.h"

namespace qforge {
namespace {

const std::vector<QScheme>& all_families() {
  static const std::vector<QScheme> s = [] {
    std::vector<QScheme> v = {QScheme::symmetric(8), QScheme::affine(8, false), QScheme::affine(4, true),
                              QScheme::grouped(4, 4, QMode::Symmetric), QScheme::nf4(4), QScheme::fp4_e2m1(4)};
    QScheme no_zero = QScheme::affine(8, false);
    no_zero.include_zero = false;
    v.push_back(no_zero);
    return v;
  }();
  return s;
}

TEST(Degenerate, AllZeroGivesScaleZeroAndExactZeros) {
  const std::vector<float> x(8, 0.0f);
  for (const QScheme& s : all_families()) {
    SCOPED_TRACE(s.describe());
    const QParams p = choose_qparams(x, {8}, s);
    for (float sc : p.scale) EXPECT_EQ(sc, 0.0f);
    const auto r = dequantize(quantize(x, {8}, s, p), {8}, s, p);
    for (float v : r) EXPECT_EQ(v, 0.0f);
  }
}

TEST(Degenerate, ConstantTensorIsRepresentedExactly) {
  for (float c : {0.37f, -5.5f, 1e-20f, 3e30f}) {
    const std::vector<float> x(8, c);
    for (const QScheme& s : all_families()) {
      SCOPED_TRACE(s.describe() + " c=" + std::to_string(c));
      const QParams p = choose_qparams(x, {8}, s);
      const auto r = dequantize(quantize(x, {8}, s, p), {8}, s, p);
      for (float v : r) EXPECT_NEAR(v, c, std::fabs(c) * 1e-6f);
    }
  }
}

TEST(Degenerate, NanAndInfAreRefusedWithTheTensorName) {
  for (float bad : {NAN, INFINITY, -INFINITY}) {
    std::vector<float> x = {1, 2, 3, 4};
    x[2] = bad;
    try {
      choose_qparams(x, {4}, QScheme::symmetric(8), "blk.3.ffn_up");
      FAIL();
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::Numeric);
      const std::string m = e.what();
      EXPECT_NE(m.find("blk.3.ffn_up"), std::string::npos) << m;
      EXPECT_NE(m.find("element 2"), std::string::npos) << m;
    }
  }
  EXPECT_THROW(quantize_value(NAN, {1.0f, 0}, QScheme::symmetric(8)), Error);
}

TEST(Degenerate, HugeOutlierStaysFiniteAndCostsTheSmallValues) {
  std::vector<float> x = {0.01f, -0.02f, 0.03f, 3e38f};
  for (const QScheme& s : all_families()) {
    SCOPED_TRACE(s.describe());
    const QParams p = choose_qparams(x, {4}, s);
    const auto r = dequantize(quantize(x, {4}, s, p), {4}, s, p);
    for (float v : r) EXPECT_TRUE(std::isfinite(v));
    EXPECT_NEAR(r[3], 3e38f, 3e38f * 0.5f);  // the outlier itself survives
  }
  // Affine over [−FLT_MAX, FLT_MAX]: the width overflows f32 but the scale must not.
  const std::vector<float> wide = {-FLT_MAX, FLT_MAX};
  const QParams p = choose_qparams(wide, {2}, QScheme::affine(8, false));
  EXPECT_TRUE(std::isfinite(p.scale[0]));
  // 1-bit affine over it needs a scale of 2·FLT_MAX: refused, not Inf.
  EXPECT_THROW(choose_qparams(wide, {2}, QScheme::affine(1, false)), Error);
}

TEST(Degenerate, TinyRangesKeepANormalScale) {
  const std::vector<float> x = {0.0f, 1e-44f, -1e-44f, 5e-45f};  // f32 subnormals
  const QScheme s = QScheme::symmetric(8);
  const QParams p = choose_qparams(x, {4}, s);
  EXPECT_GE(p.scale[0], FLT_MIN);
  const auto r = dequantize(quantize(x, {4}, s, p), {4}, s, p);
  EXPECT_LE(max_abs_error(x, r), FLT_MIN);
}

TEST(Degenerate, NarrowRangeFarFromZeroRefusesAnOverflowingZeroPoint) {
  QScheme s = QScheme::affine(8, false);
  s.include_zero = false;
  EXPECT_THROW(choose_scale_zero(1e30f, 1.0000001e30f, s), Error);
  s.include_zero = true;
  EXPECT_NO_THROW(choose_scale_zero(1e30f, 1.0000001e30f, s));
}

TEST(Degenerate, EmptyTensor) {
  const std::vector<float> x;
  const QParams p = choose_qparams(x, {0, 4}, QScheme::symmetric(8, Granularity::PerChannel));
  EXPECT_TRUE(p.scale.empty());
  const QParams t = choose_qparams(x, {0}, QScheme::symmetric(8));
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t.scale[0], 0.0f);
}

}  // namespace
}  // namespace qforge
