// Q4_K in its four-row interleaved layout (BlockQ4_Kx4): the layout round-trips and keeps every
// scale, minimum and code where dot_kernels.h says; the activations' expansion puts codes and
// bsums where the kernels meet them; every ISA's matmul equals the row spec (the scalar table's
// q4_k on the GGUF rows) bit for bit, for every tile shape, group range and cache block.
#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <random>
#include <vector>

#include "formats/ggml/blocks.h"
#include "kernels/dot/dot_kernels.h"
#include "kernels/dot/interleaved4.h"
#include "kernels/kernel_tables.h"
#include "qforge/float_convert.h"
#include "qforge/ggml_types.h"

namespace qforge::kernels {
namespace {

constexpr size_t kRowBytes = sizeof(ggml::BlockQ4_K);  // per super-block

// Rows like an LLM's weights quantized by ggml's Q4_K rule, or (random) every byte random but
// d and dmin: 6-bit scales and minimums up to 63 and codes up to 15, which the rule rarely writes.
std::vector<uint8_t> q4_k_rows(int64_t rows, int64_t k, uint32_t seed, bool random = false) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> w(kRowBytes * static_cast<size_t>(rows * k / 256));
  if (random) {
    for (auto& b : w) b = static_cast<uint8_t>(rng());
    std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
    for (size_t i = 0; i < w.size(); i += kRowBytes) {
      auto* block = reinterpret_cast<ggml::BlockQ4_K*>(&w[i]);
      block->d = f32_to_f16(scale(rng));
      block->dmin = f32_to_f16(scale(rng));
    }
    return w;
  }
  std::normal_distribution<float> g(0.0f, 0.02f);
  std::vector<float> f(static_cast<size_t>(k));
  const size_t row_bytes = w.size() / static_cast<size_t>(rows);
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : f) v = g(rng) * (rng() % 61 == 0 ? 20.0f : 1.0f);
    ggml_quantize(GgmlType::Q4_K, f, {w.data() + static_cast<size_t>(r) * row_bytes, row_bytes});
  }
  return w;
}

// n tokens of activations quantized per 256 (outlier channels included), and their expansion.
struct Tokens {
  std::vector<BlockA8K> a;
  std::vector<BlockA8Kx4> ax;
};
Tokens tokens(int64_t n, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n * k));
  for (auto& v : x) v = g(rng) * (rng() % 97 == 0 ? 50.0f : 1.0f);
  Tokens t{std::vector<BlockA8K>(static_cast<size_t>(n * k / 256)), std::vector<BlockA8Kx4>(static_cast<size_t>(n * k / 256))};
  dot_kernels_scalar().quantize_a8k(x.data(), t.a.data(), n * k);
  expand_a8kx4(t.a.data(), t.ax.data(), static_cast<int64_t>(t.a.size()));
  return t;
}

std::vector<uint8_t> interleaved(const std::vector<uint8_t>& w, int64_t rows, int64_t k) {
  std::vector<uint8_t> groups(static_cast<size_t>((rows + 3) / 4) * interleaved_group_bytes(GgmlType::Q4_K, k), 0xAB);
  interleave_rows(GgmlType::Q4_K, w.data(), rows, k, groups.data());
  return groups;
}

TEST(Q4KInterleavedLayout, RoundTripsEveryRowAndZeroesThePadding) {
  ASSERT_TRUE(runs_interleaved(GgmlType::Q4_K));
  for (const bool random : {false, true})
    for (const int64_t rows : {1, 2, 3, 4, 5, 7, 9}) {
      const int64_t k = 768;
      const auto w = q4_k_rows(rows, k, 3, random);
      const size_t row_bytes = w.size() / static_cast<size_t>(rows);
      ASSERT_EQ(interleaved_group_bytes(GgmlType::Q4_K, k), 4 * row_bytes);
      const auto groups = interleaved(w, rows, k);
      std::vector<uint8_t> back(row_bytes);
      for (int64_t r = 0; r < (rows + 3) / 4 * 4; ++r) {
        extract_row(GgmlType::Q4_K, groups.data(), r, k, back.data());
        const std::vector<uint8_t> want = r < rows ? std::vector<uint8_t>(w.begin() + static_cast<std::ptrdiff_t>(r * row_bytes),
                                                                          w.begin() + static_cast<std::ptrdiff_t>((r + 1) * row_bytes))
                                                   : std::vector<uint8_t>(row_bytes, 0);
        EXPECT_EQ(back, want) << "random=" << random << " rows=" << rows << " row " << r;
      }
    }
}

