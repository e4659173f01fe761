// AVX-VNNI integer path for qforge's integer grids (compiled with AVX2 + AVX-VNNI flags only):
// the tile of x86_int_grid_tile.h on the VEX vpdpbusd, in AVX2's tile shape (the same 16
// registers). The lanes are the same integers as AVX2's, so the outputs equal the spec bit for
// bit; the rest of the table is AVX2's.
#include "kernels/grid/x86_int_grid_tile.h"

namespace qforge::kernels {

GridKernels grid_kernels_avx_vnni() { return avx_vnni_grid_table<AvxVnniDot>(); }

}  // namespace qforge::kernels
