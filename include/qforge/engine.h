// The transformer runtime (float weights, f32 compute), one family per source file:
// - Llama family (llama, mistral, qwen2, qwen3): RMSNorm, RoPE (llama.cpp's pair layout for
//   llama/mistral, half-split for qwen2/qwen3, llama3 scaling), grouped-query attention,
//   SwiGLU, tied or separate output, optional q/k/v biases (Qwen2) and q/k RMSNorm (Qwen3).
// - GPT-2: LayerNorm, learned positions, fused q/k/v, GELU, Conv1D weights read as [out, in].
// Both keep a KV cache and run a whole prompt at once or one token at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "qforge/model_file.h"

namespace qforge {

struct EngineOptions {
  int threads = 2;
  int64_t context = 0;  // KV cache length; 0 = the model's context length
  // Weight matrices run in their stored type (GGUF blocks, f16, bf16) through the dot kernels,
  // activations quantized to int8 for the integer formats (one scale per 32, per 256 for Q4_K,
  // TQ1_0 and TQ2_0). `dequantize` converts every
  // weight to f32 at load instead: the reference path, 2–8× the memory.
  bool dequantize = false;
  // With `dequantize`: also round activations through the native kernel's int8 grid (quantize, then
  // dequantize to f32) before the layers stored in an integer format — the float emulation of the
  // integer path, which tests hold the kernels to.
  bool emulate_int8_activations = false;
};

// Sees the activations entering each linear layer (n_tokens × in_features, row-major), so
// calibration can reuse the runtime. Canonical weight names, e.g. "blk.3.attn_q.weight".
using LinearObserver = std::function<void(const std::string& weight, const float* x, int64_t n_tokens, int64_t in)>;

class Model {
 public:
  // The model's weights are used in place (memory-mapped) where their type allows; the
  // ModelFile may be destroyed afterwards.
  static std::unique_ptr<Model> load(const ModelFile& file, const EngineOptions& options = {});
  ~Model();

  const ModelConfig& config() const;
  int64_t position() const;  // tokens in the KV cache
  int64_t context() const;
  void reset();              // empties the KV cache

  // Runs tokens at positions position()..position()+n−1 (a whole prompt at once, or one token
  // while decoding) and returns logits: vocab_size floats for the last token, or for every
  // token (n × vocab_size) when all_logits is set. Results do not depend on the thread count.
  std::vector<float> forward(std::span<const int32_t> tokens, bool all_logits = false);

  void set_observer(LinearObserver observer);

  // Layer by layer, for quantization pipelines. Hidden states are n × hidden_size floats;
  // embed and run_block work at positions position()..position()+n−1 and do not advance it
  // (run_block writes that block's KV cache rows), so one sequence goes through block 0 for
  // every sample, then block 1, ... with reset() between samples.
  int64_t num_blocks() const;
  std::vector<float> embed(std::span<const int32_t> tokens);
  void run_block(int64_t block, std::span<float> hidden);
  // The canonical names of a block's linear layers in execution order (q, k, v, o, gate, up,
  // down for Llama), and of every linear layer the runtime has.
  const std::vector<std::string>& block_linears(int64_t block) const;
  // Replaces a linear layer's weight by f32 values of the same [rows, cols] shape (the
  // dequantized result of a quantization method); later passes compute with it.
  void set_linear_weight(const std::string& name, Tensor f32);
  // Frees block `block`'s linear weights once a pipeline is done with it (it then runs each
  // block once, in order); running that block, or forward(), afterwards throws.
  void release_block(int64_t block);
  // Replaces a norm weight or bias (f32, same length): AWQ folds its scales into them.
  void set_vector(const std::string& name, Tensor f32);
  bool has_vector(const std::string& name) const;
  const Tensor& vector(const std::string& name) const;

 private:
  Model();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qforge
