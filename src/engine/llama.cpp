// The Llama-family decoder in f32.
#include <cmath>
#include <numbers>
#include <optional>

#include "engine/ops.h"
#include "engine/thread_pool.h"
#include "qforge/engine.h"
#include "qforge/error.h"

namespace qforge {
namespace {

struct Layer {
  Tensor attn_norm, wq, wk, wv, wo, bq, bk, bv, q_norm, k_norm, ffn_norm, w_gate, w_up, w_down;
  std::string prefix;  // "blk.N.", for the observer's weight names
};

const float* ptr(const Tensor& t) { return t.numel() ? t.span<float>().data() : nullptr; }

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

}  // namespace

struct LlamaModel::Impl {
  ModelConfig c;
  int64_t ctx = 0;
  engine::ThreadPool pool{1};
  Tensor token_embd, output_norm, output;
  std::vector<Layer> layers;
  bool pair_adjacent = true;         // llama.cpp "normal" RoPE: (2i, 2i+1); else (i, i + d/2)
  std::vector<float> rope_cos, rope_sin;  // [ctx][head_dim/2]
  std::vector<std::vector<float>> k_cache, v_cache;  // per layer [ctx][kv_dim]
  int64_t pos = 0;
  LinearObserver observer;

  explicit Impl(int threads) : pool(threads) {}

