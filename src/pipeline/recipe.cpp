// Recipes: per-layer method and grid by glob on canonical names.
#include "qforge/recipe.h"

#include <fnmatch.h>

#include <nlohmann/json.hpp>

#include "qforge/error.h"

namespace qforge {
namespace {

[[noreturn]] void invalid(const std::string& m) { throw Error(ErrorCategory::InvalidArgument, m); }

// The grid from type or bits/group/sym. GGUF output needs a block type's grid.
WeightGrid choose_grid(const PlanSpec& s, bool gguf, const std::string& where) {
  if (s.type) {
    if (s.bits || s.group_size || s.sym) invalid(where + ": give a type or bits/group size/sym, not both");
    return WeightGrid::ggml(parse_ggml_type(*s.type, true));
  }
  const int64_t bits = s.bits.value_or(4), group = s.group_size.value_or(gguf ? 32 : 128);
  const bool sym = s.sym.value_or(true);
  const WeightGrid grid = WeightGrid::integer(static_cast<int>(bits), group, sym);
  if (!gguf) return grid;
  if (group == 32) {
    if (bits == 8 && sym) return WeightGrid::ggml(GgmlType::Q8_0);
    if (bits == 5) return WeightGrid::ggml(sym ? GgmlType::Q5_0 : GgmlType::Q5_1);
    if (bits == 4) return WeightGrid::ggml(sym ? GgmlType::Q4_0 : GgmlType::Q4_1);
  }
  invalid(where + ": " + grid.describe() + " has no GGUF block type; write qforge's checkpoint (-o OUT.safetensors), "
          "or choose a GGUF grid: int8 sym G=32 (q8_0), int5 sym/asym G=32 (q5_0/q5_1), int4 sym/asym G=32 (q4_0/q4_1)");
}

PlanSpec parse_spec(const nlohmann::json& j, const std::string& where, bool allow_match) {
  if (!j.is_object()) invalid(where + ": expected an object");
  PlanSpec s;
  for (const auto& item : j.items()) {
    const std::string k = item.key();
    const nlohmann::json& v = item.value();
    const auto need = [&](bool ok, const char* what) {
      if (!ok) invalid(where + ": \"" + k + "\" must be " + what);
    };
    if (k == "match" && allow_match) continue;
    if (k == "method" || k == "type") {
      need(v.is_string(), "a string");
      (k == "method" ? s.method : s.type) = v.get<std::string>();
    } else if (k == "bits" || k == "group_size") {
      need(v.is_number_integer(), "an integer");
      const auto x = v.get<int64_t>();
      need(k == "bits" ? (x >= 2 && x <= 8) : (x >= 0 && x <= (1 << 20)), k == "bits" ? "in 2..8" : "in 0..1048576");
      (k == "bits" ? s.bits : s.group_size) = x;
    } else if (k == "sym" || k == "double_quant" || k == "keep") {
      need(v.is_boolean(), "true or false");
      (k == "sym" ? s.sym : k == "keep" ? s.keep : s.double_quant) = v.get<bool>();
    } else {
      invalid(where + ": unknown key \"" + k + "\"; supported: " + (allow_match ? "match, " : "") +
              "method, type, bits, group_size, sym, double_quant, keep");
    }
  }
  return s;
}

bool in_block(const std::string& name) { return name.rfind("blk.", 0) == 0; }

}  // namespace

void PlanSpec::override_with(const PlanSpec& s) {
  if (s.method && s.method != method) {  // a new method does not inherit what only the old one took
    const bool fixed_grid = *s.method == "nf4" || *s.method == "bitnet" || *s.method == "fp8";
    if (fixed_grid && !(s.type || s.bits || s.group_size || s.sym)) {
      type.reset();
      bits.reset();
      group_size.reset();
      sym.reset();
    }
    if (*s.method != "nf4" && !s.double_quant) double_quant.reset();
    method = s.method;
  }
  if (s.type || s.bits || s.group_size || s.sym) {  // a new grid replaces the old one as a whole
    type = s.type;
    bits = s.bits;
    group_size = s.group_size;
    sym = s.sym;
  }
  if (s.double_quant) double_quant = s.double_quant;
  if (s.keep) keep = s.keep;
}

LayerPlan resolve_plan(const PlanSpec& s, bool gguf, const std::string& where) {
  LayerPlan p;
  p.method_name = s.method.value_or("rtn");
  p.keep_float = s.keep.value_or(false);
  const std::string& m = p.method_name;
  if (m == "nf4" || m == "bitnet") {  // RTN onto a fixed grid
    if (s.type || s.bits || s.sym || (m == "bitnet" && s.group_size))
      invalid(where + ": method " + m + " fixes the grid" +
              (m == "nf4" ? " (4-bit NormalFloat; only the group size, default 64, and double quant apply)" : " (ternary, one γ per tensor)"));
    if (gguf) invalid(where + ": method " + m + " has no GGUF block type here; write qforge's checkpoint (-o OUT.safetensors)");
    p.method = WeightMethod::Rtn;
    p.grid = m == "nf4" ? WeightGrid::nf4(s.group_size.value_or(64) > 0 ? s.group_size.value_or(64) : 64, s.double_quant.value_or(false))
                        : WeightGrid::ternary();
    return p;
  }
  if (m == "fp8") {  // RTN onto e4m3 codes with an f32 scale per row (or per group)
    if (s.type || s.bits || s.sym) invalid(where + ": method fp8 fixes the grid (e4m3 codes; only the group size, default per channel, applies)");
    if (gguf) invalid(where + ": method fp8 has no GGUF block type; write qforge's checkpoint (-o OUT.safetensors)");
    if (s.double_quant.value_or(false)) invalid(where + ": double quant applies to method nf4");
    p.method = WeightMethod::Rtn;
    p.grid = WeightGrid::fp8(s.group_size.value_or(0));
    return p;
  }
  if (m != "rtn" && m != "gptq" && m != "hqq" && m != "awq")
    invalid(where + ": unknown method '" + m + "'; supported: rtn, gptq, awq, hqq, nf4, bitnet, fp8");
  if (s.double_quant.value_or(false)) invalid(where + ": double quant applies to method nf4");
  p.method = parse_weight_method(m);
  if (p.method == WeightMethod::Hqq) {  // a float zero point: q4_1/q5_1 in GGUF, int_min in qforge's checkpoint
    if (s.sym.value_or(false)) invalid(where + ": hqq optimises a zero point; it takes asymmetric grids only");
    PlanSpec asym = s;
    if (!s.type) asym.sym = false;
    p.grid = s.type || gguf ? choose_grid(asym, gguf, where)
                            : WeightGrid::integer_min(static_cast<int>(s.bits.value_or(4)), s.group_size.value_or(64));
    if (!p.grid.has_float_min()) invalid(where + ": hqq optimises a float zero point; " + p.grid.describe() + " has none (use q4_1 or q5_1)");
    return p;
  }
  p.grid = choose_grid(s, gguf, where);
  return p;
}

Recipe::Recipe(PlanSpec defaults, bool gguf) : defaults_(std::move(defaults)), gguf_(gguf) {
  (void)resolve_plan(defaults_, gguf_, "quantize");  // fail before any work
}

Recipe Recipe::parse(const std::string& text, const std::string& source, PlanSpec defaults, bool gguf) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCategory::InvalidArgument, source + ": not JSON (" + std::string(e.what()) + ")");
  }
  if (!j.is_object()) invalid(source + ": a recipe is an object with \"default\" and \"rules\"");
  for (const auto& [k, v] : j.items())
    if (k != "default" && k != "rules") invalid(source + ": unknown key \"" + k + "\"; supported: default, rules");
  if (j.contains("default")) defaults.override_with(parse_spec(j["default"], source + ": default", false));
  Recipe r(defaults, gguf);
  r.source_ = source;
  if (j.contains("rules")) {
    if (!j["rules"].is_array()) invalid(source + ": \"rules\" must be an array");
    for (size_t i = 0; i < j["rules"].size(); ++i) {
      const std::string where = source + ": rules[" + std::to_string(i) + "]";
      const auto& rule = j["rules"][i];
      if (!rule.is_object() || !rule.contains("match") || !rule["match"].is_string())
        invalid(where + ": needs \"match\": a glob on canonical names such as \"blk.*.ffn_down.weight\"");
      Rule x{rule["match"].get<std::string>(), parse_spec(rule, where, true)};
      PlanSpec check = r.defaults_;
      check.override_with(x.spec);
      (void)resolve_plan(check, gguf, where);
      r.rules_.push_back(std::move(x));
    }
  }
  return r;
}

