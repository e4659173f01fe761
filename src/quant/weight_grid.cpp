// WeightGrid: group geometry, round-to-nearest parameter rules, and the GGUF block codecs
// of a QuantizedMatrix. The GGUF rules are llama.cpp's reference quantizers' choice of d
// (and m); the integer rules are the GPTQ reference quantizer's (docs/gptq.md, "The grid").
#include "qforge/weight_grid.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "formats/ggml/blocks.h"
#include "qforge/error.h"
#include "qforge/float_convert.h"
#include "qforge/pack.h"

namespace qforge {
namespace {

[[noreturn]] void invalid(const std::string& m) { throw Error(ErrorCategory::InvalidArgument, m); }

}  // namespace

float f16_param(float x) {
  const uint16_t h = f32_to_f16(x);
  if ((h & 0x7C00) == 0x7C00)
    throw Error(ErrorCategory::Numeric, "a group parameter (" + std::to_string(x) + ") overflows f16; weights this large need an f32-scaled grid");
  return f16_to_f32(h);
}

namespace {

void check_finite(std::span<const float> w) {
  for (float v : w)
    if (!std::isfinite(v)) throw Error(ErrorCategory::Numeric, "weight is " + std::string(std::isnan(v) ? "NaN" : "Inf") + "; refusing to quantize");
}

// The element of largest magnitude, with its sign (the first one on ties, as ggml picks it).
float signed_absmax(std::span<const float> w) {
  float amax = 0, max = 0;
  for (float v : w)
    if (amax < std::fabs(v)) {
      amax = std::fabs(v);
      max = v;
    }
  return max;
}

}  // namespace

WeightGrid WeightGrid::ggml(GgmlType t) {
  switch (t) {
    case GgmlType::Q8_0: return {GridKind::Q8_0, 8, 32};
    case GgmlType::Q4_0: return {GridKind::Q4_0, 4, 32};
    case GgmlType::Q4_1: return {GridKind::Q4_1, 4, 32};
    case GgmlType::Q5_0: return {GridKind::Q5_0, 5, 32};
    case GgmlType::Q5_1: return {GridKind::Q5_1, 5, 32};
    default:
      invalid("no quantization grid for GGUF type " + std::string(ggml_type_info(t).name) +
              "; supported: q8_0, q4_0, q4_1, q5_0, q5_1");
  }
}

WeightGrid WeightGrid::nf4(int64_t block, bool double_quant) {
  if (block < 1) invalid("nf4 blocks must hold at least 1 weight, got " + std::to_string(block));
  return {GridKind::NF4, 4, block, double_quant};
}

WeightGrid WeightGrid::integer_min(int bits, int64_t group_size) {
  WeightGrid g = integer(bits, group_size, false);
  g.kind = GridKind::IntMin;
  return g;
}

WeightGrid WeightGrid::ternary() { return {GridKind::Ternary, 2, 0}; }

WeightGrid WeightGrid::fp8(int64_t group_size) {
  if (group_size < 0) invalid("group size must be >= 0 (0 = per channel), got " + std::to_string(group_size));
  return {GridKind::Fp8E4M3, 8, group_size};
}

WeightGrid WeightGrid::integer(int bits, int64_t group_size, bool symmetric) {
  if (bits < 2 || bits > 8) invalid("integer grids take 2..8 bits, got " + std::to_string(bits));
  if (group_size < 0) invalid("group size must be >= 0 (0 = per channel), got " + std::to_string(group_size));
  return {symmetric ? GridKind::IntSymmetric : GridKind::IntAffine, bits, group_size};
}

std::string_view WeightGrid::kind_name() const {
  switch (kind) {
    case GridKind::Q8_0: return "q8_0";
    case GridKind::Q4_0: return "q4_0";
    case GridKind::Q4_1: return "q4_1";
    case GridKind::Q5_0: return "q5_0";
    case GridKind::Q5_1: return "q5_1";
    case GridKind::IntSymmetric: return "int_sym";
    case GridKind::IntAffine: return "int_affine";
    case GridKind::IntMin: return "int_min";
    case GridKind::NF4: return "nf4";
    case GridKind::Ternary: return "ternary";
    case GridKind::Fp8E4M3: return "fp8_e4m3";
  }
  return "?";
}

WeightGrid WeightGrid::from_kind_name(std::string_view kind, int bits, int64_t group_size, bool double_quant) {
  if (kind == "int_sym" || kind == "int_affine") return integer(bits, group_size, kind == "int_sym");
  if (kind == "int_min") return integer_min(bits, group_size);
  if (kind == "nf4") return nf4(group_size, double_quant);
  if (kind == "ternary") return ternary();
  if (kind == "fp8_e4m3") return fp8(group_size);
  for (GgmlType t : {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1})
    if (kind == ggml_type_info(t).name) return ggml(t);
  invalid("unknown grid kind '" + std::string(kind) + "'; supported: int_sym, int_affine, int_min, nf4, ternary, fp8_e4m3, q8_0, q4_0, q4_1, q5_0, q5_1");
}

int32_t WeightGrid::qmin() const { return kind == GridKind::Q8_0 ? -128 : 0; }  // int8 storage holds −128 too
int32_t WeightGrid::qmax() const {
  if (kind == GridKind::Ternary) return 2;
  return kind == GridKind::Q8_0 ? 127 : (1 << bits) - 1;
}

std::optional<GgmlType> WeightGrid::ggml_type() const {
  switch (kind) {
    case GridKind::Q8_0: return GgmlType::Q8_0;
    case GridKind::Q4_0: return GgmlType::Q4_0;
    case GridKind::Q4_1: return GgmlType::Q4_1;
    case GridKind::Q5_0: return GgmlType::Q5_0;
    case GridKind::Q5_1: return GgmlType::Q5_1;
    default: return std::nullopt;
  }
}

int64_t WeightGrid::groups_per_row(int64_t cols) const {
  if (!ggml_type()) return (cols + group_cols(cols) - 1) / group_cols(cols);
  if (cols % group_size != 0)
    invalid("a row of " + std::to_string(cols) + " weights is not a whole number of " + describe() + " groups of " +
            std::to_string(group_size));
  return cols / group_size;
}

double WeightGrid::bits_per_weight() const {
  if (auto t = ggml_type()) return ggml_type_info(*t).bits_per_weight();
  if (kind == GridKind::Ternary) return 2;  // one γ per tensor
  if (kind == GridKind::NF4)
    return double_quant ? 4 + (8.0 + 32.0 / DoubleQuant::kBlock) / static_cast<double>(group_size) : 4 + 32.0 / static_cast<double>(group_size);
  if (group_size == 0) return bits;  // one f16 scale (and zero) per row: negligible
  if (kind == GridKind::Fp8E4M3) return bits + 32.0 / static_cast<double>(group_size);  // f32 scale
  const double per_group = kind == GridKind::IntMin ? 32.0 : 16.0 + (kind == GridKind::IntAffine ? bits : 0);  // f16 scale (+ zero or min)
  return bits + per_group / static_cast<double>(group_size);
}

std::string WeightGrid::describe() const {
  if (auto t = ggml_type()) return std::string(ggml_type_info(*t).name);
  if (kind == GridKind::NF4) return std::string(double_quant ? "nf4+dq" : "nf4") + " G=" + std::to_string(group_size);
  if (kind == GridKind::Ternary) return "ternary";
  if (kind == GridKind::Fp8E4M3) return std::string("fp8 e4m3") + (group_size == 0 ? " per-channel" : " G=" + std::to_string(group_size));
  std::string s = "int" + std::to_string(bits) + (kind == GridKind::IntSymmetric ? " sym" : kind == GridKind::IntMin ? " min" : " asym");
  return s + (group_size == 0 ? " per-channel" : " G=" + std::to_string(group_size)) + (axis0 ? " axis 0" : "");
}

GroupParams WeightGrid::fit(std::span<const float> w) const {
  check_finite(w);
  switch (kind) {
    case GridKind::Q8_0: {
      float amax = 0;
      for (float v : w) amax = std::max(amax, std::fabs(v));
      return {f16_param(amax / 127.0f), 0, 0};
    }
    case GridKind::Q4_0: return {f16_param(signed_absmax(w) / -8.0f), 0, 8};
    case GridKind::Q5_0: return {f16_param(signed_absmax(w) / -16.0f), 0, 16};
    case GridKind::Q4_1:
    case GridKind::Q5_1:
    case GridKind::IntMin: {
      const auto [mn, mx] = std::minmax_element(w.begin(), w.end());
      const auto levels = static_cast<float>(qmax());
      return {f16_param((*mx - *mn) / levels), f16_param(*mn), 0};
    }
    case GridKind::NF4: {  // absmax, kept in f32 as bitsandbytes keeps it
      float amax = 0;
      for (float v : w) amax = std::max(amax, std::fabs(v));
      return {amax, 0, 0};
    }
    case GridKind::Fp8E4M3: {  // the largest weight lands on e4m3's largest finite value, 448
      float amax = 0;
      for (float v : w) amax = std::max(amax, std::fabs(v));
      return {amax / 448.0f, 0, 0};
    }
    case GridKind::Ternary: {  // γ = mean|W| (here over the span; quantize_rtn passes the whole tensor)
      double sum = 0;
      for (float v : w) sum += std::fabs(v);
      return {static_cast<float>(sum / static_cast<double>(std::max<size_t>(w.size(), 1))), 0, 1};
    }
    case GridKind::IntSymmetric:
    case GridKind::IntAffine: {
      // GPTQ's rule: the range always contains 0; an all-zero group gets [−1, 1].
      float lo = 0, hi = 0;
      for (float v : w) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      const auto maxq = static_cast<float>(qmax());
      if (kind == GridKind::IntSymmetric) {
        hi = std::max(-lo, hi);
        lo = -hi;
      }
      if (lo == 0 && hi == 0) {
        lo = -1;
        hi = 1;
      }
      const float scale = f16_param((hi - lo) / maxq);
      if (kind == GridKind::IntSymmetric) return {scale, 0, (qmax() + 1) / 2};
      const auto zero = static_cast<int32_t>(std::nearbyint(-lo / scale));
      return {scale, 0, std::clamp(zero, 0, qmax())};
    }
  }
  return {};
}

int32_t WeightGrid::nearest(float w, GroupParams p) const {
  if (kind == GridKind::NF4) return codebook_nearest(p.scale == 0 ? 0.0f : w / p.scale, Codebook::NF4);
  // e4m3's own round-to-nearest-even; beyond ±448 saturates (GPTQ's updates can push a weight past the range)
  if (kind == GridKind::Fp8E4M3) return p.scale == 0 ? 0 : f32_to_f8_e4m3(w / p.scale, Overflow::Saturate);
  if (p.scale == 0) return std::clamp(has_float_min() ? 0 : p.zero, qmin(), qmax());
  const float t = has_float_min() ? (w - p.min) / p.scale : w / p.scale;
  // clamp in float first: t may be far outside int range
  const float r = std::clamp(std::round(t), static_cast<float>(qmin() - p.zero - 1), static_cast<float>(qmax() - p.zero + 1));
  return std::clamp(static_cast<int32_t>(r) + (has_float_min() ? 0 : p.zero), qmin(), qmax());
}

void double_quantize_scales(QuantizedMatrix& q) {
  const size_t n = q.params.size();
  if (n == 0) return;
  double mean = 0;
  for (const auto& p : q.params) mean += p.scale;
  q.dq.offset = static_cast<float>(mean / static_cast<double>(n));
  q.dq.codes.assign(n, 128);
  q.dq.scales.clear();
  for (size_t b = 0; b < n; b += DoubleQuant::kBlock) {
    const size_t e = std::min(n, b + DoubleQuant::kBlock);
    float amax = 0;
    for (size_t i = b; i < e; ++i) amax = std::max(amax, std::fabs(q.params[i].scale - q.dq.offset));
    const float s = amax / 127.0f;
    q.dq.scales.push_back(s);
    for (size_t i = b; i < e; ++i) {
      const float c = s == 0 ? 0.0f : std::clamp(std::round((q.params[i].scale - q.dq.offset) / s), -127.0f, 127.0f);
      q.dq.codes[i] = static_cast<uint8_t>(static_cast<int>(c) + 128);
      q.params[i].scale = double_quant_value(s, q.dq.codes[i], q.dq.offset);
    }
  }
}

QuantizedMatrix make_quantized_matrix(const WeightGrid& grid, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 1) invalid("cannot quantize a matrix of shape [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
  QuantizedMatrix q;
  q.grid = grid;
  q.rows = rows;
  q.cols = cols;
  q.codes.assign(static_cast<size_t>(rows * cols), 0);
  q.params.assign(static_cast<size_t>(rows * grid.groups_per_row(cols)), GroupParams{});
  return q;
}

Tensor QuantizedMatrix::dequantize() const {
  Tensor t = Tensor::zeros(DType::f32, {rows, cols});
  float* out = static_cast<float*>(t.mutable_data());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) out[r * cols + c] = value(r, c);
  return t;
}

