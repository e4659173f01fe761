// W8A8 linear layers on the w8a8 kernel's exact int32 sums. docs/activation-quantization.md gives the algebra.
#include "qforge/act_quant.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "kernels/w8a8/w8a8_kernels.h"
#include "qforge/error.h"
#include "qforge/float_convert.h"

namespace qforge {
namespace {

void check_shapes(const Int8Weights& w, std::span<const float> x, int64_t n, std::span<float> y, const char* who) {
  if (n < 0 || static_cast<int64_t>(x.size()) != n * w.cols || static_cast<int64_t>(y.size()) != n * w.rows)
    throw Error(ErrorCategory::InvalidArgument, std::string(who) + ": x holds " + std::to_string(x.size()) + " values and y " +
                                                    std::to_string(y.size()) + " for " + std::to_string(n) + " tokens of a " +
                                                    std::to_string(w.rows) + "×" + std::to_string(w.cols) + " layer");
  if (w.cols > (int64_t{1} << 16)) throw Error(ErrorCategory::InvalidArgument, std::string(who) + ": more than 2^16 inputs overflow int32");
}

int8_t to_int8(double v) { return static_cast<int8_t>(kernels::round_code(v)); }

// a.u8 from a.q when the codes [lo, hi] the scheme allows fit the byte kernel's range, and every
// code does lie there (else u8 stays empty and the int16 kernel runs).
void fill_u8(QuantizedActivations& a, int32_t lo, int32_t hi) {
  const int32_t top = kernels::w8a8_kernels().u8_codes - 1;
  if (hi - lo > top) return;
  a.u8.resize(a.q.size());
  for (size_t i = 0; i < a.q.size(); ++i) {
    const int32_t u = a.q[i] - lo;
    if (u < 0 || u > top) {
      a.u8.clear();
      return;
    }
    a.u8[i] = static_cast<uint8_t>(u);
  }
  a.u8_low = lo;
}

Int8Weights with_row_sums(Int8Weights w) {
  w.row_sum.assign(static_cast<size_t>(w.rows), 0);
  for (int64_t r = 0; r < w.rows; ++r)
    for (int64_t c = 0; c < w.cols; ++c) w.row_sum[static_cast<size_t>(r)] += w.q[static_cast<size_t>(r * w.cols + c)];
  return w;
}

}  // namespace

Int8Weights quantize_weights_int8(std::span<const float> w, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 1 || static_cast<int64_t>(w.size()) != rows * cols)
    throw Error(ErrorCategory::InvalidArgument, "int8 weights: " + std::to_string(w.size()) + " values for [" + std::to_string(rows) +
                                                    ", " + std::to_string(cols) + "]");
  Int8Weights q{rows, cols, std::vector<int8_t>(w.size()), std::vector<float>(static_cast<size_t>(rows)), {}};
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = &w[static_cast<size_t>(r * cols)];
    float amax = 0;
    for (int64_t c = 0; c < cols; ++c) {
      if (!std::isfinite(row[c])) throw Error(ErrorCategory::Numeric, "int8 weights: row " + std::to_string(r) + " holds NaN or Inf");
      amax = std::max(amax, std::fabs(row[c]));
    }
    const float s = amax / 127.0f;
    q.scale[static_cast<size_t>(r)] = s;
    for (int64_t c = 0; c < cols; ++c) q.q[static_cast<size_t>(r * cols + c)] = s > 0 ? to_int8(static_cast<double>(row[c]) / s) : 0;
  }
  return with_row_sums(std::move(q));
}

Int8Weights int8_weights_from(const PackedView& v) {
  if (v.grid.kind != GridKind::IntSymmetric || v.grid.bits != 8 || v.grid.group_size != 0 || v.grid.axis0)
    throw Error(ErrorCategory::InvalidArgument, "W8A8 needs int8 sym per-channel weights, not " + v.grid.describe());
  v.validate("W8A8 weights");
  Int8Weights w{v.rows, v.cols, std::vector<int8_t>(static_cast<size_t>(v.rows * v.cols)), std::vector<float>(static_cast<size_t>(v.rows)), {}};
  for (int64_t r = 0; r < v.rows; ++r) {
    const size_t at = static_cast<size_t>(r * v.cols);
    for (int64_t c = 0; c < v.cols; ++c) w.q[at + static_cast<size_t>(c)] = static_cast<int8_t>(static_cast<int>(v.codes[at + static_cast<size_t>(c)]) - 128);
    if (v.zeros[static_cast<size_t>(r)] != 128)
      throw Error(ErrorCategory::InvalidArgument, "W8A8 weights: row " + std::to_string(r) + " has zero point " +
                                                      std::to_string(v.zeros[static_cast<size_t>(r)]) + ", not 128");
    w.scale[static_cast<size_t>(r)] = f16_to_f32(static_cast<uint16_t>(v.scales[2 * static_cast<size_t>(r)] | (v.scales[2 * static_cast<size_t>(r) + 1] << 8)));
  }
  return with_row_sums(std::move(w));
}

