// qforge bench MODEL [-p 512] [-n 128] [-r 5] [-t THREADS]: prompt processing (ppP: P tokens
// in one forward from an empty cache) and token generation (tgN: N single-token forwards from
// an empty cache) in tokens/s, the median and standard deviation of R repetitions after one
// warm-up — the tests llama-bench runs, on random token ids.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "model_summary.h"
#include "qforge/engine.h"
#include "qforge/error.h"

namespace qforge::cli {
namespace {

constexpr const char* kUsage =
    "usage: qforge bench MODEL [-p P] [-n N] [-r R] [-t THREADS]\n"
    "  ppP: a prompt of P random tokens (default 512) in one forward; tgN: N tokens (default 128)\n"
    "  generated one at a time; each from an empty KV cache, R repetitions (default 5) after a\n"
    "  warm-up, reported as median ± standard deviation in tokens/s. -p 0 or -n 0 skips a test.\n";

struct Stats {
  double median, stddev;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  const double median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  double mean = 0, var = 0;
  for (double x : v) mean += x / static_cast<double>(n);
  for (double x : v) var += (x - mean) * (x - mean);
  return {median, n > 1 ? std::sqrt(var / static_cast<double>(n - 1)) : 0.0};
}

// Tokens/s of one repetition of a test.
double prompt_rate(Model& model, const std::vector<int32_t>& ids) {
  model.reset();
  const auto t0 = std::chrono::steady_clock::now();
  (void)model.forward(ids);
  return static_cast<double>(ids.size()) / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
double generation_rate(Model& model, const std::vector<int32_t>& ids) {
  model.reset();
  const auto t0 = std::chrono::steady_clock::now();
  for (const int32_t id : ids) (void)model.forward(std::span<const int32_t>(&id, 1));
  return static_cast<double>(ids.size()) / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int cmd_bench(std::span<const std::string> argv) {
  Args args("bench", argv);
  if (args.flag("--help")) {
    std::printf("%s", kUsage);
    return 0;
  }
  const int64_t p = args.integer("-p", 512, 0, 1 << 20);
  const int64_t n = args.integer("-n", 128, 0, 1 << 20);
  const int64_t reps = args.integer("-r", 5, 1, 1000);
  const int threads = static_cast<int>(args.integer("-t", 2, 1, 256));
  const auto models = args.positionals();
  args.finish();
  if (models.size() != 1) throw Error(ErrorCategory::InvalidArgument, "bench: give exactly one model (see qforge bench --help)");

  const ModelFile f = open_model(models.front());
  auto model = Model::load(f, {.threads = threads, .context = std::max<int64_t>({p, n, 1})});
  if (std::max(p, n) > model->context())
    throw Error(ErrorCategory::InvalidArgument, "bench: " + models.front() + " has a context of " + std::to_string(model->context()) +
                                                    " tokens, fewer than the " + std::to_string(std::max(p, n)) + " asked for");
  uint64_t bytes = 0;
  int64_t params = 0;
  // the type holding the most parameters names the model's (in bytes, a checkpoint's f16
  // embedding can outweigh its 4-bit matrices)
  std::map<std::string, int64_t> params_by_type;
  for (const auto& t : f.tensors) {
    bytes += t.nbytes();
    params += t.numel();
    params_by_type[t.type_name()] += t.numel();
  }
  const std::string type =
      std::max_element(params_by_type.begin(), params_by_type.end(), [](const auto& a, const auto& b) { return a.second < b.second; })->first;
  std::mt19937 rng(1);
  std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(model->config().vocab_size - 1));
  auto random_ids = [&](int64_t count) {
    std::vector<int32_t> ids(static_cast<size_t>(count));
    for (auto& id : ids) id = token(rng);
    return ids;
  };

  std::printf("| model | size | params | type | threads | test | t/s |\n|---|---:|---:|---|---:|---:|---:|\n");
  auto report = [&](const std::string& test, double (*rate)(Model&, const std::vector<int32_t>&), int64_t count) {
    const auto ids = random_ids(count);
    (void)rate(*model, ids);  // warm-up: page in the weights, spin up the threads
    std::vector<double> rates;
    for (int64_t r = 0; r < reps; ++r) rates.push_back(rate(*model, ids));
    const Stats s = stats(rates);
    std::printf("| %s | %s | %.2f M | %s | %d | %s | %.2f ± %.2f |\n", models.front().c_str(), human_bytes(bytes).c_str(),
                static_cast<double>(params) / 1e6, type.c_str(), threads, test.c_str(), s.median, s.stddev);
    std::fflush(stdout);
  };
  if (p > 0) report("pp" + std::to_string(p), prompt_rate, p);
  if (n > 0) report("tg" + std::to_string(n), generation_rate, n);
  return 0;
}

}  // namespace qforge::cli
