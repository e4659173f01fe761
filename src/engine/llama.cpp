// The Llama-family decoder in f32.
#include <cmath>
#include <numbers>
#include <optional>

#include "engine/ops.h"
#include "engine/runtime.h"
#include "qforge/error.h"

namespace qforge::engine {
namespace {

struct Layer {
  Tensor attn_norm, bq, bk, bv, q_norm, k_norm, ffn_norm;
  Weight wq, wk, wv, wo, w_gate, w_up, w_down;
  std::string prefix;  // "blk.N.", for the observer's weight names
};

// Inverse frequencies θ^(−2i/d), with Llama 3's long-context rescaling when configured.
std::vector<double> rope_inv_freq(const ModelConfig& c) {
  const int64_t half = c.head_dim / 2;
  std::vector<double> f(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i)
    f[static_cast<size_t>(i)] = std::pow(c.rope_theta, -2.0 * static_cast<double>(i) / static_cast<double>(c.head_dim));
  if (c.rope_scaling) {
    const auto& s = *c.rope_scaling;
    const double old_ctx = static_cast<double>(s.original_max_position_embeddings);
    const double low_wavelen = old_ctx / s.low_freq_factor, high_wavelen = old_ctx / s.high_freq_factor;
    for (double& fr : f) {
      const double wavelen = 2 * std::numbers::pi / fr;
      if (wavelen < high_wavelen) continue;
      if (wavelen > low_wavelen) {
        fr /= s.factor;
      } else {
        const double smooth = (old_ctx / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        fr = (1 - smooth) * fr / s.factor + smooth * fr;
      }
    }
  }
  return f;
}

struct LlamaRuntime final : Runtime {
  Tensor output_norm;
  Weight token_embd, output;
  std::vector<Layer> layers;
  bool pair_adjacent = true;              // llama.cpp "normal" RoPE: (2i, 2i+1); else (i, i + d/2)
  std::vector<float> rope_cos, rope_sin;  // [ctx][head_dim/2]

  LlamaRuntime(const ModelFile& f, const EngineOptions& opt);
  void embed(std::span<const int32_t> tokens, float* x) override;
  void block(size_t layer, float* x, int64_t n) override;
  std::vector<float> head(float* x, int64_t n, bool all_logits) override;

  void rope(float* v, int64_t heads, int64_t p) const {
    const int64_t hd = c.head_dim, half = hd / 2;
    const float* cs = &rope_cos[static_cast<size_t>(p * half)];
    const float* sn = &rope_sin[static_cast<size_t>(p * half)];
    for (int64_t h = 0; h < heads; ++h) {
      float* x = v + h * hd;
      for (int64_t i = 0; i < half; ++i) {
        const int64_t a = pair_adjacent ? 2 * i : i, b = pair_adjacent ? 2 * i + 1 : i + half;
        const float x0 = x[a], x1 = x[b];
        x[a] = x0 * cs[i] - x1 * sn[i];
        x[b] = x0 * sn[i] + x1 * cs[i];
      }
    }
  }
};

LlamaRuntime::LlamaRuntime(const ModelFile& f, const EngineOptions& opt) : Runtime(f, opt) {
  pair_adjacent = c.architecture == "llama" || c.architecture == "mistral";
  auto get = [&](const std::string& name, Shape want, bool required) { return load_weight(f, name, want, required); };
  const int64_t d = c.hidden_size, q = c.num_heads * c.head_dim, kv = c.kv_dim(), ff = c.intermediate_size;
  token_embd = matrix(f, "token_embd.weight", c.vocab_size, d, true);
  output_norm = get("output_norm.weight", {d}, true);
  output = matrix(f, "output.weight", c.vocab_size, d, false);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    Layer L;
    L.prefix = p;
    L.attn_norm = get(p + "attn_norm.weight", {d}, true);
    L.wq = matrix(f, p + "attn_q.weight", q, d, true);
    L.wk = matrix(f, p + "attn_k.weight", kv, d, true);
    L.wv = matrix(f, p + "attn_v.weight", kv, d, true);
    L.wo = matrix(f, p + "attn_output.weight", d, q, true);
    L.bq = get(p + "attn_q.bias", {q}, c.attention_bias);
    L.bk = get(p + "attn_k.bias", {kv}, c.attention_bias);
    L.bv = get(p + "attn_v.bias", {kv}, c.attention_bias);
    L.q_norm = get(p + "attn_q_norm.weight", {c.head_dim}, c.qk_norm);
    L.k_norm = get(p + "attn_k_norm.weight", {c.head_dim}, c.qk_norm);
    L.ffn_norm = get(p + "ffn_norm.weight", {d}, true);
    L.w_gate = matrix(f, p + "ffn_gate.weight", ff, d, true);
    L.w_up = matrix(f, p + "ffn_up.weight", ff, d, true);
    L.w_down = matrix(f, p + "ffn_down.weight", d, ff, true);
    layers.push_back(std::move(L));
  }
  for (int64_t l = 0; l < c.num_layers; ++l) {
    Layer& L = layers[static_cast<size_t>(l)];
    for (auto [name, w] : {std::pair{"attn_q.weight", &L.wq}, {"attn_k.weight", &L.wk}, {"attn_v.weight", &L.wv},
                           {"attn_output.weight", &L.wo}, {"ffn_gate.weight", &L.w_gate}, {"ffn_up.weight", &L.w_up},
                           {"ffn_down.weight", &L.w_down}})
      register_linear(l, L.prefix + name, *w);
    for (auto [name, t] : {std::pair{"attn_norm.weight", &L.attn_norm}, {"ffn_norm.weight", &L.ffn_norm}, {"attn_q.bias", &L.bq},
                           {"attn_k.bias", &L.bk}, {"attn_v.bias", &L.bv}})
      register_vector(L.prefix + name, *t);
  }
  register_linear(-1, "output.weight", output);
  const auto inv = rope_inv_freq(c);
  const int64_t half = c.head_dim / 2;
  rope_cos.resize(static_cast<size_t>(ctx * half));
  rope_sin.resize(rope_cos.size());
  for (int64_t p = 0; p < ctx; ++p)
    for (int64_t i = 0; i < half; ++i) {
      const double a = static_cast<double>(p) * inv[static_cast<size_t>(i)];
      rope_cos[static_cast<size_t>(p * half + i)] = static_cast<float>(std::cos(a));
      rope_sin[static_cast<size_t>(p * half + i)] = static_cast<float>(std::sin(a));
    }
}

void LlamaRuntime::embed(std::span<const int32_t> tokens, float* x) {
  const int64_t d = c.hidden_size;
  for (size_t t = 0; t < tokens.size(); ++t) token_embd.dequantize_row(tokens[t], x + static_cast<int64_t>(t) * d);
}

void LlamaRuntime::block(size_t l, float* x, int64_t n) {
  const int64_t d = c.hidden_size, hd = c.head_dim, nh = c.num_heads, nkv = c.num_kv_heads;
  const int64_t q_dim = nh * hd, kv = c.kv_dim(), ff = c.intermediate_size;
  std::vector<float> xn(static_cast<size_t>(n * d)), q(static_cast<size_t>(n * q_dim)), k(static_cast<size_t>(n * kv)),
      v(k.size()), att(q.size()), proj(xn.size()), gate(static_cast<size_t>(n * ff)), up(gate.size());
  const Layer& L = layers[l];
  const std::string& p = L.prefix;
  for (int64_t t = 0; t < n; ++t) rms_norm(&x[t * d], ptr(L.attn_norm), d, c.norm_eps, &xn[t * d]);
  linear(p, "attn_q.weight", L.wq, L.bq, xn.data(), n, q.data());
  linear(p, "attn_k.weight", L.wk, L.bk, xn.data(), n, k.data());
  linear(p, "attn_v.weight", L.wv, L.bv, xn.data(), n, v.data());
  for (int64_t t = 0; t < n; ++t) {
    if (c.qk_norm) {
      for (int64_t h = 0; h < nh; ++h) rms_norm(&q[t * q_dim + h * hd], ptr(L.q_norm), hd, c.norm_eps, &q[t * q_dim + h * hd]);
      for (int64_t h = 0; h < nkv; ++h) rms_norm(&k[t * kv + h * hd], ptr(L.k_norm), hd, c.norm_eps, &k[t * kv + h * hd]);
    }
    rope(&q[t * q_dim], nh, pos + t);
    rope(&k[t * kv], nkv, pos + t);
  }
  store_kv(l, k.data(), v.data(), n);
  attention(l, q.data(), n, att.data());
  linear(p, "attn_output.weight", L.wo, {}, att.data(), n, proj.data());
  for (size_t i = 0; i < xn.size(); ++i) x[i] += proj[i];
  for (int64_t t = 0; t < n; ++t) rms_norm(&x[t * d], ptr(L.ffn_norm), d, c.norm_eps, &xn[t * d]);
  linear(p, "ffn_gate.weight", L.w_gate, {}, xn.data(), n, gate.data());
  linear(p, "ffn_up.weight", L.w_up, {}, xn.data(), n, up.data());
  for (size_t i = 0; i < gate.size(); ++i) gate[i] = silu(gate[i]) * up[i];
  linear(p, "ffn_down.weight", L.w_down, {}, gate.data(), n, proj.data());
  for (size_t i = 0; i < xn.size(); ++i) x[i] += proj[i];
}

std::vector<float> LlamaRuntime::head(float* x, int64_t n, bool all_logits) {
  const int64_t d = c.hidden_size;
  const int64_t first = all_logits ? 0 : n - 1, rows = n - first;
  std::vector<float> xn(static_cast<size_t>(rows * d));
  for (int64_t t = first; t < n; ++t) rms_norm(&x[t * d], ptr(output_norm), d, c.norm_eps, &xn[(t - first) * d]);
  std::vector<float> logits(static_cast<size_t>(rows * c.vocab_size));
  const Weight& out = output.empty() ? token_embd : output;
  linear("", "output.weight", out, {}, xn.data(), rows, logits.data());
  return logits;
}

}  // namespace

std::unique_ptr<Runtime> make_llama_runtime(const ModelFile& f, const EngineOptions& opt) {
  return std::make_unique<LlamaRuntime>(f, opt);
}

}  // namespace qforge::engine
