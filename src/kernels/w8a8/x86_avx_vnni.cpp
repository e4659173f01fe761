// AVX-VNNI w8a8 GEMM (compiled with AVX2 + AVX-VNNI flags only): byte codes (gemm_u8, any
// 0..255) meet the int8 weights in the VEX vpdpbusd, in AVX2's 4 × 2 tile (the same 16
// registers, x86_avx2_tile.h). Every activation scheme's codes fit a byte here (u8_codes = 256),
// so the int16 `gemm` is never called on these CPUs and stays AVX2's, as do amax and the
// quantizer. Integer sums, so it equals the spec bit for bit.
#include "kernels/w8a8/x86_avx2_tile.h"

namespace qforge::kernels {

W8A8Kernels w8a8_kernels_avx_vnni() { return avx_vnni_w8a8_table<AvxVnniDot>(); }

}  // namespace qforge::kernels
