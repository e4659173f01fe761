// config.json → ModelConfig for the Llama family (llama, mistral, qwen2, qwen3; SmolLM and
// TinyLlama are llama) and GPT-2.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "qforge/error.h"
#include "qforge/mapped_file.h"
#include "qforge/model_config.h"

namespace qforge {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& source, const std::string& field, const std::string& what) {
  throw Error(ErrorCategory::BadFile, source + ": " + field + ": " + what);
}

int64_t get_int(const json& j, const char* key, const std::string& src, std::optional<int64_t> fallback = {}) {
  if (!j.contains(key) || j[key].is_null()) {
    if (fallback) return *fallback;
    bad(src, key, "missing");
  }
  if (!j[key].is_number_integer()) bad(src, key, "must be an integer");
  const auto v = j[key].get<int64_t>();
  if (v < 0) bad(src, key, "must not be negative");
  return v;
}

double get_num(const json& j, const char* key, const std::string& src, double fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_number()) bad(src, key, "must be a number");
  return j[key].get<double>();
}

std::optional<int64_t> token_id(const json& j, const char* key) {
  if (!j.contains(key)) return std::nullopt;
  const json& v = j[key];
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_array() && !v.empty() && v[0].is_number_integer()) return v[0].get<int64_t>();  // eos lists
  return std::nullopt;
}

}  // namespace

std::vector<std::string> supported_architectures() {
  return {"llama", "mistral", "qwen2", "qwen3", "gpt2"};
}

int64_t ModelConfig::parameter_count() const {
  const int64_t h = hidden_size, v = vocab_size, ff = intermediate_size, L = num_layers;
  const int64_t q = num_heads * head_dim;
  int64_t per_layer;
  if (family == ModelFamily::Gpt2) {
    per_layer = h * 3 * h + 3 * h + h * h + h + 2 * h * ff + ff + h + 4 * h;  // attn, mlp, 2 LayerNorms
    return v * h + context_length * h + L * per_layer + 2 * h + (tie_word_embeddings ? 0 : v * h);
  }
  per_layer = h * q + 2 * h * kv_dim() + q * h + 3 * h * ff + 2 * h;
  if (attention_bias) per_layer += q + 2 * kv_dim();
  if (qk_norm) per_layer += 2 * head_dim;
  return v * h + L * per_layer + h + (tie_word_embeddings ? 0 : v * h);
}

void ModelConfig::validate(const std::string& source) const {
  auto positive = [&](int64_t v, const char* name) {
    if (v <= 0) bad(source, name, "must be positive, got " + std::to_string(v));
  };
  positive(vocab_size, "vocab_size");
  positive(hidden_size, "hidden_size");
  positive(intermediate_size, "intermediate_size");
  positive(num_layers, "num_hidden_layers");
  positive(num_heads, "num_attention_heads");
  positive(num_kv_heads, "num_key_value_heads");
  positive(head_dim, "head_dim");
  if (num_heads % num_kv_heads != 0)
    bad(source, "num_key_value_heads", std::to_string(num_kv_heads) + " does not divide num_attention_heads " +
                                           std::to_string(num_heads));
  if (family == ModelFamily::Llama && head_dim % 2 != 0) bad(source, "head_dim", "RoPE needs an even head_dim");
  if (!(norm_eps > 0)) bad(source, "rms_norm_eps", "must be positive");
  if (!(rope_theta > 0)) bad(source, "rope_theta", "must be positive");
  if (family == ModelFamily::Llama && hidden_act != "silu")
    throw Error(ErrorCategory::Unsupported, source + ": hidden_act '" + hidden_act + "' is not supported; supported: silu");
  if (family == ModelFamily::Gpt2 && hidden_act != "gelu_new" && hidden_act != "gelu_pytorch_tanh" && hidden_act != "gelu")
    throw Error(ErrorCategory::Unsupported, source + ": activation_function '" + hidden_act +
                                                "' is not supported; supported: gelu_new, gelu_pytorch_tanh, gelu");
}

