// Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 and Q6_K in the four-row interleaved layout: the layout
// round-trips, and every ISA's matmul over it equals the row spec (the scalar table's dot on
// the GGUF row) bit for bit, for every tile shape, group range and cache block.
#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <random>
#include <span>
#include <vector>

#include "kernels/dot/dot_kernels.h"
#include "kernels/dot/interleaved4.h"
#include "kernels/kernel_tables.h"
#include "qforge/float_convert.h"
#include "qforge/ggml_types.h"

namespace qforge::kernels {
namespace {

// Rows like an LLM's weights, quantized to `type` by ggml's rule: GGUF bytes. For Q6_K, `random`
// makes every byte random but d: scales of −128 and 127, codes up to 63 everywhere.
std::vector<uint8_t> gguf_rows(GgmlType type, int64_t rows, int64_t k, uint32_t seed, bool random = false) {
  std::mt19937 rng(seed);
  if (random && type == GgmlType::Q6_K) {
    std::vector<ggml::BlockQ6_K> blocks(static_cast<size_t>(rows * k / 256));
    std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
    for (auto& b : blocks) {
      for (auto& byte : std::span(reinterpret_cast<uint8_t*>(&b), sizeof(b))) byte = static_cast<uint8_t>(rng());
      b.d = f32_to_f16(scale(rng));
    }
    const auto* bytes = reinterpret_cast<const uint8_t*>(blocks.data());
    return {bytes, bytes + blocks.size() * sizeof(ggml::BlockQ6_K)};
  }
  std::normal_distribution<float> g(0.0f, 0.02f);
  const size_t row_bytes = static_cast<size_t>(ggml_row_bytes(type, static_cast<uint64_t>(k)));
  std::vector<uint8_t> w(row_bytes * static_cast<size_t>(rows));
  std::vector<float> f(static_cast<size_t>(k));
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : f) v = g(rng) * (rng() % 61 == 0 ? 20.0f : 1.0f);
    ggml_quantize(type, f, {w.data() + static_cast<size_t>(r) * row_bytes, row_bytes});
  }
  return w;
}

// n tokens of activations quantized per 32 (outlier channels included), and their expansion.
struct Tokens {
  std::vector<BlockA8> a;
  std::vector<BlockA8x4> ax;
};
Tokens tokens(int64_t n, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n * k));
  for (auto& v : x) v = g(rng) * (rng() % 97 == 0 ? 50.0f : 1.0f);
  Tokens t{std::vector<BlockA8>(static_cast<size_t>(n * k / 32)), std::vector<BlockA8x4>(static_cast<size_t>(n * k / 32))};
  dot_kernels_scalar().quantize_a8(x.data(), t.a.data(), n * k);
  for (int64_t i = 0; i < n; ++i) expand_a8x4(&t.a[static_cast<size_t>(i * k / 32)], &t.ax[static_cast<size_t>(i * k / 32)], k / 32);
  return t;
}

// The single-row dot of `k` for a row of `type`.
float row_dot(const DotKernels& k, GgmlType type, const uint8_t* row, const BlockA8* a, int64_t nb) {
  switch (type) {
    case GgmlType::Q8_0: return k.q8_0(reinterpret_cast<const ggml::BlockQ8_0*>(row), a, nb);
    case GgmlType::Q4_0: return k.q4_0(reinterpret_cast<const ggml::BlockQ4_0*>(row), a, nb);
    case GgmlType::Q4_1: return k.q4_1(reinterpret_cast<const ggml::BlockQ4_1*>(row), a, nb);
    case GgmlType::Q5_0: return k.q5_0(reinterpret_cast<const ggml::BlockQ5_0*>(row), a, nb);
    case GgmlType::Q6_K: return k.q6_k(reinterpret_cast<const ggml::BlockQ6_K*>(row), a, nb / 8);
    default: return k.q5_1(reinterpret_cast<const ggml::BlockQ5_1*>(row), a, nb);
  }
}
float spec_dot(GgmlType type, const uint8_t* row, const BlockA8* a, int64_t nb) { return row_dot(dot_kernels_scalar(), type, row, a, nb); }

