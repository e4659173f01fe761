#include "pipeline/awq_scaling.h"

#include <cmath>

#include "qforge/error.h"

namespace qforge::pipeline {
namespace {

// A set of linears reading one input and the op that can absorb 1/s for it.
struct ScaleGroup {
  std::string root;                  // the first linear reading the input
  std::vector<std::string> members;  // every linear reading it
  std::vector<std::string> vectors;  // norm weight and bias that absorb 1/s (empty: a linear does)
  std::string prev_linear;           // the linear whose output rows absorb 1/s
};

// The block's groups whose linears are all quantized with `method` and whose input some op can
// absorb 1/s for exactly (a norm, or the linear producing it channel for channel).
std::vector<ScaleGroup> scale_groups(const std::string& prefix, const std::vector<std::string>& names,
                                     const std::map<std::string, std::string>& input_of, const std::map<std::string, LayerPlan>& plans,
                                     const BlockWeights& bw, WeightMethod method) {
  std::vector<ScaleGroup> groups;
  const bool has_gate = bw.w.count(prefix + "ffn_gate.weight") != 0;
  for (const std::string& root : names) {
    if (!input_of.count(root) || input_of.at(root) != root) continue;  // one group per input
    ScaleGroup g;
    g.root = root;
    for (const std::string& n : names)
      if (input_of.count(n) && input_of.at(n) == root) g.members.push_back(n);
    bool all = true;  // and quantizable: rows that do not split into groups stay float, unscaled
    for (const auto& m : g.members)
      all = all && plans.at(m).method == method && !plans.at(m).keep_float && plans.at(m).grid.fits(bw.cols.at(m));
    if (!all) continue;
    const std::string first = root.substr(prefix.size());
    if (first == "attn_q.weight" || first == "attn_qkv.weight") {
      g.vectors = {prefix + "attn_norm.weight", prefix + "attn_norm.bias"};
    } else if (first == "ffn_gate.weight" || (first == "ffn_up.weight" && !has_gate)) {
      g.vectors = {prefix + "ffn_norm.weight", prefix + "ffn_norm.bias"};
    } else if (first == "ffn_down.weight" && has_gate) {  // down reads silu(gate)·up: up's rows absorb it
      g.prev_linear = prefix + "ffn_up.weight";
    } else if (first == "attn_output.weight" && bw.w.count(prefix + "attn_v.weight") &&
               bw.rows.at(prefix + "attn_v.weight") == bw.cols.at(root)) {  // o reads softmax·v: v's rows (no GQA)
      g.prev_linear = prefix + "attn_v.weight";
      g.vectors = {prefix + "attn_v.bias"};
    } else {
      continue;
    }
    // A linear that absorbs 1/s must itself be rewritten: one left in float keeps the file's rows.
    if (!g.prev_linear.empty() && (plans.at(g.prev_linear).keep_float || !plans.at(g.prev_linear).grid.fits(bw.cols.at(g.prev_linear))))
      continue;
    groups.push_back(std::move(g));
  }
  return groups;
}

// Multiplies the group's columns by s and divides what absorbs it; H becomes that of x/s.
void apply_scales(Model& model, const ScaleGroup& g, const std::vector<float>& sc, BlockWeights& bw, InputStats& st,
                  const std::function<void(const std::string&, const Tensor&)>& emit_float, bool keep_engine_float) {
  const int64_t cols = bw.cols.at(g.root);
  for (const auto& m : g.members) {
    auto& w = bw.w.at(m);
    for (int64_t r = 0; r < bw.rows.at(m); ++r)
      for (int64_t j = 0; j < cols; ++j) w[static_cast<size_t>(r * cols + j)] *= sc[static_cast<size_t>(j)];
    bw.col_scale[m] = sc;
  }
  for (const auto& v : g.vectors) {
    if (!model.has_vector(v)) continue;
    Tensor t = Tensor::zeros(DType::f32, {cols});
    float* p = static_cast<float*>(t.mutable_data());
    const Tensor& cur = model.vector(v);
    for (int64_t j = 0; j < cols; ++j) p[j] = cur.span<float>()[static_cast<size_t>(j)] / sc[static_cast<size_t>(j)];
    emit_float(v, t);
    model.set_vector(v, std::move(t));
  }
  if (!g.prev_linear.empty()) {
    auto& w = bw.w.at(g.prev_linear);
    const int64_t pc = bw.cols.at(g.prev_linear);
    for (int64_t r = 0; r < cols; ++r)
      for (int64_t j = 0; j < pc; ++j) w[static_cast<size_t>(r * pc + j)] /= sc[static_cast<size_t>(r)];
    bw.row_fold[g.prev_linear] = sc;
  }
  if (keep_engine_float) {  // the engine's block computes its float function again, in the scaled space
    std::vector<std::string> changed = g.members;
    if (!g.prev_linear.empty()) changed.push_back(g.prev_linear);
    for (const auto& m : changed) model.set_linear_weight(m, Tensor::from_vector({bw.rows.at(m), bw.cols.at(m)}, bw.w.at(m)));
  }
  st.h_scaled.assign(st.h.size(), 0.0);  // H of x/s
  for (int64_t i = 0; i < cols; ++i)
    for (int64_t j = 0; j < cols; ++j)
      st.h_scaled[static_cast<size_t>(i * cols + j)] = st.h[static_cast<size_t>(i * cols + j)] / (static_cast<double>(sc[static_cast<size_t>(i)]) * sc[static_cast<size_t>(j)]);
}

}  // namespace

float BlockWeights::original_value(const std::string& name, int64_t r, int64_t c, float v) const {
  if (const auto f = row_fold.find(name); f != row_fold.end()) v *= f->second[static_cast<size_t>(r)];
  if (const auto s = col_scale.find(name); s != col_scale.end()) v /= s->second[static_cast<size_t>(c)];
  return v;
}

std::vector<AwqGroupReport> awq_scale_block(Model& model, const std::string& prefix, const std::vector<std::string>& names,
                                            const std::map<std::string, std::string>& input_of,
                                            std::map<std::string, InputStats>& stats, const std::map<std::string, LayerPlan>& plans,
                                            BlockWeights& bw, const AwqOptions& options,
                                            const std::function<QuadraticForm(const std::vector<double>&, int64_t)>& form_for,
                                            const std::function<void(const std::string&, const Tensor&)>& emit_float,
                                            const BlockObjective& block_objective) {
  std::vector<AwqGroupReport> reports;
  for (const ScaleGroup& g : scale_groups(prefix, names, input_of, plans, bw, WeightMethod::Awq)) {
    InputStats& st = stats.at(g.root);
    const int64_t cols = bw.cols.at(g.root);
    std::vector<double> mean(static_cast<size_t>(cols));
    for (int64_t j = 0; j < cols; ++j) mean[static_cast<size_t>(j)] = st.abs_sum[static_cast<size_t>(j)] / static_cast<double>(st.tokens);
    std::vector<AwqLinear> linears;
    for (const auto& m : g.members) linears.push_back({bw.w.at(m), bw.rows.at(m)});
    const AwqScales s = block_objective ? awq_search_scales(mean, block_objective(g.members), options)
                                        : awq_search_scales(linears, mean, plans.at(g.root).grid, form_for(st.h, cols), options);
    apply_scales(model, g, s.scales, bw, st, emit_float, static_cast<bool>(block_objective));
    reports.push_back({g.root, g.prev_linear.empty() ? g.vectors.front() : g.prev_linear, s.alpha, s.error, s.rtn_error});
  }
  return reports;
}

std::vector<std::string> smoothquant_block(Model& model, const std::string& prefix, const std::vector<std::string>& names,
                                           const std::map<std::string, std::string>& input_of, std::map<std::string, InputStats>& stats,
                                           const std::map<std::string, LayerPlan>& plans, BlockWeights& bw, double alpha,
                                           const std::function<void(const std::string&, const Tensor&)>& emit_float) {
  if (!(alpha >= 0 && alpha <= 1)) throw Error(ErrorCategory::InvalidArgument, "SmoothQuant: alpha must be in [0, 1]");
  std::vector<std::string> smoothed;
  for (const ScaleGroup& g : scale_groups(prefix, names, input_of, plans, bw, WeightMethod::Rtn)) {
    if (g.vectors.empty() || !g.prev_linear.empty()) continue;  // the paper smooths the inputs a norm produces
    InputStats& st = stats.at(g.root);
    const int64_t cols = bw.cols.at(g.root);
    std::vector<float> sc(static_cast<size_t>(cols), 1.0f);
    for (int64_t j = 0; j < cols; ++j) {
      double wmax = 0;  // max |W[:, j]| over every linear reading the input
      for (const auto& m : g.members)
        for (int64_t r = 0; r < bw.rows.at(m); ++r) wmax = std::max<double>(wmax, std::fabs(bw.w.at(m)[static_cast<size_t>(r * cols + j)]));
      const double xmax = st.abs_max[static_cast<size_t>(j)];
      // s_j = max|X_j|^α / max|W_j|^(1−α); a channel never excited, or all-zero weights, keeps s = 1
      if (xmax > 0 && wmax > 0) sc[static_cast<size_t>(j)] = static_cast<float>(std::pow(xmax, alpha) / std::pow(wmax, 1 - alpha));
    }
    apply_scales(model, g, sc, bw, st, emit_float, true);
    smoothed.push_back(g.root);
  }
  return smoothed;
}

BlockObjective block_output_objective(Model& model, int64_t block, const std::vector<std::vector<float>>& hidden,
                                      int64_t search_tokens, const BlockWeights& bw, const std::map<std::string, LayerPlan>& plans) {
  struct Samples {
    std::vector<std::vector<float>> x, y;  // inputs, and the float block's outputs on them
  };
  auto samples = std::make_shared<Samples>();
  const int64_t d = model.config().hidden_size;
  int64_t tokens = 0;
  for (const auto& h : hidden) {  // whole samples up to search_tokens
    const auto n = static_cast<int64_t>(h.size()) / d;
    if (!samples->x.empty() && tokens + n > search_tokens) break;
    samples->x.push_back(h);
    std::vector<float> y = h;
    model.reset();
    model.run_block(block, y);
    samples->y.push_back(std::move(y));
    tokens += n;
  }
  auto f32 = [&bw](const std::string& m, const std::vector<float>& v) { return Tensor::from_vector({bw.rows.at(m), bw.cols.at(m)}, v); };
  return [&model, block, samples, &bw, &plans, f32](const std::vector<std::string>& members) -> AwqObjective {
    return [&model, block, samples, &bw, &plans, f32, members](std::span<const float> s) {
      for (const auto& m : members) {  // the candidate: Q(W·s)/s in the engine
        const int64_t rows = bw.rows.at(m), cols = bw.cols.at(m);
        std::vector<float> scaled(bw.w.at(m));
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < cols; ++j) scaled[static_cast<size_t>(r * cols + j)] *= s[static_cast<size_t>(j)];
        const QuantizedMatrix q = quantize_rtn(scaled, rows, cols, plans.at(m).grid);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < cols; ++j) scaled[static_cast<size_t>(r * cols + j)] = q.value(r, j) / s[static_cast<size_t>(j)];
        model.set_linear_weight(m, f32(m, scaled));
      }
      double err = 0;
      for (size_t k = 0; k < samples->x.size(); ++k) {
        std::vector<float> y = samples->x[k];
        model.reset();
        model.run_block(block, y);
        for (size_t i = 0; i < y.size(); ++i) {
          const double e = static_cast<double>(y[i]) - samples->y[k][i];
          err += e * e;
        }
      }
      for (const auto& m : members) model.set_linear_weight(m, f32(m, bw.w.at(m)));  // back to the float weights
      return err;
    };
  };
}

}  // namespace qforge::pipeline
