#include "qforge/float_format.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace qforge {

ExactValue exact_from_bits(uint64_t bits, FloatFormat f) {
  ExactValue v;
  v.negative = (bits & f.sign_bit()) != 0;
  const uint64_t man_mask = (uint64_t{1} << f.man_bits) - 1;
  const uint64_t all_exp = (uint64_t{1} << f.exp_bits) - 1;
  const uint64_t e = (bits >> f.man_bits) & all_exp;
  const uint64_t m = bits & man_mask;
  if (is_nan_bits(bits, f)) {
    v.kind = ExactValue::Kind::NaN;
    return v;
  }
  if (f.nan_style == NanStyle::Ieee && e == all_exp) {
    v.kind = ExactValue::Kind::Inf;
    return v;
  }
  if (e == 0 && m == 0) {
    v.kind = ExactValue::Kind::Zero;
    return v;
  }
  // significand as an integer times 2^(unbiased exponent − man_bits)
  const uint64_t sig = e == 0 ? m : (m | (uint64_t{1} << f.man_bits));
  const int e_unb = (e == 0 ? 1 : static_cast<int>(e)) - f.bias;
  const int lead = 63 - std::countl_zero(sig);  // position of the leading one
  v.kind = ExactValue::Kind::Finite;
  v.mant = sig << (63 - lead);
  v.exp = e_unb - f.man_bits + lead;
  return v;
}

ExactValue exact_from_double(double x) {
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return exact_from_bits(bits, kFormatF64);
}

bool is_nan_bits(uint64_t bits, FloatFormat f) {
  const uint64_t man_mask = (uint64_t{1} << f.man_bits) - 1;
  const uint64_t all_exp = (uint64_t{1} << f.exp_bits) - 1;
  const uint64_t e = (bits >> f.man_bits) & all_exp;
  const uint64_t m = bits & man_mask;
  switch (f.nan_style) {
    case NanStyle::Ieee: return e == all_exp && m != 0;
    case NanStyle::FiniteOnly: return e == all_exp && m == man_mask;
    case NanStyle::None: return false;
  }
  return false;
}

namespace {

uint64_t canonical_nan(FloatFormat f) {
  const uint64_t all_exp = (uint64_t{1} << f.exp_bits) - 1;
  if (f.nan_style == NanStyle::FiniteOnly) return (all_exp << f.man_bits) | ((uint64_t{1} << f.man_bits) - 1);
  // quiet NaN: top mantissa bit set
  return (all_exp << f.man_bits) | (uint64_t{1} << (f.man_bits - 1));
}

uint64_t overflow_result(FloatFormat f, Overflow overflow) {
  if (overflow == Overflow::Saturate || f.nan_style == NanStyle::None) return f.max_finite_bits();
  if (f.nan_style == NanStyle::Ieee) return ((uint64_t{1} << f.exp_bits) - 1) << f.man_bits;
  return canonical_nan(f);
}

}  // namespace

uint64_t encode_exact(const ExactValue& v, FloatFormat f, Overflow overflow) {
  const uint64_t sign = v.negative ? f.sign_bit() : 0;
  switch (v.kind) {
    case ExactValue::Kind::Zero: return sign;
    case ExactValue::Kind::NaN: return sign | (f.has_nan() ? canonical_nan(f) : 0);
    case ExactValue::Kind::Inf: return sign | overflow_result(f, overflow);
    case ExactValue::Kind::Finite: break;
  }
  const int p = f.man_bits;
  const int emin = f.min_exponent();
  // Bits of mant to drop so that what remains has the target's precision at this exponent.
  int64_t shift = 63 - p;
  if (v.exp < emin) shift += emin - v.exp;  // subnormal: fewer bits survive
  uint64_t kept, guard;
  bool rest;
  if (shift >= 65) {
    kept = 0; guard = 0; rest = true;  // below half the smallest subnormal
  } else if (shift == 64) {
    kept = 0; guard = v.mant >> 63; rest = (v.mant << 1) != 0 || v.sticky;
  } else {
    kept = v.mant >> shift;
    guard = (v.mant >> (shift - 1)) & 1;
    rest = (v.mant & ((uint64_t{1} << (shift - 1)) - 1)) != 0 || v.sticky;
  }
  if (guard && (rest || (kept & 1))) ++kept;
  uint64_t magnitude;
  if (v.exp < emin) {
    // Subnormal: exponent field 0; a carry into bit p lands exactly on the smallest normal.
    magnitude = kept;
  } else {
    int e = v.exp;
    if (kept >> (p + 1)) {  // rounding carried out of the significand
      kept >>= 1;
      ++e;
    }
    const int64_t biased = static_cast<int64_t>(e) + f.bias;
    const int64_t max_field = (int64_t{1} << f.exp_bits) - 1;
    if (biased > max_field) return sign | overflow_result(f, overflow);
    magnitude = (static_cast<uint64_t>(biased) << p) | (kept & ((uint64_t{1} << p) - 1));
  }
  if (magnitude > f.max_finite_bits()) return sign | overflow_result(f, overflow);
  return sign | magnitude;
}

double decode_bits(uint64_t bits, FloatFormat f) {
  const ExactValue v = exact_from_bits(bits, f);
  switch (v.kind) {
    case ExactValue::Kind::Zero: return v.negative ? -0.0 : 0.0;
    case ExactValue::Kind::NaN: return std::numeric_limits<double>::quiet_NaN();
    case ExactValue::Kind::Inf: return v.negative ? -HUGE_VAL : HUGE_VAL;
    case ExactValue::Kind::Finite: break;
  }
  // mant has at most 53 significant bits for every format here, so this is exact.
  const double m = std::ldexp(static_cast<double>(v.mant >> 11), v.exp - 52);
  return v.negative ? -m : m;
}

}  // namespace qforge