PackedView PackedMatrix::view() const {
  return {grid, rows, cols, codes, scales, zeros,
          {reinterpret_cast<const uint8_t*>(mins.data()), 2 * mins.size()},
          {reinterpret_cast<const uint8_t*>(dq_scales.data()), 4 * dq_scales.size()}};
}

size_t PackedMatrix::row_bytes() const { return packed_bytes(static_cast<size_t>(cols), grid.bits); }

PackedMatrix pack_matrix(const QuantizedMatrix& q) {
  PackedMatrix p;
  p.grid = q.grid;
  p.rows = q.rows;
  p.cols = q.cols;
  const size_t rb = p.row_bytes(), cols = static_cast<size_t>(q.cols);
  p.codes.resize(rb * static_cast<size_t>(q.rows));
  std::vector<uint8_t> u(cols);
  for (int64_t r = 0; r < q.rows; ++r) {
    for (size_t c = 0; c < cols; ++c) u[c] = static_cast<uint8_t>(q.codes[static_cast<size_t>(r) * cols + c] - q.grid.qmin());
    pack_codes(u, q.grid.bits, {p.codes.data() + static_cast<size_t>(r) * rb, rb});
  }
  const auto put = [&](const void* v, size_t n) {
    const auto* b = static_cast<const uint8_t*>(v);
    p.scales.insert(p.scales.end(), b, b + n);
  };
  for (const GroupParams& g : q.params) {
    if (q.grid.double_quant) {
      // the codes are in q.dq
    } else if (q.grid.f32_scales()) {
      put(&g.scale, 4);
    } else {
      const uint16_t h = f32_to_f16(g.scale);
      put(&h, 2);
    }
    if (q.grid.has_float_min()) p.mins.push_back(f32_to_f16(g.min));
    else if (q.grid.has_zero_points()) p.zeros.push_back(static_cast<uint8_t>(g.zero));
  }
  if (q.grid.double_quant) {
    p.scales = q.dq.codes;
    p.dq_scales = q.dq.scales;
    p.dq_scales.push_back(q.dq.offset);
  }
  return p;
}

