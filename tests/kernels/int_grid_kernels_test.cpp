// The grid kernels' integer path: the repacked block layout against hand-worked bytes and
// against every code it must carry; the spec against an independent double-precision dot of
// dequantize_packed's weights (NF4: the quantizer's codes on the int8 levels) with the
// dequantized int8 activations; every ISA's kernel against
// the spec bit for bit, on every tile shape and row offset. Matrices come from RTN on qforge's
// integer grids through the checkpoint packing and the engine's loader.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>
#include <vector>

#include "engine/grid_weight.h"
#include "kernels/dot/dot_kernels.h"
#include "kernels/grid/grid_kernels.h"
#include "kernels/kernel_tables.h"
#include "qforge/weight_quant.h"

namespace qforge::kernels {
namespace {

std::vector<float> normal(int64_t n, uint32_t seed, float sigma) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, sigma);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = g(rng);
  return v;
}

TEST(IntGridLayout, HandWorkedBlocks) {
  uint8_t codes[32] = {}, out[32];
  codes[9] = 3;  // 2 bits: pairs byte 9 % 8 = 1, bits 2·(9 / 8) = 2..3
  pack_int_grid_block(codes, 2, out);
  EXPECT_EQ(out[1], 0x0C);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], i == 1 ? 0x0C : 0) << i;
  codes[9] = 0;
  codes[31] = 4;  // 3 bits: the top bit of element 31 is bit 7 of the bit plane's byte 3 (block byte 8 + 3)
  codes[20] = 5;  // low pair 1 in pairs byte 4 at bits 4..5, top bit in bit plane byte 2, bit 4
  pack_int_grid_block(codes, 3, out);
  EXPECT_EQ(out[11], 0x80);
  EXPECT_EQ(out[4], 0x10);
  EXPECT_EQ(out[10], 0x10);
  codes[31] = codes[20] = 0;
  codes[3] = 0xA;
  codes[19] = 0x5;  // 4 bits: byte 3 = element 3 low, element 19 high
  pack_int_grid_block(codes, 4, out);
  EXPECT_EQ(out[3], 0x5A);
  codes[3] = 0x3A;  // 6 bits: nibble 0xA in byte 3, pair 0b11 of element 3 in pairs byte 16 + 3, bits 0..1
  pack_int_grid_block(codes, 6, out);
  EXPECT_EQ(out[3], 0x5A);
  EXPECT_EQ(out[19], 0x03);
  codes[3] = 200;  // 8 bits: c − 128 = 72
  pack_int_grid_block(codes, 8, out);
  EXPECT_EQ(static_cast<int8_t>(out[3]), 72);
  EXPECT_EQ(static_cast<int8_t>(out[0]), -128);
}

TEST(IntGridLayout, EveryCodeRoundTrips) {
  std::mt19937 rng(3);
  for (int bits = 2; bits <= 8; ++bits)
    for (int trial = 0; trial < 200; ++trial) {
      uint8_t codes[32], out[32];
      for (int i = 0; i < 32; ++i)  // the extremes often, so every plane's every bit is exercised
        codes[i] = static_cast<uint8_t>(trial % 3 == 0 ? (1 << bits) - 1 : trial % 3 == 1 ? rng() % (1u << bits) : 0);
      if (trial % 3 == 1) codes[trial % 32] = static_cast<uint8_t>((1 << bits) - 1);
      pack_int_grid_block(codes, bits, out);
      for (int i = 0; i < 32; ++i)
        ASSERT_EQ(int_grid_weight(out, bits, i) + int_grid_offset(bits), codes[i]) << bits << " bits, element " << i;
    }
}

struct Case {
  WeightGrid grid;
  int64_t cols;
};

