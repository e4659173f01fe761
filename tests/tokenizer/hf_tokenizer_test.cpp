// tokenizer.json and tokenizer.model readers. The full-text agreement with Hugging Face
// `tokenizers` and `sentencepiece` is in tests/oracle/tokenizers_vs_hf.py; these are the
// hand-checked cases and the refusals.
#include <gtest/gtest.h>

#include "qforge/error.h"
#include "qforge/tokenizer.h"
#include "support/shared_data.h"

namespace qforge {
namespace {

const char* kByteLevel = R"({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true})";
const char* kLlama3Pre = R"({"type": "Sequence", "pretokenizers": [
  {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
   "behavior": "Isolated", "invert": false},
  {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]})";
const char* kQwen2Pre = R"({"type": "Sequence", "pretokenizers": [
  {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
   "behavior": "Isolated", "invert": false},
  {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]})";
const char* kTemplate = R"({"type": "TemplateProcessing",
  "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
  "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [10], "tokens": ["<|begin_of_text|>"]}}})";

// ids: 1 2 3 12 123 ( w o (w wo, then <|begin_of_text|> (special) and <tool> (not special)
std::string tokenizer_json(const std::string& pre, bool ignore_merges, bool merges_as_pairs,
                           const std::string& post = "null") {
  const std::string merges = merges_as_pairs ? R"([["1", "2"], ["12", "3"], ["(", "w"]])" : R"(["1 2", "12 3", "( w"])";
  return R"({"version": "1.0", "normalizer": null, "pre_tokenizer": )" + pre + R"(, "post_processor": )" + post +
         R"(, "added_tokens": [{"id": 10, "content": "<|begin_of_text|>", "special": true},
                               {"id": 11, "content": "<tool>", "special": false}],
  "model": {"type": "BPE", "ignore_merges": )" + (ignore_merges ? "true" : "false") + R"(,
    "vocab": {"1": 0, "2": 1, "3": 2, "12": 3, "123": 4, "(": 5, "w": 6, "o": 7, "(w": 8, "wo": 9},
    "merges": )" + merges + "}}";
}

std::vector<int32_t> encode(const std::string& json, const std::string& text) {
  return make_tokenizer(parse_tokenizer_json(json, "tokenizer.json"))->encode(text, false);
}

