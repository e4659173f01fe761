#include "core/exact_decimal.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "qforge/error.h"

namespace qforge {
namespace {

// Just enough unsigned big-integer arithmetic for one long division.
class BigUint {
 public:
  explicit BigUint(uint32_t v = 0) {
    if (v) limbs_.push_back(v);
  }
  bool is_zero() const { return limbs_.empty(); }
  void mul_add(uint32_t m, uint32_t a) {
    uint64_t carry = a;
    for (auto& l : limbs_) {
      const uint64_t t = uint64_t{l} * m + carry;
      l = static_cast<uint32_t>(t);
      carry = t >> 32;
    }
    if (carry) limbs_.push_back(static_cast<uint32_t>(carry));
  }
  int64_t bit_length() const {
    if (limbs_.empty()) return 0;
    return 32 * static_cast<int64_t>(limbs_.size() - 1) + (32 - std::countl_zero(limbs_.back()));
  }
  BigUint shifted_left(int64_t bits) const {
    BigUint r;
    if (is_zero()) return r;
    const auto words = static_cast<size_t>(bits / 32);
    const int rem = static_cast<int>(bits % 32);
    r.limbs_.assign(words, 0);
    uint32_t carry = 0;
    for (uint32_t l : limbs_) {
      r.limbs_.push_back((l << rem) | carry);
      carry = rem ? l >> (32 - rem) : 0;
    }
    if (carry) r.limbs_.push_back(carry);
    return r;
  }
  friend int compare(const BigUint& a, const BigUint& b) {
    if (a.limbs_.size() != b.limbs_.size()) return a.limbs_.size() < b.limbs_.size() ? -1 : 1;
    for (size_t i = a.limbs_.size(); i-- > 0;)
      if (a.limbs_[i] != b.limbs_[i]) return a.limbs_[i] < b.limbs_[i] ? -1 : 1;
    return 0;
  }
  friend BigUint multiply(const BigUint& a, const BigUint& b) {
    BigUint r;
    if (a.is_zero() || b.is_zero()) return r;
    r.limbs_.assign(a.limbs_.size() + b.limbs_.size(), 0);
    for (size_t i = 0; i < a.limbs_.size(); ++i) {
      uint64_t carry = 0;
      for (size_t j = 0; j < b.limbs_.size(); ++j) {
        const uint64_t t = uint64_t{a.limbs_[i]} * b.limbs_[j] + r.limbs_[i + j] + carry;
        r.limbs_[i + j] = static_cast<uint32_t>(t);
        carry = t >> 32;
      }
      r.limbs_[i + b.limbs_.size()] = static_cast<uint32_t>(carry);
    }
    while (!r.limbs_.empty() && r.limbs_.back() == 0) r.limbs_.pop_back();
    return r;
  }
  void subtract(const BigUint& b) {  // requires *this >= b
    int64_t borrow = 0;
    for (size_t i = 0; i < limbs_.size(); ++i) {
      int64_t t = int64_t{limbs_[i]} - borrow - (i < b.limbs_.size() ? int64_t{b.limbs_[i]} : 0);
      borrow = t < 0;
      if (t < 0) t += int64_t{1} << 32;
      limbs_[i] = static_cast<uint32_t>(t);
    }
    while (!limbs_.empty() && limbs_.back() == 0) limbs_.pop_back();
  }

 private:
  std::vector<uint32_t> limbs_;
};

constexpr int kMaxExponent10 = 9999;

[[noreturn]] void fail(std::string_view text, const std::string& why) {
  throw Error(ErrorCategory::InvalidArgument,
              "cannot read '" + std::string(text) + "' as a number: " + why +
                  " (write a decimal such as 0.1 or -2.5e-3, a ratio such as 1/3, inf or nan)");
}

// A decimal literal as num/den.
struct Ratio {
  BigUint num, den{1};
};

Ratio parse_decimal(std::string_view s, std::string_view whole) {
  Ratio r;
  size_t i = 0;
  bool any_digit = false;
  int64_t exp10 = 0;
  for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, any_digit = true)
    r.num.mul_add(10, static_cast<uint32_t>(s[i] - '0'));
  if (i < s.size() && s[i] == '.') {
    for (++i; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, any_digit = true) {
      r.num.mul_add(10, static_cast<uint32_t>(s[i] - '0'));
      --exp10;
    }
  }
  if (!any_digit) fail(whole, "no digits");
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool neg = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    int64_t e = 0;
    bool digits = false;
    for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, digits = true) {
      e = e * 10 + (s[i] - '0');
      if (e > kMaxExponent10) fail(whole, "exponent beyond ±" + std::to_string(kMaxExponent10));
    }
    if (!digits) fail(whole, "missing exponent digits");
    exp10 += neg ? -e : e;
  }
  if (i != s.size()) fail(whole, "unexpected '" + std::string(s.substr(i)) + "'");
  if (exp10 < -kMaxExponent10 - 1000 || exp10 > kMaxExponent10) fail(whole, "exponent out of range");
  for (; exp10 > 0; --exp10) r.num.mul_add(10, 0);
  for (; exp10 < 0; ++exp10) r.den.mul_add(10, 0);
  return r;
}

}  // namespace

ExactValue parse_exact_value(std::string_view text) {
  if (text.size() > 2000) fail(text.substr(0, 20), "literal longer than 2000 characters");
  std::string_view s = text;
  ExactValue v;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    v.negative = s[0] == '-';
    s.remove_prefix(1);
  }
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "inf" || lower == "infinity") {
    v.kind = ExactValue::Kind::Inf;
    return v;
  }
  if (lower == "nan") {
    v.kind = ExactValue::Kind::NaN;
    return v;
  }
  Ratio r;
  const size_t slash = s.find('/');
  if (slash == std::string_view::npos) {
    r = parse_decimal(s, text);
  } else {
    const Ratio a = parse_decimal(s.substr(0, slash), text);
    const Ratio b = parse_decimal(s.substr(slash + 1), text);
    if (b.num.is_zero()) fail(text, "division by zero");
    r.num = multiply(a.num, b.den);  // (a.num/a.den) / (b.num/b.den)
    r.den = multiply(a.den, b.num);
  }
  if (r.num.is_zero()) {
    v.kind = ExactValue::Kind::Zero;
    return v;
  }
  // Find e with 2^e ≤ num/den < 2^(e+1).
  int64_t e = r.num.bit_length() - r.den.bit_length();
  auto scaled_num = [&](int64_t shift) { return shift >= 0 ? r.num.shifted_left(shift) : r.num; };
  auto scaled_den = [&](int64_t shift) { return shift >= 0 ? r.den : r.den.shifted_left(-shift); };
  if (compare(scaled_num(-e), scaled_den(-e)) < 0) --e;
  // mant = floor(num·2^(63−e)/den), 64 quotient bits by shift-and-subtract.
  BigUint n = scaled_num(63 - e), d = scaled_den(63 - e);
  uint64_t mant = 0;
  for (int bit = 63; bit >= 0; --bit) {
    const BigUint ds = d.shifted_left(bit);
    if (compare(n, ds) >= 0) {
      n.subtract(ds);
      mant |= uint64_t{1} << bit;
    }
  }
  v.kind = ExactValue::Kind::Finite;
  v.mant = mant;
  v.exp = static_cast<int>(e);
  v.sticky = !n.is_zero();
  return v;
}

}  // namespace qforge