const GgmlType kTypes[] = {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q6_K};

// Row lengths that are whole blocks of `type`: the 32-element formats' `k32`, Q6_K's `k256`.
int64_t whole(GgmlType type, int64_t k32, int64_t k256) { return ggml_type_info(type).block_elems == 256 ? k256 : k32; }

TEST(InterleavedLayout, RoundTripsEveryRowAndZeroesThePadding) {
  for (const GgmlType type : kTypes)
    for (const int64_t rows : {1, 2, 3, 4, 5, 7, 9}) {
      const int64_t k = whole(type, 96, 768);
      const auto w = gguf_rows(type, rows, k, 3);
      const size_t row_bytes = w.size() / static_cast<size_t>(rows), group_bytes = interleaved_group_bytes(type, k);
      ASSERT_EQ(group_bytes, 4 * row_bytes);
      std::vector<uint8_t> groups(static_cast<size_t>((rows + 3) / 4) * group_bytes, 0xAB);
      interleave_rows(type, w.data(), rows, k, groups.data());
      std::vector<uint8_t> back(row_bytes);
      for (int64_t r = 0; r < (rows + 3) / 4 * 4; ++r) {
        extract_row(type, groups.data(), r, k, back.data());
        const std::vector<uint8_t> want = r < rows ? std::vector<uint8_t>(w.begin() + static_cast<std::ptrdiff_t>(r * row_bytes),
                                                                          w.begin() + static_cast<std::ptrdiff_t>((r + 1) * row_bytes))
                                                   : std::vector<uint8_t>(row_bytes, 0);
        EXPECT_EQ(back, want) << ggml_type_info(type).name << " rows=" << rows << " row " << r;
      }
    }
}

TEST(InterleavedLayout, ExpandedActivationsMeetTheirRowLanes) {
  const Tokens t = tokens(1, 64, 9);
  for (int64_t b = 0; b < 2; ++b) {
    const BlockA8& a = t.a[static_cast<size_t>(b)];
    const BlockA8x4& x = t.ax[static_cast<size_t>(b)];
    int32_t half[2] = {0, 0};
    for (int i = 0; i < 32; ++i) {
      half[(i >> 2) & 1] += a.qs[i];
      const int j = i % 16, reg = 2 * (j / 8) + i / 16;  // low/high nibble of byte j
      ASSERT_EQ(interleaved_register(i), reg);
      for (int r = 0; r < 4; ++r) EXPECT_EQ(x.qs[reg][interleaved_pos(r, j) % 32], a.qs[i]) << "element " << i << " row " << r;
    }
    for (int l = 0; l < 8; ++l) EXPECT_EQ(x.sums[l], half[l / 4]);
    for (int h = 0; h < 2; ++h)
      for (int u = 0; u < 2; ++u) {
        int32_t quarter = 0;
        for (int i = 16 * u; i < 16 * u + 16; ++i) quarter += ((i >> 2) & 1) == h ? a.qs[i] : 0;
        EXPECT_EQ(x.quarters[2 * h + u], quarter) << "half " << h << ", elements from " << 16 * u;
      }
    EXPECT_EQ(x.d, a.d);
    EXPECT_EQ(x.s, a.s);
  }
}

