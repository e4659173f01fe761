// A model as stored on disk, whatever the format: canonical tensor names, shapes, storage
// types and zero-copy data, plus the config and vocabulary when the files carry them.
//
// Canonical names are llama.cpp's GGUF names (token_embd.weight, blk.N.attn_q.weight, ...)
// with PyTorch's [out, in] orientation; q/k weights follow llama.cpp's RoPE layout for the
// architecture (Hugging Face llama/mistral weights are permuted on read, as its converter does).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "qforge/act_quant.h"
#include "qforge/ggml_types.h"
#include "qforge/model_config.h"
#include "qforge/tensor.h"
#include "qforge/weight_grid.h"

namespace qforge {

enum class ModelFormat { Safetensors, Gguf, HfFolder, Llama2c };
std::string_view model_format_name(ModelFormat f);

struct ModelTensor {
  std::string name;         // canonical
  std::string source_name;  // as the file names it
  Shape shape;              // outermost first
  DType dtype = DType::f32; // element type of plain data
  std::optional<GgmlType> block;  // set for GGUF block-quantized data
  std::span<const uint8_t> data;
  int64_t rope_permute_heads = 0;  // > 0: rows are permuted into llama.cpp's RoPE layout on read
  bool stored_transposed = false;  // data is [in, out] (GPT-2's Conv1D); read back as [out, in]
  std::optional<PackedView> packed = std::nullopt;  // a qforge checkpoint's quantized weight (data = its codes)
  std::optional<ActQuantSpec> act = std::nullopt;   // W8A8: how the engine quantizes this linear's input

  int64_t numel() const { return shape_numel(shape); }
  uint64_t nbytes() const { return packed ? packed->nbytes() : data.size(); }
  std::string type_name() const;  // "q4_k", "bf16", ...
};

struct Vocab {
  std::string model = "llama";  // tokenizer.ggml.model: "llama" (SentencePiece) or "gpt2" (byte-level BPE)
  std::string pre;              // tokenizer.ggml.pre: the byte-level pre-tokenizer ("gpt2", "smollm", ...)
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;   // 1 normal, 2 unknown, 3 control, 6 byte (llama.cpp's token types)
  std::vector<std::string> merges;  // byte-level BPE merges "a b", highest priority first
  int64_t bos = 1, eos = 2, unk = 0;
  bool add_bos = true;
  bool add_space_prefix = true;
  bool ignore_merges = false;  // byte-level BPE: a pre-token that is itself a token skips the merges (Llama 3)
};

struct ModelFile {
  std::string path;
  ModelFormat format = ModelFormat::Safetensors;
  uint64_t file_bytes = 0;
  std::optional<ModelConfig> config;
  std::optional<Vocab> vocab;
  std::string vocab_error;  // why `vocab` is empty although the model ships a tokenizer
  std::map<std::string, std::string> metadata;  // safetensors __metadata__ or GGUF scalars, as text
  std::vector<ModelTensor> tensors;
  std::vector<std::shared_ptr<const void>> keepalive;

  const ModelTensor* find(const std::string& canonical_name) const;
};

// A Hugging Face folder, a .safetensors file (or its index), a .gguf file, or a llama2.c
// checkpoint (a tokenizer.bin beside it is read too). Errors name the file and the field.
ModelFile open_model(const std::string& path);

// The f32 values of a tensor: dequantized, converted, RoPE-permuted as the name promises.
Tensor tensor_to_f32(const ModelTensor& t);

// Hugging Face name → canonical name (empty when the name is not recognised).
std::string canonical_tensor_name(const std::string& hf_name, ModelFamily family);
// And back, for writing Hugging Face checkpoints (Llama family only; empty when unknown).
std::string hf_tensor_name(const std::string& canonical, ModelFamily family);

// llama2.c pieces: the 7-int32 legacy header and tokenizer.bin (the parse_ forms take bytes
// already in memory; `keepalive` owns them).
ModelFile read_llama2c(const std::string& path);
ModelFile parse_llama2c(std::span<const uint8_t> bytes, const std::string& path, std::shared_ptr<const void> keepalive);
Vocab read_llama2c_tokenizer(const std::string& path, int64_t vocab_size);
Vocab parse_llama2c_tokenizer(std::span<const uint8_t> bytes, const std::string& path, int64_t vocab_size);

// SentencePiece's tokenizer.model (protobuf; BPE models only: the encoder is SentencePiece BPE).
Vocab read_sentencepiece_model(const std::string& path);
Vocab parse_sentencepiece_model(std::span<const uint8_t> bytes, const std::string& path);

// Hugging Face's tokenizer.json with a byte-level BPE model. The pre-tokenizer is recognised
// as gpt2, smollm, llama3 or qwen2 (others are refused, listing these); added tokens marked
// special become control tokens. BOS/EOS come from the post-processor and
// tokenizer_config.json beside the file, when there is one.
Vocab read_tokenizer_json(const std::string& path);
Vocab parse_tokenizer_json(const std::string& json_text, const std::string& source,
                           const std::string& tokenizer_config_text = "");

}  // namespace qforge
