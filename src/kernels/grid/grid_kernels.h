// Kernel family "grid": matmuls over a weight matrix on one of qforge's own grids (integer with
// a zero point or a float minimum, 2–8 bits, any group size that is a multiple of 8; NF4;
// ternary; fp8 e4m3), reading the packed codes as the checkpoint stores them and decoding each
// run of 8 weights to f32 in registers. Every weight decodes to exactly the value
// dequantize_packed gives, and every dot follows the f32 dot's spec (dot_kernels.h: eight lane
// accumulators over the whole 8s, reduce8, then the leftovers one fma at a time), so a result
// equals the f32 kernel's on the dequantized matrix bit for bit, on every ISA and tile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "qforge/cpu.h"

namespace qforge::kernels {

// How a group's codes become values (c = the stored code, 0 ≤ c < 2^bits):
enum class GridCodec : uint8_t {
  IntShift,  // scale·float(c + shift): integer zero points, shift = qmin − zero (ternary too)
  IntMin,    // scale·float(c) + min: float minimums (Q4_1's form), the product rounded, then the sum
  NF4,       // scale·nf4[c]
  Fp8,       // scale·e4m3(c)
};

// One matrix as the kernels read it. Codes: each row `code_row_bytes` apart, c LSB-first in
// `bits` bits, with at least 8 readable bytes after the last row. Per group (row-major, groups
// of `group` columns; the last one of a row may be shorter): an f32 scale, and the shift or the
// minimum the codec uses.
struct GridMatrix {
  GridCodec codec = GridCodec::IntShift;
  int bits = 4;
  int64_t rows = 0, cols = 0;
  int64_t group = 0;  // a multiple of 8 (or cols: one group per row)
  int64_t groups_per_row = 0;
  const uint8_t* codes = nullptr;
  size_t code_row_bytes = 0;
  const float* scales = nullptr;
  const int32_t* shifts = nullptr;  // IntShift
  const float* mins = nullptr;      // IntMin
};

// y[t·ldy + r] = W[row0 + r] · x_t for r < rows, t < n (x: n tokens of cols floats).
struct GridArgs {
  const GridMatrix* w;
  int64_t row0, rows;
  const float* x;
  int64_t n;
  float* y;
  int64_t ldy;
};

struct GridKernels {
  Isa isa;
  void (*matmul)(const GridArgs&);
};

const GridKernels& grid_kernels();
std::optional<GridKernels> grid_kernels_for(Isa isa);
GridKernels grid_kernels_scalar();
GridKernels grid_kernels_avx2();

}  // namespace qforge::kernels
