// Hugging Face tokenizer.json (byte-level BPE) → Vocab. The pre-tokenizer is matched against
// the shapes that GPT-2, SmolLM, Llama 3 and Qwen2 ship, so the encoder can apply the same rule
// natively (qforge has no regex engine); anything else is refused by name.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "qforge/error.h"
#include "qforge/mapped_file.h"
#include "qforge/model_file.h"

namespace qforge {
namespace {

using json = nlohmann::json;

// The Split regexes of Llama 3 and Qwen2 (they differ only in \p{N}{1,3} versus \p{N}).
constexpr const char* kLlama3Regex =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
constexpr const char* kQwen2Regex =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

[[noreturn]] void bad(const std::string& src, const std::string& field, const std::string& what) {
  throw Error(ErrorCategory::BadFile, src + ": " + field + ": " + what);
}

std::string type_of(const json& j) { return j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>() : ""; }

bool flag(const json& j, const char* key, bool fallback) {
  return j.contains(key) && j[key].is_boolean() ? j[key].get<bool>() : fallback;
}

bool is_byte_level(const json& j, bool use_regex) {
  return type_of(j) == "ByteLevel" && flag(j, "use_regex", true) == use_regex && !flag(j, "add_prefix_space", false);
}

std::string pre_tokenizer_name(const json& pre, const std::string& src) {
  if (is_byte_level(pre, true)) return "gpt2";
  if (type_of(pre) == "Sequence" && pre.contains("pretokenizers") && pre["pretokenizers"].is_array() &&
      pre["pretokenizers"].size() == 2) {
    const json& a = pre["pretokenizers"][0];
    const json& b = pre["pretokenizers"][1];
    if (type_of(a) == "Digits" && flag(a, "individual_digits", false) && is_byte_level(b, true)) return "smollm";
    if (type_of(a) == "Split" && is_byte_level(b, false) && a.contains("pattern") && a["pattern"].is_object() &&
        a["pattern"].contains("Regex") && a["pattern"]["Regex"].is_string()) {
      const auto re = a["pattern"]["Regex"].get<std::string>();
      if (re == kLlama3Regex) return "llama3";
      if (re == kQwen2Regex) return "qwen2";
    }
  }
  throw Error(ErrorCategory::Unsupported, src + ": pre_tokenizer: this " + (type_of(pre).empty() ? "null" : type_of(pre)) +
                                              " pre-tokenizer is not supported; supported: the byte-level ones of gpt2, "
                                              "smollm, llama3 and qwen2");
}

// The first TemplateProcessing's leading special token, if any (Llama 3's <|begin_of_text|>).
std::optional<int64_t> template_bos(const json& post) {
  if (type_of(post) == "Sequence" && post.contains("processors") && post["processors"].is_array()) {
    for (const auto& p : post["processors"])
      if (auto b = template_bos(p)) return b;
    return std::nullopt;
  }
  if (type_of(post) != "TemplateProcessing" || !post.contains("single") || !post["single"].is_array() ||
      post["single"].empty())
    return std::nullopt;
  const json& first = post["single"][0];
  if (!first.contains("SpecialToken") || !first["SpecialToken"].contains("id")) return std::nullopt;
  const json& name = first["SpecialToken"]["id"];
  if (!name.is_string() || !post.contains("special_tokens") || !post["special_tokens"].contains(name.get<std::string>()))
    return std::nullopt;
  // const operator[] on a missing key is undefined behaviour in nlohmann::json: check first
  const json& entry = post["special_tokens"][name.get<std::string>()];
  if (!entry.is_object() || !entry.contains("ids")) return std::nullopt;
  const json& ids = entry["ids"];
  if (!ids.is_array() || ids.size() != 1 || !ids[0].is_number_integer()) return std::nullopt;
  return ids[0].get<int64_t>();
}

// tokenizer_config.json names tokens by content, as a string or {"content": ...}.
std::optional<std::string> token_content(const json& cfg, const char* key) {
  if (!cfg.is_object() || !cfg.contains(key)) return std::nullopt;
  const json& t = cfg[key];
  if (t.is_string()) return t.get<std::string>();
  if (t.is_object() && t.contains("content") && t["content"].is_string()) return t["content"].get<std::string>();
  return std::nullopt;
}

}  // namespace

Vocab parse_tokenizer_json(const std::string& text, const std::string& src, const std::string& config_text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) bad(src, "tokenizer", "is not a JSON object");
  if (!j.contains("model") || !j["model"].is_object()) bad(src, "model", "missing");
  const json& m = j["model"];
  if (type_of(m) != "BPE")
    throw Error(ErrorCategory::Unsupported, src + ": model.type '" + type_of(m) + "' is not supported; supported: BPE");
  if (flag(m, "byte_fallback", false))
    throw Error(ErrorCategory::Unsupported, src + ": model.byte_fallback: SentencePiece-style BPE is read from "
                                                  "tokenizer.model, not tokenizer.json");
  const json norm = j.contains("normalizer") ? j["normalizer"] : json();
  // Qwen2 declares NFC; like llama.cpp, qforge does not re-normalise (WikiText and most text is NFC already).
  if (!norm.is_null() && type_of(norm) != "NFC")
    throw Error(ErrorCategory::Unsupported, src + ": normalizer " + type_of(norm) + " is not supported; supported: none, NFC");
  Vocab v;
  v.model = "gpt2";
  v.pre = pre_tokenizer_name(j.contains("pre_tokenizer") ? j["pre_tokenizer"] : json(), src);
  v.ignore_merges = flag(m, "ignore_merges", false);
  v.add_space_prefix = false;
  if (!m.contains("vocab") || !m["vocab"].is_object()) bad(src, "model.vocab", "missing or not an object");
  std::vector<std::pair<int64_t, std::string>> entries;
  std::vector<int32_t> entry_types;
  for (const auto& [tok, id] : m["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= (int64_t{1} << 24))
      bad(src, "model.vocab[" + tok + "]", "id must be an integer in 0..2^24");
    entries.emplace_back(id.get<int64_t>(), tok);
    entry_types.push_back(1);
  }
  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    for (const auto& a : j["added_tokens"]) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
          !a["content"].is_string() || a["id"].get<int64_t>() < 0 || a["id"].get<int64_t>() >= (int64_t{1} << 24))
        bad(src, "added_tokens", "each entry needs an integer id in 0..2^24 and a string content");
      entries.emplace_back(a["id"].get<int64_t>(), a["content"].get<std::string>());
      entry_types.push_back(flag(a, "special", false) ? 3 : 4);
    }
  }
  if (entries.empty()) bad(src, "model.vocab", "is empty");
  int64_t size = 0;
  for (const auto& e : entries) size = std::max(size, e.first + 1);
  v.tokens.resize(static_cast<size_t>(size));
  v.types.assign(static_cast<size_t>(size), 5);  // ids no entry names stay unused, as llama.cpp pads them
  for (int64_t i = 0; i < size; ++i) v.tokens[static_cast<size_t>(i)] = "[PAD" + std::to_string(i) + "]";
  for (size_t k = 0; k < entries.size(); ++k) {
    v.tokens[static_cast<size_t>(entries[k].first)] = entries[k].second;
    v.types[static_cast<size_t>(entries[k].first)] = entry_types[k];
  }
  v.scores.assign(static_cast<size_t>(size), 0.0f);
  if (!m.contains("merges") || !m["merges"].is_array()) bad(src, "model.merges", "missing or not an array");
  for (const auto& mg : m["merges"]) {
    if (mg.is_string()) v.merges.push_back(mg.get<std::string>());
    else if (mg.is_array() && mg.size() == 2 && mg[0].is_string() && mg[1].is_string())
      v.merges.push_back(mg[0].get<std::string>() + " " + mg[1].get<std::string>());
    else bad(src, "model.merges", "each merge must be \"a b\" or [\"a\", \"b\"]");
  }
  // BOS: the post-processor's template decides whether one is added; tokenizer_config.json may override.
  const auto tmpl = template_bos(j.contains("post_processor") ? j["post_processor"] : json());
  v.add_bos = tmpl.has_value();
  v.bos = tmpl.value_or(-1);
  v.eos = -1;
  v.unk = -1;
  if (!config_text.empty()) {
    const json cfg = json::parse(config_text, nullptr, false);
    if (cfg.is_object()) {
      auto find = [&](const std::optional<std::string>& s) -> std::optional<int64_t> {
        if (!s) return std::nullopt;
        for (size_t i = 0; i < v.tokens.size(); ++i)
          if (v.tokens[i] == *s) return static_cast<int64_t>(i);
        return std::nullopt;
      };
      if (auto b = find(token_content(cfg, "bos_token"))) v.bos = *b;
      if (auto e = find(token_content(cfg, "eos_token"))) v.eos = *e;
      if (auto u = find(token_content(cfg, "unk_token"))) v.unk = *u;
      v.add_bos = flag(cfg, "add_bos_token", v.add_bos);
    }
  }
  if (v.add_bos && v.bos < 0) bad(src, "bos_token", "BOS is to be added but no BOS token is named");
  return v;
}

Vocab read_tokenizer_json(const std::string& path) {
  const auto cfg = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  return parse_tokenizer_json(read_file_text(path), path,
                              std::filesystem::exists(cfg) ? read_file_text(cfg.string()) : std::string());
}

}  // namespace qforge
