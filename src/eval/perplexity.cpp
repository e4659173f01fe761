#include <cmath>
#include <sstream>

#include "qforge/error.h"
#include "qforge/eval.h"

namespace qforge {
namespace {

// −log softmax(logits)[target], in double.
double nll(const float* logits, int64_t vocab, int32_t target) {
  double mx = logits[0];
  for (int64_t i = 1; i < vocab; ++i) mx = std::max(mx, static_cast<double>(logits[i]));
  double sum = 0;
  for (int64_t i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(logits[i]) - mx);
  return std::log(sum) + mx - static_cast<double>(logits[target]);
}

}  // namespace

std::string_view ppl_mode_name(PplMode m) { return m == PplMode::LlamaCpp ? "llamacpp" : "gptq"; }

std::string gptq_join_rows(const std::string& raw) {
  std::string out;
  std::istringstream in(raw);
  bool first = true;
  for (std::string line; std::getline(in, line);) {
    if (!first) out += "\n\n";
    first = false;
    if (line != " " && !line.empty()) out += line + "\n";
  }
  return out;
}

PplResult perplexity(Model& m, std::span<const int32_t> tokens, std::optional<int32_t> bos, const PplOptions& o) {
  const int64_t n_ctx = std::min(o.ctx, m.context());
  if (n_ctx < 2) throw Error(ErrorCategory::InvalidArgument, "perplexity: the context must hold at least 2 tokens");
  int64_t chunks = static_cast<int64_t>(tokens.size()) / n_ctx;
  if (o.max_chunks > 0) chunks = std::min(chunks, o.max_chunks);
  if (chunks == 0)
    throw Error(ErrorCategory::InvalidArgument, "perplexity: the text has " + std::to_string(tokens.size()) +
                                                    " tokens, fewer than one window of " + std::to_string(n_ctx));
  const int64_t vocab = m.config().vocab_size;
  double sum = 0, sum2 = 0;
  int64_t count = 0;
  double sum_window_means = 0;  // the GPTQ scripts average per-window means
  std::vector<int32_t> window(static_cast<size_t>(n_ctx));
  for (int64_t c = 0; c < chunks; ++c) {
    std::copy_n(tokens.begin() + c * n_ctx, n_ctx, window.begin());
    if (o.mode == PplMode::LlamaCpp && bos) window[0] = *bos;  // every llama.cpp chunk starts with BOS
    m.reset();
    const std::vector<float> logits = m.forward(window, /*all_logits=*/true);
    const int64_t first = o.mode == PplMode::LlamaCpp ? n_ctx / 2 : 0;
    double window_sum = 0;
    for (int64_t j = first; j < n_ctx - 1; ++j) {
      const double v = nll(&logits[static_cast<size_t>(j * vocab)], vocab, window[static_cast<size_t>(j + 1)]);
      sum += v;
      sum2 += v * v;
      window_sum += v;
      ++count;
    }
    sum_window_means += window_sum / static_cast<double>(n_ctx - 1 - first);
    if (o.progress) o.progress(c + 1, chunks, std::exp(o.mode == PplMode::Gptq ? sum_window_means / static_cast<double>(c + 1)
                                                                                 : sum / static_cast<double>(count)));
  }
  PplResult r;
  r.chunks = chunks;
  r.tokens_scored = count;
  r.ctx = n_ctx;
  r.mean_nll = o.mode == PplMode::Gptq ? sum_window_means / static_cast<double>(chunks) : sum / static_cast<double>(count);
  r.ppl = std::exp(r.mean_nll);
  const double mean = sum / static_cast<double>(count);
  const double var = count > 1 ? (sum2 / static_cast<double>(count) - mean * mean) / static_cast<double>(count - 1) : 0.0;
  r.ppl_error = r.ppl * std::sqrt(std::max(0.0, var));
  return r;
}

}  // namespace qforge
