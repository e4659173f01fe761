// AutoGPTQ's layout: the packing follows the spec's words bit for bit (3-bit codes crossing
// words, v1's z − 1), grid matrices round-trip exactly through it in Hugging Face row order,
// act-order g_idx goes through the layout's own rule, and folders are written whole, read back
// and run; damaged files are refused naming the file and field.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "qforge/engine.h"
#include "qforge/error.h"
#include "qforge/float_convert.h"
#include "qforge/gptq_checkpoint.h"
#include "qforge/mapped_file.h"
#include "qforge/safetensors.h"
#include "qforge/synth.h"
#include "qforge/weight_quant.h"
#include "support/temp_dir.h"

namespace qforge {
namespace {

std::vector<float> normal_weights(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n01;
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (auto& v : w) v = n01(rng);
  return w;
}

// A matrix with chosen codes: column k of row r holds codes[k] (rows identical).
QuantizedMatrix with_codes(int bits, int64_t rows, const std::vector<int>& codes) {
  QuantizedMatrix q = make_quantized_matrix(WeightGrid::integer(bits, 0, true), rows, static_cast<int64_t>(codes.size()));
  for (int64_t r = 0; r < rows; ++r)
    for (size_t k = 0; k < codes.size(); ++k) q.codes[static_cast<size_t>(r) * codes.size() + k] = static_cast<int16_t>(codes[k]);
  for (auto& p : q.params) p = {1.0f, 0, 1 << (bits - 1)};
  return q;
}

uint32_t bits_of(int32_t word, int lo, int n) { return (static_cast<uint32_t>(word) >> lo) & ((1u << n) - 1); }

TEST(GptqLayout, ThreeBitCodesCrossWordsAsTheSpecSays) {
  std::vector<int> codes(32);
  for (int k = 0; k < 32; ++k) codes[static_cast<size_t>(k)] = (5 * k + 3) % 8;
  const GptqLinear g = gptq_pack(with_codes(3, 32, codes), GptqZeros::V1);
  ASSERT_EQ(g.qweight.size(), 3u * 32);  // [32·3/32, 32]
  const int32_t w0 = g.qweight[0], w1 = g.qweight[32], w2 = g.qweight[64];  // column 0
  for (int j = 0; j < 10; ++j) EXPECT_EQ(bits_of(w0, 3 * j, 3), static_cast<uint32_t>(codes[static_cast<size_t>(j)])) << j;
  EXPECT_EQ(bits_of(w0, 30, 2), static_cast<uint32_t>(codes[10] & 3));           // low 2 bits of code 10
  EXPECT_EQ(bits_of(w1, 0, 1), static_cast<uint32_t>(codes[10] >> 2));           // its high bit
  for (int j = 11; j <= 20; ++j) EXPECT_EQ(bits_of(w1, 3 * (j - 11) + 1, 3), static_cast<uint32_t>(codes[static_cast<size_t>(j)])) << j;
  EXPECT_EQ(bits_of(w1, 31, 1), static_cast<uint32_t>(codes[21] & 1));           // bit 0 of code 21
  EXPECT_EQ(bits_of(w2, 0, 2), static_cast<uint32_t>(codes[21] >> 1));           // its high 2 bits
  for (int j = 22; j < 32; ++j) EXPECT_EQ(bits_of(w2, 3 * (j - 22) + 2, 3), static_cast<uint32_t>(codes[static_cast<size_t>(j)])) << j;
  // zero point 4 stored as 3 in every field along N
  for (int j = 0; j < 10; ++j) EXPECT_EQ(bits_of(g.qzeros[0], 3 * j, 3), 3u);
}

TEST(GptqLayout, FourBitSymmetricZerosAreTheFamousSevens) {
  const std::vector<float> w = normal_weights(64, 128, 1);
  const QuantizedMatrix q = quantize_rtn(w, 64, 128, WeightGrid::integer(4, 32, true));
  for (const int32_t z : gptq_pack(q, GptqZeros::V1).qzeros) EXPECT_EQ(static_cast<uint32_t>(z), 0x77777777u);
  for (const int32_t z : gptq_pack(q, GptqZeros::V2).qzeros) EXPECT_EQ(static_cast<uint32_t>(z), 0x88888888u);
  // qweight word [r, n] holds codes 8r..8r+7 of row n, the first in the low nibble
  const GptqLinear g = gptq_pack(q, GptqZeros::V1);
  for (int64_t n : {0, 17, 63})
    for (int64_t r : {0, 5, 15})
      for (int j = 0; j < 8; ++j)
        EXPECT_EQ(bits_of(g.qweight[static_cast<size_t>(r * 64 + n)], 4 * j, 4), static_cast<uint32_t>(q.codes[static_cast<size_t>(n * 128 + 8 * r + j)]));
  EXPECT_EQ(g.g_idx[31], 0);
  EXPECT_EQ(g.g_idx[32], 1);
  EXPECT_EQ(g.g_idx[127], 3);
}

TEST(GptqLayout, GridMatricesRoundTripExactlyInHuggingFaceRowOrder) {
  ModelConfig c;
  c.architecture = "llama";
  c.num_heads = 4;
  const int64_t rows = 64, cols = 96;
  const std::vector<int64_t> order = hf_row_order(c, "blk.0.attn_q.weight", rows);
  ASSERT_EQ(order.size(), 64u);
  EXPECT_EQ(order[1], 2);   // HF row 1 (first half of head 0) is canonical row 2
  EXPECT_EQ(order[8], 1);   // HF row hd/2 is canonical row 1
  EXPECT_TRUE(hf_row_order(c, "blk.0.attn_v.weight", rows).empty());
  const std::vector<float> w = normal_weights(rows, cols, 2);
  for (const int bits : {2, 3, 4, 8})
    for (const bool sym : {true, false})
      for (const int64_t group : {int64_t{32}, int64_t{0}, int64_t{64}}) {  // 64: a short last group of 32
        const WeightGrid grid = WeightGrid::integer(bits, group, sym);
        SCOPED_TRACE(grid.describe());
        const QuantizedMatrix q = quantize_rtn(w, rows, cols, grid);
        const GptqLinear g = gptq_pack(q, GptqZeros::V2, order);
        EXPECT_EQ(g.qweight.size(), static_cast<size_t>(cols * bits / 32 * rows));
        const auto back = gptq_to_matrix(g, group == 0 ? -1 : group, GptqZeros::V2, order);
        ASSERT_TRUE(back);
        EXPECT_EQ(back->grid.describe(), grid.describe());
        EXPECT_EQ(back->codes, q.codes);
        for (size_t i = 0; i < q.params.size(); ++i) {
          ASSERT_EQ(back->params[i].scale, q.params[i].scale) << i;
          ASSERT_EQ(back->params[i].zero, q.params[i].zero) << i;
        }
        const Tensor want = q.dequantize(), got = gptq_dequantize(g, GptqZeros::V2, order);
        EXPECT_EQ(0, std::memcmp(want.data(), got.data(), want.nbytes()));
        if (sym) {  // v1 holds these too, one below
          const GptqLinear g1 = gptq_pack(q, GptqZeros::V1, order);
          const Tensor got1 = gptq_dequantize(g1, GptqZeros::V1, order);
          EXPECT_EQ(0, std::memcmp(want.data(), got1.data(), want.nbytes()));
        }
      }
}

TEST(GptqLayout, ActOrderGroupIndexIsFollowedColumnByColumn) {
  const std::vector<float> w = normal_weights(32, 64, 3);
  GptqLinear g = gptq_pack(quantize_rtn(w, 32, 64, WeightGrid::integer(4, 32, false)), GptqZeros::V2);
  std::swap(g.g_idx[0], g.g_idx[63]);  // column 0 now in group 1, column 63 in group 0
  EXPECT_FALSE(gptq_to_matrix(g, 32, GptqZeros::V2));
  const Tensor t = gptq_dequantize(g, GptqZeros::V2);
  const auto v = t.span<float>();
  const size_t n = 5;
  auto code = [&](size_t k) { return static_cast<int>(bits_of(g.qweight[(k / 8) * 32 + n], 4 * static_cast<int>(k % 8), 4)); };
  auto zero = [&](size_t grp) { return static_cast<int>(bits_of(g.qzeros[grp * 4 + n / 8], 4 * static_cast<int>(n % 8), 4)); };
  EXPECT_EQ(v[n * 64 + 0], f16_to_f32(g.scales[1 * 32 + n]) * static_cast<float>(code(0) - zero(1)));
  EXPECT_EQ(v[n * 64 + 63], f16_to_f32(g.scales[0 * 32 + n]) * static_cast<float>(code(63) - zero(0)));
}

TEST(GptqLayout, RefusesWhatItCannotHold) {
  EXPECT_NE(gptq_unfit_reason(WeightGrid::ggml(GgmlType::Q4_0), 64, 64).find("integer grids"), std::string::npos);
  EXPECT_NE(gptq_unfit_reason(WeightGrid::integer(5, 32, true), 64, 64).find("2, 3, 4 or 8 bits"), std::string::npos);
  EXPECT_NE(gptq_unfit_reason(WeightGrid::integer(4, 32, true), 64, 172).find("172 input columns"), std::string::npos);
  EXPECT_NE(gptq_unfit_reason(WeightGrid::integer(3, 32, true), 48, 64).find("48 output rows"), std::string::npos);
  EXPECT_TRUE(gptq_unfit_reason(WeightGrid::integer(8, 32, true), 172, 172).empty());
  // v1 stores z − 1: an asymmetric group of positive weights has z = 0
  std::vector<float> w = normal_weights(8, 32, 4);
  for (auto& v : w) v = std::abs(v) + 0.5f;
  const QuantizedMatrix q = quantize_rtn(w, 8, 32, WeightGrid::integer(4, 32, false));
  EXPECT_EQ(q.params[0].zero, 0);
  try {
    (void)gptq_pack(q, GptqZeros::V1);
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gptq_v2"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW((void)gptq_pack(q, GptqZeros::V2));
}

// A synthetic llama folder with every block linear quantized by RTN.
struct Quantized {
  ModelFile model;
  std::map<std::string, QuantizedMatrix> matrices;
  std::map<std::string, GptqLinear> linears;
};
Quantized quantize_tiny(const std::string& dir, const WeightGrid& grid, GptqZeros zeros) {
  write_synthetic_model("tiny", dir, false, 7);
  Quantized r{open_model(dir), {}, {}};
  for (const auto& t : r.model.tensors) {
    if (t.shape.size() != 2 || t.name.rfind("blk.", 0) != 0) continue;
    const Tensor w = tensor_to_f32(t);
    QuantizedMatrix q = quantize_rtn(w.span<float>(), t.shape[0], t.shape[1], grid);
    r.linears[t.name] = gptq_pack(q, zeros, hf_row_order(*r.model.config, t.name, t.shape[0]));
    r.matrices.emplace(t.name, std::move(q));
  }
  return r;
}

TEST(GptqFolder, WritesReadsBackAndRuns) {
  testing::TempDir dir;
  const WeightGrid grid = WeightGrid::integer(4, 128, true);
  const Quantized q = quantize_tiny(dir.file("src"), grid, GptqZeros::V1);
  ASSERT_EQ(q.linears.size(), 14u);
  const std::string out = dir.file("out");
  write_gptq_checkpoint(q.model, out, q.linears, grid, {.damp = 0.02}, {{"qforge.quantization.method", "rtn"}});
  const nlohmann::json qc = nlohmann::json::parse(read_file_text(out + "/quantize_config.json"));
  EXPECT_EQ(qc["bits"], 4);
  EXPECT_EQ(qc["group_size"], 128);
  EXPECT_EQ(qc["sym"], true);
  EXPECT_EQ(qc["damp_percent"], 0.02);
  EXPECT_EQ(qc["checkpoint_format"], "gptq");
  const nlohmann::json cfg = nlohmann::json::parse(read_file_text(out + "/config.json"));
  EXPECT_EQ(cfg["quantization_config"], qc);
  EXPECT_EQ(cfg["torch_dtype"], "float16");
  const SafetensorsFile st = read_safetensors(out + "/model.safetensors");
  EXPECT_EQ(st.metadata.at("format"), "pt");
  EXPECT_EQ(st.metadata.at("gptq_bits"), "4");
  ASSERT_NE(st.find("model.layers.1.mlp.down_proj.qweight"), nullptr);
  EXPECT_EQ(st.find("model.layers.1.mlp.down_proj.qweight")->shape(), (Shape{688 * 4 / 32, 256}));
  EXPECT_EQ(st.find("model.layers.1.mlp.down_proj.scales")->shape(), (Shape{6, 256}));  // ceil(688/128)
  EXPECT_EQ(st.find("model.layers.1.mlp.down_proj.qzeros")->shape(), (Shape{6, 32}));

  const ModelFile g = open_model(out);
  EXPECT_EQ(g.metadata.at("qforge.quantization.method"), "rtn");
  for (const auto& [name, m] : q.matrices) {
    const ModelTensor* t = g.find(name);
    ASSERT_NE(t, nullptr) << name;
    ASSERT_TRUE(t->packed) << name;
    EXPECT_EQ(t->type_name(), "int4 sym G=128");
    const Tensor want = m.dequantize(), got = tensor_to_f32(*t);
    EXPECT_EQ(0, std::memcmp(want.data(), got.data(), want.nbytes())) << name;
  }
  EXPECT_EQ(g.find("token_embd.weight")->dtype, DType::f16);
  auto model = Model::load(g);
  const std::vector<int32_t> ids = {1, 2, 3};
  const std::vector<float> logits = model->forward(ids);
  for (float v : logits) ASSERT_TRUE(std::isfinite(v));

  // an earlier result is replaced; a foreign folder is not touched
  write_gptq_checkpoint(q.model, out, q.linears, grid, {}, {{"qforge.quantization.method", "gptq"}});
  EXPECT_EQ(open_model(out).metadata.at("qforge.quantization.method"), "gptq");
  EXPECT_THROW(write_gptq_checkpoint(q.model, dir.file("src"), q.linears, grid, {}), Error);
  EXPECT_TRUE(std::filesystem::exists(dir.file("src") + "/model.safetensors"));
  // every linear or none
  auto fewer = q.linears;
  fewer.erase("blk.0.ffn_up.weight");
  try {
    write_gptq_checkpoint(q.model, dir.file("fewer"), fewer, grid, {});
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.ffn_up.weight is not quantized"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("fewer")));
}

TEST(GptqFolder, DamagedFilesAreRefusedNamingFileAndField) {
  testing::TempDir dir;
  const WeightGrid grid = WeightGrid::integer(4, 128, true);
  const Quantized q = quantize_tiny(dir.file("src"), grid, GptqZeros::V1);
  const std::string good = dir.file("good");
  write_gptq_checkpoint(q.model, good, q.linears, grid, {});
  const SafetensorsFile st = read_safetensors(good + "/model.safetensors");
  const std::string config = read_file_text(good + "/config.json");
  struct Case {
    std::string name, tensor;  // tensor replaced by a damaged one ("" none)
    std::string config_from, config_to;
    std::string expect;
  };
  const std::string p = "model.layers.0.self_attn.v_proj";
  for (const Case& c : std::vector<Case>{
           {"shape", p + ".qweight", "", "", p + ".qweight: shape"},
           {"gidx", p + ".g_idx", "", "", p + ".g_idx: group 99"},
           {"dtype", p + ".scales", "", "", p + ".scales: wants f16"},
           {"bits", "", "\"bits\": 4", "\"bits\": 5", "quantization_config.bits: 5 is not 2, 3, 4 or 8"},
           {"method", "", "\"quant_method\": \"gptq\"", "\"quant_method\": \"awq\"", "'awq' is not supported"},
           {"format", "", "\"checkpoint_format\": \"gptq\"", "\"checkpoint_format\": \"marlin\"", "'marlin' is not supported"}}) {
    SCOPED_TRACE(c.name);
    const std::filesystem::path d = dir.path() / c.name;
    std::filesystem::create_directories(d);
    std::vector<NamedTensor> ts;
    for (const auto& nt : st.tensors) {
      if (nt.name != c.tensor) {
        ts.push_back(nt);
        continue;
      }
      if (c.name == "shape") ts.push_back({nt.name, Tensor::zeros(DType::i32, {32, 12})});  // 12 columns: not whole words of zeros
      if (c.name == "dtype") ts.push_back({nt.name, Tensor::zeros(DType::f32, nt.tensor.shape())});
      if (c.name == "gidx") {
        Tensor t = Tensor::zeros(DType::i32, nt.tensor.shape());
        t.mutable_span<int32_t>()[3] = 99;
        ts.push_back({nt.name, std::move(t)});
      }
    }
    write_safetensors((d / "model.safetensors").string(), ts, st.metadata);
    std::string text = config;
    if (!c.config_from.empty()) {
      const size_t at = text.find(c.config_from);
      ASSERT_NE(at, std::string::npos) << c.config_from;
      text.replace(at, c.config_from.size(), c.config_to);
    }
    std::ofstream(d / "config.json") << text;
    try {
      (void)open_model(d.string());
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(d.string()), std::string::npos) << msg;
      EXPECT_NE(msg.find(c.expect), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  }
}

}  // namespace
}  // namespace qforge
