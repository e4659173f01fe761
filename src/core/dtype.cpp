#include "qforge/dtype.h"

#include <cmath>
#include <limits>
#include <vector>

#include "qforge/error.h"

namespace qforge {
namespace {

DTypeInfo float_info(DType t, std::string_view name, std::string_view desc, FloatFormat f) {
  DTypeInfo i{};
  i.dtype = t;
  i.name = name;
  i.description = desc;
  i.kind = DTypeKind::Float;
  i.bits = f.total_bits();
  i.packed_bits = i.bits;
  i.is_signed = true;
  i.format = f;
  // All derived from the bit layout, not typed in: the tests check them against torch.finfo.
  i.max = decode_bits(f.max_finite_bits(), f);
  i.min = -i.max;
  i.eps = std::ldexp(1.0, -f.man_bits);
  i.smallest_normal = std::ldexp(1.0, f.min_exponent());
  i.smallest_subnormal = std::ldexp(1.0, f.min_exponent() - f.man_bits);
  i.exponent_bits = f.exp_bits;
  i.mantissa_bits = f.man_bits;
  i.exponent_bias = f.bias;
  i.has_inf = f.has_inf();
  i.has_nan = f.has_nan();
  return i;
}

DTypeInfo int_info(DType t, std::string_view name, std::string_view desc, int bits, bool is_signed) {
  DTypeInfo i{};
  i.dtype = t;
  i.name = name;
  i.description = desc;
  i.kind = DTypeKind::Integer;
  i.bits = bits;
  i.packed_bits = bits;
  i.is_signed = is_signed;
  if (is_signed) {
    i.int_min = bits == 64 ? std::numeric_limits<int64_t>::min() : -(int64_t{1} << (bits - 1));
    i.int_max = (uint64_t{1} << (bits - 1)) - 1;
  } else {
    i.int_min = 0;
    i.int_max = bits == 64 ? std::numeric_limits<uint64_t>::max() : (uint64_t{1} << bits) - 1;
  }
  i.min = static_cast<double>(i.int_min);
  i.max = static_cast<double>(i.int_max);
  i.eps = 1;
  return i;
}

std::vector<DTypeInfo> build_table() {
  std::vector<DTypeInfo> t;
  t.push_back(float_info(DType::f64, "f64", "IEEE binary64", kFormatF64));
  t.push_back(float_info(DType::f32, "f32", "IEEE binary32", kFormatF32));
  t.push_back(float_info(DType::f16, "f16", "IEEE binary16 (half)", kFormatF16));
  t.push_back(float_info(DType::bf16, "bf16", "bfloat16: f32's range, 8-bit significand", kFormatBF16));
  t.push_back(float_info(DType::f8_e4m3, "f8_e4m3", "OCP FP8 E4M3FN: no Inf, NaN = S.1111.111", kFormatF8E4M3));
  t.push_back(float_info(DType::f8_e5m2, "f8_e5m2", "OCP FP8 E5M2: IEEE-like, has Inf/NaN", kFormatF8E5M2));
  t.push_back(int_info(DType::i8, "i8", "signed 8-bit integer", 8, true));
  t.push_back(int_info(DType::u8, "u8", "unsigned 8-bit integer", 8, false));
  t.push_back(int_info(DType::i16, "i16", "signed 16-bit integer", 16, true));
  t.push_back(int_info(DType::u16, "u16", "unsigned 16-bit integer", 16, false));
  t.push_back(int_info(DType::i32, "i32", "signed 32-bit integer", 32, true));
  t.push_back(int_info(DType::u32, "u32", "unsigned 32-bit integer", 32, false));
  t.push_back(int_info(DType::i64, "i64", "signed 64-bit integer", 64, true));
  t.push_back(int_info(DType::u64, "u64", "unsigned 64-bit integer", 64, false));
  DTypeInfo b = int_info(DType::boolean, "bool", "boolean stored in one byte (0 or 1)", 8, false);
  b.int_max = 1;
  b.max = 1;
  t.push_back(b);
  t.push_back(int_info(DType::i4, "i4", "signed 4-bit code", 4, true));
  t.push_back(int_info(DType::u4, "u4", "unsigned 4-bit code", 4, false));
  t.push_back(int_info(DType::i3, "i3", "signed 3-bit code", 3, true));
  t.push_back(int_info(DType::i2, "i2", "signed 2-bit code", 2, true));

  DTypeInfo nf4{};
  nf4.dtype = DType::nf4;
  nf4.name = "nf4";
  nf4.description = "QLoRA NormalFloat4: 16 normal quantiles in [-1, 1], times a block absmax";
  nf4.kind = DTypeKind::Codebook;
  nf4.bits = 4;
  nf4.packed_bits = 4;
  nf4.is_signed = true;
  nf4.min = -1.0;
  nf4.max = 1.0;
  nf4.smallest_subnormal = nf4.smallest_normal = 0.07958029955625534;  // smallest |code| > 0
  t.push_back(nf4);

  DTypeInfo fp4 = float_info(DType::fp4_e2m1, "fp4_e2m1", "OCP FP4 E2M1 (MXFP4 element): no Inf/NaN", kFormatFP4E2M1);
  t.push_back(fp4);

  DTypeInfo ter{};
  ter.dtype = DType::ternary;
  ter.name = "ternary";
  ter.description = "BitNet b1.58 trit {-1, 0, 1}: 2-bit codes or 5 trits per byte";
  ter.kind = DTypeKind::Codebook;
  ter.bits = 2;
  ter.packed_bits = 8.0 / 5.0;
  ter.is_signed = true;
  ter.min = -1;
  ter.max = 1;
  ter.int_min = -1;
  ter.int_max = 1;  // codes of the trit values
  ter.eps = 1;
  ter.smallest_normal = ter.smallest_subnormal = 1;
  t.push_back(ter);
  for (size_t k = 0; k < t.size(); ++k)
    if (static_cast<size_t>(t[k].dtype) != k) throw Error(ErrorCategory::Internal, "dtype table out of enum order");
  return t;
}

const std::vector<DTypeInfo>& table() {
  static const std::vector<DTypeInfo> t = build_table();
  return t;
}

struct Alias {
  std::string_view name;
  DType dtype;
};
constexpr Alias kAliases[] = {
    {"float64", DType::f64},  {"double", DType::f64},     {"float32", DType::f32},
    {"float", DType::f32},    {"float16", DType::f16},    {"half", DType::f16},
    {"bfloat16", DType::bf16}, {"e4m3", DType::f8_e4m3},  {"f8_e4m3fn", DType::f8_e4m3},
    {"float8_e4m3fn", DType::f8_e4m3}, {"e5m2", DType::f8_e5m2}, {"float8_e5m2", DType::f8_e5m2},
    {"int8", DType::i8},      {"uint8", DType::u8},       {"int16", DType::i16},
    {"int32", DType::i32},    {"int64", DType::i64},      {"int4", DType::i4},
    {"uint16", DType::u16},   {"uint32", DType::u32},     {"uint64", DType::u64},
    {"uint4", DType::u4},     {"int3", DType::i3},        {"int2", DType::i2},
    {"fp4", DType::fp4_e2m1}, {"e2m1", DType::fp4_e2m1},  {"ternary158", DType::ternary},
};

}  // namespace

const DTypeInfo& dtype_info(DType t) {
  const auto& tab = table();
  const auto idx = static_cast<size_t>(t);
  if (idx >= tab.size()) throw Error(ErrorCategory::Internal, "dtype_info: unknown DType value");
  return tab[idx];
}

std::string_view dtype_name(DType t) { return dtype_info(t).name; }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& i : table())
    if (i.name == name) return i.dtype;
  for (const auto& a : kAliases)
    if (a.name == name) return a.dtype;
  return std::nullopt;
}

std::string supported_dtype_names() {
  std::string s;
  for (const auto& i : table()) {
    if (!s.empty()) s += ", ";
    s += i.name;
  }
  return s;
}

DType parse_dtype(std::string_view name) {
  if (auto t = dtype_from_name(name)) return *t;
  throw Error(ErrorCategory::InvalidArgument,
              "unknown dtype '" + std::string(name) + "'; supported: " + supported_dtype_names());
}

uint64_t dtype_storage_bytes(DType t, uint64_t n) {
  const DTypeInfo& i = dtype_info(t);
  const uint64_t bits_per = static_cast<uint64_t>(i.bits);
  if (n > std::numeric_limits<uint64_t>::max() / 64)
    throw Error(ErrorCategory::InvalidArgument, "dtype_storage_bytes: element count too large");
  return (n * bits_per + 7) / 8;
}

}  // namespace qforge
