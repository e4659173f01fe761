// Every dot and matmul kernel the CPU has, against the scalar spec, bit for bit: the spec fixes
// every float operation, so every tile shape must reproduce it. The spec itself is checked
// against independent arithmetic: ggml's dequantizer for the integer formats, a double-precision
// sum within the f32 rounding bound for the float formats.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <span>
#include <random>
#include <vector>

#include "kernels/dot/dot_kernels.h"
#include "kernels/kernel_tables.h"
#include "qforge/float_convert.h"
#include "qforge/ggml_types.h"

namespace qforge::kernels {
namespace {

const int64_t kBlockCounts[] = {1, 2, 3, 7, 17, 31, 33, 255, 257};
const int64_t kLengths[] = {1, 2, 3, 7, 17, 31, 33, 255, 257, 576, 4096};

// Activations like an LLM's: mostly N(0, 1), a few channels 50× larger.
std::vector<float> activations(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = g(rng) * (rng() % 97 == 0 ? 50.0f : 1.0f);
  return x;
}

// Random bytes for every block field, with the f16 scale(s) set to sane magnitudes.
template <class Block>
std::vector<Block> random_blocks(int64_t nb, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Block> w(static_cast<size_t>(nb));
  auto* bytes = reinterpret_cast<uint8_t*>(w.data());
  for (size_t i = 0; i < w.size() * sizeof(Block); ++i) bytes[i] = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  for (auto& b : w) {
    b.d = f32_to_f16(scale(rng));
    if constexpr (requires { b.m; }) b.m = f32_to_f16(scale(rng));
    if constexpr (requires { b.dmin; }) b.dmin = f32_to_f16(scale(rng));
  }
  return w;
}

class DotKernelsTest : public ::testing::TestWithParam<Table> {
 protected:
  void SetUp() override {
    auto t = dot_table(GetParam());
    if (!t) GTEST_SKIP() << "CPU lacks " << table_name(GetParam());
    k = *t;
    ref = dot_kernels_scalar();
  }
  DotKernels k{}, ref{};
};

TEST_P(DotKernelsTest, ActivationQuantizationIsBitExact) {
  std::vector<float> x = activations(32 * 64, 1);
  // special blocks: all zero, a NaN, an infinity, subnormals, exact halves after scaling
  for (int i = 0; i < 32; ++i) x[static_cast<size_t>(i)] = 0.0f;
  x[40] = std::nanf("");
  x[70] = INFINITY;
  for (int i = 96; i < 128; ++i) x[static_cast<size_t>(i)] = std::bit_cast<float>(static_cast<uint32_t>(i));
  for (int i = 128; i < 160; ++i) x[static_cast<size_t>(i)] = static_cast<float>(i - 144) * 0.5f * 127.0f / 8.0f;
  std::vector<BlockA8> a(64), b(64);
  k.quantize_a8(x.data(), a.data(), static_cast<int64_t>(x.size()));
  ref.quantize_a8(x.data(), b.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(std::bit_cast<uint32_t>(a[i].d), std::bit_cast<uint32_t>(b[i].d)) << "block " << i;
    EXPECT_EQ(std::bit_cast<uint32_t>(a[i].s), std::bit_cast<uint32_t>(b[i].s)) << "block " << i;
    EXPECT_EQ(std::memcmp(a[i].qs, b[i].qs, 32), 0) << "block " << i;
    for (int8_t q : a[i].qs) EXPECT_NE(q, -128);
  }
  // the error bound of round to nearest: |x − d·q| ≤ d/2 on finite blocks
  for (size_t i = 3; i < a.size(); ++i)
    for (int j = 0; j < 32; ++j) {
      const float v = x[i * 32 + static_cast<size_t>(j)];
      EXPECT_LE(std::fabs(v - a[i].d * a[i].qs[j]), a[i].d * 0.5f * 1.0001f + 1e-30f) << i << "," << j;
    }
}

// The per-256 blocks the super-block formats take: the same code rule, one scale per 256, and
// bsums that are the codes' sums per 32.
TEST_P(DotKernelsTest, SuperBlockActivationQuantizationIsBitExact) {
  std::vector<float> x = activations(256 * 9, 2);
  for (int i = 0; i < 256; ++i) x[static_cast<size_t>(i)] = 0.0f;  // an all-zero block
  x[300] = std::nanf("");
  x[600] = INFINITY;
  for (int i = 768; i < 1024; ++i) x[static_cast<size_t>(i)] = static_cast<float>(i - 896) * 0.5f * 127.0f / 64.0f;  // halves
  std::vector<BlockA8K> a(9), b(9);
  k.quantize_a8k(x.data(), a.data(), static_cast<int64_t>(x.size()));
  ref.quantize_a8k(x.data(), b.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(std::bit_cast<uint32_t>(a[i].d), std::bit_cast<uint32_t>(b[i].d)) << "block " << i;
    EXPECT_EQ(std::memcmp(a[i].qs, b[i].qs, 256), 0) << "block " << i;
    for (int j = 0; j < 8; ++j) {
      int sum = 0;
      for (int e = 32 * j; e < 32 * j + 32; ++e) sum += a[i].qs[e];
      EXPECT_EQ(a[i].bsums[j], sum) << "block " << i << " sub-block " << j;
      EXPECT_EQ(b[i].bsums[j], sum) << "block " << i << " sub-block " << j;
    }
    for (int8_t q : a[i].qs) EXPECT_NE(q, -128);
  }
  EXPECT_EQ(a[0].d, 0.0f);
  // round to nearest under the block's one scale: |x − d·q| ≤ d/2 on finite blocks
  for (size_t i = 3; i < a.size(); ++i)
    for (int j = 0; j < 256; ++j) {
      const float v = x[i * 256 + static_cast<size_t>(j)];
      EXPECT_LE(std::fabs(v - a[i].d * a[i].qs[j]), a[i].d * 0.5f * 1.0001f) << i << "," << j;
    }
}

// How a test quantizes and reads each kind of activation block.
template <class Act>
struct ActBlocks;
template <>
struct ActBlocks<BlockA8> {
  static constexpr int kElems = 32;
  static void quantize(const DotKernels& k, const float* x, BlockA8* a, int64_t n) { k.quantize_a8(x, a, n); }
};
template <>
struct ActBlocks<BlockA8K> {
  static constexpr int kElems = 256;
  static void quantize(const DotKernels& k, const float* x, BlockA8K* a, int64_t n) { k.quantize_a8k(x, a, n); }
};
template <class Act>
double act_value(const std::vector<Act>& a, int64_t i) {
  const Act& b = a[static_cast<size_t>(i / ActBlocks<Act>::kElems)];
  return static_cast<double>(b.d) * b.qs[i % ActBlocks<Act>::kElems];
}

// Random bytes for every field: extreme codes and scales included (Q6_K's −128 sub-scale,
// TQ2_0's unused code 3), which well-formed files never hold but the kernels must still follow.
template <int kElems = 32, class Block, class Act>  // kElems: elements per weight block
void expect_integer_dot_exact(float (*fast)(const Block*, const Act*, int64_t), float (*spec)(const Block*, const Act*, int64_t),
                              const DotKernels& ref, const char* name) {
  for (const int64_t nb : kBlockCounts) {
    if (kElems > 32 && nb > 33) continue;  // a super-block is eight blocks' worth already
    const auto w = random_blocks<Block>(nb, static_cast<uint32_t>(nb));
    const auto x = activations(nb * kElems, static_cast<uint32_t>(nb + 100));
    std::vector<Act> a(static_cast<size_t>(nb * kElems / ActBlocks<Act>::kElems));
    ActBlocks<Act>::quantize(ref, x.data(), a.data(), nb * kElems);
    const float got = fast(w.data(), a.data(), nb), want = spec(w.data(), a.data(), nb);
    EXPECT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(want)) << name << ", " << nb << " blocks: " << got
                                                                          << " vs " << want;
  }
}

TEST_P(DotKernelsTest, IntegerDotsAreBitExact) {
  expect_integer_dot_exact(k.q8_0, ref.q8_0, ref, "q8_0");
  expect_integer_dot_exact(k.q4_0, ref.q4_0, ref, "q4_0");
  expect_integer_dot_exact(k.q4_1, ref.q4_1, ref, "q4_1");
  expect_integer_dot_exact(k.q5_0, ref.q5_0, ref, "q5_0");
  expect_integer_dot_exact(k.q5_1, ref.q5_1, ref, "q5_1");
  expect_integer_dot_exact<256>(k.tq1_0, ref.tq1_0, ref, "tq1_0");
  expect_integer_dot_exact<256>(k.tq2_0, ref.tq2_0, ref, "tq2_0");
}

TEST_P(DotKernelsTest, FloatDotsAreBitExact) {
  for (const int64_t n : kLengths) {
    const auto x = activations(n, static_cast<uint32_t>(n));
    const auto wf = activations(n, static_cast<uint32_t>(n + 1));
    std::vector<uint16_t> wh(static_cast<size_t>(n)), wb(static_cast<size_t>(n));
    convert_f32_to_f16(wf, wh);
    convert_f32_to_bf16(wf, wb);
    EXPECT_EQ(std::bit_cast<uint32_t>(k.f32(x.data(), wf.data(), n)), std::bit_cast<uint32_t>(ref.f32(x.data(), wf.data(), n))) << n;
    EXPECT_EQ(std::bit_cast<uint32_t>(k.f16(x.data(), wh.data(), n)), std::bit_cast<uint32_t>(ref.f16(x.data(), wh.data(), n))) << n;
    EXPECT_EQ(std::bit_cast<uint32_t>(k.bf16(x.data(), wb.data(), n)), std::bit_cast<uint32_t>(ref.bf16(x.data(), wb.data(), n))) << n;
  }
}

// One format's weights (rows × k), activations (n tokens) and a check of every output element
// of the ISA's matmul against the spec's dot, with ldy > rows so stray writes show.
std::vector<uint8_t> random_rows(GgmlType type, int64_t rows, int64_t k, uint32_t seed) {
  const size_t row_bytes = static_cast<size_t>(ggml_row_bytes(type, static_cast<uint64_t>(k)));
  std::vector<uint8_t> w(row_bytes * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const auto f = activations(k, seed + static_cast<uint32_t>(r));
    std::span<uint8_t> dst{w.data() + static_cast<size_t>(r) * row_bytes, row_bytes};
    if (type == GgmlType::F32) std::memcpy(dst.data(), f.data(), row_bytes);
    else ggml_quantize(type, f, dst);  // f16/bf16 and the block types alike
  }
  return w;
}

void expect_matmul_matches_dots(GgmlType type, MatmulKernel fast,
                                const std::function<float(const uint8_t* row, int64_t t, int64_t kk)>& spec_dot,
                                const void* act, const std::vector<float>& x, int64_t rows, int64_t n, int64_t kk) {
  const auto w = random_rows(type, rows, kk, static_cast<uint32_t>(rows * 31 + kk));
  const size_t row_bytes = static_cast<size_t>(ggml_row_bytes(type, static_cast<uint64_t>(kk)));
  const int64_t ldy = rows + 3;
  std::vector<float> y(static_cast<size_t>(n * ldy), -7.0f);
  fast({w.data(), row_bytes, rows, act ? act : x.data(), n, kk, y.data(), ldy});
  for (int64_t t = 0; t < n; ++t)
    for (int64_t r = 0; r < ldy; ++r) {
      const float got = y[static_cast<size_t>(t * ldy + r)];
      const float want = r < rows ? spec_dot(w.data() + static_cast<size_t>(r) * row_bytes, t, kk) : -7.0f;
      ASSERT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(want))
          << ggml_type_info(type).name << " rows=" << rows << " n=" << n << " k=" << kk << " at row " << r << " token " << t;
    }
}

