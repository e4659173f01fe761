#include "model_summary.h"

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "qforge/ggml_types.h"
#include "qforge/model_writer.h"

namespace qforge::cli {
namespace {

std::string format_g(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// Bytes of tensor data if `qforge convert --type` stored the model as `type`.
uint64_t bytes_as(const ModelFile& m, GgmlType type) {
  uint64_t total = 0;
  for (const auto& t : m.tensors) {
    const auto row = static_cast<uint64_t>(t.shape.empty() ? 1 : t.shape.back());
    if (row == 0) continue;
    total += static_cast<uint64_t>(t.numel()) / row * ggml_row_bytes(gguf_storage_type(t.shape, type), row);
  }
  return total;
}

constexpr GgmlType kFootprintTypes[] = {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0,
                                        GgmlType::Q6_K, GgmlType::Q4_K, GgmlType::Q4_0, GgmlType::TQ2_0};

}  // namespace

std::string human_bytes(uint64_t n) {
  char b[32];
  if (n >= (1ull << 30)) std::snprintf(b, sizeof b, "%.2f GiB", static_cast<double>(n) / (1ull << 30));
  else if (n >= (1ull << 20)) std::snprintf(b, sizeof b, "%.2f MiB", static_cast<double>(n) / (1ull << 20));
  else if (n >= 1024) std::snprintf(b, sizeof b, "%.1f KiB", static_cast<double>(n) / 1024);
  else std::snprintf(b, sizeof b, "%llu B", static_cast<unsigned long long>(n));
  return b;
}

void print_model_summary(const ModelFile& m, bool list_tensors, bool json) {
  uint64_t params = 0, bytes = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_type;  // type → (tensors, params)
  for (const auto& t : m.tensors) {
    params += static_cast<uint64_t>(t.numel());
    bytes += t.nbytes();
    auto& e = by_type[t.type_name()];
    e.first += 1;
    e.second += static_cast<uint64_t>(t.numel());
  }
  const double bpw = params ? 8.0 * static_cast<double>(bytes) / static_cast<double>(params) : 0.0;
  if (json) {
    nlohmann::json j;
    j["path"] = m.path;
    j["format"] = model_format_name(m.format);
    j["file_bytes"] = m.file_bytes;
    j["parameters"] = params;
    j["tensor_bytes"] = bytes;
    j["bits_per_weight"] = bpw;
    if (m.config) {
      const auto& c = *m.config;
      j["config"] = {{"architecture", c.architecture}, {"vocab_size", c.vocab_size}, {"hidden_size", c.hidden_size},
                     {"intermediate_size", c.intermediate_size}, {"num_layers", c.num_layers},
                     {"num_heads", c.num_heads}, {"num_kv_heads", c.num_kv_heads}, {"head_dim", c.head_dim},
                     {"context_length", c.context_length}, {"norm_eps", c.norm_eps}, {"rope_theta", c.rope_theta},
                     {"tie_word_embeddings", c.tie_word_embeddings}};
    }
    for (const auto& [type, e] : by_type) j["types"][type] = {{"tensors", e.first}, {"parameters", e.second}};
    for (GgmlType t : kFootprintTypes) j["memory_as"][std::string(ggml_type_info(t).name)] = bytes_as(m, t);
    if (m.vocab) j["vocab"] = {{"model", m.vocab->model}, {"size", m.vocab->tokens.size()}, {"bos", m.vocab->bos}, {"eos", m.vocab->eos}};
    if (list_tensors)
      for (const auto& t : m.tensors)
        j["tensors"].push_back({{"name", t.name}, {"source_name", t.source_name}, {"shape", t.shape},
                                {"type", t.type_name()}, {"bytes", t.nbytes()}});
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("model     %s (%s, %s on disk)\n", m.path.c_str(), std::string(model_format_name(m.format)).c_str(),
              human_bytes(m.file_bytes).c_str());
  if (m.config) {
    const auto& c = *m.config;
    std::printf("arch      %s: %lld layers, hidden %lld, ffn %lld, heads %lld (kv %lld, head_dim %lld), vocab %lld, context %lld\n",
                c.architecture.c_str(), static_cast<long long>(c.num_layers), static_cast<long long>(c.hidden_size),
                static_cast<long long>(c.intermediate_size), static_cast<long long>(c.num_heads),
                static_cast<long long>(c.num_kv_heads), static_cast<long long>(c.head_dim),
                static_cast<long long>(c.vocab_size), static_cast<long long>(c.context_length));
    const std::string position = c.family == ModelFamily::Gpt2 ? "learned positions, " + c.hidden_act
                                                                : "rope_theta " + format_g(c.rope_theta);
    std::printf("          norm_eps %g, %s%s%s%s\n", c.norm_eps, position.c_str(),
                c.tie_word_embeddings ? ", tied embeddings" : "", c.attention_bias ? ", qkv bias" : "",
                c.qk_norm ? ", q/k norm" : "");
  } else {
    std::printf("arch      unknown (no config.json or architecture metadata)\n");
  }
  std::printf("params    %llu in %zu tensors, %s of tensor data, %.2f bits per weight\n",
              static_cast<unsigned long long>(params), m.tensors.size(), human_bytes(bytes).c_str(), bpw);
  for (const auto& [type, e] : by_type)
    std::printf("          %-8s %4llu tensors %12llu params\n", type.c_str(), static_cast<unsigned long long>(e.first),
                static_cast<unsigned long long>(e.second));
  std::printf("memory   ");
  for (GgmlType t : kFootprintTypes)
    std::printf(" %s %s |", std::string(ggml_type_info(t).name).c_str(), human_bytes(bytes_as(m, t)).c_str());
  std::printf(" (weights as qforge convert --type would store them)\n");
  if (m.vocab)
    std::printf("vocab     %zu tokens (%s), bos %lld, eos %lld\n", m.vocab->tokens.size(), m.vocab->model.c_str(),
                static_cast<long long>(m.vocab->bos), static_cast<long long>(m.vocab->eos));
  if (list_tensors) {
    std::printf("\n%-40s %-18s %-8s %12s\n", "tensor", "shape", "type", "bytes");
    for (const auto& t : m.tensors)
      std::printf("%-40s %-18s %-8s %12llu\n", t.name.c_str(), shape_to_string(t.shape).c_str(), t.type_name().c_str(),
                  static_cast<unsigned long long>(t.nbytes()));
  }
}

}  // namespace qforge::cli
