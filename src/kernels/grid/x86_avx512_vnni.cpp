// AVX-512 VNNI integer path for qforge's integer grids (compiled with AVX-512 + VNNI flags
// only): the tile of x86_int_grid_tile.h on vpdpbusd. The lanes are the same integers as
// AVX2's, so the outputs equal the spec bit for bit; the rest of the table is AVX2's.
#include "kernels/x86_byte_dot.h"
#include "kernels/grid/x86_int_grid_tile.h"

namespace qforge::kernels {
namespace {

// 4 × 3 tiles (32 ymm registers). 4096² × 512 tokens, two threads, Zen 4 (bench_matmul --grids,
// GOP/s): 4×2 int4 G=128 206, nf4 G=64 160, int3 G=128 157; 4×4 229, 180, 183; 4×3 231, 189, 185.
void int_grid_matmul_avx512_vnni(const IntGridArgs& m) { int_grid_matmul<VnniDot, 4, 3>(m); }

}  // namespace

GridKernels grid_kernels_avx512_vnni() {
  GridKernels k = grid_kernels_avx2();
  k.isa = Isa::Avx512;
  k.int_matmul = int_grid_matmul_avx512_vnni;
  return k;
}

}  // namespace qforge::kernels
