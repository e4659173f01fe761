// Float decode speed of the runtime on a real model, against the machine's memory bandwidth
// measured in the same run (decode reads every weight once per token).
//   bench_decode MODEL [threads=2] [prompt=64] [tokens=32]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "memory_bandwidth.h"
#include "qforge/engine.h"
#include "qforge/error.h"

using namespace qforge;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_decode MODEL [threads=2] [prompt=64] [tokens=32]\n");
    return 2;
  }
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  const int prompt = argc > 3 ? std::atoi(argv[3]) : 64;
  const int tokens = argc > 4 ? std::atoi(argv[4]) : 32;
  try {
    const ModelFile f = open_model(argv[1]);
    auto m = Model::load(f, {.threads = threads, .context = prompt + tokens + 1});
    const ModelConfig& c = m->config();
    // f32 weight bytes one decode step reads (all layers, the output matrix; not the embedding row)
    const double weight_bytes =
        4.0 * static_cast<double>(c.parameter_count() - (c.tie_word_embeddings ? 0 : c.vocab_size * c.hidden_size));
    std::vector<int32_t> ids(static_cast<size_t>(prompt));
    for (int i = 0; i < prompt; ++i) ids[static_cast<size_t>(i)] = (i * 7919 + 13) % static_cast<int32_t>(c.vocab_size);
    std::vector<double> step;
    double prompt_s = 0;
    for (int rep = 0; rep < 3; ++rep) {
      m->reset();
      const auto t0 = std::chrono::steady_clock::now();
      auto logits = m->forward(ids);
      const auto t1 = std::chrono::steady_clock::now();
      prompt_s = rep == 0 ? std::chrono::duration<double>(t1 - t0).count()
                          : std::min(prompt_s, std::chrono::duration<double>(t1 - t0).count());
      for (int k = 0; k < tokens; ++k) {
        const int32_t next = static_cast<int32_t>(k % c.vocab_size);
        const auto a = std::chrono::steady_clock::now();
        logits = m->forward(std::span<const int32_t>(&next, 1));
        step.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
      }
    }
    std::sort(step.begin(), step.end());
    const double med = step[step.size() / 2];
    const double bw = bench::read_bandwidth_gbs(size_t{512} << 20, threads);
    std::printf("model %s: %lld parameters, f32 weights %.1f MB read per token, %d threads\n", argv[1],
                static_cast<long long>(c.parameter_count()), weight_bytes / 1e6, threads);
    std::printf("memory read bandwidth (same run, %d threads): %.1f GB/s\n", threads, bw);
    std::printf("prompt (%d tokens): %.1f tokens/s (best of 3)\n", prompt, prompt / prompt_s);
    std::printf("decode: median %.2f ms/token = %.1f tokens/s, %.1f GB/s of weights = %.0f%% of measured bandwidth\n",
                med * 1e3, 1 / med, weight_bytes / med / 1e9, 100 * weight_bytes / med / 1e9 / bw);
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_decode: %s\n", e.what());
    return 1;
  }
  return 0;
}
