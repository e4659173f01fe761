// Codebooks that replace the integer grid: NF4 (QLoRA) and FP4 E2M1 (OCP MX element).
#pragma once

#include <array>
#include <cstdint>

#include "qforge/quant.h"

namespace qforge {

// The 16 NF4 values in code order, exactly as bitsandbytes' get_4bit_type("nf4") has them.
const std::array<float, 16>& nf4_values();
// The 16 FP4 E2M1 values indexed by their bit pattern S.EE.M (8 = −0).
const std::array<float, 16>& fp4_e2m1_values();
const std::array<float, 16>& codebook_values(Codebook cb);
float codebook_absmax(Codebook cb);  // NF4: 1, FP4: 6

// Code whose value is nearest to x (x already divided by the scale).
// NF4: ties go to the lower code, as bitsandbytes' thresholds do; FP4: round to nearest
// even with saturation at ±6, as the OCP MX spec does.
uint8_t codebook_nearest(float x, Codebook cb);

}  // namespace qforge
