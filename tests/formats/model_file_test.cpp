// Loading and converting whole models: stories260K (llama2.c), Hugging Face folders made
// here, and the round trips between formats.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "qforge/float_convert.h"
#include "qforge/gguf.h"
#include "qforge/model_writer.h"
#include "qforge/safetensors.h"
#include "support/shared_data.h"
#include "support/temp_dir.h"

namespace qforge {
namespace {

using testing::TempDir;

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::vector<float> f32_values(const ModelTensor& t) {
  const Tensor x = tensor_to_f32(t);
  return {x.span<float>().begin(), x.span<float>().end()};
}

TEST(ModelFile, ReadsStories260K) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  const ModelFile m = open_model(bin.string());
  ASSERT_TRUE(m.config);
  const ModelConfig& c = *m.config;
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.intermediate_size, 172);
  EXPECT_EQ(c.num_layers, 5);
  EXPECT_EQ(c.num_heads, 8);
  EXPECT_EQ(c.num_kv_heads, 4);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_TRUE(c.tie_word_embeddings);
  int64_t params = 0;
  for (const auto& t : m.tensors) params += t.numel();
  EXPECT_EQ(params, 260032);  // the published count, RoPE tables excluded
  EXPECT_EQ(c.parameter_count(), 260032);
  EXPECT_EQ(m.find("blk.4.ffn_up.weight")->shape, (Shape{172, 64}));
  EXPECT_EQ(m.find("blk.0.attn_k.weight")->shape, (Shape{32, 64}));
  // The first weight of the file is the first embedding value (bytes 28..31).
  std::ifstream in(bin, std::ios::binary);
  in.seekg(28);
  float first;
  in.read(reinterpret_cast<char*>(&first), 4);
  EXPECT_EQ(f32_values(*m.find("token_embd.weight"))[0], first);
  ASSERT_TRUE(m.vocab) << "tok512.bin beside the checkpoint should be found";
  EXPECT_EQ(m.vocab->tokens.size(), 512u);
  EXPECT_EQ(m.vocab->tokens[1], "<s>");
  EXPECT_EQ(m.vocab->tokens[3], "<0x00>");
  EXPECT_EQ(m.vocab->types[3], 6);
}

TEST(ModelFile, Stories260KThroughGgufReadsBackIdentical) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  TempDir dir;
  const ModelFile m = open_model(bin.string());
  write_gguf_model(m, dir.file("s.gguf"), GgmlType::F32);
  const ModelFile g = open_model(dir.file("s.gguf"));
  ASSERT_EQ(g.tensors.size(), m.tensors.size());
  for (const auto& t : m.tensors) {
    const ModelTensor* u = g.find(t.name);
    ASSERT_NE(u, nullptr) << t.name;
    EXPECT_EQ(u->shape, t.shape);
    EXPECT_EQ(f32_values(*u), f32_values(t)) << t.name;
  }
  EXPECT_EQ(g.config->num_kv_heads, 4);
  EXPECT_EQ(g.config->norm_eps, static_cast<double>(1e-5f));
  EXPECT_EQ(g.vocab->tokens, m.vocab->tokens);
  EXPECT_EQ(g.vocab->scores, m.vocab->scores);
}

TEST(ModelFile, QuantizedGgufMatchesTheReferenceCodecPerTensor) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  TempDir dir;
  const ModelFile m = open_model(bin.string());
  write_gguf_model(m, dir.file("q.gguf"), GgmlType::Q4_0);
  const GgufFile g = read_gguf(dir.file("q.gguf"));
  const GgufTensor* q = g.find_tensor("blk.2.attn_q.weight");
  ASSERT_EQ(q->type, GgmlType::Q4_0);
  const auto x = f32_values(*m.find("blk.2.attn_q.weight"));
  std::vector<uint8_t> want(q->data.size());
  ggml_quantize(GgmlType::Q4_0, x, want);
  EXPECT_EQ(std::vector<uint8_t>(q->data.begin(), q->data.end()), want);
  EXPECT_EQ(g.find_tensor("blk.2.ffn_down.weight")->type, GgmlType::F16);  // 172 is not a multiple of 32
  EXPECT_EQ(g.find_tensor("blk.2.ffn_norm.weight")->type, GgmlType::F32);
  EXPECT_EQ(g.get_int("general.file_type"), 2);
  EXPECT_EQ(g.get_int("general.quantization_version"), 2);
}

