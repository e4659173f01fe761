// The grid kernels' spec: each weight decoded on its own, straight from the packed bits, then
// the f32 dot's order (dot_kernels.h). SIMD versions are tested against this, and this against
// dequantize_packed + the f32 dot.
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

}  // namespace

GridKernels grid_kernels_scalar() { return {Isa::Scalar, matmul_ref}; }

}  // namespace qforge::kernels
