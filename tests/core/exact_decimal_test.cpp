#include <gtest/gtest.h>

#include <bit>
#include <cstdint>

#include "core/exact_decimal.h"
#include "qforge/error.h"
#include "qforge/float_format.h"

namespace qforge {
namespace {

uint64_t as_f64(const char* s) { return encode_exact(parse_exact_value(s), kFormatF64, Overflow::InfOrNan); }
uint64_t as_f32(const char* s) { return encode_exact(parse_exact_value(s), kFormatF32, Overflow::InfOrNan); }

TEST(ExactDecimal, AgreesWithCorrectlyRoundedDoubles) {
  EXPECT_EQ(as_f64("1/3"), std::bit_cast<uint64_t>(1.0 / 3.0));
  EXPECT_EQ(as_f64("0.1"), 0x3FB999999999999Aull);
  EXPECT_EQ(as_f64("-2.5e-3"), std::bit_cast<uint64_t>(-2.5e-3));
  EXPECT_EQ(as_f64("1e308"), std::bit_cast<uint64_t>(1e308));
  EXPECT_EQ(as_f64("4.9406564584124654e-324"), 1u);  // smallest subnormal
  EXPECT_EQ(as_f64("1e-400"), 0u);
  EXPECT_EQ(as_f64("1e400"), 0x7FF0000000000000ull);
  EXPECT_EQ(as_f64("22/7"), std::bit_cast<uint64_t>(22.0 / 7.0));
  EXPECT_EQ(as_f64("2.5/0.5"), std::bit_cast<uint64_t>(5.0));
  EXPECT_EQ(as_f64("0"), 0u);
  EXPECT_EQ(as_f64("-0"), 0x8000000000000000ull);
  EXPECT_EQ(as_f64("-inf"), 0xFFF0000000000000ull);
  EXPECT_EQ(as_f64(".5"), std::bit_cast<uint64_t>(0.5));
}

// 1 + 2^-24 + 2^-60 lies just above an f32 midpoint. Through a double it would first
// round to 1 + 2^-24 (the midpoint itself) and then tie to 1.0: double rounding.
TEST(ExactDecimal, RoundsOnceNotTwice) {
  const char* x = "1.000000059604644776257986737988403547205962240695953369140625";
  EXPECT_EQ(as_f32(x), 0x3F800001u);
  const auto via_double = static_cast<float>(std::bit_cast<double>(as_f64(x)));
  EXPECT_EQ(std::bit_cast<uint32_t>(via_double), 0x3F800000u);  // the wrong answer we avoid
}

TEST(ExactDecimal, RejectsGarbageWithAMessage) {
  for (const char* bad : {"", "abc", "1/0", "1.2.3", "1e", "--1", "1/-3", "0x10", "1e99999"}) {
    try {
      parse_exact_value(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find("cannot read"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace qforge
