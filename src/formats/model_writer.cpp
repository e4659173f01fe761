#include "qforge/model_writer.h"

#include <cstring>

#include "qforge/error.h"
#include "qforge/float_convert.h"
#include "qforge/gguf.h"
#include "qforge/safetensors.h"

namespace qforge {
namespace {

std::string gguf_architecture(const ModelConfig& c) {
  if (c.architecture == "mistral") return "llama";  // llama.cpp runs Mistral as llama
  return c.architecture;
}

void set_arch_metadata(GgufWriter& w, const ModelConfig& c) {
  const std::string a = gguf_architecture(c);
  w.set("general.architecture", GgufValue::of_string(a));
  const auto u32 = [](int64_t v) { return GgufValue::of_u32(static_cast<uint32_t>(v)); };
  w.set(a + ".context_length", u32(c.context_length));
  w.set(a + ".embedding_length", u32(c.hidden_size));
  w.set(a + ".block_count", u32(c.num_layers));
  w.set(a + ".feed_forward_length", u32(c.intermediate_size));
  w.set(a + ".attention.head_count", u32(c.num_heads));
  if (c.family == ModelFamily::Gpt2) {
    w.set(a + ".attention.layer_norm_epsilon", GgufValue::of_f32(static_cast<float>(c.norm_eps)));
    return;
  }
  w.set(a + ".attention.head_count_kv", u32(c.num_kv_heads));
  w.set(a + ".rope.freq_base", GgufValue::of_f32(static_cast<float>(c.rope_theta)));
  w.set(a + ".attention.layer_norm_rms_epsilon", GgufValue::of_f32(static_cast<float>(c.norm_eps)));
  w.set(a + ".rope.dimension_count", u32(c.head_dim));
  if (c.head_dim * c.num_heads != c.hidden_size) {
    w.set(a + ".attention.key_length", u32(c.head_dim));
    w.set(a + ".attention.value_length", u32(c.head_dim));
  }
  w.set(a + ".vocab_size", u32(c.vocab_size));
}

void set_vocab_metadata(GgufWriter& w, const Vocab& v) {
  w.set("tokenizer.ggml.model", GgufValue::of_string(v.model));
  std::vector<GgufValue> tokens, scores, types;
  for (const auto& t : v.tokens) tokens.push_back(GgufValue::of_string(t));
  for (float s : v.scores) scores.push_back(GgufValue::of_f32(s));
  for (int32_t t : v.types) types.push_back(GgufValue::of_i32(t));
  w.set("tokenizer.ggml.tokens", GgufValue::of_array(GgufType::String, std::move(tokens)));
  if (!scores.empty()) w.set("tokenizer.ggml.scores", GgufValue::of_array(GgufType::F32, std::move(scores)));
  if (!types.empty()) w.set("tokenizer.ggml.token_type", GgufValue::of_array(GgufType::I32, std::move(types)));
  if (!v.pre.empty()) w.set("tokenizer.ggml.pre", GgufValue::of_string(v.pre));
  if (!v.merges.empty()) {
    std::vector<GgufValue> merges;
    for (const auto& m : v.merges) merges.push_back(GgufValue::of_string(m));
    w.set("tokenizer.ggml.merges", GgufValue::of_array(GgufType::String, std::move(merges)));
  }
  w.set("tokenizer.ggml.add_bos_token", GgufValue::of_bool(v.add_bos));
  if (v.model == "llama") w.set("tokenizer.ggml.add_space_prefix", GgufValue::of_bool(v.add_space_prefix));
  if (v.bos >= 0) w.set("tokenizer.ggml.bos_token_id", GgufValue::of_u32(static_cast<uint32_t>(v.bos)));
  if (v.eos >= 0) w.set("tokenizer.ggml.eos_token_id", GgufValue::of_u32(static_cast<uint32_t>(v.eos)));
  if (v.unk >= 0) w.set("tokenizer.ggml.unknown_token_id", GgufValue::of_u32(static_cast<uint32_t>(v.unk)));
}

// True when the tensor's bytes already are what the output wants, so they can be copied.
bool raw_copy_ok(const ModelTensor& t, DType want) {
  return !t.block && t.dtype == want && t.rope_permute_heads == 0 && !t.stored_transposed;
}

std::vector<uint8_t> encode_f32(const Tensor& f32, DType to) {
  const auto x = f32.span<float>();
  std::vector<uint8_t> out(x.size() * static_cast<size_t>(dtype_info(to).byte_size()));
  switch (to) {
    case DType::f32: std::memcpy(out.data(), x.data(), out.size()); break;
    case DType::f16: convert_f32_to_f16(x, {reinterpret_cast<uint16_t*>(out.data()), x.size()}); break;
    case DType::bf16: convert_f32_to_bf16(x, {reinterpret_cast<uint16_t*>(out.data()), x.size()}); break;
    default: throw Error(ErrorCategory::InvalidArgument, "cannot store weights as " + std::string(dtype_name(to)) + "; supported: f32, f16, bf16");
  }
  return out;
}

bool fits(GgmlType t, uint64_t row) { return row % static_cast<uint64_t>(ggml_type_info(t).block_elems) == 0; }

}  // namespace

GgmlType gguf_storage_type(const Shape& shape, GgmlType requested, std::string* note) {
  if (shape.size() < 2) return GgmlType::F32;
  const auto row = static_cast<uint64_t>(shape.back());
  if (fits(requested, row)) return requested;
  GgmlType out = GgmlType::F16;
  if (requested == GgmlType::Q4_K && fits(GgmlType::Q5_0, row)) out = GgmlType::Q5_0;
  if (requested == GgmlType::Q6_K && fits(GgmlType::Q8_0, row)) out = GgmlType::Q8_0;
  if (note)
    *note = "row of " + std::to_string(row) + " is not a whole number of " + std::string(ggml_type_info(requested).name) +
            " blocks: stored as " + std::string(ggml_type_info(out).name);
  return out;
}

uint32_t llama_file_type(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return 0;
    case GgmlType::F16: return 1;
    case GgmlType::Q4_0: return 2;
    case GgmlType::Q4_1: return 3;
    case GgmlType::Q8_0: return 7;
    case GgmlType::Q5_0: return 8;
    case GgmlType::Q5_1: return 9;
    case GgmlType::Q4_K: return 14;  // Q4_K_S: every weight Q4_K
    case GgmlType::Q6_K: return 18;
    case GgmlType::BF16: return 32;
    case GgmlType::TQ1_0: return 36;
    case GgmlType::TQ2_0: return 37;
    default: throw Error(ErrorCategory::InvalidArgument, "no llama file type for " + std::string(ggml_type_info(t).name));
  }
}

