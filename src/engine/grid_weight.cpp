#include "engine/grid_weight.h"

#include <algorithm>

#include "kernels/grid/grid_decode.h"
#include "qforge/pack.h"

namespace qforge::engine {
namespace {

// Repacks w's codes into the integer path's blocks and gives each group its minimum
// m = s·(shift + o) or min + s·o (grid_kernels.h); NF4 codes index the int8 levels instead.
void make_integer(GridWeights& w) {
  kernels::GridMatrix& m = w.m;
  const int o = kernels::int_grid_offset(m.bits);
  const int64_t nb = m.cols / 32;
  const size_t block_bytes = kernels::int_grid_block_bytes(m.bits);
  std::vector<uint8_t> blocks(static_cast<size_t>(m.rows * nb) * block_bytes);
  uint8_t codes[32];
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t b = 0; b < nb; ++b) {
      for (int i = 0; i < 32; ++i) codes[i] = static_cast<uint8_t>(kernels::grid_code(m, r, 32 * b + i));
      kernels::pack_int_grid_block(codes, m.bits, &blocks[static_cast<size_t>(r * nb + b) * block_bytes]);
    }
  const bool nf4 = m.codec == kernels::GridCodec::NF4;
  if (!nf4) w.int_mins.resize(w.scales.size());
  for (size_t g = 0; g < w.int_mins.size(); ++g)
    w.int_mins[g] = m.codec == kernels::GridCodec::IntShift ? w.scales[g] * static_cast<float>(w.shifts[g] + o)
                                                            : w.mins[g] + w.scales[g] * static_cast<float>(o);
  w.codes = std::move(blocks);
  m.codes = nullptr;  // the packed codes are gone; value() reads the blocks
  w.integer = true;
  kernels::IntGridMatrix& im = w.im;
  im.bits = m.bits;
  im.rows = m.rows;
  im.cols = m.cols;
  im.group_blocks = m.group / 32;
  im.groups_per_row = m.groups_per_row;
  im.codes = w.codes.data();
  im.row_bytes = static_cast<size_t>(nb) * block_bytes;
  im.scales = w.scales.data();
  im.mins = nf4 ? nullptr : w.int_mins.data();
  im.levels = nf4 ? kernels::nf4_int8_levels() : nullptr;
}

}  // namespace

bool integer_path_takes(const PackedView& v) {
  const WeightGrid& g = v.grid;
  const bool int_codec = g.kind != GridKind::Fp8E4M3 && (!g.has_float_min() || g.qmin() == 0);
  return int_codec && (g.kind != GridKind::NF4 || g.bits == 4) && !g.axis0 && g.bits >= 2 && g.bits <= 8 && v.cols % 32 == 0 &&
         g.group_cols(v.cols) % 32 == 0;
}

float GridWeights::value(int64_t r, int64_t c) const {
  if (!integer) return kernels::grid_value(m, r, c);
  const size_t block_bytes = kernels::int_grid_block_bytes(im.bits);
  const uint8_t* block = codes.data() + static_cast<size_t>(r) * im.row_bytes + static_cast<size_t>(c / 32) * block_bytes;
  const int code = kernels::int_grid_weight(block, im.bits, static_cast<int>(c % 32)) + kernels::int_grid_offset(im.bits);
  return kernels::grid_code_value(m, static_cast<size_t>(r * m.groups_per_row + c / m.group), static_cast<uint32_t>(code));
}

uint64_t GridWeights::kernel_bytes() const {
  const size_t params = integer ? scales.size() + int_mins.size() : scales.size() + shifts.size() + mins.size();
  return codes.size() + 4 * params;
}

std::shared_ptr<const GridWeights> grid_weights_from(const PackedView& v, bool integer_path) {
  const WeightGrid& g = v.grid;
  const int64_t group = g.group_cols(v.cols);
  if (g.axis0 || (group % 8 != 0 && group != v.cols) || g.bits < 1 || g.bits > 8) return nullptr;
  kernels::GridCodec codec = kernels::GridCodec::IntShift;
  if (g.kind == GridKind::NF4) codec = kernels::GridCodec::NF4;
  else if (g.kind == GridKind::Fp8E4M3) codec = kernels::GridCodec::Fp8;
  else if (g.has_float_min()) codec = kernels::GridCodec::IntMin;
  if (codec != kernels::GridCodec::IntShift && g.qmin() != 0) return nullptr;  // those codecs read the code as q

  auto w = std::make_shared<GridWeights>();
  w->codes.assign(v.codes.begin(), v.codes.end());
  w->codes.resize(w->codes.size() + 8, 0);  // the kernels load whole words at the last codes
  const std::vector<GroupParams> params = packed_group_params(v);
  w->scales.reserve(params.size());
  for (const GroupParams& p : params) {
    w->scales.push_back(p.scale);
    if (codec == kernels::GridCodec::IntShift) w->shifts.push_back(g.qmin() - p.zero);
    if (codec == kernels::GridCodec::IntMin) w->mins.push_back(p.min);
  }
  kernels::GridMatrix& m = w->m;
  m.codec = codec;
  m.bits = g.bits;
  m.rows = v.rows;
  m.cols = v.cols;
  m.group = group;
  m.groups_per_row = g.groups_per_row(v.cols);
  m.codes = w->codes.data();
  m.code_row_bytes = packed_bytes(static_cast<size_t>(v.cols), g.bits);
  m.scales = w->scales.data();
  m.shifts = w->shifts.empty() ? nullptr : w->shifts.data();
  m.mins = w->mins.empty() ? nullptr : w->mins.data();
  if (integer_path && integer_path_takes(v)) make_integer(*w);
  return w;
}

}  // namespace qforge::engine
