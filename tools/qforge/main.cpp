// qforge: one binary, one file per subcommand. Errors are caught here, once.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "commands.h"
#include "qforge/error.h"

namespace {

struct Command {
  const char* name;
  int (*run)(std::span<const std::string>);
  const char* summary;
};

constexpr Command kCommands[] = {
    {"info", qforge::cli::cmd_info, "CPU features and kernels; with a model: its architecture, tensors and size"},
    {"convert", qforge::cli::cmd_convert, "convert between safetensors, GGUF (quantized as llama.cpp does) and llama2.c"},
    {"quantize", qforge::cli::cmd_quantize, "quantize a model's weights (rtn, gptq) and write it as GGUF, with a per-layer report"},
    {"run", qforge::cli::cmd_run, "generate text with a model (greedy, or temperature/top-k/top-p sampling)"},
    {"eval", qforge::cli::cmd_eval, "perplexity on a text file (llama.cpp's or the GPTQ papers' protocol)"},
    {"bench", qforge::cli::cmd_bench, "prompt (pp512) and generation (tg128) tokens/s, median of repetitions, as llama-bench"},
    {"synth", qforge::cli::cmd_synth, "write a synthetic model of a real shape (tiny, 135m, 1b, 7b-layer) for speed work"},
    {"dtypes", qforge::cli::cmd_dtypes, "every data type's range and precision; --value X shows X stored in each float type"},
};

void print_usage(std::FILE* out) {
  std::fprintf(out, "qforge %s - quantization toolkit\n\nusage: qforge <command> [options]\n\ncommands:\n",
               QFORGE_VERSION);
  for (const auto& c : kCommands) std::fprintf(out, "  %-8s %s\n", c.name, c.summary);
  std::fprintf(out, "\nRun 'qforge <command> --help' for a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_usage(args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::printf("qforge %s\n", QFORGE_VERSION);
    return 0;
  }
  try {
    for (const auto& c : kCommands)
      if (args[0] == c.name) return c.run(std::span<const std::string>(args).subspan(1));
    std::string names;
    for (const auto& c : kCommands) names += std::string(names.empty() ? "" : ", ") + c.name;
    throw qforge::Error(qforge::ErrorCategory::InvalidArgument,
                        "unknown command '" + args[0] + "'; available: " + names);
  } catch (const qforge::Error& e) {
    std::fprintf(stderr, "qforge: %s\n", e.what());
    return e.category() == qforge::ErrorCategory::Internal ? 70 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qforge: internal error: %s\n", e.what());
    return 70;
  }
}
