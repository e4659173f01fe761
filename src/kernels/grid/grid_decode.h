// One weight of a GridMatrix decoded on its own, straight from the packed bits: the spec's
// decode, and the AVX2 file's for leftover columns. The unnamed namespace keeps each
// translation unit's copy its own (they are compiled with different ISA flags).
#pragma once

#include <cstdint>

#include "kernels/grid/grid_kernels.h"
#include "qforge/codebook.h"
#include "qforge/float_convert.h"

namespace qforge::kernels {
namespace {

inline uint32_t grid_code(const GridMatrix& w, int64_t r, int64_t c) {
  const uint8_t* row = w.codes + static_cast<size_t>(r) * w.code_row_bytes;
  const auto bit = static_cast<uint64_t>(c) * static_cast<uint64_t>(w.bits);
  const uint32_t two = row[bit / 8] | (bit % 8 + static_cast<uint64_t>(w.bits) > 8 ? uint32_t{row[bit / 8 + 1]} << 8 : 0u);
  return (two >> (bit % 8)) & ((1u << w.bits) - 1);
}

// The value of `code` in group g (row-major over the matrix) whose scale is `scale`.
inline float grid_code_value(const GridMatrix& w, size_t g, float scale, uint32_t code) {
  switch (w.codec) {
    case GridCodec::IntShift: return scale * static_cast<float>(static_cast<int32_t>(code) + w.shifts[g]);
    case GridCodec::IntMin: return scale * static_cast<float>(code) + w.mins[g];
    case GridCodec::NF4: return scale * nf4_values()[code & 15];
    case GridCodec::Fp8: return scale * f8_e4m3_to_f32(static_cast<uint8_t>(code));
  }
  return 0.0f;
}

inline float grid_value(const GridMatrix& w, int64_t r, int64_t c) {
  const auto g = static_cast<size_t>(r * w.groups_per_row + c / w.group);
  return grid_code_value(w, g, w.scales[g], grid_code(w, r, c));
}

}  // namespace
}  // namespace qforge::kernels
