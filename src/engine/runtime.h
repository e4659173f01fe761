// What every decoder family shares: the config, the thread pool, the KV cache, causal
// attention over it, and linear layers that report their input to the observer. A family
// (llama.cpp, gpt2.cpp) adds its weights and its forward pass.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/thread_pool.h"
#include "engine/weight.h"
#include "qforge/engine.h"
#include "qforge/model_file.h"

namespace qforge::engine {

struct Runtime {
  Runtime(const ModelFile& file, const EngineOptions& options);
  virtual ~Runtime() = default;
  // A forward pass is embed → every block → head; the three are also run separately, block
  // by block, by quantization pipelines. Blocks read and write n × hidden_size floats at
  // positions pos..pos+n−1 (their KV cache rows); none of them advances pos.
  std::vector<float> forward(std::span<const int32_t> tokens, bool all_logits);
  virtual void embed(std::span<const int32_t> tokens, float* x) = 0;
  virtual void block(size_t layer, float* x, int64_t n) = 0;
  virtual std::vector<float> head(float* x, int64_t n, bool all_logits) = 0;

  // y = x·wᵀ (+ b); `name` is only materialised for the observer (decode calls this often).
  void linear(const std::string& prefix, const char* name, const Weight& w, const Tensor& b, const float* x, int64_t n,
              float* y);
  Weight matrix(const ModelFile& f, const std::string& name, int64_t rows, int64_t cols, bool required) const {
    return load_matrix(f, name, rows, cols, required, dequantize);
  }
  // Stores n rows of k and v at positions pos..pos+n−1 of layer l's cache.
  void store_kv(size_t layer, const float* k, const float* v, int64_t n);
  // Causal softmax(q·kᵀ/√d)·v for n query rows at positions pos.., grouped-query heads.
  void attention(size_t layer, const float* q, int64_t n, float* out);
  // Throws unless positions pos..pos+n−1 fit and every id is in the vocabulary.
  void check_tokens(std::span<const int32_t> tokens) const;

  ModelConfig c;
  bool dequantize = false, emulate_a8 = false;
  int64_t ctx = 0, pos = 0;
  ThreadPool pool;
  // per layer: keys [ctx][kv_dim], values transposed [kv_dim][v_row] (rows of the P·V matmul;
  // v_row = ctx rounded up to a whole 8, the tail zero)
  std::vector<std::vector<float>> k_cache, v_cache;
  int64_t v_row = 0;
  LinearObserver observer;
  std::map<std::string, Weight*> linears;  // canonical name → the family's weight, every linear layer
  std::vector<std::vector<std::string>> block_linears;  // per block, in execution order
  std::vector<bool> released;  // per block: its weights were freed (Model::release_block)
  std::map<std::string, Tensor*> vectors;  // norm weights and biases a quantization method may rescale
  // Fills `linears` and `block_linears` from names → weights; families call it once built.
  void register_linear(int64_t block, const std::string& name, Weight& w);
  void register_vector(const std::string& name, Tensor& t) {
    if (t.numel()) vectors[name] = &t;
  }
};

std::unique_ptr<Runtime> make_llama_runtime(const ModelFile& file, const EngineOptions& options);
std::unique_ptr<Runtime> make_gpt2_runtime(const ModelFile& file, const EngineOptions& options);

// The f32 weight `name` of `file`, which must have shape `want`; empty when absent and not required.
Tensor load_weight(const ModelFile& file, const std::string& name, const Shape& want, bool required);

inline const float* ptr(const Tensor& t) { return t.numel() ? t.span<float>().data() : nullptr; }

}  // namespace qforge::engine
