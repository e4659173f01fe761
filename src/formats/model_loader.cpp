// open_model(): one entry point for every supported model format.
#include <cstring>
#include <filesystem>

#include "qforge/error.h"
#include "qforge/float_convert.h"
#include "qforge/gguf.h"
#include "qforge/gptq_checkpoint.h"
#include "qforge/mapped_file.h"
#include "qforge/model_file.h"
#include "qforge/qforge_checkpoint.h"
#include "qforge/safetensors.h"

namespace fs = std::filesystem;

namespace qforge {
namespace {

std::optional<DType> dtype_of_ggml(GgmlType t) { return ggml_type_info(t).plain; }


ModelConfig config_from_gguf(const GgufFile& g) {
  const auto arch = g.get_string("general.architecture");
  if (!arch) throw Error(ErrorCategory::BadFile, g.path + ": general.architecture: missing");
  ModelConfig c;
  c.architecture = *arch;
  const std::string p = *arch + ".";
  auto need = [&](const std::string& key) {
    const auto v = g.get_int(p + key);
    if (!v) throw Error(ErrorCategory::BadFile, g.path + ": " + p + key + ": missing or not an integer");
    return *v;
  };
  if (*arch == "gpt2") {
    c.family = ModelFamily::Gpt2;
    c.hidden_act = "gelu_new";  // llama.cpp's gpt2 graph uses the tanh form
    c.attention_bias = true;
  }
  else if (*arch == "llama" || *arch == "mistral" || *arch == "qwen2" || *arch == "qwen3") c.family = ModelFamily::Llama;
  else
    throw Error(ErrorCategory::Unsupported, g.path + ": general.architecture '" + *arch +
                                                "' is not supported; supported: llama, mistral, qwen2, qwen3, gpt2");
  c.hidden_size = need("embedding_length");
  c.num_layers = need("block_count");
  c.intermediate_size = need("feed_forward_length");
  c.num_heads = need("attention.head_count");
  c.num_kv_heads = g.get_int(p + "attention.head_count_kv").value_or(c.num_heads);
  c.context_length = need("context_length");
  c.head_dim = g.get_int(p + "attention.key_length").value_or(c.num_heads ? c.hidden_size / c.num_heads : 0);
  c.norm_eps = g.get_float(p + "attention.layer_norm_rms_epsilon")
                   .value_or(g.get_float(p + "attention.layer_norm_epsilon").value_or(1e-5));
  c.rope_theta = g.get_float(p + "rope.freq_base").value_or(10000.0);
  if (const GgufValue* tokens = g.find("tokenizer.ggml.tokens")) c.vocab_size = static_cast<int64_t>(tokens->items.size());
  c.vocab_size = g.get_int(p + "vocab_size").value_or(c.vocab_size);
  c.tie_word_embeddings = g.find_tensor("output.weight") == nullptr;
  if (c.family == ModelFamily::Llama) c.attention_bias = g.find_tensor("blk.0.attn_q.bias") != nullptr;
  c.qk_norm = g.find_tensor("blk.0.attn_q_norm.weight") != nullptr;
  c.bos_token_id = g.get_int("tokenizer.ggml.bos_token_id");
  c.eos_token_id = g.get_int("tokenizer.ggml.eos_token_id");
  if (c.vocab_size == 0)
    if (const GgufTensor* e = g.find_tensor("token_embd.weight")) c.vocab_size = e->shape.front();
  c.validate(g.path);
  return c;
}

std::optional<Vocab> vocab_from_gguf(const GgufFile& g) {
  const GgufValue* tokens = g.find("tokenizer.ggml.tokens");
  if (!tokens || tokens->type != GgufType::Array || tokens->elem_type != GgufType::String) return std::nullopt;
  Vocab v;
  v.model = g.get_string("tokenizer.ggml.model").value_or("");
  for (const auto& t : tokens->items) v.tokens.push_back(t.s);
  if (const GgufValue* s = g.find("tokenizer.ggml.scores"); s && s->type == GgufType::Array)
    for (const auto& x : s->items) v.scores.push_back(static_cast<float>(x.as_float().value_or(0)));
  if (const GgufValue* t = g.find("tokenizer.ggml.token_type"); t && t->type == GgufType::Array)
    for (const auto& x : t->items) v.types.push_back(static_cast<int32_t>(x.as_int().value_or(1)));
  v.pre = g.get_string("tokenizer.ggml.pre").value_or("");
  if (const GgufValue* mg = g.find("tokenizer.ggml.merges"); mg && mg->type == GgufType::Array)
    for (const auto& x : mg->items) v.merges.push_back(x.s);
  if (const GgufValue* b = g.find("tokenizer.ggml.add_bos_token"); b && b->type == GgufType::Bool) v.add_bos = b->u != 0;
  else v.add_bos = v.model == "llama";  // llama.cpp's default: SentencePiece adds BOS, byte-level BPE does not
  v.ignore_merges = v.pre == "llama3";  // llama.cpp's rule; GGUF has no key for it
  if (const GgufValue* b = g.find("tokenizer.ggml.add_space_prefix"); b && b->type == GgufType::Bool) v.add_space_prefix = b->u != 0;
  v.bos = g.get_int("tokenizer.ggml.bos_token_id").value_or(-1);
  v.eos = g.get_int("tokenizer.ggml.eos_token_id").value_or(-1);
  v.unk = g.get_int("tokenizer.ggml.unknown_token_id").value_or(-1);
  return v;
}

ModelFile from_gguf(const std::string& path) {
  GgufFile g = read_gguf(path);
  ModelFile f;
  f.path = path;
  f.format = ModelFormat::Gguf;
  for (const auto& t : g.tensors) {
    ModelTensor mt{t.name, t.name, t.shape, DType::f32, std::nullopt, t.data};
    if (auto d = dtype_of_ggml(t.type)) mt.dtype = *d;
    else mt.block = t.type;
    f.tensors.push_back(std::move(mt));
  }
  for (const auto& [k, v] : g.metadata)
    if (v.type != GgufType::Array) f.metadata[k] = v.to_display();
  if (g.get_string("general.architecture")) f.config = config_from_gguf(g);
  f.vocab = vocab_from_gguf(g);
  f.keepalive.push_back(g.keepalive);
  return f;
}

void add_safetensors(ModelFile& f, SafetensorsFile st, const std::optional<ModelConfig>& cfg) {
  for (auto& [k, v] : st.metadata) f.metadata[k] = v;
  for (auto& nt : st.tensors) {
    ModelTensor mt;
    mt.source_name = nt.name;
    mt.name = nt.name;
    mt.shape = nt.tensor.shape();
    mt.dtype = nt.tensor.dtype();
    mt.data = {static_cast<const uint8_t*>(nt.tensor.data()), nt.tensor.nbytes()};
    if (cfg) {
      const std::string c = canonical_tensor_name(nt.name, cfg->family);
      if (!c.empty()) mt.name = c;
      const bool permuted_rope = cfg->architecture == "llama" || cfg->architecture == "mistral";
      if (permuted_rope && c.find(".attn_q.weight") != std::string::npos) mt.rope_permute_heads = cfg->num_heads;
      if (permuted_rope && c.find(".attn_k.weight") != std::string::npos) mt.rope_permute_heads = cfg->num_kv_heads;
      const bool conv1d = cfg->family == ModelFamily::Gpt2 && mt.shape.size() == 2 &&
                          (c.find(".attn_qkv.") != std::string::npos || c.find(".attn_output.") != std::string::npos ||
                           c.find(".ffn_up.") != std::string::npos || c.find(".ffn_down.") != std::string::npos);
      if (conv1d) {
        mt.stored_transposed = true;
        std::swap(mt.shape[0], mt.shape[1]);
      }
    }
    f.tensors.push_back(std::move(mt));
    // the views borrow a mapping per shard; hold each mapping once
    if (f.keepalive.empty() || f.keepalive.back() != nt.tensor.storage()) f.keepalive.push_back(nt.tensor.storage());
  }
}

ModelFile from_hf_folder(const std::string& dir) {
  const fs::path d(dir);
  if (!fs::exists(d / "config.json"))
    throw Error(ErrorCategory::BadFile, dir + ": not a Hugging Face model folder (no config.json)");
  ModelFile f;
  f.path = dir;
  f.format = ModelFormat::HfFolder;
  f.config = read_hf_config((d / "config.json").string());
  SafetensorsFile st;
  if (fs::exists(d / "model.safetensors")) st = read_safetensors((d / "model.safetensors").string());
  else if (fs::exists(d / "model.safetensors.index.json")) st = read_safetensors_index((d / "model.safetensors.index.json").string());
  else throw Error(ErrorCategory::BadFile, dir + ": no model.safetensors or model.safetensors.index.json (PyTorch .bin checkpoints are not supported)");
  for (const auto& e : fs::directory_iterator(d))
    if (e.is_regular_file()) f.file_bytes += e.file_size();
  add_safetensors(f, std::move(st), f.config);
  add_gptq_layers(f, read_file_text((d / "config.json").string()), (d / "config.json").string());
  // SentencePiece models (Llama 2, Mistral) ship tokenizer.model beside a derived tokenizer.json;
  // byte-level BPE models (GPT-2, Llama 3, Qwen2, SmolLM) ship only tokenizer.json.
  try {
    if (fs::exists(d / "tokenizer.model")) f.vocab = read_sentencepiece_model((d / "tokenizer.model").string());
    else if (fs::exists(d / "tokenizer.json")) f.vocab = read_tokenizer_json((d / "tokenizer.json").string());
  } catch (const Error& e) {
    if (e.category() != ErrorCategory::Unsupported) throw;
    f.vocab_error = e.what();  // the weights are still usable (info, convert, quantize)
  }
  // qforge's GPTQ folders from a source without tokenizer files carry the vocabulary themselves
  if (!f.vocab && f.vocab_error.empty())
    if (const auto v = f.metadata.find("qforge.vocab"); v != f.metadata.end()) {
      f.vocab = vocab_from_json(v->second, dir + " (metadata qforge.vocab)");
      f.metadata.erase(v);
    }
  if (f.vocab && f.vocab->bos < 0 && f.config->bos_token_id) f.vocab->bos = *f.config->bos_token_id;
  if (f.vocab && f.vocab->eos < 0 && f.config->eos_token_id) f.vocab->eos = *f.config->eos_token_id;
  return f;
}

}  // namespace

std::string_view model_format_name(ModelFormat f) {
  switch (f) {
    case ModelFormat::Safetensors: return "safetensors";
    case ModelFormat::Gguf: return "gguf";
    case ModelFormat::HfFolder: return "hf-folder";
    case ModelFormat::Llama2c: return "llama2.c";
  }
  return "?";
}

std::string ModelTensor::type_name() const {
  if (packed && act && act->mode != ActMode::None) {
    const bool seven = (act->mode == ActMode::Static || act->mode == ActMode::Dynamic) && act->scheme.reduce_range;
    return packed->grid.describe() + (seven ? ", a7 " : ", a8 ") + std::string(act_mode_name(act->mode));
  }
  if (packed) return packed->grid.describe();
  if (block) return std::string(ggml_type_info(*block).name);
  return std::string(dtype_name(dtype));
}

const ModelTensor* ModelFile::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

ModelFile open_model(const std::string& path) {
  if (fs::is_directory(path)) return from_hf_folder(path);
  if (!fs::exists(path)) throw Error(ErrorCategory::Io, path + ": no such file or directory");
  char magic[8] = {};
  {
    const auto m = MappedFile::open(path);
    std::memcpy(magic, m->bytes().data(), std::min<size_t>(8, m->size()));
  }
  if (std::memcmp(magic, "GGUF", 4) == 0) {
    ModelFile f = from_gguf(path);
    f.file_bytes = fs::file_size(path);
    return f;
  }
  const bool index = path.ends_with(".index.json");
  if (index || path.ends_with(".safetensors")) {
    ModelFile f;
    f.path = path;
    f.format = ModelFormat::Safetensors;
    f.file_bytes = fs::file_size(path);
    // a config.json beside the weights gives them an architecture and canonical names
    const auto cfg = fs::path(path).parent_path() / "config.json";
    if (fs::exists(cfg)) f.config = read_hf_config(cfg.string());
    SafetensorsFile st = index ? read_safetensors_index(path) : read_safetensors(path);
    if (is_qforge_checkpoint(st)) {
      add_qforge_checkpoint(f, std::move(st));
      return f;
    }
    add_safetensors(f, std::move(st), f.config);
    if (f.config) add_gptq_layers(f, read_file_text(cfg.string()), cfg.string());
    return f;
  }
  if (path.ends_with(".bin")) return read_llama2c(path);
  throw Error(ErrorCategory::Unsupported,
              path + ": unrecognised model file; supported: a Hugging Face folder, .safetensors, "
                     "model.safetensors.index.json, .gguf, a llama2.c .bin checkpoint");
}

Tensor tensor_to_f32(const ModelTensor& t) {
  Tensor out = Tensor::zeros(DType::f32, t.shape);
  auto y = out.mutable_span<float>();
  const size_t n = y.size();
  if (t.packed && t.packed->grid.axis0) {  // HQQ axis 0: stored as its groups, one per row
    std::vector<float> groups(n);
    dequantize_packed(*t.packed, groups);
    axis0_scatter(groups, t.packed->grid.group_size, y);
  } else if (t.packed) {
    dequantize_packed(*t.packed, y);
  } else if (t.block) {
    ggml_dequantize(*t.block, t.data, y);
  } else {
    const auto* p = t.data.data();
    switch (t.dtype) {
      case DType::f32: std::memcpy(y.data(), p, n * 4); break;
      case DType::f16: convert_f16_bytes_to_f32(t.data, y); break;  // file data may be misaligned
      case DType::bf16: convert_bf16_bytes_to_f32(t.data, y); break;
      case DType::f8_e4m3: case DType::f8_e5m2: convert_f8_to_f32({p, n}, y, t.dtype); break;
      case DType::f64:
        for (size_t i = 0; i < n; ++i) { double v; std::memcpy(&v, p + 8 * i, 8); y[i] = static_cast<float>(v); }
        break;
      default:
        throw Error(ErrorCategory::Unsupported, "tensor '" + t.source_name + "' of dtype " +
                                                    std::string(dtype_name(t.dtype)) + " is not a float weight");
    }
  }
  if (t.stored_transposed && t.shape.size() == 2) {  // file holds [in, out]
    const auto rows = static_cast<size_t>(t.shape[0]), cols = static_cast<size_t>(t.shape[1]);
    std::vector<float> tmp(y.begin(), y.end());
    for (size_t i = 0; i < cols; ++i)
      for (size_t o = 0; o < rows; ++o) y[o * cols + i] = tmp[i * rows + o];
  }
  if (t.rope_permute_heads > 0) {
    // Hugging Face pairs dimension i with i + d/2 in each head; llama.cpp pairs 2i with 2i+1.
    const auto heads = static_cast<size_t>(t.rope_permute_heads);
    const auto rows = static_cast<size_t>(t.shape[0]);
    const size_t cols = n / rows, hd = rows / heads, half = hd / 2;
    std::vector<float> tmp(y.begin(), y.end());
    for (size_t h = 0; h < heads; ++h)
      for (size_t a = 0; a < 2; ++a)
        for (size_t b = 0; b < half; ++b)
          std::memcpy(&y[(h * hd + 2 * b + a) * cols], &tmp[(h * hd + a * half + b) * cols], cols * 4);
  }
  return out;
}

}  // namespace qforge
