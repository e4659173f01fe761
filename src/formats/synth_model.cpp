#include "qforge/synth.h"

#include <cmath>
#include <filesystem>
#include <functional>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <span>

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

constexpr Preset kGpt2Presets[] = {
    {"tiny", 1024, 256, 1024, 2, 4, 4, 512, 0.0, true},
    {"124m", 50257, 768, 3072, 12, 12, 12, 1024, 0.0, true},  // GPT-2 small's shape
};

std::span<const Preset> presets_of(const std::string& arch) {
  if (arch == "llama") return kPresets;
  if (arch == "gpt2") return kGpt2Presets;
  throw Error(ErrorCategory::Unsupported, "synth: --arch " + arch + " is not supported; supported: llama, gpt2");
}

const Preset& find(const std::string& name, const std::string& arch) {
  for (const auto& p : presets_of(arch))
    if (name == p.name) return p;
  std::string list;
  for (const auto& p : presets_of(arch)) list += std::string(list.empty() ? "" : ", ") + p.name;
  throw Error(ErrorCategory::InvalidArgument, "synth: unknown " + arch + " preset '" + name + "'; supported: " + list);
}

// n values around `center` with Gaussian noise of `spread` (norm gains and biases).
std::vector<float> around(int64_t n, float center, float spread, std::mt19937_64& rng) {
  std::normal_distribution<float> g(center, spread);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = g(rng);
  return v;
}

// The transpose of a rows × cols matrix (GPT-2's Conv1D stores weights as [in, out]).
std::vector<float> transposed(const std::vector<float>& w, int64_t rows, int64_t cols) {
  std::vector<float> t(w.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) t[static_cast<size_t>(c * rows + r)] = w[static_cast<size_t>(r * cols + c)];
  return t;
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

using AddTensor = std::function<void(const std::string& name, Shape shape, std::vector<float> values)>;

// HF names (GPT2LMHeadModel, Conv1D weights stored [in, out]) or canonical GGUF names ([out, in]).
void add_gpt2_tensors(const ModelConfig& c, bool gguf, std::mt19937_64& rng, const AddTensor& add) {
  const int64_t d = c.hidden_size, ff = c.intermediate_size;
  auto lin = [&](const std::string& hf, const std::string& canon, int64_t rows, int64_t cols) {
    auto w = weight(rows, cols, rng);
    if (gguf) add(canon + ".weight", {rows, cols}, std::move(w));
    else add(hf + ".weight", {cols, rows}, transposed(w, rows, cols));
    add((gguf ? canon : hf) + ".bias", {rows}, around(rows, 0.0f, 0.02f, rng));
  };
  auto norm = [&](const std::string& hf, const std::string& canon) {
    add((gguf ? canon : hf) + ".weight", {d}, around(d, 1.0f, 0.1f, rng));
    add((gguf ? canon : hf) + ".bias", {d}, around(d, 0.0f, 0.05f, rng));
  };
  add(gguf ? "token_embd.weight" : "transformer.wte.weight", {c.vocab_size, d}, weight(c.vocab_size, d, rng));
  add(gguf ? "position_embd.weight" : "transformer.wpe.weight", {c.context_length, d}, around(c.context_length * d, 0.0f, 0.02f, rng));
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string hp = "transformer.h." + std::to_string(l) + ".", cp = "blk." + std::to_string(l) + ".";
    norm(hp + "ln_1", cp + "attn_norm");
    lin(hp + "attn.c_attn", cp + "attn_qkv", 3 * d, d);
    lin(hp + "attn.c_proj", cp + "attn_output", d, d);
    norm(hp + "ln_2", cp + "ffn_norm");
    lin(hp + "mlp.c_fc", cp + "ffn_up", ff, d);
    lin(hp + "mlp.c_proj", cp + "ffn_down", d, ff);
  }
  norm("transformer.ln_f", "output_norm");
}

void add_llama_tensors(const ModelConfig& c, bool gguf, std::mt19937_64& rng, const AddTensor& add) {
  const int64_t d = c.hidden_size, kv = c.kv_dim(), ff = c.intermediate_size;
  auto ones = [](int64_t n) { return std::vector<float>(static_cast<size_t>(n), 1.0f); };
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
}

}  // namespace

std::vector<std::string> synth_presets(const std::string& arch) {
  std::vector<std::string> v;
  for (const auto& p : presets_of(arch)) v.emplace_back(p.name);
  return v;
}

ModelConfig synth_config(const std::string& name, const std::string& arch) {
  const Preset& p = find(name, arch);
  ModelConfig c;
  c.architecture = arch;
  if (arch == "gpt2") {
    c.family = ModelFamily::Gpt2;
    c.hidden_act = "gelu_new";
    c.attention_bias = true;
  }
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

int64_t write_synthetic_model(const std::string& preset, const std::string& out, bool gguf, uint64_t seed,
                              const std::string& arch) {
  const ModelConfig c = synth_config(preset, arch);
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
  const int64_t d = c.hidden_size, ff = c.intermediate_size;
  if (c.family == ModelFamily::Gpt2) add_gpt2_tensors(c, gguf, rng, add);
  else add_llama_tensors(c, gguf, rng, add);

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
  const std::string note = "preset " + preset + ", seed " + std::to_string(seed) + ": random weights for speed work only";
  nlohmann::json j = c.family == ModelFamily::Gpt2
      ? nlohmann::json{{"model_type", "gpt2"}, {"architectures", {"GPT2LMHeadModel"}}, {"vocab_size", c.vocab_size},
                       {"n_embd", d}, {"n_inner", ff}, {"n_layer", c.num_layers}, {"n_head", c.num_heads},
                       {"n_positions", c.context_length}, {"layer_norm_epsilon", c.norm_eps},
                       {"activation_function", c.hidden_act}, {"bos_token_id", 1}, {"eos_token_id", 2},
                       {"torch_dtype", "bfloat16"}, {"qforge_synthetic", note}}
      : nlohmann::json{{"model_type", "llama"}, {"architectures", {"LlamaForCausalLM"}}, {"vocab_size", c.vocab_size},
                      {"hidden_size", d}, {"intermediate_size", ff}, {"num_hidden_layers", c.num_layers},
                      {"num_attention_heads", c.num_heads}, {"num_key_value_heads", c.num_kv_heads},
                      {"max_position_embeddings", c.context_length}, {"rms_norm_eps", c.norm_eps},
                      {"rope_theta", c.rope_theta}, {"tie_word_embeddings", c.tie_word_embeddings},
                      {"bos_token_id", 1}, {"eos_token_id", 2}, {"torch_dtype", "bfloat16"},
                      {"qforge_synthetic", note}};
  write_safetensors((std::filesystem::path(out) / "model.safetensors").string(), ts,
                    {{"format", "pt"}});
  std::ofstream((std::filesystem::path(out) / "config.json").string()) << j.dump(2) << "\n";
  return params;
}

}  // namespace qforge