// (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 and Q6_K run interleaved: interleaved_kernels_test.cpp; Q4_K:
// q4_k_interleaved_test.cpp.)
TEST_P(DotKernelsTest, MatmulTilesReproduceTheSpecForEveryShape) {
  const int64_t kRowCounts[] = {1, 2, 3, 4, 5, 7, 8, 9, 17};
  const int64_t kTokenCounts[] = {1, 2, 3, 4, 5, 7, 9};
  struct Format {
    GgmlType type;
    MatmulKernel fast;
    float (*spec)(const uint8_t*, const void*, const float*, int64_t);  // one token's activations
  };
  const Format formats[] = {
      {GgmlType::F32, k.matmul.f32, [](const uint8_t* w, const void*, const float* x, int64_t kk) {
         return dot_kernels_scalar().f32(x, reinterpret_cast<const float*>(w), kk); }},
      {GgmlType::F16, k.matmul.f16, [](const uint8_t* w, const void*, const float* x, int64_t kk) {
         return dot_kernels_scalar().f16(x, reinterpret_cast<const uint16_t*>(w), kk); }},
      {GgmlType::BF16, k.matmul.bf16, [](const uint8_t* w, const void*, const float* x, int64_t kk) {
         return dot_kernels_scalar().bf16(x, reinterpret_cast<const uint16_t*>(w), kk); }},
      {GgmlType::TQ1_0, k.matmul.tq1_0, [](const uint8_t* w, const void* a, const float*, int64_t kk) {
         return dot_kernels_scalar().tq1_0(reinterpret_cast<const ggml::BlockTQ1_0*>(w), static_cast<const BlockA8K*>(a), kk / 256); }},
      {GgmlType::TQ2_0, k.matmul.tq2_0, [](const uint8_t* w, const void* a, const float*, int64_t kk) {
         return dot_kernels_scalar().tq2_0(reinterpret_cast<const ggml::BlockTQ2_0*>(w), static_cast<const BlockA8K*>(a), kk / 256); }},
  };
  const auto super_block = [](GgmlType t) { return ggml_type_info(t).block_elems == 256; };
  for (const int64_t kk : {int64_t{32}, int64_t{96}, int64_t{256}, int64_t{544}, int64_t{768}})
    for (const int64_t n : kTokenCounts) {
      const auto x = activations(n * kk, static_cast<uint32_t>(n * 1000 + kk));
      std::vector<BlockA8K> a8k(static_cast<size_t>(n * kk / 256));
      if (kk % 256 == 0) ref.quantize_a8k(x.data(), a8k.data(), n * kk);
      for (const Format& f : formats) {
        const bool super = super_block(f.type);  // the ternary formats, on activations per 256
        if (super != (kk % 256 == 0)) continue;  // k = 32, 96, 544 or 256, 768 by block size
        for (const int64_t rows : kRowCounts)
          expect_matmul_matches_dots(
              f.type, f.fast,
              [&](const uint8_t* row, int64_t t, int64_t len) {
                const void* at = super ? &a8k[static_cast<size_t>(t * len / 256)] : nullptr;
                return f.spec(row, at, &x[static_cast<size_t>(t * len)], len);
              },
              super ? a8k.data() : nullptr, x, rows, n, kk);
      }
    }
  // odd k for the float formats: leftovers after the last whole 8
  for (const int64_t kk : {int64_t{1}, int64_t{7}, int64_t{13}, int64_t{33}}) {
    const int64_t n = 3;
    const auto x = activations(n * kk, static_cast<uint32_t>(kk));
    for (const Format& f : formats) {
      if (f.type != GgmlType::F32 && f.type != GgmlType::F16 && f.type != GgmlType::BF16) continue;
      expect_matmul_matches_dots(
          f.type, f.fast,
          [&](const uint8_t* row, int64_t t, int64_t len) { return f.spec(row, nullptr, &x[static_cast<size_t>(t * len)], len); },
          nullptr, x, 5, n, kk);
    }
  }
}

