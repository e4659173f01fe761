// AVX-512 VNNI integer path for qforge's integer grids (compiled with AVX-512 + VNNI flags
// only): the tile of x86_int_grid_tile.h on vpdpbusd. The lanes are the same integers as
// AVX2's, so the outputs equal the spec bit for bit; the rest of the table is AVX2's.
#include "kernels/x86_byte_dot.h"
#include "kernels/grid/x86_int_grid_tile.h"

namespace qforge::kernels {
namespace {

// 3 row groups × 3 tokens (32 ymm registers). 4096² × 512 tokens, two threads, Zen 4 (a scratch
// program, GOP/s for int4 G=128, nf4 G=64, int3 G=128, int8 per channel): 2×2 249, 259, 245,
// 307; 2×3 327–336, 322–345, 250–290, 318–345; 2×4 335, 311, 270, 313; 3×2 361, 325, 241, 323;
// 3×3 341–353, 313–314, 277–289, 380–402; 4×2 354–359, 345–348, 220–222, 397–413.
void int_grid_matmul_avx512_vnni(const IntGridArgs& m) { int_grid_matmul<VnniDot, 3, 3>(m); }

}  // namespace

GridKernels grid_kernels_avx512_vnni() {
  GridKernels k = grid_kernels_avx2();
  k.isa = Isa::Avx512;
  k.int_matmul = int_grid_matmul_avx512_vnni;
  return k;
}

}  // namespace qforge::kernels
