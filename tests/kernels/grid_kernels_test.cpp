// The grid kernels' f32 path against two things: the scalar spec, bit for bit (every ISA, every
// tile shape, leftovers), and — independently — the f32 dot kernel over dequantize_packed's matrix,
// also bit for bit, since the spec promises exactly that computation. Matrices come from RTN
// on each of qforge's grids, through the checkpoint packing and the engine's loader (asked for
// the f32 path: the integer path has its own tests in int_grid_kernels_test.cpp).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
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

struct Case {
  WeightGrid grid;
  int64_t cols;
};

// Every codec, bit width 2–8, groups of 8/32/64/128 and per channel, short last groups, and
// row lengths with leftovers after the last whole 8.
std::vector<Case> cases() {
  std::vector<Case> v;
  for (int bits : {2, 3, 4, 5, 6, 7, 8})
    for (bool sym : {true, false}) v.push_back({WeightGrid::integer(bits, 32, sym), 96});
  v.push_back({WeightGrid::integer(4, 128, false), 300});  // a short last group
  v.push_back({WeightGrid::integer(3, 0, false), 75});     // per channel, 3 leftover columns
  v.push_back({WeightGrid::integer(4, 8, true), 40});
  v.push_back({WeightGrid::integer_min(4, 64), 192});
  v.push_back({WeightGrid::integer_min(3, 32), 100});
  v.push_back({WeightGrid::ggml(GgmlType::Q8_0), 64});
  v.push_back({WeightGrid::ggml(GgmlType::Q4_1), 64});
  v.push_back({WeightGrid::nf4(64, false), 256});
  v.push_back({WeightGrid::nf4(64, true), 320});
  v.push_back({WeightGrid::ternary(), 259});
  v.push_back({WeightGrid::fp8(0), 97});
  v.push_back({WeightGrid::fp8(0), 105});  // six runs of 16, one of 8, a leftover
  v.push_back({WeightGrid::fp8(32), 128});
  v.push_back({WeightGrid::fp8(24), 72});  // groups of 16 + 8
  return v;
}

// The spec's matmul of `rows` RTN-quantized rows of case c against n tokens, beside the
// dequantized matrix and the activations (g is null when the grid kernels refuse the grid).
struct SpecRun {
  std::shared_ptr<const engine::GridWeights> g;
  std::vector<float> deq, x, y;
};
SpecRun spec_run(const Case& c, int64_t rows, int64_t n) {
  const PackedMatrix p = pack_matrix(quantize_rtn(normal(rows * c.cols, static_cast<uint32_t>(c.cols), 0.05f), rows, c.cols, c.grid));
  SpecRun run{engine::grid_weights_from(p.view(), false), std::vector<float>(static_cast<size_t>(rows * c.cols)),
              normal(n * c.cols, 7, 1.0f), std::vector<float>(static_cast<size_t>(n * rows))};
  if (!run.g) return run;
  dequantize_packed(p.view(), run.deq);
  grid_kernels_scalar().matmul({&run.g->m, 0, rows, run.x.data(), n, run.y.data(), rows});
  return run;
}

TEST(GridKernels, SpecIsTheF32DotOverTheDequantizedMatrix) {
  const DotKernels dot = dot_kernels_scalar();
  for (const Case& c : cases()) {
    if (c.grid.kind == GridKind::Fp8E4M3) continue;  // its own spec: the next test
    const int64_t rows = 5, n = 3;
    const auto [g, deq, x, y] = spec_run(c, rows, n);
    ASSERT_TRUE(g) << c.grid.describe();
    for (int64_t t = 0; t < n; ++t)
      for (int64_t r = 0; r < rows; ++r) {
        const float want = dot.f32(&x[static_cast<size_t>(t * c.cols)], &deq[static_cast<size_t>(r * c.cols)], c.cols);
        ASSERT_EQ(std::bit_cast<uint32_t>(y[static_cast<size_t>(t * rows + r)]), std::bit_cast<uint32_t>(want))
            << c.grid.describe() << " cols=" << c.cols << " row " << r << " token " << t;
      }
  }
}

// fp8's spec scales once per group and lane (grid_kernels.h): against a double-precision dot
// of the dequantized matrix, within the rounding of f32 sums; and differing from the f32 dot's
// order somewhere (or the spec would not be its own).
TEST(GridKernels, Fp8SpecIsTheDotOfTheDequantizedMatrixWithinRounding) {
  const DotKernels dot = dot_kernels_scalar();
  int differ = 0;
  for (const Case& c : cases()) {
    if (c.grid.kind != GridKind::Fp8E4M3) continue;
    const int64_t rows = 7, n = 3;
    const auto [g, deq, x, y] = spec_run(c, rows, n);
    ASSERT_TRUE(g && !g->m.nan_codes) << c.grid.describe();
    for (int64_t t = 0; t < n; ++t)
      for (int64_t r = 0; r < rows; ++r) {
        double want = 0, magnitude = 0;
        for (int64_t i = 0; i < c.cols; ++i) {
          const double v = static_cast<double>(x[static_cast<size_t>(t * c.cols + i)]) * deq[static_cast<size_t>(r * c.cols + i)];
          want += v, magnitude += std::fabs(v);
        }
        const float got = y[static_cast<size_t>(t * rows + r)];
        EXPECT_NEAR(got, want, 1e-6 * magnitude) << c.grid.describe() << " row " << r << " token " << t;
        differ += got != dot.f32(&x[static_cast<size_t>(t * c.cols)], &deq[static_cast<size_t>(r * c.cols)], c.cols);
      }
  }
  EXPECT_GT(differ, 0);
}

