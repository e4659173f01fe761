// W8A8 end to end on stories260K: the pipeline records each linear's activation quantization,
// the checkpoint carries it, and the engine runs it — checked against the limits that pin the
// wiring down (LLM.int8() with an infinite threshold is dynamic int8 bit for bit; with a zero
// threshold it is the float product of the int8 weights) and against ranges observed
// independently; damaged metadata is refused naming the field.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "qforge/act_quant.h"
#include "qforge/engine.h"
#include "qforge/error.h"
#include "qforge/float_convert.h"
#include "qforge/pipeline.h"
#include "qforge/qforge_checkpoint.h"
#include "qforge/synth.h"
#include "support/shared_data.h"
#include "support/temp_dir.h"

namespace qforge {
namespace {

struct W8A8 {
  std::map<std::string, PackedMatrix> packed;
  QuantizeSummary summary;
};

W8A8 quantize(const ModelFile& f, ActMode mode, const CalibrationSet* calib, float threshold = 6, ObserverKind obs = ObserverKind::MinMax,
            bool reduce_range = false) {
  QuantizeOptions o;
  o.grid = WeightGrid::integer(8, 0, true);
  o.act_mode = mode;
  o.llm_threshold = threshold;
  o.observer.kind = obs;
  o.observer.scheme = QScheme::affine(8);
  o.observer.scheme.reduce_range = reduce_range;
  W8A8 r;
  r.summary = quantize_model(f, calib, o, [&](const std::string& n, const QuantizedMatrix& q) { r.packed[n] = pack_matrix(q); });
  return r;
}

// `dequantize`: the weights as f32 and f32 activations (the engine runs int8 weights without
// activation quantization on the Q8_0 kernel, with int8-per-32 activations, otherwise).
std::vector<float> logits_of(const ModelFile& f, const W8A8& q, const std::string& path, bool dequantize = false) {
  write_qforge_checkpoint(f, path, q.packed, DType::f32, {}, {}, q.summary.act);
  auto m = Model::load(open_model(path), {.dequantize = dequantize});
  const std::vector<int32_t> prompt = {1, 403, 261, 4, 99, 17, 300, 29, 8, 77};
  return m->forward(prompt, true);
}

double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0, n = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    d += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    n += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(d / n);
}

TEST(W8A8, TheEngineRunsEachModeAndItsLimitsHold) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  const ModelFile f = open_model(bin.string());
  testing::TempDir dir;
  const std::vector<float> dyn = logits_of(f, quantize(f, ActMode::Dynamic, nullptr), dir.file("dyn.safetensors"));
  const std::vector<float> inf = logits_of(f, quantize(f, ActMode::LlmInt8, nullptr, INFINITY), dir.file("inf.safetensors"));
  EXPECT_EQ(dyn, inf);  // no outlier column: the same integer path
  const W8A8 weights_only = quantize(f, ActMode::None, nullptr);
  const std::vector<float> w8 = logits_of(f, weights_only, dir.file("w8.safetensors"), true);
  const std::vector<float> all = logits_of(f, quantize(f, ActMode::LlmInt8, nullptr, 0), dir.file("all.safetensors"));
  EXPECT_LT(rel_diff(all, w8), 1e-5);  // every column in float: the int8 weights' float product
  const double e_dyn = rel_diff(dyn, w8);
  EXPECT_GT(e_dyn, 1e-4);               // activations really are rounded
  EXPECT_LT(e_dyn, 0.05);
  // the info line names the mode
  const ModelFile g = open_model(dir.file("dyn.safetensors"));
  EXPECT_EQ(g.find("blk.2.ffn_up.weight")->type_name(), "int8 sym per-channel, a8 dynamic");
  // results do not depend on the thread count
  auto m1 = Model::load(g, {.threads = 1}), m2 = Model::load(g, {.threads = 2});
  const std::vector<int32_t> prompt = {1, 5, 6, 7};
  EXPECT_EQ(m1->forward(prompt, true), m2->forward(prompt, true));
  // 7-bit dynamic codes (reduce_range): recorded, shown, and one bit coarser — the logits' error
  // against the float product grows by about 2× (half the step, the same rounding otherwise)
  const std::vector<float> dyn7 = logits_of(f, quantize(f, ActMode::Dynamic, nullptr, 6, ObserverKind::MinMax, true),
                                            dir.file("dyn7.safetensors"));
  const ModelFile g7 = open_model(dir.file("dyn7.safetensors"));
  const ModelTensor* t7 = g7.find("blk.2.ffn_up.weight");
  ASSERT_TRUE(t7->act);
  EXPECT_TRUE(t7->act->scheme.reduce_range);
  EXPECT_EQ(t7->type_name(), "int8 sym per-channel, a7 dynamic");
  const double e_dyn7 = rel_diff(dyn7, w8);
  EXPECT_GT(e_dyn7, 1.4 * e_dyn);
  EXPECT_LT(e_dyn7, 3.0 * e_dyn);
}

