#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "qforge/codebook.h"
#include "support/shared_data.h"

namespace qforge {
namespace {

// Our NF4 table against the independent transcription in shared/reference.
TEST(Codebook, Nf4MatchesTheReferenceFile) {
  QFORGE_REQUIRE_SHARED(ref, "reference/formats-and-algorithms.md");
  std::ifstream in(ref);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  const auto start = text.find("NF4 code values in index order");
  ASSERT_NE(start, std::string::npos) << "NF4 table not found in " << ref;
  const auto block = text.find("```", start);
  const auto end = text.find("```", block + 3);
  const std::string values = text.substr(block + 3, end - block - 3);
  std::vector<float> parsed;  // comma-separated decimals
  std::stringstream list(values);
  for (std::string item; std::getline(list, item, ',');) parsed.push_back(std::stof(item));
  ASSERT_EQ(parsed.size(), 16u);
  for (size_t i = 0; i < 16; ++i) EXPECT_EQ(nf4_values()[i], parsed[i]) << "code " << i;
}

TEST(Codebook, Nf4NearestUsesMidpointsTiesDown) {
  const auto& v = nf4_values();
  for (uint8_t i = 0; i < 16; ++i) EXPECT_EQ(codebook_nearest(v[i], Codebook::NF4), i);
  for (uint8_t i = 0; i + 1 < 16; ++i) {
    const float mid = 0.5f * (v[i] + v[i + 1]);
    EXPECT_EQ(codebook_nearest(mid, Codebook::NF4), i) << "tie goes to the lower code";
    EXPECT_EQ(codebook_nearest(std::nextafter(mid, 2.0f), Codebook::NF4), i + 1);
  }
  EXPECT_EQ(codebook_nearest(0.03979014977812767f, Codebook::NF4), 7);  // bitsandbytes' first threshold
  EXPECT_EQ(codebook_nearest(-5.0f, Codebook::NF4), 0);
  EXPECT_EQ(codebook_nearest(5.0f, Codebook::NF4), 15);
}

TEST(Codebook, Fp4E2M1Values) {
  const auto& v = fp4_e2m1_values();
  const float pos[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(v[static_cast<size_t>(i)], pos[i]);
    EXPECT_EQ(v[static_cast<size_t>(i + 8)], -pos[i]);
  }
  EXPECT_EQ(codebook_absmax(Codebook::FP4_E2M1), 6.0f);
}

TEST(Codebook, Nf4SchemeQuantizesBlocksByAbsmax) {
  const std::vector<float> x = {2.0f, -1.0f, 0.0f, 0.5f};
  const QScheme s = QScheme::nf4(4);
  const QParams p = choose_qparams(x, {4}, s);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p.scale[0], 2.0f);
  EXPECT_TRUE(p.zero_point.empty());
  const auto q = quantize(x, {4}, s, p);
  EXPECT_EQ(q, (std::vector<int32_t>{15, 2, 7, 10}));  // 1.0, −0.525, 0, 0.246
}

}  // namespace
}  // namespace qforge
