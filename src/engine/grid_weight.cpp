#include "engine/grid_weight.h"

#include "qforge/pack.h"

namespace qforge::engine {

std::shared_ptr<const GridWeights> grid_weights_from(const PackedView& v) {
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
  return w;
}

}  // namespace qforge::engine
