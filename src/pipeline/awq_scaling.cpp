#include "pipeline/awq_scaling.h"

#include "qforge/error.h"

namespace qforge::pipeline {
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
  const bool has_gate = bw.w.count(prefix + "ffn_gate.weight") != 0;
  for (const std::string& root : names) {
    if (!input_of.count(root) || input_of.at(root) != root) continue;  // one group per input
    std::vector<std::string> members;
    for (const std::string& n : names)
      if (input_of.count(n) && input_of.at(n) == root) members.push_back(n);
    bool all_awq = true;  // and quantizable: rows that do not split into groups stay float, unscaled
    for (const auto& m : members)
      all_awq = all_awq && plans.at(m).method == WeightMethod::Awq && !plans.at(m).keep_float && plans.at(m).grid.fits(bw.cols.at(m));
    if (!all_awq) continue;
    // What absorbs 1/s: the norm before the attention or the MLP, or the linear whose outputs
    // this input is, channel for channel.
    std::vector<std::string> vectors;
    std::string prev_linear;
    const std::string first = root.substr(prefix.size());
    if (first == "attn_q.weight" || first == "attn_qkv.weight") {
      vectors = {prefix + "attn_norm.weight", prefix + "attn_norm.bias"};
    } else if (first == "ffn_gate.weight" || (first == "ffn_up.weight" && !has_gate)) {
      vectors = {prefix + "ffn_norm.weight", prefix + "ffn_norm.bias"};
    } else if (first == "ffn_down.weight" && has_gate) {  // down reads silu(gate)·up: up's rows absorb it
      prev_linear = prefix + "ffn_up.weight";
    } else if (first == "attn_output.weight" && bw.w.count(prefix + "attn_v.weight") &&
               bw.rows.at(prefix + "attn_v.weight") == bw.cols.at(root)) {  // o reads softmax·v: v's rows (no GQA)
      prev_linear = prefix + "attn_v.weight";
      vectors = {prefix + "attn_v.bias"};
    } else {
      continue;
    }
    // A linear that absorbs 1/s must itself be rewritten: one left in float keeps the file's rows.
    if (!prev_linear.empty() && (plans.at(prev_linear).keep_float || !plans.at(prev_linear).grid.fits(bw.cols.at(prev_linear))))
      continue;
    InputStats& st = stats.at(root);
    const int64_t cols = bw.cols.at(root);
    std::vector<double> mean(static_cast<size_t>(cols));
    for (int64_t j = 0; j < cols; ++j) mean[static_cast<size_t>(j)] = st.abs_sum[static_cast<size_t>(j)] / static_cast<double>(st.tokens);
    std::vector<AwqLinear> linears;
    for (const auto& m : members) linears.push_back({bw.w.at(m), bw.rows.at(m)});
    const AwqScales s = block_objective ? awq_search_scales(mean, block_objective(members), options)
                                        : awq_search_scales(linears, mean, plans.at(root).grid, form_for(st.h, cols), options);
    const std::vector<float>& sc = s.scales;
    for (const auto& m : members) {
      auto& w = bw.w.at(m);
      for (int64_t r = 0; r < bw.rows.at(m); ++r)
        for (int64_t j = 0; j < cols; ++j) w[static_cast<size_t>(r * cols + j)] *= sc[static_cast<size_t>(j)];
      bw.col_scale[m] = sc;
    }
    for (const auto& v : vectors) {
      if (!model.has_vector(v)) continue;
      Tensor t = Tensor::zeros(DType::f32, {cols});
      float* p = static_cast<float*>(t.mutable_data());
      const Tensor& cur = model.vector(v);
      for (int64_t j = 0; j < cols; ++j) p[j] = cur.span<float>()[static_cast<size_t>(j)] / sc[static_cast<size_t>(j)];
      emit_float(v, t);
      model.set_vector(v, std::move(t));
    }
    if (!prev_linear.empty()) {
      auto& w = bw.w.at(prev_linear);
      const int64_t pc = bw.cols.at(prev_linear);
      for (int64_t r = 0; r < cols; ++r)
        for (int64_t j = 0; j < pc; ++j) w[static_cast<size_t>(r * pc + j)] /= sc[static_cast<size_t>(r)];
      bw.row_fold[prev_linear] = sc;
    }
    if (block_objective) {  // the engine's block computes its float function again, in the scaled space
      std::vector<std::string> changed = members;
      if (!prev_linear.empty()) changed.push_back(prev_linear);
      for (const auto& m : changed) {
        Tensor t = Tensor::zeros(DType::f32, {bw.rows.at(m), bw.cols.at(m)});
        std::copy(bw.w.at(m).begin(), bw.w.at(m).end(), t.mutable_span<float>().begin());
        model.set_linear_weight(m, std::move(t));
      }
    }
    st.h_scaled.assign(st.h.size(), 0.0);  // H of x/s
    for (int64_t i = 0; i < cols; ++i)
      for (int64_t j = 0; j < cols; ++j)
        st.h_scaled[static_cast<size_t>(i * cols + j)] = st.h[static_cast<size_t>(i * cols + j)] / (static_cast<double>(sc[static_cast<size_t>(i)]) * sc[static_cast<size_t>(j)]);
    reports.push_back({root, prev_linear.empty() ? vectors.front() : prev_linear, s.alpha, s.error, s.rtn_error});
  }
  return reports;
}

}  // namespace qforge::pipeline