std::vector<float> axis0_groups(std::span<const float> w, int64_t group) {
  const auto g = static_cast<size_t>(group), m = w.size() / g;
  std::vector<float> b(w.size());
  for (size_t t = 0; t < g; ++t)
    for (size_t j = 0; j < m; ++j) b[j * g + t] = w[t * m + j];
  return b;
}

void axis0_scatter(std::span<const float> groups, int64_t group, std::span<float> w) {
  const auto g = static_cast<size_t>(group), m = w.size() / g;
  for (size_t t = 0; t < g; ++t)
    for (size_t j = 0; j < m; ++j) w[t * m + j] = groups[j * g + t];
}

void PackedView::validate(const std::string& what) const {
  if (rows < 0 || cols < 1 || rows > (int64_t{1} << 31) || cols > (int64_t{1} << 31) || rows * cols > (int64_t{1} << 40) ||
      !grid.fits(cols))
    throw Error(ErrorCategory::BadFile, what + ": shape [" + std::to_string(rows) + ", " + std::to_string(cols) +
                                            "] does not fit " + grid.describe());
  const auto groups = static_cast<uint64_t>(rows) * static_cast<uint64_t>(grid.groups_per_row(cols));
  const uint64_t want_codes = packed_bytes(static_cast<size_t>(cols), grid.bits) * static_cast<uint64_t>(rows);
  auto check = [&](std::span<const uint8_t> part, uint64_t want, const char* field) {
    if (part.size() != want)
      throw Error(ErrorCategory::BadFile, what + ": " + field + " holds " + std::to_string(part.size()) + " bytes, a " +
                                              std::to_string(rows) + "×" + std::to_string(cols) + " " + grid.describe() +
                                              " matrix needs " + std::to_string(want));
  };
  check(codes, want_codes, "codes");
  check(scales, (grid.double_quant ? 1 : grid.f32_scales() ? 4 : 2) * groups, "scales");
  check(zeros, grid.has_zero_points() ? groups : 0, "zeros");
  check(mins, grid.has_float_min() ? 2 * groups : 0, "mins");
  const uint64_t dq_blocks = (groups + DoubleQuant::kBlock - 1) / DoubleQuant::kBlock;
  check(dq_scales, grid.double_quant ? 4 * (dq_blocks + 1) : 0, "double-quant scales");
}

