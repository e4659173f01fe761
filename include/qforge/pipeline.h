// The layer-by-layer weight-quantization driver: calibration samples go through one
// transformer block at a time; each linear layer's input statistics (H = Σ x xᵀ) feed the
// method; the block's quantized weights replace the float ones before its outputs become
// the next block's inputs (GPTQ's "sequential" mode). docs/quantize.md describes the flow.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "qforge/act_quant.h"
#include "qforge/model_file.h"
#include "qforge/observer.h"
#include "qforge/weight_quant.h"

namespace qforge {

class Model;

struct CalibrationSet {
  std::vector<std::vector<int32_t>> samples;
  std::string description;  // what the samples are, for reports: "128 × 512 tokens from …"

  int64_t tokens() const;
};

// `samples` windows of `seqlen` tokens at seeded random offsets in `tokens` (GPTQ's loaders'
// protocol), each starting with `bos` when given. Throws when the text is shorter than a window.
CalibrationSet calibration_windows(std::span<const int32_t> tokens, int64_t samples, int64_t seqlen, uint64_t seed,
                                   std::optional<int32_t> bos, const std::string& source);
// Uniformly random token ids (for speed measurements on models with random weights).
CalibrationSet random_calibration(int64_t vocab_size, int64_t samples, int64_t seqlen, uint64_t seed,
                                  std::optional<int32_t> bos);
// Text the model writes itself (temperature 1 from BOS, seeded): calibration without a dataset.
CalibrationSet self_generated_calibration(Model& model, int64_t samples, int64_t seqlen, uint64_t seed, int32_t bos,
                                          const std::function<void(int64_t done, int64_t total)>& progress = {});

enum class WeightMethod { Rtn, Gptq, Hqq, Awq };
std::string_view weight_method_name(WeightMethod m);
WeightMethod parse_weight_method(std::string_view name);  // throws listing the methods

// One layer's method and grid (what a Recipe resolves for it).
struct LayerPlan {
  WeightMethod method = WeightMethod::Rtn;
  WeightGrid grid;
  std::string method_name = "rtn";  // as the user named it (nf4 and bitnet are rtn on their grids)
  bool keep_float = false;
};

struct QuantizeOptions {
  WeightMethod method = WeightMethod::Rtn;  // every layer's, unless `plan` is set
  WeightGrid grid;
  // Per layer (canonical name): overrides method/grid; also asked for the embeddings and the
  // output head, which are quantized (data-free methods only) when it does not keep them.
  std::function<LayerPlan(const std::string& name)> plan;
  GptqOptions gptq;
  HqqOptions hqq;
  AwqOptions awq;
  bool sequential = true;  // next block's inputs from the quantized block (false: from the float one)
  // W8A8 (issue 8): every quantized linear's input quantized at run time — dynamic per token,
  // static with a range from `observer` on the calibration inputs, or LLM.int8(). Needs int8
  // sym per-channel weights.
  ActMode act_mode = ActMode::None;
  ObserverOptions observer;
  float llm_threshold = 6.0f;
  double smooth_alpha = -1;  // >= 0: SmoothQuant with this α on the norm-fed inputs first (needs calibration)
  int threads = 2;
};

struct LayerReport {
  std::string name;
  int64_t block = 0, rows = 0, cols = 0;
  bool quantized = false;
  std::string method, grid;     // what it got
  std::string note;             // why a layer stayed in float
  double weight_sqnr_db = 0;    // 10·log10(‖W‖² / ‖W − Ŵ‖²)
  // ‖(W − Ŵ)Xᵀ‖² / ‖W Xᵀ‖² over the calibration inputs, for this method and for RTN on the
  // same grid (NaN without calibration data).
  double output_error = std::numeric_limits<double>::quiet_NaN();
  double rtn_output_error = std::numeric_limits<double>::quiet_NaN();
  double output_signal = 0;     // ‖W Xᵀ‖², to turn the relative errors back into absolute ones
  std::string input;            // the first linear reading the same input (q, k, v share q's)
  // HQQ: Σ|W − Ŵ|^p (its own norm, p = options.hqq.lp_norm) for HQQ and for RTN on the same grid.
  double lp_error = std::numeric_limits<double>::quiet_NaN();
  double rtn_lp_error = std::numeric_limits<double>::quiet_NaN();
  double awq_alpha = -1;        // AWQ: the chosen α of the layer's input (−1: not scaled)
  double damp = 0;              // GPTQ: the damping that factored H
  int64_t dead_columns = 0;     // GPTQ: inputs the calibration never excited
  ActQuantSpec act;             // W8A8: how the input is quantized (static: the observed range, clipped share)
  // llm-int8 with calibration: the share of input columns whose max |x| reached the threshold
  double outlier_fraction = std::numeric_limits<double>::quiet_NaN();
  double seconds = 0;
};

struct QuantizeProgress {
  int64_t block = 0, blocks = 0;  // blocks done, of all
  double seconds = 0, eta_seconds = 0;
};

struct QuantizeSummary {
  std::vector<LayerReport> layers;
  std::map<std::string, ActQuantSpec> act;  // W8A8: per quantized linear
  double seconds = 0;
  int64_t calibration_tokens = 0;
  uint64_t peak_rss_bytes = 0;  // of the process, as the kernel reports it (0 where unknown)
  // The largest private (anonymous) resident memory seen after each layer and block: what the
  // run itself needs, without the file pages the kernel maps and may drop (0 where unknown).
  uint64_t peak_private_bytes = 0;
};

// Quantizes every linear layer inside the blocks of `file` (the embeddings and the output
// head are left to the writer) and passes each result to `emit` as soon as it exists.
// GPTQ and AWQ need `calib`; RTN and HQQ use it only to report output errors. Layers whose
// rows are not a whole number of groups stay in float (reported with the reason).
// AWQ rescales norm weights and biases: those go to `emit_float` (f32), to be written in place
// of the file's.
QuantizeSummary quantize_model(const ModelFile& file, const CalibrationSet* calib, const QuantizeOptions& options,
                               const std::function<void(const std::string&, const QuantizedMatrix&)>& emit,
                               const std::function<void(const QuantizeProgress&)>& progress = {},
                               const std::function<void(const std::string&, const Tensor&)>& emit_float = {});

}  // namespace qforge
