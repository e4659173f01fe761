// Calibration observers against hand-computed ranges on fixed data, a histogram whose KL
// choice is known, and the property each exists for: on data with rare outliers, the mse and
// kl ranges quantize the data with less error than min-max's.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include "qforge/error.h"
#include "qforge/observer.h"

namespace qforge {
namespace {

Observer make(ObserverKind k, QScheme scheme = QScheme::symmetric(8)) {
  ObserverOptions o;
  o.kind = k;
  o.scheme = scheme;
  return Observer(o);
}

TEST(Observer, MinMaxAndMovingAverageByHand) {
  Observer mm = make(ObserverKind::MinMax);
  mm.observe(std::vector<float>{1, -2, 3});
  mm.observe(std::vector<float>{0.5f, 4});
  EXPECT_EQ(mm.range().lo, -2);
  EXPECT_EQ(mm.range().hi, 4);
  EXPECT_EQ(mm.range().clipped_fraction, 0);
  EXPECT_EQ(mm.count(), 5);

  ObserverOptions o;
  o.kind = ObserverKind::MovingAverage;
  o.momentum = 0.5;
  Observer ma(o);
  ma.observe(std::vector<float>{-1, 1});
  ma.observe(std::vector<float>{-3, 5});
  EXPECT_EQ(ma.range().lo, -2);  // −1 + 0.5·(−3 + 1)
  EXPECT_EQ(ma.range().hi, 3);   // 1 + 0.5·(5 − 1)
  EXPECT_NEAR(ma.range().clipped_fraction, 0.5, 1e-3);  // −3 and 5 of −1, 1, −3, 5 lie outside [−2, 3]
}

TEST(Observer, PercentileOfAbsOrOfTheSignedValues) {
  std::vector<float> x(1000);
  std::iota(x.begin(), x.end(), 1.0f);  // 1..1000
  ObserverOptions o;
  o.kind = ObserverKind::Percentile;
  o.percentile = 99;
  Observer sym(o);
  sym.observe(x);
  EXPECT_NEAR(sym.range().hi, 990, 1.0);  // 99 % of |x| lie at or below 990
  EXPECT_EQ(sym.range().lo, -sym.range().hi);
  EXPECT_NEAR(sym.range().clipped_fraction, 0.01, 1e-3);
  o.scheme = QScheme::affine(8);
  Observer aff(o);
  for (float& v : x) v -= 500;  // −499..500
  aff.observe(x);
  EXPECT_NEAR(aff.range().lo, -489, 1.0);
  EXPECT_NEAR(aff.range().hi, 490, 1.0);
}

TEST(Observer, HistogramDoublesWithoutLosingCounts) {
  Observer h = make(ObserverKind::Kl);
  h.observe(std::vector<float>{-1, -0.5f, 0, 0.25f, 1});
  EXPECT_EQ(h.limit(), 1);
  h.observe(std::vector<float>{3});
  EXPECT_EQ(h.limit(), 4);  // doubled twice
  const auto& hist = h.histogram();
  EXPECT_EQ(std::accumulate(hist.begin(), hist.end(), 0.0), 6);
  // 0.25 sits in the bin of [0.25, 0.25 + 8/4096) of [−4, 4]
  const size_t k = static_cast<size_t>((0.25 + 4) / 8 * 4096);
  EXPECT_EQ(hist[k], 1);
}

TEST(Observer, KlPicksTheKnownThreshold) {
  // All mass within the first 128 bins, unevenly: at i = 128 the 128-level quantization is the
  // distribution itself (KL = 0); every wider window merges bins and loses that.
  std::vector<double> h(2048, 0.0);
  for (int k = 0; k < 128; ++k) h[static_cast<size_t>(k)] = 1 + (k * 7919) % 13;
  EXPECT_EQ(kl_threshold_bins(h), 128);
  // A flat distribution over 1024 bins merges without loss at any multiple of 128 bins up to
  // 1024 — except that clipping at i < 1024 folds mass into the last bin. So 1024.
  std::vector<double> flat(2048, 0.0);
  for (int k = 0; k < 1024; ++k) flat[static_cast<size_t>(k)] = 5;
  EXPECT_EQ(kl_threshold_bins(flat), 1024);
}

// Quantization MSE of the values of x with |v| <= bulk, with the range an observer chose.
double mse_with(const std::vector<float>& x, const ObservedRange& r, const QScheme& s, float bulk = INFINITY) {
  const ScaleZero sz = choose_scale_zero(r.lo, r.hi, s);
  double e = 0;
  size_t n = 0;
  for (float v : x) {
    if (std::fabs(v) > bulk) continue;
    const double d = v - dequantize_value(quantize_value(v, sz, s), sz, s);
    e += d * d;
    ++n;
  }
  return e / static_cast<double>(n);
}

TEST(Observer, ClippingRareOutliersTradesTheirErrorForTheBulks) {
  std::mt19937 rng(1);
  std::normal_distribution<float> n01;
  std::vector<float> x(200000);
  for (auto& v : x) v = n01(rng);
  for (int i = 0; i < 10; ++i) x[static_cast<size_t>(i) * 1000] = i % 2 ? 60.0f : -60.0f;  // 5e-5 of the values
  const QScheme s = QScheme::symmetric(8);
  std::map<ObserverKind, ObservedRange> got;
  for (ObserverKind k : {ObserverKind::MinMax, ObserverKind::Percentile, ObserverKind::Mse, ObserverKind::Kl}) {
    Observer o = make(k, s);
    for (size_t b = 0; b < x.size(); b += 10000) o.observe({x.data() + b, 10000});  // 20 batches
    got[k] = o.range();
  }
  EXPECT_EQ(got[ObserverKind::MinMax].hi, 60);
  // mse: the range with the least squared error over all values (outliers as large as these
  // are worth keeping in range: clipping one costs (60 − t)²)
  const double e_mse = mse_with(x, got[ObserverKind::Mse], s);
  for (const auto& [k, r] : got) EXPECT_LE(e_mse, 1.01 * mse_with(x, r, s)) << observer_name(k);
  // kl and percentile clip the outliers to serve the bulk of the distribution: over 100× less
  // error on |x| <= 4, 99.99 % of the values
  const double bulk_minmax = mse_with(x, got[ObserverKind::MinMax], s, 4);
  for (ObserverKind k : {ObserverKind::Kl, ObserverKind::Percentile}) {
    SCOPED_TRACE(std::string(observer_name(k)));
    EXPECT_LT(got[k].hi, 20);
    EXPECT_GT(got[k].hi, 2.5);
    EXPECT_LT(got[k].clipped_fraction, 0.001);
    EXPECT_LT(mse_with(x, got[k], s, 4), 0.1 * bulk_minmax);
  }
}

TEST(Observer, BadInputAndOptionsAreRefused) {
  Observer o = make(ObserverKind::MinMax);
  EXPECT_THROW((void)o.range(), Error);
  std::vector<float> bad = {1, NAN};
  try {
    o.observe(bad, "blk.0.attn_q input");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.attn_q input: element 1"), std::string::npos) << e.what();
  }
  ObserverOptions odd;
  odd.bins = 3;
  EXPECT_THROW(Observer{odd}, Error);
  try {
    (void)parse_observer("entropy");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("supported: minmax, moving-average, percentile, mse, kl"), std::string::npos);
  }
  EXPECT_EQ(parse_observer("kl"), ObserverKind::Kl);
}

}  // namespace
}  // namespace qforge
