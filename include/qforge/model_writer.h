// Writing a ModelFile as GGUF (with llama.cpp's metadata keys) or safetensors.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "qforge/model_file.h"

namespace qforge {

struct WrittenTensor {
  std::string name;
  std::string type;  // as stored: "q4_0", "f32", ...
  Shape shape;
  uint64_t bytes;
  std::string note;  // why it differs from the requested type, if it does
};

// The type a tensor of this shape is stored as when `requested` is asked for: 1-D tensors
// (norms, biases) stay f32; a row that is not a whole number of blocks falls back as
// llama-quantize does (q4_k → q5_0, q6_k → q8_0), and to f16 when that does not fit either.
// `note` (optional) receives the reason for a fallback.
GgmlType gguf_storage_type(const Shape& shape, GgmlType requested, std::string* note = nullptr);

// Every tensor stored as gguf_storage_type() says. Quantizers are llama.cpp's reference
// routines, bit for bit.
std::vector<WrittenTensor> write_gguf_model(const ModelFile& m, const std::string& path, GgmlType type);

// A tensor whose stored bytes were computed elsewhere (a quantization method's result).
struct PreparedTensor {
  GgmlType type;
  std::vector<uint8_t> bytes;  // ggml_row_bytes(type, row) per row
  std::string note;
};

// The model as GGUF with `prepared` tensors stored as given and every other tensor as
// gguf_storage_type(shape, `others`) says (norms stay f32). general.file_type names
// `main_type`; `metadata` adds string keys (e.g. how the weights were quantized).
std::vector<WrittenTensor> write_gguf_model(const ModelFile& m, const std::string& path, GgmlType main_type,
                                            const std::map<std::string, PreparedTensor>& prepared, GgmlType others,
                                            const std::map<std::string, std::string>& metadata = {});

// Canonical names; `dtype` (f32, f16, bf16) converts every float tensor, otherwise plain
// tensors keep their dtype and GGUF block types are dequantized to f32.
std::vector<WrittenTensor> write_safetensors_model(const ModelFile& m, const std::string& path,
                                                   std::optional<DType> dtype);

// llama.cpp's llama_ftype for a file whose weights are mostly `type`.
uint32_t llama_file_type(GgmlType type);

}  // namespace qforge