// Long rows cross the loop's cache blocks: 262 f32 rows of 4096 are a 4 MB band of 256 rows and
// one of 6 (a partial tile), 14 tokens a 192 KB block of 12 and one of 2.
TEST_P(DotKernelsTest, MatmulAcrossRowBandsAndTokenBlocksReproducesTheSpec) {
  const int64_t kk = 4096, n = 14, rows = 262;
  const auto x = activations(n * kk, 5);
  expect_matmul_matches_dots(
      GgmlType::F32, k.matmul.f32,
      [&](const uint8_t* row, int64_t t, int64_t len) {
        return dot_kernels_scalar().f32(&x[static_cast<size_t>(t * len)], reinterpret_cast<const float*>(row), len);
      },
      nullptr, x, rows, n, kk);
}

INSTANTIATE_TEST_SUITE_P(Table, DotKernelsTest, kEveryTable, TableName{});

// The spec against ggml's own dequantizer: Σ dequant(w)·(d_a·q_a) in double.
template <class Block, class Act>
void expect_spec_matches_dequantized(GgmlType type, float (*spec)(const Block*, const Act*, int64_t)) {
  const DotKernels ref = dot_kernels_scalar();
  const int64_t nb = 33, elems = nb * ggml_type_info(type).block_elems;
  const auto w = random_blocks<Block>(nb, 5);
  const auto x = activations(elems, 6);
  std::vector<Act> a(static_cast<size_t>(elems / ActBlocks<Act>::kElems));
  ActBlocks<Act>::quantize(ref, x.data(), a.data(), elems);
  std::vector<float> wf(static_cast<size_t>(elems));
  ggml_dequantize(type, {reinterpret_cast<const uint8_t*>(w.data()), w.size() * sizeof(Block)}, wf);
  double want = 0, mag = 0;
  for (int64_t i = 0; i < elems; ++i) {
    const double p = static_cast<double>(wf[static_cast<size_t>(i)]) * act_value(a, i);
    want += p;
    mag += std::fabs(p);
  }
  EXPECT_NEAR(spec(w.data(), a.data(), nb), want, 1e-5 * mag) << ggml_type_info(type).name;
}