TEST(W8A8, StaticRangesAreTheObservedOnesAndTravelInTheCheckpoint) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  const ModelFile f = open_model(bin.string());
  const CalibrationSet calib = random_calibration(f.config->vocab_size, 6, 64, 5, static_cast<int32_t>(f.vocab->bos));
  const W8A8 q = quantize(f, ActMode::Static, &calib);
  // independently: block 0's inputs seen by the float model on the same samples
  auto m = Model::load(f);
  std::map<std::string, std::pair<float, float>> seen;
  m->set_observer([&](const std::string& name, const float* x, int64_t n, int64_t in) {
    if (name.rfind("blk.0.", 0) != 0) return;
    auto& r = seen.try_emplace(name, INFINITY, -INFINITY).first->second;
    for (int64_t i = 0; i < n * in; ++i) {
      r.first = std::min(r.first, x[i]);
      r.second = std::max(r.second, x[i]);
    }
  });
  for (const auto& s : calib.samples) {
    m->reset();
    (void)m->forward(s);
  }
  ASSERT_EQ(seen.size(), 7u);
  for (const auto& [name, r] : seen) {
    const ActQuantSpec& a = q.summary.act.at(name);
    EXPECT_EQ(a.mode, ActMode::Static);
    EXPECT_EQ(a.lo, r.first) << name;
    EXPECT_EQ(a.hi, r.second) << name;
    EXPECT_EQ(a.observer, "minmax");
    const ScaleZero sz = choose_scale_zero(r.first, r.second, QScheme::affine(8));
    EXPECT_EQ(a.act.scale, sz.scale) << name;
    EXPECT_EQ(a.act.zero_point, sz.zero_point) << name;
  }
  testing::TempDir dir;
  const std::string path = dir.file("static.safetensors");
  write_qforge_checkpoint(f, path, q.packed, DType::f32, {}, {}, q.summary.act);
  const ModelFile g = open_model(path);
  const ModelTensor* t = g.find("blk.0.ffn_down.weight");
  ASSERT_TRUE(t->act);
  EXPECT_EQ(t->act->act.scale, q.summary.act.at("blk.0.ffn_down.weight").act.scale);
  EXPECT_EQ(t->act->act.zero_point, q.summary.act.at("blk.0.ffn_down.weight").act.zero_point);
  EXPECT_EQ(t->act->scheme.describe(), QScheme::affine(8).describe());
  EXPECT_EQ(t->act->observer, "minmax");

  // damaged activation metadata
  const SafetensorsFile st = read_safetensors(path);
  const std::string key = "qforge.act.blk.0.ffn_down.weight";
  for (const auto& [value, expect] : std::vector<std::pair<std::string, std::string>>{
           {R"({"mode":"fp4"})", "unknown activation mode 'fp4'"},
           {R"({"mode":"static","signed":false,"symmetric":false,"reduce_range":false,"scale":0.1,"zero":300})", "zero 300 outside the codes [0, 255]"},
           {R"({"mode":"llm-int8","threshold":-1})", "threshold must be a number >= 0"},
           {R"({"mode":"static"})", key}}) {
    auto meta = st.metadata;
    meta[key] = value;
    const std::string bad = dir.file("bad.safetensors");
    write_safetensors(bad, st.tensors, meta);
    try {
      (void)open_model(bad);
      ADD_FAILURE() << value;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
  auto meta = st.metadata;
  meta["qforge.act.token_embd.weight"] = R"({"mode":"dynamic"})";
  write_safetensors(dir.file("bad2.safetensors"), st.tensors, meta);
  EXPECT_THROW((void)open_model(dir.file("bad2.safetensors")), Error);
}

// fp8: e4m3 weights per channel and, with ActMode::Fp8, e4m3 inputs whose per-tensor scale puts
// the observed range's larger end on 448: the recorded scales follow that rule, the checkpoint
// carries them, the engine's logits move off the weights-only model's by rounding-sized
// amounts, and fp8 activations on int8 weights are refused when read.
TEST(W8A8, Fp8WeightsAndActivationsRunThroughTheEngine) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  const ModelFile f = open_model(bin.string());
  const CalibrationSet calib = random_calibration(f.config->vocab_size, 6, 64, 5, static_cast<int32_t>(f.vocab->bos));
  const auto run = [&](ActMode mode) {
    QuantizeOptions o;
    o.grid = WeightGrid::fp8();
    o.act_mode = mode;
    W8A8 r;
    r.summary = quantize_model(f, &calib, o, [&](const std::string& n, const QuantizedMatrix& q) { r.packed[n] = pack_matrix(q); });
    return r;
  };
  const W8A8 wq = run(ActMode::None), aq = run(ActMode::Fp8);
  for (const auto& [name, a] : aq.summary.act) {
    EXPECT_EQ(a.mode, ActMode::Fp8) << name;
    EXPECT_EQ(a.act.scale, std::max(std::fabs(a.lo), std::fabs(a.hi)) / 448.0f) << name;
    EXPECT_EQ(a.clipped_fraction, 0.0) << name;  // min-max: nothing beyond the range
  }
  EXPECT_EQ(aq.summary.act.size(), 7u * static_cast<size_t>(f.config->num_layers));
  testing::TempDir dir;
  const std::vector<float> w8 = logits_of(f, wq, dir.file("fp8w.safetensors"));
  const std::vector<float> a8 = logits_of(f, aq, dir.file("fp8wa.safetensors"));
  const double e = rel_diff(a8, w8);
  EXPECT_GT(e, 1e-4);  // the inputs really are rounded
  EXPECT_LT(e, 0.1);
  // the engine rounds exactly as fake_quantize_fp8 does: watch one linear's input on both models
  const ModelFile g = open_model(dir.file("fp8wa.safetensors"));
  const ModelTensor* t = g.find("blk.0.attn_q.weight");
  ASSERT_TRUE(t && t->act);
  EXPECT_EQ(t->act->mode, ActMode::Fp8);
  EXPECT_EQ(t->act->act.scale, aq.summary.act.at("blk.0.attn_q.weight").act.scale);
  EXPECT_EQ(t->type_name(), "fp8 e4m3 per-channel, a8 fp8");
  std::vector<float> rounded;
  const float s = t->act->act.scale;
  for (const float v : std::vector<float>{0.0f, s * 448.0f, s * 1000.0f, -s * 17.0f, s * 0.001f}) {
    rounded.assign(1, 0.0f);
    fake_quantize_fp8(std::vector<float>{v}, s, rounded);
    EXPECT_EQ(rounded[0], s * f8_e4m3_to_f32(f32_to_f8_e4m3(v / s, Overflow::Saturate))) << v;
  }
  // fp8 activations on int8 weights are refused when read
  const SafetensorsFile st = read_safetensors(dir.file("fp8wa.safetensors"));
  auto meta = st.metadata;
  const W8A8 i8 = quantize(f, ActMode::Dynamic, nullptr);
  write_qforge_checkpoint(f, dir.file("dyn.safetensors"), i8.packed, DType::f32, {}, {}, i8.summary.act);
  const SafetensorsFile sd = read_safetensors(dir.file("dyn.safetensors"));
  auto dmeta = sd.metadata;
  dmeta["qforge.act.blk.0.attn_q.weight"] = meta["qforge.act.blk.0.attn_q.weight"];
  write_safetensors(dir.file("bad.safetensors"), sd.tensors, dmeta);
  try {
    (void)open_model(dir.file("bad.safetensors"));
    ADD_FAILURE();
  } catch (const Error& e2) {
    EXPECT_NE(std::string(e2.what()).find("need fp8 e4m3 weights"), std::string::npos) << e2.what();
  }
}