std::string_view act_mode_name(ActMode m) {
  switch (m) {
    case ActMode::None: return "none";
    case ActMode::Dynamic: return "dynamic";
    case ActMode::Static: return "static";
    case ActMode::LlmInt8: return "llm-int8";
    case ActMode::Fp8: return "fp8";
  }
  return "?";
}

bool act_accepts(ActMode m, const WeightGrid& g) {
  if (m == ActMode::None) return true;
  if (m == ActMode::Fp8) return g.kind == GridKind::Fp8E4M3 && !g.axis0;
  return g.kind == GridKind::IntSymmetric && g.bits == 8 && g.group_size == 0 && !g.axis0;
}

std::string act_weight_requirement(ActMode m) {
  return m == ActMode::Fp8 ? "fp8 e4m3 weights" : "int8 sym per-channel weights";
}

void fake_quantize_fp8(std::span<const float> x, float s, std::span<float> out) {
  if (out.size() != x.size()) throw Error(ErrorCategory::InvalidArgument, "fp8 activations: output size differs from input");
  for (size_t i = 0; i < x.size(); ++i)
    out[i] = s > 0 ? s * f8_e4m3_to_f32(f32_to_f8_e4m3(x[i] / s, Overflow::Saturate)) : 0.0f;
}

ActMode parse_act_mode(std::string_view name) {
  for (ActMode m : {ActMode::None, ActMode::Dynamic, ActMode::Static, ActMode::LlmInt8, ActMode::Fp8})
    if (name == act_mode_name(m)) return m;
  throw Error(ErrorCategory::InvalidArgument, "unknown activation mode '" + std::string(name) + "'; supported: none, dynamic, static, llm-int8, fp8");
}

QuantizedActivations quantize_activations(const ActQuantSpec& spec, std::span<const float> x, int64_t n, int64_t cols) {
  if (n < 0 || cols < 1 || static_cast<int64_t>(x.size()) != n * cols)
    throw Error(ErrorCategory::InvalidArgument, "activations: " + std::to_string(x.size()) + " values for " + std::to_string(n) + " × " + std::to_string(cols));
  QuantizedActivations a;
  a.n = n;
  a.cols = cols;
  a.q.resize(x.size());
  if (spec.mode == ActMode::Static) {
    const QScheme& s = spec.scheme;
    if (s.bits != 8 || s.codebook != Codebook::None || s.granularity != Granularity::PerTensor)
      throw Error(ErrorCategory::InvalidArgument, "static int8: activations take an 8-bit per-tensor integer scheme, not " + s.describe());
    a.scale = {spec.act.scale};
    a.zero = spec.act.zero_point;
    for (size_t i = 0; i < x.size(); ++i) a.q[i] = static_cast<int16_t>(quantize_value(x[i], spec.act, s));
    fill_u8(a, s.qmin(), s.qmax());
    return a;
  }
  if (spec.mode != ActMode::Dynamic && spec.mode != ActMode::LlmInt8)
    throw Error(ErrorCategory::InvalidArgument, "activations: mode " + std::string(act_mode_name(spec.mode)) + " quantizes nothing");
  std::vector<bool> outlier(static_cast<size_t>(cols), false);
  if (spec.mode == ActMode::LlmInt8) {
    if (!(spec.threshold >= 0)) throw Error(ErrorCategory::InvalidArgument, "LLM.int8(): the threshold must be a number >= 0");
    for (int64_t t = 0; t < n; ++t)  // row by row: x is token-major
      for (int64_t j = 0; j < cols; ++j)
        if (std::fabs(x[static_cast<size_t>(t * cols + j)]) >= spec.threshold) outlier[static_cast<size_t>(j)] = true;
    for (int64_t j = 0; j < cols; ++j)
      if (outlier[static_cast<size_t>(j)]) a.outliers.push_back(j);
  }
  const kernels::W8A8Kernels& k = kernels::w8a8_kernels();
  const bool seven = spec.mode == ActMode::Dynamic && spec.scheme.reduce_range;
  const float qmax = seven ? 63.0f : 127.0f;
  a.scale.resize(static_cast<size_t>(n));
  for (int64_t t = 0; t < n; ++t) {
    const float* row = &x[static_cast<size_t>(t * cols)];
    float amax = 0;  // over the columns that stay in int8
    if (a.outliers.empty()) amax = k.amax(row, cols);
    else
      for (int64_t j = 0; j < cols; ++j)
        if (!outlier[static_cast<size_t>(j)]) amax = std::max(amax, std::fabs(row[j]));
    const float s = amax / qmax;
    a.scale[static_cast<size_t>(t)] = s;
    int16_t* q = &a.q[static_cast<size_t>(t * cols)];
    if (s == 0) continue;  // codes stay 0
    k.quantize(row, cols, s, q);
    for (const int64_t j : a.outliers) q[j] = 0;
  }
  fill_u8(a, -static_cast<int32_t>(qmax), static_cast<int32_t>(qmax));
  return a;
}

