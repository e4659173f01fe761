// Kernel family "convert": bulk f32 <-> f16/bf16. One table of function pointers per ISA,
// chosen once at start-up (see dispatch.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "qforge/cpu.h"

namespace qforge::kernels {

struct ConvertKernels {
  Isa isa;
  void (*f32_to_f16)(const float* in, uint16_t* out, size_t n);
  void (*f16_to_f32)(const uint16_t* in, float* out, size_t n);
  void (*f32_to_bf16)(const float* in, uint16_t* out, size_t n);
  void (*bf16_to_f32)(const uint16_t* in, float* out, size_t n);
};

// The table for active_isa(), chosen on first use.
const ConvertKernels& convert_kernels();
// The table of one ISA, or nullopt when this CPU (or build) lacks it; for tests and benches.
std::optional<ConvertKernels> convert_kernels_for(Isa isa);

// Per-ISA tables, each defined in its own translation unit.
ConvertKernels convert_kernels_scalar();
ConvertKernels convert_kernels_avx2();
ConvertKernels convert_kernels_avx512();

}  // namespace qforge::kernels
