// The grid a weight-quantization method rounds onto: how a row is cut into groups, which
// values one group can represent (value(q) = scale·(q − zero) + min), and how a group's
// parameters are chosen by round-to-nearest. GPTQ, AWQ and RTN all produce a
// QuantizedMatrix on one of these grids; the GGUF grids are exactly the block types' values,
// so their results are written as those blocks. docs/gptq.md ("The grid"), docs/hqq.md and
// docs/nf4-and-ternary.md give the rules.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "qforge/codebook.h"
#include "qforge/float_convert.h"
#include "qforge/ggml_types.h"
#include "qforge/tensor.h"

namespace qforge {

enum class GridKind : uint8_t {
  Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,  // GGUF blocks of 32 with f16 parameters
  IntSymmetric,                  // unsigned b-bit codes, zero 2^(b−1), GPTQ's sym rule
  IntAffine,                     // unsigned b-bit codes, integer zero, GPTQ's min-max rule
  IntMin,                        // unsigned b-bit codes, value = s·q + m with f16 s, m (Q4_1's form, any b and G)
  NF4,                           // QLoRA's NormalFloat4: value = absmax·nf4[q], blocks of G (64)
  Ternary,                       // BitNet b1.58: value = γ·(q − 1), q ∈ {0, 1, 2}, γ = mean|W| per tensor
  Fp8E4M3,                       // value = s·e4m3(q), q the fp8 byte (never a NaN code), s = max|w| / 448 in f32
};

// One group's parameters. Float-minimum grids (Q4_1, Q5_1) use value = scale·q + min with
// zero 0; the others value = scale·(q − zero) with min 0. scale may be negative (Q4_0's rule
// maps the extreme weight to code 0) or 0 (an all-zero group).
struct GroupParams {
  float scale = 0;
  float min = 0;
  int32_t zero = 0;
};

struct WeightGrid {
  GridKind kind = GridKind::Q4_0;
  int bits = 4;
  int64_t group_size = 32;  // 0: one group per row (per output channel)
  bool double_quant = false;  // NF4: the absmax values themselves quantized to 8 bits (QLoRA)
  // HQQ's axis 0: groups of G run down the tensor viewed as [G, numel/G] (its columns), and the
  // matrix on this grid holds that view transposed, [numel/G, G] — one group per row.
  bool axis0 = false;

  static WeightGrid ggml(GgmlType t);  // Q8_0, Q4_0, Q4_1, Q5_0, Q5_1; others throw, listing these
  static WeightGrid integer(int bits, int64_t group_size, bool symmetric);
  static WeightGrid integer_min(int bits, int64_t group_size);  // a float minimum instead of an integer zero
  static WeightGrid nf4(int64_t block = 64, bool double_quant = false);
  static WeightGrid ternary();
  static WeightGrid fp8(int64_t group_size = 0);  // e4m3 codes, one f32 scale per row (or per group)
  // The kind's stable name in files ("q4_0", "int_sym", "int_affine") and back.
  std::string_view kind_name() const;
  static WeightGrid from_kind_name(std::string_view kind, int bits, int64_t group_size, bool double_quant = false);

  int32_t qmin() const;
  int32_t qmax() const;
  bool has_float_min() const { return kind == GridKind::Q4_1 || kind == GridKind::Q5_1 || kind == GridKind::IntMin; }
  bool has_zero_points() const { return !has_float_min() && kind != GridKind::NF4 && kind != GridKind::Fp8E4M3; }
  // NF4, ternary and fp8 keep their scales in f32 (bitsandbytes, BitNet and fp8 checkpoints do); the others in f16.
  bool f32_scales() const { return kind == GridKind::NF4 || kind == GridKind::Ternary || kind == GridKind::Fp8E4M3; }
  // One scale for the whole tensor (ternary): every group's parameters are the same.
  bool per_tensor() const { return kind == GridKind::Ternary; }
  std::optional<GgmlType> ggml_type() const;  // the GGUF block type whose values this is
  // Groups of a row of `cols`: GGUF grids need whole blocks (throws otherwise); integer grids
  // end with a shorter group when G does not divide cols (G >= cols: one group per row).
  int64_t groups_per_row(int64_t cols) const;
  int64_t group_cols(int64_t cols) const { return group_size == 0 || group_size > cols ? cols : group_size; }
  // Columns of group k: [k·G, min((k+1)·G, cols)).
  int64_t group_len(int64_t cols, int64_t k) const { return std::min(group_cols(cols), cols - k * group_cols(cols)); }
  bool fits(int64_t cols) const { return cols > 0 && (!ggml_type() || cols % group_size == 0); }
  double bits_per_weight() const;  // codes plus parameters, as stored
  std::string describe() const;    // "q4_0", "int3 asym G=128", "int8 sym per-channel"

