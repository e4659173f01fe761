// The float runtime on a real trained model: stories260K against the reference outputs in
// shared/ (an independent float64 NumPy forward pass, and llama2.c's own greedy text).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <cstring>
#include <sstream>

#include "qforge/engine.h"
#include "qforge/model_writer.h"
#include "qforge/sampling.h"
#include "qforge/tokenizer.h"
#include "support/shared_data.h"
#include "support/temp_dir.h"

namespace qforge {
namespace {

std::vector<int32_t> read_ids(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<int32_t> ids;
  for (int32_t v; in >> v;) ids.push_back(v);
  return ids;
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<int32_t> greedy(Model& m, int32_t bos, int n) {
  std::vector<int32_t> ids = {bos};
  std::vector<float> logits = m.forward(std::span<const int32_t>(ids));
  for (int i = 0; i < n; ++i) {
    const int32_t next = argmax(logits);
    ids.push_back(next);
    logits = m.forward(std::span<const int32_t>(&ids.back(), 1));
  }
  return ids;
}

TEST(Stories260K, GreedyGenerationReproducesTheReference) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  const auto want_ids = read_ids(bin.parent_path() / "expected_greedy_ids_200.txt");
  std::string want_text = read_text(bin.parent_path() / "expected_greedy_text_200.txt");
  if (!want_text.empty() && want_text.back() == '\n') want_text.pop_back();  // run.c's closing newline
  ASSERT_EQ(want_ids.size(), 201u);
  const ModelFile f = open_model(bin.string());
  auto m = Model::load(f);
  const auto ids = greedy(*m, 1, 200);
  EXPECT_EQ(ids, want_ids);
  const SpmTokenizer tok(*f.vocab);
  EXPECT_EQ(tok.decode(ids), want_text);
}

TEST(Stories260K, LogitsMatchTheFloat64Reference) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  const auto ids = read_ids(bin.parent_path() / "expected_greedy_ids_200.txt");
  std::ifstream in(bin.parent_path() / "expected_logits_pos0_pos63.txt");
  std::vector<float> want;
  for (float v; in >> v;) want.push_back(v);
  ASSERT_EQ(want.size(), 2u * 512u);
  auto m = Model::load(open_model(bin.string()));
  const auto logits = m->forward(std::span<const int32_t>(ids.data(), 64), /*all_logits=*/true);
  ASSERT_EQ(logits.size(), 64u * 512u);
  double worst = 0;
  for (size_t v = 0; v < 512; ++v) {
    worst = std::max(worst, std::fabs(static_cast<double>(logits[v]) - want[v]));
    worst = std::max(worst, std::fabs(static_cast<double>(logits[63 * 512 + v]) - want[512 + v]));
  }
  EXPECT_LT(worst, 1e-4) << "largest deviation from the float64 reference";
}

TEST(Stories260K, BatchedPromptEqualsTokenByTokenAndThreadsDoNotMatter) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  const auto ids = read_ids(bin.parent_path() / "expected_greedy_ids_200.txt");
  const ModelFile f = open_model(bin.string());
  auto batched = Model::load(f, {.threads = 2});
  const auto all = batched->forward(std::span<const int32_t>(ids.data(), 40), true);
  auto single = Model::load(f, {.threads = 1});
  for (size_t t = 0; t < 40; ++t) {
    const auto row = single->forward(std::span<const int32_t>(&ids[t], 1));
    ASSERT_EQ(0, std::memcmp(row.data(), &all[t * 512], 512 * sizeof(float))) << "position " << t;
  }
  EXPECT_THROW(single->forward(std::vector<int32_t>{600}), Error);  // outside the vocabulary
}

TEST(Stories260K, SameTokensFromTheGgufQforgeWrites) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  testing::TempDir dir;
  const ModelFile f = open_model(bin.string());
  write_gguf_model(f, dir.file("s.gguf"), GgmlType::F32);
  const ModelFile g = open_model(dir.file("s.gguf"));
  auto a = Model::load(f);
  auto b = Model::load(g);
  EXPECT_EQ(greedy(*a, 1, 60), greedy(*b, 1, 60));
}

// qforge follows llama.cpp's SentencePiece tokenizer (identical ids on all of wiki.test.raw);
// the sentencepiece library agrees too except that it also collapses runs of whitespace.
TEST(SpmTokenizer, EncodesLikeSentencePiece) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  const ModelFile f = open_model(bin.string());
  const SpmTokenizer tok(*f.vocab);
  // Reference ids from the sentencepiece library on tok512.model (the same vocabulary).
  EXPECT_EQ(tok.encode("Once upon a time", false), (std::vector<int32_t>{403, 407, 261, 378}));
  EXPECT_EQ(tok.encode("Hello, world! 123 café", false),
            (std::vector<int32_t>{346, 306, 414, 432, 263, 304, 341, 443, 410, 475, 479, 472, 280, 412, 431, 485}));
  EXPECT_EQ(tok.encode("", true), (std::vector<int32_t>{1}));
  const std::string text = "The cat sat.\nIt was 3:45 — late!";
  EXPECT_EQ(tok.decode(tok.encode(text, true)), text);
}

}  // namespace
}  // namespace qforge
