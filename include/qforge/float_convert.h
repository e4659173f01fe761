// Conversions between f32 and the narrow float types: round-to-nearest-even, subnormals,
// NaN → NaN (payload not kept), and for fp8 an explicit overflow policy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "qforge/dtype.h"
#include "qforge/float_format.h"

namespace qforge {

// Scalar conversions (portable; the bulk functions below are the fast path).
uint16_t f32_to_f16(float x);  // overflow → ±Inf, as IEEE requires
float f16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float x);  // overflow → ±Inf
float bf16_to_f32(uint16_t b);
// fp8: Overflow::Saturate clamps to ±max (±448 / ±57344, Inf too); Overflow::InfOrNan gives
// NaN for e4m3 (it has no Inf) and ±Inf for e5m2. NaN always stays NaN.
uint8_t f32_to_f8_e4m3(float x, Overflow overflow);
float f8_e4m3_to_f32(uint8_t b);
uint8_t f32_to_f8_e5m2(float x, Overflow overflow);
float f8_e5m2_to_f32(uint8_t b);
uint8_t f32_to_fp4_e2m1(float x);  // saturates to ±6 (no Inf/NaN in the format); callers reject NaN
float fp4_e2m1_to_f32(uint8_t b);  // low 4 bits

// Bulk conversions; dispatched once to the best kernel the CPU has (F16C/AVX2 or scalar).
void convert_f32_to_f16(std::span<const float> in, std::span<uint16_t> out);
void convert_f16_to_f32(std::span<const uint16_t> in, std::span<float> out);
void convert_f32_to_bf16(std::span<const float> in, std::span<uint16_t> out);
void convert_bf16_to_f32(std::span<const uint16_t> in, std::span<float> out);
void convert_f32_to_f8(std::span<const float> in, std::span<uint8_t> out, DType f8, Overflow overflow);
void convert_f8_to_f32(std::span<const uint8_t> in, std::span<float> out, DType f8);

// 16-bit elements stored in bytes that may sit at any address (file data, whose alignment a
// hostile file chooses): decoded through an aligned copy when the bytes are misaligned.
void convert_f16_bytes_to_f32(std::span<const uint8_t> in, std::span<float> out);
void convert_bf16_bytes_to_f32(std::span<const uint8_t> in, std::span<float> out);

// f32 value after a round trip through a float dtype (f64 and f32 are returned unchanged).
float round_trip_f32(float x, DType t, Overflow overflow = Overflow::InfOrNan);

}  // namespace qforge
