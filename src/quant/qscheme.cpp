// QScheme: code ranges, validation and a readable description.
#include <string>

#include "qforge/error.h"
#include "qforge/quant.h"

namespace qforge {

int32_t QScheme::qmin() const {
  if (codebook != Codebook::None) return 0;
  const int b = effective_bits();
  if (!is_signed) return mode == QMode::Symmetric && sym_range == SymRange::Restricted ? 1 : 0;
  const int32_t half = int32_t{1} << (b - 1);
  return mode == QMode::Symmetric && sym_range == SymRange::Restricted ? -(half - 1) : -half;
}

int32_t QScheme::qmax() const {
  if (codebook != Codebook::None) return 15;
  const int b = effective_bits();
  return is_signed ? (int32_t{1} << (b - 1)) - 1 : (int32_t{1} << b) - 1;
}

void QScheme::validate() const {
  auto bad = [](const std::string& m) { throw Error(ErrorCategory::InvalidArgument, "QScheme: " + m); };
  if (bits < 1 || bits > 8) bad("bits = " + std::to_string(bits) + " is outside the supported 1..8");
  if (codebook != Codebook::None) {
    if (bits != 4) bad("codebook schemes (nf4, fp4_e2m1) use 4-bit codes, got bits = " + std::to_string(bits));
    if (reduce_range) bad("reduce_range does not apply to codebook schemes");
  } else {
    if (effective_bits() < 1) bad("reduce_range needs at least 2 bits");
    if (mode == QMode::Symmetric && effective_bits() < 2)
      bad("symmetric quantization needs at least 2 bits (1 bit has no symmetric grid); use affine");
  }
  if (granularity == Granularity::PerGroup && group_size < 1)
    bad("per-group granularity needs group_size >= 1, got " + std::to_string(group_size));
}

std::string QScheme::describe() const {
  std::string s;
  if (codebook == Codebook::NF4) s = "nf4";
  else if (codebook == Codebook::FP4_E2M1) s = "fp4_e2m1";
  else {
    s = is_signed ? "i" : "u";
    s += std::to_string(bits);
    s += mode == QMode::Affine ? " affine" : " symmetric";
    if (mode == QMode::Symmetric) s += sym_range == SymRange::Restricted ? "(restricted)" : "(full)";
    if (mode == QMode::Affine && !include_zero) s += "(zero not forced)";
    if (reduce_range) s += " reduce_range";
  }
  switch (granularity) {
    case Granularity::PerTensor: s += " per-tensor"; break;
    case Granularity::PerChannel: s += " per-channel(axis " + std::to_string(axis) + ")"; break;
    case Granularity::PerGroup: s += " per-group(G=" + std::to_string(group_size) + ")"; break;
  }
  if (codebook == Codebook::None) s += rounding == Rounding::HalfEven ? " half-even" : " half-away";
  return s;
}

QScheme QScheme::symmetric(int bits, Granularity g) {
  QScheme s;
  s.bits = bits;
  s.mode = QMode::Symmetric;
  s.granularity = g;
  return s;
}

QScheme QScheme::affine(int bits, bool is_signed, Granularity g) {
  QScheme s;
  s.bits = bits;
  s.is_signed = is_signed;
  s.mode = QMode::Affine;
  s.granularity = g;
  return s;
}

QScheme QScheme::grouped(int bits, int64_t group_size, QMode mode) {
  QScheme s;
  s.bits = bits;
  s.mode = mode;
  s.is_signed = mode == QMode::Symmetric;
  s.granularity = Granularity::PerGroup;
  s.group_size = group_size;
  return s;
}

QScheme QScheme::nf4(int64_t block) {
  QScheme s;
  s.bits = 4;
  s.codebook = Codebook::NF4;
  s.granularity = Granularity::PerGroup;
  s.group_size = block;
  return s;
}

QScheme QScheme::fp4_e2m1(int64_t block) {
  QScheme s = nf4(block);
  s.codebook = Codebook::FP4_E2M1;
  return s;
}

}  // namespace qforge
