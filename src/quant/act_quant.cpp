// W8A8 linear layers, scalar reference. docs/activation-quantization.md gives the algebra.
#include "qforge/act_quant.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "qforge/error.h"

namespace qforge {
namespace {

void check_shapes(const Int8Weights& w, std::span<const float> x, int64_t n, std::span<float> y, const char* who) {
  if (n < 0 || static_cast<int64_t>(x.size()) != n * w.cols || static_cast<int64_t>(y.size()) != n * w.rows)
    throw Error(ErrorCategory::InvalidArgument, std::string(who) + ": x holds " + std::to_string(x.size()) + " values and y " +
                                                    std::to_string(y.size()) + " for " + std::to_string(n) + " tokens of a " +
                                                    std::to_string(w.rows) + "×" + std::to_string(w.cols) + " layer");
  if (w.cols > (int64_t{1} << 16)) throw Error(ErrorCategory::InvalidArgument, std::string(who) + ": more than 2^16 inputs overflow int32");
}

int8_t to_int8(double v) { return static_cast<int8_t>(std::clamp(std::nearbyint(v), -127.0, 127.0)); }

// Σ_j a[j]·b[j], exact in int32.
int32_t dot_s8(const int8_t* a, const int8_t* b, int64_t k) {
  int32_t s = 0;
  for (int64_t j = 0; j < k; ++j) s += static_cast<int32_t>(a[j]) * static_cast<int32_t>(b[j]);
  return s;
}

}  // namespace

Int8Weights quantize_weights_int8(std::span<const float> w, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 1 || static_cast<int64_t>(w.size()) != rows * cols)
    throw Error(ErrorCategory::InvalidArgument, "int8 weights: " + std::to_string(w.size()) + " values for [" + std::to_string(rows) +
                                                    ", " + std::to_string(cols) + "]");
  Int8Weights q{rows, cols, std::vector<int8_t>(w.size()), std::vector<float>(static_cast<size_t>(rows))};
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
  return q;
}

void linear_dynamic_int8(const Int8Weights& w, std::span<const float> x, int64_t n, std::span<float> y) {
  check_shapes(w, x, n, y, "dynamic int8");
  std::vector<int8_t> qx(static_cast<size_t>(w.cols));
  for (int64_t t = 0; t < n; ++t) {
    const float* row = &x[static_cast<size_t>(t * w.cols)];
    float amax = 0;
    for (int64_t j = 0; j < w.cols; ++j) amax = std::max(amax, std::fabs(row[j]));
    const float s = amax / 127.0f;
    for (int64_t j = 0; j < w.cols; ++j) qx[static_cast<size_t>(j)] = s > 0 ? to_int8(static_cast<double>(row[j]) / s) : 0;
    for (int64_t o = 0; o < w.rows; ++o)
      y[static_cast<size_t>(t * w.rows + o)] =
          s * w.scale[static_cast<size_t>(o)] * static_cast<float>(dot_s8(qx.data(), &w.q[static_cast<size_t>(o * w.cols)], w.cols));
  }
}

void linear_static_int8(const Int8Weights& w, std::span<const float> x, int64_t n, ScaleZero act, const QScheme& scheme,
                        std::span<float> y) {
  check_shapes(w, x, n, y, "static int8");
  scheme.validate();
  if (scheme.bits != 8 || scheme.codebook != Codebook::None || scheme.granularity != Granularity::PerTensor)
    throw Error(ErrorCategory::InvalidArgument, "static int8: activations take an 8-bit per-tensor integer scheme, not " + scheme.describe());
  std::vector<int32_t> qx(static_cast<size_t>(w.cols));
  std::vector<int32_t> wsum(static_cast<size_t>(w.rows), 0);  // Σ_j q_w[o, j], for the zero point's term
  for (int64_t o = 0; o < w.rows; ++o)
    for (int64_t j = 0; j < w.cols; ++j) wsum[static_cast<size_t>(o)] += w.q[static_cast<size_t>(o * w.cols + j)];
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t j = 0; j < w.cols; ++j) qx[static_cast<size_t>(j)] = quantize_value(x[static_cast<size_t>(t * w.cols + j)], act, scheme);
    for (int64_t o = 0; o < w.rows; ++o) {
      const int8_t* qw = &w.q[static_cast<size_t>(o * w.cols)];
      int32_t acc = 0;
      for (int64_t j = 0; j < w.cols; ++j) acc += qx[static_cast<size_t>(j)] * static_cast<int32_t>(qw[j]);
      acc -= act.zero_point * wsum[static_cast<size_t>(o)];
      y[static_cast<size_t>(t * w.rows + o)] = act.scale * w.scale[static_cast<size_t>(o)] * static_cast<float>(acc);
    }
  }
}

int64_t linear_llm_int8(const Int8Weights& w, std::span<const float> x, int64_t n, float threshold, std::span<float> y) {
  check_shapes(w, x, n, y, "LLM.int8()");
  if (!(threshold >= 0)) throw Error(ErrorCategory::InvalidArgument, "LLM.int8(): the threshold must be a number >= 0");
  std::vector<bool> outlier(static_cast<size_t>(w.cols), false);
  std::vector<int64_t> outliers;
  for (int64_t j = 0; j < w.cols; ++j) {
    for (int64_t t = 0; t < n && !outlier[static_cast<size_t>(j)]; ++t)
      outlier[static_cast<size_t>(j)] = std::fabs(x[static_cast<size_t>(t * w.cols + j)]) >= threshold;
    if (outlier[static_cast<size_t>(j)]) outliers.push_back(j);
  }
  std::vector<int8_t> qx(static_cast<size_t>(w.cols));
  for (int64_t t = 0; t < n; ++t) {
    const float* row = &x[static_cast<size_t>(t * w.cols)];
    float amax = 0;  // over the columns that stay in int8
    for (int64_t j = 0; j < w.cols; ++j)
      if (!outlier[static_cast<size_t>(j)]) amax = std::max(amax, std::fabs(row[j]));
    const float s = amax / 127.0f;
    for (int64_t j = 0; j < w.cols; ++j)
      qx[static_cast<size_t>(j)] = outlier[static_cast<size_t>(j)] || s == 0 ? 0 : to_int8(static_cast<double>(row[j]) / s);
    for (int64_t o = 0; o < w.rows; ++o) {
      const int8_t* qw = &w.q[static_cast<size_t>(o * w.cols)];
      const float sw = w.scale[static_cast<size_t>(o)];
      float outlier_part = 0;  // x_O·Ŵ_Oᵀ in f32
      for (const int64_t j : outliers) outlier_part += row[j] * (sw * static_cast<float>(qw[j]));
      y[static_cast<size_t>(t * w.rows + o)] = s * sw * static_cast<float>(dot_s8(qx.data(), qw, w.cols)) + outlier_part;
    }
  }
  return static_cast<int64_t>(outliers.size());
}

}  // namespace qforge
