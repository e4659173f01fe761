// AWQ inside the pipeline: find each block's scaling groups (linears sharing an input, and
// the op before them that can absorb 1/s), search their scales, and fold them in.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "qforge/engine.h"
#include "qforge/pipeline.h"
#include "qforge/weight_quant.h"

namespace qforge::pipeline {

// A block's linear weights in f32 as they will be quantized, with what AWQ did to them:
// columns multiplied by col_scale (its input's s), rows divided by row_fold (the next group's s).
struct BlockWeights {
  std::map<std::string, std::vector<float>> w;
  std::map<std::string, int64_t> rows, cols;
  std::map<std::string, std::vector<float>> col_scale, row_fold;

  // The weight in the original (unscaled) space for a quantized value at (r, c).
  float original_value(const std::string& name, int64_t r, int64_t c, float v) const;
};

// What calibration saw at one input: H = Σ x xᵀ, Σ|x| and max|x| over `tokens` tokens.
struct InputStats {
  std::vector<double> h, abs_sum;
  std::vector<float> abs_max;  // max |x_j| per input channel (SmoothQuant)
  int64_t tokens = 0;
  std::vector<double> h_scaled;  // H of the scaled input x/s, once AWQ scaled it
  const std::vector<double>& current_h() const { return h_scaled.empty() ? h : h_scaled; }
};

struct AwqGroupReport {
  std::string input;  // first linear of the group
  std::string absorbed_by;
  double alpha = 0, error = 0, rtn_error = 0;
};

// Judges candidate scales s for a group (its members) by the block's output: set when
// AwqOptions::block_objective. While it is in use the engine keeps the block's float function:
// each group's scaled weights replace the engine's as its norms and absorbing rows change.
using BlockObjective = std::function<AwqObjective(const std::vector<std::string>& members)>;

// AWQ's judge: the block's output error on whole calibration samples (up to `search_tokens`)
// with the group's weights replaced by Q(W·s)/s on their planned grids, against the float block
// (the engine's state when this is built). `model`, `bw` and `plans` must outlive it.
BlockObjective block_output_objective(Model& model, int64_t block, const std::vector<std::vector<float>>& hidden,
                                      int64_t search_tokens, const BlockWeights& bw, const std::map<std::string, LayerPlan>& plans);

// For every group whose linears are all planned as AWQ: search s, multiply their columns by s,
// divide the absorbing op (norm weight and bias in the engine, or the previous linear's rows
// and bias) by s. Rescaled norm weights and biases go to emit_float. Groups without an op that
// can absorb 1/s exactly (a nonlinearity, or v → o under grouped-query attention) stay unscaled.
std::vector<AwqGroupReport> awq_scale_block(Model& model, const std::string& prefix, const std::vector<std::string>& names,
                                            const std::map<std::string, std::string>& input_of,
                                            std::map<std::string, InputStats>& stats, const std::map<std::string, LayerPlan>& plans,
                                            BlockWeights& bw, const AwqOptions& options,
                                            const std::function<QuadraticForm(const std::vector<double>& h, int64_t cols)>& form_for,
                                            const std::function<void(const std::string&, const Tensor&)>& emit_float,
                                            const BlockObjective& block_objective = {});

// SmoothQuant (Xiao et al. 2023) for the groups whose linears are planned as RTN and whose
// input a norm produces (q/k/v, gate/up): s_j = max|X_j|^α / max|W_j|^(1−α), W_j over every
// linear of the group, multiplied into their columns and divided out of the norm. The engine
// keeps the block's float function. Returns the groups smoothed (their first linears).
std::vector<std::string> smoothquant_block(Model& model, const std::string& prefix, const std::vector<std::string>& names,
                                           const std::map<std::string, std::string>& input_of, std::map<std::string, InputStats>& stats,
                                           const std::map<std::string, LayerPlan>& plans, BlockWeights& bw, double alpha,
                                           const std::function<void(const std::string&, const Tensor&)>& emit_float);

}  // namespace qforge::pipeline
