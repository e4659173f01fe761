// qforge synth [--arch A] --preset P -o OUT [--gguf] [--seed S]: a synthetic model of a real shape.
#include <cstdio>
#include <string>

#include "args.h"
#include "commands.h"
#include "qforge/error.h"
#include "qforge/qforge_checkpoint.h"
#include "qforge/synth.h"

namespace qforge::cli {

int cmd_synth(std::span<const std::string> argv) {
  Args args("synth", argv);
  if (args.flag("--help")) {
    std::printf("usage: qforge synth [--arch llama|gpt2] --preset P -o OUT [--gguf] [--seed S]\n"
                "       qforge synth --outliers-from MODEL [--channels N] [--same-function] -o OUT.safetensors [--seed S]\n"
                "  presets: llama tiny|135m|1b|7b-layer, gpt2 tiny|124m\n"
                "  random weights with an LLM's statistics (per-channel scales, heavy tails, outlier\n"
                "  input channels) at a real model's shape, for speed work; OUT is a folder\n"
                "  (config.json + bf16 safetensors) or, with --gguf, an f16 GGUF file.\n"
                "  --outliers-from: MODEL (Llama family) with LLM-like activation outliers: N hidden channels\n"
                "  (default 4) of every norm gain ×20–100 (--same-function: the weight columns reading them\n"
                "  ÷ the same, so the function is MODEL's); qforge's checkpoint in f32, config and vocabulary inside.\n");
    return 0;
  }
  const auto preset = args.option("--preset");
  const auto out = args.option("-o");
  const std::string arch = args.option("--arch").value_or("llama");
  const bool gguf = args.flag("--gguf");
  const auto seed_text = args.option("--seed");
  const auto from = args.option("--outliers-from");
  const int64_t channels = args.integer("--channels", 4, 1, 1 << 20);
  const bool same_function = args.flag("--same-function");
  args.finish();
  if (!out || (!preset && !from)) throw Error(ErrorCategory::InvalidArgument, "synth: needs --preset or --outliers-from, and -o (see qforge synth --help)");
  uint64_t seed = 0;
  if (seed_text) {
    try {
      seed = std::stoull(*seed_text);
    } catch (const std::exception&) {
      throw Error(ErrorCategory::InvalidArgument, "synth: --seed expects an integer, got '" + *seed_text + "'");
    }
  }
  if (from) {
    if (!out->ends_with(".safetensors")) throw Error(ErrorCategory::InvalidArgument, "synth: --outliers-from writes -o OUT.safetensors");
    const ModelFile f = open_model(*from);
    std::vector<int64_t> chosen;
    const auto replaced = with_activation_outliers(f, channels, seed, same_function, &chosen);
    std::string list;
    for (const int64_t c : chosen) list += (list.empty() ? "" : ",") + std::to_string(c);
    write_qforge_checkpoint(f, *out, {}, DType::f32, {{"qforge.synth.outliers", "channels " + list + " of " + *from}}, replaced);
    std::printf("wrote %s: %s with activation outliers in channels %s%s\n", out->c_str(), from->c_str(), list.c_str(),
                same_function ? " (the same function)" : "");
    return 0;
  }
  const int64_t params = write_synthetic_model(*preset, *out, gguf, seed, arch);
  std::printf("wrote %s: synthetic %s (%lld parameters, seed %llu) — for speed work, not accuracy\n", out->c_str(),
              preset->c_str(), static_cast<long long>(params), static_cast<unsigned long long>(seed));
  return 0;
}

}  // namespace qforge::cli
