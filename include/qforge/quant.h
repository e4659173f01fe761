// Linear quantization r = s·(q − z): the scheme (QScheme), the parameters it produces
// (QParams), and quantize / dequantize over a tensor. docs/linear-quantization.md derives it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "qforge/tensor.h"

namespace qforge {

enum class QMode : uint8_t {
  Affine,     // s = (r_max − r_min)/(q_max − q_min), z = round(q_min − r_min/s)
  Symmetric,  // z = 0 (signed codes) or 2^(b−1) (unsigned codes), s from max|r|
};
enum class SymRange : uint8_t {
  Restricted,  // codes ±(2^(b−1) − 1): s = max|r| / q_max, the range is symmetric
  Full,        // codes [−2^(b−1), 2^(b−1) − 1]: s = max|r| / ((q_max − q_min)/2), PyTorch's rule
};
enum class Granularity : uint8_t { PerTensor, PerChannel, PerGroup };
enum class Rounding : uint8_t { HalfEven, HalfAway };
// A codebook replaces the integer grid: r = s·c[q], s = max|r| / max|c| per group.
enum class Codebook : uint8_t { None, NF4, FP4_E2M1 };
enum class PartialGroup : uint8_t { Reject, Allow };

struct QScheme {
  int bits = 8;                  // 1..8
  bool is_signed = true;         // signed codes [−2^(b−1), 2^(b−1)−1], else [0, 2^b−1]
  QMode mode = QMode::Symmetric;
  SymRange sym_range = SymRange::Restricted;
  bool include_zero = true;      // affine: widen [r_min, r_max] to contain 0 (PyTorch, GPTQ)
  bool reduce_range = false;     // one bit less, as pre-VNNI x86 int8 kernels need
  Granularity granularity = Granularity::PerTensor;
  int axis = 0;                  // PerChannel: the axis that gets its own (s, z); negative counts from the end
  int64_t group_size = 0;        // PerGroup: G consecutive elements along the last (input) axis
  PartialGroup partial_group = PartialGroup::Reject;
  Rounding rounding = Rounding::HalfEven;
  Codebook codebook = Codebook::None;

  int effective_bits() const { return reduce_range ? bits - 1 : bits; }
  int32_t qmin() const;  // smallest code (codebooks: 0)
  int32_t qmax() const;  // largest code (codebooks: 15)
  int32_t levels() const { return qmax() - qmin() + 1; }
  bool has_zero_point() const { return codebook == Codebook::None; }
  void validate() const;      // throws Error(InvalidArgument) naming the bad field
  std::string describe() const;  // e.g. "u8 affine per-channel(axis 0) half-even"

  static QScheme symmetric(int bits, Granularity g = Granularity::PerTensor);
  static QScheme affine(int bits, bool is_signed = false, Granularity g = Granularity::PerTensor);
  static QScheme grouped(int bits, int64_t group_size, QMode mode);
  static QScheme nf4(int64_t block = 64);
  static QScheme fp4_e2m1(int64_t block = 32);
};

struct ScaleZero {
  float scale = 1;
  int32_t zero_point = 0;
};

// One (s, z) per cell of a grid: {} per tensor, {C} per channel, {rows, groups} per group.
struct QParams {
  Shape shape;
  std::vector<float> scale;
  std::vector<int32_t> zero_point;  // empty for codebook schemes

  size_t size() const { return scale.size(); }
  ScaleZero at(size_t i) const { return {scale[i], zero_point.empty() ? 0 : zero_point[i]}; }
};

// (s, z) for one observed range. Degenerate ranges are defined: an all-zero range gives
// s = 0 (every code is z and dequantizes to exactly 0); a constant c ≠ 0 is handled by
// widening the range to include 0, so c lands exactly on an end code.
ScaleZero choose_scale_zero(float rmin, float rmax, const QScheme& scheme);

// Shape of the parameter grid for a tensor of this shape, validating the scheme against it.
Shape qparams_shape(const Shape& shape, const QScheme& scheme);
// Index into the parameter grid for every element (row-major), computed once.
std::vector<uint32_t> qparams_index(const Shape& shape, const QScheme& scheme);

// Observes min/max (or max|r|) per grid cell and chooses the parameters.
// NaN or Inf in x throws Error(Numeric) naming `name` and the element index.
QParams choose_qparams(std::span<const float> x, const Shape& shape, const QScheme& scheme,
                       std::string_view name = "tensor");

int32_t quantize_value(float r, ScaleZero sz, const QScheme& scheme);
float dequantize_value(int32_t q, ScaleZero sz, const QScheme& scheme);

// Codes are returned unpacked, one int32 per element, in [qmin, qmax].
std::vector<int32_t> quantize(std::span<const float> x, const Shape& shape, const QScheme& scheme,
                              const QParams& params);
std::vector<float> dequantize(std::span<const int32_t> q, const Shape& shape, const QScheme& scheme,
                              const QParams& params);

// Rounding of x to an integer with the scheme's tie rule.
float round_with(float x, Rounding mode);

}  // namespace qforge
