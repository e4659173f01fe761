// Writing a ModelFile as GGUF (with llama.cpp's metadata keys) or safetensors.
#pragma once

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

// 2-D weights get `type` (rows that are not a whole number of blocks fall back to f16, as
// llama-quantize does); 1-D tensors (norms, biases) stay f32. Quantizers are llama.cpp's
// reference routines, bit for bit.
std::vector<WrittenTensor> write_gguf_model(const ModelFile& m, const std::string& path, GgmlType type);

// Canonical names; `dtype` (f32, f16, bf16) converts every float tensor, otherwise plain
// tensors keep their dtype and GGUF block types are dequantized to f32.
std::vector<WrittenTensor> write_safetensors_model(const ModelFile& m, const std::string& path,
                                                   std::optional<DType> dtype);

// llama.cpp's llama_ftype for a file whose weights are mostly `type`.
uint32_t llama_file_type(GgmlType type);

}  // namespace qforge
