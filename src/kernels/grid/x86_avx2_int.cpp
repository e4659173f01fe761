// AVX2 integer path for qforge's integer grids (compiled with AVX2/FMA flags only): the tile of
// x86_int_grid_tile.h on maddubs/madd, in the block formats' 4 × 2 tiles.
#include "kernels/grid/x86_int_grid_tile.h"

namespace qforge::kernels {

void int_grid_matmul_avx2(const IntGridArgs& m) { int_grid_matmul<MaddubsDot, kIntGridGroups, kIntGridTokens>(m); }

}  // namespace qforge::kernels