// Integer grids the integer path takes: 2–8 bits, zero points and float minimums, groups of
// 32/64/128 and per channel, a short last group, GGUF-kind grids held as packed codes.
std::vector<Case> cases() {
  std::vector<Case> v;
  for (int bits : {2, 3, 4, 5, 6, 7, 8})
    for (bool sym : {true, false}) v.push_back({WeightGrid::integer(bits, 32, sym), 96});
  v.push_back({WeightGrid::integer(4, 128, false), 320});  // groups of 128, 128, 64
  v.push_back({WeightGrid::integer(4, 64, false), 256});
  v.push_back({WeightGrid::integer(3, 0, false), 160});  // per channel
  v.push_back({WeightGrid::integer(8, 0, false), 64});
  v.push_back({WeightGrid::integer_min(4, 64), 192});
  v.push_back({WeightGrid::integer_min(8, 32), 64});
  v.push_back({WeightGrid::ggml(GgmlType::Q8_0), 64});
  v.push_back({WeightGrid::ggml(GgmlType::Q4_1), 64});
  v.push_back({WeightGrid::ternary(), 256});
  v.push_back({WeightGrid::nf4(64, false), 128});  // level grids: NF4's int8 levels
  v.push_back({WeightGrid::nf4(64, true), 320});
  v.push_back({WeightGrid::nf4(32, false), 96});
  return v;
}

std::shared_ptr<const engine::GridWeights> integer_weights(const Case& c, int64_t rows, uint32_t seed, PackedMatrix* keep,
                                                           QuantizedMatrix* codes = nullptr) {
  const auto wf = normal(rows * c.cols, seed, 0.05f);
  QuantizedMatrix q = quantize_rtn(wf, rows, c.cols, c.grid);
  *keep = pack_matrix(q);
  if (codes) *codes = std::move(q);
  EXPECT_TRUE(engine::integer_path_takes(keep->view())) << c.grid.describe();
  return engine::grid_weights_from(keep->view());
}

// NF4's values (bitsandbytes' table) times 127, rounded by hand.
TEST(IntGridLayout, Nf4LevelsAreItsValuesIn127ths) {
  const int8_t want[16] = {-127, -88, -67, -50, -36, -23, -12, 0, 10, 20, 31, 43, 56, 71, 92, 127};
  for (int c = 0; c < 16; ++c) EXPECT_EQ(nf4_int8_levels()[c], want[c]) << "code " << c;
}

TEST(IntGridKernels, SpecIsTheDotOfTheDequantizedWeightsAndActivations) {
  const GridKernels spec = grid_kernels_scalar();
  const DotKernels dot = dot_kernels_scalar();
  for (const Case& c : cases()) {
    const int64_t rows = 5, n = 3;
    PackedMatrix p;
    QuantizedMatrix q;
    const auto g = integer_weights(c, rows, static_cast<uint32_t>(c.cols), &p, &q);
    ASSERT_TRUE(g && g->integer) << c.grid.describe();
    std::vector<float> deq(static_cast<size_t>(rows * c.cols));
    dequantize_packed(p.view(), deq);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < c.cols; ++i)
        ASSERT_EQ(g->value(r, i), deq[static_cast<size_t>(r * c.cols + i)]) << c.grid.describe() << " (" << r << ", " << i << ")";
    if (c.grid.kind == GridKind::NF4) {  // the kernels multiply s·L[c]/127: within 0.5/127 of s of NF4's s·nf4[c]
      ASSERT_NE(g->im.levels, nullptr);
      const std::vector<GroupParams> params = packed_group_params(p.view());
      const int64_t per_row = c.grid.groups_per_row(c.cols), group = c.grid.group_cols(c.cols);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t i = 0; i < c.cols; ++i) {
          const auto at = static_cast<size_t>(r * c.cols + i);
          const double s = params[static_cast<size_t>(r * per_row + i / group)].scale;
          deq[at] = static_cast<float>(s * nf4_int8_levels()[q.codes[at]] / 127.0);
          EXPECT_LE(std::fabs(deq[at] - g->value(r, i)), 0.5 / 127 * s * (1 + 1e-6)) << c.grid.describe();
        }
    }
    const auto x = normal(n * c.cols, 7, 1.0f);
    std::vector<BlockA8> a(static_cast<size_t>(n * c.cols / 32));
    dot.quantize_a8(x.data(), a.data(), n * c.cols);
    std::vector<float> y(static_cast<size_t>(n * rows));
    spec.int_matmul({&g->im, 0, rows, a.data(), n, y.data(), rows});
    for (int64_t t = 0; t < n; ++t)
      for (int64_t r = 0; r < rows; ++r) {
        double want = 0, magnitude = 0;
        for (int64_t i = 0; i < c.cols; ++i) {
          const BlockA8& b = a[static_cast<size_t>((t * c.cols + i) / 32)];
          const double xa = static_cast<double>(b.d) * b.qs[i % 32], w = deq[static_cast<size_t>(r * c.cols + i)];
          want += w * xa;
          magnitude += std::fabs(w * xa);
        }
        // a weight is s·c + m there, rounded once apart from dequantize_packed's value; then f32 sums
        EXPECT_NEAR(y[static_cast<size_t>(t * rows + r)], want, 2e-6 * magnitude + 1e-30)
            << c.grid.describe() << " row " << r << " token " << t;
      }
  }
}

