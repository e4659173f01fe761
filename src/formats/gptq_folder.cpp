// GPTQ folders on disk: writing one from qforge's quantized linears (Hugging Face names,
// config.json's quantization_config, quantize_config.json) and reading one back.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "qforge/atomic_file.h"
#include "qforge/error.h"
#include "qforge/float_convert.h"
#include "qforge/gptq_checkpoint.h"
#include "qforge/mapped_file.h"
#include "qforge/qforge_checkpoint.h"
#include "qforge/safetensors.h"

namespace qforge {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

// f16 bits held as uint16 (from_vector would call them u16).
Tensor f16_tensor(const Shape& shape, const std::vector<uint16_t>& bits) {
  Tensor x = Tensor::zeros(DType::f16, shape);
  std::memcpy(x.mutable_data(), bits.data(), bits.size() * sizeof(uint16_t));
  return x;
}


// Rows of x ([rows, ...]) in `order` (empty: unchanged).
Tensor reorder_rows(const Tensor& x, const std::vector<int64_t>& order) {
  if (order.empty()) return x;
  Tensor y = Tensor::zeros(DType::f32, x.shape());
  const auto cols = static_cast<size_t>(x.numel() / x.shape()[0]);
  const auto src = x.span<float>();
  auto dst = y.mutable_span<float>();
  for (size_t j = 0; j < order.size(); ++j)
    std::memcpy(&dst[j * cols], &src[static_cast<size_t>(order[j]) * cols], cols * sizeof(float));
  return y;
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
  if (!f.flush()) throw Error(ErrorCategory::Io, p.string() + ": cannot write");
}

// The folder the model's config.json and tokenizer came from, if any.
std::optional<fs::path> source_folder(const ModelFile& m) {
  if (m.format == ModelFormat::HfFolder) return fs::path(m.path);
  if (m.format == ModelFormat::Safetensors && fs::exists(fs::path(m.path).parent_path() / "config.json"))
    return fs::path(m.path).parent_path();
  return std::nullopt;
}

template <class T>
std::vector<T> copy_values(const ModelTensor& t) {
  std::vector<T> v(t.data.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), t.data.data(), v.size() * sizeof(T));
  return v;
}

}  // namespace

void check_gptq_destination(const std::string& dir) {
  const fs::path d(dir);
  if (!fs::exists(d)) return;
  if (!fs::is_directory(d)) throw Error(ErrorCategory::InvalidArgument, dir + ": exists and is not a folder; a GPTQ checkpoint is a folder");
  if (!fs::is_empty(d) && !fs::exists(d / "quantize_config.json"))
    throw Error(ErrorCategory::InvalidArgument, dir + ": a folder that is not an earlier GPTQ result (no quantize_config.json); "
                                                      "choose a new or empty folder");
}

