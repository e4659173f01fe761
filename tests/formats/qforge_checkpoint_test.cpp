// qforge's checkpoint: packed grids round-trip exactly, the file runs on its own (config and
// vocabulary inside), and damaged metadata or parts get one-line errors naming the field.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "qforge/engine.h"
#include "qforge/error.h"
#include "qforge/qforge_checkpoint.h"
#include "qforge/tokenizer.h"
#include "qforge/weight_quant.h"
#include "support/shared_data.h"
#include "support/temp_dir.h"

namespace qforge {
namespace {

TEST(PackedMatrix, EveryGridRoundTripsThroughItsStoredBytes) {
  std::mt19937 rng(4);
  std::normal_distribution<float> n01;
  const int64_t rows = 5, cols = 96;
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (auto& v : w) v = n01(rng);
  for (const WeightGrid& grid : {WeightGrid::integer(2, 32, false), WeightGrid::integer(3, 96, true), WeightGrid::integer(5, 0, false), WeightGrid::integer(4, 40, false),
                                 WeightGrid::integer(8, 48, true), WeightGrid::ggml(GgmlType::Q4_1), WeightGrid::ggml(GgmlType::Q8_0),
                                 WeightGrid::nf4(64), WeightGrid::nf4(32, true), WeightGrid::ternary()}) {
    SCOPED_TRACE(grid.describe());
    const QuantizedMatrix q = quantize_rtn(w, rows, cols, grid);
    const PackedMatrix p = pack_matrix(q);
    EXPECT_EQ(p.codes.size(), static_cast<size_t>(rows) * ((static_cast<size_t>(cols) * static_cast<size_t>(grid.bits) + 7) / 8));
    const PackedView v = p.view();
    v.validate("test");
    std::vector<float> back(w.size());
    dequantize_packed(v, back);
    const Tensor want = q.dequantize();
    EXPECT_EQ(0, std::memcmp(back.data(), want.data(), want.nbytes()));
  }
}

ModelFile stories(const std::filesystem::path& bin) { return open_model(bin.string()); }

TEST(QforgeCheckpoint, WritesReadsAndRunsOnItsOwn) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  const ModelFile f = stories(bin);
  std::map<std::string, PackedMatrix> packed;
  std::map<std::string, Tensor> want;
  const WeightGrid grid = WeightGrid::integer(3, 0, false);  // per channel: ffn_down's 172 columns fit too
  for (const auto& t : f.tensors) {
    if (t.shape.size() != 2 || t.name == "token_embd.weight") continue;
    const Tensor w = tensor_to_f32(t);
    const QuantizedMatrix q = quantize_rtn(w.span<float>(), t.shape[0], t.shape[1], grid);
    packed[t.name] = pack_matrix(q);
    want[t.name] = q.dequantize();
  }
  EXPECT_EQ(packed.size(), 35u);
  testing::TempDir dir;
  const std::string path = (dir.path() / "m.safetensors").string();
  write_qforge_checkpoint(f, path, packed, DType::f16, {{"qforge.quantization.method", "rtn"}});
  const ModelFile g = open_model(path);
  ASSERT_TRUE(g.config);
  EXPECT_EQ(g.config->num_kv_heads, f.config->num_kv_heads);
  EXPECT_EQ(g.config->tie_word_embeddings, f.config->tie_word_embeddings);
  ASSERT_TRUE(g.vocab);
  EXPECT_EQ(g.vocab->tokens, f.vocab->tokens);
  EXPECT_EQ(g.metadata.at("qforge.quantization.method"), "rtn");
  for (const auto& [name, t] : want) {
    const ModelTensor* mt = g.find(name);
    ASSERT_NE(mt, nullptr) << name;
    ASSERT_TRUE(mt->packed) << name;
    EXPECT_EQ(mt->type_name(), "int3 asym per-channel");
    const Tensor back = tensor_to_f32(*mt);
    EXPECT_EQ(0, std::memcmp(back.data(), t.data(), t.nbytes())) << name;
  }
  EXPECT_EQ(g.find("token_embd.weight")->dtype, DType::f16);
  EXPECT_EQ(g.find("blk.0.attn_norm.weight")->dtype, DType::f32);
  // Runs, and tokenizes with the vocabulary it carries.
  auto m = Model::load(g);
  const auto tok = make_tokenizer(g);
  const std::vector<int32_t> ids = tok->encode("Once upon a time", true);
  const std::vector<float> logits = m->forward(ids);
  for (float v : logits) ASSERT_TRUE(std::isfinite(v));
}

TEST(QforgeCheckpoint, HqqAxisZeroGroupsComeBackInTheTensorsShape) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  const ModelFile f = stories(bin);
  const ModelTensor* t = f.find("blk.1.ffn_down.weight");  // [64, 172]: 11008 weights, 172 groups of 64
  const Tensor w = tensor_to_f32(*t);
  HqqOptions a0;
  a0.axis = 0;
  const QuantizedMatrix q = quantize_hqq(w.span<float>(), 64, 172, WeightGrid::integer_min(4, 64), a0);
  std::vector<float> want(w.span<float>().size());
  axis0_scatter(q.dequantize().span<float>(), 64, want);
  testing::TempDir dir;
  const std::string path = dir.file("a0.safetensors");
  write_qforge_checkpoint(f, path, {{t->name, pack_matrix(q)}}, DType::f32);
  const ModelFile g = open_model(path);
  const ModelTensor* back = g.find(t->name);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->shape, (Shape{64, 172}));
  EXPECT_EQ(back->type_name(), "int4 min G=64 axis 0");
  const Tensor got = tensor_to_f32(*back);
  EXPECT_EQ(0, std::memcmp(got.data(), want.data(), got.nbytes()));
  auto m = Model::load(g);  // the engine takes it in the tensor's shape
  const std::vector<int32_t> ids = {1, 2, 3};
  for (float v : m->forward(ids)) ASSERT_TRUE(std::isfinite(v));
}

