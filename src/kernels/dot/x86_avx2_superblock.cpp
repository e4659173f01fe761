// AVX2 dot and matmul kernels for the ternary super-block formats TQ1_0 and TQ2_0
// (compiled with AVX2 + FMA + F16C only): the tile of x86_superblock_tile.h on maddubs, 4 rows ×
// 2 tokens as the 32-element formats (the same register budget).
#include "kernels/dot/x86_superblock_tile.h"

namespace qforge::kernels {

void add_superblock_kernels_avx2(DotKernels& k) {
  using D = MaddubsDot;
  k.tq1_0 = superblock_dot<SuperTQ1_0, D>, k.tq2_0 = superblock_dot<SuperTQ2_0, D>;
  constexpr int kR = kSuperRows, kT = kSuperTokens;
  k.matmul.tq1_0 = superblock_matmul<SuperTQ1_0, D, kR, kT>, k.matmul.tq2_0 = superblock_matmul<SuperTQ2_0, D, kR, kT>;
}

}  // namespace qforge::kernels