// The float spec against a double-precision sum: within n·u·Σ|x·w|, the bound for any order.
TEST(DotKernelSpec, FloatDotsAreWithinTheRoundingBound) {
  const DotKernels ref = dot_kernels_scalar();
  for (const int64_t n : kLengths) {
    const auto x = activations(n, static_cast<uint32_t>(n));
    const auto w = activations(n, static_cast<uint32_t>(n + 1));
    double want = 0, mag = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      want += static_cast<double>(x[i]) * w[i];
      mag += std::fabs(static_cast<double>(x[i]) * w[i]);
    }
    EXPECT_NEAR(ref.f32(x.data(), w.data(), n), want, static_cast<double>(n) * std::ldexp(1.0, -24) * mag + 1e-30) << n;
  }
}

TEST(DotKernelSpec, MeansWhatGgmlsDequantizerMeans) {
  const DotKernels ref = dot_kernels_scalar();
  expect_spec_matches_dequantized(GgmlType::Q8_0, ref.q8_0);
  expect_spec_matches_dequantized(GgmlType::Q4_0, ref.q4_0);
  expect_spec_matches_dequantized(GgmlType::Q4_1, ref.q4_1);
  expect_spec_matches_dequantized(GgmlType::Q5_0, ref.q5_0);
  expect_spec_matches_dequantized(GgmlType::Q5_1, ref.q5_1);
  expect_spec_matches_dequantized(GgmlType::Q4_K, ref.q4_k);
  expect_spec_matches_dequantized(GgmlType::Q6_K, ref.q6_k);
  expect_spec_matches_dequantized(GgmlType::TQ1_0, ref.tq1_0);
  expect_spec_matches_dequantized(GgmlType::TQ2_0, ref.tq2_0);
}

}  // namespace
}  // namespace qforge::kernels