// SmoothQuant at α = 0.5 balances each smoothed channel: max|X_j/s_j| = max|W_j·s_j| = √(max|X_j|·max|W_j|).
// Measured independently on the written checkpoint: block 0's q input as the engine sees it,
// against the column maxima of the int8 weights it stores for q, k and v.
TEST(W8A8, SmoothQuantBalancesInputAndWeightRanges) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  const ModelFile f = open_model(bin.string());
  const CalibrationSet calib = random_calibration(f.config->vocab_size, 8, 64, 6, static_cast<int32_t>(f.vocab->bos));
  QuantizeOptions o;
  o.grid = WeightGrid::integer(8, 0, true);
  o.act_mode = ActMode::Dynamic;
  o.smooth_alpha = 0.5;
  W8A8 q;
  std::map<std::string, Tensor> floats;
  q.summary = quantize_model(
      f, &calib, o, [&](const std::string& n, const QuantizedMatrix& m) { q.packed[n] = pack_matrix(m); }, {},
      [&](const std::string& n, const Tensor& t) { floats[n] = t; });
  EXPECT_EQ(floats.size(), 10u);  // attn_norm and ffn_norm of 5 blocks
  testing::TempDir dir;
  const std::string path = dir.file("sq.safetensors");
  write_qforge_checkpoint(f, path, q.packed, DType::f32, {}, floats, q.summary.act);
  const ModelFile g = open_model(path);
  auto m = Model::load(g);
  const int64_t d = f.config->hidden_size;
  std::vector<float> xmax(static_cast<size_t>(d), 0.0f);
  m->set_observer([&](const std::string& name, const float* x, int64_t n, int64_t in) {
    if (name != "blk.0.attn_q.weight") return;
    for (int64_t t = 0; t < n; ++t)
      for (int64_t j = 0; j < in; ++j) xmax[static_cast<size_t>(j)] = std::max(xmax[static_cast<size_t>(j)], std::fabs(x[t * in + j]));
  });
  for (const auto& s : calib.samples) {
    m->reset();
    (void)m->forward(s);
  }
  std::vector<float> wmax(static_cast<size_t>(d), 0.0f);
  for (const char* n : {"blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight"}) {
    const Tensor w = tensor_to_f32(*g.find(n));
    const auto v = w.span<float>();
    for (size_t i = 0; i < v.size(); ++i) wmax[i % static_cast<size_t>(d)] = std::max(wmax[i % static_cast<size_t>(d)], std::fabs(v[i]));
  }
  for (int64_t j = 0; j < d; ++j)  // int8 rounding of the weights: within 1 %
    EXPECT_NEAR(wmax[static_cast<size_t>(j)] / xmax[static_cast<size_t>(j)], 1.0, 0.01) << "channel " << j;
}

