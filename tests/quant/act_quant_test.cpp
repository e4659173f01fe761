// W8A8 linear references: a hand-worked example, agreement with the dequantized product
// computed independently in double, static ranges with zero points and clipping, and
// LLM.int8()'s decomposition (outlier columns exact, the rest int8).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>

#include "kernels/w8a8/w8a8_kernels.h"
#include "qforge/act_quant.h"
#include "qforge/error.h"

namespace qforge {
namespace {

std::vector<float> randn(size_t n, uint32_t seed, float sd = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

TEST(ActQuant, HandWorkedDynamicInt8) {
  // s_w = 2/127 and 0.5/127; 1/(2/127) = 63.5 and 0.25/(0.5/127) = 63.5 round to even, 64.
  const Int8Weights w = quantize_weights_int8(std::vector<float>{1, -2, 0.5f, 0.25f}, 2, 2);
  EXPECT_EQ(w.q, (std::vector<int8_t>{64, -127, 127, 64}));
  std::vector<float> y(2);
  linear_dynamic_int8(w, std::vector<float>{1, 1}, 1, y);  // s_x = 1/127, q_x = 127, 127
  EXPECT_FLOAT_EQ(y[0], 2.0f * (64 - 127) / 127);  // −0.99213 (float: −1)
  EXPECT_FLOAT_EQ(y[1], 0.5f * (127 + 64) / 127);  // 0.75197 (float: 0.75)
}

// y = x̂·Ŵᵀ in double from the dequantized operands, for any rule mapping a row of x to x̂.
template <class Deq>
std::vector<double> reference(const Int8Weights& w, const std::vector<float>& x, int64_t n, Deq deq) {
  std::vector<double> y(static_cast<size_t>(n * w.rows));
  for (int64_t t = 0; t < n; ++t) {
    const std::vector<double> xh = deq(&x[static_cast<size_t>(t * w.cols)]);
    for (int64_t o = 0; o < w.rows; ++o) {
      double s = 0;
      for (int64_t j = 0; j < w.cols; ++j) s += xh[static_cast<size_t>(j)] * w.value(o, j);
      y[static_cast<size_t>(t * w.rows + o)] = s;
    }
  }
  return y;
}

// A token's row rounded as dynamic quantization with codes ±qmax does, in double: s = max|x| / qmax.
auto dynamic_rounding(int64_t in, float qmax) {
  return [in, qmax](const float* r) {
    float amax = 0;
    for (int64_t j = 0; j < in; ++j) amax = std::max(amax, std::fabs(r[j]));
    std::vector<double> v(static_cast<size_t>(in));
    for (int64_t j = 0; j < in; ++j) v[static_cast<size_t>(j)] = (amax / qmax) * std::nearbyint(r[j] / (amax / qmax));
    return v;
  };
}

void expect_close(const std::vector<float>& y, const std::vector<double>& want, double rel) {
  double scale = 0;
  for (double v : want) scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], want[i], rel * scale) << i;
}

TEST(ActQuant, DynamicAndStaticEqualTheirDequantizedProducts) {
  const int64_t n = 7, in = 67, out = 13;
  const Int8Weights w = quantize_weights_int8(randn(static_cast<size_t>(out * in), 1, 0.05f), out, in);
  const std::vector<float> x = randn(static_cast<size_t>(n * in), 2);
  std::vector<float> y(static_cast<size_t>(n * out));
  linear_dynamic_int8(w, x, n, y);
  expect_close(y, reference(w, x, n, dynamic_rounding(in, 127)), 1e-6);
  // static, asymmetric with a zero point, over a range that clips part of x
  for (const QScheme& scheme : {QScheme::affine(8), QScheme::symmetric(8)}) {
    SCOPED_TRACE(scheme.describe());
    const ScaleZero act = choose_scale_zero(-1.5f, 2.5f, scheme);
    linear_static_int8(w, x, n, act, scheme, y);
    expect_close(y, reference(w, x, n, [&](const float* r) {
                   std::vector<double> v(static_cast<size_t>(in));
                   for (int64_t j = 0; j < in; ++j)
                     v[static_cast<size_t>(j)] = dequantize_value(quantize_value(r[j], act, scheme), act, scheme);
                   return v;
                 }), 1e-6);
  }
  EXPECT_THROW(linear_static_int8(w, x, n, {}, QScheme::symmetric(4), y), Error);
  EXPECT_THROW(linear_dynamic_int8(w, x, n - 1, y), Error);
}

// Codes that fit the byte kernel (7-bit codes of reduce_range on any table; every 8-bit scheme
// where it takes 256 codes, VNNI's) also travel as bytes q − low; its sums plus low·Σw are the
// int16 kernel's exactly, so y is the same bit for bit. Dynamic 7-bit codes are ±63 at
// s = max|x| / 63 and equal their dequantized product.
TEST(ActQuant, CodesThatFitTheByteKernelRunOnItWithTheSameResult) {
  const int64_t n = 5, in = 131, out = 9;  // 131: leftover depth past the whole 32s
  const Int8Weights w = quantize_weights_int8(randn(static_cast<size_t>(out * in), 3, 0.05f), out, in);
  std::vector<float> x = randn(static_cast<size_t>(n * in), 4);
  x[7] = 40.0f;  // an outlier column for llm-int8
  ActQuantSpec dynamic7;
  dynamic7.mode = ActMode::Dynamic;
  dynamic7.scheme.reduce_range = true;
  ActQuantSpec static7;
  static7.mode = ActMode::Static;
  static7.scheme = QScheme::affine(8);
  static7.scheme.reduce_range = true;
  static7.act = choose_scale_zero(-1.5f, 2.5f, static7.scheme);
  ActQuantSpec static7s = static7;
  static7s.scheme = QScheme::symmetric(8);
  static7s.scheme.reduce_range = true;
  static7s.act = choose_scale_zero(-2.0f, 2.0f, static7s.scheme);
  ActQuantSpec dynamic8 = dynamic7;
  dynamic8.scheme.reduce_range = false;
  ActQuantSpec static8 = static7;
  static8.scheme.reduce_range = false;
  static8.act = choose_scale_zero(-1.5f, 2.5f, static8.scheme);
  ActQuantSpec llm = dynamic8;
  llm.mode = ActMode::LlmInt8;
  const bool wide = kernels::w8a8_kernels().u8_codes == 256;
  for (const auto& [spec, fits] : {std::pair{dynamic7, true}, std::pair{static7, true}, std::pair{static7s, true},
                                   std::pair{dynamic8, wide}, std::pair{static8, wide}, std::pair{llm, wide}}) {
    SCOPED_TRACE(std::string(act_mode_name(spec.mode)) + " " + spec.scheme.describe());
    QuantizedActivations a = quantize_activations(spec, x, n, in);
    ASSERT_EQ(a.u8.size(), fits ? a.q.size() : 0);
    if (!fits) continue;
    for (size_t i = 0; i < a.q.size(); ++i) ASSERT_EQ(a.u8[i] + a.u8_low, a.q[i]) << i;
    std::vector<float> bytes(static_cast<size_t>(n * out)), wide16(bytes.size());
    w8a8_rows(w, a, x, 0, out, bytes);
    a.u8.clear();  // the int16 kernel on the same codes
    w8a8_rows(w, a, x, 0, out, wide16);
    for (size_t i = 0; i < bytes.size(); ++i) ASSERT_EQ(std::bit_cast<uint32_t>(bytes[i]), std::bit_cast<uint32_t>(wide16[i])) << i;
  }
  const QuantizedActivations a = quantize_activations(dynamic7, x, n, in);
  for (const int16_t q : a.q) ASSERT_LE(std::abs(q), 63);
  std::vector<float> y(static_cast<size_t>(n * out));
  w8a8_rows(w, a, x, 0, out, y);
  expect_close(y, reference(w, x, n, dynamic_rounding(in, 63)), 1e-6);
}

TEST(ActQuant, LlmInt8KeepsOutlierColumnsExact) {
  const int64_t n = 16, in = 64, out = 24;
  const std::vector<float> wf = randn(static_cast<size_t>(out * in), 3, 0.05f);
  const Int8Weights w = quantize_weights_int8(wf, out, in);
  std::vector<float> x = randn(static_cast<size_t>(n * in), 4);
  for (int64_t t = 0; t < n; ++t) {  // two outlier features, 40–60× the others, as LLM.int8() describes
    x[static_cast<size_t>(t * in + 5)] *= 60;
    x[static_cast<size_t>(t * in + 40)] *= 40;
  }
  std::vector<float> y(static_cast<size_t>(n * out)), yd(y.size()), big(y.size());
  // no outliers at an infinite threshold: the dynamic int8 product
  EXPECT_EQ(linear_llm_int8(w, x, n, INFINITY, y), 0);
  linear_dynamic_int8(w, x, n, yd);
  EXPECT_EQ(y, yd);
  // every column an outlier: x·Ŵᵀ in float
  EXPECT_EQ(linear_llm_int8(w, x, n, 0, y), in);
  expect_close(y, reference(w, x, n, [&](const float* r) { return std::vector<double>(r, r + in); }), 1e-5);
  // threshold 6 (the paper's): the two outlier columns
  EXPECT_EQ(linear_llm_int8(w, x, n, 6, y), 2);
  // outlier columns are exact: y is linear in them with the dequantized weights as slope
  std::vector<float> x2 = x;
  for (int64_t t = 0; t < n; ++t) x2[static_cast<size_t>(t * in + 5)] += 1.0f;
  linear_llm_int8(w, x2, n, 6, big);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t o = 0; o < out; ++o)
      ASSERT_NEAR(big[static_cast<size_t>(t * out + o)] - y[static_cast<size_t>(t * out + o)], w.value(o, 5), 1e-4) << t << "," << o;
  // and the decomposition beats plain dynamic int8 against the float layer
  double e_llm = 0, e_dyn = 0;
  linear_dynamic_int8(w, x, n, yd);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t o = 0; o < out; ++o) {
      double f = 0;
      for (int64_t j = 0; j < in; ++j) f += static_cast<double>(x[static_cast<size_t>(t * in + j)]) * wf[static_cast<size_t>(o * in + j)];
      e_llm += std::pow(y[static_cast<size_t>(t * out + o)] - f, 2);
      e_dyn += std::pow(yd[static_cast<size_t>(t * out + o)] - f, 2);
    }
  EXPECT_LT(e_llm, 0.2 * e_dyn) << "llm.int8 " << e_llm << " dynamic " << e_dyn;
}

}  // namespace
}  // namespace qforge
