// Calibration observers. docs/observers.md gives the rules; TensorRT's entropy calibration
// (Migacz, "8-bit Inference with TensorRT", 2017) and PyTorch's observers are the references.
#include "qforge/observer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "qforge/error.h"

namespace qforge {

std::string_view observer_name(ObserverKind k) {
  switch (k) {
    case ObserverKind::MinMax: return "minmax";
    case ObserverKind::MovingAverage: return "moving-average";
    case ObserverKind::Percentile: return "percentile";
    case ObserverKind::Mse: return "mse";
    case ObserverKind::Kl: return "kl";
  }
  return "?";
}

ObserverKind parse_observer(std::string_view name) {
  for (ObserverKind k : {ObserverKind::MinMax, ObserverKind::MovingAverage, ObserverKind::Percentile, ObserverKind::Mse, ObserverKind::Kl})
    if (name == observer_name(k)) return k;
  throw Error(ErrorCategory::InvalidArgument,
              "unknown observer '" + std::string(name) + "'; supported: minmax, moving-average, percentile, mse, kl");
}

Observer::Observer(ObserverOptions o) : options_(o) {
  if (o.bins < 2 || o.bins % 2 != 0 || o.bins > (1 << 20))
    throw Error(ErrorCategory::InvalidArgument, "observer: bins must be even, 2..2^20, not " + std::to_string(o.bins));
  if (!(o.momentum > 0 && o.momentum <= 1)) throw Error(ErrorCategory::InvalidArgument, "observer: momentum must be in (0, 1]");
  if (!(o.percentile > 50 && o.percentile <= 100))
    throw Error(ErrorCategory::InvalidArgument, "observer: percentile must be in (50, 100]");
  o.scheme.validate();
  hist_.assign(2 * static_cast<size_t>(o.bins), 0.0);
}

void Observer::observe(std::span<const float> x, std::string_view what) {
  if (x.empty()) return;
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]))
      throw Error(ErrorCategory::Numeric, std::string(what) + ": element " + std::to_string(i) + " is NaN or Inf; cannot calibrate");
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  if (count_ == 0) {
    min_ = avg_min_ = lo;
    max_ = avg_max_ = hi;
  } else {
    min_ = std::min(min_, lo);
    max_ = std::max(max_, hi);
    const auto c = static_cast<float>(options_.momentum);
    avg_min_ += c * (lo - avg_min_);
    avg_max_ += c * (hi - avg_max_);
  }
  count_ += static_cast<int64_t>(x.size());
  add_to_histogram(x, std::max(std::fabs(lo), std::fabs(hi)));
}

void Observer::add_to_histogram(std::span<const float> x, float absmax) {
  const size_t half = static_cast<size_t>(options_.bins), n = 2 * half;
  if (limit_ == 0) limit_ = absmax > 0 ? absmax : std::numeric_limits<float>::min();
  while (absmax > limit_) {  // double the range: bin k of [−A, A] lies in bin B/2 + ⌊k/2⌋ of [−2A, 2A]
    std::vector<double> wider(n, 0.0);
    for (size_t k = 0; k < n; ++k) wider[half / 2 + k / 2] += hist_[k];
    hist_.swap(wider);
    limit_ *= 2;
  }
  const double per = static_cast<double>(n) / (2 * limit_);
  for (float v : x) {
    const auto k = static_cast<int64_t>(std::floor((static_cast<double>(v) + limit_) * per));
    hist_[static_cast<size_t>(std::clamp<int64_t>(k, 0, static_cast<int64_t>(n) - 1))] += 1;
  }
}

double Observer::mass_outside(double lo, double hi) const {
  const double w = 2 * limit_ / static_cast<double>(hist_.size());
  double out = 0, total = 0;
  for (size_t k = 0; k < hist_.size(); ++k) {
    if (hist_[k] == 0) continue;
    total += hist_[k];
    const double a = -limit_ + static_cast<double>(k) * w, b = a + w;  // the bin, its mass spread evenly
    const double inside = std::max(0.0, std::min(b, hi) - std::max(a, lo)) / w;
    out += hist_[k] * (1 - std::min(1.0, inside));
  }
  return total > 0 ? out / total : 0;
}

ObservedRange Observer::range() const {
  if (count_ == 0) throw Error(ErrorCategory::InvalidArgument, "observer: no values observed yet");
  ObservedRange r;
  switch (options_.kind) {
    case ObserverKind::MinMax: r = {min_, max_, 0}; break;
    case ObserverKind::MovingAverage: r = {avg_min_, avg_max_, 0}; break;
    case ObserverKind::Percentile: r = percentile_range(); break;
    case ObserverKind::Mse: r = mse_range(); break;
    case ObserverKind::Kl: r = kl_range(); break;
  }
  if (options_.kind != ObserverKind::MinMax) r.clipped_fraction = mass_outside(r.lo, r.hi);
  return r;
}