ModelConfig parse_hf_config(const std::string& text, const std::string& src) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) bad(src, "config", "is not a JSON object");
  std::string type = j.contains("model_type") && j["model_type"].is_string() ? j["model_type"].get<std::string>() : "";
  ModelConfig c;
  c.architecture = type;
  std::string list;
  for (const auto& a : supported_architectures()) list += (list.empty() ? "" : ", ") + a;
  if (type == "gpt2") {
    c.family = ModelFamily::Gpt2;
    c.vocab_size = get_int(j, "vocab_size", src);
    c.hidden_size = get_int(j, "n_embd", src);
    c.num_layers = get_int(j, "n_layer", src);
    c.num_heads = get_int(j, "n_head", src);
    c.num_kv_heads = c.num_heads;
    c.intermediate_size = get_int(j, "n_inner", src, 4 * c.hidden_size);
    c.context_length = get_int(j, "n_positions", src);
    c.norm_eps = get_num(j, "layer_norm_epsilon", src, 1e-5);
    c.tie_word_embeddings = true;
    c.attention_bias = true;
    c.hidden_act = j.contains("activation_function") && j["activation_function"].is_string()
                       ? j["activation_function"].get<std::string>()
                       : "gelu_new";
    if (c.num_heads > 0) c.head_dim = c.hidden_size / c.num_heads;
  } else if (type == "llama" || type == "mistral" || type == "qwen2" || type == "qwen3") {
    c.family = ModelFamily::Llama;
    c.vocab_size = get_int(j, "vocab_size", src);
    c.hidden_size = get_int(j, "hidden_size", src);
    c.intermediate_size = get_int(j, "intermediate_size", src);
    c.num_layers = get_int(j, "num_hidden_layers", src);
    c.num_heads = get_int(j, "num_attention_heads", src);
    c.num_kv_heads = get_int(j, "num_key_value_heads", src, c.num_heads);
    c.head_dim = get_int(j, "head_dim", src, c.num_heads > 0 ? c.hidden_size / c.num_heads : 0);
    c.context_length = get_int(j, "max_position_embeddings", src, 2048);
    c.norm_eps = get_num(j, "rms_norm_eps", src, 1e-6);
    c.rope_theta = get_num(j, "rope_theta", src, 10000.0);
    c.tie_word_embeddings = j.contains("tie_word_embeddings") && j["tie_word_embeddings"].is_boolean()
                                ? j["tie_word_embeddings"].get<bool>()
                                : false;
    c.attention_bias = type == "qwen2" || (j.contains("attention_bias") && j["attention_bias"].is_boolean() &&
                                           j["attention_bias"].get<bool>());
    c.qk_norm = type == "qwen3";
    if (j.contains("hidden_act") && j["hidden_act"].is_string()) c.hidden_act = j["hidden_act"].get<std::string>();
    if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) {
      const json& rs = j["rope_scaling"];
      RopeScaling s;
      s.type = rs.contains("rope_type") && rs["rope_type"].is_string() ? rs["rope_type"].get<std::string>()
               : rs.contains("type") && rs["type"].is_string()         ? rs["type"].get<std::string>()
                                                                       : "";
      if (s.type != "llama3")
        throw Error(ErrorCategory::Unsupported, src + ": rope_scaling: type '" + s.type + "' is not supported; supported: llama3");
      s.factor = get_num(rs, "factor", src, 8.0);
      s.low_freq_factor = get_num(rs, "low_freq_factor", src, 1.0);
      s.high_freq_factor = get_num(rs, "high_freq_factor", src, 4.0);
      s.original_max_position_embeddings = get_int(rs, "original_max_position_embeddings", src, 8192);
      c.rope_scaling = s;
    }
  } else {
    throw Error(ErrorCategory::Unsupported,
                src + ": model_type '" + type + "' is not supported; supported: " + list + " (SmolLM and TinyLlama are llama)");
  }
  c.bos_token_id = token_id(j, "bos_token_id");
  c.eos_token_id = token_id(j, "eos_token_id");
  c.validate(src);
  return c;
}

ModelConfig read_hf_config(const std::string& path) {
  ModelConfig c = parse_hf_config(read_file_text(path), path);
  const auto gen = std::filesystem::path(path).parent_path() / "generation_config.json";
  if (std::filesystem::exists(gen)) {
    const json g = json::parse(read_file_text(gen.string()), nullptr, false);
    if (g.is_object()) {
      if (g.contains("temperature") && g["temperature"].is_number()) c.temperature = g["temperature"].get<double>();
      if (g.contains("top_p") && g["top_p"].is_number()) c.top_p = g["top_p"].get<double>();
      if (g.contains("top_k") && g["top_k"].is_number_integer()) c.top_k = g["top_k"].get<int64_t>();
      if (auto b = token_id(g, "bos_token_id")) c.bos_token_id = b;
      if (auto e = token_id(g, "eos_token_id")) c.eos_token_id = e;
    }
  }
  return c;
}

}  // namespace qforge
