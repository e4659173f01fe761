// Fast scalar f32 → narrow-float encoders and decoders, one template for every format
// narrower than f32 (f16, bf16, f8_e4m3, f8_e5m2, fp4_e2m1). encode_exact() in
// float_format.h is their specification; tests compare the two on every boundary.
#pragma once

#include <bit>
#include <cstdint>

#include "qforge/float_format.h"

namespace qforge::detail {

// Round-to-nearest-even encode of an f32 into format F. Needs the default FP rounding
// mode and no flush-to-zero (the subnormal path relies on an exact float addition).
template <FloatFormat F>
inline uint32_t encode_from_f32(float x, Overflow overflow) {
  static_assert(F.man_bits < 23 && F.exp_bits <= 8, "format must be narrower than f32");
  constexpr int kDrop = 23 - F.man_bits;
  constexpr uint32_t kSign = static_cast<uint32_t>(F.sign_bit());
  constexpr uint32_t kMaxFinite = static_cast<uint32_t>(F.max_finite_bits());
  constexpr uint32_t kAllExp = (1u << F.exp_bits) - 1;
  constexpr uint32_t kNaN = F.nan_style == NanStyle::FiniteOnly
                                ? ((kAllExp << F.man_bits) | ((1u << F.man_bits) - 1))
                                : ((kAllExp << F.man_bits) | (1u << (F.man_bits - 1)));
  constexpr uint32_t kInf = kAllExp << F.man_bits;
  // f32 bit pattern of the target's smallest normal, 2^(1-bias).
  constexpr uint32_t kMinNormalF32 = static_cast<uint32_t>(127 + 1 - F.bias) << 23;
  // Adding 2^(emin - man_bits + 23) rounds a subnormal to the target's subnormal grid.
  constexpr uint32_t kDenormMagicBits = static_cast<uint32_t>(127 + 1 - F.bias + kDrop) << 23;

  const uint32_t u = std::bit_cast<uint32_t>(x);
  const uint32_t sign = (u >> 31) ? kSign : 0;
  const uint32_t a = u & 0x7FFFFFFFu;
  const uint32_t on_overflow =
      (overflow == Overflow::Saturate || F.nan_style == NanStyle::None)
          ? kMaxFinite
          : (F.nan_style == NanStyle::Ieee ? kInf : kNaN);
  if (a > 0x7F800000u) return F.has_nan() ? (sign | kNaN) : sign;  // NaN
  if (a == 0x7F800000u) return sign | on_overflow;                  // ±Inf
  uint32_t m;
  if (a < kMinNormalF32) {
    const float magic = std::bit_cast<float>(kDenormMagicBits);
    m = std::bit_cast<uint32_t>(std::bit_cast<float>(a) + magic) - kDenormMagicBits;
  } else {
    // Rebias the exponent, then add half an ulp minus one plus the lsb: ties go to even.
    const uint32_t odd = (a >> kDrop) & 1u;
    const uint32_t rebias = static_cast<uint32_t>(F.bias - 127) << 23;  // wraps: modular add
    // Cannot wrap: bias <= 127 keeps the sum in (0, 2^32); too-large exponents carry
    // into bits above the format and fail the max-finite test below.
    m = (a + rebias + ((1u << (kDrop - 1)) - 1) + odd) >> kDrop;
  }
  if (m > kMaxFinite) return sign | on_overflow;
  return sign | m;
}

// Exact decode of a narrow format into f32.
template <FloatFormat F>
inline float decode_to_f32(uint32_t bits) {
  static_assert(F.man_bits < 23 && F.exp_bits <= 8, "format must be narrower than f32");
  constexpr int kDrop = 23 - F.man_bits;
  constexpr uint32_t kAllExp = (1u << F.exp_bits) - 1;
  constexpr uint32_t kManMask = (1u << F.man_bits) - 1;
  static_assert(F.bias <= 127, "format's exponent range must fit in f32's");
  if constexpr (F.exp_bits == 8) {
    // bf16-like: the same exponent field as f32, so the pattern is a truncated f32
    // (NaN payloads keep their top bits; subnormals stay subnormals).
    return std::bit_cast<float>(bits << (31 - F.exp_bits - F.man_bits));
  }
  const uint32_t sign = (bits & static_cast<uint32_t>(F.sign_bit())) ? 0x80000000u : 0u;
  const uint32_t e = (bits >> F.man_bits) & kAllExp;
  const uint32_t m = bits & kManMask;
  if constexpr (F.nan_style == NanStyle::Ieee) {
    // Inf, or NaN (made quiet: keep the payload's top bits, set f32's quiet bit)
    if (e == kAllExp) return std::bit_cast<float>(sign | 0x7F800000u | (m << kDrop) | (m ? 0x400000u : 0u));
  } else if constexpr (F.nan_style == NanStyle::FiniteOnly) {
    if (e == kAllExp && m == kManMask) return std::bit_cast<float>(sign | 0x7FC00000u);
  }
  if (e == 0) {
    // subnormal (or zero): m · 2^(1 − bias − man_bits), exact in f32
    const float mag = static_cast<float>(m) *
                      std::bit_cast<float>(static_cast<uint32_t>(127 + 1 - F.bias - F.man_bits) << 23);
    return std::bit_cast<float>(sign | std::bit_cast<uint32_t>(mag));
  }
  return std::bit_cast<float>(sign | ((e + 127 - F.bias) << 23) | (m << kDrop));
}

}  // namespace qforge::detail
