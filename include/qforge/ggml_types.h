// ggml tensor types as GGUF stores them: ids, block geometry, and a scalar reference
// dequantizer (and, for the types llama.cpp's reference quantizers cover, a bit-exact
// quantizer) per block type.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "qforge/dtype.h"

namespace qforge {

// Upstream ids only (forks reuse ids >= 40 inconsistently; those are refused).
enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
  I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30, TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
};

struct GgmlTypeInfo {
  GgmlType type;
  std::string_view name;      // "q4_0", as llama.cpp prints it
  int block_elems;            // elements per block (1 for plain types)
  int block_bytes;            // bytes per block
  std::optional<DType> plain; // F32, F16, BF16, I8...: the element type, not a block type
  bool can_dequantize;        // qforge reads it
  bool can_quantize;          // qforge writes it bit-exactly as llama.cpp's reference does

  double bits_per_weight() const { return 8.0 * block_bytes / block_elems; }
};

// nullptr for an id qforge does not know.
const GgmlTypeInfo* ggml_type_info(uint32_t id);
const GgmlTypeInfo& ggml_type_info(GgmlType t);
// Accepts "q4_0", "Q4_0", "f16", ...; throws Error(InvalidArgument) listing the writable types.
GgmlType parse_ggml_type(std::string_view name, bool for_writing);
std::string ggml_writable_type_names();

// Bytes for n elements of a row; throws when n is not a multiple of the block size.
uint64_t ggml_row_bytes(GgmlType t, uint64_t n);

// src holds n/block_elems blocks; dst receives n floats. Throws for unsupported types.
void ggml_dequantize(GgmlType t, std::span<const uint8_t> src, std::span<float> dst);
// The reference quantizer (no importance matrix), bit-exact with llama.cpp's *_ref.
void ggml_quantize(GgmlType t, std::span<const float> src, std::span<uint8_t> dst);

}  // namespace qforge
