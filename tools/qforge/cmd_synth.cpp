// qforge synth [--arch A] --preset P -o OUT [--gguf] [--seed S]: a synthetic model of a real shape.
#include <cstdio>
#include <string>

#include "args.h"
#include "commands.h"
#include "qforge/error.h"
#include "qforge/synth.h"

namespace qforge::cli {

int cmd_synth(std::span<const std::string> argv) {
  Args args("synth", argv);
  if (args.flag("--help")) {
    std::printf("usage: qforge synth [--arch llama|gpt2] --preset P -o OUT [--gguf] [--seed S]\n"
                "  presets: llama tiny|135m|1b|7b-layer, gpt2 tiny|124m\n"
                "  random weights with an LLM's statistics (per-channel scales, heavy tails, outlier\n"
                "  input channels) at a real model's shape, for speed work; OUT is a folder\n"
                "  (config.json + bf16 safetensors) or, with --gguf, an f16 GGUF file.\n");
    return 0;
  }
  const auto preset = args.option("--preset");
  const auto out = args.option("-o");
  const std::string arch = args.option("--arch").value_or("llama");
  const bool gguf = args.flag("--gguf");
  const auto seed_text = args.option("--seed");
  args.finish();
  if (!preset || !out) throw Error(ErrorCategory::InvalidArgument, "synth: needs --preset and -o (see qforge synth --help)");
  uint64_t seed = 0;
  if (seed_text) {
    try {
      seed = std::stoull(*seed_text);
    } catch (const std::exception&) {
      throw Error(ErrorCategory::InvalidArgument, "synth: --seed expects an integer, got '" + *seed_text + "'");
    }
  }
  const int64_t params = write_synthetic_model(*preset, *out, gguf, seed, arch);
  std::printf("wrote %s: synthetic %s (%lld parameters, seed %llu) — for speed work, not accuracy\n", out->c_str(),
              preset->c_str(), static_cast<long long>(params), static_cast<unsigned long long>(seed));
  return 0;
}

}  // namespace qforge::cli
