// A model with LLM-like activation outliers: a few hidden channels of every norm gain
// multiplied by c (20–100). Optionally with exactly the same function, the matching input
// columns of the linears that read the norm's output divided by c — which also shrinks those
// weight columns, unlike a real LLM's. docs/activation-quantization.md uses both.
#include <random>

#include "qforge/error.h"
#include "qforge/synth.h"

namespace qforge {

std::map<std::string, Tensor> with_activation_outliers(const ModelFile& f, int64_t channels, uint64_t seed, bool same_function,
                                                       std::vector<int64_t>* chosen) {
  if (!f.config || f.config->family != ModelFamily::Llama)
    throw Error(ErrorCategory::Unsupported, f.path + ": activation outliers are added to Llama-family models only");
  const int64_t d = f.config->hidden_size;
  if (channels < 1 || channels > d) throw Error(ErrorCategory::InvalidArgument, "outliers: 1.." + std::to_string(d) + " channels");
  std::mt19937_64 rng(seed);
  std::vector<int64_t> idx(static_cast<size_t>(d));
  for (int64_t i = 0; i < d; ++i) idx[static_cast<size_t>(i)] = i;
  std::shuffle(idx.begin(), idx.end(), rng);
  idx.resize(static_cast<size_t>(channels));
  std::uniform_real_distribution<float> factor(20.0f, 100.0f);
  std::vector<float> c(static_cast<size_t>(d), 1.0f);  // the same channels in every layer: systematic features
  for (const int64_t i : idx) c[static_cast<size_t>(i)] = factor(rng);
  if (chosen) *chosen = idx;
  std::map<std::string, Tensor> out;
  auto scaled = [&](const std::string& name, bool columns) {
    const ModelTensor* t = f.find(name);
    if (!t) throw Error(ErrorCategory::BadFile, f.path + ": missing tensor " + name);
    Tensor x = tensor_to_f32(*t);
    auto v = x.mutable_span<float>();
    for (size_t i = 0; i < v.size(); ++i) {
      const float k = c[i % static_cast<size_t>(d)];
      v[i] = columns ? v[i] / k : v[i] * k;  // rows of a [out, d] weight: column i % d
    }
    out[name] = std::move(x);
  };
  for (int64_t l = 0; l < f.config->num_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    scaled(p + "attn_norm.weight", false);
    scaled(p + "ffn_norm.weight", false);
    if (!same_function) continue;
    for (const char* n : {"attn_q.weight", "attn_k.weight", "attn_v.weight", "ffn_gate.weight", "ffn_up.weight"}) scaled(p + n, true);
  }
  return out;
}

}  // namespace qforge