class GridKernelsIsa : public ::testing::TestWithParam<Table> {};

TEST_P(GridKernelsIsa, EveryTileReproducesTheSpec) {
  const auto k = grid_table(GetParam());
  if (!k) GTEST_SKIP() << "CPU lacks " << table_name(GetParam());
  const GridKernels spec = grid_kernels_scalar();
  for (const Case& c : cases()) {
    const int64_t rows = 11;
    const auto wf = normal(rows * c.cols, static_cast<uint32_t>(c.cols + 1), 0.05f);
    const PackedMatrix p = pack_matrix(quantize_rtn(wf, rows, c.cols, c.grid));
    const auto g = engine::grid_weights_from(p.view(), false);
    ASSERT_TRUE(g);
    for (const int64_t n : {1, 2, 3, 4, 5, 7})
      for (const int64_t row0 : {0, 2}) {
        const int64_t m = rows - row0, ldy = m + 3;  // ldy > rows: stray writes show
        const auto x = normal(n * c.cols, static_cast<uint32_t>(n), 1.0f);
        std::vector<float> got(static_cast<size_t>(n * ldy), -7.0f), want(got);
        k->matmul({&g->m, row0, m, x.data(), n, got.data(), ldy});
        spec.matmul({&g->m, row0, m, x.data(), n, want.data(), ldy});
        for (size_t i = 0; i < got.size(); ++i)
          ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(want[i]))
              << c.grid.describe() << " cols=" << c.cols << " n=" << n << " row0=" << row0 << " at " << i;
      }
  }
}

INSTANTIATE_TEST_SUITE_P(Table, GridKernelsIsa, kEveryTable, TableName{});

// fp8 codes the quantizer never writes but a file may hold: 0x7F/0xFF decode to NaN, as
// dequantize_packed's do (and mark the matrix, which takes the kernels' NaN-mapping variant),
// and subnormal codes exactly; and a scale too large to carry the
// kernels' 2^8 (row 2: codes up to 3.75 at s = 2^126, where s·2^8 overflows but every weight fits).
TEST(GridKernels, Fp8NaNSubnormalCodesAndHugeScales) {
  PackedMatrix p;
  p.grid = WeightGrid::fp8(0);
  p.rows = 3;
  p.cols = 16;
  const std::vector<uint8_t> row0 = {0x01, 0x81, 0x07, 0x08, 0x7E, 0xFE, 0x00, 0x80, 0x38, 0xB8, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66};
  p.codes = row0;
  p.codes.insert(p.codes.end(), {0x7F, 0, 0, 0, 0, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});  // row 1: NaN codes
  p.codes.insert(p.codes.end(), {0x01, 0x81, 0x07, 0x08, 0x38, 0xB8, 0x00, 0x80, 0x30, 0xB0, 0x11, 0x22, 0x33, 0x44, 0x3F, 0xC4});
  const float scales[3] = {1.0f, 1.0f, 0x1p126f};
  p.scales.resize(sizeof scales);
  std::memcpy(p.scales.data(), scales, sizeof scales);
  const auto g = engine::grid_weights_from(p.view(), false);
  ASSERT_TRUE(g && g->m.nan_codes);
  std::vector<float> deq(48);
  dequantize_packed(p.view(), deq);
  for (const Table table : {Table::Scalar, Table::Avx2, Table::AvxVnni, Table::AvxVnniOnEvex, Table::Avx512}) {
    const auto k = grid_table(table);
    if (!k) continue;
    for (int i = 0; i < 16; ++i) {
      std::vector<float> x(16, 0.0f);
      x[static_cast<size_t>(i)] = 1.0f;
      float y[3] = {0, 0, 0};
      k->matmul({&g->m, 0, 3, x.data(), 1, y, 3});
      EXPECT_EQ(y[0], deq[static_cast<size_t>(i)]) << table_name(table) << " code " << int{p.codes[static_cast<size_t>(i)]};
      EXPECT_TRUE(std::isnan(y[1])) << table_name(table) << ": 0x7F times anything is NaN";
      EXPECT_EQ(y[2], deq[static_cast<size_t>(32 + i)])
          << table_name(table) << " code " << int{p.codes[static_cast<size_t>(32 + i)]} << " at 2^126";
    }
  }
  EXPECT_EQ(deq[0], std::ldexp(1.0f, -9));  // the smallest subnormal, 2^−9
  EXPECT_TRUE(std::isnan(deq[16]));
  EXPECT_EQ(deq[32 + 13], 3 * 0x1p126f);  // 0x44 = 3.0
  EXPECT_EQ(deq[32 + 4], 0x1p126f);       // 0x38 = 1.0
}

}  // namespace
}  // namespace qforge::kernels