std::vector<WrittenTensor> write_gguf_model(const ModelFile& m, const std::string& path, GgmlType type) {
  return write_gguf_model(m, path, type, {}, type);
}

std::vector<WrittenTensor> write_gguf_model(const ModelFile& m, const std::string& path, GgmlType main_type,
                                            const std::map<std::string, PreparedTensor>& prepared, GgmlType others,
                                            const std::map<std::string, std::string>& metadata) {
  for (GgmlType t : {main_type, others})
    if (!ggml_type_info(t).can_quantize)
      throw Error(ErrorCategory::InvalidArgument, "cannot write GGUF tensors of type " + std::string(ggml_type_info(t).name) +
                                                      "; supported: " + ggml_writable_type_names());
  GgufWriter w;
  if (m.config) set_arch_metadata(w, *m.config);
  w.set("general.name", GgufValue::of_string(std::string(model_format_name(m.format)) + " model converted by qforge"));
  w.set("general.file_type", GgufValue::of_u32(llama_file_type(main_type)));
  if (!ggml_type_info(main_type).plain || !ggml_type_info(others).plain) w.set("general.quantization_version", GgufValue::of_u32(2));
  for (const auto& [k, v] : metadata) w.set(k, GgufValue::of_string(v));
  if (m.vocab) set_vocab_metadata(w, *m.vocab);

  std::vector<WrittenTensor> report;
  for (const auto& t : m.tensors) {
    const auto row = static_cast<uint64_t>(t.shape.back());
    const uint64_t rows = static_cast<uint64_t>(t.numel()) / row;
    if (const auto it = prepared.find(t.name); it != prepared.end()) {
      const PreparedTensor& p = it->second;
      if (p.bytes.size() != ggml_row_bytes(p.type, row) * rows)
        throw Error(ErrorCategory::InvalidArgument, "write_gguf_model: prepared " + t.name + " has " + std::to_string(p.bytes.size()) +
                                                        " bytes, its shape needs " + std::to_string(ggml_row_bytes(p.type, row) * rows));
      w.add_tensor(t.name, t.shape, p.type, std::span<const uint8_t>(p.bytes));
      report.push_back({t.name, std::string(ggml_type_info(p.type).name), t.shape, p.bytes.size(), p.note});
      continue;
    }
    std::string note;
    const GgmlType out = gguf_storage_type(t.shape, others, &note);
    if (t.block && *t.block == out && t.rope_permute_heads == 0) {
      w.add_tensor(t.name, t.shape, out, t.data);  // already in the wanted block type
    } else if (out == GgmlType::F32 && raw_copy_ok(t, DType::f32)) {
      w.add_tensor(t.name, t.shape, out, t.data);
    } else {
      const Tensor x = tensor_to_f32(t);
      std::vector<uint8_t> bytes(static_cast<size_t>(ggml_row_bytes(out, row) * rows));
      ggml_quantize(out, x.span<float>(), bytes);
      w.add_tensor(t.name, t.shape, out, std::move(bytes));
    }
    report.push_back({t.name, std::string(ggml_type_info(out).name), t.shape, ggml_row_bytes(out, row) * rows, note});
  }
  w.write(path);
  return report;
}

std::vector<WrittenTensor> write_safetensors_model(const ModelFile& m, const std::string& path,
                                                   std::optional<DType> dtype) {
  std::vector<NamedTensor> out;
  std::vector<WrittenTensor> report;
  for (const auto& t : m.tensors) {
    const DType want = dtype ? *dtype : (t.block ? DType::f32 : t.dtype);
    Tensor stored;
    if (raw_copy_ok(t, want)) {
      stored = Tensor::borrow(want, t.shape, t.data.data());
    } else {
      const std::vector<uint8_t> bytes = encode_f32(tensor_to_f32(t), want);
      stored = Tensor::zeros(want, t.shape);
      std::memcpy(stored.mutable_data(), bytes.data(), bytes.size());
    }
    report.push_back({t.name, std::string(dtype_name(want)), t.shape, stored.nbytes(), ""});
    out.push_back({t.name, std::move(stored)});
  }
  std::map<std::string, std::string> meta = {{"format", "pt"}};
  write_safetensors(path, out, meta);
  return report;
}

}  // namespace qforge
