// Weight-only quantization methods that turn a float matrix [rows, cols] (PyTorch's
// [out, in]) into a QuantizedMatrix on a WeightGrid. One source file per method in
// src/algorithms/; docs/gptq.md, docs/awq.md, docs/hqq.md and docs/nf4-and-ternary.md derive them.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "qforge/weight_grid.h"

namespace qforge {

// Runs body(begin, end) over [0, n) split into ranges, possibly in parallel. Methods give
// the same result for any split.
using ParallelFor = std::function<void(int64_t n, const std::function<void(int64_t, int64_t)>& body)>;
void serial_for(int64_t n, const std::function<void(int64_t, int64_t)>& body);

// Round-to-nearest: each group's parameters from its own weights (WeightGrid::fit), each
// weight to its nearest code. On a GGUF grid this is llama.cpp's reference quantizer, bit
// for bit (its own rounding of x·(1/d) included).
QuantizedMatrix quantize_rtn(std::span<const float> w, int64_t rows, int64_t cols, const WeightGrid& grid);

struct GptqOptions {
  double damp = 0.01;      // λ = damp · mean(diag H) added to the diagonal
  int64_t block = 128;     // columns per lazy batch (rounded up to a whole number of groups)
  bool act_order = false;  // columns in order of decreasing H_ii; groups stay contiguous
                           // (static groups: parameters fit on the unquantized weights)
};

// What GPTQ needs from a layer's input statistics, prepared once and shared by every linear
// that reads the same input (q, k and v): the upper Cholesky factor U of (H + λI)⁻¹ in
// processing order, with H = Σ x xᵀ over the calibration tokens (any positive multiple).
// Columns the data never excited (H_ii = 0) are "dead": their weights become 0.
class GptqHessian {
 public:
  GptqHessian(std::span<const double> h, int64_t cols, const GptqOptions& options);

  int64_t cols() const { return cols_; }
  double damp_used() const { return damp_used_; }  // > options.damp when H needed more to factor
  int64_t dead_columns() const { return dead_count_; }
  const std::vector<int64_t>& order() const { return perm_; }  // processing position → column
  bool dead(int64_t col) const { return dead_[static_cast<size_t>(col)] != 0; }
  double u(int64_t i, int64_t j) const { return u_[static_cast<size_t>(i * cols_ + j)]; }
  const double* u_row(int64_t i) const { return &u_[static_cast<size_t>(i * cols_)]; }

 private:
  int64_t cols_ = 0, dead_count_ = 0;
  double damp_used_ = 0;
  std::vector<int64_t> perm_;
  std::vector<uint8_t> dead_;
  std::vector<double> u_;
};

// Frantar et al.'s GPTQ: columns quantized one at a time in the Hessian's order, each
// rounding error (w − q)/U_ii spread over the columns not yet quantized as −err·U_i,j; group
// parameters fit on the updated weights when the group starts (after act-order, on the
// original ones). Rows are independent and run through `par`.
QuantizedMatrix quantize_gptq(std::span<const float> w, int64_t rows, int64_t cols, const GptqHessian& h,
                              const WeightGrid& grid, const GptqOptions& options, const ParallelFor& par = serial_for);

struct HqqOptions {
  double lp_norm = 0.7;  // p of the sparsity-promoting error norm ‖W − Ŵ‖_p^p
  double beta = 10;      // initial weight of the quadratic coupling
  double kappa = 1.01;   // β grows by κ each iteration
  int iters = 20;        // at most; stops early when the mean |W − Ŵ| stops falling
  bool update_scale = false;  // also re-solve the scale with the zero (least squares on W − W_e)
  int axis = 1;  // 1: groups along the input dimension; 0: HQQ's axis 0 (int_min grids; see WeightGrid::axis0)
};

// Badri & Shaji's HQQ, data-free: per group, the float zero point minimises ‖W − Ŵ‖_p^p by
// half-quadratic splitting — alternately shrink the error (generalised soft threshold) and
// re-solve the zero point in closed form — starting from min-max (axis 1: groups along the
// input dimension; axis 0: the matrix returned holds the groups as rows, grid.axis0).
// Needs a grid with a float minimum: q4_1, q5_1 or integer_min.
QuantizedMatrix quantize_hqq(std::span<const float> w, int64_t rows, int64_t cols, const WeightGrid& grid,
                             const HqqOptions& options = {});

// Σ_r δ_r H δ_rᵀ over `rows` rows of δ (each cols wide): ‖δ Xᵀ‖² for the layer's input X.
using QuadraticForm = std::function<double(const float* delta, int64_t rows)>;
QuadraticForm quadratic_form(std::span<const double> h, int64_t cols);  // a scalar one, in double

struct AwqOptions {
  int grid_points = 20;   // α ∈ {0, 1/20, …, 19/20}
  int clip_steps = 10;    // clipping ratios 1, 0.95, …, 0.55 (at most half the range cut)
  // The pipeline's judge of a scale candidate: the block's output error on calibration samples
  // (AWQ's), or the sum of the group's linear output errors through H (faster, no nonlinearity).
  bool block_objective = true;
  int64_t search_tokens = 4096;  // block objective: whole calibration samples up to this many tokens
};

struct AwqLinear {
  std::span<const float> w;  // [rows, cols], all reading the same input
  int64_t rows;
};

struct AwqScales {
  std::vector<float> scales;  // s per input channel (weights are multiplied by it, inputs divided)
  double alpha = 0;
  double error = 0;      // Σ over the linears of ‖(W − Q(W·s)/s) Xᵀ‖² at the chosen α
  double rtn_error = 0;  // the same at α = 0 (s = 1: plain RTN)
};

// Lin et al.'s AWQ scale search for linears sharing an input: s = mean|x|^α normalised to
// √(max·min) = 1, α on a grid, each candidate judged by the linears' output error through `form`
// after RTN on `grid`. α = 0 is RTN itself, so the result is never worse than RTN here.
AwqScales awq_search_scales(const std::vector<AwqLinear>& linears, std::span<const double> mean_abs_x, const WeightGrid& grid,
                            const QuadraticForm& form, const AwqOptions& options = {});
// The same search with any judge: error(s) for candidate scales s (the pipeline passes the
// block's output error with the group's weights replaced by Q(W·s)/s).
using AwqObjective = std::function<double(std::span<const float> s)>;
AwqScales awq_search_scales(std::span<const double> mean_abs_x, const AwqObjective& error, const AwqOptions& options = {});

// AWQ's clipping search, then RTN: per row and group, the weights clamped to ±r·max|w| for the
// ratio r whose quantized group has the least output error (‖δ_g X_gᵀ‖² through the group's
// block of H); the clamped matrix is then rounded by quantize_rtn (llama.cpp's rounding on GGUF grids).
QuantizedMatrix awq_clip_quantize(std::span<const float> w, int64_t rows, int64_t cols, std::span<const double> h,
                                  const WeightGrid& grid, const AwqOptions& options = {});

// Σ |w − ŵ|^p: the error HQQ minimises.
double lp_error(std::span<const float> w, const QuantizedMatrix& q, double p);

// ‖(W − Ŵ) Xᵀ‖² expressed through H = Σ x xᵀ: Σ_rows (w − ŵ)ᵀ H (w − ŵ). The layer-output
// error both methods are judged by.
double layer_output_error(std::span<const float> w, const QuantizedMatrix& q, std::span<const double> h);

}  // namespace qforge
