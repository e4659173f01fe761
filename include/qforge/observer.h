// Calibration observers: they watch a tensor's values batch after batch (one calibration
// sample's activations at a time) and choose the range [lo, hi] that a static quantization
// scheme maps onto its codes. docs/observers.md derives each rule.
//
//   minmax          the extremes seen
//   moving-average  PyTorch's MovingAverageMinMaxObserver: lo += c·(batch min − lo), same for hi
//   percentile      the p-th percentile of |x| (symmetric) or the (100−p)-th and p-th (affine)
//   mse             the range, scaled down from the observed one, with the least expected
//                   squared quantization error over the histogram
//   kl              TensorRT's entropy calibration: the |x| threshold whose 128-level
//                   quantized distribution is closest in KL divergence to the clipped one
//
// The last three work on a histogram of 2·bins bins over [−A, A]; A doubles (adjacent bins
// merging) whenever a batch exceeds it, so one pass over the data suffices and memory is fixed.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "qforge/quant.h"

namespace qforge {

enum class ObserverKind : uint8_t { MinMax, MovingAverage, Percentile, Mse, Kl };
std::string_view observer_name(ObserverKind k);
ObserverKind parse_observer(std::string_view name);  // throws, listing the supported names

struct ObserverOptions {
  ObserverKind kind = ObserverKind::MinMax;
  double momentum = 0.01;      // moving-average: PyTorch's averaging_constant
  double percentile = 99.99;   // percentile: in (50, 100]
  int bins = 2048;             // per sign; even
  QScheme scheme = QScheme::symmetric(8);  // the scheme the range is for (mse and kl need its levels)
};

struct ObservedRange {
  float lo = 0, hi = 0;
  double clipped_fraction = 0;  // of the values seen, the share outside [lo, hi] (to the histogram's bin)
};

class Observer {
 public:
  explicit Observer(ObserverOptions options);
  // One batch; NaN or Inf throws Error(Numeric) naming `what`.
  void observe(std::span<const float> x, std::string_view what = "activation");
  ObservedRange range() const;  // throws Error(InvalidArgument) before any value was seen
  ScaleZero scale_zero() const { return choose_scale_zero(range().lo, range().hi, options_.scheme); }

  int64_t count() const { return count_; }
  float min() const { return min_; }
  float max() const { return max_; }
  // The histogram: 2·bins counts over [−limit, limit].
  const std::vector<double>& histogram() const { return hist_; }
  double limit() const { return limit_; }

 private:
  void add_to_histogram(std::span<const float> x, float batch_absmax);
  double mass_outside(double lo, double hi) const;
  ObservedRange percentile_range() const;
  ObservedRange mse_range() const;
  ObservedRange kl_range() const;

  ObserverOptions options_;
  int64_t count_ = 0;
  float min_ = 0, max_ = 0;        // extremes seen
  float avg_min_ = 0, avg_max_ = 0;  // moving averages of the batch extremes
  std::vector<double> hist_;
  double limit_ = 0;
};

// TensorRT's entropy calibration on a histogram of |x| (bins of equal width from 0): the
// number of bins i ≥ levels whose clipped distribution P (the mass beyond folded into bin
// i−1) and its quantization Q to `levels` levels (each level's mass spread evenly over its
// non-empty bins) have the least KL(P‖Q). Returns i; the threshold is i bin widths.
int64_t kl_threshold_bins(std::span<const double> abs_histogram, int64_t levels = 128);

}  // namespace qforge