// A tiny Hugging Face llama folder: names map to canonical ones, q/k rows are permuted into
// llama.cpp's RoPE layout, and safetensors → GGUF(F32) → safetensors is bit-exact.
TEST(ModelFile, HuggingFaceFolderAndRoundTrips) {
  TempDir dir;
  write_text(dir.file("config.json"), R"({"model_type":"llama","vocab_size":8,"hidden_size":8,"intermediate_size":16,
    "num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":1,"max_position_embeddings":64,
    "rms_norm_eps":1e-6,"rope_theta":500000.0,"tie_word_embeddings":true,"bos_token_id":1,"eos_token_id":[2,3]})");
  write_text(dir.file("generation_config.json"), R"({"temperature":0.6,"top_p":0.9})");
  std::vector<NamedTensor> ts;
  auto make = [&](const std::string& name, Shape shape, DType dt) {
    Tensor x = Tensor::zeros(DType::f32, shape);
    auto v = x.mutable_span<float>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) + 0.5f * static_cast<float>(name.size());
    if (dt == DType::bf16) {
      Tensor b = Tensor::zeros(DType::bf16, shape);
      convert_f32_to_bf16(v, {static_cast<uint16_t*>(b.mutable_data()), v.size()});
      x = b;
    }
    ts.push_back({name, x});
  };
  make("model.embed_tokens.weight", {8, 8}, DType::bf16);
  make("model.layers.0.input_layernorm.weight", {8}, DType::f32);
  make("model.layers.0.self_attn.q_proj.weight", {8, 8}, DType::f32);
  make("model.layers.0.self_attn.k_proj.weight", {4, 8}, DType::f32);
  make("model.layers.0.self_attn.v_proj.weight", {4, 8}, DType::f32);
  make("model.layers.0.self_attn.o_proj.weight", {8, 8}, DType::f32);
  make("model.layers.0.post_attention_layernorm.weight", {8}, DType::f32);
  make("model.layers.0.mlp.gate_proj.weight", {16, 8}, DType::f32);
  make("model.layers.0.mlp.up_proj.weight", {16, 8}, DType::f32);
  make("model.layers.0.mlp.down_proj.weight", {8, 16}, DType::f32);
  make("model.norm.weight", {8}, DType::f32);
  write_safetensors(dir.file("model.safetensors"), ts);

  const ModelFile m = open_model(dir.path().string());
  ASSERT_TRUE(m.config);
  EXPECT_EQ(m.config->head_dim, 4);
  EXPECT_EQ(m.config->eos_token_id, 2);
  EXPECT_EQ(m.config->temperature, 0.6);
  EXPECT_EQ(m.find("blk.0.ffn_gate.weight")->source_name, "model.layers.0.mlp.gate_proj.weight");
  EXPECT_EQ(m.find("token_embd.weight")->dtype, DType::bf16);
  // q: 2 heads of head_dim 4; HF row (h, a, b) = h·4 + a·2 + b goes to llama.cpp row h·4 + 2b + a.
  const auto q = f32_values(*m.find("blk.0.attn_q.weight"));
  const float* src = ts[2].tensor.span<float>().data();
  for (int h = 0; h < 2; ++h)
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 2; ++b)
        for (int col = 0; col < 8; ++col)
          EXPECT_EQ(q[static_cast<size_t>((h * 4 + 2 * b + a) * 8 + col)], src[(h * 4 + a * 2 + b) * 8 + col]);

  write_gguf_model(m, dir.file("m.gguf"), GgmlType::F32);
  const ModelFile g = open_model(dir.file("m.gguf"));
  write_safetensors_model(g, dir.file("back.safetensors"), std::nullopt);
  const ModelFile back = open_model(dir.file("back.safetensors"));
  for (const auto& t : m.tensors) {
    const ModelTensor* u = back.find(t.name);
    ASSERT_NE(u, nullptr) << t.name;
    EXPECT_EQ(f32_values(*u), f32_values(t)) << t.name;  // bit-exact, bf16 embedding included
  }
}

// A real 135M-parameter GGUF (Q4_1 with a Q8_0 embedding) from the PyPI demo package.
TEST(ModelFile, ReadsSmolLM2Gguf) {
  const auto path = testing::demo_model();
  if (!path) GTEST_SKIP() << "demo model not cached; run scripts/setup.sh --demo-model";
  const ModelFile m = open_model(path->string());
  ASSERT_TRUE(m.config);
  const ModelConfig& c = *m.config;
  EXPECT_EQ(c.num_layers, 30);
  EXPECT_EQ(c.hidden_size, 576);
  EXPECT_EQ(c.intermediate_size, 1536);
  EXPECT_EQ(c.num_heads, 9);
  EXPECT_EQ(c.num_kv_heads, 3);
  EXPECT_EQ(c.vocab_size, 49152);
  EXPECT_TRUE(c.tie_word_embeddings);
  int64_t params = 0;
  for (const auto& t : m.tensors) params += t.numel();
  EXPECT_EQ(params, 134515008);
  EXPECT_EQ(c.parameter_count(), params);
  EXPECT_EQ(m.find("blk.0.attn_q.weight")->type_name(), "q4_1");
  ASSERT_TRUE(m.vocab);
  EXPECT_EQ(m.vocab->tokens.size(), 49152u);
  // dequantized weights look like trained weights: finite, centred, small
  const Tensor w = tensor_to_f32(*m.find("blk.10.ffn_down.weight"));
  double sum = 0, sq = 0;
  for (float v : w.span<float>()) {
    ASSERT_TRUE(std::isfinite(v));
    sum += v;
    sq += static_cast<double>(v) * v;
  }
  const double n = static_cast<double>(w.numel());
  EXPECT_LT(std::fabs(sum / n), 0.01);
  EXPECT_GT(std::sqrt(sq / n), 0.005);
  EXPECT_LT(std::sqrt(sq / n), 0.5);
}

