// The dot table of a CPU whose byte dot product is one 256-bit vpdpbusd: AVX2's table with the
// integer formats' matmuls — the tiles of x86_interleaved_tile.h (Q8_0, Q4_0 … Q5_1),
// x86_q4_k_tile.h, x86_q6_k_tile.h and x86_superblock_tile.h (TQ1_0, TQ2_0) — on Dot, in the given
// prompt tile shapes. The lanes are the same integers, so every output equals the spec bit for
// bit; the float formats' kernels stay AVX2's. Include only from files compiled with Dot's
// instructions enabled.
#pragma once

#include "kernels/dot/dot_kernels.h"
#include "kernels/dot/x86_avx2_tiling.h"
#include "kernels/dot/x86_interleaved_tile.h"
#include "kernels/dot/x86_q4_k_tile.h"
#include "kernels/dot/x86_q6_k_tile.h"
#include "kernels/dot/x86_superblock_tile.h"
#include "kernels/x86_byte_dot.h"

namespace qforge::kernels {
namespace {

// Rows × tokens of each tile family's prompt tile (the interleaved one counts groups of four rows).
struct VnniTileShapes {
  int groups, group_tokens;      // Q8_0, Q4_0, Q4_1, Q5_0, Q5_1
  int k_groups, k_tokens;        // Q4_K, Q6_K (groups of four rows)
  int super_rows, super_tokens;  // TQ1_0, TQ2_0
};

// AVX-VNNI's shapes: AVX2's, drawn for the same 16 ymm registers (vpdpbusd needs fewer
// temporaries than maddubs + madd, so they fit there too).
constexpr VnniTileShapes kAvxVnniShapes{kGroups, kTokens, kQ4KGroups, kQ4KTokens, kSuperRows, kSuperTokens};

template <class Dot, VnniTileShapes kS>
DotKernels vnni_dot_table(Isa isa) {
  DotKernels k = dot_kernels_avx2();
  k.isa = isa;
  MatmulKernels& mm = k.matmul;
  mm.q8_0x4 = group_matmul<GroupQ8_0, Dot, kS.groups, kS.group_tokens>;
  mm.q4_0x4 = group_matmul<GroupQ4_0, Dot, kS.groups, kS.group_tokens>;
  mm.q4_1x4 = group_matmul<GroupQ4_1, Dot, kS.groups, kS.group_tokens>;
  mm.q5_0x4 = group_matmul<GroupQ5_0, Dot, kS.groups, kS.group_tokens>;
  mm.q5_1x4 = group_matmul<GroupQ5_1, Dot, kS.groups, kS.group_tokens>;
  mm.q4_kx4 = q4_k_matmul<Dot, kS.k_groups, kS.k_tokens>;
  mm.q6_kx4 = q6_k_matmul<Dot, kS.k_groups, kS.k_tokens>;
  k.tq1_0 = superblock_dot<SuperTQ1_0, Dot>, k.tq2_0 = superblock_dot<SuperTQ2_0, Dot>;
  mm.tq1_0 = superblock_matmul<SuperTQ1_0, Dot, kS.super_rows, kS.super_tokens>;
  mm.tq2_0 = superblock_matmul<SuperTQ2_0, Dot, kS.super_rows, kS.super_tokens>;
  return k;
}

// AVX-VNNI's table (Dot is AvxVnniDot there; the kernel tests' twin takes VnniDot, the EVEX encoding).
template <class Dot>
DotKernels avx_vnni_dot_table() { return vnni_dot_table<Dot, kAvxVnniShapes>(Isa::AvxVnni); }

}  // namespace
}  // namespace qforge::kernels