// Q8_0's bytes need no unpacking: weight i of row r must sit exactly where expand_a8x4 puts
// activation code i for row r's lanes.
TEST(InterleavedLayout, Q8_0BytesSitWhereTheirActivationsDo) {
  const auto w = gguf_rows(GgmlType::Q8_0, 4, 32, 3);
  const Tokens t = tokens(1, 32, 4);
  BlockQ8_0x4 g;
  interleave_rows(GgmlType::Q8_0, w.data(), 4, 32, reinterpret_cast<uint8_t*>(&g));
  const auto* rows = reinterpret_cast<const ggml::BlockQ8_0*>(w.data());
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(g.d[r], rows[r].d);
    for (int i = 0; i < 32; ++i) {
      const int reg = interleaved_register(i), pos = interleaved_pos(r, i % 16) % 32;
      EXPECT_EQ(g.qs[32 * reg + pos], rows[r].qs[i]) << "row " << r << " element " << i;
      EXPECT_EQ(t.ax[0].qs[reg][pos], t.a[0].qs[i]) << "row " << r << " element " << i;
    }
  }
}

// Q6_K's records, read back by hand: element i of sub-block j of row r has its low four bits in
// nibble i/16 of ql[interleaved_pos(r, i % 16)], its top two in bits 2g..2g+1 of qh[p] (g, p:
// the register and byte that hold it), its scale in scales[j][r] (i < 16) or scales[j][4 + r].
TEST(InterleavedLayout, Q6_KCodesAndScalesSitWhereDocumented) {
  const auto w = gguf_rows(GgmlType::Q6_K, 4, 256, 7);
  BlockQ6_Kx4 g;
  interleave_rows(GgmlType::Q6_K, w.data(), 4, 256, reinterpret_cast<uint8_t*>(&g));
  const auto* rows = reinterpret_cast<const ggml::BlockQ6_K*>(w.data());
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(g.d[r], rows[r].d);
    for (int j = 0; j < 8; ++j) {
      EXPECT_EQ(g.scales[j][r], rows[r].scales[2 * j]);
      EXPECT_EQ(g.scales[j][4 + r], rows[r].scales[2 * j + 1]);
      for (int i = 0; i < 32; ++i) {
        const int e = 32 * j + i, half = e / 128, quarter = e % 128 / 32;  // ggml's own reading of element e
        const int want = ((rows[r].ql[64 * half + 32 * (quarter % 2) + e % 32] >> (4 * (quarter / 2))) & 15) |
                         ((rows[r].qh[32 * half + e % 32] >> (2 * quarter)) & 3) << 4;
        const int pos = interleaved_pos(r, i % 16), reg = interleaved_register(i);
        const int got = ((g.sub[j].ql[pos] >> (4 * (i / 16))) & 15) | ((g.sub[j].qh[pos % 32] >> (2 * reg)) & 3) << 4;
        EXPECT_EQ(got, want) << "row " << r << " element " << e;
      }
    }
  }
}

class InterleavedKernelsTest : public ::testing::TestWithParam<Table> {
 protected:
  void SetUp() override {
    auto t = dot_table(GetParam());
    if (!t) GTEST_SKIP() << "CPU lacks " << table_name(GetParam());
    k = *t;
  }
  // Every output of the matmul over groups [g0, ⌈rows/4⌉) against the spec, ldy > rows so that
  // stray writes show.
  void expect_matches_spec(GgmlType type, int64_t rows, int64_t n, int64_t kk, int64_t g0 = 0, bool random = false) const {
    const auto w = gguf_rows(type, rows, kk, static_cast<uint32_t>(rows * 131 + kk), random);
    const size_t row_bytes = w.size() / static_cast<size_t>(rows), group_bytes = interleaved_group_bytes(type, kk);
    std::vector<uint8_t> groups(static_cast<size_t>((rows + 3) / 4) * group_bytes);
    interleave_rows(type, w.data(), rows, kk, groups.data());
    const Tokens t = tokens(n, kk, static_cast<uint32_t>(n * 7 + kk));
    const int64_t ldy = rows + 3, first = 4 * g0;
    std::vector<float> y(static_cast<size_t>(n * ldy), -7.0f);
    const Matmul4Kernel fn = interleaved_kernel(k.matmul, type);
    fn({groups.data() + static_cast<size_t>(g0) * group_bytes, rows - first, t.ax.data(), n, kk, y.data() + first, ldy});
    for (int64_t tok = 0; tok < n; ++tok)
      for (int64_t r = 0; r < ldy; ++r) {
        const float got = y[static_cast<size_t>(tok * ldy + r)];
        const float want = r >= first && r < rows
                               ? spec_dot(type, w.data() + static_cast<size_t>(r) * row_bytes, &t.a[static_cast<size_t>(tok * kk / 32)], kk / 32)
                               : -7.0f;
        ASSERT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(want))
            << ggml_type_info(type).name << " rows=" << rows << " n=" << n << " k=" << kk << " g0=" << g0 << " at row " << r << " token " << tok;
      }
  }
  DotKernels k{};
};

