// W8A8 linear layers: int8 weights per output channel times activations quantized to int8 —
// per token at run time (dynamic), with one range fixed by calibration (static), or with
// LLM.int8()'s outlier columns kept in float — and fp8 activations. The integer sums come from
// the w8a8 kernel family (exact, so every ISA gives the same bits; its scalar spec is
// src/kernels/w8a8/reference.cpp); the rescale here is shared. docs/activation-quantization.md
// derives them.
//
// Shapes as the engine's linear: x is n tokens × in (row-major), W is out × in, y = x·Wᵀ is
// n × out. Products accumulate exactly in int32 (|q_w·q_x| ≤ 127·255, in ≤ 2^16 columns).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "qforge/quant.h"
#include "qforge/weight_grid.h"

namespace qforge {

// Symmetric int8 per output channel: q = round(w / s) ∈ [−127, 127], s = max|w_row| / 127.
struct Int8Weights {
  int64_t rows = 0, cols = 0;
  std::vector<int8_t> q;     // rows × cols
  std::vector<float> scale;  // per row
  std::vector<int32_t> row_sum;  // Σ_j q[r, j], for a static zero point's term (filled by the makers below)
  float value(int64_t r, int64_t c) const { return scale[static_cast<size_t>(r)] * q[static_cast<size_t>(r * cols + c)]; }
};
Int8Weights quantize_weights_int8(std::span<const float> w, int64_t rows, int64_t cols);
// The same form from an 8-bit symmetric per-channel grid matrix (int8 code = code − 128; GPTQ's
// symmetric rule, s = 2·max|w|/255): what qforge's W8A8 checkpoints store. Throws otherwise.
Int8Weights int8_weights_from(const PackedView& v);

// How a linear layer's input is quantized at run time.
// Fp8: one static per-tensor scale s from calibration, x̂ = s·e4m3(x / s) (saturating at ±448·s),
// against fp8 e4m3 weights; the product runs in f32 on the rounded values (the CPU has no fp8
// arithmetic: this is what an fp8 GEMM with f32 accumulation computes, up to summation order).
enum class ActMode : uint8_t { None, Dynamic, Static, LlmInt8, Fp8 };
std::string_view act_mode_name(ActMode m);  // "none", "dynamic", "static", "llm-int8", "fp8"
ActMode parse_act_mode(std::string_view name);
// Whether weights on `g` can run with inputs quantized by `m` (the integer modes take int8 sym
// per-channel weights, fp8 takes fp8 e4m3 weights), and the requirement in words.
bool act_accepts(ActMode m, const WeightGrid& g);
std::string act_weight_requirement(ActMode m);
// Modes whose scale is fixed ahead of time from an observer's range over calibration data.
inline bool act_is_calibrated(ActMode m) { return m == ActMode::Static || m == ActMode::Fp8; }

struct ActQuantSpec {
  ActMode mode = ActMode::None;
  // static: 8-bit per-tensor, signed symmetric or unsigned affine; dynamic: only its reduce_range
  // counts (codes ±63, s = max|x| / 63: 7-bit codes, which AVX2's byte kernel multiplies directly)
  QScheme scheme = QScheme::symmetric(8);
  ScaleZero act;                           // static, fp8 (scale only)
  float threshold = 6.0f;                  // llm-int8: |x| from which an input column is an outlier
  // static: where the range came from (recorded in checkpoints and reports)
  std::string observer;
  float lo = 0, hi = 0;
  double clipped_fraction = 0;
};

// fp8 activations: out[i] = s·e4m3(x[i] / s), saturating; s > 0 (s = 0 gives zeros).
void fake_quantize_fp8(std::span<const float> x, float s, std::span<float> out);

// x (n tokens × cols) quantized as `spec` says: codes per token row, and each token's scale
// (dynamic, llm-int8) or the one scale and zero (static); llm-int8's outlier columns listed
// (their codes are 0: they go through float).
struct QuantizedActivations {
  int64_t n = 0, cols = 0;
  std::vector<int16_t> q;
  std::vector<float> scale;  // per token, or one
  int32_t zero = 0;
  std::vector<int64_t> outliers;
  // When the scheme's codes span no more values than the byte kernel takes (128 on AVX2: 7-bit
  // codes, reduce_range; 256 with VNNI: every scheme): q − u8_low as bytes, which w8a8_rows
  // hands to that kernel (Σ q·w = Σ (q − u8_low)·w + u8_low·Σ w, exactly).
  std::vector<uint8_t> u8;
  int32_t u8_low = 0;
};
QuantizedActivations quantize_activations(const ActQuantSpec& spec, std::span<const float> x, int64_t n, int64_t cols);
// Output rows [begin, end) of y = x·Ŵᵀ (y is n × w.rows) from quantized activations; x itself is
// read only for llm-int8's outlier columns.
void w8a8_rows(const Int8Weights& w, const QuantizedActivations& a, std::span<const float> x, int64_t begin, int64_t end,
               std::span<float> y);

// dynamic: each token's row quantized by its own max|x| / 127, y[t, o] = s_x[t]·s_w[o]·Σ q_x q_w.
void linear_dynamic_int8(const Int8Weights& w, std::span<const float> x, int64_t n, std::span<float> y);

// static: one (s, z) for every token, chosen ahead of time (an observer's range) under `scheme`
// (8-bit; signed symmetric, or unsigned affine: y = s_x·s_w[o]·(Σ q_x q_w − z·Σ q_w)).
// Values outside the range clip to the end codes.
void linear_static_int8(const Int8Weights& w, std::span<const float> x, int64_t n, ScaleZero act, const QScheme& scheme,
                        std::span<float> y);

// LLM.int8() (Dettmers et al. 2022): input columns whose largest |x| over the n tokens reaches
// `threshold` are outliers; their part x_O·Ŵ_Oᵀ runs in f32 (x unquantized, the int8 weights
// dequantized, as bitsandbytes does), the rest as dynamic int8 with each token's scale taken
// over the non-outlier columns only. Returns the number of outlier columns.
int64_t linear_llm_int8(const Int8Weights& w, std::span<const float> x, int64_t n, float threshold, std::span<float> y);

}  // namespace qforge
