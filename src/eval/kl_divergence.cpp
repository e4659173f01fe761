#include <algorithm>
#include <cmath>

#include "qforge/error.h"
#include "qforge/eval.h"

namespace qforge {
namespace {

// log-softmax of one row, in double
void log_softmax(const float* logits, int64_t n, std::vector<double>& out) {
  out.resize(static_cast<size_t>(n));
  double mx = logits[0];
  for (int64_t i = 1; i < n; ++i) mx = std::max(mx, static_cast<double>(logits[i]));
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - mx);
  const double lse = mx + std::log(sum);
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = static_cast<double>(logits[i]) - lse;
}

}  // namespace

KldResult kl_divergence(Model& base, Model& model, std::span<const int32_t> tokens,
                        std::optional<int32_t> bos, const PplOptions& o) {
  if (base.config().vocab_size != model.config().vocab_size)
    throw Error(ErrorCategory::InvalidArgument, "kl_divergence: the models' vocabularies differ (" +
                                                    std::to_string(base.config().vocab_size) + " vs " +
                                                    std::to_string(model.config().vocab_size) + ")");
  const int64_t n_ctx = std::min({o.ctx, base.context(), model.context()});
  int64_t chunks = static_cast<int64_t>(tokens.size()) / n_ctx;
  if (o.max_chunks > 0) chunks = std::min(chunks, o.max_chunks);
  if (chunks == 0 || n_ctx < 4) throw Error(ErrorCategory::InvalidArgument, "kl_divergence: the text is shorter than one window");
  const int64_t vocab = base.config().vocab_size;
  std::vector<double> klds, lp, lq;
  double sum_dp2 = 0, nll_p = 0, nll_q = 0;
  int64_t same = 0;
  std::vector<int32_t> window(static_cast<size_t>(n_ctx));
  for (int64_t c = 0; c < chunks; ++c) {
    std::copy_n(tokens.begin() + c * n_ctx, n_ctx, window.begin());
    if (bos) window[0] = *bos;
    base.reset();
    const auto a = base.forward(window, true);
    model.reset();  // after base ran: the two may be one model
    const auto b = model.forward(window, true);
    for (int64_t j = n_ctx / 2; j < n_ctx - 1; ++j) {
      log_softmax(&a[static_cast<size_t>(j * vocab)], vocab, lp);
      log_softmax(&b[static_cast<size_t>(j * vocab)], vocab, lq);
      double kld = 0;
      size_t arg_p = 0, arg_q = 0;
      for (size_t v = 0; v < lp.size(); ++v) {
        kld += std::exp(lp[v]) * (lp[v] - lq[v]);
        if (lp[v] > lp[arg_p]) arg_p = v;
        if (lq[v] > lq[arg_q]) arg_q = v;
      }
      klds.push_back(std::max(0.0, kld));
      same += arg_p == arg_q;
      const auto next = static_cast<size_t>(window[static_cast<size_t>(j + 1)]);
      const double dp = std::exp(lq[next]) - std::exp(lp[next]);
      sum_dp2 += dp * dp;
      nll_p -= lp[next];
      nll_q -= lq[next];
    }
    if (o.progress) o.progress(c + 1, chunks, std::exp(nll_q / static_cast<double>(klds.size())));
  }
  KldResult r;
  const auto n = static_cast<double>(klds.size());
  r.tokens_scored = static_cast<int64_t>(klds.size());
  double s = 0, s2 = 0;
  for (double k : klds) {
    s += k;
    s2 += k * k;
  }
  r.mean_kld = s / n;
  r.kld_error = klds.size() > 1 ? std::sqrt(std::max(0.0, (s2 / n - r.mean_kld * r.mean_kld) / (n - 1))) : 0.0;
  std::sort(klds.begin(), klds.end());
  auto quantile = [&](double q) { return klds[static_cast<size_t>(q * (n - 1) + 0.5)]; };
  r.median_kld = quantile(0.5);
  r.p99_kld = quantile(0.99);
  r.max_kld = klds.back();
  r.top1_agreement = static_cast<double>(same) / n;
  r.rms_dp = std::sqrt(sum_dp2 / n);
  r.base_ppl = std::exp(nll_p / n);
  r.model_ppl = std::exp(nll_q / n);
  return r;
}

}  // namespace qforge
