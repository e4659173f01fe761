// AVX-VNNI dot kernels (compiled with AVX2 + AVX-VNNI flags only): the integer formats' tiles
// on the VEX vpdpbusd of Alder Lake and later and Zen 5 — the instruction of the AVX-512 VNNI
// file in 16 registers, so in AVX2's tile shapes (x86_vnni_table.h). Every output equals the
// spec bit for bit.
#include "kernels/dot/x86_vnni_table.h"

namespace qforge::kernels {

DotKernels dot_kernels_avx_vnni() { return avx_vnni_dot_table<AvxVnniDot>(); }

}  // namespace qforge::kernels
