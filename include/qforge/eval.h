// Perplexity under the two protocols people quote, so numbers compare with theirs.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "qforge/engine.h"

namespace qforge {

enum class PplMode {
  LlamaCpp,  // llama-perplexity: windows of n_ctx, BOS first in each, only the second half scored
  Gptq,      // GPTQ/AWQ papers: one BOS, non-overlapping windows of n_ctx, every next token scored
};

struct PplOptions {
  PplMode mode = PplMode::LlamaCpp;
  int64_t ctx = 512;
  int64_t max_chunks = 0;  // 0: every whole window of the text
  std::function<void(int64_t done, int64_t total, double running_ppl)> progress;
};

struct PplResult {
  double ppl = 0;
  double ppl_error = 0;  // ± one standard error (from the spread of per-token NLL)
  double mean_nll = 0;
  int64_t chunks = 0;
  int64_t tokens_scored = 0;
  int64_t ctx = 0;
};

// `tokens` is the whole tokenized text, with BOS first when the model uses one; `bos` is that
// token (llama.cpp's protocol starts every window with it), or nullopt for models without BOS.
PplResult perplexity(Model& model, std::span<const int32_t> tokens, std::optional<int32_t> bos,
                     const PplOptions& options);

// KL divergence of a model from a base model on the tokens llama.cpp's protocol scores (the
// second half of each window): the statistics llama-perplexity --kl-divergence reports.
struct KldResult {
  double mean_kld = 0, kld_error = 0;  // mean of KL(base ‖ model) per token, ± one standard error
  double median_kld = 0, p99_kld = 0, max_kld = 0;
  double top1_agreement = 0;  // fraction of tokens where both models' most likely token is the same
  double rms_dp = 0;          // RMS of p_model(next) − p_base(next), the probability of the true next token
  double base_ppl = 0, model_ppl = 0;
  int64_t tokens_scored = 0;
};
KldResult kl_divergence(Model& base, Model& model, std::span<const int32_t> tokens,
                        std::optional<int32_t> bos, const PplOptions& options);

// The GPTQ evaluation string from WikiText's raw file: lines are dataset rows ("" for blank
// lines, line + "\n" otherwise), joined with "\n\n", as `"\n\n".join(dataset["text"])` does.
std::string gptq_join_rows(const std::string& raw_text);

std::string_view ppl_mode_name(PplMode m);

}  // namespace qforge