  // Round-to-nearest's parameters for one group (scale and min rounded to f16 as stored).
  GroupParams fit(std::span<const float> w) const;
  // The code whose value is nearest to w (ties away from zero), clamped to [qmin, qmax].
  int32_t nearest(float w, GroupParams p) const;
  float value(int32_t q, GroupParams p) const {
    if (kind == GridKind::NF4) return p.scale * nf4_values()[static_cast<size_t>(q) & 15];
    if (kind == GridKind::Fp8E4M3) return p.scale * f8_e4m3_to_f32(static_cast<uint8_t>(q));
    return has_float_min() ? p.scale * static_cast<float>(q) + p.min : p.scale * static_cast<float>(q - p.zero);
  }
};

// NF4's double quantization (QLoRA §3): the group scales a_i (absmax) stored as 8-bit codes,
// ã_i = s_b·(c_i − 128) + μ, with μ the mean of all a_i and one f32 s_b per 256 groups.
struct DoubleQuant {
  static constexpr int64_t kBlock = 256;
  std::vector<uint8_t> codes;   // one per group
  std::vector<float> scales;    // one per kBlock groups
  float offset = 0;             // μ
};

// A weight matrix [rows, cols] on a grid: one code per weight, one GroupParams per group.
struct QuantizedMatrix {
  WeightGrid grid;
  int64_t rows = 0, cols = 0;
  std::vector<int16_t> codes;       // rows × cols, in [qmin, qmax]
  std::vector<GroupParams> params;  // rows × groups_per_row (with double quant: the scales ã_i)
  DoubleQuant dq;                   // grid.double_quant only

  const GroupParams& group(int64_t r, int64_t c) const {
    const int64_t g = grid.groups_per_row(cols);
    return params[static_cast<size_t>(r * g + c / grid.group_cols(cols))];
  }
  float value(int64_t r, int64_t c) const { return grid.value(codes[static_cast<size_t>(r * cols + c)], group(r, c)); }
  Tensor dequantize() const;  // f32 [rows, cols]
  // The rows as GGUF blocks of grid.ggml_type(); bytes that dequantize to exactly value().
  std::vector<uint8_t> to_ggml() const;
  static QuantizedMatrix from_ggml(GgmlType t, std::span<const uint8_t> bytes, int64_t rows, int64_t cols);
};

// A QuantizedMatrix as qforge's checkpoint stores it: codes − qmin packed LSB-first, each row
// starting on a byte; f16 scales; u8 zero points (integer-zero grids); f16 minimums
// (float-minimum grids). One entry per group, row-major.
struct PackedMatrix {
  WeightGrid grid;
  int64_t rows = 0, cols = 0;
  std::vector<uint8_t> codes;
  std::vector<uint8_t> scales;  // f16 or f32 (grid.f32_scales()) per group, little-endian; double quant: u8 codes
  std::vector<uint8_t> zeros;
  std::vector<uint16_t> mins;
  std::vector<float> dq_scales;  // double quant: s_b per 256 groups, then μ last

  size_t row_bytes() const;
  uint64_t nbytes() const { return codes.size() + scales.size() + zeros.size() + 2 * mins.size() + 4 * dq_scales.size(); }
  struct PackedView view() const;  // borrows this
};
PackedMatrix pack_matrix(const QuantizedMatrix& q);

// The same parts as bytes from a file (any alignment, f16 little-endian).
struct PackedView {
  WeightGrid grid;
  int64_t rows = 0, cols = 0;
  std::span<const uint8_t> codes, scales, zeros, mins, dq_scales;

  uint64_t nbytes() const { return codes.size() + scales.size() + zeros.size() + mins.size() + dq_scales.size(); }
  // Throws Error(BadFile) naming `what` when a part's size does not fit the grid and shape.
  void validate(const std::string& what) const;
};
// out.size() == rows·cols; validate() first.
void dequantize_packed(const PackedView& v, std::span<float> out);
// Every group's parameters as dequantize_packed reads them (row-major; double quant resolved).
std::vector<GroupParams> packed_group_params(const PackedView& v);

// The GGUF block type that holds exactly a packed matrix's values, when there is one: symmetric
// int8 / int5 / int4 (zero 2^(b−1), f16 scales) are Q8_0 / Q5_0 / Q4_0 once every group is whole
// blocks of 32 (G a multiple of 32, or per channel over rows of whole blocks). The engine runs
// such weights on the block kernels, repacked at load.
std::optional<GgmlType> ggml_twin(const WeightGrid& g, int64_t cols);
// v's rows as blocks of `t` = ggml_twin(v.grid, v.cols), dequantizing to dequantize_packed's
// values bit for bit; nullopt when a group's zero is not 2^(b−1) (a file may hold any zero).
std::optional<std::vector<uint8_t>> packed_as_ggml(const PackedView& v, GgmlType t);

// HQQ axis 0's groups as rows: B[j, t] = w[t·M + j] for w viewed as [G, M]; and back.
std::vector<float> axis0_groups(std::span<const float> w, int64_t group);
void axis0_scatter(std::span<const float> groups, int64_t group, std::span<float> w);

// Replaces q's group scales (NF4 absmax values) by their double-quantized values and fills q.dq.
void double_quantize_scales(QuantizedMatrix& q);
inline float double_quant_value(float block_scale, uint8_t code, float offset) {
  return block_scale * static_cast<float>(static_cast<int>(code) - 128) + offset;
}

// The value an f16 parameter field holds for x (grids compute with exactly what files store);
// throws Error(Numeric) when x overflows f16.
float f16_param(float x);

// Parameters for an empty matrix on `grid`, checked against its shape.
QuantizedMatrix make_quantized_matrix(const WeightGrid& grid, int64_t rows, int64_t cols);

}  // namespace qforge
