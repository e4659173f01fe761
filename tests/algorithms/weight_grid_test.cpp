// WeightGrid and QuantizedMatrix: hand-worked parameter rules, and the GGUF grids checked
// against llama.cpp's reference codecs (ggml_quantize / ggml_dequantize).
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "qforge/error.h"
#include "qforge/float_convert.h"
#include "qforge/qtensor.h"
#include "qforge/weight_quant.h"
#include <cmath>

namespace qforge {
namespace {

std::vector<float> heavy_tailed(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::student_t_distribution<float> t(3.0f);
  std::vector<float> w(n);
  for (auto& v : w) v = 0.02f * t(rng);
  for (size_t i = 0; i < n; i += 97) w[i] *= 20;  // outliers
  for (size_t i = 5; i < n; i += 211) w[i] = 0;    // and exact zeros
  return w;
}

const GgmlType kGgufGrids[] = {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1};

TEST(WeightGrid, RtnOnAGgufGridIsLlamaCppsReferenceQuantizer) {
  const int64_t rows = 7, cols = 256;
  std::vector<float> w = heavy_tailed(static_cast<size_t>(rows * cols), 1);
  std::fill(w.begin() + 64, w.begin() + 96, 0.0f);  // an all-zero block
  for (GgmlType t : kGgufGrids) {
    SCOPED_TRACE(std::string(ggml_type_info(t).name));
    std::vector<uint8_t> want(static_cast<size_t>(ggml_row_bytes(t, cols) * rows));
    ggml_quantize(t, w, want);
    const QuantizedMatrix q = quantize_rtn(w, rows, cols, WeightGrid::ggml(t));
    EXPECT_EQ(q.to_ggml(), want);
    std::vector<float> deq(w.size());
    ggml_dequantize(t, want, deq);
    const Tensor mine = q.dequantize();
    EXPECT_EQ(0, std::memcmp(mine.data(), deq.data(), deq.size() * sizeof(float)));
  }
}

TEST(WeightGrid, GgufBlocksDequantizeToExactlyTheGridValues) {
  // Any codes on fitted parameters (as GPTQ produces them): the blocks hold exactly value().
  std::mt19937 rng(2);
  const int64_t rows = 3, cols = 64;
  const std::vector<float> w = heavy_tailed(static_cast<size_t>(rows * cols), 3);
  for (GgmlType t : kGgufGrids) {
    SCOPED_TRACE(std::string(ggml_type_info(t).name));
    const WeightGrid grid = WeightGrid::ggml(t);
    QuantizedMatrix q = make_quantized_matrix(grid, rows, cols);
    std::uniform_int_distribution<int> code(grid.qmin(), grid.qmax());
    for (auto& c : q.codes) c = static_cast<int16_t>(code(rng));
    for (size_t k = 0; k < q.params.size(); ++k) q.params[k] = grid.fit({&w[k * 32], 32});
    const std::vector<uint8_t> bytes = q.to_ggml();
    std::vector<float> deq(w.size());
    ggml_dequantize(t, bytes, deq);
    const Tensor mine = q.dequantize();
    EXPECT_EQ(0, std::memcmp(mine.data(), deq.data(), deq.size() * sizeof(float)));
    const QuantizedMatrix back = QuantizedMatrix::from_ggml(t, bytes, rows, cols);
    EXPECT_EQ(back.codes, q.codes);
  }
}

TEST(WeightGrid, IntegerRulesFollowTheGptqReferenceQuantizer) {
  const std::vector<float> w = {-1.0f, 0.5f, 0.25f, 2.0f};
  // sym: the range becomes [−2, 2], scale = 4/15 (as f16), zero = 8; 2/s = 7.5 rounds to 8 → clamp 15.
  const WeightGrid sym = WeightGrid::integer(4, 0, true);
  const GroupParams ps = sym.fit(w);
  EXPECT_EQ(ps.scale, f16_to_f32(f32_to_f16(4.0f / 15.0f)));
  EXPECT_EQ(ps.zero, 8);
  EXPECT_EQ(sym.nearest(-1.0f, ps), 4);   // −3.75 → −4
  EXPECT_EQ(sym.nearest(0.5f, ps), 10);   // 1.875 → 2
  EXPECT_EQ(sym.nearest(0.25f, ps), 9);   // 0.94 → 1
  EXPECT_EQ(sym.nearest(2.0f, ps), 15);   // 7.5 → 8, clamped
  // asym: [−1, 2], scale = 3/15 → f16 0.199951171875, zero = round(1/s) = 5.
  const WeightGrid asym = WeightGrid::integer(4, 0, false);
  const GroupParams pa = asym.fit(w);
  EXPECT_EQ(pa.scale, 0.199951171875f);
  EXPECT_EQ(pa.zero, 5);
  EXPECT_EQ(asym.nearest(-1.0f, pa), 0);
  EXPECT_EQ(asym.nearest(2.0f, pa), 15);
  EXPECT_EQ(asym.nearest(0.5f, pa), 8);   // 2.5006 → 3, + 5
  // A range without 0 is widened to contain it: [0.5, 2] → [0, 2], zero 0.
  const GroupParams pos = asym.fit(std::vector<float>{0.5f, 2.0f});
  EXPECT_EQ(pos.zero, 0);
  // All zero: GPTQ's [−1, 1] fallback, and 0 is exact.
  const GroupParams z = asym.fit(std::vector<float>{0.0f, 0.0f});
  EXPECT_EQ(asym.value(asym.nearest(0.0f, z), z), 0.0f);
}

TEST(WeightGrid, RtnIntegerGridsRoundEachWeightToItsNearestValue) {
  const int64_t rows = 5, cols = 128;
  const std::vector<float> w = heavy_tailed(static_cast<size_t>(rows * cols), 4);
  for (const WeightGrid& grid : {WeightGrid::integer(3, 32, true), WeightGrid::integer(2, 64, false), WeightGrid::integer(8, 0, false)}) {
    SCOPED_TRACE(grid.describe());
    const QuantizedMatrix q = quantize_rtn(w, rows, cols, grid);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        const GroupParams& p = q.group(r, c);
        const float x = w[static_cast<size_t>(r * cols + c)], v = q.value(r, c);
        for (int32_t other = grid.qmin(); other <= grid.qmax(); ++other)  // no code is nearer
          ASSERT_LE(std::fabs(x - v), std::fabs(x - grid.value(other, p)) * (1 + 1e-6f) + 1e-12f);
      }
  }
}

TEST(WeightGrid, Nf4MatchesTheQTensorCodebookPath) {
  // src/quant's QScheme::nf4 (choose_qparams + codebook quantize) is a separate implementation.
  const int64_t rows = 6, cols = 192;
  const std::vector<float> w = heavy_tailed(static_cast<size_t>(rows * cols), 8);
  const QuantizedMatrix q = quantize_rtn(w, rows, cols, WeightGrid::nf4(64));
  const Tensor ref = dequantize_tensor(quantize_tensor(Tensor::from_vector({rows, cols}, w), QScheme::nf4(64)));
  const Tensor mine = q.dequantize();
  EXPECT_EQ(0, std::memcmp(mine.data(), ref.data(), ref.nbytes()));
  EXPECT_DOUBLE_EQ(WeightGrid::nf4(64).bits_per_weight(), 4.5);
}

TEST(WeightGrid, Nf4DoubleQuantStoresScalesIn8BitsAtSmallCost) {
  const int64_t rows = 64, cols = 512;  // 512 groups: two double-quant blocks
  const std::vector<float> w = heavy_tailed(static_cast<size_t>(rows * cols), 9);
  const QuantizedMatrix plain = quantize_rtn(w, rows, cols, WeightGrid::nf4(64));
  const QuantizedMatrix dq = quantize_rtn(w, rows, cols, WeightGrid::nf4(64, true));
  ASSERT_EQ(dq.dq.codes.size(), plain.params.size());
  ASSERT_EQ(dq.dq.scales.size(), 2u);
  for (size_t i = 0; i < plain.params.size(); ++i)  // each absmax within half a step of its 8-bit code
    ASSERT_LE(std::fabs(dq.params[i].scale - plain.params[i].scale), 0.5f * dq.dq.scales[i / 256] * 1.0001f) << i;
  EXPECT_NEAR(WeightGrid::nf4(64, true).bits_per_weight(), 4.127, 0.001);  // QLoRA: 0.5 → 0.127 bits of overhead
  const auto sqnr = [&](const QuantizedMatrix& q) {
    const Tensor d = q.dequantize();
    double s = 0, e = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      s += static_cast<double>(w[i]) * w[i];
      e += (w[i] - d.span<float>()[i]) * static_cast<double>(w[i] - d.span<float>()[i]);
    }
    return 10 * std::log10(s / e);
  };
  EXPECT_GT(sqnr(dq), sqnr(plain) - 0.3);
}

