// Recipes: rules by glob, in order, later ones winning; embeddings and head float by default;
// every mistake named with the file and the rule.
#include <gtest/gtest.h>

#include "qforge/error.h"
#include "qforge/recipe.h"

namespace qforge {
namespace {

PlanSpec gptq_q4() {
  PlanSpec s;
  s.method = "gptq";
  s.type = "q4_0";
  return s;
}

TEST(Recipe, RulesApplyInOrderAndReplaceTheGridAsAWhole) {
  const Recipe r = Recipe::parse(R"({"rules": [
      {"match": "blk.*.ffn_down.weight", "type": "q8_0"},
      {"match": "blk.0.*", "method": "rtn"},
      {"match": "blk.1.attn_v.weight", "keep": true},
      {"match": "output.weight", "method": "rtn", "type": "q8_0"}]})",
                                 "r.json", gptq_q4(), true);
  EXPECT_EQ(r.plan_for("blk.3.attn_q.weight").grid.describe(), "q4_0");
  EXPECT_EQ(r.plan_for("blk.3.attn_q.weight").method, WeightMethod::Gptq);
  EXPECT_EQ(r.plan_for("blk.3.ffn_down.weight").grid.describe(), "q8_0");
  EXPECT_EQ(r.plan_for("blk.3.ffn_down.weight").method, WeightMethod::Gptq);
  EXPECT_EQ(r.plan_for("blk.0.ffn_down.weight").method, WeightMethod::Rtn);  // both rules
  EXPECT_EQ(r.plan_for("blk.0.ffn_down.weight").grid.describe(), "q8_0");
  EXPECT_TRUE(r.plan_for("blk.1.attn_v.weight").keep_float);
  EXPECT_TRUE(r.plan_for("token_embd.weight").keep_float);  // not named: stays float
  EXPECT_FALSE(r.plan_for("output.weight").keep_float);
  EXPECT_EQ(r.plan_for("output.weight").grid.describe(), "q8_0");
  EXPECT_TRUE(r.needs_calibration());
}

TEST(Recipe, DefaultOverridesTheCommandLineAndCheckpointGridsAreAny) {
  const Recipe r = Recipe::parse(R"({"default": {"method": "hqq", "bits": 3, "group_size": 64},
      "rules": [{"match": "blk.*.ffn_*", "method": "nf4", "double_quant": true}]})",
                                 "r.json", gptq_q4(), false);
  EXPECT_EQ(r.plan_for("blk.2.attn_k.weight").grid.describe(), "int3 min G=64");
  EXPECT_EQ(r.plan_for("blk.2.ffn_up.weight").grid.describe(), "nf4+dq G=64");
  EXPECT_FALSE(r.needs_calibration());
}

TEST(Recipe, MistakesNameTheFileAndTheRule) {
  for (const auto& [text, expect] : std::initializer_list<std::pair<std::string, std::string>>{
           {"{", "r.json: not JSON"},
           {R"({"rule": []})", "r.json: unknown key \"rule\"; supported: default, rules"},
           {R"({"rules": [{"bits": 8}]})", "r.json: rules[0]: needs \"match\""},
           {R"({"rules": [{"match": "*", "bitz": 8}]})", "r.json: rules[0]: unknown key \"bitz\"; supported: match, method, type"},
           {R"({"rules": [{"match": "*", "bits": 12}]})", "r.json: rules[0]: \"bits\" must be in 2..8"},
           {R"({"rules": [{"match": "*", "keep": 1}]})", "r.json: rules[0]: \"keep\" must be true or false"},
           {R"({"rules": [{"match": "x", "bits": 3, "group_size": 128}]})", "r.json: rules[0]: int3 sym G=128 has no GGUF block type"},
           {R"({"default": {"method": "spqr"}})", "unknown method 'spqr'"}}) {
    try {
      (void)Recipe::parse(text, "r.json", gptq_q4(), true);
      ADD_FAILURE() << "accepted " << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace qforge