TEST(QforgeCheckpoint, DamagedMetadataOrPartsAreRefusedNamingTheField) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  const ModelFile f = stories(bin);
  const ModelTensor* t = f.find("blk.0.attn_q.weight");
  const Tensor w = tensor_to_f32(*t);
  const PackedMatrix p = pack_matrix(quantize_rtn(w.span<float>(), 64, 64, WeightGrid::integer(4, 32, false)));
  testing::TempDir dir;
  const std::string good = (dir.path() / "good.safetensors").string();
  write_qforge_checkpoint(f, good, {{"blk.0.attn_q.weight", p}}, DType::f32);
  const SafetensorsFile st = read_safetensors(good);
  auto rewrite = [&](const std::string& name, std::map<std::string, std::string> meta, bool drop_zeros) {
    std::vector<NamedTensor> ts;
    for (const auto& nt : st.tensors)
      if (!(drop_zeros && nt.name == "blk.0.attn_q.weight.qzeros")) ts.push_back(nt);
    const std::string path = (dir.path() / name).string();
    write_safetensors(path, ts, meta);
    return path;
  };
  const std::string grid_key = "qforge.grid.blk.0.attn_q.weight";
  struct Case {
    std::string name, key, value;
    bool drop_zeros;
    std::string expect;
  };
  for (const Case& c : std::vector<Case>{
           {"kind.safetensors", grid_key, R"({"kind":"int_magic","bits":4,"group_size":32,"rows":64,"cols":64})", false, "unknown grid kind 'int_magic'"},
           {"bits.safetensors", grid_key, R"({"kind":"int_affine","bits":11,"group_size":32,"rows":64,"cols":64})", false, "2..8 bits"},
           {"shape.safetensors", grid_key, R"({"kind":"int_affine","bits":4,"group_size":32,"rows":64,"cols":128})", false, "codes holds 2048 bytes"},
           {"json.safetensors", grid_key, R"({"kind":)", false, grid_key},
           {"zeros.safetensors", grid_key, st.metadata.at(grid_key), true, "zeros holds 0 bytes"},
           {"format.safetensors", "qforge.format", "qforge-quantized/9", false, "is not the supported qforge-quantized/1"},
           {"config.safetensors", "qforge.config", R"({"model_type":"llama"})", false, "qforge.config"},
           {"vocab.safetensors", "qforge.vocab", R"({"model":"llama"})", false, "qforge.vocab"},
           {"axis.safetensors", grid_key, R"({"kind":"int_affine","bits":4,"group_size":32,"rows":64,"cols":64,"axis":0,"shape":[64,64]})", false,
            "axis 0 groups [64, 64] do not fill the shape [64, 64] in groups of 32"}}) {
    SCOPED_TRACE(c.name);
    auto meta = st.metadata;
    meta[c.key] = c.value;
    const std::string path = rewrite(c.name, meta, c.drop_zeros);
    try {
      (void)open_model(path);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(e.category(), ErrorCategory::BadFile) << msg;
      EXPECT_NE(msg.find(path), std::string::npos) << msg;
      EXPECT_NE(msg.find(c.expect), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  }
}

}  // namespace
}  // namespace qforge
