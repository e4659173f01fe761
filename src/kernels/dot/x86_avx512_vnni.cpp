// AVX-512 VNNI dot kernels (compiled with AVX-512 + VNNI flags only): the AVX2 tiles of the
// integer formats, written once in x86_block_tile.h, x86_interleaved_tile.h and
// x86_superblock_tile.h, with the byte dot product on 256-bit vpdpbusd (AVX512-VL) — u8 × s8
// products summed four at a time into int32 lanes in one instruction, where AVX2 takes
// maddubs, madd and an add — and the super-block scales' multiply-add on vpdpwssd. The lanes
// are the same integers, so every output equals the spec bit for bit. The float formats'
// kernels are AVX2's.
#include <immintrin.h>

#include "kernels/dot/dot_kernels.h"
#include "kernels/dot/x86_avx2_tiling.h"
#include "kernels/dot/x86_block_tile.h"
#include "kernels/dot/x86_interleaved_tile.h"
#include "kernels/dot/x86_superblock_tile.h"
#include "kernels/dot/x86_vnni_dot.h"

namespace qforge::kernels {
namespace {

// Prompt tiles: AVX-512VL has 32 ymm registers, so both tiles grow past AVX2's. One thread in
// cache, 512 × 4096 × 128 tokens, Zen 4: Q8_0 4×2 98, 4×3 102, 6×3 102, 8×2 93, 4×4 107 GOP/s
// (AVX2 83); Q4_0 in groups of four rows 2×4 221, 2×6 221, 3×3 224, 3×5 236, 4×4 223, 2×8 189,
// 3×4 242 (AVX2 172); the super-block formats (Q4_K / Q6_K / TQ2_0 / TQ1_0) 4×2 114 / 74 / 242 /
// 69, 4×3 132 / 82 / 250 / 91, 6×2 118 / 59 / 248 / 71, 4×4 138 / 85 / 248 / 90 (AVX2 4×2: 103 /
// 63 / 143 / 63).
constexpr int kVnniRows = 4, kVnniTokens = 4, kVnniGroups = 3, kVnniGroupTokens = 4;
constexpr int kVnniSuperRows = 4, kVnniSuperTokens = 4;

}  // namespace

DotKernels dot_kernels_avx512_vnni() {
  DotKernels k = dot_kernels_avx2();
  k.isa = Isa::Avx512;
  k.q8_0 = int_dot<UnpackQ8_0, VnniDot>;
  MatmulKernels& mm = k.matmul;
  mm.q8_0 = int_matmul<UnpackQ8_0, VnniDot, kVnniRows, kVnniTokens>;
  mm.q4_0x4 = group_matmul<GroupQ4_0, VnniDot, kVnniGroups, kVnniGroupTokens>;
  mm.q4_1x4 = group_matmul<GroupQ4_1, VnniDot, kVnniGroups, kVnniGroupTokens>;
  mm.q5_0x4 = group_matmul<GroupQ5_0, VnniDot, kVnniGroups, kVnniGroupTokens>;
  mm.q5_1x4 = group_matmul<GroupQ5_1, VnniDot, kVnniGroups, kVnniGroupTokens>;
  k.q4_k = superblock_dot<SuperQ4_K, VnniDot>, k.q6_k = superblock_dot<SuperQ6_K, VnniDot>;
  k.tq1_0 = superblock_dot<SuperTQ1_0, VnniDot>, k.tq2_0 = superblock_dot<SuperTQ2_0, VnniDot>;
  mm.q4_k = superblock_matmul<SuperQ4_K, VnniDot, kVnniSuperRows, kVnniSuperTokens>;
  mm.q6_k = superblock_matmul<SuperQ6_K, VnniDot, kVnniSuperRows, kVnniSuperTokens>;
  mm.tq1_0 = superblock_matmul<SuperTQ1_0, VnniDot, kVnniSuperRows, kVnniSuperTokens>;
  mm.tq2_0 = superblock_matmul<SuperTQ2_0, VnniDot, kVnniSuperRows, kVnniSuperTokens>;
  return k;
}

}  // namespace qforge::kernels
