#include "qforge/int_matmul.h"

#include <string>

#include "qforge/error.h"

namespace qforge {
namespace {

void check(size_t have, int64_t want, const char* what) {
  if (want < 0 || have != static_cast<size_t>(want))
    throw Error(ErrorCategory::InvalidArgument, std::string(what) + ": " + std::to_string(have) +
                                                    " elements, expected " + std::to_string(want));
}

void check_broadcast(size_t have, int64_t full, const char* what) {
  if (have != 1 && have != static_cast<size_t>(full))
    throw Error(ErrorCategory::InvalidArgument, std::string(what) + ": " + std::to_string(have) +
                                                    " entries, expected 1 or " + std::to_string(full));
}

template <class B>
std::vector<int32_t> matmul_ref(std::span<const int8_t> a, std::span<const B> b, int64_t m, int64_t n, int64_t k) {
  check(a.size(), m * k, "matmul A");
  check(b.size(), k * n, "matmul B");
  // |a·b| ≤ 128·255 per term; K ≤ 65,536 keeps Σ inside int32 (the kernels' limit too).
  if (k > 65536) throw Error(ErrorCategory::InvalidArgument, "matmul: K > 65536 could overflow int32 accumulation");
  std::vector<int32_t> c(static_cast<size_t>(m * n), 0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p) {
      const int32_t av = a[static_cast<size_t>(i * k + p)];
      for (int64_t j = 0; j < n; ++j)
        c[static_cast<size_t>(i * n + j)] += av * static_cast<int32_t>(b[static_cast<size_t>(p * n + j)]);
    }
  return c;
}

}  // namespace

std::vector<int32_t> matmul_s8s8_s32_ref(std::span<const int8_t> a, std::span<const int8_t> b, int64_t m,
                                         int64_t n, int64_t k) {
  return matmul_ref<int8_t>(a, b, m, n, k);
}

std::vector<int32_t> matmul_s8u8_s32_ref(std::span<const int8_t> a, std::span<const uint8_t> b, int64_t m,
                                         int64_t n, int64_t k) {
  return matmul_ref<uint8_t>(a, b, m, n, k);
}

std::vector<int32_t> row_sums_s8(std::span<const int8_t> a, int64_t m, int64_t k) {
  check(a.size(), m * k, "row_sums_s8");
  std::vector<int32_t> s(static_cast<size_t>(m), 0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p) s[static_cast<size_t>(i)] += a[static_cast<size_t>(i * k + p)];
  return s;
}

std::vector<float> rescale_s32_to_f32(std::span<const int32_t> c, int64_t m, int64_t n,
                                      std::span<const float> w_scale, std::span<const float> x_scale,
                                      std::span<const int32_t> x_zero, std::span<const int32_t> a_row_sums) {
  check(c.size(), m * n, "rescale C");
  check_broadcast(w_scale.size(), m, "rescale w_scale");
  check_broadcast(x_scale.size(), n, "rescale x_scale");
  if (!x_zero.empty()) {
    check_broadcast(x_zero.size(), n, "rescale x_zero");
    check(a_row_sums.size(), m, "rescale a_row_sums");
  }
  std::vector<float> y(c.size());
  for (int64_t i = 0; i < m; ++i) {
    const float sw = w_scale[w_scale.size() == 1 ? 0 : static_cast<size_t>(i)];
    for (int64_t j = 0; j < n; ++j) {
      const auto jj = static_cast<size_t>(j);
      int64_t acc = c[static_cast<size_t>(i * n + j)];
      if (!x_zero.empty()) acc -= static_cast<int64_t>(x_zero[x_zero.size() == 1 ? 0 : jj]) * a_row_sums[static_cast<size_t>(i)];
      const float sx = x_scale[x_scale.size() == 1 ? 0 : jj];
      y[static_cast<size_t>(i * n + j)] = sw * sx * static_cast<float>(acc);
    }
  }
  return y;
}

}  // namespace qforge