TEST(WeightGrid, TernaryIsBitNetsAbsmeanRoundClip) {
  // γ = mean|W| = (0.5 + 1 + 0.1 + 2 + 0 + 0.3 + 0.9 + 0.4)/8 = 0.65; W/γ rounds and clips to [−1, 1].
  const std::vector<float> w = {0.5f, -1.0f, 0.1f, 2.0f, 0.0f, -0.3f, 0.9f, -0.4f};
  const QuantizedMatrix q = quantize_rtn(w, 2, 4, WeightGrid::ternary());
  EXPECT_FLOAT_EQ(q.params[0].scale, 0.65f);
  EXPECT_EQ(q.params[0].scale, q.params[1].scale);  // one γ for the tensor
  const std::vector<int16_t> want = {2, 0, 1, 2, 1, 1, 2, 0};  // {1, −1, 0, 1, 0, 0, 1, −1} + 1
  EXPECT_EQ(q.codes, want);
  EXPECT_FLOAT_EQ(q.value(0, 1), -0.65f);
  EXPECT_THROW((void)quantize_gptq(w, 2, 4, GptqHessian(std::vector<double>(16, 0.0), 4, {}), WeightGrid::ternary(), {}), Error);
}

TEST(WeightGrid, Fp8IsE4m3OfEachRowScaledSoItsLargestWeightIs448) {
  // Row 0: s = 1/448, w/s = 448, −134.4, 22.4, 0. e4m3 steps are 16 in [128, 256) and 2 in [16, 32):
  // 448 = 0x7E (its largest finite), −134.4 → −128 = 0xF0, 22.4 → 22 = 0x5B. Row 1 is all zero.
  const std::vector<float> w = {1.0f, -0.3f, 0.05f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
  const QuantizedMatrix q = quantize_rtn(w, 2, 4, WeightGrid::fp8());
  const float s = 1.0f / 448.0f;
  EXPECT_EQ(q.params[0].scale, s);
  EXPECT_EQ(q.params[1].scale, 0.0f);
  const std::vector<int16_t> want = {0x7E, 0xF0, 0x5B, 0x00, 0, 0, 0, 0};
  EXPECT_EQ(q.codes, want);
  EXPECT_EQ(q.value(0, 0), s * 448.0f);
  EXPECT_EQ(q.value(0, 1), s * -128.0f);
  EXPECT_EQ(q.value(0, 2), s * 22.0f);
  EXPECT_EQ(q.value(1, 3), 0.0f);
  EXPECT_EQ(WeightGrid::fp8().describe(), "fp8 e4m3 per-channel");
  EXPECT_EQ(WeightGrid::fp8().bits_per_weight(), 8.0);
  // past ±448 (GPTQ's updates can push a weight there) saturates; no code is ever a NaN (0x7F, 0xFF)
  const WeightGrid g = WeightGrid::fp8();
  EXPECT_EQ(g.nearest(1000.0f * s, q.params[0]), 0x7E);
  EXPECT_EQ(g.nearest(-1e30f, q.params[0]), 0xFE);
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-600.0f, 600.0f);
  for (int i = 0; i < 100000; ++i) {
    const int32_t c = g.nearest(u(rng) * s, q.params[0]);
    ASSERT_NE(c & 0x7F, 0x7F);
  }
  // the checkpoint's packing keeps the bytes and the f32 scales
  const PackedMatrix packed = pack_matrix(q);
  packed.view().validate("fp8 test");
  std::vector<float> back(8);
  dequantize_packed(packed.view(), back);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(back[static_cast<size_t>(i)], q.value(i / 4, i % 4)) << i;
  EXPECT_TRUE(packed.zeros.empty());
  EXPECT_EQ(packed.scales.size(), 2 * sizeof(float));
  // GPTQ runs on the grid too, and its H-weighted error is below RTN's on correlated inputs
  const int64_t rows = 16, cols = 64;
  const std::vector<float> wr = heavy_tailed(static_cast<size_t>(rows * cols), 4);
  std::normal_distribution<double> gd;
  std::vector<double> x(static_cast<size_t>(256 * cols));
  for (int64_t t = 0; t < 256; ++t) {
    const double common = gd(rng);
    for (int64_t j = 0; j < cols; ++j) x[static_cast<size_t>(t * cols + j)] = common + 0.3 * gd(rng);
  }
  std::vector<double> h(static_cast<size_t>(cols * cols), 0.0);
  for (int64_t t = 0; t < 256; ++t)
    for (int64_t i = 0; i < cols; ++i)
      for (int64_t j = 0; j < cols; ++j) h[static_cast<size_t>(i * cols + j)] += 2.0 * x[static_cast<size_t>(t * cols + i)] * x[static_cast<size_t>(t * cols + j)] / 256;
  const auto err = [&](const QuantizedMatrix& m) {
    double e = 0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < cols; ++i)
        for (int64_t j = 0; j < cols; ++j)
          e += (wr[static_cast<size_t>(r * cols + i)] - m.value(r, i)) * h[static_cast<size_t>(i * cols + j)] *
               (wr[static_cast<size_t>(r * cols + j)] - m.value(r, j));
    return e;
  };
  const QuantizedMatrix rtn = quantize_rtn(wr, rows, cols, g);
  const QuantizedMatrix gptq = quantize_gptq(wr, rows, cols, GptqHessian(h, cols, {}), g, {});
  EXPECT_LT(err(gptq), err(rtn));
}