  // `name` is only materialised when an observer is attached (decode calls this 7× a layer).
  void linear(const std::string& prefix, const char* name, const Tensor& w, const Tensor& b, const float* x, int64_t n,
              float* y) {
    const int64_t out = w.dim(0), in = w.dim(1);
    if (observer) observer(prefix + name, x, n, in);
    engine::linear_f32(pool, x, n, in, ptr(w), ptr(b), out, y);
  }

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

LlamaModel::LlamaModel() = default;
LlamaModel::~LlamaModel() = default;

std::unique_ptr<LlamaModel> LlamaModel::load(const ModelFile& f, const EngineOptions& opt) {
  if (!f.config) throw Error(ErrorCategory::BadFile, f.path + ": no model config; cannot build a runtime");
  const ModelConfig& c = *f.config;
  if (c.family != ModelFamily::Llama)
    throw Error(ErrorCategory::Unsupported, f.path + ": the " + c.architecture +
                                                " runtime is not implemented yet; supported: llama, mistral, qwen2, qwen3");
  std::unique_ptr<LlamaModel> m(new LlamaModel());
  m->impl_ = std::make_unique<Impl>(opt.threads);
  Impl& s = *m->impl_;
  s.c = c;
  s.ctx = opt.context > 0 ? std::min(opt.context, c.context_length) : c.context_length;
  s.pair_adjacent = c.architecture == "llama" || c.architecture == "mistral";
  auto get = [&](const std::string& name, Shape want, bool required) -> Tensor {
    const ModelTensor* t = f.find(name);
    if (!t) {
      if (required) throw Error(ErrorCategory::BadFile, f.path + ": missing tensor " + name);
      return {};
    }
    if (t->shape != want)
      throw Error(ErrorCategory::BadFile, f.path + ": tensor " + name + " has shape " + shape_to_string(t->shape) +
                                              ", the config implies " + shape_to_string(want));
    return tensor_to_f32(*t);
  };
  const int64_t d = c.hidden_size, q = c.num_heads * c.head_dim, kv = c.kv_dim(), ff = c.intermediate_size;
  s.token_embd = get("token_embd.weight", {c.vocab_size, d}, true);
  s.output_norm = get("output_norm.weight", {d}, true);
  s.output = get("output.weight", {c.vocab_size, d}, false);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    Layer L;
    L.prefix = p;
    L.attn_norm = get(p + "attn_norm.weight", {d}, true);
    L.wq = get(p + "attn_q.weight", {q, d}, true);
    L.wk = get(p + "attn_k.weight", {kv, d}, true);
    L.wv = get(p + "attn_v.weight", {kv, d}, true);
    L.wo = get(p + "attn_output.weight", {d, q}, true);
    L.bq = get(p + "attn_q.bias", {q}, c.attention_bias);
    L.bk = get(p + "attn_k.bias", {kv}, c.attention_bias);
    L.bv = get(p + "attn_v.bias", {kv}, c.attention_bias);
    L.q_norm = get(p + "attn_q_norm.weight", {c.head_dim}, c.qk_norm);
    L.k_norm = get(p + "attn_k_norm.weight", {c.head_dim}, c.qk_norm);
    L.ffn_norm = get(p + "ffn_norm.weight", {d}, true);
    L.w_gate = get(p + "ffn_gate.weight", {ff, d}, true);
    L.w_up = get(p + "ffn_up.weight", {ff, d}, true);
    L.w_down = get(p + "ffn_down.weight", {d, ff}, true);
    s.layers.push_back(std::move(L));
  }
  const auto inv = rope_inv_freq(c);
  const int64_t half = c.head_dim / 2;
  s.rope_cos.resize(static_cast<size_t>(s.ctx * half));
  s.rope_sin.resize(s.rope_cos.size());
  for (int64_t p = 0; p < s.ctx; ++p)
    for (int64_t i = 0; i < half; ++i) {
      const double a = static_cast<double>(p) * inv[static_cast<size_t>(i)];
      s.rope_cos[static_cast<size_t>(p * half + i)] = static_cast<float>(std::cos(a));
      s.rope_sin[static_cast<size_t>(p * half + i)] = static_cast<float>(std::sin(a));
    }
  s.k_cache.assign(static_cast<size_t>(c.num_layers), std::vector<float>(static_cast<size_t>(s.ctx * kv)));
  s.v_cache = s.k_cache;
  return m;
}

const ModelConfig& LlamaModel::config() const { return impl_->c; }
int64_t LlamaModel::position() const { return impl_->pos; }
int64_t LlamaModel::context() const { return impl_->ctx; }
void LlamaModel::reset() { impl_->pos = 0; }
void LlamaModel::set_observer(LinearObserver o) { impl_->observer = std::move(o); }

std::vector<float> LlamaModel::forward(std::span<const int32_t> tokens, bool all_logits) {
  Impl& s = *impl_;
  const ModelConfig& c = s.c;
  const auto n = static_cast<int64_t>(tokens.size());
  if (n == 0) throw Error(ErrorCategory::InvalidArgument, "forward: no tokens");
  if (s.pos + n > s.ctx)
    throw Error(ErrorCategory::InvalidArgument, "forward: " + std::to_string(s.pos + n) +
                                                    " tokens exceed the context of " + std::to_string(s.ctx));
  const int64_t d = c.hidden_size, hd = c.head_dim, nh = c.num_heads, nkv = c.num_kv_heads;
  const int64_t q_dim = nh * hd, kv = c.kv_dim(), ff = c.intermediate_size, group = nh / nkv;
  std::vector<float> x(static_cast<size_t>(n * d)), xn(x.size()), q(static_cast<size_t>(n * q_dim)),
      k(static_cast<size_t>(n * kv)), v(k.size()), att(q.size()), proj(x.size()),
      gate(static_cast<size_t>(n * ff)), up(gate.size());
  const auto emb = s.token_embd.span<float>();
  for (int64_t t = 0; t < n; ++t) {
    const int32_t id = tokens[static_cast<size_t>(t)];
    if (id < 0 || id >= c.vocab_size)
      throw Error(ErrorCategory::InvalidArgument, "forward: token id " + std::to_string(id) + " outside the vocabulary of " +
                                                      std::to_string(c.vocab_size));
    std::copy_n(emb.data() + id * d, d, x.data() + t * d);
  }
  const float inv_sqrt_hd = 1.0f / std::sqrt(static_cast<float>(hd));
  for (size_t l = 0; l < s.layers.size(); ++l) {
    const Layer& L = s.layers[l];
    const std::string& p = L.prefix;
    for (int64_t t = 0; t < n; ++t) engine::rms_norm(&x[t * d], ptr(L.attn_norm), d, c.norm_eps, &xn[t * d]);
    s.linear(p, "attn_q.weight", L.wq, L.bq, xn.data(), n, q.data());
    s.linear(p, "attn_k.weight", L.wk, L.bk, xn.data(), n, k.data());
    s.linear(p, "attn_v.weight", L.wv, L.bv, xn.data(), n, v.data());
    for (int64_t t = 0; t < n; ++t) {
      if (c.qk_norm) {
        for (int64_t h = 0; h < nh; ++h) engine::rms_norm(&q[t * q_dim + h * hd], ptr(L.q_norm), hd, c.norm_eps, &q[t * q_dim + h * hd]);
        for (int64_t h = 0; h < nkv; ++h) engine::rms_norm(&k[t * kv + h * hd], ptr(L.k_norm), hd, c.norm_eps, &k[t * kv + h * hd]);
      }
      s.rope(&q[t * q_dim], nh, s.pos + t);
      s.rope(&k[t * kv], nkv, s.pos + t);
      std::copy_n(&k[t * kv], kv, &s.k_cache[l][static_cast<size_t>((s.pos + t) * kv)]);
      std::copy_n(&v[t * kv], kv, &s.v_cache[l][static_cast<size_t>((s.pos + t) * kv)]);
    }
    // Causal attention, one (token, head) pair per work item.
    const float* kc = s.k_cache[l].data();
    const float* vc = s.v_cache[l].data();
    s.pool.parallel_for(n * nh, [&](int64_t begin, int64_t end) {
      std::vector<float> score(static_cast<size_t>(s.pos + n));
      for (int64_t item = begin; item < end; ++item) {
        const int64_t t = item / nh, h = item % nh, kvh = h / group, len = s.pos + t + 1;
        const float* qh = &q[t * q_dim + h * hd];
        for (int64_t j = 0; j < len; ++j) score[static_cast<size_t>(j)] = engine::dot_f32(qh, kc + j * kv + kvh * hd, hd) * inv_sqrt_hd;
        engine::softmax(score.data(), len);
        float* out = &att[t * q_dim + h * hd];
        std::fill(out, out + hd, 0.0f);
        for (int64_t j = 0; j < len; ++j) {
          const float pj = score[static_cast<size_t>(j)];
          const float* vj = vc + j * kv + kvh * hd;
          for (int64_t i = 0; i < hd; ++i) out[i] += pj * vj[i];
        }
      }
    });
    s.linear(p, "attn_output.weight", L.wo, {}, att.data(), n, proj.data());
    for (size_t i = 0; i < x.size(); ++i) x[i] += proj[i];
    for (int64_t t = 0; t < n; ++t) engine::rms_norm(&x[t * d], ptr(L.ffn_norm), d, c.norm_eps, &xn[t * d]);
    s.linear(p, "ffn_gate.weight", L.w_gate, {}, xn.data(), n, gate.data());
    s.linear(p, "ffn_up.weight", L.w_up, {}, xn.data(), n, up.data());
    for (size_t i = 0; i < gate.size(); ++i) gate[i] = engine::silu(gate[i]) * up[i];
    s.linear(p, "ffn_down.weight", L.w_down, {}, gate.data(), n, proj.data());
    for (size_t i = 0; i < x.size(); ++i) x[i] += proj[i];
  }
  s.pos += n;
  const int64_t first = all_logits ? 0 : n - 1, rows = n - first;
  for (int64_t t = first; t < n; ++t) engine::rms_norm(&x[t * d], ptr(s.output_norm), d, c.norm_eps, &xn[t * d]);
  std::vector<float> logits(static_cast<size_t>(rows * c.vocab_size));
  const Tensor& out = s.output.numel() ? s.output : s.token_embd;
  s.linear("", "output.weight", out, {}, &xn[first * d], rows, logits.data());
  return logits;
}

}  // namespace qforge
