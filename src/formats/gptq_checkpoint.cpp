// AutoGPTQ's layout: packing and unpacking one linear. Every field read from a file is
// checked before it indexes anything (shapes, group indices, dtypes).
#include "qforge/gptq_checkpoint.h"

#include <cstring>

#include "qforge/error.h"
#include "qforge/float_convert.h"
#include "qforge/pack.h"

namespace qforge {
namespace {

bool gptq_bits(int b) { return b == 2 || b == 3 || b == 4 || b == 8; }

// n b-bit fields as one LSB-first bit stream cut into 32-bit words (n·b a multiple of 32).
void pack_words(std::span<const uint8_t> fields, int bits, std::span<int32_t> words) {
  const std::vector<uint8_t> bytes = pack_codes(fields, bits);
  for (size_t w = 0; w < words.size(); ++w) {
    const uint32_t v = bytes[4 * w] | (bytes[4 * w + 1] << 8) | (bytes[4 * w + 2] << 16) | (static_cast<uint32_t>(bytes[4 * w + 3]) << 24);
    words[w] = static_cast<int32_t>(v);
  }
}

void unpack_words(std::span<const int32_t> words, int bits, std::span<uint8_t> fields) {
  std::vector<uint8_t> bytes(4 * words.size());
  for (size_t w = 0; w < words.size(); ++w) {
    const auto v = static_cast<uint32_t>(words[w]);
    for (int i = 0; i < 4; ++i) bytes[4 * w + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
  }
  unpack_codes(bytes, bits, fields);
}

int64_t row_at(std::span<const int64_t> order, int64_t j) { return order.empty() ? j : order[static_cast<size_t>(j)]; }

// Zero points as the format means them, [groups][out] in the file's column order.
std::vector<int32_t> zero_points(const GptqLinear& g, GptqZeros zeros) {
  const auto out = static_cast<size_t>(g.out);
  const size_t words = out * static_cast<size_t>(g.bits) / 32;
  std::vector<int32_t> z(static_cast<size_t>(g.groups) * out);
  std::vector<uint8_t> f(out);
  for (size_t k = 0; k < static_cast<size_t>(g.groups); ++k) {
    unpack_words({g.qzeros.data() + k * words, words}, g.bits, f);
    for (size_t n = 0; n < out; ++n) z[k * out + n] = f[n] + (zeros == GptqZeros::V1 ? 1 : 0);
  }
  return z;
}

// Codes [in][out] in the file's column order.
std::vector<uint8_t> codes_of(const GptqLinear& g) {
  const auto in = static_cast<size_t>(g.in), out = static_cast<size_t>(g.out);
  const size_t words = in * static_cast<size_t>(g.bits) / 32;
  std::vector<uint8_t> q(in * out), col(in);
  std::vector<int32_t> w(words);
  for (size_t n = 0; n < out; ++n) {
    for (size_t r = 0; r < words; ++r) w[r] = g.qweight[r * out + n];
    unpack_words(w, g.bits, col);
    for (size_t k = 0; k < in; ++k) q[k * out + n] = col[k];
  }
  return q;
}

void check_order(std::span<const int64_t> order, int64_t rows) {
  if (!order.empty() && static_cast<int64_t>(order.size()) != rows)
    throw Error(ErrorCategory::InvalidArgument, "gptq: a row order of " + std::to_string(order.size()) + " for " + std::to_string(rows) + " rows");
}

}  // namespace

std::string gptq_unfit_reason(const WeightGrid& grid, int64_t rows, int64_t cols) {
  if (grid.kind != GridKind::IntSymmetric && grid.kind != GridKind::IntAffine)
    return "the layout holds integer grids with zero points (--bits B --sym|--asym), not " + grid.describe();
  if (!gptq_bits(grid.bits)) return "the layout holds 2, 3, 4 or 8 bits, not " + std::to_string(grid.bits);
  if (cols * grid.bits % 32 != 0)
    return std::to_string(cols) + " input columns × " + std::to_string(grid.bits) + " bits do not fill whole int32 words";
  if (rows * grid.bits % 32 != 0)
    return std::to_string(rows) + " output rows × " + std::to_string(grid.bits) + " bits of zero points do not fill whole int32 words";
  return {};
}

std::vector<int64_t> hf_row_order(const ModelConfig& c, const std::string& name, int64_t rows) {
  const bool permuted = c.architecture == "llama" || c.architecture == "mistral";
  int64_t heads = 0;
  if (permuted && name.ends_with(".attn_q.weight")) heads = c.num_heads;
  if (permuted && name.ends_with(".attn_k.weight")) heads = c.num_kv_heads;
  if (heads <= 0 || rows % heads != 0 || (rows / heads) % 2 != 0) return {};
  // Hugging Face row h·hd + a·hd/2 + b is canonical row h·hd + 2b + a (model_loader's permutation).
  const int64_t hd = rows / heads, half = hd / 2;
  std::vector<int64_t> order(static_cast<size_t>(rows));
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t a = 0; a < 2; ++a)
      for (int64_t b = 0; b < half; ++b) order[static_cast<size_t>(h * hd + a * half + b)] = h * hd + 2 * b + a;
  return order;
}

GptqLinear gptq_pack(const QuantizedMatrix& q, GptqZeros zeros, std::span<const int64_t> order) {
  if (const std::string why = gptq_unfit_reason(q.grid, q.rows, q.cols); !why.empty())
    throw Error(ErrorCategory::InvalidArgument, "gptq: " + why);
  check_order(order, q.rows);
  GptqLinear g;
  g.bits = q.grid.bits;
  g.in = q.cols;
  g.out = q.rows;
  g.groups = q.grid.groups_per_row(q.cols);
  const auto in = static_cast<size_t>(g.in), out = static_cast<size_t>(g.out), groups = static_cast<size_t>(g.groups);
  const int32_t qmin = q.grid.qmin(), zmax = (1 << g.bits) - (zeros == GptqZeros::V1 ? 0 : 1),
                zmin = zeros == GptqZeros::V1 ? 1 : 0;
  const size_t kwords = in * static_cast<size_t>(g.bits) / 32, nwords = out * static_cast<size_t>(g.bits) / 32;
  g.qweight.resize(kwords * out);
  g.qzeros.resize(groups * nwords);
  g.scales.resize(groups * out);
  g.g_idx.resize(in);
  const int64_t gc = q.grid.group_cols(q.cols);
  for (size_t k = 0; k < in; ++k) g.g_idx[k] = static_cast<int32_t>(static_cast<int64_t>(k) / gc);
  std::vector<uint8_t> col(in);
  std::vector<int32_t> words(kwords);
  std::vector<std::vector<uint8_t>> zfields(groups, std::vector<uint8_t>(out));
  for (size_t n = 0; n < out; ++n) {
    const int64_t r = row_at(order, static_cast<int64_t>(n));
    for (size_t k = 0; k < in; ++k) col[k] = static_cast<uint8_t>(q.codes[static_cast<size_t>(r) * in + k] - qmin);
    pack_words(col, g.bits, words);
    for (size_t w = 0; w < kwords; ++w) g.qweight[w * out + n] = words[w];
    for (size_t k = 0; k < groups; ++k) {
      const GroupParams& p = q.params[static_cast<size_t>(r) * groups + k];
      const int32_t z = p.zero - qmin;
      if (z < zmin || z > zmax)
        throw Error(ErrorCategory::InvalidArgument,
                    "gptq: zero point " + std::to_string(z) + " of row " + std::to_string(r) + " group " + std::to_string(k) +
                        (zeros == GptqZeros::V1 ? " cannot be stored as z − 1 in the v1 layout (--format gptq_v2 stores it)"
                                                : " is outside the " + std::to_string(g.bits) + "-bit range"));
      zfields[k][n] = static_cast<uint8_t>(z - zmin);
      g.scales[k * out + n] = f32_to_f16(p.scale);
    }
  }
  for (size_t k = 0; k < groups; ++k) pack_words(zfields[k], g.bits, {g.qzeros.data() + k * nwords, nwords});
  return g;
}

std::optional<QuantizedMatrix> gptq_to_matrix(const GptqLinear& g, int64_t group_size, GptqZeros zeros,
                                              std::span<const int64_t> order) {
  check_order(order, g.out);
  const WeightGrid probe = WeightGrid::integer(g.bits, group_size <= 0 ? 0 : group_size, false);
  if (probe.groups_per_row(g.in) != g.groups) return std::nullopt;
  const int64_t gc = probe.group_cols(g.in);
  for (int64_t k = 0; k < g.in; ++k)
    if (g.g_idx[static_cast<size_t>(k)] != k / gc) return std::nullopt;  // act-order: groups in another order
  const std::vector<int32_t> z = zero_points(g, zeros);
  const int32_t maxq = (1 << g.bits) - 1;
  bool symmetric = true;
  for (const int32_t v : z) {
    if (v < 0 || v > maxq) return std::nullopt;  // v1's overflowed z = 2^b: not on a grid
    symmetric = symmetric && v == (1 << (g.bits - 1));
  }
  QuantizedMatrix m = make_quantized_matrix(WeightGrid::integer(g.bits, probe.group_size, symmetric), g.out, g.in);
  const std::vector<uint8_t> codes = codes_of(g);
  const auto in = static_cast<size_t>(g.in), out = static_cast<size_t>(g.out), groups = static_cast<size_t>(g.groups);
  for (size_t n = 0; n < out; ++n) {
    const auto r = static_cast<size_t>(row_at(order, static_cast<int64_t>(n)));
    for (size_t k = 0; k < in; ++k) m.codes[r * in + k] = codes[k * out + n];
    for (size_t k = 0; k < groups; ++k)
      m.params[r * groups + k] = {f16_to_f32(g.scales[k * out + n]), 0, z[k * out + n]};
  }
  return m;
}

Tensor gptq_dequantize(const GptqLinear& g, GptqZeros zeros, std::span<const int64_t> order) {
  check_order(order, g.out);
  const std::vector<int32_t> z = zero_points(g, zeros);
  const std::vector<uint8_t> codes = codes_of(g);
  Tensor t = Tensor::zeros(DType::f32, {g.out, g.in});
  auto w = t.mutable_span<float>();
  const auto in = static_cast<size_t>(g.in), out = static_cast<size_t>(g.out);
  for (size_t n = 0; n < out; ++n) {
    const auto r = static_cast<size_t>(row_at(order, static_cast<int64_t>(n)));
    for (size_t k = 0; k < in; ++k) {
      const auto gi = static_cast<size_t>(g.g_idx[k]);
      w[r * in + k] = f16_to_f32(g.scales[gi * out + n]) * static_cast<float>(static_cast<int32_t>(codes[k * out + n]) - z[gi * out + n]);
    }
  }
  return t;
}

}  // namespace qforge
