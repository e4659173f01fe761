// The ggml type table and the dispatch to each type's reference codec.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "formats/ggml/blocks.h"
#include "formats/ggml/common.h"
#include "qforge/error.h"
#include "qforge/ggml_types.h"

namespace qforge {
namespace {

using G = GgmlType;
const std::vector<GgmlTypeInfo>& table() {
  static const std::vector<GgmlTypeInfo> t = {
      {G::F32, "f32", 1, 4, DType::f32, true, true},
      {G::F16, "f16", 1, 2, DType::f16, true, true},
      {G::BF16, "bf16", 1, 2, DType::bf16, true, true},
      {G::F64, "f64", 1, 8, DType::f64, true, false},
      {G::I8, "i8", 1, 1, DType::i8, true, false},
      {G::I16, "i16", 1, 2, DType::i16, true, false},
      {G::I32, "i32", 1, 4, DType::i32, true, false},
      {G::I64, "i64", 1, 8, DType::i64, true, false},
      {G::Q4_0, "q4_0", 32, sizeof(ggml::BlockQ4_0), {}, true, true},
      {G::Q4_1, "q4_1", 32, sizeof(ggml::BlockQ4_1), {}, true, true},
      {G::Q5_0, "q5_0", 32, sizeof(ggml::BlockQ5_0), {}, true, true},
      {G::Q5_1, "q5_1", 32, sizeof(ggml::BlockQ5_1), {}, true, true},
      {G::Q8_0, "q8_0", 32, sizeof(ggml::BlockQ8_0), {}, true, true},
      {G::Q8_1, "q8_1", 32, 36, {}, false, false},
      {G::Q2_K, "q2_k", 256, sizeof(ggml::BlockQ2_K), {}, true, false},
      {G::Q3_K, "q3_k", 256, sizeof(ggml::BlockQ3_K), {}, true, false},
      {G::Q4_K, "q4_k", 256, sizeof(ggml::BlockQ4_K), {}, true, true},
      {G::Q5_K, "q5_k", 256, sizeof(ggml::BlockQ5_K), {}, true, false},
      {G::Q6_K, "q6_k", 256, sizeof(ggml::BlockQ6_K), {}, true, true},
      {G::Q8_K, "q8_k", 256, 292, {}, false, false},
      {G::IQ2_XXS, "iq2_xxs", 256, 66, {}, false, false},
      {G::IQ2_XS, "iq2_xs", 256, 74, {}, false, false},
      {G::IQ3_XXS, "iq3_xxs", 256, 98, {}, false, false},
      {G::IQ1_S, "iq1_s", 256, 50, {}, false, false},
      {G::IQ4_NL, "iq4_nl", 32, sizeof(ggml::BlockIQ4_NL), {}, true, false},
      {G::IQ3_S, "iq3_s", 256, 110, {}, false, false},
      {G::IQ2_S, "iq2_s", 256, 82, {}, false, false},
      {G::IQ4_XS, "iq4_xs", 256, 136, {}, false, false},
      {G::IQ1_M, "iq1_m", 256, 56, {}, false, false},
      {G::TQ1_0, "tq1_0", 256, sizeof(ggml::BlockTQ1_0), {}, true, true},
      {G::TQ2_0, "tq2_0", 256, sizeof(ggml::BlockTQ2_0), {}, true, true},
      {G::MXFP4, "mxfp4", 32, 17, {}, false, false},
  };
  return t;
}

[[noreturn]] void unsupported(GgmlType t, const char* what) {
  throw Error(ErrorCategory::Unsupported, std::string("ggml type ") + std::string(ggml_type_info(t).name) +
                                              " cannot be " + what + " by qforge yet");
}

void check_length(GgmlType t, size_t n, size_t bytes) {
  const auto& info = ggml_type_info(t);
  if (n % static_cast<size_t>(info.block_elems) != 0)
    throw Error(ErrorCategory::InvalidArgument, std::to_string(n) + " elements is not a whole number of " +
                                                    std::string(info.name) + " blocks of " +
                                                    std::to_string(info.block_elems));
  if (bytes != ggml_row_bytes(t, n))
    throw Error(ErrorCategory::InvalidArgument, std::string(info.name) + ": " + std::to_string(bytes) +
                                                    " bytes for " + std::to_string(n) + " elements, expected " +
                                                    std::to_string(ggml_row_bytes(t, n)));
}

}  // namespace

const GgmlTypeInfo* ggml_type_info(uint32_t id) {
  for (const auto& i : table())
    if (static_cast<uint32_t>(i.type) == id) return &i;
  return nullptr;
}

const GgmlTypeInfo& ggml_type_info(GgmlType t) {
  const GgmlTypeInfo* i = ggml_type_info(static_cast<uint32_t>(t));
  if (!i) throw Error(ErrorCategory::Internal, "unknown GgmlType " + std::to_string(static_cast<uint32_t>(t)));
  return *i;
}

std::string ggml_writable_type_names() {
  std::string s;
  for (const auto& i : table())
    if (i.can_quantize) s += std::string(s.empty() ? "" : ", ") + std::string(i.name);
  return s;
}

GgmlType parse_ggml_type(std::string_view name, bool for_writing) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const auto& i : table())
    if (i.name == lower && (!for_writing || i.can_quantize)) return i.type;
  throw Error(ErrorCategory::InvalidArgument,
              "unknown or unwritable GGUF tensor type '" + std::string(name) + "'; supported: " + ggml_writable_type_names());
}

