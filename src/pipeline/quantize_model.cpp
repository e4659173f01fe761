// quantize_model: calibration through one block at a time, each linear quantized from its
// input statistics, the quantized block's outputs feeding the next block.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include "engine/thread_pool.h"
#include "kernels/dot/dot_kernels.h"
#include "pipeline/awq_scaling.h"
#include "qforge/engine.h"
#include "qforge/error.h"
#include "qforge/metrics.h"
#include "qforge/observer.h"
#include "qforge/pipeline.h"

namespace qforge {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A field of /proc/self/status in bytes ("VmHWM:  1234 kB"); 0 where there is none.
uint64_t status_bytes(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(field);
  while (std::getline(status, line))
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':') return std::stoull(line.substr(n + 1)) * 1024;
  return 0;
}

// H += XᵀX for X = n × in, through the f32 matmul kernel on Xᵀ (rows of H split over threads).
void accumulate_hessian(engine::ThreadPool& pool, const float* x, int64_t n, int64_t in, std::vector<double>& h) {
  std::vector<float> xt(static_cast<size_t>(n * in)), part(static_cast<size_t>(in * in));
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < in; ++i) xt[static_cast<size_t>(i * n + t)] = x[t * in + i];
  const kernels::DotKernels& k = kernels::dot_kernels();
  const auto* rows = reinterpret_cast<const uint8_t*>(xt.data());
  const size_t row_bytes = static_cast<size_t>(n) * sizeof(float);
  pool.parallel_for(in, [&](int64_t b, int64_t e) {
    k.matmul.f32({rows + static_cast<size_t>(b) * row_bytes, row_bytes, e - b, xt.data(), in, n, part.data() + b, in});
  });
  for (size_t i = 0; i < h.size(); ++i) h[i] += part[i];
}

// Σ_rows mᵀ H m for the rows of m (rows × cols): ‖m Xᵀ‖² when H = XᵀX.
double quadratic_sum(engine::ThreadPool& pool, const std::vector<float>& hf, const float* m, int64_t rows, int64_t cols) {
  std::vector<float> mh(static_cast<size_t>(rows * cols));
  const kernels::DotKernels& k = kernels::dot_kernels();
  const auto* hrows = reinterpret_cast<const uint8_t*>(hf.data());
  const size_t row_bytes = static_cast<size_t>(cols) * sizeof(float);
  pool.parallel_for(cols, [&](int64_t b, int64_t e) {
    k.matmul.f32({hrows + static_cast<size_t>(b) * row_bytes, row_bytes, e - b, m, rows, cols, mh.data() + b, cols});
  });
  double s = 0;
  for (size_t i = 0; i < mh.size(); ++i) s += static_cast<double>(mh[i]) * static_cast<double>(m[i]);
  return s;
}

std::vector<float> difference(std::span<const float> w, const Tensor& wq) {
  const auto q = wq.span<float>();
  std::vector<float> d(w.size());
  for (size_t i = 0; i < w.size(); ++i) d[i] = w[i] - q[i];
  return d;
}

// The weights [rows, cols] that q holds (HQQ axis 0 holds them regrouped).
Tensor dequantize_as(const QuantizedMatrix& q, int64_t rows, int64_t cols) {
  Tensor t = q.dequantize();
  if (!q.grid.axis0) return t;
  Tensor w = Tensor::zeros(DType::f32, {rows, cols});
  axis0_scatter(t.span<float>(), q.grid.group_size, w.mutable_span<float>());
  return w;
}

// RTN on the groups q uses (HQQ's reference point).
QuantizedMatrix rtn_like(const QuantizedMatrix& q, std::span<const float> w) {
  if (!q.grid.axis0) return quantize_rtn(w, q.rows, q.cols, q.grid);
  QuantizedMatrix r = quantize_rtn(axis0_groups(w, q.grid.group_size), q.rows, q.cols, q.grid);
  r.grid.axis0 = true;
  return r;
}

}  // namespace

std::string_view weight_method_name(WeightMethod m) {
  switch (m) {
    case WeightMethod::Gptq: return "gptq";
    case WeightMethod::Hqq: return "hqq";
    case WeightMethod::Awq: return "awq";
    case WeightMethod::Rtn: break;
  }
  return "rtn";
}

