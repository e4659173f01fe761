#include <gtest/gtest.h>

#include <random>

#include "qforge/metrics.h"
#include "qforge/qtensor.h"

namespace qforge {
namespace {

Tensor random_weight(int64_t rows, int64_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 0.02f);
  std::vector<float> v(static_cast<size_t>(rows * cols));
  for (auto& x : v) x = n(rng);
  return Tensor::from_vector({rows, cols}, v);
}

TEST(QTensor, PackedSizeAndBitsPerWeight) {
  const Tensor w = random_weight(16, 256, 1);
  const QTensor q4 = quantize_tensor(w, QScheme::grouped(4, 32, QMode::Symmetric), "w");
  EXPECT_EQ(q4.packed.size(), 16u * 256u / 2u);
  // 4 bits + (32-bit scale + 32-bit zero) / 32 = 6 bits per weight as held here
  EXPECT_DOUBLE_EQ(q4.bits_per_weight(), 6.0);
  const QTensor q3 = quantize_tensor(w, QScheme::grouped(3, 128, QMode::Affine), "w");
  EXPECT_EQ(q3.packed.size(), 16u * 256u * 3u / 8u);
  const QTensor nf4 = quantize_tensor(w, QScheme::nf4(64), "w");
  EXPECT_EQ(nf4.order, BitOrder::MsbFirst);
  EXPECT_DOUBLE_EQ(nf4.bits_per_weight(), 4.5);  // 4 + 32/64
}

TEST(QTensor, DequantizeMatchesUnpackedPath) {
  const Tensor w = random_weight(8, 128, 2);
  for (const QScheme& s : {QScheme::grouped(4, 32, QMode::Affine), QScheme::grouped(2, 64, QMode::Affine),
                           QScheme::symmetric(8, Granularity::PerChannel), QScheme::nf4(64),
                           QScheme::fp4_e2m1(32)}) {
    SCOPED_TRACE(s.describe());
    const QTensor q = quantize_tensor(w, s, "w");
    const auto x = w.span<float>();
    const QParams p = choose_qparams(x, w.shape(), s);
    const auto direct = dequantize(quantize(x, w.shape(), s, p), w.shape(), s, p);
    const Tensor back = dequantize_tensor(q);
    EXPECT_EQ(std::vector<float>(back.span<float>().begin(), back.span<float>().end()), direct);
    // and it is a sensible approximation (SQNR grows ~6 dB per bit)
    EXPECT_GT(sqnr_db(x, back.span<float>()), s.bits >= 8 ? 35.0 : (s.bits >= 4 ? 15.0 : 5.0));
  }
}

TEST(QTensor, RejectsNonF32Input) {
  const Tensor t = Tensor::zeros(DType::i32, {4});
  EXPECT_THROW(quantize_tensor(t, QScheme::symmetric(8), "t"), Error);
}

}  // namespace
}  // namespace qforge
