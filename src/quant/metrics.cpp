#include "qforge/metrics.h"

#include <cmath>
#include <limits>
#include <string>

#include "qforge/error.h"

namespace qforge {

ErrorStats compare(std::span<const float> x, std::span<const float> y) {
  if (x.size() != y.size())
    throw Error(ErrorCategory::InvalidArgument, "compare: sizes differ (" + std::to_string(x.size()) + " vs " +
                                                    std::to_string(y.size()) + ")");
  double se = 0, sx = 0, sy = 0, sxy = 0, mx = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double a = x[i], b = y[i], d = a - b;
    se += d * d;
    sx += a * a;
    sy += b * b;
    sxy += a * b;
    mx = std::max(mx, std::fabs(d));
  }
  ErrorStats s;
  s.mse = x.empty() ? 0.0 : se / static_cast<double>(x.size());
  s.max_abs = mx;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  s.sqnr_db = se == 0 ? kInf : (sx == 0 ? -kInf : 10.0 * std::log10(sx / se));
  if (sx == 0 && sy == 0) s.cosine = 1;
  else if (sx == 0 || sy == 0) s.cosine = 0;
  else s.cosine = sxy / (std::sqrt(sx) * std::sqrt(sy));
  return s;
}

double mse(std::span<const float> r, std::span<const float> a) { return compare(r, a).mse; }
double max_abs_error(std::span<const float> r, std::span<const float> a) { return compare(r, a).max_abs; }
double sqnr_db(std::span<const float> r, std::span<const float> a) { return compare(r, a).sqnr_db; }
double cosine_similarity(std::span<const float> a, std::span<const float> b) { return compare(a, b).cosine; }

}  // namespace qforge
