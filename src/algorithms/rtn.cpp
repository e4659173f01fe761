// Round-to-nearest (RTN): the baseline every other method is measured against.
#include <algorithm>
#include <vector>

#include "qforge/error.h"
#include "qforge/weight_quant.h"

namespace qforge {

void serial_for(int64_t n, const std::function<void(int64_t, int64_t)>& body) {
  if (n > 0) body(0, n);
}

QuantizedMatrix quantize_rtn(std::span<const float> w, int64_t rows, int64_t cols, const WeightGrid& grid) {
  if (static_cast<int64_t>(w.size()) != rows * cols)
    throw Error(ErrorCategory::InvalidArgument, "quantize_rtn: " + std::to_string(w.size()) + " weights for [" +
                                                    std::to_string(rows) + ", " + std::to_string(cols) + "]");
  if (auto t = grid.ggml_type()) {  // llama.cpp's own rounding, through its block bytes
    (void)grid.groups_per_row(cols);
    std::vector<uint8_t> bytes(static_cast<size_t>(ggml_row_bytes(*t, static_cast<uint64_t>(cols)) * static_cast<uint64_t>(rows)));
    ggml_quantize(*t, w, bytes);
    return QuantizedMatrix::from_ggml(*t, bytes, rows, cols);
  }
  QuantizedMatrix q = make_quantized_matrix(grid, rows, cols);
  const int64_t g = grid.group_cols(cols), groups = grid.groups_per_row(cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < groups; ++k)
      q.params[static_cast<size_t>(r * groups + k)] = grid.fit({&w[static_cast<size_t>(r * cols + k * g)], static_cast<size_t>(grid.group_len(cols, k))});
  if (grid.per_tensor()) std::fill(q.params.begin(), q.params.end(), grid.fit(w));  // BitNet's γ over the whole matrix
  if (grid.double_quant) double_quantize_scales(q);  // codes round against the scales as stored
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < groups; ++k) {
      const float* x = &w[static_cast<size_t>(r * cols + k * g)];
      const int64_t len = grid.group_len(cols, k);
      const GroupParams p = q.params[static_cast<size_t>(r * groups + k)];
      for (int64_t j = 0; j < len; ++j) q.codes[static_cast<size_t>(r * cols + k * g + j)] = static_cast<int16_t>(grid.nearest(x[j], p));
    }
  return q;
}

}  // namespace qforge
