// Binary floating-point formats described by their bit fields, and the exact
// round-to-nearest-even encoder that is the specification for every conversion.
#pragma once

#include <cstdint>

namespace qforge {

// How a format spends its all-ones exponent field.
enum class NanStyle : uint8_t {
  Ieee,        // all-ones exponent: Inf (mantissa 0) or NaN (f16, bf16, f32, f64, f8_e5m2)
  FiniteOnly,  // no Inf; only S.1111.111 is NaN, the rest of that binade are normals (f8_e4m3fn)
  None,        // no Inf, no NaN: every pattern is a number (fp4_e2m1)
};

struct FloatFormat {
  int exp_bits;
  int man_bits;
  int bias;
  NanStyle nan_style;

  constexpr int total_bits() const { return 1 + exp_bits + man_bits; }
  constexpr int min_exponent() const { return 1 - bias; }  // exponent of the smallest normal
  // Largest finite magnitude pattern (sign bit clear).
  constexpr uint64_t max_finite_bits() const {
    const uint64_t all_exp = (uint64_t{1} << exp_bits) - 1;
    const uint64_t all_man = (uint64_t{1} << man_bits) - 1;
    switch (nan_style) {
      case NanStyle::Ieee: return ((all_exp - 1) << man_bits) | all_man;
      case NanStyle::FiniteOnly: return (all_exp << man_bits) | (all_man - 1);
      case NanStyle::None: return (all_exp << man_bits) | all_man;
    }
    return 0;
  }
  constexpr uint64_t sign_bit() const { return uint64_t{1} << (exp_bits + man_bits); }
  constexpr bool has_inf() const { return nan_style == NanStyle::Ieee; }
  constexpr bool has_nan() const { return nan_style != NanStyle::None; }
};

inline constexpr FloatFormat kFormatF64{11, 52, 1023, NanStyle::Ieee};
inline constexpr FloatFormat kFormatF32{8, 23, 127, NanStyle::Ieee};
inline constexpr FloatFormat kFormatF16{5, 10, 15, NanStyle::Ieee};
inline constexpr FloatFormat kFormatBF16{8, 7, 127, NanStyle::Ieee};
inline constexpr FloatFormat kFormatF8E4M3{4, 3, 7, NanStyle::FiniteOnly};
inline constexpr FloatFormat kFormatF8E5M2{5, 2, 15, NanStyle::Ieee};
inline constexpr FloatFormat kFormatFP4E2M1{2, 1, 1, NanStyle::None};

// What happens to a finite value whose rounded magnitude exceeds the format's maximum,
// and to ±Inf when the format has no Inf.
enum class Overflow : uint8_t {
  Saturate,   // clamp to ±max finite (Inf inputs too); NaN stays NaN
  InfOrNan,   // IEEE behaviour: ±Inf where the format has it, NaN where it does not
};

// A real number held exactly enough to round correctly into any format of up to 62
// mantissa bits: value = (-1)^negative · mant · 2^(exp − 63), mant normalized (bit 63 set),
// sticky = some nonzero bits lie below mant.
struct ExactValue {
  enum class Kind : uint8_t { Zero, Finite, Inf, NaN };
  Kind kind = Kind::Zero;
  bool negative = false;
  uint64_t mant = 0;
  int exp = 0;
  bool sticky = false;
};

ExactValue exact_from_double(double x);
ExactValue exact_from_bits(uint64_t bits, FloatFormat f);

// The reference encoder: correctly rounded (ties to even) with subnormals.
// NaN gives the format's canonical quiet NaN with NaN's sign; formats without NaN (fp4_e2m1)
// give ±0, so callers must reject NaN first (QScheme's quantize does).
uint64_t encode_exact(const ExactValue& v, FloatFormat f, Overflow overflow);

// Exact value of a bit pattern (every format here fits in a double exactly).
double decode_bits(uint64_t bits, FloatFormat f);
bool is_nan_bits(uint64_t bits, FloatFormat f);

}  // namespace qforge
