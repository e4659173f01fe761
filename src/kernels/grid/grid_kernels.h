// Kernel family "grid": matmuls over a weight matrix on one of qforge's own grids (integer with
// a zero point or a float minimum, 2–8 bits, any group size that is a multiple of 8; NF4;
// ternary; fp8 e4m3), reading the packed codes as the checkpoint stores them and decoding each
// run of 8 weights to f32 in registers. Every weight decodes to exactly the value
// dequantize_packed gives, and every dot follows the f32 dot's spec (dot_kernels.h: eight lane
// accumulators over the whole 8s, reduce8, then the leftovers one fma at a time), so a result
// equals the f32 kernel's on the dequantized matrix bit for bit, on every ISA and tile.
// Integer grids of whole 32-blocks also have an integer path (int8 activations, below), which
// the engine prefers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "kernels/dot/dot_kernels.h"
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

// ---- The integer path --------------------------------------------------------------------
// Integer grids (zero points or float minimums, 2–8 bits) whose groups are whole 32-element
// blocks, against activations quantized to BlockA8 like the GGUF block formats: a weight is
// s·c + m (c the code as stored below, s and m its group's f32 scale and minimum), and
//   per group g:  inner[k] = fma(d_a, lane[k], inner[k]) over its blocks (lane k = the exact
//                 int32 Σ c·q_a over elements 4k..4k+3 of the block), then
//                 acc[k] = fma(s, inner[k], acc[k]);  mins += m·(Σ_blocks s_a, in block order)
//   y = reduce8(acc) + mins
// — Q4_1's arithmetic with the group's scale and minimum applied once per group, not per
// block (a group of G = 128 pays one scale product per 4 blocks). The repacked form keeps
// the checkpoint's bits per code (4·bits bytes per 32) but lays each block out as planes that
// unpack to bytes in element order with a few shifts:
//   nibbles (16 B): byte j holds bits 0–3 of element j (low nibble) and of element j + 16;
//   pairs (8 B): byte j holds 2 bits of element j + 8m at bits 2m..2m+1 (m = 0..3);
//   one bit (4 B): bit j of the little-endian word is element j's top bit;
// 2 bits: pairs; 3: pairs + one bit; 4: nibbles; 5: nibbles + one bit; 6: nibbles + pairs (bits
// 4–5); 7: nibbles + pairs + one bit; 8: the codes as int8 c − 128 (maddubs needs |c| ≤ 128
// for pair sums to fit int16; so o = 128 there and the minimum takes o·s).
//
// Level grids (NF4): 4-bit codes index 16 signed int8 levels L[c], |L| ≤ 127 (NF4's values
// times 127, rounded: nf4_int8_levels), and a weight is s·L[c]/127 — the sums above with L[c]
// for c, no minimum, and y = reduce8(acc) / 127. The levels move NF4's values by at most
// 0.5/127 of the group's absmax (docs/kernels.md measures what that costs a model).
struct IntGridMatrix {
  int bits = 4;                  // 2..8
  int64_t rows = 0, cols = 0;    // cols a multiple of 32
  int64_t group_blocks = 0;      // blocks of 32 per group
  int64_t groups_per_row = 0;
  const uint8_t* codes = nullptr;  // cols/32 blocks of 4·bits bytes per row
  size_t row_bytes = 0;
  const float* scales = nullptr;   // per group, row-major
  const float* mins = nullptr;     // per group: m (with o·s for 8 bits); nullptr on level grids
  const int8_t* levels = nullptr;  // a 4-bit level grid's 16 levels; nullptr: the code itself
};

// A level grid's weight is s·L[c] / kLevelDenominator.
inline constexpr float kLevelDenominator = 127.0f;
// NF4's 16 values times 127, each rounded to the nearest integer.
const int8_t* nf4_int8_levels();

// y[t·ldy + r] = W[row0 + r] · x_t for r < rows, t < n (x: n tokens of cols/32 blocks).
struct IntGridArgs {
  const IntGridMatrix* w;
  int64_t row0, rows;
  const BlockA8* x;
  int64_t n;
  float* y;
  int64_t ldy;
};

inline constexpr size_t int_grid_block_bytes(int bits) { return static_cast<size_t>(4 * bits); }
// The stored offset o of a width: codes are kept as c − o.
inline constexpr int int_grid_offset(int bits) { return bits == 8 ? 128 : 0; }
// 32 codes (each < 2^bits, element order) written as one repacked block.
void pack_int_grid_block(const uint8_t* codes, int bits, uint8_t* out);
// Element i of a repacked block, c − o, read by index from the planes (the spec's reader).
int int_grid_weight(const uint8_t* block, int bits, int i);

struct GridKernels {
  Isa isa;
  void (*matmul)(const GridArgs&);
  void (*int_matmul)(const IntGridArgs&);
};

const GridKernels& grid_kernels();
std::optional<GridKernels> grid_kernels_for(Isa isa);
GridKernels grid_kernels_scalar();
GridKernels grid_kernels_avx2();
GridKernels grid_kernels_avx_vnni();      // AVX-VNNI: the integer path on VEX vpdpbusd
GridKernels grid_kernels_avx512_vnni();  // AVX-512 with VNNI: the integer path on vpdpbusd
// The integer path's AVX2 matmul (its own translation unit).
void int_grid_matmul_avx2(const IntGridArgs& a);

}  // namespace qforge::kernels
