#include "engine/runtime.h"

#include <algorithm>
#include <cmath>

#include "engine/ops.h"
#include "qforge/error.h"

namespace qforge::engine {

Runtime::Runtime(const ModelFile& f, const EngineOptions& opt) : c(*f.config), dequantize(opt.dequantize), emulate_a8(opt.emulate_int8_activations), pool(opt.threads) {
  ctx = opt.context > 0 ? std::min(opt.context, c.context_length) : c.context_length;
  k_cache.assign(static_cast<size_t>(c.num_layers), std::vector<float>(static_cast<size_t>(ctx * c.kv_dim())));
  v_cache = k_cache;
}

Tensor load_weight(const ModelFile& f, const std::string& name, const Shape& want, bool required) {
  const ModelTensor* t = find_with_shape(f, name, want, required);
  return t ? tensor_to_f32(*t) : Tensor();
}

void Runtime::linear(const std::string& prefix, const char* name, const Weight& w, const Tensor& b, const float* x,
                     int64_t n, float* y) {
  if (observer) observer(prefix + name, x, n, w.cols);
  engine::linear(pool, w, x, n, ptr(b), y, emulate_a8);
}

void Runtime::check_tokens(std::span<const int32_t> tokens) const {
  const auto n = static_cast<int64_t>(tokens.size());
  if (n == 0) throw Error(ErrorCategory::InvalidArgument, "forward: no tokens");
  if (pos + n > ctx)
    throw Error(ErrorCategory::InvalidArgument,
                "forward: " + std::to_string(pos + n) + " tokens exceed the context of " + std::to_string(ctx));
  for (const int32_t id : tokens)
    if (id < 0 || id >= c.vocab_size)
      throw Error(ErrorCategory::InvalidArgument, "forward: token id " + std::to_string(id) +
                                                      " outside the vocabulary of " + std::to_string(c.vocab_size));
}

void Runtime::store_kv(size_t layer, const float* k, const float* v, int64_t n) {
  const int64_t kv = c.kv_dim();
  std::copy_n(k, n * kv, &k_cache[layer][static_cast<size_t>(pos * kv)]);
  std::copy_n(v, n * kv, &v_cache[layer][static_cast<size_t>(pos * kv)]);
}

void Runtime::attention(size_t layer, const float* q, int64_t n, float* att) {
  const int64_t hd = c.head_dim, nh = c.num_heads, kv = c.kv_dim(), q_dim = nh * hd, group = nh / c.num_kv_heads;
  const float inv_sqrt_hd = 1.0f / std::sqrt(static_cast<float>(hd));
  const float* kc = k_cache[layer].data();
  const float* vc = v_cache[layer].data();
  // one (token, head) pair per work item
  pool.parallel_for(n * nh, [&](int64_t begin, int64_t end) {
    std::vector<float> score(static_cast<size_t>(pos + n));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t t = item / nh, h = item % nh, kvh = h / group, len = pos + t + 1;
      const float* qh = &q[t * q_dim + h * hd];
      for (int64_t j = 0; j < len; ++j) score[static_cast<size_t>(j)] = dot_f32(qh, kc + j * kv + kvh * hd, hd) * inv_sqrt_hd;
      softmax(score.data(), len);
      float* out = &att[t * q_dim + h * hd];
      std::fill(out, out + hd, 0.0f);
      for (int64_t j = 0; j < len; ++j) {
        const float pj = score[static_cast<size_t>(j)];
        const float* vj = vc + j * kv + kvh * hd;
        for (int64_t i = 0; i < hd; ++i) out[i] += pj * vj[i];
      }
    }
  });
}

}  // namespace qforge::engine

namespace qforge {

struct Model::Impl {
  std::unique_ptr<engine::Runtime> rt;
};

Model::Model() = default;
Model::~Model() = default;

std::unique_ptr<Model> Model::load(const ModelFile& f, const EngineOptions& opt) {
  if (!f.config) throw Error(ErrorCategory::BadFile, f.path + ": no model config; cannot build a runtime");
  std::unique_ptr<Model> m(new Model());
  m->impl_ = std::make_unique<Impl>();
  m->impl_->rt = f.config->family == ModelFamily::Gpt2 ? engine::make_gpt2_runtime(f, opt) : engine::make_llama_runtime(f, opt);
  return m;
}

const ModelConfig& Model::config() const { return impl_->rt->c; }
int64_t Model::position() const { return impl_->rt->pos; }
int64_t Model::context() const { return impl_->rt->ctx; }
void Model::reset() { impl_->rt->pos = 0; }
void Model::set_observer(LinearObserver o) { impl_->rt->observer = std::move(o); }

std::vector<float> Model::forward(std::span<const int32_t> tokens, bool all_logits) {
  engine::Runtime& rt = *impl_->rt;
  rt.check_tokens(tokens);
  auto logits = rt.forward(tokens, all_logits);
  rt.pos += static_cast<int64_t>(tokens.size());
  return logits;
}

}  // namespace qforge
