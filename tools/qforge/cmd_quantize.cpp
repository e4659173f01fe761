// qforge quantize: the weight-quantization pipeline's command line (kUsage lists the options).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "args.h"
#include "commands.h"
#include "model_summary.h"
#include "qforge/atomic_file.h"
#include "qforge/engine.h"
#include "qforge/error.h"
#include "qforge/gptq_checkpoint.h"
#include "qforge/mapped_file.h"
#include "qforge/model_writer.h"
#include "qforge/pipeline.h"
#include "qforge/qforge_checkpoint.h"
#include "qforge/recipe.h"
#include "qforge/tokenizer.h"

namespace qforge::cli {
namespace {

constexpr const char* kUsage =
    "usage: qforge quantize MODEL -o OUT.gguf|OUT.safetensors|OUT_DIR --format gptq [--method M]\n"
    "                       [--type T | --bits B --group-size G --sym|--asym]\n"
    "                       [--calib FILE|self|random] [--calib-samples N] [--calib-seqlen L] [--seed S]\n"
    "                       [--damp X] [--act-order] [--block N] [--no-sequential] [--double-quant] [--hqq-*] [--awq-*]\n"
    "                       [--others T] [--recipe FILE] [--report FILE] [-t N]\n"
    "  --method     rtn|gptq|awq|hqq|nf4|bitnet|fp8|fp16|bf16|dynamic|static|llm-int8|smoothquant:\n"
    "               rtn (round to nearest, data-free; default), gptq (Frantar et al., needs calibration),\n"
    "               awq (Lin et al.: activation-aware channel scales folded into the norms, and clipping;\n"
    "               needs calibration; --awq-objective block (default: each scale candidate judged by the\n"
    "               block's output on calibration samples, up to --awq-search-tokens 4096) or linear (by the\n"
    "               group's linear outputs through H: faster)),\n"
    "               hqq (Badri & Shaji, data-free: float zero points by half-quadratic lp minimisation;\n"
    "               grids q4_1/q5_1, or in qforge's checkpoint --bits B --group-size G, default 4 bits G=64;\n"
    "               --hqq-p 0.7, --hqq-iters 20; --hqq-scale: re-solve the scale too; --hqq-axis 0: groups\n"
    "               down the tensor viewed as [G, numel/G], as HQQ's axis=0, qforge's checkpoint only),\n"
    "               nf4 (QLoRA's NormalFloat4, blocks of --group-size 64, --double-quant: 8-bit absmax) or\n"
    "               bitnet (b1.58 ternary, γ = mean|W| per tensor); nf4 and bitnet write qforge's checkpoint;\n"
    "               fp8 (e4m3 weights, f32 scale max|w|/448 per channel or --group-size G; --act fp8: e4m3\n"
    "               activations too, one scale per input from calibration through --observer; qforge's checkpoint)\n"
    "               fp16|bf16 (every float tensor narrowed, as convert --type; GGUF or safetensors)\n"
    "               W8A8 (int8 sym per-channel weights, the activations quantized at run time; qforge's checkpoint):\n"
    "               dynamic (each token's own int8 scale), static (one range per input from calibration through\n"
    "               --observer minmax|moving-average|percentile|mse|kl, --percentile 99.99, --momentum 0.01;\n"
    "               u8 affine, or s8 with --act-sym); --reduce-range: 7-bit activation codes for either (faster on\n"
    "               AVX2 without VNNI, one bit of input precision less), llm-int8 (input columns with\n"
    "               |x| >= --threshold 6 in float, the rest dynamic int8), smoothquant (s = max|x|^α / max|w|^(1−α)\n"
    "               folded into the norms, --alpha 0.5, then W8A8 with --act static (default) or dynamic)\n"
    "  OUT.gguf     GGUF that llama.cpp runs: the grid is a block type, --type q8_0|q5_1|q5_0|q4_1|q4_0\n"
    "               (default q4_0) or the same as a scheme: --bits 8|5|4 --group-size 32 --sym|--asym\n"
    "  OUT.safetensors  qforge's checkpoint: any grid, --bits 2..8 --group-size G (0: per channel;\n"
    "               default 4 bits, G=128) --sym (GPTQ's symmetric rule, default) or --asym, or a --type\n"
    "  OUT_DIR --format gptq|gptq_v2  AutoGPTQ's layout, a Hugging Face folder that AutoGPTQ, GPTQModel\n"
    "               and transformers load: --bits 2|3|4|8, --group-size G (0: per channel), every linear of\n"
    "               the blocks on one grid; gptq (v1) stores zero points as z − 1 and so takes --sym only,\n"
    "               gptq_v2 (GPTQModel) takes --asym too\n"
    "  --calib      text to tokenize and cut into seeded random windows (GPTQ's protocol); 'self': text the\n"
    "               model generates itself (the default when gptq has no --calib); 'random': random token ids\n"
    "  --calib-samples N (default 128)  --calib-seqlen L (default 512, or the model's context if smaller)\n"
    "  --damp X     GPTQ damping as a fraction of mean(diag H) (default 0.01); --act-order: columns by\n"
    "               decreasing H_ii with static groups; --block N: lazy-batch width (default 128)\n"
    "  --no-sequential  next block's inputs from the float block instead of the quantized one\n"
    "  --others T   type of the tensors left in float: embeddings, output head, and layers whose rows do\n"
    "               not split into groups (default f16; norms stay f32; GGUF may name a block type)\n"
    "  --recipe FILE    JSON: {\"default\": {...}, \"rules\": [{\"match\": \"blk.*.ffn_down.weight\", \"bits\": 8}, ...]}\n"
    "               per-layer method/type/bits/group_size/sym/double_quant/keep by glob on canonical names;\n"
    "               embeddings and the output head stay float unless a rule names them\n"
    "  --report FILE    per-layer statistics (weight SQNR, output error vs RTN, time) as JSON\n";

double real_option(Args& args, const std::string& name, double fallback, double lo, double hi) {
  const auto v = args.option(name);
  if (!v) return fallback;
  size_t used = 0;
  double x = 0;
  try {
    x = std::stod(*v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v->size() || !(x >= lo && x <= hi))
    throw Error(ErrorCategory::InvalidArgument, "quantize: " + name + " wants a number in [" + std::to_string(lo) + ", " +
                                                    std::to_string(hi) + "], got '" + *v + "'");
  return x;
}

std::string kind_of(const std::string& name) {  // "blk.3.attn_q.weight" → "attn_q"
  const size_t a = name.find('.', 4), b = name.rfind('.');
  return a == std::string::npos || b <= a ? name : name.substr(a + 1, b - a - 1);
}

// Before any work: AutoGPTQ's layout holds every linear of the blocks, on one grid that fits it.
void check_gptq_plans(const ModelFile& f, const Recipe& recipe, GptqZeros zeros) {
  const LayerPlan main = recipe.default_plan();
  for (const auto& t : f.tensors) {
    if (t.shape.size() != 2) continue;
    const LayerPlan p = recipe.plan_for(t.name);
    if (t.name.rfind("blk.", 0) != 0) {
      if (!p.keep_float) throw Error(ErrorCategory::InvalidArgument, "quantize: --format gptq keeps " + t.name + " in float; the recipe quantizes it");
      continue;
    }
    if (p.keep_float) throw Error(ErrorCategory::InvalidArgument, "quantize: --format gptq stores every linear quantized; the recipe keeps " + t.name);
    if (p.grid.describe() != main.grid.describe())
      throw Error(ErrorCategory::InvalidArgument, "quantize: --format gptq holds one grid for every linear; " + t.name + " gets " +
                                                      p.grid.describe() + ", the others " + main.grid.describe());
    if (const std::string why = gptq_unfit_reason(p.grid, t.shape[0], t.shape[1]); !why.empty())
      throw Error(ErrorCategory::InvalidArgument, "quantize: --format gptq cannot hold " + t.name + " " + shape_to_string(t.shape) + ": " + why);
  }
  if (zeros == GptqZeros::V1 && main.grid.kind == GridKind::IntAffine)
    throw Error(ErrorCategory::InvalidArgument, "quantize: --format gptq (v1) stores zero points as z − 1 and cannot hold the zero "
                                                "points of 0 that --asym gives; use --sym, or --format gptq_v2 (GPTQModel, transformers)");
}

// --method fp16|bf16: the float modes, so that one table compares downcasting with integer
// quantization; every float tensor (norms included) is narrowed, as `qforge convert --type` does.
int write_float_model(const std::string& model, const std::string& out, DType type, bool other_options) {
  if (other_options)
    throw Error(ErrorCategory::InvalidArgument, "quantize: --method " + std::string(type == DType::f16 ? "fp16" : "bf16") +
                                                    " narrows every float tensor; it takes no grid, calibration, recipe or --act options");
  const ModelFile m = open_model(model);
  // safetensors: qforge's checkpoint (config and vocabulary inside, 1-D tensors kept f32), so it runs like the others
  const std::vector<WrittenTensor> written =
      out.ends_with(".gguf") ? write_gguf_model(m, out, type == DType::f16 ? GgmlType::F16 : GgmlType::BF16)
                             : write_qforge_checkpoint(m, out, {}, type, {{"qforge.quantization.method", std::string(dtype_name(type))}});
  uint64_t total = 0;
  for (const auto& w : written) total += w.bytes;
  std::printf("quantized %s → %s with %s: %zu tensors, %s of tensor data\n", model.c_str(), out.c_str(), std::string(dtype_name(type)).c_str(),
              written.size(), human_bytes(total).c_str());
  return 0;
}

}  // namespace

int cmd_quantize(std::span<const std::string> argv) {
  Args args("quantize", argv);
  if (args.flag("--help")) {
    std::printf("%s", kUsage);
    return 0;
  }
  const auto out = args.option("-o");
  std::string method_name = args.option("--method").value_or("rtn");
  const auto recipe_path = args.option("--recipe");
  const auto type = args.option("--type");
  const auto format = args.option("--format");
  const int64_t bits = args.integer("--bits", -1, 2, 8);
  const int64_t group = args.integer("--group-size", -1, 0, 1 << 20);
  std::optional<bool> sym;
  if (args.flag("--sym")) sym = true;
  if (args.flag("--asym")) {
    if (sym) throw Error(ErrorCategory::InvalidArgument, "quantize: --sym and --asym exclude each other");
    sym = false;
  }
  const bool double_quant = args.flag("--double-quant");
  const auto calib_arg = args.option("--calib");
  const int64_t samples = args.integer("--calib-samples", 128, 1, 1 << 20);
  const int64_t seqlen_arg = args.integer("--calib-seqlen", 512, 2, 1 << 24);
  const auto seed = static_cast<uint64_t>(args.integer("--seed", 0));
  QuantizeOptions o;
  o.gptq.damp = real_option(args, "--damp", 0.01, 0.0, 1.0);
  o.gptq.act_order = args.flag("--act-order");
  o.gptq.block = args.integer("--block", 128, 1, 1 << 20);
  o.hqq.lp_norm = real_option(args, "--hqq-p", 0.7, 0.05, 1.0);
  o.hqq.iters = static_cast<int>(args.integer("--hqq-iters", 20, 1, 10000));
  o.hqq.axis = static_cast<int>(args.integer("--hqq-axis", 1, 0, 1));
  const double alpha = real_option(args, "--alpha", 0.5, 0.0, 1.0);
  const auto act_opt = args.option("--act");
  const bool act_given = act_opt.has_value();
  const std::string act_arg = act_opt.value_or("static");
  const std::string observer_name_arg = args.option("--observer").value_or("minmax");
  const double percentile = real_option(args, "--percentile", 99.99, 50.0001, 100.0);
  const double momentum = real_option(args, "--momentum", 0.01, 1e-6, 1.0);
  const double threshold = real_option(args, "--threshold", 6.0, 0.0, 1e30);
  const bool act_sym = args.flag("--act-sym");
  const bool reduce_range = args.flag("--reduce-range");
  const std::string awq_objective = args.option("--awq-objective").value_or("block");
  if (awq_objective != "block" && awq_objective != "linear")
    throw Error(ErrorCategory::InvalidArgument, "quantize: --awq-objective '" + awq_objective + "' is not supported; supported: block, linear");
  o.awq.block_objective = awq_objective == "block";
  o.awq.search_tokens = args.integer("--awq-search-tokens", 4096, 1, int64_t{1} << 40);
  o.hqq.update_scale = args.flag("--hqq-scale");
  o.sequential = !args.flag("--no-sequential");
  const std::string others_name = args.option("--others").value_or("f16");
  const auto report_path = args.option("--report");
  o.threads = static_cast<int>(args.integer("-t", 2, 1, 512));
  const auto models = args.positionals();
  args.finish();
  if (models.size() != 1) throw Error(ErrorCategory::InvalidArgument, "quantize: give exactly one model (see qforge quantize --help)");
  if (!out) throw Error(ErrorCategory::InvalidArgument, "quantize: missing -o OUT.gguf or -o OUT.safetensors");
  const bool gguf = out->ends_with(".gguf");
  std::optional<GptqZeros> gptq_format;
  if (format) {
    if (*format == "gptq") gptq_format = GptqZeros::V1;
    else if (*format == "gptq_v2") gptq_format = GptqZeros::V2;
    else throw Error(ErrorCategory::InvalidArgument, "quantize: --format '" + *format + "' is not supported; supported: gptq, gptq_v2 "
                                                     "(GGUF and qforge's checkpoint follow from -o's extension)");
    if (gguf || out->ends_with(".safetensors"))
      throw Error(ErrorCategory::InvalidArgument, "quantize: --format " + *format + " writes a folder; -o names " + *out);
    check_gptq_destination(*out);
  } else if (!gguf && !out->ends_with(".safetensors")) {
    throw Error(ErrorCategory::InvalidArgument, "quantize: cannot tell the output format of '" + *out +
                                                    "'; supported: .gguf (GGUF block types), .safetensors (qforge's checkpoint, "
                                                    "any grid), a folder with --format gptq|gptq_v2 (AutoGPTQ's layout)");
  }
  if (method_name == "fp16" || method_name == "bf16")  // float downcasting: every float tensor narrowed, as convert does
    return write_float_model(models.front(), *out, method_name == "fp16" ? DType::f16 : DType::bf16,
                             type || bits >= 0 || group >= 0 || sym || double_quant || calib_arg || recipe_path || format || act_given);
  // W8A8 methods: RTN int8 per-channel weights, the activations quantized at run time
  const bool smoothquant = method_name == "smoothquant";
  const bool fp8 = method_name == "fp8";
  const bool w8a8 = smoothquant || method_name == "dynamic" || method_name == "static" || method_name == "llm-int8";
  if (smoothquant) {
    o.smooth_alpha = alpha;
    o.act_mode = parse_act_mode(act_arg);
    if (o.act_mode != ActMode::Dynamic && o.act_mode != ActMode::Static)
      throw Error(ErrorCategory::InvalidArgument, "quantize: --method smoothquant runs W8A8 with --act static or dynamic, not " + act_arg);
  } else if (fp8 && act_given) {
    if (act_arg != "fp8") throw Error(ErrorCategory::InvalidArgument, "quantize: --method fp8 takes --act fp8 (e4m3 activations), not " + act_arg);
    o.act_mode = ActMode::Fp8;
  } else if (act_given) {
    throw Error(ErrorCategory::InvalidArgument, "quantize: --act applies to --method smoothquant and fp8");
  }
  if (w8a8) {
    if (!smoothquant) o.act_mode = parse_act_mode(method_name);
    if (gguf || format)
      throw Error(ErrorCategory::InvalidArgument, "quantize: --method " + method_name + " writes qforge's checkpoint (-o OUT.safetensors)");
    if (type || (bits >= 0 && bits != 8) || (group > 0) || (sym && !*sym))
      throw Error(ErrorCategory::InvalidArgument, "quantize: --method " + method_name + " stores int8 sym per-channel weights; "
                                                  "drop --type/--bits/--group-size/--asym");
    if (double_quant) throw Error(ErrorCategory::InvalidArgument, "quantize: double quant applies to method nf4");
  }
  o.observer.kind = parse_observer(observer_name_arg);
  o.observer.percentile = percentile;
  o.observer.momentum = momentum;
  o.observer.scheme = act_sym ? QScheme::symmetric(8) : QScheme::affine(8);
  o.observer.scheme.reduce_range = reduce_range;
  if (reduce_range && o.act_mode != ActMode::Static && o.act_mode != ActMode::Dynamic)
    throw Error(ErrorCategory::InvalidArgument, "quantize: --reduce-range (7-bit activation codes) applies to --method static, "
                                                "dynamic and smoothquant");
  o.llm_threshold = static_cast<float>(threshold);
  PlanSpec spec;  // the command line's plan for every linear layer; a recipe may change it per layer
  spec.method = w8a8 ? "rtn" : method_name;
  if (w8a8) {
    spec.bits = 8;
    spec.group_size = 0;
    spec.sym = true;
  }
  if (!w8a8) {
    spec.type = type;
    if (bits >= 0) spec.bits = bits;
    if (group >= 0) spec.group_size = group;
    spec.sym = sym;
  }
  if (double_quant) spec.double_quant = true;
  const Recipe recipe = recipe_path ? Recipe::parse(read_file_text(*recipe_path), *recipe_path, spec, gguf) : Recipe(spec, gguf);
  const LayerPlan main_plan = recipe.default_plan();
  const std::string shown_method = w8a8 ? method_name : main_plan.method_name;  // W8A8 methods quantize the weights by RTN
  o.method = main_plan.method;
  o.grid = main_plan.grid;
  o.plan = [&recipe](const std::string& name) { return recipe.plan_for(name); };
  if (o.hqq.axis == 0 && (gguf || format))
    throw Error(ErrorCategory::InvalidArgument, "quantize: --hqq-axis 0 groups weights across rows, which only qforge's checkpoint "
                                                "stores (-o OUT.safetensors)");
  const GgmlType others = gguf ? parse_ggml_type(others_name, true) : GgmlType::F16;
  const DType others_dtype = gguf ? DType::f16 : parse_dtype(others_name);

  const ModelFile f = open_model(models.front());
  if (!f.config) throw Error(ErrorCategory::BadFile, f.path + ": no model config; cannot run it to quantize");
  if (gptq_format) check_gptq_plans(f, recipe, *gptq_format);
  const int64_t seqlen = std::min(seqlen_arg, f.config->context_length);
  const std::string calib_kind =
      calib_arg.value_or(recipe.needs_calibration() || act_is_calibrated(o.act_mode) || o.smooth_alpha >= 0 ? "self" : "");
  std::optional<CalibrationSet> calib;
  if (calib_kind == "random") {
    std::optional<int32_t> bos;
    if (f.vocab) bos = static_cast<int32_t>(f.vocab->bos);
    calib = random_calibration(f.config->vocab_size, samples, seqlen, seed, bos);
  } else if (calib_kind == "self") {
    if (!f.vocab) throw Error(ErrorCategory::InvalidArgument, "quantize: " + f.path + " has no vocabulary to start generating from; give --calib FILE or --calib random");
    std::fprintf(stderr, "calibration: no --calib given; generating %lld samples of %lld tokens with the model (seed %llu)\n",
                 static_cast<long long>(samples), static_cast<long long>(seqlen), static_cast<unsigned long long>(seed));
    auto m = Model::load(f, {.threads = o.threads});
    calib = self_generated_calibration(*m, samples, seqlen, seed, static_cast<int32_t>(f.vocab->bos), [](int64_t done, int64_t total) {
      if (done == total || done % 16 == 0) std::fprintf(stderr, "  generated %lld/%lld\n", static_cast<long long>(done), static_cast<long long>(total));
    });
  } else if (!calib_kind.empty()) {
    const auto tokenizer = make_tokenizer(f);
    const std::vector<int32_t> tokens = tokenizer->encode(read_file_text(calib_kind), false);
    std::optional<int32_t> bos;
    if (tokenizer->add_bos()) bos = tokenizer->bos();
    calib = calibration_windows(tokens, samples, seqlen, seed, bos, calib_kind);
  }
  if (calib) std::fprintf(stderr, "calibration: %s\n", calib->description.c_str());

  std::map<std::string, PreparedTensor> prepared;
  std::map<std::string, PackedMatrix> packed;
  std::map<std::string, GptqLinear> gptq_linears;
  std::map<std::string, Tensor> floats;  // AWQ's rescaled norms and biases
  const bool terminal = ::isatty(STDERR_FILENO) != 0;
  const QuantizeSummary s = quantize_model(
      f, calib ? &*calib : nullptr, o,
      [&](const std::string& name, const QuantizedMatrix& q) {
        if (gguf) prepared[name] = {*q.grid.ggml_type(), q.to_ggml(), ""};
        else if (gptq_format) gptq_linears[name] = gptq_pack(q, *gptq_format, hf_row_order(*f.config, name, q.rows));
        else packed[name] = pack_matrix(q);
      },
      [&](const QuantizeProgress& p) {
        std::fprintf(stderr, "%sblock %lld/%lld  %.1f s  ETA %.0f s%s", terminal ? "\r" : "", static_cast<long long>(p.block),
                     static_cast<long long>(p.blocks), p.seconds, p.eta_seconds, terminal && p.block < p.blocks ? "   " : "\n");
      },
      [&](const std::string& name, const Tensor& t) {
        floats[name] = t;
        if (gguf) {
          std::vector<uint8_t> bytes(t.nbytes());
          std::memcpy(bytes.data(), t.data(), bytes.size());
          prepared[name] = {GgmlType::F32, std::move(bytes), "rescaled by AWQ"};
        }
      });
  std::map<std::string, std::string> meta = {
      {"qforge.version", QFORGE_VERSION},
      {"qforge.quantization.method", shown_method},
      {"qforge.quantization.grid", o.grid.describe()},
      {"qforge.quantization.recipe", recipe.describe()},
      {"qforge.quantization.calibration", calib ? calib->description : "none (data-free)"}};
  if (recipe.needs_calibration())
    meta["qforge.quantization.gptq"] = "damp " + std::to_string(o.gptq.damp) + ", block " + std::to_string(o.gptq.block) +
                                       (o.gptq.act_order ? ", act-order" : "") + (o.sequential ? ", sequential" : ", non-sequential");
  std::vector<WrittenTensor> written;
  if (gguf) {
    written = write_gguf_model(f, *out, *o.grid.ggml_type(), prepared, others, meta);
  } else if (gptq_format) {
    GptqCheckpointOptions go{.zeros = *gptq_format, .damp = o.gptq.damp, .desc_act = o.gptq.act_order,
                             .static_groups = o.gptq.act_order, .true_sequential = false, .others = others_dtype};
    written = write_gptq_checkpoint(f, *out, gptq_linears, o.grid, go, meta, floats);
  } else {
    if (o.act_mode != ActMode::None) {
      meta["qforge.quantization.activations"] = (o.smooth_alpha >= 0 ? "smoothquant α " + std::to_string(o.smooth_alpha) + ", " : std::string()) +
          std::string(act_mode_name(o.act_mode)) +
          (act_is_calibrated(o.act_mode) ? ", " + (o.act_mode == ActMode::Fp8 ? std::string("e4m3 per tensor") : o.observer.scheme.describe()) +
                                               ", observer " + std::string(observer_name(o.observer.kind))
                                         : std::string()) +
          (o.act_mode == ActMode::LlmInt8 ? ", threshold " + std::to_string(o.llm_threshold) : "");
    }
    written = write_qforge_checkpoint(f, *out, packed, others_dtype, meta, floats, s.act);
  }

  uint64_t total = 0, params = 0;
  for (const auto& w : written) {
    total += w.bytes;
    params += static_cast<uint64_t>(shape_numel(w.shape));
  }
  // One line per kind of layer (attn_q, ffn_down, ...): means over the blocks.
  struct Agg {
    int n = 0, kept = 0;
    std::string note;
    double sqnr = 0, err = 0, rtn = 0, lp = 0, rtn_lp = 0, secs = 0;
  };
  std::map<std::string, Agg> kinds;
  for (const auto& l : s.layers) {
    Agg& a = kinds[kind_of(l.name)];
    if (!l.quantized) {
      ++a.kept;
      a.note = l.note;
      continue;
    }
    ++a.n;
    a.sqnr += l.weight_sqnr_db;
    a.err += l.output_error;
    a.rtn += l.rtn_output_error;
    a.lp += l.lp_error;
    a.rtn_lp += l.rtn_lp_error;
    a.secs += l.seconds;
  }
  std::printf("quantized %s → %s with %s on %s grids%s\n", models.front().c_str(), out->c_str(), shown_method.c_str(),
              o.grid.describe().c_str(), recipe_path ? (" (recipe " + *recipe_path + " changes some layers)").c_str() : "");
  const bool hqq = o.method == WeightMethod::Hqq;  // its own norm beside the output errors
  std::printf("%-12s %7s %12s %14s %14s %9s%s\n", "layer", "count", "SQNR dB", "output err", "RTN out err", "time s",
              hqq ? "    lp err/RTN" : "");
  for (const auto& [k, a] : kinds) {
    if (a.n == 0) {
      std::printf("%-12s %7d  kept in %s (%s)\n", k.c_str(), a.kept, others_name.c_str(), a.note.c_str());
      continue;
    }
    std::printf("%-12s %7d %12.2f %14.3e %14.3e %9.2f", k.c_str(), a.n, a.sqnr / a.n, a.err / a.n, a.rtn / a.n, a.secs);
    if (hqq) std::printf("  %12.4f", a.lp / a.rtn_lp);
    std::printf("\n");
  }
  if (o.act_mode == ActMode::LlmInt8 && s.calibration_tokens > 0) {  // how many input columns go through float
    double sum = 0, worst = 0;
    int n = 0;
    for (const auto& l : s.layers)
      if (std::isfinite(l.outlier_fraction)) {
        sum += l.outlier_fraction;
        worst = std::max(worst, l.outlier_fraction);
        ++n;
      }
    if (n > 0)
      std::printf("activations  llm-int8, threshold %g: %.2f %% of input columns reached it on the calibration data on average, at most %.2f %%\n",
                  static_cast<double>(o.llm_threshold), 100 * sum / n, 100 * worst);
  }
  if (act_is_calibrated(o.act_mode)) {  // how much the chosen ranges clip
    double sum = 0, worst = 0;
    int n = 0;
    std::string worst_name;
    for (const auto& [name, a] : s.act) {
      sum += a.clipped_fraction;
      ++n;
      if (a.clipped_fraction >= worst) {
        worst = a.clipped_fraction;
        worst_name = name;
      }
    }
    if (n > 0)
      std::printf("activations  %s %s, observer %s: %.4f %% of calibration values clipped on average, at most %.4f %% (%s)\n",
                  std::string(act_mode_name(o.act_mode)).c_str(),
                  o.act_mode == ActMode::Fp8 ? "e4m3 per tensor" : o.observer.scheme.describe().c_str(), std::string(observer_name(o.observer.kind)).c_str(), 100 * sum / n, 100 * worst,
                  worst_name.c_str());
  }
  std::printf("size     %s, %.3f bits per weight over all tensors\n", human_bytes(total).c_str(), 8.0 * static_cast<double>(total) / static_cast<double>(params));
  std::printf("time     %.1f s (%lld calibration tokens)\n", s.seconds, static_cast<long long>(s.calibration_tokens));
  std::printf("memory   peak %s private (%s resident, counting the mapped model file)\n", human_bytes(s.peak_private_bytes).c_str(),
              human_bytes(s.peak_rss_bytes).c_str());

  if (report_path) {
    nlohmann::json layers = nlohmann::json::array();
    auto num = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); };
    for (const auto& l : s.layers) {
      layers.push_back({{"name", l.name}, {"block", l.block}, {"rows", l.rows}, {"cols", l.cols}, {"quantized", l.quantized},
                        {"method", l.method}, {"grid", l.grid},
                        {"note", l.note}, {"weight_sqnr_db", num(l.weight_sqnr_db)}, {"output_error", num(l.output_error)},
                        {"rtn_output_error", num(l.rtn_output_error)}, {"lp_error", num(l.lp_error)},
                        {"rtn_lp_error", num(l.rtn_lp_error)}, {"damp", l.damp}, {"dead_columns", l.dead_columns},
                        {"seconds", l.seconds}});
      if (l.act.mode != ActMode::None) {
        nlohmann::json a = {{"mode", act_mode_name(l.act.mode)}};
        if (act_is_calibrated(l.act.mode))
          a.update({{"observer", l.act.observer}, {"scheme", l.act.mode == ActMode::Fp8 ? "e4m3 per tensor" : l.act.scheme.describe()}, {"lo", l.act.lo}, {"hi", l.act.hi},
                    {"scale", l.act.act.scale}, {"zero", l.act.act.zero_point}, {"clipped_fraction", l.act.clipped_fraction}});
        if (l.act.mode == ActMode::LlmInt8) a.update({{"threshold", l.act.threshold}, {"outlier_column_fraction", num(l.outlier_fraction)}});
        layers.back()["activations"] = a;
      }
    }
    nlohmann::json j = {{"model", models.front()}, {"output", *out}, {"method", shown_method},
                        {"recipe", recipe.describe()},
                        {"grid", o.grid.describe()}, {"bits_per_weight_grid", o.grid.bits_per_weight()},
                        {"calibration", calib ? calib->description : "none"}, {"calibration_tokens", s.calibration_tokens},
                        {"gptq", {{"damp", o.gptq.damp}, {"block", o.gptq.block}, {"act_order", o.gptq.act_order}}},
                        {"sequential", o.sequential}, {"seconds", s.seconds}, {"peak_rss_bytes", s.peak_rss_bytes},
                        {"peak_private_bytes", s.peak_private_bytes},
                        {"file_tensor_bytes", total}, {"layers", layers}};
    const std::string text = j.dump(2) + "\n";
    AtomicFile file(*report_path);
    file.write(text.data(), text.size());
    file.commit();
  }
  return 0;
}

}  // namespace qforge::cli