// The documented places, read back by hand: sc of (r, j) from entry 4j + r of the scale order,
// m from its minimum-order entry, each a low nibble of scales_low and two bits of scales_high;
// element i of sub-block j a nibble of qs[64j + interleaved_pos(r, i % 16)].
TEST(Q4KInterleavedLayout, ScalesMinimumsAndCodesSitWhereDocumented) {
  const auto w = q4_k_rows(4, 256, 11, true);
  const auto groups = interleaved(w, 4, 256);
  const auto& g = *reinterpret_cast<const BlockQ4_Kx4*>(groups.data());
  const auto* rows = reinterpret_cast<const ggml::BlockQ4_K*>(w.data());
  const auto nibble_of_high = [&](int e) { return (g.scales_high[e % 16] >> (4 * (e / 16))) & 15; };
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(g.d[r], rows[r].d);
    EXPECT_EQ(g.dmin[r], rows[r].dmin);
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      ggml::unpack_scale_min(j, rows[r].scales, &sc, &m);
      const int es = 4 * j + r;
      // minimum order: entry 16u + 2l + p holds row l % 4, sub-block 4(l/4) + 2u + p
      const int u = (j % 4) / 2, l = r + 4 * (j / 4), p = j % 2, em = 16 * u + 2 * l + p;
      ASSERT_EQ(q4_kx4_scale_entry(r, j), es);
      ASSERT_EQ(q4_kx4_min_entry(r, j), em);
      EXPECT_EQ((g.scales_low[es] & 15) | (nibble_of_high(es) & 3) << 4, sc) << "row " << r << " sub-block " << j;
      EXPECT_EQ((g.scales_low[em] >> 4) | (nibble_of_high(em) >> 2) << 4, m) << "row " << r << " sub-block " << j;
      for (int i = 0; i < 32; ++i) {
        const int e = 32 * j + i, want = (rows[r].qs[32 * (e / 64) + e % 32] >> (4 * (e / 32 % 2))) & 15;
        const int got = (g.qs[64 * j + interleaved_pos(r, i % 16)] >> (4 * (i / 16))) & 15;
        EXPECT_EQ(got, want) << "row " << r << " element " << e;
      }
    }
  }
}

// Code i of sub-block j meets weight i of every row: register interleaved_register(i), byte
// interleaved_pos(r, i % 16) % 32; bsums[u][2l + p] is sub-block 4(l/4) + 2u + p's sum.
TEST(Q4KInterleavedLayout, ExpandedActivationsMeetTheirRowLanes) {
  const Tokens t = tokens(1, 512, 9);
  for (size_t sb = 0; sb < 2; ++sb) {
    const BlockA8K& a = t.a[sb];
    const BlockA8Kx4& x = t.ax[sb];
    for (int j = 0; j < 8; ++j)
      for (int i = 0; i < 32; ++i)
        for (int r = 0; r < 4; ++r)
          EXPECT_EQ(x.qs[j][interleaved_register(i)][interleaved_pos(r, i % 16) % 32], a.qs[32 * j + i]) << "sub-block " << j << " code " << i;
    for (int u = 0; u < 2; ++u)
      for (int l = 0; l < 8; ++l)
        for (int p = 0; p < 2; ++p) EXPECT_EQ(x.bsums[u][2 * l + p], a.bsums[4 * (l / 4) + 2 * u + p]);
    EXPECT_EQ(x.d, a.d);
  }
}

