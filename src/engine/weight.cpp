#include "engine/weight.h"

#include <algorithm>
#include <cstring>

#include "kernels/dot/dot_kernels.h"
#include "kernels/dot/interleaved4.h"
#include "kernels/grid/grid_decode.h"
#include "kernels/grid/grid_kernels.h"
#include "qforge/error.h"
#include "qforge/float_convert.h"
#include "qforge/mapped_file.h"

namespace qforge::engine {
namespace {

bool has_int8_dot(GgmlType t) {
  switch (t) {
    case GgmlType::Q8_0: case GgmlType::Q4_0: case GgmlType::Q4_1: case GgmlType::Q5_0: case GgmlType::Q5_1:
    case GgmlType::Q4_K: case GgmlType::Q6_K: case GgmlType::TQ1_0: case GgmlType::TQ2_0: return true;
    default: return false;
  }
}

// Q4_K and the ternary formats take activations quantized per 256 (BlockA8K), the others
// (Q6_K included: dot_kernels.h) per 32.
bool takes_a8k(GgmlType t) { return t == GgmlType::Q4_K || t == GgmlType::TQ1_0 || t == GgmlType::TQ2_0; }

std::optional<GgmlType> plain_type(DType d) {
  if (d == DType::f32) return GgmlType::F32;
  if (d == DType::f16) return GgmlType::F16;
  if (d == DType::bf16) return GgmlType::BF16;
  return std::nullopt;
}

// The matmul kernel for a storage type the kernels execute directly; nullptr for the others.
kernels::MatmulKernel matmul_for(const kernels::DotKernels& k, GgmlType t) {
  switch (t) {
    case GgmlType::TQ1_0: return k.matmul.tq1_0;
    case GgmlType::TQ2_0: return k.matmul.tq2_0;
    case GgmlType::F32: return k.matmul.f32;
    case GgmlType::F16: return k.matmul.f16;
    case GgmlType::BF16: return k.matmul.bf16;
    default: return nullptr;
  }
}

// Every token's activations quantized once, for all rows: n·in/32 blocks (in a multiple of 32).
std::vector<kernels::BlockA8> quantize_tokens_a8(const kernels::DotKernels& k, const float* x, int64_t n, int64_t in) {
  std::vector<kernels::BlockA8> a(static_cast<size_t>(n * in / 32));
  for (int64_t t = 0; t < n; ++t) k.quantize_a8(x + t * in, &a[static_cast<size_t>(t * in / 32)], in);
  return a;
}

// The same, expanded for the kernels that read four rows at once (interleaved4.h).
std::vector<kernels::BlockA8x4> expand_tokens_a8x4(const kernels::DotKernels& k, const float* x, int64_t n, int64_t in) {
  const std::vector<kernels::BlockA8> a = quantize_tokens_a8(k, x, n, in);
  std::vector<kernels::BlockA8x4> ax(a.size());
  k.expand_a8x4(a.data(), ax.data(), static_cast<int64_t>(a.size()));  // every token's blocks, in order
  return ax;
}

// The same per 256 for the super-block formats: n·in/256 blocks (in a multiple of 256).
std::vector<kernels::BlockA8K> quantize_tokens_a8k(const kernels::DotKernels& k, const float* x, int64_t n, int64_t in) {
  std::vector<kernels::BlockA8K> a(static_cast<size_t>(n * in / 256));
  for (int64_t t = 0; t < n; ++t) k.quantize_a8k(x + t * in, &a[static_cast<size_t>(t * in / 256)], in);
  return a;
}

// x rounded through the grid the native path quantizes it to (int8 per 256 for Q4_K and the
// ternary formats, per 32 otherwise): the reference path's fake quantization of a layer's input.
std::vector<float> round_through_int8(const kernels::DotKernels& k, const float* x, int64_t n, int64_t in, bool per_256) {
  std::vector<float> rounded(static_cast<size_t>(n * in));
  if (per_256) {
    const std::vector<kernels::BlockA8K> a = quantize_tokens_a8k(k, x, n, in);
    for (size_t i = 0; i < rounded.size(); ++i) rounded[i] = a[i / 256].d * a[i / 256].qs[i % 256];
  } else {
    const std::vector<kernels::BlockA8> a = quantize_tokens_a8(k, x, n, in);
    for (size_t i = 0; i < rounded.size(); ++i) rounded[i] = a[i / 32].d * a[i / 32].qs[i % 32];
  }
  return rounded;
}

// y[t, o] += bias[o] for the rows [begin, end) one thread produced (nothing without a bias).
void add_bias(const float* bias, int64_t n, int64_t out, int64_t begin, int64_t end, float* y) {
  if (!bias) return;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t o = begin; o < end; ++o) y[t * out + o] += bias[o];
}

// The output rows in groups of four over the pool, each thread taking whole groups:
// run(gb, begin, end) computes rows [begin, end), group gb first, then the bias is added.
template <class Run>
void over_row_groups(ThreadPool& pool, int64_t out, int64_t n, const float* bias, float* y, Run run) {
  pool.parallel_for((out + 3) / 4, [&](int64_t gb, int64_t ge) {
    const int64_t begin = 4 * gb, end = std::min(out, 4 * ge);
    run(gb, begin, end);
    add_bias(bias, n, out, begin, end, y);
  });
}

}  // namespace

