// Hugging Face tensor names → canonical (llama.cpp GGUF) names.
#include <cctype>
#include <optional>

#include "qforge/model_file.h"

namespace qforge {
namespace {

struct Rule {
  const char* hf;         // suffix after "model.layers.N." / "h.N." for per-layer tensors
  const char* canonical;  // after "blk.N."
};

constexpr Rule kLlamaLayer[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.q_norm.weight", "attn_q_norm.weight"},
    {"self_attn.k_norm.weight", "attn_k_norm.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
};
constexpr Rule kGpt2Layer[] = {
    {"ln_1.weight", "attn_norm.weight"},     {"ln_1.bias", "attn_norm.bias"},
    {"attn.c_attn.weight", "attn_qkv.weight"}, {"attn.c_attn.bias", "attn_qkv.bias"},
    {"attn.c_proj.weight", "attn_output.weight"}, {"attn.c_proj.bias", "attn_output.bias"},
    {"ln_2.weight", "ffn_norm.weight"},      {"ln_2.bias", "ffn_norm.bias"},
    {"mlp.c_fc.weight", "ffn_up.weight"},    {"mlp.c_fc.bias", "ffn_up.bias"},
    {"mlp.c_proj.weight", "ffn_down.weight"}, {"mlp.c_proj.bias", "ffn_down.bias"},
};

// "PREFIX<digits>.rest" → (digits, rest)
std::optional<std::pair<std::string, std::string>> split_layer(const std::string& name, const std::string& prefix) {
  if (name.rfind(prefix, 0) != 0) return std::nullopt;
  size_t i = prefix.size(), j = i;
  while (j < name.size() && std::isdigit(static_cast<unsigned char>(name[j]))) ++j;
  if (j == i || j >= name.size() || name[j] != '.') return std::nullopt;
  return std::make_pair(name.substr(i, j - i), name.substr(j + 1));
}

}  // namespace

std::string canonical_tensor_name(const std::string& hf, ModelFamily family) {
  if (family == ModelFamily::Llama) {
    if (hf == "model.embed_tokens.weight") return "token_embd.weight";
    if (hf == "model.norm.weight") return "output_norm.weight";
    if (hf == "lm_head.weight") return "output.weight";
    if (const auto l = split_layer(hf, "model.layers."))
      for (const Rule& r : kLlamaLayer)
        if (l->second == r.hf) return "blk." + l->first + "." + r.canonical;
    return {};
  }
  const std::string h = hf.rfind("transformer.", 0) == 0 ? hf.substr(12) : hf;
  if (h == "wte.weight") return "token_embd.weight";
  if (h == "wpe.weight") return "position_embd.weight";
  if (h == "ln_f.weight") return "output_norm.weight";
  if (h == "ln_f.bias") return "output_norm.bias";
  if (hf == "lm_head.weight") return "output.weight";
  if (const auto l = split_layer(h, "h."))
    for (const Rule& r : kGpt2Layer)
      if (l->second == r.hf) return "blk." + l->first + "." + r.canonical;
  return {};
}

std::string hf_tensor_name(const std::string& canonical, ModelFamily family) {
  if (family != ModelFamily::Llama) return {};  // GPT-2's Conv1D layers are stored transposed: not written back
  if (canonical == "token_embd.weight") return "model.embed_tokens.weight";
  if (canonical == "output_norm.weight") return "model.norm.weight";
  if (canonical == "output.weight") return "lm_head.weight";
  if (const auto l = split_layer(canonical, "blk."))
    for (const Rule& r : kLlamaLayer)
      if (l->second == r.canonical) return "model.layers." + l->first + "." + r.hf;
  return {};
}

}  // namespace qforge
