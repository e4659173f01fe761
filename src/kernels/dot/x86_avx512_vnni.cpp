// AVX-512 VNNI dot kernels (compiled with AVX-512 + VNNI flags only): the AVX2 tiles of the
// block formats, written once in x86_block_tile.h and x86_interleaved_tile.h, with the byte dot
// product on 256-bit vpdpbusd (AVX512-VL) — u8 × s8 products summed four at a time into int32
// lanes in one instruction, where AVX2 takes maddubs, madd and an add. The lanes are the same
// integers, so every output equals the spec bit for bit. The rest of the table is AVX2's.
#include <immintrin.h>

#include "kernels/dot/dot_kernels.h"
#include "kernels/dot/x86_avx2_tiling.h"
#include "kernels/dot/x86_block_tile.h"
#include "kernels/dot/x86_interleaved_tile.h"
#include "kernels/dot/x86_vnni_dot.h"

namespace qforge::kernels {
namespace {

// Prompt tiles: AVX-512VL has 32 ymm registers, so both tiles grow past AVX2's. One thread in
// cache, 512 × 4096 × 128 tokens, Zen 4: Q8_0 4×2 98, 4×3 102, 6×3 102, 8×2 93, 4×4 107 GOP/s
// (AVX2 83); Q4_0 in groups of four rows 2×4 221, 2×6 221, 3×3 224, 3×5 236, 4×4 223, 2×8 189,
// 3×4 242 (AVX2 172).
constexpr int kVnniRows = 4, kVnniTokens = 4, kVnniGroups = 3, kVnniGroupTokens = 4;

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
  return k;
}

}  // namespace qforge::kernels
