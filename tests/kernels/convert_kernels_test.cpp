// Every convert kernel the CPU has, against the scalar reference: f16/bf16 decode of all
// 65,536 patterns, and encode of f32 samples, at lengths that leave every tail size.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/convert/convert_kernels.h"
#include "qforge/float_convert.h"

namespace qforge::kernels {
namespace {

class ConvertKernelsTest : public ::testing::TestWithParam<Isa> {
 protected:
  ConvertKernels table() {
    auto t = convert_kernels_for(GetParam());
    if (!t) return {};
    return *t;
  }
  bool skip() {
    if (!convert_kernels_for(GetParam())) return true;
    return false;
  }
};

std::vector<float> sample_f32() {
  std::vector<float> v;
  std::mt19937 rng(7);
  for (int i = 0; i < 200000; ++i) v.push_back(std::bit_cast<float>(static_cast<uint32_t>(rng())));
  for (uint32_t h = 0; h < 65536; ++h) {  // every f16 value and its neighbours in f32
    const float x = f16_to_f32(static_cast<uint16_t>(h));
    const uint32_t u = std::bit_cast<uint32_t>(x);
    for (int d = -2; d <= 2; ++d) v.push_back(std::bit_cast<float>(u + static_cast<uint32_t>(d)));
    v.push_back(std::bit_cast<float>((u & 0xFFFF0000u) | 0x8000u));  // bf16 ties
  }
  return v;
}

bool same_or_both_nan16(uint16_t a, uint16_t b, bool bf16) {
  const auto nan = [&](uint16_t x) { return bf16 ? (x & 0x7FFF) > 0x7F80 : (x & 0x7FFF) > 0x7C00; };
  return a == b || (nan(a) && nan(b));
}

TEST_P(ConvertKernelsTest, DecodeEveryPattern) {
  if (skip()) GTEST_SKIP() << "CPU lacks " << isa_name(GetParam());
  const ConvertKernels k = table();
  std::vector<uint16_t> in(65536);
  for (uint32_t i = 0; i < in.size(); ++i) in[i] = static_cast<uint16_t>(i);
  std::vector<float> out(in.size());
  k.f16_to_f32(in.data(), out.data(), in.size());
  for (uint32_t i = 0; i < in.size(); ++i) {
    const float ref = f16_to_f32(in[i]);
    if (std::isnan(ref)) ASSERT_TRUE(std::isnan(out[i])) << i;
    else ASSERT_EQ(std::bit_cast<uint32_t>(out[i]), std::bit_cast<uint32_t>(ref)) << i;
  }
  k.bf16_to_f32(in.data(), out.data(), in.size());
  for (uint32_t i = 0; i < in.size(); ++i) {
    const float ref = bf16_to_f32(in[i]);
    ASSERT_EQ(std::bit_cast<uint32_t>(out[i]), std::bit_cast<uint32_t>(ref)) << i;  // bf16 keeps payloads
  }
}

TEST_P(ConvertKernelsTest, EncodeMatchesReference) {
  if (skip()) GTEST_SKIP() << "CPU lacks " << isa_name(GetParam());
  const ConvertKernels k = table();
  const std::vector<float> in = sample_f32();
  std::vector<uint16_t> out(in.size());
  k.f32_to_f16(in.data(), out.data(), in.size());
  for (size_t i = 0; i < in.size(); ++i)
    ASSERT_TRUE(same_or_both_nan16(out[i], f32_to_f16(in[i]), false)) << "f16, f32 bits 0x" << std::hex
                                                                       << std::bit_cast<uint32_t>(in[i]);
  k.f32_to_bf16(in.data(), out.data(), in.size());
  for (size_t i = 0; i < in.size(); ++i)
    ASSERT_EQ(out[i], f32_to_bf16(in[i])) << "bf16, f32 bits 0x" << std::hex << std::bit_cast<uint32_t>(in[i]);
}

TEST_P(ConvertKernelsTest, EveryTailLength) {
  if (skip()) GTEST_SKIP() << "CPU lacks " << isa_name(GetParam());
  const ConvertKernels k = table();
  for (size_t n : {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 255, 257}) {
    std::vector<float> in(n), back(n + 1, -7.0f);
    for (size_t i = 0; i < n; ++i) in[i] = static_cast<float>(i) * 0.37f - 5.0f;
    std::vector<uint16_t> h(n + 1, 0xABCD);
    k.f32_to_f16(in.data(), h.data(), n);
    EXPECT_EQ(h[n], 0xABCD) << "wrote past the end, n=" << n;
    k.f16_to_f32(h.data(), back.data(), n);
    EXPECT_EQ(back[n], -7.0f) << "wrote past the end, n=" << n;
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(back[i], f16_to_f32(f32_to_f16(in[i])));
    k.f32_to_bf16(in.data(), h.data(), n);
    k.bf16_to_f32(h.data(), back.data(), n);
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(back[i], bf16_to_f32(f32_to_bf16(in[i])));
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, ConvertKernelsTest, ::testing::Values(Isa::Scalar, Isa::Avx2, Isa::Avx512),
                         [](const auto& p) { return std::string(isa_name(p.param)); });

TEST(ConvertDispatch, ActiveTableIsTheActiveIsa) { EXPECT_EQ(convert_kernels().isa, active_isa()); }

}  // namespace
}  // namespace qforge::kernels
