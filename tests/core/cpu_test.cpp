#include <gtest/gtest.h>

#include "qforge/cpu.h"
#include "qforge/error.h"

namespace qforge {
namespace {

TEST(Cpu, DetectedLevelIsConsistentWithFeatures) {
  const CpuFeatures& f = cpu_features();
  const Isa isa = detected_isa();
  if (isa >= Isa::Avx2) {
    EXPECT_TRUE(f.avx2 && f.fma && f.f16c && f.os_avx);
  }
  if (isa == Isa::Avx512) {
    EXPECT_TRUE(f.avx512f && f.avx512bw && f.avx512vl && f.os_avx512);
  }
  EXPECT_FALSE(f.vendor.empty());
}

TEST(Cpu, QforgeIsaCapsButNeverRaises) {
  EXPECT_EQ(cap_isa(Isa::Avx2, ""), Isa::Avx2);
  EXPECT_EQ(cap_isa(Isa::Avx2, "scalar"), Isa::Scalar);
  EXPECT_EQ(cap_isa(Isa::Avx2, "avx512"), Isa::Avx2);
  EXPECT_EQ(cap_isa(Isa::Avx512, "avx2"), Isa::Avx2);
  try {
    cap_isa(Isa::Avx2, "sse9");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("scalar, avx2, avx512"), std::string::npos);
  }
}

}  // namespace
}  // namespace qforge