WeightMethod parse_weight_method(std::string_view name) {
  if (name == "rtn") return WeightMethod::Rtn;
  if (name == "gptq") return WeightMethod::Gptq;
  if (name == "hqq") return WeightMethod::Hqq;
  if (name == "awq") return WeightMethod::Awq;
  throw Error(ErrorCategory::InvalidArgument, "unknown method '" + std::string(name) + "'; supported: rtn, gptq, hqq, awq");
}

QuantizeSummary quantize_model(const ModelFile& file, const CalibrationSet* calib, const QuantizeOptions& o,
                               const std::function<void(const std::string&, const QuantizedMatrix&)>& emit,
                               const std::function<void(const QuantizeProgress&)>& progress,
                               const std::function<void(const std::string&, const Tensor&)>& emit_float) {
  const bool needs_data = o.method == WeightMethod::Gptq || o.method == WeightMethod::Awq;
  if (!o.plan && needs_data && (!calib || calib->samples.empty()))
    throw Error(ErrorCategory::InvalidArgument, std::string(weight_method_name(o.method)) + " needs calibration samples");
  const auto plan_for = [&](const std::string& name) {
    return o.plan ? o.plan(name) : LayerPlan{o.method, o.grid, std::string(weight_method_name(o.method)), false};
  };
  const auto start = Clock::now();
  const bool with_data = calib && !calib->samples.empty();
  if (act_is_calibrated(o.act_mode) && !with_data)
    throw Error(ErrorCategory::InvalidArgument, "static activation quantization needs calibration samples for its ranges");
  // Float weights run as stored (mmapped f32/f16/bf16, no f32 copy of the model); a quantized
  // source is dequantized so calibration sees exact values, not the int8-activation path.
  // Each block's weights are freed once its outputs are computed: peak memory ≈ one block in
  // f32 + the calibration activations + the results so far.
  bool float_source = true;
  for (const auto& t : file.tensors) float_source = float_source && !t.block && !t.packed;
  int64_t longest = 1;
  if (calib)
    for (const auto& s : calib->samples) longest = std::max<int64_t>(longest, static_cast<int64_t>(s.size()));
  auto model = Model::load(file, {.threads = o.threads, .context = std::min(longest, file.config->context_length), .dequantize = !float_source});
  engine::ThreadPool pool(o.threads);
  const ParallelFor par = [&](int64_t n, const std::function<void(int64_t, int64_t)>& body) { pool.parallel_for(n, body); };

  QuantizeSummary summary;
  const auto sample_memory = [&summary] { summary.peak_private_bytes = std::max(summary.peak_private_bytes, status_bytes("RssAnon")); };
  summary.calibration_tokens = with_data ? calib->tokens() : 0;
  std::vector<std::vector<float>> hidden;
  if (with_data)
    for (const auto& s : calib->samples) {
      if (static_cast<int64_t>(s.size()) > model->context())
        throw Error(ErrorCategory::InvalidArgument, "a calibration sample of " + std::to_string(s.size()) +
                                                        " tokens exceeds the model's context of " + std::to_string(model->context()));
      model->reset();
      hidden.push_back(model->embed(s));
    }

  const int64_t blocks = model->num_blocks();
  for (int64_t b = 0; b < blocks; ++b) {
    const std::vector<std::string>& names = model->block_linears(b);
    const std::set<std::string> in_block(names.begin(), names.end());
    // Linears reading the same activations (q, k, v) share one H, keyed by the first of them.
    std::map<std::string, pipeline::InputStats> stats;
    std::map<std::string, Observer> observers;  // static W8A8: the range of each input
    std::map<std::string, std::string> input_of;
    std::vector<std::vector<float>> outputs;
    if (with_data) {
      const float* last_x = nullptr;
      std::string last_name;
      model->set_observer([&](const std::string& name, const float* x, int64_t n, int64_t in) {
        if (!in_block.count(name)) return;
        if (x == last_x && input_of.count(last_name)) {
          input_of[name] = input_of[last_name];
        } else {
          input_of[name] = name;
          pipeline::InputStats& st = stats[name];
          if (st.h.empty()) {
            st.h.assign(static_cast<size_t>(in * in), 0.0);
            st.abs_sum.assign(static_cast<size_t>(in), 0.0);
            st.abs_max.assign(static_cast<size_t>(in), 0.0f);
          }
          if (act_is_calibrated(o.act_mode)) observers.try_emplace(name, o.observer).first->second.observe({x, static_cast<size_t>(n * in)}, name + " input");
          accumulate_hessian(pool, x, n, in, st.h);
          for (int64_t t = 0; t < n; ++t)
            for (int64_t i = 0; i < in; ++i) {
              st.abs_sum[static_cast<size_t>(i)] += std::fabs(x[t * in + i]);
              st.abs_max[static_cast<size_t>(i)] = std::max(st.abs_max[static_cast<size_t>(i)], std::fabs(x[t * in + i]));
            }
          st.tokens += n;
        }
        last_x = x;
        last_name = name;
      });
      for (auto& x : hidden) {
        std::vector<float> y = x;
        model->reset();
        model->run_block(b, y);
        last_x = nullptr;
        if (!o.sequential) outputs.push_back(std::move(y));
      }
      model->set_observer(nullptr);
      sample_memory();
    }

    // The block's weights in f32, as they will be quantized (AWQ rescales them first).
    pipeline::BlockWeights bw;
    std::map<std::string, Tensor> original;  // the file's weights, decoded once, for the report
    std::map<std::string, LayerPlan> plans;
    bool any_awq = false;
    for (const std::string& name : names) {
      const ModelTensor* mt = file.find(name);
      if (!mt) throw Error(ErrorCategory::BadFile, file.path + ": missing tensor " + name);
      const Tensor& t = original[name] = tensor_to_f32(*mt);
      bw.w[name].assign(t.span<float>().begin(), t.span<float>().end());
      bw.rows[name] = mt->shape[0];
      bw.cols[name] = mt->shape[1];
      plans[name] = plan_for(name);
      any_awq = any_awq || (plans[name].method == WeightMethod::Awq && !plans[name].keep_float);
    }
    if (o.smooth_alpha >= 0) {
      if (!with_data) throw Error(ErrorCategory::InvalidArgument, "SmoothQuant needs calibration samples for max|x|");
      const std::vector<std::string> smoothed = pipeline::smoothquant_block(
          *model, "blk." + std::to_string(b) + ".", names, input_of, stats, plans, bw, o.smooth_alpha,
          emit_float ? emit_float : [](const std::string&, const Tensor&) {});
      if (act_is_calibrated(o.act_mode) && !smoothed.empty()) {  // the static ranges are those of the smoothed inputs x/s
        for (const auto& root : smoothed) observers.erase(root);
        model->set_observer([&](const std::string& name, const float* x, int64_t n, int64_t in) {
          if (std::find(smoothed.begin(), smoothed.end(), name) != smoothed.end())
            observers.try_emplace(name, o.observer).first->second.observe({x, static_cast<size_t>(n * in)}, name + " input");
        });
        for (const auto& x : hidden) {
          std::vector<float> y = x;
          model->reset();
          model->run_block(b, y);
        }
        model->set_observer(nullptr);
      }
    }
    std::map<std::string, double> alpha_of;
    if (any_awq) {
      if (!with_data) throw Error(ErrorCategory::InvalidArgument, "awq needs calibration samples");
      if (act_is_calibrated(o.act_mode))  // AWQ rescales the inputs after their ranges were observed
        throw Error(ErrorCategory::InvalidArgument, "static activation ranges and AWQ's input scaling do not combine; use rtn or gptq weights");
      const auto form_for = [&](const std::vector<double>& hd, int64_t cols) -> QuadraticForm {
        auto hf = std::make_shared<std::vector<float>>(hd.begin(), hd.end());
        return [&pool, hf, cols](const float* d, int64_t rows) { return quadratic_sum(pool, *hf, d, rows, cols); };
      };
      const std::string prefix = "blk." + std::to_string(b) + ".";
      const pipeline::BlockObjective objective =
          o.awq.block_objective ? pipeline::block_output_objective(*model, b, hidden, o.awq.search_tokens, bw, plans) : nullptr;
      for (const auto& g : pipeline::awq_scale_block(*model, prefix, names, input_of, stats, plans, bw, o.awq, form_for,
                                                      emit_float ? emit_float : [](const std::string&, const Tensor&) {}, objective))
        for (const auto& [n, root] : input_of)
          if (root == g.input) alpha_of[n] = g.alpha;
    }

    std::map<std::string, std::unique_ptr<GptqHessian>> factored;
    for (const std::string& name : names) {
      const auto t0 = Clock::now();
      const ModelTensor* mt = file.find(name);
      LayerReport r;
      r.name = name;
      r.block = b;
      r.rows = mt->shape[0];
      r.cols = mt->shape[1];
      const LayerPlan& plan = plans.at(name);
      r.method = plan.method_name;
      r.grid = plan.grid.describe();
      if (plan.keep_float) {
        r.note = "kept in float by the recipe";
        summary.layers.push_back(r);
        continue;
      }
      if (!plan.grid.fits(r.cols)) {
        r.note = "rows of " + std::to_string(r.cols) + " are not a whole number of groups of " + std::to_string(plan.grid.group_size);
        summary.layers.push_back(r);
        continue;
      }
      if (plan.method == WeightMethod::Gptq && !with_data)
        throw Error(ErrorCategory::InvalidArgument, name + ": gptq needs calibration samples");
      const std::span<const float> w = original.at(name).span<float>();  // the original weights, for the report
      const std::span<const float> wq_in = bw.w.at(name);      // what is quantized (AWQ-scaled)
      const std::vector<double>* hn = with_data ? &stats.at(input_of.at(name)).h : nullptr;
      QuantizedMatrix q;
      const WeightGrid& grid = plan.grid;
      if (plan.method == WeightMethod::Gptq) {
        auto& f = factored[input_of.at(name)];
        if (!f) f = std::make_unique<GptqHessian>(*hn, r.cols, o.gptq);
        q = quantize_gptq(wq_in, r.rows, r.cols, *f, grid, o.gptq, par);
        r.damp = f->damp_used();
        r.dead_columns = f->dead_columns();
      } else if (plan.method == WeightMethod::Hqq) {
        q = quantize_hqq(wq_in, r.rows, r.cols, grid, o.hqq);
        r.lp_error = lp_error(wq_in, q, o.hqq.lp_norm);
        r.rtn_lp_error = lp_error(wq_in, rtn_like(q, wq_in), o.hqq.lp_norm);
      } else if (plan.method == WeightMethod::Awq) {
        // q and k are not clipped (AWQ: their product through the softmax makes clipping errors hard to judge).
        const bool clip = name.find(".attn_q.") == std::string::npos && name.find(".attn_k.") == std::string::npos;
        const std::vector<double>& hs = stats.at(input_of.at(name)).current_h();
        q = clip ? awq_clip_quantize(wq_in, r.rows, r.cols, hs, grid, o.awq) : quantize_rtn(wq_in, r.rows, r.cols, grid);
        r.awq_alpha = alpha_of.count(name) ? alpha_of.at(name) : -1;
      } else {
        q = quantize_rtn(wq_in, r.rows, r.cols, grid);
      }
      Tensor wq = dequantize_as(q, r.rows, r.cols);
      // The errors are measured in the original space: AWQ's scales undone.
      Tensor wo = Tensor::zeros(DType::f32, {r.rows, r.cols});
      {
        float* p = static_cast<float*>(wo.mutable_data());
        const auto v = wq.span<float>();
        for (int64_t i = 0; i < r.rows; ++i)
          for (int64_t j = 0; j < r.cols; ++j)
            p[i * r.cols + j] = bw.original_value(name, i, j, v[static_cast<size_t>(i * r.cols + j)]);
      }
      r.quantized = true;
      r.weight_sqnr_db = sqnr_db(w, wo.span<float>());
      if (hn) {
        const std::vector<float> hf(hn->begin(), hn->end());
        const double signal = quadratic_sum(pool, hf, w.data(), r.rows, r.cols);
        r.output_signal = signal;
        r.input = input_of.at(name);
        r.output_error = quadratic_sum(pool, hf, difference(w, wo).data(), r.rows, r.cols) / signal;
        if (plan.method == WeightMethod::Rtn) {
          r.rtn_output_error = r.output_error;
        } else {
          const Tensor rq = quantize_rtn(w, r.rows, r.cols, grid).dequantize();
          r.rtn_output_error = quadratic_sum(pool, hf, difference(w, rq).data(), r.rows, r.cols) / signal;
        }
      }
      if (o.act_mode != ActMode::None) {
        if (!act_accepts(o.act_mode, grid))
          throw Error(ErrorCategory::InvalidArgument, name + ": " + std::string(act_mode_name(o.act_mode)) + " activations take " +
                                                          act_weight_requirement(o.act_mode) + ", not " + grid.describe());
        r.act.mode = o.act_mode;
        r.act.threshold = o.llm_threshold;
        if (o.act_mode == ActMode::Dynamic) r.act.scheme.reduce_range = o.observer.scheme.reduce_range;  // codes ±63
        if (act_is_calibrated(o.act_mode)) {
          const Observer& ob = observers.at(input_of.at(name));
          const ObservedRange range = ob.range();
          r.act.scheme = o.observer.scheme;
          // fp8: the range's larger end lands on e4m3's largest finite value, 448
          r.act.act = o.act_mode == ActMode::Fp8 ? ScaleZero{std::max(std::fabs(range.lo), std::fabs(range.hi)) / 448.0f, 0}
                                                 : choose_scale_zero(range.lo, range.hi, o.observer.scheme);
          r.act.observer = std::string(observer_name(o.observer.kind));
          r.act.lo = range.lo;
          r.act.hi = range.hi;
          r.act.clipped_fraction = range.clipped_fraction;
        }
        if (o.act_mode == ActMode::LlmInt8 && with_data) {
          const auto& mx = stats.at(input_of.at(name)).abs_max;
          r.outlier_fraction = static_cast<double>(std::count_if(mx.begin(), mx.end(), [&](float v) { return v >= o.llm_threshold; })) /
                               static_cast<double>(mx.size());
        }
        summary.act[name] = r.act;
      }
      emit(name, q);
      model->set_linear_weight(name, std::move(wq));
      sample_memory();
      r.seconds = since(t0);
      summary.layers.push_back(std::move(r));
    }
    if (with_data) {
      if (o.sequential) {
        for (auto& x : hidden) {
          model->reset();
          model->run_block(b, x);
        }
      } else {
        hidden = std::move(outputs);
      }
    }
    sample_memory();
    model->release_block(b);
    if (progress) {
      const double s = since(start);
      progress({b + 1, blocks, s, s / static_cast<double>(b + 1) * static_cast<double>(blocks - b - 1)});
    }
  }
  // The embeddings and the output head, when the plan quantizes them (data-free methods: their
  // inputs are not observed).
  for (const char* name : {"token_embd.weight", "output.weight"}) {
    const ModelTensor* mt = file.find(name);
    if (!mt || mt->shape.size() != 2 || !o.plan) continue;
    const LayerPlan plan = o.plan(name);
    if (plan.keep_float) continue;
    if (plan.method == WeightMethod::Gptq || plan.method == WeightMethod::Awq)
      throw Error(ErrorCategory::InvalidArgument, std::string(name) + ": " + plan.method_name +
                                                      " needs the layer's inputs, which the pipeline does not observe here; give it rtn or hqq");
    const auto t0 = Clock::now();
    LayerReport r;
    r.name = name;
    r.block = -1;
    r.rows = mt->shape[0];
    r.cols = mt->shape[1];
    r.method = plan.method_name;
    r.grid = plan.grid.describe();
    if (!plan.grid.fits(r.cols)) {
      r.note = "rows of " + std::to_string(r.cols) + " are not a whole number of groups of " + std::to_string(plan.grid.group_size);
      summary.layers.push_back(r);
      continue;
    }
    const Tensor wt = tensor_to_f32(*mt);
    const auto w = wt.span<float>();
    const QuantizedMatrix q = plan.method == WeightMethod::Hqq ? quantize_hqq(w, r.rows, r.cols, plan.grid, o.hqq)
                                                               : quantize_rtn(w, r.rows, r.cols, plan.grid);
    const Tensor wq = dequantize_as(q, r.rows, r.cols);
    r.quantized = true;
    r.weight_sqnr_db = sqnr_db(w, wq.span<float>());
    emit(name, q);
    r.seconds = since(t0);
    summary.layers.push_back(std::move(r));
  }
  summary.seconds = since(start);
  sample_memory();
  summary.peak_rss_bytes = status_bytes("VmHWM");
  return summary;
}

}  // namespace qforge
