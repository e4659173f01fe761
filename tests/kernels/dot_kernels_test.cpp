// Every dot kernel the CPU has, against the scalar spec: integer formats bit for bit, float
// formats within a bound derived from f32 rounding; and the spec itself against ggml's
// dequantizer, so the lane formulation means what the file format means.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/dot/dot_kernels.h"
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
  }
  return w;
}

class DotKernelsTest : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    auto t = dot_kernels_for(GetParam());
    if (!t) GTEST_SKIP() << "CPU lacks " << isa_name(GetParam());
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

template <class Block>
void expect_integer_dot_exact(float (*fast)(const Block*, const BlockA8*, int64_t),
                              float (*spec)(const Block*, const BlockA8*, int64_t), const DotKernels& ref,
                              const char* name) {
  for (const int64_t nb : kBlockCounts) {
    const auto w = random_blocks<Block>(nb, static_cast<uint32_t>(nb));
    const auto x = activations(nb * 32, static_cast<uint32_t>(nb + 100));
    std::vector<BlockA8> a(static_cast<size_t>(nb));
    ref.quantize_a8(x.data(), a.data(), nb * 32);
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
}

TEST_P(DotKernelsTest, FloatDotsAreWithinTheRoundingBound) {
  for (const int64_t n : kLengths) {
    const auto x = activations(n, static_cast<uint32_t>(n));
    const auto wf = activations(n, static_cast<uint32_t>(n + 1));
    std::vector<uint16_t> wh(static_cast<size_t>(n)), wb(static_cast<size_t>(n));
    convert_f32_to_f16(wf, wh);
    convert_f32_to_bf16(wf, wb);
    double mag = 0;  // Σ|x·w| bounds the error of any summation order: n·u·Σ|x·w|
    for (int64_t i = 0; i < n; ++i) mag += std::fabs(static_cast<double>(x[static_cast<size_t>(i)]) * wf[static_cast<size_t>(i)]);
    const double bound = static_cast<double>(n) * std::ldexp(1.0, -24) * mag * 1.1 + 1e-30;
    EXPECT_NEAR(k.f32(x.data(), wf.data(), n), ref.f32(x.data(), wf.data(), n), bound) << "f32, n=" << n;
    EXPECT_NEAR(k.f16(x.data(), wh.data(), n), ref.f16(x.data(), wh.data(), n), bound) << "f16, n=" << n;
    EXPECT_NEAR(k.bf16(x.data(), wb.data(), n), ref.bf16(x.data(), wb.data(), n), bound) << "bf16, n=" << n;
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, DotKernelsTest, ::testing::Values(Isa::Scalar, Isa::Avx2),
                         [](const auto& p) { return std::string(isa_name(p.param)); });

// The spec against ggml's own dequantizer: Σ dequant(w)·(d_a·q_a) in double.
template <class Block>
void expect_spec_matches_dequantized(GgmlType type, float (*spec)(const Block*, const BlockA8*, int64_t)) {
  const DotKernels ref = dot_kernels_scalar();
  const int64_t nb = 33;
  const auto w = random_blocks<Block>(nb, 5);
  const auto x = activations(nb * 32, 6);
  std::vector<BlockA8> a(static_cast<size_t>(nb));
  ref.quantize_a8(x.data(), a.data(), nb * 32);
  std::vector<float> wf(static_cast<size_t>(nb * 32));
  ggml_dequantize(type, {reinterpret_cast<const uint8_t*>(w.data()), w.size() * sizeof(Block)}, wf);
  double want = 0, mag = 0;
  for (int64_t b = 0; b < nb; ++b)
    for (int i = 0; i < 32; ++i) {
      const double p = static_cast<double>(wf[static_cast<size_t>(b * 32 + i)]) * a[static_cast<size_t>(b)].d *
                       a[static_cast<size_t>(b)].qs[i];
      want += p;
      mag += std::fabs(p);
    }
  EXPECT_NEAR(spec(w.data(), a.data(), nb), want, 1e-5 * mag) << ggml_type_info(type).name;
}

TEST(DotKernelSpec, MeansWhatGgmlsDequantizerMeans) {
  const DotKernels ref = dot_kernels_scalar();
  expect_spec_matches_dequantized(GgmlType::Q8_0, ref.q8_0);
  expect_spec_matches_dequantized(GgmlType::Q4_0, ref.q4_0);
  expect_spec_matches_dequantized(GgmlType::Q4_1, ref.q4_1);
  expect_spec_matches_dequantized(GgmlType::Q5_0, ref.q5_0);
  expect_spec_matches_dequantized(GgmlType::Q5_1, ref.q5_1);
}

}  // namespace
}  // namespace qforge::kernels
