// A weight matrix as the engine executes it: rows of a storage type read in place (a GGUF
// block type, f16, bf16 or f32), so a model runs at its own size — Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,
// Q4_K and Q6_K copied once into their kernels' four-row interleaved layout, the same size. Types with a dot kernel
// run through it; other block types dequantize one row at a time into f32. A qforge
// checkpoint's packed matrices run on the block kernels when they have an exact GGUF twin, on
// the grid kernels otherwise (integer grids of whole 32-blocks on int8 activations, the others
// decoded to f32 in registers).
#pragma once

#include <memory>
#include <vector>

#include "engine/grid_weight.h"
#include "engine/thread_pool.h"
#include "qforge/act_quant.h"
#include "qforge/ggml_types.h"
#include "qforge/model_file.h"
#include "qforge/tensor.h"

namespace qforge::engine {

struct Weight {
  GgmlType type = GgmlType::F32;
  GgmlType stored = GgmlType::F32;  // the file's type (differs from `type` when converted at load)
  int64_t rows = 0, cols = 0;
  size_t row_bytes = 0;
  const uint8_t* data = nullptr;
  Tensor owned;                       // set when the file's bytes could not be used in place
  std::shared_ptr<const void> keep;  // the file mapping, when they could
  // W8A8: int8 weights with per-channel scales and how the input is quantized (type I8)
  std::shared_ptr<const Int8Weights> i8;
  ActQuantSpec act;
  // a qforge grid without a GGUF twin, run by the grid kernels (type F32: f32 activations)
  std::shared_ptr<const GridWeights> grid;
  // the native path rounds this layer's inputs to int8 (a block type — per 256 for Q4_K and the
  // ternary types, per 32 otherwise — or a grid on the integer path, per 32); the reference
  // path's emulation follows it
  bool int8_inputs = false;
  // Q8_0 / Q4_0 / Q4_1 / Q5_0 / Q5_1 / Q4_K / Q6_K rows in the kernels' four-row interleaved layout (owned; row() is not valid)
  bool interleaved = false;

  bool empty() const { return rows == 0; }
  const uint8_t* row(int64_t r) const { return data + static_cast<size_t>(r) * row_bytes; }
  void dequantize_row(int64_t r, float* out) const;
  // the bytes at data (an interleaved last group of fewer than four rows is padded to four)
  uint64_t bytes() const { return static_cast<uint64_t>(interleaved ? (rows + 3) / 4 * 4 : rows) * row_bytes; }
};

// Repacks w's rows into the interleaved layout its kernels read, when its type runs so (Q8_0,
// Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q6_K; the file's bytes are copied once); other weights are left as they are.
void interleave_for_kernels(Weight& w);

// `name` in `file`, which must have shape `want`: nullptr when absent and not required,
// Error(BadFile) naming the file and tensor otherwise.
const ModelTensor* find_with_shape(const ModelFile& file, const std::string& name, const Shape& want, bool required);

// `name` from `file` as [rows, cols] (it must have that shape); empty when absent and not
// required. With `to_f32` every type becomes f32 (the reference path); otherwise the stored
// type is kept wherever the engine can execute it.
Weight load_matrix(const ModelFile& file, const std::string& name, int64_t rows, int64_t cols, bool required, bool to_f32);

// y[t, o] = Σ_i x[t, i]·W[o, i] (+ bias[o]) for t < n; rows of W split over threads. Each y
// element is one kernel call, so results do not depend on the thread count.
// With `emulate_a8`, layers stored in an integer format see their input rounded through the
// int8 grid of their native kernel first (fake quantization), whatever type they execute in.
void linear(ThreadPool& pool, const Weight& w, const float* x, int64_t n, const float* bias, float* y,
            bool emulate_a8 = false);

}  // namespace qforge::engine
