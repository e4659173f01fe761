#include <gtest/gtest.h>

#include <cmath>

#include "qforge/error.h"
#include "qforge/metrics.h"

namespace qforge {
namespace {

TEST(Metrics, HandWorkedExample) {
  const std::vector<float> x = {1, 2, 3, 4}, y = {1, 2, 3, 5};
  const ErrorStats s = compare(x, y);
  EXPECT_DOUBLE_EQ(s.mse, 0.25);
  EXPECT_DOUBLE_EQ(s.max_abs, 1.0);
  EXPECT_NEAR(s.sqnr_db, 10.0 * std::log10(30.0 / 1.0), 1e-12);  // Σx² = 30, Σe² = 1
  EXPECT_NEAR(s.cosine, 34.0 / (std::sqrt(30.0) * std::sqrt(39.0)), 1e-12);
}

TEST(Metrics, EdgeCases) {
  const std::vector<float> z = {0, 0}, a = {1, 0};
  EXPECT_EQ(compare(a, a).sqnr_db, INFINITY);
  EXPECT_EQ(compare(z, a).sqnr_db, -INFINITY);
  EXPECT_EQ(compare(z, z).cosine, 1.0);
  EXPECT_EQ(compare(z, a).cosine, 0.0);
  const std::vector<float> neg = {-1, 0};
  EXPECT_DOUBLE_EQ(cosine_similarity(a, neg), -1.0);
  EXPECT_THROW(compare(a, std::vector<float>{1}), Error);
}

}  // namespace
}  // namespace qforge
