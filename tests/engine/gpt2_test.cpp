// The GPT-2 runtime's own properties; its numbers are checked against a numpy transcription
// of Hugging Face's GPT2LMHeadModel in tests/oracle/gpt2_vs_numpy.py.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "qforge/engine.h"
#include "qforge/error.h"
#include "qforge/model_writer.h"
#include "qforge/synth.h"
#include "support/temp_dir.h"

namespace qforge {
namespace {

const std::vector<int32_t> kPrompt = {5, 900, 17, 3, 1023, 64, 64, 250, 8, 0, 77};

float max_abs_diff(std::span<const float> a, std::span<const float> b) {
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

class Gpt2 : public ::testing::Test {
 protected:
  void SetUp() override { write_synthetic_model("tiny", dir.file("hf"), false, 5, "gpt2"); }
  testing::TempDir dir;
};

TEST_F(Gpt2, DecodingOneTokenAtATimeEqualsThePromptAtOnce) {
  const ModelFile f = open_model(dir.file("hf"));
  auto model = Model::load(f);
  const auto all = model->forward(kPrompt, true);
  model->reset();
  const int64_t vocab = model->config().vocab_size;
  for (size_t t = 0; t < kPrompt.size(); ++t) {
    const auto step = model->forward(std::span(&kPrompt[t], 1));
    // batched and single-row linears sum in the same order; only attention's batch differs
    EXPECT_LT(max_abs_diff(step, std::span(all).subspan(t * static_cast<size_t>(vocab), static_cast<size_t>(vocab))), 1e-5f)
        << "position " << t;
  }
  EXPECT_EQ(model->position(), static_cast<int64_t>(kPrompt.size()));
}

TEST_F(Gpt2, ResultsDoNotDependOnTheThreadCount) {
  const ModelFile f = open_model(dir.file("hf"));
  const auto one = Model::load(f, {.threads = 1})->forward(kPrompt, true);
  const auto three = Model::load(f, {.threads = 3})->forward(kPrompt, true);
  EXPECT_EQ(one, three);
}

TEST_F(Gpt2, TheGgufQforgeWritesRunsTheSame) {
  // Conv1D weights are [in, out] in the HF file and [out, in] under GGUF's canonical names.
  const ModelFile hf = open_model(dir.file("hf"));
  write_gguf_model(hf, dir.file("m.gguf"), GgmlType::F32);
  const ModelFile gguf = open_model(dir.file("m.gguf"));
  ASSERT_TRUE(gguf.config);
  EXPECT_EQ(gguf.config->family, ModelFamily::Gpt2);
  EXPECT_EQ(gguf.find("blk.0.attn_qkv.weight")->shape, (Shape{768, 256}));
  // Same weights; GGUF stores layer_norm_epsilon as f32, so allow that rounding's effect.
  EXPECT_LT(max_abs_diff(Model::load(hf)->forward(kPrompt, true), Model::load(gguf)->forward(kPrompt, true)), 1e-5f);
}

TEST_F(Gpt2, PositionsBeyondTheLearnedTableAreRejected) {
  const ModelFile f = open_model(dir.file("hf"));
  auto model = Model::load(f, {.threads = 1, .context = 4096});
  EXPECT_EQ(model->context(), 512);  // n_positions bounds the context
  std::vector<int32_t> long_prompt(513, 1);
  EXPECT_THROW(model->forward(long_prompt), Error);
}

TEST_F(Gpt2, AnUnknownActivationIsRefusedByName) {
  std::ifstream in(dir.file("hf/config.json"));
  std::string text((std::istreambuf_iterator<char>(in)), {});
  const auto at = text.find("gelu_new");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 8, "relu");
  try {
    parse_hf_config(text, "config.json");
    FAIL() << "relu accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("activation_function 'relu'"), std::string::npos) << e.what();
  }
  text.replace(at, 4, "gelu");  // the exact (erf) form is supported
  EXPECT_EQ(parse_hf_config(text, "config.json").hidden_act, "gelu");
}

}  // namespace
}  // namespace qforge
