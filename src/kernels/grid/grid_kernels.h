// Kernel family "grid": matmuls over a weight matrix on one of qforge's own grids (integer with
// a zero point or a float minimum, 2–8 bits, any group size that is a multiple of 8; NF4;
// ternary; fp8 e4m3), reading the packed codes as the checkpoint stores them and decoding each
// run of 8 weights to f32 in registers. Every weight decodes to exactly the value
// dequantize_packed gives, and every dot follows the f32 dot's spec (dot_kernels.h: eight lane
// accumulators over the whole 8s, reduce8, then the leftovers one fma at a time), so a result
// equals the f32 kernel's on the dequantized matrix bit for bit, on every ISA and tile.
// Except fp8: its codes' own values times 2^−8 (exact: what an f16 with the code's fields
// holds) go into the eight lanes per group, and the group's scale comes once per lane:
//   inner[k] = fma(x_i, e4m3(c_i)·2^−8, inner[k]) over the group's whole 8s (k = i mod 8),
//   acc[k] = fma(s, inner[k]·256, acc[k]);   y = reduce8(acc), then the leftovers as above
// — one product by s per group and lane instead of one per weight (within rounding of the
// dequantized matrix's dot, not bit-equal to it).
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
  bool nan_codes = false;           // Fp8: some code is 0x7F or 0xFF (NaN), which the kernels then map
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
// s·c + m (c the code as stored below, s and m its group's f32 scale and minimum), and, per
// row, the two halves h of each block (the elements i with bit 2 of i equal to h, as the
// interleaved GGUF formats' spec: dot_kernels.h):
//   per group g:  inner[h] = fma(d_a, half_h, inner[h]) over its blocks (half_h the exact
//                 int32 Σ c·q_a over the half's 16 elements), then
//                 acc[h] = fma(s, inner[h], acc[h]);  mins += m·(Σ_blocks s_a, in block order)
//   y = (acc[0] + acc[1]) + mins
// — Q4_1's arithmetic with the group's scale and minimum applied once per group, not per
// block (a group of G = 128 pays one scale product per 4 blocks).
//
// Rows go in groups of four, interleaved like Q8_0's (interleaved4.h): a record of 32 columns
// holds the four rows' codes at the checkpoint's bits (16·bits bytes), as planes that unpack
// with a few shifts into four registers, register K holding element i of row r at byte
// interleaved_pos(r, i mod 16) mod 32 for the i with interleaved_register(i) = K — where
// expand_a8x4 puts activation code i, so one dot gives the four rows' halves in eight lanes
// and one convert and one FMA serve the four rows:
//   nibbles (64 B): bits 0–3 at byte interleaved_pos(r, i mod 16), low nibble for i < 16;
//   pairs (32 B): 2 bits at byte p of the register's position, bits 2K..2K+1;
//   one bit (16 B): bit p of the 32-bit word K;
// 2 bits: pairs; 3: pairs + one bit; 4: nibbles; 5: nibbles + one bit; 6: nibbles + pairs (bits
// 4–5); 7: nibbles + pairs + one bit; 8: the codes as int8 c − 128 at byte 32·K + p (maddubs
// needs |c| ≤ 128 for pair sums to fit int16; so o = 128 there and the minimum takes o·s).
// Each row group's scales and minima are stored four rows side by side: [row group][g][row].
//
// Level grids (NF4): 4-bit codes index 16 signed int8 levels L[c], |L| ≤ 127 (NF4's values
// times 127, rounded: nf4_int8_levels), and a weight is s·L[c]/127 — the sums above with L[c]
// for c, no minimum, and y = (acc[0] + acc[1]) / 127. The levels move NF4's values by at most
// 0.5/127 of the group's absmax (docs/kernels.md measures what that costs a model).
struct IntGridMatrix {
  int bits = 4;                  // 2..8
  int64_t rows = 0, cols = 0;    // cols a multiple of 32
  int64_t group_blocks = 0;      // blocks of 32 per group
  int64_t groups_per_row = 0;
  const uint8_t* codes = nullptr;  // ⌈rows/4⌉ row groups of cols/32 records (16·bits bytes)
  size_t row_group_bytes = 0;
  const float* scales = nullptr;   // [row group][g][4]; a last group's missing rows: 0
  const float* mins = nullptr;     // the same: m (with o·s for 8 bits); nullptr on level grids
  const int8_t* levels = nullptr;  // a 4-bit level grid's 16 levels; nullptr: the code itself
};

// A level grid's weight is s·L[c] / kLevelDenominator.
inline constexpr float kLevelDenominator = 127.0f;
// NF4's 16 values times 127, each rounded to the nearest integer.
const int8_t* nf4_int8_levels();

// y[t·ldy + r] = W[row0 + r] · x_t for r < rows, t < n (x: n tokens of cols/32 blocks, as
// expand_a8x4 writes them); row0 a multiple of 4.
struct IntGridArgs {
  const IntGridMatrix* w;
  int64_t row0, rows;
  const BlockA8x4* x;
  int64_t n;
  float* y;
  int64_t ldy;
};

// Bytes of one record: 32 columns of four rows.
inline constexpr size_t int_grid_record_bytes(int bits) { return static_cast<size_t>(16 * bits); }
// The stored offset o of a width: codes are kept as c − o.
inline constexpr int int_grid_offset(int bits) { return bits == 8 ? 128 : 0; }
// Index of row r's parameter of group g in IntGridMatrix::scales and ::mins.
inline constexpr size_t int_grid_param(int64_t r, int64_t g, int64_t groups_per_row) {
  return static_cast<size_t>(((r / 4) * groups_per_row + g) * 4 + r % 4);
}
// Four rows' 32 codes each (codes[32·r + i], each < 2^bits) written as one record.
void pack_int_grid_record(const uint8_t* codes, int bits, uint8_t* out);
// Element i of row r (0..3) of a record, c − o, read by index from the planes (the spec's reader).
int int_grid_weight(const uint8_t* record, int bits, int r, int i);

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
