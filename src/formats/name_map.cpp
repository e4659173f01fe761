// Hugging Face tensor names → canonical (llama.cpp GGUF) names.
#include <regex>

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

}  // namespace

std::string canonical_tensor_name(const std::string& hf, ModelFamily family) {
  static const std::regex llama_layer(R"(model\.layers\.(\d+)\.(.+))");
  static const std::regex gpt2_layer(R"((?:transformer\.)?h\.(\d+)\.(.+))");
  std::smatch m;
  if (family == ModelFamily::Llama) {
    if (hf == "model.embed_tokens.weight") return "token_embd.weight";
    if (hf == "model.norm.weight") return "output_norm.weight";
    if (hf == "lm_head.weight") return "output.weight";
    if (std::regex_match(hf, m, llama_layer))
      for (const Rule& r : kLlamaLayer)
        if (m[2] == r.hf) return "blk." + m[1].str() + "." + r.canonical;
    return {};
  }
  const std::string h = hf.rfind("transformer.", 0) == 0 ? hf.substr(12) : hf;
  if (h == "wte.weight") return "token_embd.weight";
  if (h == "wpe.weight") return "position_embd.weight";
  if (h == "ln_f.weight") return "output_norm.weight";
  if (h == "ln_f.bias") return "output_norm.bias";
  if (hf == "lm_head.weight") return "output.weight";
  if (std::regex_match(hf, m, gpt2_layer))
    for (const Rule& r : kGpt2Layer)
      if (m[2] == r.hf) return "blk." + m[1].str() + "." + r.canonical;
  return {};
}

}  // namespace qforge