void Weight::dequantize_row(int64_t r, float* out) const {
  if (grid) {
    for (int64_t c = 0; c < cols; ++c) out[c] = grid->value(r, c);
    return;
  }
  if (interleaved) {
    std::vector<uint8_t> bytes(row_bytes);
    kernels::extract_row(type, data, r, cols, bytes.data());
    ggml_dequantize(type, bytes, {out, static_cast<size_t>(cols)});
    return;
  }
  ggml_dequantize(type, {row(r), row_bytes}, {out, static_cast<size_t>(cols)});
}

void interleave_for_kernels(Weight& w) {
  if (w.interleaved || w.grid || w.i8 || !kernels::runs_interleaved(w.type)) return;
  Tensor groups = Tensor::zeros(DType::u8, {static_cast<int64_t>((w.rows + 3) / 4 * kernels::interleaved_group_bytes(w.type, w.cols))});
  kernels::interleave_rows(w.type, w.data, w.rows, w.cols, static_cast<uint8_t*>(groups.mutable_data()));
  // the file's pages of these rows are not read again: without this the process held the
  // model twice (SmolLM2-sized and 1b models: peak RSS 2×)
  if (w.keep) MappedFile::release_pages({w.data, static_cast<size_t>(w.rows) * w.row_bytes});
  w.owned = std::move(groups);
  w.data = static_cast<const uint8_t*>(w.owned.data());
  w.keep.reset();
  w.interleaved = true;
}

const ModelTensor* find_with_shape(const ModelFile& f, const std::string& name, const Shape& want, bool required) {
  const ModelTensor* t = f.find(name);
  if (!t) {
    if (required) throw Error(ErrorCategory::BadFile, f.path + ": missing tensor " + name);
    return nullptr;
  }
  if (t->shape != want)
    throw Error(ErrorCategory::BadFile, f.path + ": tensor " + name + " has shape " + shape_to_string(t->shape) +
                                            ", the config implies " + shape_to_string(want));
  return t;
}

