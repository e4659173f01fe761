#include "engine/runtime.h"

#include <algorithm>
#include <cmath>

#include "engine/ops.h"
#include "kernels/dot/dot_kernels.h"
#include "qforge/error.h"

namespace qforge::engine {

Runtime::Runtime(const ModelFile& f, const EngineOptions& opt) : c(*f.config), dequantize(opt.dequantize), emulate_a8(opt.emulate_int8_activations), pool(opt.threads) {
  ctx = opt.context > 0 ? std::min(opt.context, c.context_length) : c.context_length;
  k_cache.assign(static_cast<size_t>(c.num_layers), std::vector<float>(static_cast<size_t>(ctx * c.kv_dim())));
  v_row = (ctx + 7) / 8 * 8;  // the P·V dots run over whole 8s (attention)
  v_cache.assign(static_cast<size_t>(c.num_layers), std::vector<float>(static_cast<size_t>(v_row * c.kv_dim())));
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

std::vector<float> Runtime::forward(std::span<const int32_t> tokens, bool all_logits) {
  const auto n = static_cast<int64_t>(tokens.size());
  std::vector<float> x(static_cast<size_t>(n * c.hidden_size));
  embed(tokens, x.data());
  for (size_t l = 0; l < static_cast<size_t>(c.num_layers); ++l) block(l, x.data(), n);
  return head(x.data(), n, all_logits);
}

void Runtime::register_linear(int64_t block, const std::string& name, Weight& w) {
  if (w.empty()) return;
  linears[name] = &w;
  if (block >= 0) {
    if (block_linears.size() <= static_cast<size_t>(block)) block_linears.resize(static_cast<size_t>(block) + 1);
    block_linears[static_cast<size_t>(block)].push_back(name);
  }
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
  float* vt = v_cache[layer].data();
  const int64_t end = pos + n, padded = std::min(v_row, (end + 7) / 8 * 8);
  for (int64_t i = 0; i < kv; ++i) {
    for (int64_t t = 0; t < n; ++t) vt[i * v_row + pos + t] = v[t * kv + i];
    // attention reads up to the next whole 8 (with zero weights): no stale value, NaN or not, there
    std::fill(vt + i * v_row + end, vt + i * v_row + padded, 0.0f);
  }
}

void Runtime::attention(size_t layer, const float* q, int64_t n, float* att) {
  const kernels::DotKernels& k = kernels::dot_kernels();
  const int64_t hd = c.head_dim, nh = c.num_heads, kv = c.kv_dim(), q_dim = nh * hd, group = nh / c.num_kv_heads;
  const float inv_sqrt_hd = 1.0f / std::sqrt(static_cast<float>(hd));
  const float* kc = k_cache[layer].data();
  const float* vt = v_cache[layer].data();
  // Work items: one head × a chunk of up to kChunk query tokens, whose keys are positions
  // 0..pos+t1−1; each item's scores and outputs come from the f32 matmul kernel, one call
  // each. The P·V dots run over `width`, the keys rounded up to a whole 8, with zero weights
  // past a token's own position: zeros leave the kernel's eight lanes unchanged, so a token's
  // output is the same whichever chunk (or single-token call) it comes in, and results do not
  // depend on batching or the thread count.
  constexpr int64_t kChunk = 32;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  pool.parallel_for(nh * chunks, [&](int64_t begin, int64_t end) {
    std::vector<float> qh(static_cast<size_t>(kChunk * hd)), score(static_cast<size_t>(kChunk * v_row));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t h = item % nh, t0 = item / nh * kChunk, t1 = std::min(n, t0 + kChunk), m = t1 - t0, len = pos + t1;
      const int64_t kvh = h / group, width = (len + 7) / 8 * 8;
      for (int64_t t = 0; t < m; ++t) std::copy_n(&q[(t0 + t) * q_dim + h * hd], hd, &qh[static_cast<size_t>(t * hd)]);
      // scores[t][j] = q_t · k_j over this head's keys (rows kv floats apart in the cache)
      k.matmul.f32({reinterpret_cast<const uint8_t*>(kc + kvh * hd), static_cast<size_t>(kv) * sizeof(float), len, qh.data(), m,
                    hd, score.data(), width});
      for (int64_t t = 0; t < m; ++t) {
        float* row = &score[static_cast<size_t>(t * width)];
        const int64_t visible = pos + t0 + t + 1;  // causal: keys up to its own position
        for (int64_t j = 0; j < visible; ++j) row[j] *= inv_sqrt_hd;
        softmax(row, visible);
        std::fill(row + visible, row + width, 0.0f);
      }
      // out[t][i] = Σ_j p[t][j]·v_j[i]: the transposed cache's rows are this head's dimensions
      k.matmul.f32({reinterpret_cast<const uint8_t*>(vt + kvh * hd * v_row), static_cast<size_t>(v_row) * sizeof(float), hd,
                    score.data(), m, width, &att[t0 * q_dim + h * hd], q_dim});
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
  for (size_t b = 0; b < rt.released.size(); ++b)
    if (rt.released[b]) throw Error(ErrorCategory::InvalidArgument, "forward: block " + std::to_string(b) + " was released");
  auto logits = rt.forward(tokens, all_logits);
  rt.pos += static_cast<int64_t>(tokens.size());
  return logits;
}

int64_t Model::num_blocks() const { return impl_->rt->c.num_layers; }

std::vector<float> Model::embed(std::span<const int32_t> tokens) {
  engine::Runtime& rt = *impl_->rt;
  rt.check_tokens(tokens);
  std::vector<float> x(tokens.size() * static_cast<size_t>(rt.c.hidden_size));
  rt.embed(tokens, x.data());
  return x;
}

void Model::run_block(int64_t block, std::span<float> hidden) {
  engine::Runtime& rt = *impl_->rt;
  const int64_t d = rt.c.hidden_size, n = static_cast<int64_t>(hidden.size()) / d;
  if (block < 0 || block >= rt.c.num_layers)
    throw Error(ErrorCategory::InvalidArgument, "run_block: block " + std::to_string(block) + " of " + std::to_string(rt.c.num_layers));
  if (static_cast<size_t>(block) < rt.released.size() && rt.released[static_cast<size_t>(block)])
    throw Error(ErrorCategory::InvalidArgument, "run_block: block " + std::to_string(block) + " was released");
  if (n == 0 || n * d != static_cast<int64_t>(hidden.size()) || rt.pos + n > rt.ctx)
    throw Error(ErrorCategory::InvalidArgument, "run_block: " + std::to_string(hidden.size()) + " floats are not 1.." +
                                                    std::to_string(rt.ctx - rt.pos) + " rows of " + std::to_string(d));
  rt.block(static_cast<size_t>(block), hidden.data(), n);
}

const std::vector<std::string>& Model::block_linears(int64_t block) const {
  const engine::Runtime& rt = *impl_->rt;
  if (block < 0 || static_cast<size_t>(block) >= rt.block_linears.size())
    throw Error(ErrorCategory::InvalidArgument, "block_linears: block " + std::to_string(block) + " of " + std::to_string(rt.c.num_layers));
  return rt.block_linears[static_cast<size_t>(block)];
}

void Model::set_linear_weight(const std::string& name, Tensor f32) {
  engine::Runtime& rt = *impl_->rt;
  const auto it = rt.linears.find(name);
  if (it == rt.linears.end()) throw Error(ErrorCategory::InvalidArgument, "set_linear_weight: no linear layer " + name);
  engine::Weight& w = *it->second;
  if (f32.dtype() != DType::f32 || f32.shape() != Shape{w.rows, w.cols})
    throw Error(ErrorCategory::InvalidArgument, "set_linear_weight: " + name + " needs f32 " + shape_to_string({w.rows, w.cols}) +
                                                    ", got " + std::string(dtype_name(f32.dtype())) + " " + shape_to_string(f32.shape()));
  w.type = w.stored = GgmlType::F32;
  w.interleaved = false;
  w.i8.reset();
  w.act = {};
  w.row_bytes = static_cast<size_t>(w.cols) * sizeof(float);
  w.owned = std::move(f32);
  w.data = static_cast<const uint8_t*>(w.owned.data());
  w.keep.reset();
}

void Model::release_block(int64_t block) {
  engine::Runtime& rt = *impl_->rt;
  for (const std::string& name : block_linears(block)) {
    engine::Weight& w = *rt.linears.at(name);
    w.owned = Tensor();
    w.keep.reset();
    w.i8.reset();
    w.data = nullptr;
  }
  rt.released.resize(rt.block_linears.size(), false);
  rt.released[static_cast<size_t>(block)] = true;
}

void Model::set_vector(const std::string& name, Tensor f32) {
  engine::Runtime& rt = *impl_->rt;
  const auto it = rt.vectors.find(name);
  if (it == rt.vectors.end()) throw Error(ErrorCategory::InvalidArgument, "set_vector: no norm weight or bias " + name);
  if (f32.dtype() != DType::f32 || f32.shape() != it->second->shape())
    throw Error(ErrorCategory::InvalidArgument, "set_vector: " + name + " needs f32 " + shape_to_string(it->second->shape()));
  *it->second = std::move(f32);
}

bool Model::has_vector(const std::string& name) const { return impl_->rt->vectors.count(name) != 0; }

const Tensor& Model::vector(const std::string& name) const {
  const auto it = impl_->rt->vectors.find(name);
  if (it == impl_->rt->vectors.end()) throw Error(ErrorCategory::InvalidArgument, "vector: no norm weight or bias " + name);
  return *it->second;
}

}  // namespace qforge
