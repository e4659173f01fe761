// Choosing the next token from logits: greedy at temperature 0, otherwise temperature,
// top-k and top-p (nucleus) filtering and a seeded draw, so a seed reproduces a generation.
#pragma once

#include <cstdint>
#include <random>
#include <span>

namespace qforge {

struct SamplingParams {
  float temperature = 0.0f;  // 0: greedy
  int top_k = 0;             // 0: no limit
  float top_p = 1.0f;        // 1: no nucleus cut
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(SamplingParams p) : p_(p), rng_(p.seed) {}
  int32_t sample(std::span<const float> logits);

 private:
  SamplingParams p_;
  std::mt19937_64 rng_;
};

int32_t argmax(std::span<const float> logits);  // the first maximum

}  // namespace qforge
