// Scalar conversions and the bulk entry points (which go through the kernel table).
#include "qforge/float_convert.h"

#include <array>
#include <cstring>
#include <vector>

#include "core/small_float.h"
#include "kernels/convert/convert_kernels.h"
#include "qforge/error.h"

namespace qforge {

uint16_t f32_to_f16(float x) {
  return static_cast<uint16_t>(detail::encode_from_f32<kFormatF16>(x, Overflow::InfOrNan));
}
float f16_to_f32(uint16_t h) { return detail::decode_to_f32<kFormatF16>(h); }
uint16_t f32_to_bf16(float x) {
  return static_cast<uint16_t>(detail::encode_from_f32<kFormatBF16>(x, Overflow::InfOrNan));
}
float bf16_to_f32(uint16_t b) { return detail::decode_to_f32<kFormatBF16>(b); }
uint8_t f32_to_f8_e4m3(float x, Overflow o) {
  return static_cast<uint8_t>(detail::encode_from_f32<kFormatF8E4M3>(x, o));
}
uint8_t f32_to_f8_e5m2(float x, Overflow o) {
  return static_cast<uint8_t>(detail::encode_from_f32<kFormatF8E5M2>(x, o));
}
uint8_t f32_to_fp4_e2m1(float x) {
  return static_cast<uint8_t>(detail::encode_from_f32<kFormatFP4E2M1>(x, Overflow::Saturate));
}

namespace {

// 256-entry decode tables: an fp8 decode is then one load.
template <FloatFormat F>
std::array<float, 256> make_f8_table() {
  std::array<float, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) t[i] = detail::decode_to_f32<F>(i);
  return t;
}
const std::array<float, 256>& e4m3_table() {
  static const auto t = make_f8_table<kFormatF8E4M3>();
  return t;
}
const std::array<float, 256>& e5m2_table() {
  static const auto t = make_f8_table<kFormatF8E5M2>();
  return t;
}

void check_sizes(size_t in, size_t out, const char* what) {
  if (in != out)
    throw Error(ErrorCategory::InvalidArgument, std::string(what) + ": input has " + std::to_string(in) +
                                                    " elements but output has room for " + std::to_string(out));
}

}  // namespace

float f8_e4m3_to_f32(uint8_t b) { return e4m3_table()[b]; }
float f8_e5m2_to_f32(uint8_t b) { return e5m2_table()[b]; }
float fp4_e2m1_to_f32(uint8_t b) { return detail::decode_to_f32<kFormatFP4E2M1>(b & 0xFu); }

void convert_f32_to_f16(std::span<const float> in, std::span<uint16_t> out) {
  check_sizes(in.size(), out.size(), "convert_f32_to_f16");
  kernels::convert_kernels().f32_to_f16(in.data(), out.data(), in.size());
}
void convert_f16_to_f32(std::span<const uint16_t> in, std::span<float> out) {
  check_sizes(in.size(), out.size(), "convert_f16_to_f32");
  kernels::convert_kernels().f16_to_f32(in.data(), out.data(), in.size());
}
void convert_f32_to_bf16(std::span<const float> in, std::span<uint16_t> out) {
  check_sizes(in.size(), out.size(), "convert_f32_to_bf16");
  kernels::convert_kernels().f32_to_bf16(in.data(), out.data(), in.size());
}
void convert_bf16_to_f32(std::span<const uint16_t> in, std::span<float> out) {
  check_sizes(in.size(), out.size(), "convert_bf16_to_f32");
  kernels::convert_kernels().bf16_to_f32(in.data(), out.data(), in.size());
}

namespace {

// A uint16_t view of bytes: the bytes themselves when aligned, else an aligned copy in scratch.
std::span<const uint16_t> u16_view(std::span<const uint8_t> in, std::vector<uint16_t>& scratch, const char* what) {
  if (in.size() % 2 != 0)
    throw Error(ErrorCategory::InvalidArgument, std::string(what) + ": odd byte count " + std::to_string(in.size()));
  if (in.empty()) return {};
  if (reinterpret_cast<uintptr_t>(in.data()) % alignof(uint16_t) == 0)
    return {reinterpret_cast<const uint16_t*>(in.data()), in.size() / 2};
  scratch.resize(in.size() / 2);
  std::memcpy(scratch.data(), in.data(), in.size());
  return scratch;
}

}  // namespace

void convert_f16_bytes_to_f32(std::span<const uint8_t> in, std::span<float> out) {
  std::vector<uint16_t> scratch;
  convert_f16_to_f32(u16_view(in, scratch, "convert_f16_bytes_to_f32"), out);
}

void convert_bf16_bytes_to_f32(std::span<const uint8_t> in, std::span<float> out) {
  std::vector<uint16_t> scratch;
  convert_bf16_to_f32(u16_view(in, scratch, "convert_bf16_bytes_to_f32"), out);
}

void convert_f32_to_f8(std::span<const float> in, std::span<uint8_t> out, DType f8, Overflow o) {
  check_sizes(in.size(), out.size(), "convert_f32_to_f8");
  if (f8 == DType::f8_e4m3) {
    for (size_t i = 0; i < in.size(); ++i) out[i] = f32_to_f8_e4m3(in[i], o);
  } else if (f8 == DType::f8_e5m2) {
    for (size_t i = 0; i < in.size(); ++i) out[i] = f32_to_f8_e5m2(in[i], o);
  } else {
    throw Error(ErrorCategory::InvalidArgument,
                "convert_f32_to_f8: dtype " + std::string(dtype_name(f8)) + " is not fp8; supported: f8_e4m3, f8_e5m2");
  }
}

void convert_f8_to_f32(std::span<const uint8_t> in, std::span<float> out, DType f8) {
  check_sizes(in.size(), out.size(), "convert_f8_to_f32");
  if (f8 != DType::f8_e4m3 && f8 != DType::f8_e5m2)
    throw Error(ErrorCategory::InvalidArgument,
                "convert_f8_to_f32: dtype " + std::string(dtype_name(f8)) + " is not fp8; supported: f8_e4m3, f8_e5m2");
  const auto& t = f8 == DType::f8_e4m3 ? e4m3_table() : e5m2_table();
  for (size_t i = 0; i < in.size(); ++i) out[i] = t[in[i]];
}

float round_trip_f32(float x, DType t, Overflow o) {
  switch (t) {
    case DType::f64:
    case DType::f32: return x;
    case DType::f16: return f16_to_f32(f32_to_f16(x));
    case DType::bf16: return bf16_to_f32(f32_to_bf16(x));
    case DType::f8_e4m3: return f8_e4m3_to_f32(f32_to_f8_e4m3(x, o));
    case DType::f8_e5m2: return f8_e5m2_to_f32(f32_to_f8_e5m2(x, o));
    case DType::fp4_e2m1: return fp4_e2m1_to_f32(f32_to_fp4_e2m1(x));
    default:
      throw Error(ErrorCategory::InvalidArgument, "round_trip_f32: " + std::string(dtype_name(t)) +
                                                      " is not a float type; supported: f64, f32, f16, bf16, "
                                                      "f8_e4m3, f8_e5m2, fp4_e2m1");
  }
}

}  // namespace qforge
