// qforge convert IN -o OUT [--type T]: between Hugging Face folders, safetensors, GGUF and
// llama2.c checkpoints. The output format follows OUT's extension.
#include <cstdio>
#include <string>

#include "args.h"
#include "commands.h"
#include "model_summary.h"
#include "qforge/error.h"
#include "qforge/model_writer.h"

namespace qforge::cli {
namespace {

constexpr const char* kUsage =
    "usage: qforge convert IN -o OUT [--type T]\n"
    "  IN   a Hugging Face folder, .safetensors, model.safetensors.index.json, .gguf or llama2.c .bin\n"
    "  OUT  .gguf or .safetensors (written beside the destination, renamed when complete)\n"
    "  --type T  GGUF: f32, f16, bf16, q8_0, q6_k, q5_1, q5_0, q4_k, q4_1, q4_0, tq2_0, tq1_0 (default f16)\n"
    "            safetensors: f32, f16, bf16 (default: keep each tensor's float type)\n";


}  // namespace

int cmd_convert(std::span<const std::string> argv) {
  Args args("convert", argv);
  if (args.flag("--help")) {
    std::printf("%s", kUsage);
    return 0;
  }
  const auto out = args.option("-o");
  const auto type = args.option("--type");
  const auto in = args.positionals();
  args.finish();
  if (in.size() != 1) throw Error(ErrorCategory::InvalidArgument, "convert: give exactly one input model (see qforge convert --help)");
  if (!out) throw Error(ErrorCategory::InvalidArgument, "convert: missing -o OUT");
  const ModelFile m = open_model(in.front());
  std::vector<WrittenTensor> written;
  if (out->ends_with(".gguf")) {
    written = write_gguf_model(m, *out, parse_ggml_type(type.value_or("f16"), true));
  } else if (out->ends_with(".safetensors")) {
    std::optional<DType> dt;
    if (type) {
      dt = parse_dtype(*type);
      if (*dt != DType::f32 && *dt != DType::f16 && *dt != DType::bf16)
        throw Error(ErrorCategory::InvalidArgument, "convert: safetensors output takes --type f32, f16 or bf16, not " + *type);
    }
    written = write_safetensors_model(m, *out, dt);
  } else {
    throw Error(ErrorCategory::InvalidArgument, "convert: cannot tell the output format of '" + *out +
                                                    "'; supported: .gguf, .safetensors");
  }
  uint64_t total = 0;
  for (const auto& w : written) {
    total += w.bytes;
    if (!w.note.empty()) std::fprintf(stderr, "note: %s: %s\n", w.name.c_str(), w.note.c_str());
  }
  std::printf("wrote %s: %zu tensors, %s of tensor data\n", out->c_str(), written.size(), human_bytes(total).c_str());
  if (!m.config) std::fprintf(stderr, "note: the input has no config; no architecture metadata was written\n");
  if (out->ends_with(".gguf") && !m.vocab)
    std::fprintf(stderr, "note: the input has no tokenizer qforge reads yet; no tokenizer metadata was written\n");
  return 0;
}

}  // namespace qforge::cli
