// The w8a8 kernels against their scalar spec, bit for bit (integer sums have one right answer),
// and the spec against independent arithmetic: int64 sums and long-double division.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include "kernels/kernel_tables.h"
#include "kernels/w8a8/w8a8_kernels.h"

namespace qforge::kernels {
namespace {

class W8A8KernelsTest : public ::testing::TestWithParam<Table> {
 protected:
  void SetUp() override {
    auto t = w8a8_table(GetParam());
    if (!t) GTEST_SKIP() << "CPU lacks " << table_name(GetParam());
    k = *t;
  }
  W8A8Kernels k{};
};

// out (ldo = rows + 3, sentinel-filled) from `gemm` (int16 codes) or `gemm_u8` (byte codes),
// with the padding checked untouched.
template <class X>
std::vector<int32_t> run_gemm(const W8A8Kernels& k, const std::vector<int8_t>& w, const std::vector<X>& x, int64_t rows, int64_t n,
                              int64_t depth) {
  const int64_t ldo = rows + 3;
  std::vector<int32_t> out(static_cast<size_t>(n * ldo), 0x5A5A5A5A);
  if constexpr (std::is_same_v<X, int16_t>) k.gemm({w.data(), depth, rows, x.data(), depth, n, depth, out.data(), ldo});
  else k.gemm_u8({w.data(), depth, rows, x.data(), depth, n, depth, out.data(), ldo});
  for (int64_t t = 0; t < n; ++t)
    for (int64_t r = rows; r < ldo; ++r) EXPECT_EQ(out[static_cast<size_t>(t * ldo + r)], 0x5A5A5A5A) << "stray write";
  return out;
}

// Random weights −128..127 and codes x_lo..x_hi at every tile shape and leftover depth, past one
// 8192-deep block too, against int64 sums.
template <class X>
void expect_exact_sums_at_every_shape(const W8A8Kernels& k, int x_lo, int x_hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> wd(-128, 127), xd(x_lo, x_hi);
  for (const int64_t rows : {1, 2, 3, 4, 5, 7, 17, 65, 130})
    for (const int64_t n : {1, 2, 3, 5, 129})
      for (const int64_t depth : {1, 15, 16, 17, 31, 32, 33, 255, 1025, 2049, 8209}) {
        if (rows * n * depth > 4'000'000) continue;
        std::vector<int8_t> w(static_cast<size_t>(rows * depth));
        std::vector<X> x(static_cast<size_t>(n * depth));
        for (auto& v : w) v = static_cast<int8_t>(wd(rng));
        for (auto& v : x) v = static_cast<X>(xd(rng));
        const std::vector<int32_t> out = run_gemm(k, w, x, rows, n, depth);
        for (int64_t t = 0; t < n; ++t)
          for (int64_t r = 0; r < rows; ++r) {
            int64_t exact = 0;
            for (int64_t j = 0; j < depth; ++j) exact += int64_t{w[static_cast<size_t>(r * depth + j)]} * x[static_cast<size_t>(t * depth + j)];
            ASSERT_EQ(out[static_cast<size_t>(t * (rows + 3) + r)], exact)
                << isa_name(k.isa) << " rows " << rows << " n " << n << " k " << depth << " at " << r << "," << t;
          }
      }
}

TEST_P(W8A8KernelsTest, GemmEqualsExactSumsAtEveryShape) { expect_exact_sums_at_every_shape<int16_t>(k, -255, 255, 7); }

// gemm_u8: byte codes against int8 weights, over the whole range the table declares (0..127 on
// AVX2's maddubs, 0..255 on VNNI and the spec).
TEST_P(W8A8KernelsTest, ByteGemmEqualsExactSumsAtEveryShape) {
  EXPECT_EQ(k.u8_codes, k.isa == Isa::Avx2 || (k.isa == Isa::Avx512 && !cpu_features().avx512_vnni) ? 128 : 256);
  expect_exact_sums_at_every_shape<uint8_t>(k, 0, k.u8_codes - 1, 8);
}

TEST_P(W8A8KernelsTest, GemmHoldsTheLargestSumsWithoutOverflow) {
  // 2^16 products of −128·−255 (and 127·255): the contract's extreme, just under 2^31
  const int64_t depth = int64_t{1} << 16;
  for (const auto& [wv, xv] : {std::pair{-128, -255}, std::pair{127, 255}, std::pair{-128, 255}}) {
    std::vector<int8_t> w(static_cast<size_t>(5 * depth), static_cast<int8_t>(wv));
    std::vector<int16_t> x(static_cast<size_t>(3 * depth), static_cast<int16_t>(xv));
    const std::vector<int32_t> out = run_gemm(k, w, x, 5, 3, depth);
    const int64_t exact = int64_t{wv} * xv * depth;
    ASSERT_LE(std::abs(exact), std::numeric_limits<int32_t>::max());
    for (int t = 0; t < 3; ++t)
      for (int r = 0; r < 5; ++r) EXPECT_EQ(out[static_cast<size_t>(t * 8 + r)], exact);
  }
}

TEST_P(W8A8KernelsTest, ByteGemmPairSumsDoNotSaturate) {
  // maddubs adds two products in int16: 2·127·(−128) = −32512 and 2·127·127 are its extremes for
  // 7-bit codes; vpdpbusd's four products of 255 go straight to int32 (2^16 · 255 · −128 fits)
  const int64_t depth = int64_t{1} << 16;
  const int top = k.u8_codes - 1;
  for (const int wv : {-128, 127}) {
    std::vector<int8_t> w(static_cast<size_t>(5 * depth), static_cast<int8_t>(wv));
    std::vector<uint8_t> x(static_cast<size_t>(3 * depth), static_cast<uint8_t>(top));
    const std::vector<int32_t> out = run_gemm(k, w, x, 5, 3, depth);
    for (int t = 0; t < 3; ++t)
      for (int r = 0; r < 5; ++r) EXPECT_EQ(out[static_cast<size_t>(t * 8 + r)], int64_t{wv} * top * depth);
  }
}

TEST_P(W8A8KernelsTest, AmaxSkipsNanAndMatchesTheSpec) {
  const W8A8Kernels ref = w8a8_kernels_scalar();
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.0f, 2.0f);
  for (const int64_t len : {0, 1, 7, 8, 9, 31, 4096}) {
    std::vector<float> x(static_cast<size_t>(len));
    for (auto& v : x) v = g(rng);
    if (len > 3) x[2] = std::nanf("");
    float expect = 0;
    for (const float v : x)
      if (!std::isnan(v)) expect = std::max(expect, std::fabs(v));
    EXPECT_EQ(k.amax(x.data(), len), expect) << len;
    EXPECT_EQ(ref.amax(x.data(), len), expect) << len;
  }
  std::vector<float> inf(9, 1.0f);
  inf[4] = -INFINITY;
  EXPECT_EQ(k.amax(inf.data(), 9), INFINITY);
}

TEST_P(W8A8KernelsTest, QuantizeRoundsHalfToEvenInDoubleAndClamps) {
  const W8A8Kernels ref = w8a8_kernels_scalar();
  const float s = 0.5f;
  // exact halves (x/s = k + 0.5), values past ±127, NaN and ±inf, a float whose quotient needs double
  std::vector<float> x = {0.25f, 0.75f, -0.25f, -0.75f, 1.25f, 63.25f, -63.75f, 63.5f, 64.0f, -70.0f, 1e30f,
                          std::nanf(""), INFINITY, -INFINITY, 0.0f, -0.0f, std::bit_cast<float>(0x3e800001u)};
  std::vector<int16_t> expect = {0, 2, 0, -2, 2, 126, -128 + 1, 127, 127, -127, 127, 0, 127, -127, 0, 0, 1};
  std::vector<int16_t> q(x.size()), r(x.size());
  k.quantize(x.data(), static_cast<int64_t>(x.size()), s, q.data());
  ref.quantize(x.data(), static_cast<int64_t>(x.size()), s, r.data());
  EXPECT_EQ(q, expect);
  EXPECT_EQ(r, expect);
  // random values at a scale that makes many quotients land near halves
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-40.0f, 40.0f);
  std::vector<float> y(1031);
  for (auto& v : y) v = u(rng);
  const float sy = 40.0f / 127.0f;
  std::vector<int16_t> a(y.size()), b(y.size());
  k.quantize(y.data(), static_cast<int64_t>(y.size()), sy, a.data());
  ref.quantize(y.data(), static_cast<int64_t>(y.size()), sy, b.data());
  EXPECT_EQ(a, b);
  for (size_t i = 0; i < y.size(); ++i)
    EXPECT_EQ(b[i], static_cast<int16_t>(std::nearbyint(static_cast<long double>(y[i]) / static_cast<long double>(sy)))) << i;
}

INSTANTIATE_TEST_SUITE_P(Table, W8A8KernelsTest, kEveryTable, TableName{});

}  // namespace
}  // namespace qforge::kernels
