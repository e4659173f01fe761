#include "qforge/synth.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "qforge/error.h"
#include "qforge/float_convert.h"
#include "qforge/gguf.h"
#include "qforge/model_writer.h"
#include "qforge/safetensors.h"

namespace qforge {
namespace {

struct Preset {
  const char* name;
  int64_t vocab, hidden, ffn, layers, heads, kv_heads, context;
  double rope_theta;
  bool tied;
};
constexpr Preset kPresets[] = {
    {"tiny", 1024, 256, 688, 2, 4, 2, 512, 10000.0, true},
    {"135m", 49152, 576, 1536, 30, 9, 3, 8192, 100000.0, true},        // SmolLM2-135M's shape
    {"1b", 128256, 2048, 8192, 16, 32, 8, 131072, 500000.0, true},     // Llama-3.2-1B's shape
    {"7b-layer", 32000, 4096, 11008, 1, 32, 32, 4096, 10000.0, false},  // one Llama-2-7B layer
};

const Preset& find(const std::string& name) {
  for (const auto& p : kPresets)
    if (name == p.name) return p;
  std::string list;
  for (const auto& p : kPresets) list += std::string(list.empty() ? "" : ", ") + p.name;
  throw Error(ErrorCategory::InvalidArgument, "synth: unknown preset '" + name + "'; supported: " + list);
}

// rows × cols weights: Student-t(4) noise × a log-normal scale per output row, with ~0.5 % of
// input columns (fixed per seed) scaled by 20–100.
std::vector<float> weight(int64_t rows, int64_t cols, std::mt19937_64& rng) {
  std::student_t_distribution<float> t(4.0f);
  std::lognormal_distribution<float> row_scale(0.0f, 0.3f);
  std::uniform_real_distribution<float> outlier(20.0f, 100.0f);
  const float base = 1.0f / std::sqrt(static_cast<float>(cols));  // keeps activations O(1)
  std::vector<float> col(static_cast<size_t>(cols), 1.0f);
  for (int64_t c = 0; c < cols; ++c)
    if (rng() % 200 == 0) col[static_cast<size_t>(c)] = outlier(rng);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    const float s = base * row_scale(rng) * 0.5f;
    for (int64_t c = 0; c < cols; ++c) w[static_cast<size_t>(r * cols + c)] = s * t(rng) * col[static_cast<size_t>(c)] * 0.05f;
  }
  return w;
}

}  // namespace

std::vector<std::string> synth_presets() {
  std::vector<std::string> v;
  for (const auto& p : kPresets) v.emplace_back(p.name);
  return v;
}

ModelConfig synth_config(const std::string& name) {
  const Preset& p = find(name);
  ModelConfig c;
  c.architecture = "llama";
  c.vocab_size = p.vocab;
  c.hidden_size = p.hidden;
  c.intermediate_size = p.ffn;
  c.num_layers = p.layers;
  c.num_heads = p.heads;
  c.num_kv_heads = p.kv_heads;
  c.head_dim = p.hidden / p.heads;
  c.context_length = p.context;
  c.norm_eps = 1e-5;
  c.rope_theta = p.rope_theta;
  c.tie_word_embeddings = p.tied;
  c.bos_token_id = 1;
  c.eos_token_id = 2;
  return c;
}

int64_t write_synthetic_model(const std::string& preset, const std::string& out, bool gguf, uint64_t seed) {
  const ModelConfig c = synth_config(preset);
  std::mt19937_64 rng(seed);
  const DType dt = gguf ? DType::f16 : DType::bf16;
  std::vector<NamedTensor> ts;
  int64_t params = 0;
  auto add = [&](const std::string& name, Shape shape, std::vector<float> v) {
    Tensor t = Tensor::zeros(dt, shape);
    auto* p = static_cast<uint16_t*>(t.mutable_data());
    if (dt == DType::f16) convert_f32_to_f16(v, {p, v.size()});
    else convert_f32_to_bf16(v, {p, v.size()});
    params += t.numel();
    ts.push_back({name, std::move(t)});
  };
  auto ones = [](int64_t n) { return std::vector<float>(static_cast<size_t>(n), 1.0f); };
  const int64_t d = c.hidden_size, kv = c.kv_dim(), ff = c.intermediate_size;
  add(gguf ? "token_embd.weight" : "model.embed_tokens.weight", {c.vocab_size, d}, weight(c.vocab_size, d, rng));
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = gguf ? "blk." + std::to_string(l) + "." : "model.layers." + std::to_string(l) + ".";
    add(p + (gguf ? "attn_norm.weight" : "input_layernorm.weight"), {d}, ones(d));
    add(p + (gguf ? "attn_q.weight" : "self_attn.q_proj.weight"), {d, d}, weight(d, d, rng));
    add(p + (gguf ? "attn_k.weight" : "self_attn.k_proj.weight"), {kv, d}, weight(kv, d, rng));
    add(p + (gguf ? "attn_v.weight" : "self_attn.v_proj.weight"), {kv, d}, weight(kv, d, rng));
    add(p + (gguf ? "attn_output.weight" : "self_attn.o_proj.weight"), {d, d}, weight(d, d, rng));
    add(p + (gguf ? "ffn_norm.weight" : "post_attention_layernorm.weight"), {d}, ones(d));
    add(p + (gguf ? "ffn_gate.weight" : "mlp.gate_proj.weight"), {ff, d}, weight(ff, d, rng));
    add(p + (gguf ? "ffn_up.weight" : "mlp.up_proj.weight"), {ff, d}, weight(ff, d, rng));
    add(p + (gguf ? "ffn_down.weight" : "mlp.down_proj.weight"), {d, ff}, weight(d, ff, rng));
  }
  add(gguf ? "output_norm.weight" : "model.norm.weight", {d}, ones(d));
  if (!c.tie_word_embeddings) add(gguf ? "output.weight" : "lm_head.weight", {c.vocab_size, d}, weight(c.vocab_size, d, rng));

  if (gguf) {
    ModelFile m;
    m.path = out;
    m.format = ModelFormat::Gguf;
    m.config = c;
    for (const auto& t : ts)
      m.tensors.push_back({t.name, t.name, t.tensor.shape(), t.tensor.dtype(), std::nullopt,
                           {static_cast<const uint8_t*>(t.tensor.data()), t.tensor.nbytes()}});
    write_gguf_model(m, out, GgmlType::F16);
    return params;
  }
  std::filesystem::create_directories(out);
  nlohmann::json j = {{"model_type", "llama"}, {"architectures", {"LlamaForCausalLM"}}, {"vocab_size", c.vocab_size},
                      {"hidden_size", d}, {"intermediate_size", ff}, {"num_hidden_layers", c.num_layers},
                      {"num_attention_heads", c.num_heads}, {"num_key_value_heads", c.num_kv_heads},
                      {"max_position_embeddings", c.context_length}, {"rms_norm_eps", c.norm_eps},
                      {"rope_theta", c.rope_theta}, {"tie_word_embeddings", c.tie_word_embeddings},
                      {"bos_token_id", 1}, {"eos_token_id", 2}, {"torch_dtype", "bfloat16"},
                      {"qforge_synthetic", "preset " + preset + ", seed " + std::to_string(seed) + ": random weights for speed work only"}};
  write_safetensors((std::filesystem::path(out) / "model.safetensors").string(), ts,
                    {{"format", "pt"}});
  std::ofstream((std::filesystem::path(out) / "config.json").string()) << j.dump(2) << "\n";
  return params;
}

}  // namespace qforge