LayerPlan Recipe::plan_for(const std::string& name) const {
  PlanSpec s = defaults_;
  if (!in_block(name)) s.keep = true;  // embeddings and the output head stay float unless a rule says otherwise
  std::string where = "quantize";
  for (size_t i = 0; i < rules_.size(); ++i)
    if (::fnmatch(rules_[i].match.c_str(), name.c_str(), 0) == 0) {
      if (!in_block(name) && !rules_[i].spec.keep) s.keep = false;
      s.override_with(rules_[i].spec);
      where = source_ + ": rules[" + std::to_string(i) + "] for " + name;
    }
  return resolve_plan(s, gguf_, where);
}

bool Recipe::needs_calibration() const {
  const auto data = [](const std::optional<std::string>& m) { return m == "gptq" || m == "awq"; };
  if (data(defaults_.method)) return true;
  for (const auto& r : rules_)
    if (data(r.spec.method)) return true;
  return false;
}

LayerPlan Recipe::default_plan() const { return resolve_plan(defaults_, gguf_, "quantize"); }

std::string Recipe::describe() const {
  const LayerPlan d = default_plan();
  std::string s = d.method_name + " on " + d.grid.describe();
  if (!rules_.empty()) s += ", " + std::to_string(rules_.size()) + " rules from " + source_;
  return s;
}

}  // namespace qforge
