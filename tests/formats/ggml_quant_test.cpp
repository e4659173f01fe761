// GGUF block quantizers against llama.cpp's reference outputs (tests/data/ggml_ref), and
// each format's round-trip error against the bound its bit width implies.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <cstring>
#include <random>

#include "qforge/error.h"
#include "qforge/ggml_types.h"
#include "qforge/metrics.h"
#include "support/temp_dir.h"

namespace qforge {
namespace {

const std::filesystem::path kRefDir = std::filesystem::path(QFORGE_SOURCE_DIR) / "tests/data/ggml_ref";

std::vector<float> reference_input() {
  const auto b = testing::read_bytes((kRefDir / "input.f32").string());
  std::vector<float> x(b.size() / 4);
  std::memcpy(x.data(), b.data(), x.size() * 4);
  return x;
}

class GgmlQuantTest : public ::testing::TestWithParam<GgmlType> {};

TEST_P(GgmlQuantTest, MatchesLlamaCppReferenceBitForBit) {
  const GgmlType t = GetParam();
  const auto& info = ggml_type_info(t);
  const auto x = reference_input();
  ASSERT_EQ(x.size(), 4096u);
  const auto expected = testing::read_bytes((kRefDir / (std::string(info.name) + ".bin")).string());
  std::vector<uint8_t> ours(ggml_row_bytes(t, x.size()));
  ggml_quantize(t, x, ours);
  ASSERT_EQ(ours.size(), expected.size());
  for (size_t i = 0; i < ours.size(); ++i)
    ASSERT_EQ(ours[i], expected[i]) << info.name << ": first difference in block " << i / static_cast<size_t>(info.block_bytes)
                                    << ", byte " << i % static_cast<size_t>(info.block_bytes);
}

// Relative RMS error of a uniform b-bit grid spanning ±3σ of Gaussian data is
// (6σ/2^b)/√12 / σ = 1.73/2^b; absmax-per-block scaling over small blocks does better.
double error_bound(GgmlType t) {
  switch (t) {
    case GgmlType::Q8_0: return 1.73 / 256;
    case GgmlType::Q6_K: return 1.73 / 64;
    case GgmlType::Q5_0: case GgmlType::Q5_1: return 1.73 / 32;
    case GgmlType::Q4_0: case GgmlType::Q4_1: case GgmlType::Q4_K: return 1.73 / 16;
    default: return 0.05;  // ternary data: noise 1% of the scale, absmax off by at most ~4σ of it
  }
}

bool is_ternary(GgmlType t) { return t == GgmlType::TQ1_0 || t == GgmlType::TQ2_0; }

TEST_P(GgmlQuantTest, RoundTripErrorWithinTheFormatsBound) {
  const GgmlType t = GetParam();
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 0.02f);
  std::normal_distribution<float> noise(0.0f, 0.0002f);
  std::uniform_int_distribution<int> trit(-1, 1);
  std::vector<float> x(256 * 64);
  // Ternary formats only make sense for ternary weights (BitNet): values in {−a, 0, a} plus noise.
  for (auto& v : x) v = is_ternary(t) ? 0.02f * static_cast<float>(trit(rng)) + noise(rng) : nd(rng);
  std::vector<uint8_t> q(ggml_row_bytes(t, x.size()));
  ggml_quantize(t, x, q);
  std::vector<float> y(x.size());
  ggml_dequantize(t, q, y);
  const ErrorStats s = compare(x, y);
  const double rel = std::sqrt(s.mse) / 0.02;
  EXPECT_LT(rel, error_bound(t)) << ggml_type_info(t).name;
}

TEST_P(GgmlQuantTest, ZeroBlocksStayZeroAndOutliersSurvive) {
  const GgmlType t = GetParam();
  std::vector<float> x(512, 0.0f);
  for (size_t i = 256; i < 512; ++i) x[i] = 0.001f * static_cast<float>(i % 7);
  x[300] = 1e4f;
  std::vector<uint8_t> q(ggml_row_bytes(t, x.size()));
  ggml_quantize(t, x, q);
  std::vector<float> y(x.size());
  ggml_dequantize(t, q, y);
  for (size_t i = 0; i < 256; ++i) ASSERT_EQ(y[i], 0.0f) << i;
  EXPECT_NEAR(y[300], 1e4f, 1e4f * 0.02f);
}

INSTANTIATE_TEST_SUITE_P(Types, GgmlQuantTest,
                         ::testing::Values(GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                                           GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::TQ1_0,
                                           GgmlType::TQ2_0),
                         [](const auto& p) { return std::string(ggml_type_info(p.param).name); });

TEST(GgmlTypes, TableAndErrors) {
  EXPECT_EQ(ggml_type_info(GgmlType::Q4_K).block_bytes, 144);
  EXPECT_DOUBLE_EQ(ggml_type_info(GgmlType::Q4_0).bits_per_weight(), 4.5);
  EXPECT_DOUBLE_EQ(ggml_type_info(GgmlType::TQ1_0).bits_per_weight(), 1.6875);
  EXPECT_EQ(ggml_type_info(31u), nullptr);  // retired id
  EXPECT_EQ(parse_ggml_type("Q6_K", true), GgmlType::Q6_K);
  EXPECT_THROW(parse_ggml_type("q3_k", true), Error);  // readable, not writable
  EXPECT_THROW(ggml_row_bytes(GgmlType::Q4_K, 100), Error);
  std::vector<float> nan(32, 0.0f);
  nan[3] = NAN;
  std::vector<uint8_t> out(34);
  EXPECT_THROW(ggml_quantize(GgmlType::Q8_0, nan, out), Error);
}

}  // namespace
}  // namespace qforge