class Q4KInterleavedKernelsTest : public ::testing::TestWithParam<Table> {
 protected:
  void SetUp() override {
    auto t = dot_table(GetParam());
    if (!t) GTEST_SKIP() << "CPU lacks " << table_name(GetParam());
    k = *t;
  }
  // Every output of the matmul over groups [g0, ⌈rows/4⌉) against the spec, ldy > rows so that
  // stray writes show.
  void expect_matches_spec(int64_t rows, int64_t n, int64_t kk, int64_t g0 = 0, bool random = false) const {
    const auto w = q4_k_rows(rows, kk, static_cast<uint32_t>(rows * 131 + kk), random);
    const size_t row_bytes = w.size() / static_cast<size_t>(rows), group_bytes = interleaved_group_bytes(GgmlType::Q4_K, kk);
    const auto groups = interleaved(w, rows, kk);
    const Tokens t = tokens(n, kk, static_cast<uint32_t>(n * 7 + kk));
    const int64_t ldy = rows + 3, first = 4 * g0, nsb = kk / 256;
    std::vector<float> y(static_cast<size_t>(n * ldy), -7.0f);
    k.matmul.q4_kx4({groups.data() + static_cast<size_t>(g0) * group_bytes, rows - first, t.ax.data(), n, kk, y.data() + first, ldy});
    const DotKernels spec = dot_kernels_scalar();
    for (int64_t tok = 0; tok < n; ++tok)
      for (int64_t r = 0; r < ldy; ++r) {
        const float got = y[static_cast<size_t>(tok * ldy + r)];
        const float want = r >= first && r < rows ? spec.q4_k(reinterpret_cast<const ggml::BlockQ4_K*>(w.data() + static_cast<size_t>(r) * row_bytes),
                                                              &t.a[static_cast<size_t>(tok * nsb)], nsb)
                                                  : -7.0f;
        ASSERT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(want))
            << "rows=" << rows << " n=" << n << " k=" << kk << " g0=" << g0 << " random=" << random << " at row " << r << " token " << tok;
      }
  }
  DotKernels k{};
};

TEST_P(Q4KInterleavedKernelsTest, ActivationExpansionIsTheSpecByteForByte) {
  const Tokens t = tokens(3, 9 * 256, 4);  // outlier channels give ±127 codes
  std::vector<BlockA8Kx4> got(t.a.size());
  std::memset(got.data(), 0x5A, got.size() * sizeof(BlockA8Kx4));
  k.expand_a8kx4(t.a.data(), got.data(), static_cast<int64_t>(t.a.size()));
  ASSERT_EQ(std::memcmp(got.data(), t.ax.data(), got.size() * sizeof(BlockA8Kx4)), 0);
}

TEST_P(Q4KInterleavedKernelsTest, EveryTileShapeReproducesTheSpec) {
  for (const int64_t kk : {256, 768})
    for (const int64_t rows : {1, 2, 3, 4, 5, 7, 8, 9, 17})
      for (const int64_t n : {1, 2, 3, 4, 5, 7, 9}) expect_matches_spec(rows, n, kk);
}

// Scales and minimums up to 63 and codes up to 15 everywhere: the int16 sums' bound.
TEST_P(Q4KInterleavedKernelsTest, ExtremeBytesReproduceTheSpec) {
  for (const int64_t rows : {4, 9})
    for (const int64_t n : {1, 4, 5}) expect_matches_spec(rows, n, 2304, 0, true);
}

TEST_P(Q4KInterleavedKernelsTest, ARangeOfGroupsWritesOnlyItsRows) {
  for (const int64_t g0 : {1, 2}) expect_matches_spec(11, 3, 512, g0);
}

// 1900 rows of 4096: more than one 4 MB band of groups; 9 tokens: more than one 192 KB token
// block (the scalar table has no cache blocks to cross).
TEST_P(Q4KInterleavedKernelsTest, CacheBlocksReproduceTheSpec) {
  if (GetParam() == Table::Scalar) GTEST_SKIP() << "the spec loops have no cache blocks";
  expect_matches_spec(1900, 9, 4096);
}

INSTANTIATE_TEST_SUITE_P(Table, Q4KInterleavedKernelsTest, kEveryTable, TableName{});

}  // namespace
}  // namespace qforge::kernels
