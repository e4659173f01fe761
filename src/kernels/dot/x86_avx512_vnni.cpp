// AVX-512 VNNI dot kernels (compiled with AVX-512 + VNNI flags only): the integer formats'
// tiles on 256-bit vpdpbusd (AVX512-VL) — u8 × s8 products summed four at a time into int32
// lanes in one instruction, where AVX2 takes maddubs, madd and an add — and the super-block
// scales' multiply-add on vpdpwssd (x86_vnni_table.h). Every output equals the spec bit for bit.
#include "kernels/dot/x86_vnni_table.h"

namespace qforge::kernels {
namespace {

// Prompt tiles: AVX-512VL has 32 ymm registers, so the tiles grow past AVX2's. One thread in
// cache, 512 × 4096 × 128 tokens, Zen 4: Q8_0 4×2 98, 4×3 102, 6×3 102, 8×2 93, 4×4 107 GOP/s
// (AVX2 83); Q4_0 in groups of four rows 2×4 221, 2×6 221, 3×3 224, 3×5 236, 4×4 223, 2×8 189,
// 3×4 242 (AVX2 172); the super-block formats (Q4_K / Q6_K / TQ2_0 / TQ1_0) 4×2 114 / 74 / 242 /
// 69, 4×3 132 / 82 / 250 / 91, 6×2 118 / 59 / 248 / 71, 4×4 138 / 85 / 248 / 90 (AVX2 4×2: 103 /
// 63 / 143 / 63); Q4_K in groups of four rows since, 2×2 199, 2×3 227, 2×4 246, 3×3 236, 3×4
// 246, 4×2 212, 2×6 255 (AVX2 2×3 184). vpdpbusd's int32 sums times the scales by vpmulld ran
// 3 % faster here than maddubs + vpdpwssd; not taken (vpmulld is two µops on Intel's cores).
constexpr VnniTileShapes kAvx512VnniShapes{3, 4, 2, 4, 4, 4};

}  // namespace

DotKernels dot_kernels_avx512_vnni() { return vnni_dot_table<VnniDot, kAvx512VnniShapes>(Isa::Avx512); }

}  // namespace qforge::kernels
