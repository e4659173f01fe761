// qforge's checkpoint: safetensors with packed grid weights, config and vocabulary in the
// metadata. The metadata is file content like any other: every field is checked on read.
#include "qforge/qforge_checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "qforge/error.h"
#include "qforge/float_convert.h"

namespace qforge {
namespace {

using nlohmann::json;

Tensor bytes_tensor(DType t, const Shape& shape, const void* data, size_t bytes) {
  Tensor x = Tensor::zeros(t, shape);
  if (bytes) std::memcpy(x.mutable_data(), data, bytes);
  return x;
}


std::string act_json(const ActQuantSpec& a) {
  json j = {{"mode", act_mode_name(a.mode)}};
  if (a.mode == ActMode::Static)
    j.update({{"signed", a.scheme.is_signed}, {"symmetric", a.scheme.mode == QMode::Symmetric}, {"reduce_range", a.scheme.reduce_range},
              {"scale", a.act.scale}, {"zero", a.act.zero_point}, {"observer", a.observer}, {"lo", a.lo}, {"hi", a.hi},
              {"clipped", a.clipped_fraction}});
  if (a.mode == ActMode::Fp8)
    j.update({{"scale", a.act.scale}, {"observer", a.observer}, {"lo", a.lo}, {"hi", a.hi}, {"clipped", a.clipped_fraction}});
  if (a.mode == ActMode::Dynamic && a.scheme.reduce_range) j["reduce_range"] = true;  // 7-bit codes
  if (a.mode == ActMode::LlmInt8)  // JSON has no infinity: FLT_MAX keeps every column in int8 alike
    j["threshold"] = std::isfinite(a.threshold) ? a.threshold : std::numeric_limits<float>::max();
  return j.dump();
}

ActQuantSpec parse_act_json(const std::string& text) {
  const json j = json::parse(text);
  ActQuantSpec a;
  a.mode = parse_act_mode(j.at("mode").get<std::string>());
  if (a.mode == ActMode::Static) {
    a.scheme = j.at("symmetric").get<bool>() ? QScheme::symmetric(8) : QScheme::affine(8, j.at("signed").get<bool>());
    a.scheme.is_signed = j.at("signed").get<bool>();
    a.scheme.reduce_range = j.at("reduce_range").get<bool>();
    a.scheme.validate();
    a.act = {j.at("scale").get<float>(), j.at("zero").get<int32_t>()};
    if (!std::isfinite(a.act.scale) || a.act.scale < 0) throw Error(ErrorCategory::BadFile, "scale must be finite and >= 0");
    if (a.act.zero_point < a.scheme.qmin() || a.act.zero_point > a.scheme.qmax())
      throw Error(ErrorCategory::BadFile, "zero " + std::to_string(a.act.zero_point) + " outside the codes [" +
                                              std::to_string(a.scheme.qmin()) + ", " + std::to_string(a.scheme.qmax()) + "]");
    a.observer = j.value("observer", std::string());
    a.lo = j.value("lo", 0.0f);
    a.hi = j.value("hi", 0.0f);
    a.clipped_fraction = j.value("clipped", 0.0);
  }
  if (a.mode == ActMode::Dynamic) a.scheme.reduce_range = j.value("reduce_range", false);
  if (a.mode == ActMode::Fp8) {
    a.act = {j.at("scale").get<float>(), 0};
    if (!std::isfinite(a.act.scale) || a.act.scale < 0) throw Error(ErrorCategory::BadFile, "scale must be finite and >= 0");
    a.observer = j.value("observer", std::string());
    a.lo = j.value("lo", 0.0f);
    a.hi = j.value("hi", 0.0f);
    a.clipped_fraction = j.value("clipped", 0.0);
  }
  if (a.mode == ActMode::LlmInt8) {
    a.threshold = j.at("threshold").get<float>();
    if (!(a.threshold >= 0)) throw Error(ErrorCategory::BadFile, "threshold must be a number >= 0");
  }
  return a;
}

}  // namespace

// f32 values stored as `want` (f32, f16 or bf16).
Tensor narrow_f32(Tensor x, DType want) {
  if (want == DType::f32) return x;
  Tensor h = Tensor::zeros(want, x.shape());
  auto* p = static_cast<uint16_t*>(h.mutable_data());
  const size_t n = static_cast<size_t>(x.numel());
  if (want == DType::f16) convert_f32_to_f16(x.span<float>(), {p, n});
  else convert_f32_to_bf16(x.span<float>(), {p, n});
  return h;
}

std::string vocab_to_json(const Vocab& v) {
  return json{{"model", v.model}, {"pre", v.pre}, {"tokens", v.tokens}, {"scores", v.scores}, {"types", v.types},
              {"merges", v.merges}, {"bos", v.bos}, {"eos", v.eos}, {"unk", v.unk}, {"add_bos", v.add_bos},
              {"add_space_prefix", v.add_space_prefix}, {"ignore_merges", v.ignore_merges}}
      .dump();
}

Vocab vocab_from_json(const std::string& text, const std::string& where) {
  try {
    const json j = json::parse(text);
    Vocab v;
    v.model = j.at("model").get<std::string>();
    v.pre = j.at("pre").get<std::string>();
    v.tokens = j.at("tokens").get<std::vector<std::string>>();
    v.scores = j.at("scores").get<std::vector<float>>();
    v.types = j.at("types").get<std::vector<int32_t>>();
    v.merges = j.at("merges").get<std::vector<std::string>>();
    v.bos = j.at("bos").get<int64_t>();
    v.eos = j.at("eos").get<int64_t>();
    v.unk = j.at("unk").get<int64_t>();
    v.add_bos = j.at("add_bos").get<bool>();
    v.add_space_prefix = j.at("add_space_prefix").get<bool>();
    v.ignore_merges = j.at("ignore_merges").get<bool>();
    if (v.model != "llama" && v.model != "gpt2") throw Error(ErrorCategory::BadFile, "model '" + v.model + "' is not llama or gpt2");
    if (v.tokens.empty() || (!v.scores.empty() && v.scores.size() != v.tokens.size()) ||
        (!v.types.empty() && v.types.size() != v.tokens.size()))
      throw Error(ErrorCategory::BadFile, "tokens, scores and types do not match in length");
    return v;
  } catch (const json::exception& e) {
    throw Error(ErrorCategory::BadFile, where + ": " + e.what());
  } catch (const Error& e) {
    throw Error(ErrorCategory::BadFile, where + ": " + e.what());
  }
}

std::string hf_config_json(const ModelConfig& c) {
  json j;
  j["model_type"] = c.architecture;
  j["vocab_size"] = c.vocab_size;
  if (c.family == ModelFamily::Gpt2) {
    j["n_embd"] = c.hidden_size;
    j["n_inner"] = c.intermediate_size;
    j["n_layer"] = c.num_layers;
    j["n_head"] = c.num_heads;
    j["n_positions"] = c.context_length;
    j["layer_norm_epsilon"] = c.norm_eps;
    j["activation_function"] = c.hidden_act;
  } else {
    j["hidden_size"] = c.hidden_size;
    j["intermediate_size"] = c.intermediate_size;
    j["num_hidden_layers"] = c.num_layers;
    j["num_attention_heads"] = c.num_heads;
    j["num_key_value_heads"] = c.num_kv_heads;
    j["head_dim"] = c.head_dim;
    j["max_position_embeddings"] = c.context_length;
    j["rms_norm_eps"] = c.norm_eps;
    j["rope_theta"] = c.rope_theta;
    j["hidden_act"] = c.hidden_act;
    j["attention_bias"] = c.attention_bias;
    if (c.rope_scaling)
      j["rope_scaling"] = {{"rope_type", c.rope_scaling->type}, {"factor", c.rope_scaling->factor},
                           {"low_freq_factor", c.rope_scaling->low_freq_factor},
                           {"high_freq_factor", c.rope_scaling->high_freq_factor},
                           {"original_max_position_embeddings", c.rope_scaling->original_max_position_embeddings}};
  }
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  if (c.bos_token_id) j["bos_token_id"] = *c.bos_token_id;
  if (c.eos_token_id) j["eos_token_id"] = *c.eos_token_id;
  return j.dump();
}

std::vector<WrittenTensor> write_qforge_checkpoint(const ModelFile& m, const std::string& path,
                                                   const std::map<std::string, PackedMatrix>& quantized, DType others,
                                                   const std::map<std::string, std::string>& metadata,
                                                   const std::map<std::string, Tensor>& floats,
                                                   const std::map<std::string, ActQuantSpec>& act) {
  if (others != DType::f32 && others != DType::f16 && others != DType::bf16)
    throw Error(ErrorCategory::InvalidArgument, "qforge checkpoint: float tensors are stored as f32, f16 or bf16, not " +
                                                    std::string(dtype_name(others)));
  if (!m.config) throw Error(ErrorCategory::InvalidArgument, m.path + ": no model config to record in the checkpoint");
  std::map<std::string, std::string> meta = metadata;
  meta["format"] = "pt";
  meta["qforge.format"] = kQforgeCheckpointFormat;
  meta["qforge.config"] = hf_config_json(*m.config);
  if (m.vocab) meta["qforge.vocab"] = vocab_to_json(*m.vocab);
  std::vector<NamedTensor> out;
  std::vector<WrittenTensor> report;
  for (const auto& t : m.tensors) {
    if (const auto it = quantized.find(t.name); it != quantized.end()) {
      const PackedMatrix& p = it->second;
      if (p.grid.axis0 ? t.numel() != p.rows * p.cols : t.shape != Shape{p.rows, p.cols})
        throw Error(ErrorCategory::InvalidArgument, "qforge checkpoint: " + t.name + " is " + shape_to_string(t.shape) +
                                                        ", its quantized form " + shape_to_string({p.rows, p.cols}));
      const int64_t groups = p.grid.groups_per_row(p.cols);
      out.push_back({t.name + ".qcodes", bytes_tensor(DType::u8, {p.rows, static_cast<int64_t>(p.row_bytes())}, p.codes.data(), p.codes.size())});
      const DType scale_type = p.grid.double_quant ? DType::u8 : p.grid.f32_scales() ? DType::f32 : DType::f16;
      out.push_back({t.name + ".qscales", bytes_tensor(scale_type, {p.rows, groups}, p.scales.data(), p.scales.size())});
      if (!p.dq_scales.empty())  // s_b per 256 groups, then μ
        out.push_back({t.name + ".qscales_dq", bytes_tensor(DType::f32, {static_cast<int64_t>(p.dq_scales.size())}, p.dq_scales.data(),
                                                             4 * p.dq_scales.size())});
      if (!p.zeros.empty()) out.push_back({t.name + ".qzeros", bytes_tensor(DType::u8, {p.rows, groups}, p.zeros.data(), p.zeros.size())});
      if (!p.mins.empty()) out.push_back({t.name + ".qmins", bytes_tensor(DType::f16, {p.rows, groups}, p.mins.data(), 2 * p.mins.size())});
      json grid_meta = {{"kind", p.grid.kind_name()}, {"bits", p.grid.bits}, {"group_size", p.grid.group_size},
                        {"double_quant", p.grid.double_quant}, {"rows", p.rows}, {"cols", p.cols}};
      if (p.grid.axis0) {  // rows × cols are the groups; the tensor's own shape beside them
        grid_meta["axis"] = 0;
        grid_meta["shape"] = t.shape;
      }
      meta["qforge.grid." + t.name] = grid_meta.dump();
      if (const auto a = act.find(t.name); a != act.end() && a->second.mode != ActMode::None) {
        if (!act_accepts(a->second.mode, p.grid))
          throw Error(ErrorCategory::InvalidArgument, "qforge checkpoint: " + t.name + " quantizes its activations (" +
                                                          std::string(act_mode_name(a->second.mode)) + ") but its weights are " +
                                                          p.grid.describe() + ", not " + act_weight_requirement(a->second.mode));
        meta["qforge.act." + t.name] = act_json(a->second);
      }
      report.push_back({t.name, p.grid.describe(), t.shape, p.nbytes(), ""});
      continue;
    }
    const DType want = t.shape.size() < 2 ? DType::f32 : others;
    const auto f = floats.find(t.name);
    if (f != floats.end() && (f->second.shape() != t.shape || f->second.dtype() != DType::f32))
      throw Error(ErrorCategory::InvalidArgument, "qforge checkpoint: replacement for " + t.name + " is not f32 " + shape_to_string(t.shape));
    Tensor x = narrow_f32(f != floats.end() ? f->second : tensor_to_f32(t), want);
    report.push_back({t.name, std::string(dtype_name(want)), t.shape, x.nbytes(), ""});
    out.push_back({t.name, std::move(x)});
  }
  write_safetensors(path, out, meta);
  return report;
}

bool is_qforge_checkpoint(const SafetensorsFile& st) { return st.metadata.count("qforge.format") != 0; }

void add_qforge_checkpoint(ModelFile& f, SafetensorsFile st) {
  const std::string& fmt = st.metadata.at("qforge.format");
  if (fmt != kQforgeCheckpointFormat)
    throw Error(ErrorCategory::BadFile, st.path + ": qforge.format '" + fmt + "' is not the supported " + kQforgeCheckpointFormat);
  const auto cfg = st.metadata.find("qforge.config");
  if (cfg == st.metadata.end()) throw Error(ErrorCategory::BadFile, st.path + ": metadata qforge.config is missing");
  f.config = parse_hf_config(cfg->second, st.path + " (metadata qforge.config)");
  if (const auto v = st.metadata.find("qforge.vocab"); v != st.metadata.end())
    f.vocab = vocab_from_json(v->second, st.path + " (metadata qforge.vocab)");
  f.metadata = st.metadata;
  f.metadata.erase("qforge.vocab");  // large; the Vocab holds it
  std::set<std::string> parts;
  std::vector<ModelTensor> packed;
  for (const auto& [key, value] : st.metadata) {
    if (key.rfind("qforge.grid.", 0) != 0) continue;
    const std::string name = key.substr(12), where = st.path + " (metadata " + key + ")";
    ModelTensor mt;
    mt.name = mt.source_name = name;
    PackedView v;
    try {
      const json j = json::parse(value);
      v.grid = WeightGrid::from_kind_name(j.at("kind").get<std::string>(), j.at("bits").get<int>(), j.at("group_size").get<int64_t>(),
                                          j.value("double_quant", false));
      v.rows = j.at("rows").get<int64_t>();
      v.cols = j.at("cols").get<int64_t>();
      mt.shape = {v.rows, v.cols};
      const int axis = j.value("axis", 1);
      if (axis != 0 && axis != 1) throw Error(ErrorCategory::BadFile, "axis " + std::to_string(axis) + " is not 0 or 1");
      if (axis == 0) {
        v.grid.axis0 = true;
        mt.shape = j.at("shape").get<Shape>();
        if (mt.shape.size() != 2 || mt.shape[0] < 1 || mt.shape[1] < 1 || v.cols != v.grid.group_size ||
            mt.shape[0] > (int64_t{1} << 31) || mt.shape[1] > (int64_t{1} << 31) || mt.shape[0] * mt.shape[1] != v.rows * v.cols)
          throw Error(ErrorCategory::BadFile, "axis 0 groups [" + std::to_string(v.rows) + ", " + std::to_string(v.cols) +
                                                  "] do not fill the shape " + shape_to_string(mt.shape) + " in groups of " +
                                                  std::to_string(v.grid.group_size));
      }
    } catch (const json::exception& e) {
      throw Error(ErrorCategory::BadFile, where + ": " + e.what());
    } catch (const Error& e) {
      throw Error(ErrorCategory::BadFile, where + ": " + e.what());
    }
    auto part = [&](const char* suffix, bool required) -> std::span<const uint8_t> {
      const Tensor* t = st.find(name + suffix);
      if (!t) {
        if (required) throw Error(ErrorCategory::BadFile, st.path + ": tensor " + name + suffix + " is missing");
        return {};
      }
      parts.insert(name + suffix);
      return {static_cast<const uint8_t*>(t->data()), t->nbytes()};
    };
    v.codes = part(".qcodes", true);
    v.scales = part(".qscales", true);
    v.zeros = part(".qzeros", false);
    v.mins = part(".qmins", false);
    v.dq_scales = part(".qscales_dq", false);
    v.validate(st.path + ": " + name);
    mt.dtype = DType::u8;
    mt.data = v.codes;
    mt.packed = v;
    packed.push_back(std::move(mt));
  }
  for (const auto& [key, value] : st.metadata) {  // W8A8: how each linear's input is quantized
    if (key.rfind("qforge.act.", 0) != 0) continue;
    const std::string name = key.substr(11), where = st.path + " (metadata " + key + ")";
    const auto it = std::find_if(packed.begin(), packed.end(), [&](const ModelTensor& t) { return t.name == name; });
    if (it == packed.end()) throw Error(ErrorCategory::BadFile, where + ": names no quantized weight");
    try {
      it->act = parse_act_json(value);
      if (!act_accepts(it->act->mode, it->packed->grid))
        throw Error(ErrorCategory::BadFile, "activations " + std::string(act_mode_name(it->act->mode)) + " need " +
                                                act_weight_requirement(it->act->mode) + ", the weights are " + it->packed->grid.describe());
    } catch (const json::exception& e) {
      throw Error(ErrorCategory::BadFile, where + ": " + e.what());
    } catch (const Error& e) {
      throw Error(ErrorCategory::BadFile, where + ": " + e.what());
    }
  }
  for (auto& nt : st.tensors) {
    if (parts.count(nt.name)) continue;
    ModelTensor mt;
    mt.name = mt.source_name = nt.name;
    mt.shape = nt.tensor.shape();
    mt.dtype = nt.tensor.dtype();
    mt.data = {static_cast<const uint8_t*>(nt.tensor.data()), nt.tensor.nbytes()};
    f.tensors.push_back(std::move(mt));
  }
  for (auto& mt : packed) f.tensors.push_back(std::move(mt));
  for (const auto& nt : st.tensors)
    if (f.keepalive.empty() || f.keepalive.back() != nt.tensor.storage()) f.keepalive.push_back(nt.tensor.storage());
}

}  // namespace qforge