void w8a8_rows(const Int8Weights& w, const QuantizedActivations& a, std::span<const float> x, int64_t begin, int64_t end,
               std::span<float> y) {
  if (a.cols != w.cols || static_cast<int64_t>(y.size()) != a.n * w.rows || begin < 0 || end > w.rows || begin > end ||
      (!a.outliers.empty() && static_cast<int64_t>(x.size()) != a.n * w.cols))
    throw Error(ErrorCategory::InvalidArgument, "W8A8: activations of " + std::to_string(a.cols) + " columns for a " +
                                                    std::to_string(w.rows) + "×" + std::to_string(w.cols) + " layer");
  if (w.cols > (int64_t{1} << 16)) throw Error(ErrorCategory::InvalidArgument, "W8A8: more than 2^16 inputs overflow int32");
  const bool per_token = a.scale.size() == static_cast<size_t>(a.n);  // else one static scale
  // exact int32 sums Σ q_x·q_w from the integer kernel, a chunk of output rows at a time
  constexpr int64_t kChunk = 64;
  std::vector<int32_t> sums(static_cast<size_t>(kChunk * a.n));
  const kernels::W8A8Kernels& k = kernels::w8a8_kernels();
  const bool bytes = !a.u8.empty();
  const int32_t shift = (bytes ? a.u8_low : 0) - a.zero;  // Σ q·w − z·Σ w = Σ u·w + (low − z)·Σ w
  for (int64_t o0 = begin; o0 < end; o0 += kChunk) {
    const int64_t m = std::min(kChunk, end - o0);
    const int8_t* wq = &w.q[static_cast<size_t>(o0 * w.cols)];
    if (bytes) k.gemm_u8({wq, w.cols, m, a.u8.data(), w.cols, a.n, w.cols, sums.data(), m});
    else k.gemm({wq, w.cols, m, a.q.data(), w.cols, a.n, w.cols, sums.data(), m});
    for (int64_t t = 0; t < a.n; ++t) {  // token-major, as y and the sums are laid out
      const float sx = a.scale[per_token ? static_cast<size_t>(t) : 0];
      for (int64_t o = o0; o < o0 + m; ++o) {
        const float sw = w.scale[static_cast<size_t>(o)];
        const int32_t wsum = shift != 0 ? w.row_sum[static_cast<size_t>(o)] : 0;  // the zero point's and offset's term
        const int32_t acc = sums[static_cast<size_t>(t * m + o - o0)] + shift * wsum;
        float v = sx * sw * static_cast<float>(acc);
        for (const int64_t j : a.outliers)
          v += x[static_cast<size_t>(t * w.cols + j)] * (sw * static_cast<float>(w.q[static_cast<size_t>(o * w.cols + j)]));
        y[static_cast<size_t>(t * w.rows + o)] = v;
      }
    }
  }
}

void linear_dynamic_int8(const Int8Weights& w, std::span<const float> x, int64_t n, std::span<float> y) {
  check_shapes(w, x, n, y, "dynamic int8");
  ActQuantSpec spec;
  spec.mode = ActMode::Dynamic;
  w8a8_rows(w, quantize_activations(spec, x, n, w.cols), x, 0, w.rows, y);
}

void linear_static_int8(const Int8Weights& w, std::span<const float> x, int64_t n, ScaleZero act, const QScheme& scheme,
                        std::span<float> y) {
  check_shapes(w, x, n, y, "static int8");
  scheme.validate();
  ActQuantSpec spec;
  spec.mode = ActMode::Static;
  spec.scheme = scheme;
  spec.act = act;
  w8a8_rows(w, quantize_activations(spec, x, n, w.cols), x, 0, w.rows, y);
}

int64_t linear_llm_int8(const Int8Weights& w, std::span<const float> x, int64_t n, float threshold, std::span<float> y) {
  check_shapes(w, x, n, y, "LLM.int8()");
  ActQuantSpec spec;
  spec.mode = ActMode::LlmInt8;
  spec.threshold = threshold;
  const QuantizedActivations a = quantize_activations(spec, x, n, w.cols);
  w8a8_rows(w, a, x, 0, w.rows, y);
  return static_cast<int64_t>(a.outliers.size());
}

}  // namespace qforge