class IntGridKernelsIsa : public ::testing::TestWithParam<Table> {};

TEST_P(IntGridKernelsIsa, EveryTileReproducesTheSpec) {
  const auto k = grid_table(GetParam());
  if (!k) GTEST_SKIP() << "CPU lacks " << table_name(GetParam());
  const GridKernels spec = grid_kernels_scalar();
  const DotKernels dot = dot_kernels_scalar();
  for (const Case& c : cases()) {
    const int64_t rows = 17;
    PackedMatrix p;
    const auto g = integer_weights(c, rows, static_cast<uint32_t>(c.cols + 1), &p);
    ASSERT_TRUE(g && g->integer);
    for (const int64_t n : {1, 2, 3, 5, 9})
      for (const int64_t row0 : {0, 1, 6}) {
        const int64_t m = rows - row0, ldy = m + 3;  // ldy > rows: stray writes show
        const auto x = normal(n * c.cols, static_cast<uint32_t>(n), 1.0f);
        std::vector<BlockA8> a(static_cast<size_t>(n * c.cols / 32));
        dot.quantize_a8(x.data(), a.data(), n * c.cols);
        std::vector<float> got(static_cast<size_t>(n * ldy), -7.0f), want(got);
        k->int_matmul({&g->im, row0, m, a.data(), n, got.data(), ldy});
        spec.int_matmul({&g->im, row0, m, a.data(), n, want.data(), ldy});
        for (size_t i = 0; i < got.size(); ++i)
          ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(want[i]))
              << c.grid.describe() << " cols=" << c.cols << " n=" << n << " row0=" << row0 << " at " << i;
      }
  }
}

INSTANTIATE_TEST_SUITE_P(Table, IntGridKernelsIsa, kEveryTable, TableName{});

// What stays on the f32 path: groups that are not whole 32-blocks, rows that are not, and fp8.
TEST(IntGridKernels, OtherGridsStayOnTheF32Path) {
  for (const Case& c : std::vector<Case>{{WeightGrid::integer(4, 16, false), 64},
                                         {WeightGrid::integer(4, 32, false), 72},
                                         {WeightGrid::nf4(64, true), 72},
                                         {WeightGrid::fp8(0), 64}}) {
    const PackedMatrix p = pack_matrix(quantize_rtn(normal(2 * c.cols, 1, 0.05f), 2, c.cols, c.grid));
    EXPECT_FALSE(engine::integer_path_takes(p.view())) << c.grid.describe();
    const auto g = engine::grid_weights_from(p.view());
    ASSERT_TRUE(g) << c.grid.describe();
    EXPECT_FALSE(g->integer) << c.grid.describe();
  }
}

}  // namespace
}  // namespace qforge::kernels