Weight load_matrix(const ModelFile& f, const std::string& name, int64_t rows, int64_t cols, bool required, bool to_f32) {
  Weight w;
  const ModelTensor* t = find_with_shape(f, name, {rows, cols}, required);
  if (!t) return w;
  w.rows = rows;
  w.cols = cols;
  if (t->act && t->act->mode != ActMode::None && t->act->mode != ActMode::Fp8) {  // W8A8: executed by the integer path in any case
    if (!t->packed) throw Error(ErrorCategory::BadFile, f.path + ": " + name + " quantizes its input but has no int8 weights");
    auto i8 = std::make_shared<const Int8Weights>(int8_weights_from(*t->packed));
    w.type = w.stored = GgmlType::I8;
    w.row_bytes = static_cast<size_t>(cols);
    w.data = reinterpret_cast<const uint8_t*>(i8->q.data());
    w.act = *t->act;
    w.i8 = std::move(i8);
    return w;
  }
  if (t->act && t->act->mode == ActMode::Fp8) w.act = *t->act;  // fp8 inputs: rounded in linear, then f32
  // qforge's symmetric int8/int5/int4 groups of whole 32-blocks run as their GGUF twin (the same
  // values), repacked once here; the reference path dequantizes them and emulates as that type
  const std::optional<GgmlType> twin = t->packed && !t->act ? ggml_twin(t->packed->grid, cols) : std::nullopt;
  if (twin && !to_f32)
    if (std::optional<std::vector<uint8_t>> blocks = packed_as_ggml(*t->packed, *twin)) {
      w.type = w.stored = *twin;
      w.row_bytes = static_cast<size_t>(ggml_row_bytes(w.type, static_cast<uint64_t>(cols)));
      w.owned = Tensor::from_vector({static_cast<int64_t>(blocks->size())}, *blocks);
      w.data = static_cast<const uint8_t*>(w.owned.data());
      interleave_for_kernels(w);
      return w;
    }
  if (t->packed && !to_f32)
    if (std::shared_ptr<const GridWeights> grid = grid_weights_from(*t->packed)) {
      w.grid = std::move(grid);
      w.row_bytes = w.grid->integer ? w.grid->im.row_group_bytes / 4 : w.grid->m.code_row_bytes;
      w.data = w.grid->codes.data();
      w.int8_inputs = w.grid->integer;
      return w;
    }
  // the reference path of a grid the integer path runs natively: emulate its int8 inputs
  if (t->packed && to_f32 && !twin) w.int8_inputs = integer_path_takes(*t->packed);
  const std::optional<GgmlType> stored = t->block ? t->block : plain_type(t->dtype);
  w.stored = to_f32 ? twin.value_or(stored.value_or(GgmlType::F32)) : stored.value_or(GgmlType::F32);
  const bool in_place = !to_f32 && stored && !t->stored_transposed && t->rope_permute_heads == 0;
  // kernels read rows through typed pointers: the bytes must be aligned for the element
  const size_t align = stored == GgmlType::F32 ? 4 : 2;
  if (in_place && reinterpret_cast<uintptr_t>(t->data.data()) % align == 0) {
    w.type = *stored;
    w.row_bytes = static_cast<size_t>(ggml_row_bytes(w.type, static_cast<uint64_t>(cols)));
    w.data = t->data.data();
    // the file's mappings outlive the ModelFile for as long as the engine uses their bytes
    w.keep = std::make_shared<std::vector<std::shared_ptr<const void>>>(f.keepalive);
    interleave_for_kernels(w);
    return w;
  }
  // Transposed or permuted on read, misaligned, or not a float type: via f32, then back to
  // f16/bf16 when that is what the file held (exact), so memory stays at the file's size.
  Tensor x = tensor_to_f32(*t);
  if (!to_f32 && (stored == GgmlType::F16 || stored == GgmlType::BF16)) {
    Tensor h = Tensor::zeros(stored == GgmlType::F16 ? DType::f16 : DType::bf16, {rows, cols});
    auto* p = static_cast<uint16_t*>(h.mutable_data());
    if (stored == GgmlType::F16) convert_f32_to_f16(x.span<float>(), {p, static_cast<size_t>(rows * cols)});
    else convert_f32_to_bf16(x.span<float>(), {p, static_cast<size_t>(rows * cols)});
    x = std::move(h);
    w.type = *stored;
  }
  w.row_bytes = static_cast<size_t>(ggml_row_bytes(w.type, static_cast<uint64_t>(cols)));
  w.owned = std::move(x);
  w.data = static_cast<const uint8_t*>(w.owned.data());
  return w;
}

