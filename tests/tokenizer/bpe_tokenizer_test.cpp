// Byte-level BPE on SmolLM2's vocabulary (from the cached demo model), against ids printed by
// llama.cpp's llama-tokenize for the same strings.
#include <gtest/gtest.h>

#include "qforge/tokenizer.h"
#include "support/shared_data.h"

namespace qforge {
namespace {

TEST(BpeTokenizer, MatchesLlamaCppOnSmolLM2) {
  const auto path = testing::demo_model();
  if (!path) GTEST_SKIP() << "demo model not cached; run scripts/setup.sh --demo-model";
  const ModelFile f = open_model(path->string());
  ASSERT_TRUE(f.vocab);
  const auto tok = make_tokenizer(*f.vocab);
  EXPECT_FALSE(tok->add_bos());  // SmolLM2's GGUF says add_bos_token = false
  const std::vector<std::pair<std::string, std::vector<int32_t>>> cases = {
      {"Hello world! It's 2024, isn't it?", {19556, 905, 17, 657, 506, 216, 34, 32, 34, 36, 28, 3247, 982, 357, 47}},
      {"  Multiple   spaces\nand caf\xC3\xA9 \xC3\xBCn\xC3\xAF" "c\xC3\xB6" "d\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xE2\x9C\x93",
       {216, 16560, 256, 5600, 198, 397, 37366, 5549, 137, 94, 25972, 83, 7466, 84, 2756, 17097, 241, 115, 40993, 179,
        120, 248, 4636, 246, 237}},
      {"x=1234567; y+=z**2 // ok", {104, 45, 33, 34, 35, 36, 37, 38, 39, 43, 329, 32657, 106, 828, 34, 13241, 10907}},
  };
  for (const auto& [text, ids] : cases) {
    EXPECT_EQ(tok->encode(text, false), ids) << text;
    EXPECT_EQ(tok->decode(ids), text);
  }
  // invalid UTF-8 bytes become U+FFFD, as in llama.cpp
  const auto ids = tok->encode("a\xFF\xFE b", false);
  EXPECT_EQ(ids, (std::vector<int32_t>{81, 24211, 24211, 278}));
  EXPECT_EQ(tok->decode(ids), "a\xEF\xBF\xBD\xEF\xBF\xBD b");
}

}  // namespace
}  // namespace qforge
