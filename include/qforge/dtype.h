// DType: every element type qforge stores or computes with, and dtype_info(), the
// torch.iinfo/finfo of this project.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "qforge/float_format.h"

namespace qforge {

enum class DType : uint8_t {
  f64, f32, f16, bf16, f8_e4m3, f8_e5m2,  // floats
  i8, u8, i16, u16, i32, u32, i64, u64,    // byte-addressable integers
  boolean,                                 // 1 byte, 0 or 1 (safetensors BOOL)
  i4, u4, i3, i2,                          // sub-byte integer codes
  nf4, fp4_e2m1, ternary,                  // sub-byte codebooks
};

enum class DTypeKind : uint8_t { Float, Integer, Codebook };

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  std::string_view description;
  DTypeKind kind;
  int bits;                // width of one stored code (ternary: 2, its plain packing)
  double packed_bits;      // bits per element in qforge's densest packing (ternary: 1.6)
  bool is_signed;
  double min;              // most negative finite value
  double max;              // largest finite value
  int64_t int_min = 0;     // integers: exact bounds (i64 and u64 do not fit a double)
  uint64_t int_max = 0;
  // Floats (zero otherwise). Codebooks fill eps/tiny with their smallest positive step.
  std::optional<FloatFormat> format;
  double eps = 0;                 // distance from 1.0 to the next larger value
  double smallest_normal = 0;     // torch.finfo.tiny
  double smallest_subnormal = 0;  // torch.finfo.smallest_subnormal
  int exponent_bits = 0;
  int mantissa_bits = 0;
  int exponent_bias = 0;
  bool has_inf = false;
  bool has_nan = false;

  bool is_float() const { return kind == DTypeKind::Float; }
  bool is_sub_byte() const { return bits < 8; }
  // bytes one element occupies when byte-addressable; 0 for sub-byte codes
  int byte_size() const { return bits % 8 == 0 ? bits / 8 : 0; }
};

inline constexpr std::array kAllDTypes = {
    DType::f64, DType::f32, DType::f16,  DType::bf16,    DType::f8_e4m3, DType::f8_e5m2,
    DType::i8,  DType::u8,  DType::i16,  DType::u16,     DType::i32,     DType::u32,
    DType::i64, DType::u64, DType::boolean, DType::i4,   DType::u4,      DType::i3,
    DType::i2,  DType::nf4, DType::fp4_e2m1, DType::ternary};

const DTypeInfo& dtype_info(DType t);
std::string_view dtype_name(DType t);
// Accepts the names above and common aliases (float32, half, bfloat16, e4m3, int8, ...).
std::optional<DType> dtype_from_name(std::string_view name);
// Same, but throws Error(InvalidArgument) listing every supported name.
DType parse_dtype(std::string_view name);
std::string supported_dtype_names();

// Size in bytes of n elements stored densely (sub-byte types rounded up to whole bytes).
uint64_t dtype_storage_bytes(DType t, uint64_t n);

}  // namespace qforge