std::vector<GroupParams> packed_group_params(const PackedView& v) {
  const auto f16_at = [](std::span<const uint8_t> b, size_t i) {
    return f16_to_f32(static_cast<uint16_t>(b[2 * i] | (b[2 * i + 1] << 8)));
  };
  const auto f32_at = [](std::span<const uint8_t> b, size_t i) {
    float x;
    std::memcpy(&x, b.data() + 4 * i, 4);
    return x;
  };
  const float dq_offset = v.grid.double_quant ? f32_at(v.dq_scales, v.dq_scales.size() / 4 - 1) : 0.0f;
  const auto scale_at = [&](size_t i) {
    if (v.grid.double_quant) return double_quant_value(f32_at(v.dq_scales, i / DoubleQuant::kBlock), v.scales[i], dq_offset);
    return v.grid.f32_scales() ? f32_at(v.scales, i) : f16_at(v.scales, i);
  };
  std::vector<GroupParams> p(static_cast<size_t>(v.rows * v.grid.groups_per_row(v.cols)));
  for (size_t i = 0; i < p.size(); ++i)
    p[i] = {scale_at(i), v.grid.has_float_min() ? f16_at(v.mins, i) : 0.0f, v.grid.has_zero_points() ? v.zeros[i] : 0};
  return p;
}

