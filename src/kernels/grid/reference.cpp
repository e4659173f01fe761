// The grid kernels' spec: each weight decoded on its own, straight from the packed bits, then
// the f32 dot's order (dot_kernels.h; fp8 scaled per group and lane: grid_kernels.h). SIMD
// versions are tested against this, and this against dequantize_packed + the f32 dot.
#include <algorithm>
#include <cmath>

#include "kernels/dot/dot_kernels.h"
#include "kernels/dot/interleaved4.h"
#include "kernels/grid/grid_decode.h"
#include "kernels/grid/grid_kernels.h"

namespace qforge::kernels {
namespace {

// fp8 (grid_kernels.h): the codes' values times 2^−8 into the lanes per group, then s once per
// group and lane.
void fp8_matmul_ref(const GridArgs& a) {
  const GridMatrix& w = *a.w;
  const int64_t whole = w.cols - w.cols % 8;
  for (int64_t r = 0; r < a.rows; ++r)
    for (int64_t t = 0; t < a.n; ++t) {
      const float* x = a.x + t * w.cols;
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int64_t g = 0; g < w.groups_per_row; ++g) {
        float inner[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int64_t i = g * w.group; i < std::min((g + 1) * w.group, whole); ++i)
          inner[i % 8] = std::fma(x[i], f8_e4m3_to_f32(static_cast<uint8_t>(grid_code(w, a.row0 + r, i))) * 0x1p-8f, inner[i % 8]);
        const float s = w.scales[static_cast<size_t>((a.row0 + r) * w.groups_per_row + g)];
        for (int k = 0; k < 8; ++k) acc[k] = std::fma(s, inner[k] * 256.0f, acc[k]);
      }
      float y = reduce8(acc);
      for (int64_t i = whole; i < w.cols; ++i) y = std::fma(x[i], grid_value(w, a.row0 + r, i), y);
      a.y[t * a.ldy + r] = y;
    }
}

void matmul_ref(const GridArgs& a) {
  const GridMatrix& w = *a.w;
  if (w.codec == GridCodec::Fp8) return fp8_matmul_ref(a);
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

// The integer path (grid_kernels.h): per block, each half's exact int32 sum scaled by d_a into
// the group's two sums; per group, those scaled by s into two accumulators, and the activation
// sums s_a times the group's minimum summed beside (level grids: the levels for the codes, no
// minimum, the sum divided by the levels' denominator).
void int_matmul_ref(const IntGridArgs& a) {
  const IntGridMatrix& w = *a.w;
  const int64_t nb = w.cols / 32;
  const size_t record_bytes = int_grid_record_bytes(w.bits);
  for (int64_t r = 0; r < a.rows; ++r) {
    const int64_t row = a.row0 + r;
    const uint8_t* records = w.codes + static_cast<size_t>(row / 4) * w.row_group_bytes;
    for (int64_t t = 0; t < a.n; ++t) {
      const BlockA8x4* x = a.x + t * nb;
      float acc[2] = {0, 0};
      float mins = 0;
      for (int64_t g = 0; g < w.groups_per_row; ++g) {
        float inner[2] = {0, 0};
        float act_sum = 0;
        for (int64_t b = g * w.group_blocks; b < std::min(nb, (g + 1) * w.group_blocks); ++b) {
          const uint8_t* record = records + static_cast<size_t>(b) * record_bytes;
          for (int h = 0; h < 2; ++h) {
            int32_t half = 0;
            for (int i = 0; i < 32; ++i) {
              if (((i >> 2) & 1) != h) continue;
              const int c = int_grid_weight(record, w.bits, static_cast<int>(row % 4), i);
              half += (w.levels ? w.levels[c] : c) * x[b].qs[interleaved_register(i)][interleaved_pos(0, i % 16) % 32];
            }
            inner[h] = std::fma(x[b].d, static_cast<float>(half), inner[h]);
          }
          act_sum += x[b].s;
        }
        const size_t p = int_grid_param(row, g, w.groups_per_row);
        for (int h = 0; h < 2; ++h) acc[h] = std::fma(w.scales[p], inner[h], acc[h]);
        if (w.mins) mins += w.mins[p] * act_sum;
      }
      a.y[t * a.ldy + r] = w.levels ? (acc[0] + acc[1]) / kLevelDenominator : (acc[0] + acc[1]) + mins;
    }
  }
}

}  // namespace

GridKernels grid_kernels_scalar() { return {Isa::Scalar, matmul_ref, int_matmul_ref}; }

}  // namespace qforge::kernels
