// A matrix of a qforge checkpoint prepared for the grid kernels: its group parameters resolved
// to f32 scales and int32 shifts or f32 minimums (exact conversions, so every value is
// dequantize_packed's), and its codes either as packed (the f32 path: decoded in registers) or,
// for integer grids and NF4 whose groups are whole 32-blocks, repacked for the integer path (int8
// activations; NF4 on its int8 levels; grid_kernels.h). Memory: the codes' size plus 8 bytes per
// group (f32 path), 12 (integer grids) or 4 (NF4).
#pragma once

#include <memory>
#include <vector>

#include "kernels/grid/grid_kernels.h"
#include "qforge/weight_grid.h"

namespace qforge::engine {

struct GridWeights {
  kernels::GridMatrix m;      // the grid's parameters, and on the f32 path its codes
  kernels::IntGridMatrix im;  // the integer path's form, when `integer`
  bool integer = false;
  std::vector<uint8_t> codes;  // packed codes (f32 path) or repacked blocks (integer path)
  std::vector<float> scales, mins, int_mins;
  std::vector<int32_t> shifts;

  GridWeights() = default;
  GridWeights(const GridWeights&) = delete;
  GridWeights& operator=(const GridWeights&) = delete;

  // Weight (r, c) exactly as dequantize_packed gives it.
  float value(int64_t r, int64_t c) const;
  // What the kernels read: codes and per-group parameters.
  uint64_t kernel_bytes() const;
};

// nullptr when the grid kernels cannot run `v` (HQQ's axis-0 groups, groups that are not a
// multiple of 8 columns): the engine then dequantizes it. `integer_path` = false keeps even
// the integer grids on the f32 path.
std::shared_ptr<const GridWeights> grid_weights_from(const PackedView& v, bool integer_path = true);
// Whether grid_weights_from(v) puts `v` on the integer path: zero-point or float-minimum grids
// of 2–8 bits, and NF4 (on its int8 levels), whose rows and groups are whole 32-blocks.
bool integer_path_takes(const PackedView& v);

}  // namespace qforge::engine
