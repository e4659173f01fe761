// Linear quantization against hand-worked examples (the seed material's, verbatim) and the
// properties every scheme must have.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "qforge/metrics.h"
#include "qforge/quant.h"

namespace qforge {
namespace {

const std::vector<float> kW = {0.6839f, 0.4741f, 0.7451f, 0.9301f, 0.1742f, 0.6835f};
const Shape kShape = {2, 3};

TEST(Linear, PerTensorAffineUint8WithoutForcingZero) {
  QScheme s = QScheme::affine(8, /*is_signed=*/false);
  s.include_zero = false;
  const QParams p = choose_qparams(kW, kShape, s);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_FLOAT_EQ(p.scale[0], 0.00296431384f);
  EXPECT_EQ(p.zero_point[0], -59);  // outside [0, 255]: zero is not in the range
  const auto q = quantize(kW, kShape, s, p);
  EXPECT_EQ(q, (std::vector<int32_t>{172, 101, 192, 255, 0, 172}));
  const auto r = dequantize(q, kShape, s, p);
  EXPECT_NEAR(mse(kW, r), 7.385e-07, 0.001e-07);
}

TEST(Linear, PerChannelAffineBeatsPerTensor) {
  QScheme s = QScheme::affine(8, false, Granularity::PerChannel);
  s.include_zero = false;
  s.axis = 0;
  const QParams p = choose_qparams(kW, kShape, s);
  ASSERT_EQ(p.shape, Shape{2});
  EXPECT_EQ(p.zero_point[0], -446);
  EXPECT_EQ(p.zero_point[1], -59);
  const auto q = quantize(kW, kShape, s, p);
  EXPECT_EQ(q, (std::vector<int32_t>{198, 0, 255, 255, 0, 172}));
  const double per_channel = mse(kW, dequantize(q, kShape, s, p));
  EXPECT_LT(per_channel, 7.385e-07);
}

TEST(Linear, ForcingZeroIntoTheRange) {
  const QScheme s = QScheme::affine(8, false);  // include_zero = true, PyTorch's rule
  const QParams p = choose_qparams(kW, kShape, s);
  EXPECT_FLOAT_EQ(p.scale[0], 0.9301f / 255.0f);
  EXPECT_EQ(p.zero_point[0], 0);
  // 0 is exactly representable
  EXPECT_EQ(dequantize_value(quantize_value(0.0f, p.at(0), s), p.at(0), s), 0.0f);
}

// Symmetric absmax int8 and the integer product of the seed example.
TEST(Linear, SymmetricAbsmaxInt8) {
  const std::vector<float> w = {0.0806f, 0.7589f, 0.6038f, 0.3815f, 0.5040f, 0.7174f};
  const std::vector<float> x = {0.5444f, 0.5826f, 0.7772f, 0.5555f, 0.3740f, 0.3253f,
                                0.0698f, 0.1381f, 0.5972f, 0.0086f, 0.0737f, 0.8298f};
  const QScheme s = QScheme::symmetric(8);
  const QParams pw = choose_qparams(w, {2, 3}, s);
  const QParams px = choose_qparams(x, {3, 4}, s);
  EXPECT_NEAR(pw.scale[0], 0.0059756, 1e-7);
  EXPECT_NEAR(px.scale[0], 0.0065339, 1e-7);
  EXPECT_EQ(pw.zero_point[0], 0);
  EXPECT_EQ(quantize(w, {2, 3}, s, pw), (std::vector<int32_t>{13, 127, 101, 64, 84, 120}));
  EXPECT_EQ(quantize(x, {3, 4}, s, px),
            (std::vector<int32_t>{83, 89, 119, 85, 57, 50, 11, 21, 91, 1, 11, 127}));
}

TEST(Linear, CodeRangesOfEverySymmetricVariant) {
  QScheme s = QScheme::symmetric(8);
  EXPECT_EQ(s.qmin(), -127);
  EXPECT_EQ(s.qmax(), 127);
  s.sym_range = SymRange::Full;
  EXPECT_EQ(s.qmin(), -128);
  s.reduce_range = true;  // one bit less, PyTorch's [-64, 63]
  EXPECT_EQ(s.qmin(), -64);
  EXPECT_EQ(s.qmax(), 63);
  QScheme u = QScheme::affine(8, false);
  u.reduce_range = true;
  EXPECT_EQ(u.qmax(), 127);
  QScheme i4 = QScheme::symmetric(4);
  EXPECT_EQ(i4.qmin(), -7);
  EXPECT_EQ(i4.qmax(), 7);
  QScheme us = QScheme::symmetric(8);
  us.is_signed = false;  // unsigned symmetric: z = 128, codes 1..255
  EXPECT_EQ(us.qmin(), 1);
  EXPECT_EQ(choose_scale_zero(-1.0f, 1.0f, us).zero_point, 128);
}

TEST(Linear, FullRangeUsesTheHalfStepDenominator) {
  QScheme s = QScheme::symmetric(8);
  s.sym_range = SymRange::Full;
  const ScaleZero sz = choose_scale_zero(-127.5f, 1.0f, s);
  EXPECT_EQ(sz.scale, 1.0f);                          // max|r| / ((127 − (−128)) / 2)
  EXPECT_EQ(quantize_value(-127.5f, sz, s), -128);  // ties to even: −128
  EXPECT_EQ(quantize_value(127.5f, sz, s), 127);    // +128 clamps
}

TEST(Linear, RoundingModes) {
  QScheme s = QScheme::symmetric(8);
  const ScaleZero sz{1.0f, 0};
  EXPECT_EQ(quantize_value(2.5f, sz, s), 2);
  EXPECT_EQ(quantize_value(-2.5f, sz, s), -2);
  EXPECT_EQ(quantize_value(3.5f, sz, s), 4);
  s.rounding = Rounding::HalfAway;
  EXPECT_EQ(quantize_value(2.5f, sz, s), 3);
  EXPECT_EQ(quantize_value(-2.5f, sz, s), -3);
}

TEST(Linear, EveryBitWidthSignedAndUnsigned) {
  std::mt19937 rng(3);
  std::normal_distribution<float> n(0, 1);
  std::vector<float> x(1000);
  for (auto& v : x) v = n(rng);
  double prev = INFINITY;
  for (int b = 1; b <= 8; ++b) {
    for (bool is_signed : {false, true}) {
      const QScheme s = QScheme::affine(b, is_signed);
      const QParams p = choose_qparams(x, {1000}, s);
      const auto q = quantize(x, {1000}, s, p);
      for (int32_t c : q) {
        ASSERT_GE(c, s.qmin());
        ASSERT_LE(c, s.qmax());
      }
      const double e = mse(x, dequantize(q, {1000}, s, p));
      if (is_signed) {
        EXPECT_LT(e, prev) << "more bits must not cost accuracy, b=" << b;
        prev = e;
      }
    }
  }
}

TEST(Linear, PerChannelOnAnyAxis) {
  // 2×3×2 tensor, channels on the middle axis: each channel's range set by its own values.
  std::vector<float> x(12);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i);
  QScheme s = QScheme::symmetric(8, Granularity::PerChannel);
  s.axis = 1;
  const QParams p = choose_qparams(x, {2, 3, 2}, s);
  ASSERT_EQ(p.shape, Shape{3});
  // channel c holds elements 2c, 2c+1, 6+2c, 7+2c: max is 7 + 2c
  for (int c = 0; c < 3; ++c) EXPECT_FLOAT_EQ(p.scale[static_cast<size_t>(c)], static_cast<float>(7 + 2 * c) / 127.0f);
  s.axis = -1;
  EXPECT_EQ(choose_qparams(x, {2, 3, 2}, s).shape, Shape{2});
  s.axis = 3;
  EXPECT_THROW(choose_qparams(x, {2, 3, 2}, s), Error);
}

std::vector<float> heavy_tailed(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::student_t_distribution<float> t(3.0f);
  std::vector<float> x(n);
  for (auto& v : x) v = t(rng);
  return x;
}

TEST(Linear, GroupErrorShrinksWithGroupSize) {
  const auto x = heavy_tailed(64 * 1024, 11);
  const Shape shape = {64, 1024};
  double prev = INFINITY;
  for (int64_t g : {1024, 256, 128, 64, 32, 16}) {
    const QScheme s = QScheme::grouped(4, g, QMode::Symmetric);
    const QParams p = choose_qparams(x, shape, s);
    EXPECT_EQ(p.shape, (Shape{64, 1024 / g}));
    const double e = mse(x, dequantize(quantize(x, shape, s, p), shape, s, p));
    EXPECT_LT(e, prev) << "G=" << g;
    prev = e;
  }
  // and per-channel lies between per-tensor and small groups
  const QScheme pt = QScheme::symmetric(4);
  const QParams ppt = choose_qparams(x, shape, pt);
  const double e_tensor = mse(x, dequantize(quantize(x, shape, pt, ppt), shape, pt, ppt));
  const QScheme pc = QScheme::symmetric(4, Granularity::PerChannel);
  const QParams ppc = choose_qparams(x, shape, pc);
  const double e_channel = mse(x, dequantize(quantize(x, shape, pc, ppc), shape, pc, ppc));
  EXPECT_LT(e_channel, e_tensor);
  EXPECT_LT(prev, e_channel);
}

TEST(Linear, PartialLastGroupRejectedOrAllowed) {
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  QScheme s = QScheme::grouped(8, 4, QMode::Symmetric);
  try {
    choose_qparams(x, {10}, s);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a multiple of group size 4"), std::string::npos);
  }
  s.partial_group = PartialGroup::Allow;
  const QParams p = choose_qparams(x, {10}, s);
  ASSERT_EQ(p.shape, Shape{3});
  EXPECT_FLOAT_EQ(p.scale[2], 10.0f / 127.0f);  // last group holds 9, 10
  const auto r = dequantize(quantize(x, {10}, s, p), {10}, s, p);
  EXPECT_NEAR(r[9], 10.0f, 1e-5f);
}

// quantize → dequantize → quantize gives the same codes, for every scheme family.
TEST(Linear, RoundTripsAreStable) {
  const auto x = heavy_tailed(8 * 128, 5);
  const Shape shape = {8, 128};
  std::vector<QScheme> schemes = {QScheme::symmetric(8), QScheme::affine(8, false),
                                  QScheme::symmetric(4, Granularity::PerChannel),
                                  QScheme::grouped(4, 32, QMode::Affine), QScheme::grouped(3, 64, QMode::Symmetric),
                                  QScheme::grouped(2, 16, QMode::Affine), QScheme::nf4(64), QScheme::fp4_e2m1(32)};
  QScheme away = QScheme::affine(5, true);
  away.rounding = Rounding::HalfAway;
  away.include_zero = false;
  schemes.push_back(away);
  for (const QScheme& s : schemes) {
    SCOPED_TRACE(s.describe());
    const QParams p = choose_qparams(x, shape, s);
    const auto q1 = quantize(x, shape, s, p);
    const auto r1 = dequantize(q1, shape, s, p);
    const auto q2 = quantize(r1, shape, s, p);
    EXPECT_EQ(q1, q2);
    // re-observing the dequantized tensor must not move the parameters either (idempotence)
    const QParams p2 = choose_qparams(r1, shape, s);
    const auto q3 = quantize(r1, shape, s, p2);
    EXPECT_EQ(q3, q2) << "second pass changed the codes";
    EXPECT_LT(max_abs_error(dequantize(q3, shape, s, p2), r1), 1e-5) << "second pass moved the grid";
  }
}

TEST(Linear, SchemeValidationNamesTheField) {
  QScheme s = QScheme::symmetric(9);
  EXPECT_THROW(s.validate(), Error);
  s = QScheme::symmetric(1);
  EXPECT_THROW(s.validate(), Error);
  s = QScheme::grouped(4, 0, QMode::Symmetric);
  try {
    s.validate();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("group_size"), std::string::npos);
  }
  EXPECT_NO_THROW(QScheme::affine(1, false).validate());
  EXPECT_EQ(QScheme::grouped(4, 128, QMode::Affine).describe(), "u4 affine per-group(G=128) half-even");
}

}  // namespace
}  // namespace qforge
