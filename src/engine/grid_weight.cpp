#include "engine/grid_weight.h"

#include <algorithm>

#include "kernels/grid/grid_decode.h"
#include "qforge/pack.h"

namespace qforge::engine {
namespace {

// Repacks w's codes into the integer path's four-row records and gives each group its minimum
// m = s·(shift + o) or min + s·o (grid_kernels.h; NF4 codes index the int8 levels instead),
// the scales and minima four rows side by side. The row-major scales go: value() reads the
// interleaved ones.
void make_integer(GridWeights& w) {
  kernels::GridMatrix& m = w.m;
  const int o = kernels::int_grid_offset(m.bits);
  const int64_t nb = m.cols / 32, row_groups = (m.rows + 3) / 4, gpr = m.groups_per_row;
  const size_t record_bytes = kernels::int_grid_record_bytes(m.bits);
  std::vector<uint8_t> records(static_cast<size_t>(row_groups * nb) * record_bytes);
  uint8_t codes[4 * 32];
  for (int64_t rg = 0; rg < row_groups; ++rg)
    for (int64_t b = 0; b < nb; ++b) {
      for (int r = 0; r < 4; ++r)  // a missing last row: zero codes (and zero parameters)
        for (int i = 0; i < 32; ++i) {
          const int64_t row = 4 * rg + r;
          codes[32 * r + i] = static_cast<uint8_t>(row < m.rows ? kernels::grid_code(m, row, 32 * b + i) : static_cast<uint32_t>(o));
        }
      kernels::pack_int_grid_record(codes, m.bits, &records[static_cast<size_t>(rg * nb + b) * record_bytes]);
    }
  const bool nf4 = m.codec == kernels::GridCodec::NF4;
  std::vector<float> scales(static_cast<size_t>(row_groups * gpr * 4), 0.0f);
  if (!nf4) w.int_mins.assign(scales.size(), 0.0f);
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t g = 0; g < gpr; ++g) {
      const auto at = static_cast<size_t>(r * gpr + g);
      const size_t to = kernels::int_grid_param(r, g, gpr);
      scales[to] = w.scales[at];
      if (m.codec == kernels::GridCodec::IntShift) w.int_mins[to] = w.scales[at] * static_cast<float>(w.shifts[at] + o);
      else if (!nf4) w.int_mins[to] = w.mins[at] + w.scales[at] * static_cast<float>(o);
    }
  w.scales = std::move(scales);
  w.codes = std::move(records);
  m.codes = nullptr;  // the packed codes are gone, and m.scales: value() reads the records
  m.scales = nullptr;
  w.integer = true;
  kernels::IntGridMatrix& im = w.im;
  im.bits = m.bits;
  im.rows = m.rows;
  im.cols = m.cols;
  im.group_blocks = m.group / 32;
  im.groups_per_row = gpr;
  im.codes = w.codes.data();
  im.row_group_bytes = static_cast<size_t>(nb) * record_bytes;
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
  const uint8_t* record = codes.data() + static_cast<size_t>(r / 4) * im.row_group_bytes +
                          static_cast<size_t>(c / 32) * kernels::int_grid_record_bytes(im.bits);
  const int code = kernels::int_grid_weight(record, im.bits, static_cast<int>(r % 4), static_cast<int>(c % 32)) +
                   kernels::int_grid_offset(im.bits);
  const int64_t g = c / m.group;
  return kernels::grid_code_value(m, static_cast<size_t>(r * m.groups_per_row + g),
                                  scales[kernels::int_grid_param(r, g, m.groups_per_row)], static_cast<uint32_t>(code));
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
  if (codec == kernels::GridCodec::Fp8)  // e4m3's NaN codes: the kernels map them only where a matrix has one
    m.nan_codes = std::any_of(v.codes.begin(), v.codes.end(), [](uint8_t c) { return (c & 0x7F) == 0x7F; });
  if (integer_path && integer_path_takes(v)) make_integer(*w);
  return w;
}

}  // namespace qforge::engine