ObservedRange Observer::percentile_range() const {
  const size_t half = static_cast<size_t>(options_.bins);
  const double w = limit_ / static_cast<double>(half), total = static_cast<double>(count_), p = options_.percentile / 100;
  // The value below which a share q of the mass lies, interpolated inside its bin.
  auto quantile = [&](const std::vector<double>& h, double origin, double q) {
    double seen = 0;
    for (size_t k = 0; k < h.size(); ++k) {
      if (seen + h[k] >= q * total && h[k] > 0) return origin + (static_cast<double>(k) + (q * total - seen) / h[k]) * w;
      seen += h[k];
    }
    return origin + static_cast<double>(h.size()) * w;
  };
  if (options_.scheme.mode == QMode::Symmetric) {
    std::vector<double> folded(half);  // |x|
    for (size_t j = 0; j < half; ++j) folded[j] = hist_[half + j] + hist_[half - 1 - j];
    const auto t = static_cast<float>(std::min<double>(quantile(folded, 0, p), std::max(std::fabs(min_), std::fabs(max_))));
    return {-t, t, 0};
  }
  return {static_cast<float>(std::max<double>(min_, quantile(hist_, -limit_, 1 - p))),
          static_cast<float>(std::min<double>(max_, quantile(hist_, -limit_, p))), 0};
}

ObservedRange Observer::mse_range() const {
  // Candidates shrink the observed range by f = 1, 0.995, …, 0.005; each is judged by the
  // expected squared error of quantizing the histogram's bin centres with its parameters.
  const double w = 2 * limit_ / static_cast<double>(hist_.size());
  const bool sym = options_.scheme.mode == QMode::Symmetric;
  const float amax = std::max(std::fabs(min_), std::fabs(max_));
  ObservedRange best{min_, max_, 0};
  double best_err = std::numeric_limits<double>::infinity();
  for (int i = 0; i < 200; ++i) {
    const float f = 1.0f - 0.005f * static_cast<float>(i);
    const float lo = sym ? -f * amax : f * min_, hi = sym ? f * amax : f * max_;
    const ScaleZero sz = choose_scale_zero(lo, hi, options_.scheme);
    double err = 0;
    for (size_t k = 0; k < hist_.size(); ++k) {
      if (hist_[k] == 0) continue;
      const auto v = static_cast<float>(-limit_ + (static_cast<double>(k) + 0.5) * w);
      const double d = v - dequantize_value(quantize_value(v, sz, options_.scheme), sz, options_.scheme);
      err += hist_[k] * d * d;
    }
    if (err < best_err) {
      best_err = err;
      best = {lo, hi, 0};
    }
  }
  return best;
}

ObservedRange Observer::kl_range() const {
  const size_t half = static_cast<size_t>(options_.bins);
  std::vector<double> folded(half);
  for (size_t j = 0; j < half; ++j) folded[j] = hist_[half + j] + hist_[half - 1 - j];
  // Symmetric int8 has 127 steps on each side; TensorRT quantizes |x| to 128 levels.
  const int64_t levels = int64_t{1} << (options_.scheme.effective_bits() - 1);
  const int64_t i = kl_threshold_bins(folded, levels);
  const auto t = static_cast<float>(static_cast<double>(i) * limit_ / static_cast<double>(half));
  if (options_.scheme.mode == QMode::Symmetric) return {-t, t, 0};
  return {std::max(min_, -t), std::min(max_, t), 0};  // affine: the symmetric threshold cuts the observed range
}

int64_t kl_threshold_bins(std::span<const double> h, int64_t levels) {
  const auto n = static_cast<int64_t>(h.size());
  if (levels < 1) throw Error(ErrorCategory::InvalidArgument, "kl: levels must be positive");
  if (n <= levels) return n;
  double beyond = 0;  // mass past bin i
  for (int64_t k = levels; k < n; ++k) beyond += h[static_cast<size_t>(k)];
  int64_t best_i = n;
  double best = std::numeric_limits<double>::infinity();
  std::vector<double> q;
  for (int64_t i = levels; i <= n; ++i) {
    if (i > levels) beyond -= h[static_cast<size_t>(i - 1)];
    // P: the first i bins, the mass beyond folded into the last (clipping puts it there).
    double p_total = beyond;
    for (int64_t k = 0; k < i; ++k) p_total += h[static_cast<size_t>(k)];
    if (p_total == 0) continue;
    // Q: the first i bins (without the folded mass) merged into `levels` levels of ⌊i/levels⌋
    // bins (the last takes the rest), each level's mass spread evenly over its non-empty bins.
    q.assign(static_cast<size_t>(i), 0.0);
    const int64_t m = i / levels;
    double q_total = 0;
    for (int64_t l = 0; l < levels; ++l) {
      const int64_t a = l * m, b = l == levels - 1 ? i : a + m;
      double mass = 0;
      int64_t nonzero = 0;
      for (int64_t k = a; k < b; ++k) {
        mass += h[static_cast<size_t>(k)];
        nonzero += h[static_cast<size_t>(k)] != 0;
      }
      if (nonzero == 0) continue;
      for (int64_t k = a; k < b; ++k)
        if (h[static_cast<size_t>(k)] != 0) q[static_cast<size_t>(k)] = mass / static_cast<double>(nonzero);
      q_total += mass;
    }
    double kl = 0;
    for (int64_t k = 0; k < i; ++k) {
      const double pk = (h[static_cast<size_t>(k)] + (k == i - 1 ? beyond : 0)) / p_total;
      if (pk == 0) continue;
      const double qk = q_total > 0 ? q[static_cast<size_t>(k)] / q_total : 0;
      if (qk == 0) {  // P has mass Q cannot represent: an infinite divergence
        kl = std::numeric_limits<double>::infinity();
        break;
      }
      kl += pk * std::log(pk / qk);
    }
    if (kl < best) {
      best = kl;
      best_i = i;
    }
  }
  return best_i;
}

}  // namespace qforge