uint64_t ggml_row_bytes(GgmlType t, uint64_t n) {
  const auto& i = ggml_type_info(t);
  const auto be = static_cast<uint64_t>(i.block_elems);
  if (n % be != 0)
    throw Error(ErrorCategory::InvalidArgument, "row of " + std::to_string(n) + " elements is not a multiple of the " +
                                                    std::string(i.name) + " block size " + std::to_string(be));
  return n / be * static_cast<uint64_t>(i.block_bytes);
}

void ggml_dequantize(GgmlType t, std::span<const uint8_t> src, std::span<float> dst) {
  check_length(t, dst.size(), src.size());
  float* y = dst.data();
  const size_t n = dst.size();
  switch (t) {
    case G::F32: std::memcpy(y, src.data(), n * 4); return;
    case G::F16: convert_f16_bytes_to_f32(src, dst); return;  // file data may be misaligned
    case G::BF16: convert_bf16_bytes_to_f32(src, dst); return;
    case G::Q4_0: ggml::dequantize_q4_0(src, y, n); return;
    case G::Q4_1: ggml::dequantize_q4_1(src, y, n); return;
    case G::Q5_0: ggml::dequantize_q5_0(src, y, n); return;
    case G::Q5_1: ggml::dequantize_q5_1(src, y, n); return;
    case G::Q8_0: ggml::dequantize_q8_0(src, y, n); return;
    case G::Q2_K: ggml::dequantize_q2_k(src, y, n); return;
    case G::Q3_K: ggml::dequantize_q3_k(src, y, n); return;
    case G::Q4_K: ggml::dequantize_q4_k(src, y, n); return;
    case G::Q5_K: ggml::dequantize_q5_k(src, y, n); return;
    case G::Q6_K: ggml::dequantize_q6_k(src, y, n); return;
    case G::IQ4_NL: ggml::dequantize_iq4_nl(src, y, n); return;
    case G::TQ1_0: ggml::dequantize_tq1_0(src, y, n); return;
    case G::TQ2_0: ggml::dequantize_tq2_0(src, y, n); return;
    default: break;
  }
  // Plain integer and f64 element types convert element by element.
  const auto& info = ggml_type_info(t);
  if (!info.plain) unsupported(t, "read");
  for (size_t k = 0; k < n; ++k) {
    const uint8_t* p = src.data() + k * static_cast<size_t>(info.block_bytes);
    switch (t) {
      case G::F64: { double v; std::memcpy(&v, p, 8); y[k] = static_cast<float>(v); break; }
      case G::I8: y[k] = static_cast<float>(static_cast<int8_t>(*p)); break;
      case G::I16: { int16_t v; std::memcpy(&v, p, 2); y[k] = static_cast<float>(v); break; }
      case G::I32: { int32_t v; std::memcpy(&v, p, 4); y[k] = static_cast<float>(v); break; }
      case G::I64: { int64_t v; std::memcpy(&v, p, 8); y[k] = static_cast<float>(v); break; }
      default: unsupported(t, "read");
    }
  }
}

void ggml_quantize(GgmlType t, std::span<const float> src, std::span<uint8_t> dst) {
  check_length(t, src.size(), dst.size());
  const auto& info = ggml_type_info(t);
  if (!info.can_quantize) unsupported(t, "written");
  // The reference quantizers assume finite input (nearest_int would silently wrap).
  for (size_t k = 0; k < src.size(); ++k)
    if (!std::isfinite(src[k]))
      throw Error(ErrorCategory::Numeric, "element " + std::to_string(k) + " is " + (std::isnan(src[k]) ? "NaN" : "Inf") +
                                              "; refusing to quantize to " + std::string(info.name));
  const float* x = src.data();
  const size_t n = src.size();
  switch (t) {
    case G::F32: std::memcpy(dst.data(), x, n * 4); return;
    case G::F16: convert_f32_to_f16(src, {reinterpret_cast<uint16_t*>(dst.data()), n}); return;
    case G::BF16: convert_f32_to_bf16(src, {reinterpret_cast<uint16_t*>(dst.data()), n}); return;
    case G::Q4_0: ggml::quantize_q4_0(x, dst, n); return;
    case G::Q4_1: ggml::quantize_q4_1(x, dst, n); return;
    case G::Q5_0: ggml::quantize_q5_0(x, dst, n); return;
    case G::Q5_1: ggml::quantize_q5_1(x, dst, n); return;
    case G::Q8_0: ggml::quantize_q8_0(x, dst, n); return;
    case G::Q4_K: ggml::quantize_q4_k(x, dst, n); return;
    case G::Q6_K: ggml::quantize_q6_k(x, dst, n); return;
    case G::TQ1_0: ggml::quantize_tq1_0(x, dst, n); return;
    case G::TQ2_0: ggml::quantize_tq2_0(x, dst, n); return;
    default: unsupported(t, "written");
  }
}

}  // namespace qforge