void dequantize_packed(const PackedView& v, std::span<float> out) {
  const auto cols = static_cast<size_t>(v.cols), rb = packed_bytes(cols, v.grid.bits);
  const int64_t groups = v.grid.groups_per_row(v.cols), g = v.grid.group_cols(v.cols);
  const std::vector<GroupParams> params = packed_group_params(v);
  std::vector<uint8_t> u(cols);
  for (int64_t r = 0; r < v.rows; ++r) {
    unpack_codes(v.codes.subspan(static_cast<size_t>(r) * rb, rb), v.grid.bits, u);
    for (int64_t k = 0; k < groups; ++k) {
      const GroupParams& p = params[static_cast<size_t>(r * groups + k)];
      for (int64_t j = k * g; j < k * g + v.grid.group_len(v.cols, k); ++j)
        out[static_cast<size_t>(r) * cols + static_cast<size_t>(j)] = v.grid.value(u[static_cast<size_t>(j)] + v.grid.qmin(), p);
    }
  }
}

std::optional<GgmlType> ggml_twin(const WeightGrid& g, int64_t cols) {
  if (g.kind != GridKind::IntSymmetric || g.axis0 || g.double_quant || cols <= 0 || cols % 32 != 0 || g.group_cols(cols) % 32 != 0)
    return std::nullopt;
  switch (g.bits) {
    case 8: return GgmlType::Q8_0;
    case 5: return GgmlType::Q5_0;
    case 4: return GgmlType::Q4_0;
    default: return std::nullopt;
  }
}

