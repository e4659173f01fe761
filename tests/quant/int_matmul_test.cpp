#include <gtest/gtest.h>

#include <random>

#include "qforge/int_matmul.h"
#include "qforge/quant.h"

namespace qforge {
namespace {

std::vector<int8_t> to_s8(const std::vector<int32_t>& q) { return {q.begin(), q.end()}; }

// The seed example: symmetric absmax int8 of W (2×3) and X (3×4), product in int32, rescale.
TEST(IntMatmul, SeedExample) {
  const std::vector<float> w = {0.0806f, 0.7589f, 0.6038f, 0.3815f, 0.5040f, 0.7174f};
  const std::vector<float> x = {0.5444f, 0.5826f, 0.7772f, 0.5555f, 0.3740f, 0.3253f,
                                0.0698f, 0.1381f, 0.5972f, 0.0086f, 0.0737f, 0.8298f};
  const QScheme s = QScheme::symmetric(8);
  const QParams pw = choose_qparams(w, {2, 3}, s), px = choose_qparams(x, {3, 4}, s);
  const auto wq = to_s8(quantize(w, {2, 3}, s, pw)), xq = to_s8(quantize(x, {3, 4}, s, px));
  const auto c = matmul_s8s8_s32_ref(wq, xq, 2, 4, 3);
  EXPECT_EQ(c, (std::vector<int32_t>{17509, 7608, 4055, 16599, 21020, 10016, 9860, 22444}));
  const auto y = rescale_s32_to_f32(c, 2, 4, pw.scale, px.scale, {}, {});
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j) {
      double ref = 0;
      for (int k = 0; k < 3; ++k) ref += static_cast<double>(w[static_cast<size_t>(i * 3 + k)]) * x[static_cast<size_t>(k * 4 + j)];
      EXPECT_NEAR(y[static_cast<size_t>(i * 4 + j)], ref, 0.01) << i << "," << j;
    }
}

// Per-channel weights × per-token asymmetric uint8 activations with zero points: the
// zero-point correction makes the integer path equal the float product of the dequantized
// operands (exactly, up to float rounding of the final multiply).
TEST(IntMatmul, PerChannelWeightsPerTokenAsymmetricActivations) {
  const int64_t m = 5, k = 37, n = 3;
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0, 1);
  std::vector<float> w(static_cast<size_t>(m * k)), xt(static_cast<size_t>(n * k));
  for (auto& v : w) v = nd(rng);
  for (auto& v : xt) v = nd(rng) + 0.7f;  // shifted: asymmetric activations
  const QScheme sw = QScheme::symmetric(8, Granularity::PerChannel);
  const QParams pw = choose_qparams(w, {m, k}, sw);
  const auto wq = to_s8(quantize(w, {m, k}, sw, pw));
  QScheme sx = QScheme::affine(8, false, Granularity::PerChannel);  // one (s, z) per token row of Xᵀ
  const QParams px = choose_qparams(xt, {n, k}, sx);
  const auto xq_t = quantize(xt, {n, k}, sx, px);
  std::vector<uint8_t> xq(static_cast<size_t>(k * n));  // transpose to K×N
  for (int64_t t = 0; t < n; ++t)
    for (int64_t p = 0; p < k; ++p) xq[static_cast<size_t>(p * n + t)] = static_cast<uint8_t>(xq_t[static_cast<size_t>(t * k + p)]);
  const auto c = matmul_s8u8_s32_ref(wq, xq, m, n, k);
  const auto y = rescale_s32_to_f32(c, m, n, pw.scale, px.scale, px.zero_point, row_sums_s8(wq, m, k));
  const auto wd = dequantize(quantize(w, {m, k}, sw, pw), {m, k}, sw, pw);
  const auto xd = dequantize(xq_t, {n, k}, sx, px);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t t = 0; t < n; ++t) {
      double ref = 0;
      for (int64_t p = 0; p < k; ++p) ref += static_cast<double>(wd[static_cast<size_t>(i * k + p)]) * xd[static_cast<size_t>(t * k + p)];
      EXPECT_NEAR(y[static_cast<size_t>(i * n + t)], ref, 1e-4 * (1 + std::fabs(ref)));
    }
}

TEST(IntMatmul, ShapesAreChecked) {
  std::vector<int8_t> a(6), b(6);
  EXPECT_THROW(matmul_s8s8_s32_ref(a, b, 2, 4, 3), Error);
  const std::vector<int32_t> c(4);
  const std::vector<float> one = {1.0f}, three = {1, 2, 3};
  EXPECT_THROW(rescale_s32_to_f32(c, 2, 2, three, one, {}, {}), Error);
}

}  // namespace
}  // namespace qforge
