// A matrix of a qforge checkpoint prepared for the grid kernels: its packed codes (copied once,
// with the padding the kernels read past the last row) and its group parameters resolved to
// f32 scales and int32 shifts or f32 minimums — exact conversions, so the kernels' values are
// dequantize_packed's. Memory: the codes' size plus 8 bytes per group.
#pragma once

#include <memory>
#include <vector>

#include "kernels/grid/grid_kernels.h"
#include "qforge/weight_grid.h"

namespace qforge::engine {

struct GridWeights {
  kernels::GridMatrix m;  // points into the vectors below
  std::vector<uint8_t> codes;
  std::vector<float> scales, mins;
  std::vector<int32_t> shifts;

  GridWeights() = default;
  GridWeights(const GridWeights&) = delete;
  GridWeights& operator=(const GridWeights&) = delete;
};

// nullptr when the grid kernels cannot run `v` (HQQ's axis-0 groups, groups that are not a
// multiple of 8 columns): the engine then dequantizes it.
std::shared_ptr<const GridWeights> grid_weights_from(const PackedView& v);

}  // namespace qforge::engine