std::optional<std::vector<uint8_t>> packed_as_ggml(const PackedView& v, GgmlType t) {
  if (ggml_twin(v.grid, v.cols) != t) invalid(v.grid.describe() + " over rows of " + std::to_string(v.cols) + " is not " + std::string(ggml_type_info(t).name));
  const int32_t zero = 1 << (v.grid.bits - 1);
  for (const uint8_t z : v.zeros)
    if (z != zero) return std::nullopt;
  QuantizedMatrix q = make_quantized_matrix(WeightGrid::ggml(t), v.rows, v.cols);
  const auto cols = static_cast<size_t>(v.cols), rb = packed_bytes(cols, v.grid.bits);
  const int64_t groups = v.grid.groups_per_row(v.cols), blocks_per_group = v.grid.group_cols(v.cols) / 32;  // the last group may be shorter
  const int32_t offset = t == GgmlType::Q8_0 ? zero : 0;  // Q8_0 stores q − 128 as int8; Q5_0/Q4_0 the code around 16/8
  std::vector<uint8_t> u(cols);
  for (int64_t r = 0; r < v.rows; ++r) {
    unpack_codes(v.codes.subspan(static_cast<size_t>(r) * rb, rb), v.grid.bits, u);
    for (size_t j = 0; j < cols; ++j) q.codes[static_cast<size_t>(r) * cols + j] = static_cast<int16_t>(u[j] - offset);
    for (int64_t k = 0; k < groups; ++k) {
      const auto i = static_cast<size_t>(r * groups + k);
      const float scale = f16_to_f32(static_cast<uint16_t>(v.scales[2 * i] | (v.scales[2 * i + 1] << 8)));  // f16: exact back in to_ggml
      for (int64_t b = 0; b < v.grid.group_len(v.cols, k) / 32; ++b)
        q.params[static_cast<size_t>(r * (v.cols / 32) + k * blocks_per_group + b)] = {scale, 0, zero - offset};
    }
  }
  return q.to_ggml();
}

namespace {

using namespace ggml;

template <class Block>
void put(std::vector<uint8_t>& out, size_t index, const Block& b) {
  std::memcpy(out.data() + index * sizeof(Block), &b, sizeof(Block));
}
template <class Block>
Block get(std::span<const uint8_t> in, size_t index) {
  Block b;
  std::memcpy(&b, in.data() + index * sizeof(Block), sizeof(Block));
  return b;
}

// 32 codes of up to 5 bits: low nibbles (element j and j+16 share byte j), fifth bits in qh.
void pack_nibbles(const int16_t* q, uint8_t qs[16], uint8_t qh[4]) {
  uint32_t h = 0;
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>((q[j] & 15) | ((q[j + 16] & 15) << 4));
  for (int j = 0; j < 32; ++j) h |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
  if (qh) std::memcpy(qh, &h, 4);
}
void unpack_nibbles(const uint8_t qs[16], const uint8_t* qh, int16_t* q) {
  uint32_t h = 0;
  if (qh) std::memcpy(&h, qh, 4);
  for (int j = 0; j < 16; ++j) {
    q[j] = static_cast<int16_t>((qs[j] & 15) | (((h >> j) & 1) << 4));
    q[j + 16] = static_cast<int16_t>((qs[j] >> 4) | (((h >> (j + 16)) & 1) << 4));
  }
}

}  // namespace

