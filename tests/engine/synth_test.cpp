#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "qforge/engine.h"
#include "qforge/synth.h"
#include "support/temp_dir.h"

namespace qforge {
namespace {

TEST(Synth, TinyModelHasTheShapeAndTheStatisticsItPromises) {
  testing::TempDir dir;
  const int64_t params = write_synthetic_model("tiny", dir.file("m"), false, 7);
  const ModelFile m = open_model(dir.file("m"));
  ASSERT_TRUE(m.config);
  EXPECT_EQ(m.config->parameter_count(), params);
  EXPECT_EQ(m.find("blk.1.ffn_down.weight")->dtype, DType::bf16);
  // A few input channels are far larger than the rest (the outliers SmoothQuant targets) ...
  const Tensor w = tensor_to_f32(*m.find("blk.0.attn_q.weight"));
  const auto x = w.span<float>();
  const int64_t rows = w.dim(0), cols = w.dim(1);
  std::vector<double> col_max(static_cast<size_t>(cols), 0.0);
  double sum2 = 0, sum4 = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const double v = x[static_cast<size_t>(r * cols + c)];
      col_max[static_cast<size_t>(c)] = std::max(col_max[static_cast<size_t>(c)], std::fabs(v));
    }
  std::vector<double> sorted = col_max;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_GT(sorted.back() / sorted[sorted.size() / 2], 10.0) << "no outlier channel";
  // ... and outside them the values are heavy-tailed (kurtosis above the Gaussian's 3).
  const double median_col = sorted[sorted.size() / 2];
  int64_t n = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      if (col_max[static_cast<size_t>(c)] > 4 * median_col) continue;
      const double v = x[static_cast<size_t>(r * cols + c)];
      sum2 += v * v;
      sum4 += v * v * v * v;
      ++n;
    }
  const double kurtosis = (sum4 / static_cast<double>(n)) / std::pow(sum2 / static_cast<double>(n), 2);
  EXPECT_GT(kurtosis, 3.5);
  // It runs, and the same seed gives the same model.
  auto model = Model::load(m);
  const auto logits = model->forward(std::vector<int32_t>{1, 5, 9});
  for (float v : logits) ASSERT_TRUE(std::isfinite(v));
  write_synthetic_model("tiny", dir.file("again"), false, 7);
  EXPECT_EQ(testing::read_bytes(dir.file("m/model.safetensors")), testing::read_bytes(dir.file("again/model.safetensors")));
  EXPECT_THROW(synth_config("70b"), Error);
}

}  // namespace
}  // namespace qforge
