// The four-row interleaved layout of Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K and Q6_K (dot_kernels.h's
// BlockQ8_0x4 … BlockQ6_Kx4) and the activation blocks its kernels read: plain data movement,
// the same for every ISA. Writers still produce GGUF rows; the engine interleaves them once at load.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/dot/dot_kernels.h"
#include "qforge/ggml_types.h"

namespace qforge::kernels {

// Whether `t` runs interleaved (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q6_K).
bool runs_interleaved(GgmlType t);

// The table's matmul kernel for interleaved rows of type t, one of those whose activations go
// per 32 (all but Q4_K, whose kernel is MatmulKernels::q4_kx4).
Matmul4Kernel interleaved_kernel(const MatmulKernels& mm, GgmlType t);

// Bytes of one group of four rows of k columns (k a multiple of the type's block).
size_t interleaved_group_bytes(GgmlType t, int64_t k);

// `rows` GGUF rows of type t (k columns, row_bytes apart) into ⌈rows/4⌉ groups at out
// (interleaved_group_bytes each); the rows of a last partial group are zero blocks.
void interleave_rows(GgmlType t, const uint8_t* rows, int64_t nrows, int64_t k, uint8_t* out);

// Row r of interleaved groups back as a GGUF row (ggml_row_bytes(t, k) bytes at out).
void extract_row(GgmlType t, const uint8_t* groups, int64_t r, int64_t k, uint8_t* out);

// nb activation blocks of one token, expanded for the interleaved kernels.
void expand_a8x4(const BlockA8* a, BlockA8x4* out, int64_t nb);

// nsb super-blocks of one token's activations, expanded for the Q4_K kernels.
void expand_a8kx4(const BlockA8K* a, BlockA8Kx4* out, int64_t nsb);

// Where byte j (0..15) of row r's GGUF qs sits in the interleaved qs.
constexpr int interleaved_pos(int r, int j) { return 32 * (j / 8) + 16 * ((j / 4) % 2) + 4 * r + j % 4; }
// The unpacked register (0..3) that holds element i (0..31) of a block: byte i mod 16, its low
// nibble for i < 16, its high one after.
constexpr int interleaved_register(int i) { return 2 * ((i % 16) / 8) + i / 16; }

// BlockQ4_Kx4's entries of row r, sub-block j in its scale order and its minimum order.
constexpr int q4_kx4_scale_entry(int r, int j) { return 4 * j + r; }
constexpr int q4_kx4_min_entry(int r, int j) { return 16 * ((j % 4) / 2) + 2 * (r + 4 * (j / 4)) + j % 2; }

}  // namespace qforge::kernels
