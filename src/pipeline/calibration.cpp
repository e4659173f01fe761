// Calibration samples: windows of a tokenized text, random ids, or the model's own text.
#include <random>

#include "qforge/engine.h"
#include "qforge/error.h"
#include "qforge/pipeline.h"
#include "qforge/sampling.h"

namespace qforge {
namespace {

void check_shape(int64_t samples, int64_t seqlen) {
  if (samples < 1 || seqlen < 2)
    throw Error(ErrorCategory::InvalidArgument, "calibration needs at least 1 sample of 2 tokens, got " + std::to_string(samples) +
                                                    " × " + std::to_string(seqlen));
}

}  // namespace

int64_t CalibrationSet::tokens() const {
  int64_t n = 0;
  for (const auto& s : samples) n += static_cast<int64_t>(s.size());
  return n;
}

CalibrationSet calibration_windows(std::span<const int32_t> tokens, int64_t samples, int64_t seqlen, uint64_t seed,
                                   std::optional<int32_t> bos, const std::string& source) {
  check_shape(samples, seqlen);
  const int64_t body = bos ? seqlen - 1 : seqlen;
  const auto n = static_cast<int64_t>(tokens.size());
  if (n < body + 1)
    throw Error(ErrorCategory::InvalidArgument, source + ": " + std::to_string(n) + " tokens are too few for calibration windows of " +
                                                    std::to_string(seqlen) + "; give a longer text or a smaller --calib-seqlen");
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> start(0, n - body - 1);
  CalibrationSet c;
  for (int64_t s = 0; s < samples; ++s) {
    const int64_t i = start(rng);
    std::vector<int32_t> w;
    w.reserve(static_cast<size_t>(seqlen));
    if (bos) w.push_back(*bos);
    w.insert(w.end(), tokens.begin() + i, tokens.begin() + i + body);
    c.samples.push_back(std::move(w));
  }
  c.description = std::to_string(samples) + " windows of " + std::to_string(seqlen) + " tokens from " + source + " (seed " +
                  std::to_string(seed) + ")";
  return c;
}

CalibrationSet random_calibration(int64_t vocab_size, int64_t samples, int64_t seqlen, uint64_t seed, std::optional<int32_t> bos) {
  check_shape(samples, seqlen);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(vocab_size - 1));
  CalibrationSet c;
  for (int64_t s = 0; s < samples; ++s) {
    std::vector<int32_t> w;
    if (bos) w.push_back(*bos);
    while (static_cast<int64_t>(w.size()) < seqlen) w.push_back(id(rng));
    c.samples.push_back(std::move(w));
  }
  c.description = std::to_string(samples) + " × " + std::to_string(seqlen) + " uniformly random tokens (seed " + std::to_string(seed) + ")";
  return c;
}

CalibrationSet self_generated_calibration(Model& model, int64_t samples, int64_t seqlen, uint64_t seed, int32_t bos,
                                          const std::function<void(int64_t, int64_t)>& progress) {
  check_shape(samples, seqlen);
  seqlen = std::min(seqlen, model.context());
  CalibrationSet c;
  for (int64_t s = 0; s < samples; ++s) {
    Sampler sampler({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .seed = seed + static_cast<uint64_t>(s)});
    model.reset();
    std::vector<int32_t> w = {bos};
    while (static_cast<int64_t>(w.size()) < seqlen) {
      const std::vector<float> logits = model.forward(std::span<const int32_t>(&w.back(), 1));
      w.push_back(sampler.sample(logits));
    }
    c.samples.push_back(std::move(w));
    if (progress) progress(s + 1, samples);
  }
  model.reset();
  c.description = std::to_string(samples) + " × " + std::to_string(seqlen) + " tokens the model generated itself (temperature 1, seed " +
                  std::to_string(seed) + ")";
  return c;
}

}  // namespace qforge
