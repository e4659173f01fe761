// The fast f32 codecs (core/small_float.h) against the exact encoder (the spec), every
// bit pattern of every narrow format, and the ties at every midpoint.
#include <gtest/gtest.h>

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <string>

#include "core/small_float.h"
#include "qforge/error.h"
#include "qforge/float_convert.h"
#include "qforge/float_format.h"

namespace qforge {
namespace {

struct Codec {
  const char* name;
  FloatFormat f;
  uint32_t (*enc)(float, Overflow);
  float (*dec)(uint32_t);
};

template <FloatFormat F>
Codec make(const char* name) {
  return {name, F, &detail::encode_from_f32<F>, &detail::decode_to_f32<F>};
}

const Codec kCodecs[] = {make<kFormatF16>("f16"), make<kFormatBF16>("bf16"), make<kFormatF8E4M3>("f8_e4m3"),
                         make<kFormatF8E5M2>("f8_e5m2"), make<kFormatFP4E2M1>("fp4_e2m1")};

uint32_t patterns(const FloatFormat& f) { return 1u << f.total_bits(); }

uint32_t spec_encode(float x, const FloatFormat& f, Overflow o) {
  return static_cast<uint32_t>(encode_exact(exact_from_double(x), f, o));
}

bool is_nan(uint32_t p, const FloatFormat& f) { return is_nan_bits(p, f); }

TEST(FloatCodec, EveryPatternDecodesExactly) {
  for (const Codec& c : kCodecs) {
    SCOPED_TRACE(c.name);
    for (uint32_t p = 0; p < patterns(c.f); ++p) {
      const double spec = decode_bits(p, c.f);
      const float fast = c.dec(p);
      if (std::isnan(spec)) {
        ASSERT_TRUE(std::isnan(fast)) << p;
      } else {
        ASSERT_EQ(static_cast<double>(fast), spec) << "pattern " << p;
        ASSERT_EQ(std::signbit(fast), std::signbit(spec)) << "pattern " << p;
      }
    }
  }
}

TEST(FloatCodec, EveryNonNanPatternRoundTrips) {
  for (const Codec& c : kCodecs) {
    SCOPED_TRACE(c.name);
    int nans = 0;
    for (uint32_t p = 0; p < patterns(c.f); ++p) {
      if (is_nan(p, c.f)) {
        ++nans;
        ASSERT_TRUE(is_nan(c.enc(c.dec(p), Overflow::InfOrNan), c.f)) << "NaN must stay NaN, pattern " << p;
        continue;
      }
      ASSERT_EQ(c.enc(c.dec(p), Overflow::InfOrNan), p) << "fast, pattern " << p;
      ASSERT_EQ(c.enc(c.dec(p), Overflow::Saturate) , c.f.has_inf() && std::isinf(c.dec(p))
                                                           ? (p & c.f.sign_bit()) | c.f.max_finite_bits()
                                                           : p)
          << "fast saturating, pattern " << p;
      ASSERT_EQ(encode_exact(exact_from_bits(p, c.f), c.f, Overflow::InfOrNan), p) << "spec, pattern " << p;
    }
    // NaN encodings per format: IEEE 2·(2^m − 1) per exponent-all-ones, e4m3fn just ±0x7F.
    const int want_nans = c.f.nan_style == NanStyle::Ieee         ? 2 * ((1 << c.f.man_bits) - 1)
                          : c.f.nan_style == NanStyle::FiniteOnly ? 2
                                                                  : 0;
    EXPECT_EQ(nans, want_nans);
  }
}

// Between neighbours a < b the midpoint goes to the one with the even pattern, and the
// floats just either side of the midpoint go to the nearer one.
TEST(FloatCodec, MidpointsTieToEven) {
  for (const Codec& c : kCodecs) {
    SCOPED_TRACE(c.name);
    const uint32_t max = static_cast<uint32_t>(c.f.max_finite_bits());
    for (uint32_t p = 0; p < max; ++p) {
      for (uint32_t sign : {0u, static_cast<uint32_t>(c.f.sign_bit())}) {
        const double a = decode_bits(p | sign, c.f), b = decode_bits((p + 1) | sign, c.f);
        const auto mid = static_cast<float>((a + b) / 2);  // exact: one more bit than the format has
        ASSERT_EQ(static_cast<double>(mid), (a + b) / 2);
        const uint32_t even = ((p & 1) ? p + 1 : p) | sign;
        for (Overflow o : {Overflow::InfOrNan, Overflow::Saturate}) {
          ASSERT_EQ(c.enc(mid, o), even) << "fast tie between " << a << " and " << b;
          ASSERT_EQ(spec_encode(mid, c.f, o), even) << "spec tie between " << a << " and " << b;
          const float below = std::nextafter(mid, static_cast<float>(a));
          const float above = std::nextafter(mid, static_cast<float>(b));
          ASSERT_EQ(c.enc(below, o), p | sign) << "just past the midpoint toward " << a;
          ASSERT_EQ(c.enc(above, o), (p + 1) | sign) << "just past the midpoint toward " << b;
          ASSERT_EQ(spec_encode(below, c.f, o), p | sign);
          ASSERT_EQ(spec_encode(above, c.f, o), (p + 1) | sign);
        }
      }
    }
  }
}

// Above the largest finite value: the tie at max + ulp/2 and everything beyond.
TEST(FloatCodec, OverflowFollowsThePolicy) {
  for (const Codec& c : kCodecs) {
    SCOPED_TRACE(c.name);
    const uint32_t max = static_cast<uint32_t>(c.f.max_finite_bits());
    const double vmax = decode_bits(max, c.f);
    const double half_ulp = std::ldexp(1.0, std::ilogb(vmax) - c.f.man_bits - 1);
    const auto tie = static_cast<float>(vmax + half_ulp);
    const uint32_t inf_or_nan = c.f.nan_style == NanStyle::Ieee ? ((1u << c.f.exp_bits) - 1) << c.f.man_bits
                                : c.f.nan_style == NanStyle::FiniteOnly ? (max | 1u)
                                                                        : max;
    // max's pattern is odd for IEEE formats (all-ones mantissa), even for e4m3fn (…110),
    // so the tie overflows for the first and stays at max for the second.
    const uint32_t tie_result = (max & 1) ? inf_or_nan : max;
    EXPECT_EQ(c.enc(tie, Overflow::InfOrNan), tie_result);
    EXPECT_EQ(c.enc(std::nextafter(tie, 0.0f), Overflow::InfOrNan), max);
    EXPECT_EQ(c.enc(std::nextafter(tie, INFINITY), Overflow::InfOrNan), inf_or_nan);
    EXPECT_EQ(c.enc(std::nextafter(tie, INFINITY), Overflow::Saturate), max);
    EXPECT_EQ(c.enc(FLT_MAX, Overflow::Saturate), max);
    EXPECT_EQ(c.enc(-FLT_MAX, Overflow::Saturate), max | static_cast<uint32_t>(c.f.sign_bit()));
    EXPECT_EQ(c.enc(INFINITY, Overflow::Saturate), max);
    EXPECT_EQ(c.enc(INFINITY, Overflow::InfOrNan), inf_or_nan);
    EXPECT_EQ(spec_encode(std::nextafter(tie, INFINITY), c.f, Overflow::InfOrNan), inf_or_nan);
    EXPECT_EQ(spec_encode(INFINITY, c.f, Overflow::Saturate), max);
  }
}

// The fast path and the spec agree on ~4M f32 patterns spread over every exponent, and on
// the neighbourhood of every boundary where rounding changes binade.
TEST(FloatCodec, FastMatchesSpecOnSampledF32) {
  for (const Codec& c : kCodecs) {
    SCOPED_TRACE(c.name);
    auto check = [&](uint32_t u) {
      const float x = std::bit_cast<float>(u);
      for (Overflow o : {Overflow::InfOrNan, Overflow::Saturate}) {
        const uint32_t fast = c.enc(x, o), spec = spec_encode(x, c.f, o);
        if (std::isnan(x) && !c.f.has_nan()) continue;  // callers reject NaN for fp4
        ASSERT_EQ(fast, spec) << "f32 bits 0x" << std::hex << u;
      }
    };
    for (uint64_t u = 0; u <= 0xFFFFFFFFu; u += 1021) check(static_cast<uint32_t>(u));
    for (uint32_t p = 0; p < patterns(c.f); ++p) {
      const float v = c.dec(p);
      if (std::isnan(v)) continue;
      const uint32_t u = std::bit_cast<uint32_t>(v);
      for (int d = -3; d <= 3; ++d) check(u + static_cast<uint32_t>(d));
    }
  }
}

TEST(FloatCodec, KnownValues) {
  EXPECT_EQ(f32_to_f16(1.0f / 3.0f), 0x3555);
  EXPECT_EQ(f16_to_f32(0x3555), 0.333251953125f);
  EXPECT_EQ(f32_to_bf16(1.0f / 3.0f), 0x3EAB);
  EXPECT_EQ(bf16_to_f32(0x3EAB), 0.333984375f);
  EXPECT_EQ(f32_to_f16(0.1f), 0x2E66);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);  // tie above max goes to Inf (max is odd)
  EXPECT_EQ(f32_to_f16(5.9604645e-08f), 0x0001);
  EXPECT_EQ(f32_to_f16(2.9802322e-08f), 0x0000);  // exactly half the smallest subnormal: tie to 0
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3F808000u)), 0x3F80);  // tie, even stays
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3F818000u)), 0x3F82);  // tie, odd rounds up
  EXPECT_EQ(f32_to_f8_e4m3(448.0f, Overflow::InfOrNan), 0x7E);
  EXPECT_EQ(f32_to_f8_e4m3(464.0f, Overflow::InfOrNan), 0x7E);  // tie to the even 448
  EXPECT_EQ(f32_to_f8_e4m3(465.0f, Overflow::InfOrNan), 0x7F);  // NaN: e4m3fn has no Inf
  EXPECT_EQ(f32_to_f8_e4m3(465.0f, Overflow::Saturate), 0x7E);
  EXPECT_EQ(f32_to_f8_e4m3(-1000.0f, Overflow::Saturate), 0xFE);
  EXPECT_EQ(f32_to_f8_e4m3(0.001953125f, Overflow::InfOrNan), 0x01);  // smallest subnormal
  EXPECT_EQ(f8_e4m3_to_f32(0x01), 0.001953125f);
  EXPECT_TRUE(std::isnan(f8_e4m3_to_f32(0x7F)));
  EXPECT_TRUE(std::isnan(f8_e4m3_to_f32(0xFF)));
  EXPECT_EQ(f32_to_f8_e5m2(57344.0f, Overflow::InfOrNan), 0x7B);
  EXPECT_EQ(f32_to_f8_e5m2(61440.0f, Overflow::InfOrNan), 0x7C);  // tie above max: Inf
  EXPECT_EQ(f32_to_f8_e5m2(61440.0f, Overflow::Saturate), 0x7B);
  EXPECT_EQ(f8_e5m2_to_f32(0x7C), INFINITY);
  EXPECT_TRUE(std::isnan(f8_e5m2_to_f32(0x7D)));
  EXPECT_EQ(f32_to_f8_e5m2(NAN, Overflow::Saturate) & 0x7F, 0x7E);  // NaN stays NaN when saturating
  EXPECT_EQ(f32_to_f8_e4m3(NAN, Overflow::Saturate) & 0x7F, 0x7F);
  EXPECT_EQ(fp4_e2m1_to_f32(f32_to_fp4_e2m1(0.75f)), 1.0f);  // tie between 0.5 (odd) and 1.0 (even)
  EXPECT_EQ(fp4_e2m1_to_f32(f32_to_fp4_e2m1(5.0f)), 4.0f);   // tie between 4 (even) and 6 (odd)
  EXPECT_EQ(fp4_e2m1_to_f32(f32_to_fp4_e2m1(100.0f)), 6.0f);
}

TEST(FloatCodec, RoundTripHelper) {
  EXPECT_EQ(round_trip_f32(1.0f / 3.0f, DType::bf16), 0.333984375f);
  EXPECT_EQ(round_trip_f32(1000.0f, DType::f8_e4m3, Overflow::Saturate), 448.0f);
  EXPECT_TRUE(std::isnan(round_trip_f32(1000.0f, DType::f8_e4m3)));
  EXPECT_THROW(round_trip_f32(1.0f, DType::i8), Error);
}

}  // namespace
}  // namespace qforge
