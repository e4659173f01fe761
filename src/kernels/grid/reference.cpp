// The grid kernels' spec: each weight decoded on its own, straight from the packed bits, then
// the f32 dot's order (dot_kernels.h). SIMD versions are tested against this, and this against
// dequantize_packed + the f32 dot.
#include <algorithm>
#include <cmath>

#include "kernels/dot/dot_kernels.h"
#include "kernels/grid/grid_decode.h"
#include "kernels/grid/grid_kernels.h"

namespace qforge::kernels {
namespace {

void matmul_ref(const GridArgs& a) {
  const GridMatrix& w = *a.w;
  const int64_t whole = w.cols - w.cols % 8;
  for (int64_t r = 0; r < a.rows; ++r)
    for (int64_t t = 0; t < a.n; ++t) {
      const float* x = a.x + t * w.cols;
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int64_t i = 0; i < whole; ++i) acc[i % 8] = std::fma(x[i], grid_value(w, a.row0 + r, i), acc[i % 8]);
      float s = reduce8(acc);
      for (int64_t i = whole; i < w.cols; ++i) s = std::fma(x[i], grid_value(w, a.row0 + r, i), s);
      a.y[t * a.ldy + r] = s;
    }
}

// The integer path (grid_kernels.h): per block, eight exact int32 lanes scaled by d_a into the
// group's eight sums; per group, those sums scaled by s into eight accumulators, and the
// activation sums s_a times the group's minimum summed beside (level grids: the levels for the
// codes, no minimum, the sum divided by the levels' denominator).
void int_matmul_ref(const IntGridArgs& a) {
  const IntGridMatrix& w = *a.w;
  const int64_t nb = w.cols / 32;
  const size_t block_bytes = int_grid_block_bytes(w.bits);
  for (int64_t r = 0; r < a.rows; ++r) {
    const uint8_t* row = w.codes + static_cast<size_t>(a.row0 + r) * w.row_bytes;
    const auto params = static_cast<size_t>((a.row0 + r) * w.groups_per_row);
    for (int64_t t = 0; t < a.n; ++t) {
      const BlockA8* x = a.x + t * nb;
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      float mins = 0;
      for (int64_t g = 0; g < w.groups_per_row; ++g) {
        float inner[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        float act_sum = 0;
        for (int64_t b = g * w.group_blocks; b < std::min(nb, (g + 1) * w.group_blocks); ++b) {
          const uint8_t* block = row + static_cast<size_t>(b) * block_bytes;
          for (int k = 0; k < 8; ++k) {
            int32_t lane = 0;
            for (int i = 4 * k; i < 4 * k + 4; ++i) {
              const int c = int_grid_weight(block, w.bits, i);
              lane += (w.levels ? w.levels[c] : c) * x[b].qs[i];
            }
            inner[k] = std::fma(x[b].d, static_cast<float>(lane), inner[k]);
          }
          act_sum += x[b].s;
        }
        const auto p = params + static_cast<size_t>(g);
        for (int k = 0; k < 8; ++k) acc[k] = std::fma(w.scales[p], inner[k], acc[k]);
        if (w.mins) mins += w.mins[p] * act_sum;
      }
      a.y[t * a.ldy + r] = w.levels ? reduce8(acc) / kLevelDenominator : reduce8(acc) + mins;
    }
  }
}

}  // namespace

GridKernels grid_kernels_scalar() { return {Isa::Scalar, matmul_ref, int_matmul_ref}; }

}  // namespace qforge::kernels
