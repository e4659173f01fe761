// Kernel family "w8a8": int8 weights × integer activation codes → exact int32 sums, and the
// per-token quantization that feeds them. Integer sums have one right answer, so every ISA
// returns the same bits as the spec (reference.cpp), in any order and for any tiling; the
// float rescale after them is common code (act_quant.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>

#include "qforge/cpu.h"

namespace qforge::kernels {

// out[t·ldo + r] = Σ_{j<k} w[r·ldw + j]·x[t·ldx + j] for r < rows, t < n. Weights are int8;
// activation codes are int16 holding −255..255 (int8 codes, or static unsigned codes 0..255),
// k ≤ 2^16, so every partial sum fits int32 exactly.
struct I8GemmArgs {
  const int8_t* w;
  int64_t ldw;
  int64_t rows;
  const int16_t* x;
  int64_t ldx;
  int64_t n;
  int64_t k;
  int32_t* out;
  int64_t ldo;
};

// The same sums for activation codes held as bytes 0..u8_codes−1 (shifted to start at 0 by the
// caller): the byte × int8 instructions take them without widening — AVX2's `maddubs` for codes
// below 128 (its pair sums ≤ 2·127·128 stay inside int16), VNNI's `vpdpbusd` (AVX-512 or AVX-VNNI)
// for any byte.
struct U8GemmArgs {
  const int8_t* w;
  int64_t ldw;
  int64_t rows;
  const uint8_t* x;
  int64_t ldx;
  int64_t n;
  int64_t k;
  int32_t* out;
  int64_t ldo;
};

struct W8A8Kernels {
  Isa isa;
  void (*gemm)(const I8GemmArgs&);
  void (*gemm_u8)(const U8GemmArgs&);
  // max |x_j| over j < k, skipping NaN (as std::max(m, |x|) does); 0 for k = 0
  float (*amax)(const float* x, int64_t k);
  // q_j = round_code(double(x_j) / double(s)); s > 0
  void (*quantize)(const float* x, int64_t k, float s, int16_t* q);
  // gemm_u8 takes codes 0..u8_codes−1: 128 on AVX2, 256 on the spec and both VNNIs
  int u8_codes;
};

namespace {  // each including file keeps its own copy, compiled with its own ISA flags
// The code rule of int8 weights and dynamic activations: round half to even, clamp to ±127, NaN → 0.
inline int16_t round_code(double v) {
  const double r = std::nearbyint(v);
  return r != r ? int16_t{0} : static_cast<int16_t>(std::clamp(r, -127.0, 127.0));
}
}  // namespace

// The table for active_isa(), chosen on first use.
const W8A8Kernels& w8a8_kernels();
// The table of one ISA, or nullopt when this CPU (or build) lacks it; for tests and benches.
std::optional<W8A8Kernels> w8a8_kernels_for(Isa isa);

W8A8Kernels w8a8_kernels_scalar();
W8A8Kernels w8a8_kernels_avx2();
W8A8Kernels w8a8_kernels_avx_vnni();      // AVX-VNNI: gemm_u8 on VEX vpdpbusd
W8A8Kernels w8a8_kernels_avx512_vnni();  // AVX-512 with VNNI: gemm_u8 on vpdpbusd

}  // namespace qforge::kernels
