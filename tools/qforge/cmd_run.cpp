// qforge run MODEL -p TEXT [-n N] [--temp T --top-k K --top-p P --seed S] [-t THREADS]:
// streams generated text to stdout; speed goes to stderr.
#include <chrono>
#include <cstdio>
#include <string>

#include "args.h"
#include "commands.h"
#include "qforge/engine.h"
#include "qforge/error.h"
#include "qforge/sampling.h"
#include "qforge/tokenizer.h"

namespace qforge::cli {
namespace {

constexpr const char* kUsage =
    "usage: qforge run MODEL [-p TEXT] [-n N] [--temp T] [--top-k K] [--top-p P] [--seed S] [-t THREADS]\n"
    "  generates up to N tokens (default 128) after BOS + TEXT; --temp 0 (the default) is greedy.\n";

template <class T>
T number(const std::optional<std::string>& s, T fallback, const char* flag) {
  if (!s) return fallback;
  try {
    size_t used = 0;
    const double v = std::stod(*s, &used);
    if (used != s->size()) throw std::invalid_argument(*s);
    return static_cast<T>(v);
  } catch (const std::exception&) {
    throw Error(ErrorCategory::InvalidArgument, std::string("run: ") + flag + " expects a number, got '" + *s + "'");
  }
}

}  // namespace

int cmd_run(std::span<const std::string> argv) {
  Args args("run", argv);
  if (args.flag("--help")) {
    std::printf("%s", kUsage);
    return 0;
  }
  const std::string prompt = args.option("-p").value_or("");
  const auto n = number<int64_t>(args.option("-n"), 128, "-n");
  SamplingParams sp;
  sp.temperature = number<float>(args.option("--temp"), 0.0f, "--temp");
  sp.top_k = number<int>(args.option("--top-k"), 0, "--top-k");
  sp.top_p = number<float>(args.option("--top-p"), 1.0f, "--top-p");
  sp.seed = number<uint64_t>(args.option("--seed"), 0, "--seed");
  const int threads = number<int>(args.option("-t"), 2, "-t");
  const auto models = args.positionals();
  args.finish();
  if (models.size() != 1) throw Error(ErrorCategory::InvalidArgument, "run: give exactly one model (see qforge run --help)");
  if (n < 0) throw Error(ErrorCategory::InvalidArgument, "run: -n must not be negative");
  if (threads < 1 || threads > 256) throw Error(ErrorCategory::InvalidArgument, "run: -t must be in 1..256");

  const ModelFile f = open_model(models.front());
  const auto tokenizer = make_tokenizer(f);
  const Tokenizer& tok = *tokenizer;
  auto model = Model::load(f, {.threads = threads});
  std::vector<int32_t> ids = tok.encode(prompt, tok.add_bos());
  if (ids.empty()) throw Error(ErrorCategory::InvalidArgument, "run: this model adds no BOS token; give a prompt with -p TEXT");
  if (static_cast<int64_t>(ids.size()) >= model->context())
    throw Error(ErrorCategory::InvalidArgument, "run: the prompt's " + std::to_string(ids.size()) + " tokens fill the context of " +
                                                    std::to_string(model->context()));
  Sampler sampler(sp);
  std::fputs(prompt.c_str(), stdout);
  std::fflush(stdout);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<float> logits = model->forward(ids);
  const auto t1 = std::chrono::steady_clock::now();
  int64_t generated = 0;
  while (generated < n && model->position() < model->context()) {
    const int32_t next = sampler.sample(logits);
    if (next == tok.eos()) break;
    std::fputs(tok.decode_piece(ids.back(), next).c_str(), stdout);
    std::fflush(stdout);
    ids.push_back(next);
    ++generated;
    if (generated < n && model->position() < model->context()) logits = model->forward(std::span<const int32_t>(&ids.back(), 1));
  }
  const auto t2 = std::chrono::steady_clock::now();
  std::printf("\n");
  std::fflush(stdout);  // the text before the speed line on a shared terminal
  const double prompt_s = std::chrono::duration<double>(t1 - t0).count();
  const double gen_s = std::chrono::duration<double>(t2 - t1).count();
  std::fprintf(stderr, "prompt: %zu tokens, %.1f tokens/s; generation: %lld tokens, %.1f tokens/s (%d threads)\n",
               ids.size() - static_cast<size_t>(generated), static_cast<double>(ids.size() - static_cast<size_t>(generated)) / prompt_s,
               static_cast<long long>(generated), static_cast<double>(generated) / (gen_s > 0 ? gen_s : 1e-9), threads);
  return 0;
}

}  // namespace qforge::cli