TEST(TokenizerJson, RecognisesEachPreTokenizerAndSplitsAsItDoes) {
  // Llama 3 keeps up to three digits together and a symbol with the letters after it; Qwen2
  // splits digits one by one; GPT-2 splits the symbol from the letters.
  EXPECT_EQ(parse_tokenizer_json(tokenizer_json(kLlama3Pre, false, false), "t").pre, "llama3");
  EXPECT_EQ(encode(tokenizer_json(kLlama3Pre, false, false), "123"), (std::vector<int32_t>{4}));
  EXPECT_EQ(encode(tokenizer_json(kQwen2Pre, false, false), "123"), (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(encode(tokenizer_json(kLlama3Pre, false, false), "(wo"), (std::vector<int32_t>{8, 7}));
  EXPECT_EQ(encode(tokenizer_json(kByteLevel, false, false), "(wo"), (std::vector<int32_t>{5, 6, 7}));
  EXPECT_EQ(parse_tokenizer_json(tokenizer_json(kByteLevel, false, false), "t").pre, "gpt2");
  // merges written as pairs (tokenizers ≥ 0.20) read the same
  EXPECT_EQ(encode(tokenizer_json(kLlama3Pre, false, true), "123(wo"), (std::vector<int32_t>{4, 8, 7}));
}

TEST(TokenizerJson, IgnoreMergesTakesAWholePieceThatIsAToken) {
  // "wo" is a token but no merge builds it: only ignore_merges (Llama 3) finds it.
  EXPECT_EQ(encode(tokenizer_json(kLlama3Pre, false, false), "wo"), (std::vector<int32_t>{6, 7}));
  EXPECT_EQ(encode(tokenizer_json(kLlama3Pre, true, false), "wo"), (std::vector<int32_t>{9}));
}

TEST(TokenizerJson, AddedTokensAndBosFollowTheFile) {
  Vocab v = parse_tokenizer_json(tokenizer_json(kLlama3Pre, true, false, kTemplate), "t");
  EXPECT_EQ(v.types[10], 3);  // special → control: decodes to nothing
  EXPECT_EQ(v.types[11], 4);  // user-defined
  EXPECT_TRUE(v.add_bos);
  EXPECT_EQ(v.bos, 10);
  auto tok = make_tokenizer(v);
  EXPECT_EQ(tok->encode("12", true), (std::vector<int32_t>{10, 3}));
  EXPECT_EQ(tok->decode(std::vector<int32_t>{10, 4, 8}), "123(w");
  // tokenizer_config.json overrides the template and names EOS
  v = parse_tokenizer_json(tokenizer_json(kLlama3Pre, true, false, kTemplate), "t",
                           R"({"add_bos_token": false, "eos_token": {"content": "<tool>"}})");
  EXPECT_FALSE(v.add_bos);
  EXPECT_EQ(v.eos, 11);
  // no template: GPT-2 adds no BOS
  EXPECT_FALSE(parse_tokenizer_json(tokenizer_json(kByteLevel, false, false), "t").add_bos);
}

TEST(TokenizerJson, AMalformedTemplateMeansNoBosNotACrash) {
  // Found by fuzzing: a special token entry without "ids" (or not an object) was read through
  // nlohmann's const operator[], undefined for a missing key. ASan checks this in CI.
  for (const char* entry : {R"({"id": "<|begin_of_text|>"})", "7", R"({"ids": "x"})"}) {
    const std::string post = std::string(R"({"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|begin_of_text|>"}}],
      "special_tokens": {"<|begin_of_text|>": )") + entry + "}}";
    const Vocab v = parse_tokenizer_json(tokenizer_json(kLlama3Pre, false, false, post), "t");
    EXPECT_FALSE(v.add_bos) << entry;
  }
}

TEST(TokenizerJson, RefusesWhatItCannotRunByName) {
  auto message = [](const std::string& json) {
    try {
      parse_tokenizer_json(json, "dir/tokenizer.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  const std::string whitespace_pre = R"({"type": "Whitespace"})";
  EXPECT_NE(message(tokenizer_json(whitespace_pre, false, false)).find("dir/tokenizer.json: pre_tokenizer: this Whitespace"),
            std::string::npos);
  EXPECT_NE(message(tokenizer_json(kByteLevel, false, false)).find("accepted"), std::string::npos);
  std::string wordpiece = tokenizer_json(kByteLevel, false, false);
  wordpiece.replace(wordpiece.find("\"BPE\""), 5, "\"WordPiece\"");
  EXPECT_NE(message(wordpiece).find("model.type 'WordPiece' is not supported; supported: BPE"), std::string::npos);
  EXPECT_NE(message("{\"model\": ").find("dir/tokenizer.json: tokenizer: is not a JSON object"), std::string::npos);
  std::string bad_merge = tokenizer_json(kByteLevel, false, false);
  bad_merge.replace(bad_merge.find("\"1 2\""), 5, "12");
  EXPECT_NE(message(bad_merge).find("model.merges"), std::string::npos);
}

TEST(SentencePieceModel, Tok512ModelEqualsTheLlama2cVocabulary) {
  QFORGE_REQUIRE_SHARED(model, "models/stories260K/tok512.model");
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/tok512.bin");
  const Vocab a = read_sentencepiece_model(model.string());
  const Vocab b = read_llama2c_tokenizer(bin.string(), 512);
  ASSERT_EQ(a.tokens.size(), 512u);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.scores, b.scores);
  EXPECT_EQ(a.types, b.types);
  EXPECT_EQ(a.bos, 1);
  EXPECT_EQ(a.eos, 2);
  EXPECT_EQ(a.unk, 0);
  EXPECT_TRUE(a.add_space_prefix);
  const std::string text = " = Robert Boulter = \xE2\x9C\x93 42";
  EXPECT_EQ(make_tokenizer(a)->encode(text, true), make_tokenizer(b)->encode(text, true));
}

TEST(SentencePieceModel, DamagedFilesAreRefusedWithTheField) {
  QFORGE_REQUIRE_SHARED(model, "models/stories260K/tok512.model");
  const auto bytes = [&] {
    std::FILE* f = std::fopen(model.string().c_str(), "rb");
    std::vector<uint8_t> b(1 << 16);
    b.resize(std::fread(b.data(), 1, b.size(), f));
    std::fclose(f);
    return b;
  }();
  for (size_t cut : {size_t{1}, size_t{7}, bytes.size() / 2, bytes.size() - 1}) {
    try {
      parse_sentencepiece_model(std::span(bytes).first(cut), "tok.model");
      ADD_FAILURE() << "truncated at " << cut << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::BadFile) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("tok.model: ", 0), 0u) << e.what();
    }
  }
}

}  // namespace
}  // namespace qforge