std::vector<WrittenTensor> write_gptq_checkpoint(const ModelFile& m, const std::string& dir,
                                                 const std::map<std::string, GptqLinear>& linears, const WeightGrid& grid,
                                                 const GptqCheckpointOptions& o, const std::map<std::string, std::string>& metadata,
                                                 const std::map<std::string, Tensor>& floats) {
  if (!m.config) throw Error(ErrorCategory::InvalidArgument, m.path + ": no model config to write config.json from");
  if (m.config->family != ModelFamily::Llama)
    throw Error(ErrorCategory::Unsupported, "gptq: folders are written for the Llama family (llama, mistral, qwen2, smollm), not " +
                                                m.config->architecture);
  if (o.others != DType::f32 && o.others != DType::f16 && o.others != DType::bf16)
    throw Error(ErrorCategory::InvalidArgument, "gptq: float tensors are stored as f32, f16 or bf16, not " + std::string(dtype_name(o.others)));
  check_gptq_destination(dir);
  const std::string checkpoint_format = o.zeros == GptqZeros::V1 ? "gptq" : "gptq_v2";
  const int64_t group_size = grid.group_size == 0 ? -1 : grid.group_size;

  std::vector<NamedTensor> out;
  std::vector<WrittenTensor> report;
  for (const auto& t : m.tensors) {
    const std::string hf = hf_tensor_name(t.name, m.config->family);
    if (hf.empty()) throw Error(ErrorCategory::Unsupported, "gptq: " + t.name + " has no Hugging Face name");
    if (const auto it = linears.find(t.name); it != linears.end()) {
      const GptqLinear& g = it->second;
      if (t.shape != Shape{g.out, g.in})
        throw Error(ErrorCategory::InvalidArgument, "gptq: " + t.name + " is " + shape_to_string(t.shape) + ", its packed form [" +
                                                        std::to_string(g.out) + ", " + std::to_string(g.in) + "]");
      const std::string p = hf.substr(0, hf.size() - 7);  // without ".weight"
      out.push_back({p + ".qweight", Tensor::from_vector({g.in * g.bits / 32, g.out}, g.qweight)});
      out.push_back({p + ".qzeros", Tensor::from_vector({g.groups, g.out * g.bits / 32}, g.qzeros)});
      out.push_back({p + ".scales", f16_tensor({g.groups, g.out}, g.scales)});
      out.push_back({p + ".g_idx", Tensor::from_vector({g.in}, g.g_idx)});
      report.push_back({t.name, grid.describe(), t.shape, 4 * (g.qweight.size() + g.qzeros.size() + g.g_idx.size()) + 2 * g.scales.size(), ""});
      continue;
    }
    if (t.shape.size() == 2 && t.name.rfind("blk.", 0) == 0)
      throw Error(ErrorCategory::InvalidArgument, "gptq: " + t.name + " is not quantized; the layout holds every linear of the blocks quantized");
    const auto f = floats.find(t.name);
    const Tensor x = reorder_rows(f != floats.end() ? f->second : tensor_to_f32(t), hf_row_order(*m.config, t.name, t.shape[0]));
    Tensor y = narrow_f32(x, o.others);
    report.push_back({t.name, std::string(dtype_name(o.others)), t.shape, y.nbytes(), ""});
    out.push_back({hf, std::move(y)});
  }
  for (const auto& [name, g] : linears)
    if (!m.find(name)) throw Error(ErrorCategory::InvalidArgument, "gptq: the model has no tensor " + name);

  ordered_json qc;  // AutoGPTQ's to_dict order
  qc["bits"] = grid.bits;
  qc["group_size"] = group_size;
  qc["damp_percent"] = o.damp;
  qc["desc_act"] = o.desc_act;
  qc["static_groups"] = o.static_groups;
  qc["sym"] = grid.kind == GridKind::IntSymmetric;
  qc["true_sequential"] = o.true_sequential;
  qc["model_name_or_path"] = nullptr;
  qc["model_file_base_name"] = "model";
  qc["quant_method"] = "gptq";
  qc["checkpoint_format"] = checkpoint_format;

  std::map<std::string, std::string> meta = metadata;
  meta["format"] = "pt";
  meta["gptq_bits"] = std::to_string(grid.bits);
  meta["gptq_group_size"] = std::to_string(group_size);
  meta["gptq_desc_act"] = o.desc_act ? "true" : "false";
  meta["gptq_damp_percent"] = json(o.damp).dump();
  meta["gptq_checkpoint_format"] = checkpoint_format;
  meta["gptq_quant_method"] = "gptq";
  if (m.vocab) meta["qforge.vocab"] = vocab_to_json(*m.vocab);  // so qforge runs the folder without tokenizer files

  const auto src = source_folder(m);
  ordered_json config = src ? ordered_json::parse(read_file_text((*src / "config.json").string()))
                            : ordered_json::parse(hf_config_json(*m.config));
  config["torch_dtype"] = std::string(o.others == DType::bf16 ? "bfloat16" : o.others == DType::f16 ? "float16" : "float32");
  config["quantization_config"] = qc;

  const fs::path final_dir(dir);
  const fs::path tmp = fs::path(dir + ".partial-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  try {
    fs::create_directories(tmp);
    write_safetensors((tmp / "model.safetensors").string(), out, meta);
    write_text(tmp / "config.json", config.dump(2) + "\n");
    write_text(tmp / "quantize_config.json", qc.dump(2) + "\n");
    if (src)
      for (const char* name : {"tokenizer.json", "tokenizer_config.json", "tokenizer.model", "special_tokens_map.json",
                               "generation_config.json"})
        if (fs::exists(*src / name)) fs::copy_file(*src / name, tmp / name);
    if (fs::exists(final_dir)) {  // an earlier result: swap it out only now that the new one is whole
      const fs::path old = fs::path(dir + ".old-" + std::to_string(::getpid()));
      fs::rename(final_dir, old);
      fs::rename(tmp, final_dir);
      fs::remove_all(old);
    } else {
      fs::rename(tmp, final_dir);
    }
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(tmp);
    throw Error(ErrorCategory::Io, dir + ": " + e.what());
  } catch (...) {
    fs::remove_all(tmp);
    throw;
  }
  return report;
}

