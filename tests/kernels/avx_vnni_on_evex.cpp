// The AVX-VNNI tables (src/kernels/*/x86_avx_vnni.cpp) rebuilt on AVX-512 VNNI's encoding of
// vpdpbusd / vpdpwssd (compiled with AVX-512 VNNI flags and the library's -ffp-contract=off):
// the same table templates, tile shapes and wiring, VnniDot in place of AvxVnniDot.
#include "kernels/dot/x86_vnni_table.h"
#include "kernels/grid/x86_int_grid_tile.h"
#include "kernels/kernel_tables.h"
#include "kernels/w8a8/x86_avx2_tile.h"

namespace qforge::kernels {

DotKernels dot_kernels_avx_vnni_on_evex() { return avx_vnni_dot_table<VnniDot>(); }
GridKernels grid_kernels_avx_vnni_on_evex() { return avx_vnni_grid_table<VnniDot>(); }
W8A8Kernels w8a8_kernels_avx_vnni_on_evex() { return avx_vnni_w8a8_table<VnniDot>(); }

}  // namespace qforge::kernels
