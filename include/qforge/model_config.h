// ModelConfig: the hyper-parameters of a decoder, from a Hugging Face config.json, a GGUF
// file's metadata or a llama2.c header.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qforge {

enum class ModelFamily { Llama, Gpt2 };

struct RopeScaling {  // Llama 3's "llama3" rope_scaling
  std::string type;
  double factor = 1, low_freq_factor = 1, high_freq_factor = 4;
  int64_t original_max_position_embeddings = 8192;
};

struct ModelConfig {
  std::string architecture;  // HF model_type: llama, mistral, qwen2, qwen3, gpt2
  ModelFamily family = ModelFamily::Llama;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t context_length = 0;  // max_position_embeddings / n_positions
  double norm_eps = 1e-5;      // rms_norm_eps (llama family) or layer_norm_epsilon (gpt2)
  double rope_theta = 10000;
  std::optional<RopeScaling> rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v biases (Qwen2)
  bool qk_norm = false;         // RMSNorm on q and k (Qwen3)
  std::string hidden_act = "silu";  // silu (llama family); gelu_new / gelu_pytorch_tanh (tanh form) or gelu (erf) for gpt2
  std::optional<int64_t> bos_token_id, eos_token_id;
  // generation_config.json, when the folder has one
  std::optional<double> temperature, top_p;
  std::optional<int64_t> top_k;

  int64_t kv_dim() const { return num_kv_heads * head_dim; }
  // Parameters of the weights this config implies (embeddings counted once when tied).
  int64_t parameter_count() const;
  // Throws Error(BadFile) naming `source` when a field is missing or inconsistent.
  void validate(const std::string& source) const;
};

// The architectures config.json may name, for error messages.
std::vector<std::string> supported_architectures();

// Reads config.json (and generation_config.json beside it, if present).
ModelConfig read_hf_config(const std::string& config_json_path);
ModelConfig parse_hf_config(const std::string& json_text, const std::string& source);

}  // namespace qforge