// The folding keeps the model's function: on a fine weight grid without activation rounding,
// SmoothQuant's model computes the float model's logits.
TEST(W8A8, SmoothQuantKeepsTheModelsFunction) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  const ModelFile f = open_model(bin.string());
  const CalibrationSet calib = random_calibration(f.config->vocab_size, 4, 64, 7, static_cast<int32_t>(f.vocab->bos));
  QuantizeOptions o;
  o.grid = WeightGrid::integer(8, 16, false);
  o.smooth_alpha = 0.8;  // strong scales: a lost fold shows
  std::map<std::string, PackedMatrix> packed;
  std::map<std::string, Tensor> floats;
  (void)quantize_model(
      f, &calib, o, [&](const std::string& n, const QuantizedMatrix& m) { packed[n] = pack_matrix(m); }, {},
      [&](const std::string& n, const Tensor& t) { floats[n] = t; });
  testing::TempDir dir;
  write_qforge_checkpoint(f, dir.file("sq.safetensors"), packed, DType::f32, {}, floats);
  write_qforge_checkpoint(f, dir.file("lost.safetensors"), packed, DType::f32);  // the norms not divided
  auto base = Model::load(f);
  const std::vector<int32_t> prompt = {1, 403, 261, 4, 99, 17};
  const std::vector<float> want = base->forward(prompt, true);
  const double kept = rel_diff(Model::load(open_model(dir.file("sq.safetensors")))->forward(prompt, true), want);
  const double lost = rel_diff(Model::load(open_model(dir.file("lost.safetensors")))->forward(prompt, true), want);
  EXPECT_LT(kept, 0.01);
  EXPECT_GT(lost, 10 * kept);
}

// The outlier model used for the W8A8 results: the chosen channels of every norm gain grow
// 20–100×, and with --same-function the model still computes stories260K's logits.
TEST(W8A8, ActivationOutliersAreAddedWithOrWithoutTheSameFunction) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  const ModelFile f = open_model(bin.string());
  std::vector<int64_t> chosen;
  const auto same = with_activation_outliers(f, 4, 1, true, &chosen);
  ASSERT_EQ(chosen.size(), 4u);
  const Tensor before = tensor_to_f32(*f.find("blk.2.ffn_norm.weight"));
  const auto after = same.at("blk.2.ffn_norm.weight").span<float>();
  for (const int64_t c : chosen) {
    const float k = after[static_cast<size_t>(c)] / before.span<float>()[static_cast<size_t>(c)];
    EXPECT_GE(k, 20.0f);
    EXPECT_LE(k, 100.0f);
  }
  testing::TempDir dir;
  write_qforge_checkpoint(f, dir.file("same.safetensors"), {}, DType::f32, {}, same);
  const std::vector<int32_t> prompt = {1, 403, 261, 4, 99, 17};
  const std::vector<float> want = Model::load(f)->forward(prompt, true);
  EXPECT_LT(rel_diff(Model::load(open_model(dir.file("same.safetensors")))->forward(prompt, true), want), 1e-5);
  const auto other = with_activation_outliers(f, 4, 1, false);
  EXPECT_EQ(other.size(), 10u);  // the norms only
  write_qforge_checkpoint(f, dir.file("other.safetensors"), {}, DType::f32, {}, other);
  EXPECT_GT(rel_diff(Model::load(open_model(dir.file("other.safetensors")))->forward(prompt, true), want), 0.1);
}

}  // namespace
}  // namespace qforge
