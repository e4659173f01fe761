// The GPT-2 decoder in f32: learned absolute positions, pre-LayerNorm blocks with biases,
// fused q/k/v projection, GELU MLP, output tied to the token embedding. Conv1D weights were
// transposed to [out, in] when the file was read, so every linear here is y = x·Wᵀ + b.
#include <algorithm>

#include "engine/ops.h"
#include "engine/runtime.h"

namespace qforge::engine {
namespace {

struct Gpt2Layer {
  Tensor ln1_w, ln1_b, b_qkv, b_o, ln2_w, ln2_b, b_up, b_down;
  Weight w_qkv, w_o, w_up, w_down;
  std::string prefix;
};

struct Gpt2Runtime final : Runtime {
  Tensor position_embd, out_norm_w, out_norm_b;
  Weight token_embd, output;
  std::vector<Gpt2Layer> layers;
  float (*gelu)(float) = gelu_tanh;

  Gpt2Runtime(const ModelFile& f, const EngineOptions& opt) : Runtime(f, opt) {
    if (c.hidden_act == "gelu") gelu = gelu_erf;
    auto get = [&](const std::string& name, Shape want, bool required) { return load_weight(f, name, want, required); };
    const int64_t d = c.hidden_size, ff = c.intermediate_size;
    token_embd = matrix(f, "token_embd.weight", c.vocab_size, d, true);
    position_embd = get("position_embd.weight", {c.context_length, d}, true);
    out_norm_w = get("output_norm.weight", {d}, true);
    out_norm_b = get("output_norm.bias", {d}, true);
    output = matrix(f, "output.weight", c.vocab_size, d, false);
    for (int64_t l = 0; l < c.num_layers; ++l) {
      const std::string p = "blk." + std::to_string(l) + ".";
      Gpt2Layer L;
      L.prefix = p;
      L.ln1_w = get(p + "attn_norm.weight", {d}, true);
      L.ln1_b = get(p + "attn_norm.bias", {d}, true);
      L.w_qkv = matrix(f, p + "attn_qkv.weight", 3 * d, d, true);
      L.b_qkv = get(p + "attn_qkv.bias", {3 * d}, true);
      L.w_o = matrix(f, p + "attn_output.weight", d, d, true);
      L.b_o = get(p + "attn_output.bias", {d}, true);
      L.ln2_w = get(p + "ffn_norm.weight", {d}, true);
      L.ln2_b = get(p + "ffn_norm.bias", {d}, true);
      L.w_up = matrix(f, p + "ffn_up.weight", ff, d, true);
      L.b_up = get(p + "ffn_up.bias", {ff}, true);
      L.w_down = matrix(f, p + "ffn_down.weight", d, ff, true);
      L.b_down = get(p + "ffn_down.bias", {d}, true);
      layers.push_back(std::move(L));
    }
    for (int64_t l = 0; l < c.num_layers; ++l) {
      Gpt2Layer& L = layers[static_cast<size_t>(l)];
      for (auto [name, w] : {std::pair{"attn_qkv.weight", &L.w_qkv}, {"attn_output.weight", &L.w_o},
                             {"ffn_up.weight", &L.w_up}, {"ffn_down.weight", &L.w_down}})
        register_linear(l, L.prefix + name, *w);
      for (auto [name, t] : {std::pair{"attn_norm.weight", &L.ln1_w}, {"attn_norm.bias", &L.ln1_b}, {"ffn_norm.weight", &L.ln2_w},
                             {"ffn_norm.bias", &L.ln2_b}, {"attn_qkv.bias", &L.b_qkv}, {"ffn_up.bias", &L.b_up}})
        register_vector(L.prefix + name, *t);
    }
    register_linear(-1, "output.weight", output);
  }

  void embed(std::span<const int32_t> tokens, float* x) override {
    const int64_t d = c.hidden_size;
    const float* wpe = ptr(position_embd);
    for (int64_t t = 0; t < static_cast<int64_t>(tokens.size()); ++t) {
      token_embd.dequantize_row(tokens[static_cast<size_t>(t)], &x[t * d]);
      for (int64_t i = 0; i < d; ++i) x[t * d + i] += wpe[(pos + t) * d + i];
    }
  }

  void block(size_t l, float* x, int64_t n) override {
    const int64_t d = c.hidden_size, ff = c.intermediate_size;
    const auto nd = static_cast<size_t>(n * d);
    std::vector<float> xn(nd), qkv(3 * nd), q(nd), k(nd), v(nd), att(nd), proj(nd), up(static_cast<size_t>(n * ff));
    const Gpt2Layer& L = layers[l];
    for (int64_t t = 0; t < n; ++t) layer_norm(&x[t * d], ptr(L.ln1_w), ptr(L.ln1_b), d, c.norm_eps, &xn[t * d]);
    linear(L.prefix, "attn_qkv.weight", L.w_qkv, L.b_qkv, xn.data(), n, qkv.data());
    for (int64_t t = 0; t < n; ++t) {  // each row of the fused output is [q | k | v]
      std::copy_n(&qkv[t * 3 * d], d, &q[t * d]);
      std::copy_n(&qkv[t * 3 * d + d], d, &k[t * d]);
      std::copy_n(&qkv[t * 3 * d + 2 * d], d, &v[t * d]);
    }
    store_kv(l, k.data(), v.data(), n);
    attention(l, q.data(), n, att.data());
    linear(L.prefix, "attn_output.weight", L.w_o, L.b_o, att.data(), n, proj.data());
    for (size_t i = 0; i < nd; ++i) x[i] += proj[i];
    for (int64_t t = 0; t < n; ++t) layer_norm(&x[t * d], ptr(L.ln2_w), ptr(L.ln2_b), d, c.norm_eps, &xn[t * d]);
    linear(L.prefix, "ffn_up.weight", L.w_up, L.b_up, xn.data(), n, up.data());
    for (float& u : up) u = gelu(u);
    linear(L.prefix, "ffn_down.weight", L.w_down, L.b_down, up.data(), n, proj.data());
    for (size_t i = 0; i < nd; ++i) x[i] += proj[i];
  }

  std::vector<float> head(float* x, int64_t n, bool all_logits) override {
    const int64_t d = c.hidden_size;
    const int64_t first = all_logits ? 0 : n - 1, rows = n - first;
    std::vector<float> xn(static_cast<size_t>(rows * d));
    for (int64_t t = first; t < n; ++t)
      layer_norm(&x[t * d], ptr(out_norm_w), ptr(out_norm_b), d, c.norm_eps, &xn[(t - first) * d]);
    std::vector<float> logits(static_cast<size_t>(rows * c.vocab_size));
    linear("", "output.weight", output.empty() ? token_embd : output, {}, xn.data(), rows, logits.data());
    return logits;
  }
};

}  // namespace

std::unique_ptr<Runtime> make_gpt2_runtime(const ModelFile& f, const EngineOptions& opt) {
  return std::make_unique<Gpt2Runtime>(f, opt);
}

}  // namespace qforge::engine
