#include "qforge/codebook.h"

#include "qforge/error.h"
#include "qforge/float_convert.h"

namespace qforge {

const std::array<float, 16>& nf4_values() {
  // Normal-distribution quantiles with an exact zero; bitsandbytes functional.py.
  static const std::array<float, 16> v = {
      -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
      -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
      0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
      0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f};
  return v;
}

const std::array<float, 16>& fp4_e2m1_values() {
  static const std::array<float, 16> v = [] {
    std::array<float, 16> t{};
    for (uint8_t i = 0; i < 16; ++i) t[i] = fp4_e2m1_to_f32(i);
    return t;
  }();
  return v;
}

const std::array<float, 16>& codebook_values(Codebook cb) {
  switch (cb) {
    case Codebook::NF4: return nf4_values();
    case Codebook::FP4_E2M1: return fp4_e2m1_values();
    case Codebook::None: break;
  }
  throw Error(ErrorCategory::InvalidArgument, "codebook_values: scheme has no codebook; supported: nf4, fp4_e2m1");
}

float codebook_absmax(Codebook cb) { return cb == Codebook::FP4_E2M1 ? 6.0f : 1.0f; }

uint8_t codebook_nearest(float x, Codebook cb) {
  if (cb == Codebook::FP4_E2M1) return f32_to_fp4_e2m1(x);
  const auto& v = codebook_values(cb);
  // The values ascend, so the answer is the number of midpoints strictly below x.
  uint8_t q = 0;
  for (uint8_t i = 0; i + 1 < 16; ++i)
    if (x > 0.5f * (v[i] + v[i + 1])) q = static_cast<uint8_t>(i + 1);
  return q;
}

}  // namespace qforge