TEST_P(InterleavedKernelsTest, ActivationExpansionIsTheSpecByteForByte) {
  const Tokens t = tokens(3, 33 * 32, 4);  // outlier channels give ±127 codes
  std::vector<BlockA8x4> got(t.a.size());
  std::memset(got.data(), 0x5A, got.size() * sizeof(BlockA8x4));
  k.expand_a8x4(t.a.data(), got.data(), static_cast<int64_t>(t.a.size()));
  ASSERT_EQ(std::memcmp(got.data(), t.ax.data(), got.size() * sizeof(BlockA8x4)), 0);
}

TEST_P(InterleavedKernelsTest, SingleDotsReproduceTheSpec) {
  for (const int64_t nb : {1, 2, 3, 7, 17, 33, 257}) {
    const Tokens t = tokens(1, nb * 32, static_cast<uint32_t>(nb));
    for (const GgmlType type : kTypes) {
      if (type == GgmlType::Q6_K) continue;  // its single-row dot is the spec in every table
      const auto w = gguf_rows(type, 1, nb * 32, static_cast<uint32_t>(nb + 5));
      const float got = row_dot(k, type, w.data(), t.a.data(), nb);
      EXPECT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(spec_dot(type, w.data(), t.a.data(), nb)))
          << ggml_type_info(type).name << " nb=" << nb;
    }
  }
}

TEST_P(InterleavedKernelsTest, EveryTileShapeReproducesTheSpec) {
  for (const GgmlType type : kTypes)
    for (const int64_t kk : {whole(type, 32, 256), whole(type, 96, 768), whole(type, 544, 2304)})
      for (const int64_t rows : {1, 2, 3, 4, 5, 7, 8, 9, 17})
        for (const int64_t n : {1, 2, 3, 4, 5, 7, 9}) expect_matches_spec(type, rows, n, kk);
}

// Q6_K's scales of −128 and 127 and codes up to 63 everywhere: the int16 sums' bound.
TEST_P(InterleavedKernelsTest, Q6_KExtremeBytesReproduceTheSpec) {
  for (const int64_t rows : {4, 9})
    for (const int64_t n : {1, 4, 5}) expect_matches_spec(GgmlType::Q6_K, rows, n, 2304, 0, true);
}

TEST_P(InterleavedKernelsTest, ARangeOfGroupsWritesOnlyItsRows) {
  for (const GgmlType type : kTypes)
    for (const int64_t g0 : {1, 2}) expect_matches_spec(type, 11, 3, whole(type, 64, 512), g0);
}

// 1900 rows of 4096: more than one 4 MB band of groups; 9 tokens: more than one 192 KB token
// block (the scalar table has no cache blocks to cross).
TEST_P(InterleavedKernelsTest, CacheBlocksReproduceTheSpec) {
  if (GetParam() == Table::Scalar) GTEST_SKIP() << "the spec loops have no cache blocks";
  for (const GgmlType type : kTypes) expect_matches_spec(type, 1900, 9, 4096);
}

INSTANTIATE_TEST_SUITE_P(Table, InterleavedKernelsTest, kEveryTable, TableName{});

}  // namespace
}  // namespace qforge::kernels