TEST(WeightGrid, SymmetricIntGroupsOfWholeBlocksHaveAnExactGgufTwin) {
  EXPECT_EQ(ggml_twin(WeightGrid::integer(4, 128, true), 4096), GgmlType::Q4_0);
  EXPECT_EQ(ggml_twin(WeightGrid::integer(5, 32, true), 64), GgmlType::Q5_0);
  EXPECT_EQ(ggml_twin(WeightGrid::integer(8, 0, true), 96), GgmlType::Q8_0);
  EXPECT_EQ(ggml_twin(WeightGrid::integer(4, 128, false), 4096), std::nullopt);  // an integer zero ≠ Q4_1's float minimum
  EXPECT_EQ(ggml_twin(WeightGrid::integer(3, 32, true), 64), std::nullopt);
  EXPECT_EQ(ggml_twin(WeightGrid::integer(4, 48, true), 96), std::nullopt);      // groups straddle blocks
  EXPECT_EQ(ggml_twin(WeightGrid::integer(4, 0, true), 100), std::nullopt);      // rows not whole blocks
  EXPECT_EQ(ggml_twin(WeightGrid::integer(4, 256, true), 96), GgmlType::Q4_0);   // one group per row
  const int64_t rows = 5, cols = 160;  // G = 64 and 128 end with a shorter group (32 columns)
  const std::vector<float> w = heavy_tailed(static_cast<size_t>(rows * cols), 11);
  for (const auto& [bits, group] : std::initializer_list<std::pair<int, int64_t>>{{4, 32}, {4, 64}, {4, 128}, {4, 0}, {5, 96}, {8, 32}, {8, 0}}) {
    const WeightGrid grid = WeightGrid::integer(bits, group, true);
    const PackedMatrix p = pack_matrix(quantize_rtn(w, rows, cols, grid));
    const GgmlType t = *ggml_twin(grid, cols);
    const auto blocks = packed_as_ggml(p.view(), t);
    ASSERT_TRUE(blocks) << grid.describe();
    ASSERT_EQ(blocks->size(), static_cast<size_t>(rows * ggml_row_bytes(t, cols)));
    std::vector<float> want(static_cast<size_t>(rows * cols)), got(want.size());
    dequantize_packed(p.view(), want);
    ggml_dequantize(t, *blocks, got);
    for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << grid.describe() << " at " << i;
  }
  // a file may hold another zero point: then there is no twin
  PackedMatrix p = pack_matrix(quantize_rtn(w, rows, cols, WeightGrid::integer(4, 32, true)));
  p.zeros[3] = 7;
  EXPECT_FALSE(packed_as_ggml(p.view(), GgmlType::Q4_0));
}

TEST(WeightGrid, BadShapesAndValuesAreRefusedWithTheReason) {
  const std::vector<float> w(3 * 48, 0.1f);
  try {
    (void)quantize_rtn(w, 3, 48, WeightGrid::ggml(GgmlType::Q4_0));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("48"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)WeightGrid::ggml(GgmlType::Q6_K), Error);
  EXPECT_THROW((void)WeightGrid::integer(1, 32, true), Error);
  std::vector<float> bad(32, 0.0f);
  bad[3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW((void)quantize_rtn(bad, 1, 32, WeightGrid::integer(4, 32, false)), Error);
  EXPECT_THROW((void)WeightGrid::ggml(GgmlType::Q8_0).fit(std::vector<float>{1e9f}), Error);  // d overflows f16
}

}  // namespace
}  // namespace qforge