void add_gptq_layers(ModelFile& f, const std::string& config_text, const std::string& config_path) {
  json cfg;
  try {
    cfg = json::parse(config_text);
  } catch (const json::exception& e) {
    throw Error(ErrorCategory::BadFile, config_path + ": " + e.what());
  }
  if (!cfg.is_object() || !cfg.contains("quantization_config")) return;
  const json& qc = cfg["quantization_config"];
  const std::string where = config_path + ": quantization_config";
  auto bad = [&](const std::string& field, const std::string& what) -> Error {
    return Error(ErrorCategory::BadFile, where + "." + field + ": " + what);
  };
  if (!qc.is_object()) throw Error(ErrorCategory::BadFile, where + ": not an object");
  const std::string method = qc.value("quant_method", std::string("gptq"));
  if (method != "gptq")
    throw Error(ErrorCategory::Unsupported, where + ".quant_method: '" + method + "' is not supported; supported: gptq");
  if (!qc.contains("bits") || !qc["bits"].is_number_integer()) throw bad("bits", "missing or not an integer");
  const int bits = qc["bits"].get<int>();
  if (bits != 2 && bits != 3 && bits != 4 && bits != 8) throw bad("bits", std::to_string(bits) + " is not 2, 3, 4 or 8");
  if (!qc.contains("group_size") || !qc["group_size"].is_number_integer()) throw bad("group_size", "missing or not an integer");
  const int64_t group_size = qc["group_size"].get<int64_t>();
  if (group_size == 0 || group_size < -1) throw bad("group_size", std::to_string(group_size) + " is not -1 or positive");
  const std::string format = qc.value("checkpoint_format", std::string("gptq"));
  if (format != "gptq" && format != "gptq_v2")
    throw Error(ErrorCategory::Unsupported, where + ".checkpoint_format: '" + format + "' is not supported; supported: gptq, gptq_v2");
  const GptqZeros zeros = format == "gptq" ? GptqZeros::V1 : GptqZeros::V2;
  if (!f.config) throw Error(ErrorCategory::BadFile, config_path + ": no model config");

  std::map<std::string, const ModelTensor*> by_source;
  for (const auto& t : f.tensors) by_source[t.source_name] = &t;
  auto find_source = [&](const std::string& name) -> const ModelTensor* {
    const auto it = by_source.find(name);
    return it == by_source.end() ? nullptr : it->second;
  };
  std::set<std::string> used;
  std::vector<ModelTensor> layers;
  for (const auto& t : f.tensors) {
    if (!t.source_name.ends_with(".qweight")) continue;
    const std::string p = t.source_name.substr(0, t.source_name.size() - 8);
    const std::string what = f.path + ": " + p;
    const ModelTensor* qz = find_source(p + ".qzeros");
    const ModelTensor* sc = find_source(p + ".scales");
    const ModelTensor* gi = find_source(p + ".g_idx");
    if (!qz || !sc) throw Error(ErrorCategory::BadFile, what + ": qweight without " + (qz ? "scales" : "qzeros"));
    auto expect = [&](const ModelTensor& x, DType d, size_t dims, const char* field) {
      if (x.dtype != d || x.shape.size() != dims || x.block)
        throw Error(ErrorCategory::BadFile, what + "." + field + ": wants " + std::string(dtype_name(d)) + " with " +
                                                std::to_string(dims) + " dimensions, holds " + x.type_name() + " " +
                                                shape_to_string(x.shape));
    };
    expect(t, DType::i32, 2, "qweight");
    expect(*qz, DType::i32, 2, "qzeros");
    expect(*sc, DType::f16, 2, "scales");
    GptqLinear g;
    g.bits = bits;
    g.out = t.shape[1];
    g.in = t.shape[0] * 32 / bits;
    g.groups = sc->shape[0];
    if (t.shape[0] * 32 % bits != 0 || g.out < 1 || g.in < 1 || g.out * bits % 32 != 0 || g.groups < 1 || g.groups > g.in ||
        g.in > (int64_t{1} << 31) || g.out > (int64_t{1} << 31) || g.in * g.out > (int64_t{1} << 40))
      throw Error(ErrorCategory::BadFile, what + ".qweight: shape " + shape_to_string(t.shape) + " is not [in·" +
                                              std::to_string(bits) + "/32, out] for " + std::to_string(bits) + "-bit codes");
    if (sc->shape != Shape{g.groups, g.out})
      throw Error(ErrorCategory::BadFile, what + ".scales: shape " + shape_to_string(sc->shape) + ", want [groups, " + std::to_string(g.out) + "]");
    if (qz->shape != Shape{g.groups, g.out * bits / 32})
      throw Error(ErrorCategory::BadFile, what + ".qzeros: shape " + shape_to_string(qz->shape) + ", want " +
                                              shape_to_string({g.groups, g.out * bits / 32}));
    g.qweight = copy_values<int32_t>(t);
    g.qzeros = copy_values<int32_t>(*qz);
    g.scales = copy_values<uint16_t>(*sc);
    if (gi) {
      expect(*gi, DType::i32, 1, "g_idx");
      if (gi->shape[0] != g.in)
        throw Error(ErrorCategory::BadFile, what + ".g_idx: " + std::to_string(gi->shape[0]) + " entries for " + std::to_string(g.in) + " input columns");
      g.g_idx = copy_values<int32_t>(*gi);
      for (const int32_t v : g.g_idx)
        if (v < 0 || v >= g.groups)
          throw Error(ErrorCategory::BadFile, what + ".g_idx: group " + std::to_string(v) + " outside [0, " + std::to_string(g.groups) + ")");
      used.insert(gi->source_name);
    } else {  // exllama-era files without g_idx: groups in column order
      const int64_t gc = group_size < 0 ? g.in : group_size;
      for (int64_t k = 0; k < g.in; ++k) g.g_idx.push_back(static_cast<int32_t>(std::min(k / gc, g.groups - 1)));
    }
    used.insert({t.source_name, qz->source_name, sc->source_name});

    ModelTensor mt;
    mt.source_name = p + ".qweight";
    mt.name = canonical_tensor_name(p + ".weight", f.config->family);
    if (mt.name.empty()) throw Error(ErrorCategory::BadFile, what + ": not a linear layer of a " + f.config->architecture + " model");
    mt.shape = {g.out, g.in};
    const std::vector<int64_t> order = hf_row_order(*f.config, mt.name, g.out);
    if (auto q = gptq_to_matrix(g, group_size, zeros, order)) {
      auto packed = std::make_shared<PackedMatrix>(pack_matrix(*q));
      mt.packed = packed->view();
      mt.dtype = DType::u8;
      mt.data = mt.packed->codes;
      f.keepalive.push_back(packed);
    } else {  // act-order groups (or v1's overflowed zeros): the layout's own dequantization
      auto w = std::make_shared<Tensor>(gptq_dequantize(g, zeros, order));
      mt.dtype = DType::f32;
      mt.data = {static_cast<const uint8_t*>(w->data()), w->nbytes()};
      f.keepalive.push_back(w);
    }
    layers.push_back(std::move(mt));
  }
  std::erase_if(f.tensors, [&](const ModelTensor& t) { return used.count(t.source_name) != 0; });
  for (auto& mt : layers) f.tensors.push_back(std::move(mt));
}

}  // namespace qforge