std::vector<uint8_t> QuantizedMatrix::to_ggml() const {
  const auto type = grid.ggml_type();
  if (!type) invalid("grid " + grid.describe() + " is not a GGUF block type");
  const GgmlTypeInfo& info = ggml_type_info(*type);
  const size_t blocks = static_cast<size_t>(rows * cols / 32);
  std::vector<uint8_t> out(blocks * static_cast<size_t>(info.block_bytes));
  for (size_t i = 0; i < blocks; ++i) {
    const int16_t* q = &codes[i * 32];
    const GroupParams& p = params[i];
    switch (grid.kind) {
      case GridKind::Q8_0: {
        BlockQ8_0 b{};
        b.d = f32_to_f16(p.scale);
        for (int j = 0; j < 32; ++j) b.qs[j] = static_cast<int8_t>(q[j]);
        put(out, i, b);
        break;
      }
      case GridKind::Q4_0: {
        BlockQ4_0 b{};
        b.d = f32_to_f16(p.scale);
        pack_nibbles(q, b.qs, nullptr);
        put(out, i, b);
        break;
      }
      case GridKind::Q4_1: {
        BlockQ4_1 b{};
        b.d = f32_to_f16(p.scale);
        b.m = f32_to_f16(p.min);
        pack_nibbles(q, b.qs, nullptr);
        put(out, i, b);
        break;
      }
      case GridKind::Q5_0: {
        BlockQ5_0 b{};
        b.d = f32_to_f16(p.scale);
        pack_nibbles(q, b.qs, b.qh);
        put(out, i, b);
        break;
      }
      case GridKind::Q5_1: {
        BlockQ5_1 b{};
        b.d = f32_to_f16(p.scale);
        b.m = f32_to_f16(p.min);
        pack_nibbles(q, b.qs, b.qh);
        put(out, i, b);
        break;
      }
      default: break;
    }
  }
  return out;
}

QuantizedMatrix QuantizedMatrix::from_ggml(GgmlType t, std::span<const uint8_t> bytes, int64_t rows, int64_t cols) {
  QuantizedMatrix m = make_quantized_matrix(WeightGrid::ggml(t), rows, cols);
  const size_t blocks = static_cast<size_t>(rows * cols / 32);
  if (bytes.size() != blocks * static_cast<size_t>(ggml_type_info(t).block_bytes))
    invalid("from_ggml: " + std::to_string(bytes.size()) + " bytes for a " + std::to_string(rows) + "×" +
            std::to_string(cols) + " " + std::string(ggml_type_info(t).name) + " matrix");
  for (size_t i = 0; i < blocks; ++i) {
    int16_t* q = &m.codes[i * 32];
    GroupParams& p = m.params[i];
    switch (m.grid.kind) {
      case GridKind::Q8_0: {
        const auto b = get<BlockQ8_0>(bytes, i);
        p = {f16_to_f32(b.d), 0, 0};
        for (int j = 0; j < 32; ++j) q[j] = b.qs[j];
        break;
      }
      case GridKind::Q4_0: {
        const auto b = get<BlockQ4_0>(bytes, i);
        p = {f16_to_f32(b.d), 0, 8};
        unpack_nibbles(b.qs, nullptr, q);
        break;
      }
      case GridKind::Q4_1: {
        const auto b = get<BlockQ4_1>(bytes, i);
        p = {f16_to_f32(b.d), f16_to_f32(b.m), 0};
        unpack_nibbles(b.qs, nullptr, q);
        break;
      }
      case GridKind::Q5_0: {
        const auto b = get<BlockQ5_0>(bytes, i);
        p = {f16_to_f32(b.d), 0, 16};
        unpack_nibbles(b.qs, b.qh, q);
        break;
      }
      case GridKind::Q5_1: {
        const auto b = get<BlockQ5_1>(bytes, i);
        p = {f16_to_f32(b.d), f16_to_f32(b.m), 0};
        unpack_nibbles(b.qs, b.qh, q);
        break;
      }
      default: break;
    }
  }
  return m;
}

}  // namespace qforge
