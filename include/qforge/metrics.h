// Error metrics between a reference tensor and its approximation.
#pragma once

#include <span>

namespace qforge {

struct ErrorStats {
  double mse = 0;      // mean of (x − y)²
  double max_abs = 0;  // max |x − y|
  double sqnr_db = 0;  // 10·log10(Σx² / Σ(x − y)²); +Inf when exact, −Inf when x is all zero and y is not
  double cosine = 0;   // x·y / (|x||y|); 1 when both are zero, 0 when exactly one is
};

// Accumulates in double. Throws Error(InvalidArgument) on a size mismatch.
ErrorStats compare(std::span<const float> reference, std::span<const float> approx);

double mse(std::span<const float> reference, std::span<const float> approx);
double max_abs_error(std::span<const float> reference, std::span<const float> approx);
double sqnr_db(std::span<const float> reference, std::span<const float> approx);
double cosine_similarity(std::span<const float> a, std::span<const float> b);

}  // namespace qforge
