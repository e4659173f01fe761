// AutoGPTQ's checkpoint layout (a Hugging Face folder whose linears are stored as qweight,
// qzeros, scales and g_idx), written so that AutoGPTQ, GPTQModel and transformers load it, and
// read back so that qforge runs such folders. docs/formats.md ("GPTQ folders") gives the layout;
// ../shared/reference/formats-and-algorithms.md D1 is the spec it follows.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "qforge/model_file.h"
#include "qforge/model_writer.h"
#include "qforge/tensor.h"
#include "qforge/weight_grid.h"

namespace qforge {

// How qzeros holds a zero point z: v1 (AutoGPTQ, "gptq") stores z − 1 in b bits, so z = 0
// cannot be stored; v2 (GPTQModel, "gptq_v2") stores z.
enum class GptqZeros : uint8_t { V1, V2 };

// One linear layer, K = in, N = out, in the file's layout. Codes and zero points are b-bit
// fields packed LSB-first into int32 words (32 codes in three words at 3 bits): codes along K
// (qweight[K·b/32, N]), zero points along N (qzeros[G, N·b/32]); scales f16 [G, N]; g_idx[K]
// the group of each input column.
struct GptqLinear {
  int bits = 4;
  int64_t in = 0, out = 0, groups = 0;
  std::vector<int32_t> qweight, qzeros, g_idx;
  std::vector<uint16_t> scales;
};

// Why a [rows, cols] matrix on `grid` cannot be stored in the layout; empty when it can.
// Grids: integer symmetric/asymmetric at 2, 3, 4 or 8 bits; cols·b and rows·b multiples of 32.
std::string gptq_unfit_reason(const WeightGrid& grid, int64_t rows, int64_t cols);

// The row of the canonical matrix that Hugging Face's layout holds at each row: the inverse
// of the RoPE permutation qforge applies to llama/mistral q and k weights on read; empty
// (identity) for every other tensor.
std::vector<int64_t> hf_row_order(const ModelConfig& c, const std::string& canonical_name, int64_t rows);

// q in the layout, rows taken in `row_order` (empty: as they are). Throws
// Error(InvalidArgument) when gptq_unfit_reason() is not empty or a zero point does not fit.
GptqLinear gptq_pack(const QuantizedMatrix& q, GptqZeros zeros, std::span<const int64_t> row_order = {});

// Back to a grid matrix in canonical row order (symmetric when every zero point is 2^(b−1)),
// when g_idx is k / group_size and the zero points are codes; nullopt otherwise (act-order
// files, v1's overflowed z = 2^b): use gptq_dequantize.
std::optional<QuantizedMatrix> gptq_to_matrix(const GptqLinear& g, int64_t group_size, GptqZeros zeros,
                                              std::span<const int64_t> row_order = {});
// f32 [out, in] by the layout's own rule W[n,k] = s[g_idx[k], n]·(q[k,n] − z[g_idx[k], n]).
Tensor gptq_dequantize(const GptqLinear& g, GptqZeros zeros, std::span<const int64_t> row_order = {});

struct GptqCheckpointOptions {
  GptqZeros zeros = GptqZeros::V1;
  double damp = 0.01;
  bool desc_act = false, static_groups = false, true_sequential = false;
  DType others = DType::f16;  // the tensors left in float (embeddings, norms, head)
};

// Throws Error(InvalidArgument) when `dir` is not a place write_gptq_checkpoint may write
// (a file, or a non-empty folder that is not an earlier result).
void check_gptq_destination(const std::string& dir);

// Writes the folder `dir`: model.safetensors with Hugging Face names, config.json with
// quantization_config, quantize_config.json, and the tokenizer files of a Hugging Face
// source. Every linear of every block must be in `linears` on one grid. `floats` replace
// tensors a method changed (AWQ's norms). The folder appears whole or not at all; an existing
// folder is replaced only when it holds a quantize_config.json (an earlier result).
std::vector<WrittenTensor> write_gptq_checkpoint(const ModelFile& m, const std::string& dir,
                                                 const std::map<std::string, GptqLinear>& linears, const WeightGrid& grid,
                                                 const GptqCheckpointOptions& o,
                                                 const std::map<std::string, std::string>& metadata = {},
                                                 const std::map<std::string, Tensor>& floats = {});

// A Hugging Face folder whose config.json names quant_method "gptq": replaces f's qweight /
// qzeros / scales / g_idx tensors by one tensor per linear (packed on a grid, or f32 for
// act-order files). `config_text` is config.json.
void add_gptq_layers(ModelFile& f, const std::string& config_text, const std::string& config_path);

}  // namespace qforge