void linear(ThreadPool& pool, const Weight& w, const float* x, int64_t n, const float* bias, float* y, bool emulate_a8) {
  const kernels::DotKernels& k = kernels::dot_kernels();
  const int64_t out = w.rows, in = w.cols;
  if (w.i8) {  // W8A8: the input quantized as the checkpoint says, int8 × int8 → int32
    const std::span<const float> xs(x, static_cast<size_t>(n * in));
    const QuantizedActivations a = quantize_activations(w.act, xs, n, in);
    pool.parallel_for(out, [&](int64_t begin, int64_t end) {
      w8a8_rows(*w.i8, a, xs, begin, end, {y, static_cast<size_t>(n * out)});
      add_bias(bias, n, out, begin, end, y);
    });
    return;
  }
  std::vector<float> rounded;
  if (w.act.mode == ActMode::Fp8) {  // e4m3 activations with the checkpoint's per-tensor scale
    rounded.resize(static_cast<size_t>(n * in));
    fake_quantize_fp8({x, rounded.size()}, w.act.act.scale, rounded);
    x = rounded.data();
  }
  if (w.grid && w.grid->integer) {  // four-row records against int8 activations; each thread takes whole row groups
    const std::vector<kernels::BlockA8x4> ax = expand_tokens_a8x4(k, x, n, in);
    const kernels::GridKernels& g = kernels::grid_kernels();
    over_row_groups(pool, out, n, bias, y, [&](int64_t, int64_t begin, int64_t end) {
      g.int_matmul({&w.grid->im, begin, end - begin, ax.data(), n, y + begin, out});
    });
    return;
  }
  if (w.grid) {  // packed codes decoded in registers, f32 activations
    const kernels::GridKernels& g = kernels::grid_kernels();
    pool.parallel_for(out, [&](int64_t begin, int64_t end) {
      g.matmul({&w.grid->m, begin, end - begin, x, n, y + begin, out});
      add_bias(bias, n, out, begin, end, y);
    });
    return;
  }
  if (emulate_a8 && (has_int8_dot(w.stored) || w.int8_inputs) && !has_int8_dot(w.type)) {
    rounded = round_through_int8(k, x, n, in, takes_a8k(w.stored));
    x = rounded.data();
  }
  if (w.interleaved && w.type == GgmlType::Q4_K) {  // groups of four rows against activations per 256
    const std::vector<kernels::BlockA8K> a = quantize_tokens_a8k(k, x, n, in);
    std::vector<kernels::BlockA8Kx4> ax(a.size());
    k.expand_a8kx4(a.data(), ax.data(), static_cast<int64_t>(a.size()));  // every token's super-blocks, in order
    const size_t group_bytes = kernels::interleaved_group_bytes(w.type, in);
    over_row_groups(pool, out, n, bias, y, [&](int64_t gb, int64_t begin, int64_t end) {
      k.matmul.q4_kx4({w.data + static_cast<size_t>(gb) * group_bytes, end - begin, ax.data(), n, in, y + begin, out});
    });
    return;
  }
  if (w.interleaved) {  // groups of four rows; each thread takes whole groups
    const std::vector<kernels::BlockA8x4> ax = expand_tokens_a8x4(k, x, n, in);
    const kernels::Matmul4Kernel fn = kernels::interleaved_kernel(k.matmul, w.type);
    const size_t group_bytes = kernels::interleaved_group_bytes(w.type, in);
    over_row_groups(pool, out, n, bias, y, [&](int64_t gb, int64_t begin, int64_t end) {
      fn({w.data + static_cast<size_t>(gb) * group_bytes, end - begin, ax.data(), n, in, y + begin, out});
    });
    return;
  }
  std::vector<kernels::BlockA8> a;
  std::vector<kernels::BlockA8K> ak;
  if (has_int8_dot(w.type) && takes_a8k(w.type)) ak = quantize_tokens_a8k(k, x, n, in);
  else if (has_int8_dot(w.type)) a = quantize_tokens_a8(k, x, n, in);
  const kernels::MatmulKernel direct = matmul_for(k, w.type);
  const void* act = !a.empty() ? static_cast<const void*>(a.data()) : !ak.empty() ? static_cast<const void*>(ak.data()) : x;
  pool.parallel_for(out, [&](int64_t begin, int64_t end) {
    if (direct) {
      direct({w.row(begin), w.row_bytes, end - begin, act, n, in, y + begin, out});
    } else {  // a few rows at a time into f32, then the f32 kernel
      constexpr int64_t kRows = 8;
      std::vector<float> rows(static_cast<size_t>(kRows * in));
      for (int64_t o = begin; o < end; o += kRows) {
        const int64_t m = std::min(kRows, end - o);
        for (int64_t r = 0; r < m; ++r) w.dequantize_row(o + r, &rows[static_cast<size_t>(r * in)]);
        k.matmul.f32({reinterpret_cast<const uint8_t*>(rows.data()), static_cast<size_t>(in) * sizeof(float), m, x, n, in,
                      y + o, out});
      }
    }
    add_bias(bias, n, out, begin, end, y);
  });
}

}  // namespace qforge::engine
