// Which method and grid each layer gets: the command line's choice for every linear layer,
// or a recipe (JSON) whose rules, matched by glob on canonical names, change it per layer and
// name the layers that stay in float. docs/quantize.md ("Recipes") gives the format.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "qforge/pipeline.h"

namespace qforge {

// A layer's quantization as the user states it; unset fields take the defaults.
struct PlanSpec {
  std::optional<std::string> method;  // rtn, gptq, awq, hqq, nf4, bitnet
  std::optional<std::string> type;    // a GGUF grid: q8_0, q5_1, q5_0, q4_1, q4_0
  std::optional<int64_t> bits, group_size;  // group 0: per channel
  std::optional<bool> sym, double_quant, keep;  // keep: stays in float

  void override_with(const PlanSpec& s);  // s's set fields replace these
};

// The method and grid a spec means for the output (GGUF needs block-type grids). Throws
// Error(InvalidArgument) starting with `where` for combinations that do not exist.
LayerPlan resolve_plan(const PlanSpec& spec, bool gguf, const std::string& where);

class Recipe {
 public:
  // Every linear layer in the blocks gets `defaults`; embeddings and the output head stay float.
  Recipe(PlanSpec defaults, bool gguf);
  // A JSON recipe: {"default": {...}, "rules": [{"match": "blk.*.ffn_down.weight", "bits": 8}, ...]}.
  // "default" overrides `defaults`; rules apply in order, later ones winning.
  static Recipe parse(const std::string& json_text, const std::string& source, PlanSpec defaults, bool gguf);

  LayerPlan plan_for(const std::string& name) const;
  LayerPlan default_plan() const;  // what a block's linear gets when no rule matches it
  bool needs_calibration() const;  // some layer may use gptq or awq
  std::string describe() const;    // for the checkpoint's metadata

 private:
  struct Rule {
    std::string match;
    PlanSpec spec;
  };
  PlanSpec defaults_;
  std::vector<Rule> rules_;
  bool gguf_ = false;
  std::string source_;
};

}  // namespace qforge
