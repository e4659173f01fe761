// qforge eval MODEL --ppl TEXT [--ppl-mode llamacpp|gptq] [--ctx N] [--chunks N] [-t N] [--json]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "args.h"
#include "commands.h"
#include "model_summary.h"
#include "qforge/error.h"
#include "qforge/eval.h"
#include "qforge/mapped_file.h"
#include "qforge/tokenizer.h"

namespace qforge::cli {
namespace {

constexpr const char* kUsage =
    "usage: qforge eval MODEL --ppl TEXT [--ppl-mode llamacpp|gptq] [--ctx N] [--chunks N] [-t N] [--json]\n"
    "       qforge eval MODEL --kld-base BASE --text TEXT [--ctx N] [--chunks N] [-t N] [--json]\n"
    "  llamacpp: windows of --ctx tokens (default 512), BOS first in each, the second half scored —\n"
    "            the numbers llama-perplexity prints\n"
    "  gptq:     the file's lines joined as dataset rows with \"\\n\\n\", one BOS, non-overlapping\n"
    "            windows, every token scored — the GPTQ/AWQ papers' protocol (pass wiki.test.raw)\n"
    "  --kld-base: KL divergence from BASE on llama.cpp's scored tokens: mean (± error), median,\n"
    "            99th percentile and max, top-1 agreement and RMS of the change in p(next token)\n";

}  // namespace

int cmd_eval(std::span<const std::string> argv) {
  Args args("eval", argv);
  if (args.flag("--help")) {
    std::printf("%s", kUsage);
    return 0;
  }
  const auto ppl_file = args.option("--ppl");
  const auto kld_base = args.option("--kld-base");
  const auto kld_text = args.option("--text");
  const std::string mode_name = args.option("--ppl-mode").value_or("llamacpp");
  const int64_t ctx = args.integer("--ctx", 512);
  const int64_t chunks = args.integer("--chunks", 0);
  const auto threads = static_cast<int>(args.integer("-t", 2));
  const bool json = args.flag("--json");
  const auto models = args.positionals();
  args.finish();
  if (models.size() != 1) throw Error(ErrorCategory::InvalidArgument, "eval: give exactly one model (see qforge eval --help)");
  if (!ppl_file && !kld_base) throw Error(ErrorCategory::InvalidArgument, "eval: nothing to measure; give --ppl TEXT or --kld-base BASE --text TEXT");
  if (kld_base && !kld_text) throw Error(ErrorCategory::InvalidArgument, "eval: --kld-base needs --text TEXT");
  PplOptions o;
  if (mode_name == "llamacpp") o.mode = PplMode::LlamaCpp;
  else if (mode_name == "gptq") o.mode = PplMode::Gptq;
  else throw Error(ErrorCategory::InvalidArgument, "eval: --ppl-mode '" + mode_name + "' is unknown; supported: llamacpp, gptq");
  o.ctx = ctx;
  o.max_chunks = chunks;

  const ModelFile f = open_model(models.front());
  const auto tokenizer = make_tokenizer(f);
  const Tokenizer& tok = *tokenizer;
  auto model = Model::load(f, {.threads = threads});
  const std::optional<int32_t> bos = tok.add_bos() ? std::optional<int32_t>(tok.bos()) : std::nullopt;
  const auto start = std::chrono::steady_clock::now();
  const bool terminal = ::isatty(STDERR_FILENO) != 0;
  int64_t last_tenth = -1;
  o.progress = [&](int64_t done, int64_t total, double running) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double eta = s / static_cast<double>(done) * static_cast<double>(total - done);
    if (terminal) {  // one line, rewritten in place
      std::fprintf(stderr, "\rchunk %lld/%lld  ppl %.4f  ETA %.0f s   %s", static_cast<long long>(done),
                   static_cast<long long>(total), running, eta, done == total ? "\n" : "");
    } else if (const int64_t tenth = done * 10 / total; tenth != last_tenth) {  // plain lines, every 10 %
      last_tenth = tenth;
      std::fprintf(stderr, "chunk %lld/%lld  ppl %.4f  ETA %.0f s\n", static_cast<long long>(done),
                   static_cast<long long>(total), running, eta);
    }
  };
  uint64_t params = 0, bytes = 0;
  for (const auto& t : f.tensors) {
    params += static_cast<uint64_t>(t.numel());
    bytes += t.nbytes();
  }
  const double bpw = 8.0 * static_cast<double>(bytes) / static_cast<double>(params);
  if (kld_base) {
    const ModelFile bf = open_model(*kld_base);
    auto base = Model::load(bf, {.threads = threads});
    const std::vector<int32_t> tokens = tok.encode(read_file_text(*kld_text), tok.add_bos());
    const KldResult k = kl_divergence(*base, *model, tokens, bos, o);
    if (json) {
      nlohmann::json j = {{"model", models.front()}, {"base", *kld_base}, {"text", *kld_text}, {"mean_kld", k.mean_kld},
                          {"kld_error", k.kld_error}, {"median_kld", k.median_kld}, {"p99_kld", k.p99_kld},
                          {"max_kld", k.max_kld}, {"top1_agreement", k.top1_agreement}, {"rms_dp", k.rms_dp},
                          {"base_ppl", k.base_ppl}, {"model_ppl", k.model_ppl}, {"tokens_scored", k.tokens_scored},
                          {"bits_per_weight", bpw}};
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    std::printf("model    %s (%.2f bits per weight) against base %s\n", models.front().c_str(), bpw, kld_base->c_str());
    std::printf("KLD      mean %.6f +/- %.6f, median %.6f, 99%% %.6f, max %.6f  (%lld tokens)\n", k.mean_kld, k.kld_error,
                k.median_kld, k.p99_kld, k.max_kld, static_cast<long long>(k.tokens_scored));
    std::printf("top-1    %.2f%% same token; RMS dp %.3f%%\n", 100 * k.top1_agreement, 100 * k.rms_dp);
    std::printf("ppl      model %.4f, base %.4f on the same tokens\n", k.model_ppl, k.base_ppl);
    return 0;
  }
  const std::string raw = read_file_text(*ppl_file);
  const std::vector<int32_t> tokens = tok.encode(o.mode == PplMode::Gptq ? gptq_join_rows(raw) : raw, tok.add_bos());
  const PplResult r = perplexity(*model, tokens, bos, o);
  if (json) {
    nlohmann::json j = {{"model", models.front()}, {"text", *ppl_file}, {"ppl_mode", ppl_mode_name(o.mode)},
                        {"ppl", r.ppl}, {"ppl_error", r.ppl_error}, {"mean_nll", r.mean_nll}, {"ctx", r.ctx},
                        {"chunks", r.chunks}, {"tokens_scored", r.tokens_scored}, {"text_tokens", tokens.size()},
                        {"parameters", params}, {"bytes", bytes}, {"bits_per_weight", bpw}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("model    %s: %llu parameters, %s, %.2f bits per weight\n", models.front().c_str(),
              static_cast<unsigned long long>(params), human_bytes(bytes).c_str(), bpw);
  std::printf("text     %s: %zu tokens\n", ppl_file->c_str(), tokens.size());
  std::printf("ppl      %.4f +/- %.4f  (mode %s, ctx %lld, %lld chunks, %lld tokens scored)\n", r.ppl, r.ppl_error,
              std::string(ppl_mode_name(o.mode)).c_str(), static_cast<long long>(r.ctx), static_cast<long long>(r.chunks),
              static_cast<long long>(r.tokens_scored));
  return 0;
}

}  // namespace qforge::cli
