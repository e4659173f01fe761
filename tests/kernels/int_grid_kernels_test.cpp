// The grid kernels' integer path: the four-row record layout against hand-worked bytes, against
// every code it must carry and against where expand_a8x4 puts the activations; the spec against an independent double-precision dot of
// dequantize_packed's weights (NF4: the quantizer's codes on the int8 levels) with the
// dequantized int8 activations; every ISA's kernel against
// the spec bit for bit, on every tile shape and row-group offset. Matrices come from RTN on qforge's
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

TEST(IntGridLayout, HandWorkedRecords) {
  uint8_t codes[128] = {}, out[128];
  codes[9] = 3;  // 2 bits, row 0 element 9: register 2, byte 1 of it (interleaved_pos 33) → pairs byte 1, bits 4..5
  pack_int_grid_record(codes, 2, out);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(out[i], i == 1 ? 0x30 : 0) << i;
  codes[9] = 0;
  codes[96 + 31] = 4;  // 3 bits, row 3 element 31: register 3, byte 31 → bit plane (at 32) word 3, bit 31: byte 47 bit 7
  pack_int_grid_record(codes, 3, out);
  for (int i = 0; i < 48; ++i) EXPECT_EQ(out[i], i == 47 ? 0x80 : 0) << i;
  codes[96 + 31] = 0;
  codes[32 + 3] = 0xA;   // 4 bits, row 1: elements 3 and 19 share byte interleaved_pos(1, 3) = 7, low and high nibble
  codes[32 + 19] = 0x5;
  codes[64 + 12] = 0xF;  // row 2 element 12: byte interleaved_pos(2, 12) = 32 + 16 + 8 = 56, low nibble
  pack_int_grid_record(codes, 4, out);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(out[i], i == 7 ? 0x5A : i == 56 ? 0x0F : 0) << i;
  codes[32 + 3] = codes[32 + 19] = codes[64 + 12] = 0;
  codes[0] = 0x3A;  // 6 bits, row 0 element 0: nibble 0xA in byte 0, pair 0b11 at pairs (64) byte 0, bits 0..1
  pack_int_grid_record(codes, 6, out);
  for (int i = 0; i < 96; ++i) EXPECT_EQ(out[i], i == 0 ? 0x0A : i == 64 ? 0x03 : 0) << i;
  codes[0] = 0;
  codes[64 + 20] = 200;  // 8 bits, row 2 element 20: register 1, byte 16 + 8 = 24 → byte 56 holds c − 128 = 72
  pack_int_grid_record(codes, 8, out);
  for (int i = 0; i < 128; ++i) EXPECT_EQ(static_cast<int8_t>(out[i]), i == 56 ? 72 : -128) << i;
}

TEST(IntGridLayout, EveryCodeRoundTrips) {
  std::mt19937 rng(3);
  for (int bits = 2; bits <= 8; ++bits)
    for (int trial = 0; trial < 200; ++trial) {
      uint8_t codes[128], out[128];
      for (int i = 0; i < 128; ++i)  // the extremes often, so every plane's every bit is exercised
        codes[i] = static_cast<uint8_t>(trial % 3 == 0 ? (1 << bits) - 1 : trial % 3 == 1 ? rng() % (1u << bits) : 0);
      if (trial % 3 == 1) codes[trial % 128] = static_cast<uint8_t>((1 << bits) - 1);
      pack_int_grid_record(codes, bits, out);
      for (int r = 0; r < 4; ++r)
        for (int i = 0; i < 32; ++i)
          ASSERT_EQ(int_grid_weight(out, bits, r, i) + int_grid_offset(bits), codes[32 * r + i])
              << bits << " bits, row " << r << " element " << i;
    }
}

// The 8-bit record, read as four registers of 32 bytes, puts row r's code i exactly where
// expand_a8x4 puts activation code i in row r's lane (bytes 4r..4r+3 of each 16).
TEST(IntGridLayout, CodesSitWhereTheirActivationsDo) {
  uint8_t codes[128], out[128];
  for (int r = 0; r < 4; ++r)
    for (int i = 0; i < 32; ++i) codes[32 * r + i] = static_cast<uint8_t>(128 + 32 * r + i - 64);
  pack_int_grid_record(codes, 8, out);
  BlockA8 a{};
  for (int i = 0; i < 32; ++i) a.qs[i] = static_cast<int8_t>(i);
  BlockA8x4 x{};
  dot_kernels_scalar().expand_a8x4(&a, &x, 1);
  for (int k = 0; k < 4; ++k)
    for (int p = 0; p < 32; ++p) {
      const int r = (p % 16) / 4, i = x.qs[k][p];
      EXPECT_EQ(static_cast<int8_t>(out[32 * k + p]), 32 * r + i - 64) << "register " << k << " byte " << p;
    }
}

std::vector<BlockA8x4> expanded(const std::vector<BlockA8>& a) {
  std::vector<BlockA8x4> x(a.size());
  dot_kernels_scalar().expand_a8x4(a.data(), x.data(), static_cast<int64_t>(a.size()));
  return x;
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
    const std::vector<BlockA8x4> ax = expanded(a);
    std::vector<float> y(static_cast<size_t>(n * rows));
    spec.int_matmul({&g->im, 0, rows, ax.data(), n, y.data(), rows});
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
      for (const int64_t row0 : {0, 4, 8}) {  // whole row groups; 17 rows: a last group of one
        const int64_t m = rows - row0, ldy = m + 3;  // ldy > rows: stray writes show
        const auto x = normal(n * c.cols, static_cast<uint32_t>(n), 1.0f);
        std::vector<BlockA8> a(static_cast<size_t>(n * c.cols / 32));
        dot.quantize_a8(x.data(), a.data(), n * c.cols);
        const std::vector<BlockA8x4> ax = expanded(a);
        std::vector<float> got(static_cast<size_t>(n * ldy), -7.0f), want(got);
        k->int_matmul({&g->im, row0, m, ax.data(), n, got.data(), ldy});
        spec.int_matmul({&g->im, row0, m, ax.data(), n, want.data(), ldy});
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