TEST(ModelFile, ConfigErrorsNameTheFieldAndListArchitectures) {
  try {
    parse_hf_config(R"({"model_type":"falcon"})", "config.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("llama, mistral, qwen2, qwen3, gpt2"), std::string::npos) << e.what();
  }
  try {
    parse_hf_config(R"({"model_type":"llama","vocab_size":8,"hidden_size":8,"intermediate_size":16,
                      "num_hidden_layers":1,"num_attention_heads":3,"num_key_value_heads":2})", "c.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("num_key_value_heads"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_hf_config("{", "c.json"), Error);
  const ModelConfig q = parse_hf_config(R"({"model_type":"qwen2","vocab_size":151936,"hidden_size":896,
      "intermediate_size":4864,"num_hidden_layers":24,"num_attention_heads":14,"num_key_value_heads":2,
      "max_position_embeddings":32768,"rms_norm_eps":1e-6,"rope_theta":1000000.0,"tie_word_embeddings":true})", "q.json");
  EXPECT_TRUE(q.attention_bias);
  EXPECT_EQ(q.head_dim, 64);
  EXPECT_EQ(q.parameter_count(), 494032768);  // Qwen2.5-0.5B's published count
  const ModelConfig g = parse_hf_config(R"({"model_type":"gpt2","vocab_size":50257,"n_embd":768,"n_layer":12,
      "n_head":12,"n_positions":1024})", "g.json");
  EXPECT_EQ(g.parameter_count(), 124439808);  // GPT-2 small
}

TEST(ModelFile, CanonicalNames) {
  EXPECT_EQ(canonical_tensor_name("model.layers.11.self_attn.o_proj.weight", ModelFamily::Llama), "blk.11.attn_output.weight");
  EXPECT_EQ(canonical_tensor_name("model.layers.0.self_attn.k_norm.weight", ModelFamily::Llama), "blk.0.attn_k_norm.weight");
  EXPECT_EQ(canonical_tensor_name("lm_head.weight", ModelFamily::Llama), "output.weight");
  EXPECT_EQ(canonical_tensor_name("transformer.h.3.mlp.c_fc.bias", ModelFamily::Gpt2), "blk.3.ffn_up.bias");
  EXPECT_EQ(canonical_tensor_name("h.0.attn.c_attn.weight", ModelFamily::Gpt2), "blk.0.attn_qkv.weight");
  EXPECT_EQ(canonical_tensor_name("model.layers.0.rotary_emb.inv_freq", ModelFamily::Llama), "");
}

TEST(ModelFile, HostileLlama2cHeaders) {
  TempDir dir;
  auto header = [&](std::vector<int32_t> h, size_t extra) {
    std::vector<uint8_t> b(h.size() * 4 + extra, 0);
    std::memcpy(b.data(), h.data(), h.size() * 4);
    testing::write_bytes(dir.file("m.bin"), b);
  };
  auto expect_bad = [&](const std::string& part) {
    try {
      open_model(dir.file("m.bin"));
      ADD_FAILURE() << "accepted: " << part;
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::BadFile) << e.what();
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("m.bin"), std::string::npos) << e.what();
    }
  };
  header({64, 172}, 0);
  expect_bad("n_layers");  // truncated header
  header({64, 172, 5, 0, 4, 512, 512}, 0);
  expect_bad("n_heads");
  header({64, 172, 5, 7, 7, 512, 512}, 0);
  expect_bad("does not divide dim");
  header({64, 172, 5, 8, 3, 512, 512}, 0);
  expect_bad("does not divide n_heads");
  header({64, 172, 5, 8, 4, 512, 512}, 1000);
  expect_bad("needs");  // truncated weights
  header({2147483647, 2147483647, 2147483647, 1, 1, 512, 512}, 0);
  expect_bad("outside 1..16777216");
}

}  // namespace
}  // namespace qforge
