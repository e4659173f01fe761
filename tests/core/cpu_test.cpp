#include <gtest/gtest.h>

#include "qforge/cpu.h"
#include "qforge/error.h"

namespace qforge {
namespace {

// Features of CPUs the levels are drawn for: what CPUID reports and the OS saves.
CpuFeatures avx2_cpu() {  // Zen 3, Haswell
  CpuFeatures f;
  f.avx = f.avx2 = f.fma = f.f16c = f.os_avx = true;
  return f;
}
CpuFeatures with_avx_vnni(CpuFeatures f) {  // Alder Lake
  f.avx_vnni = true;
  return f;
}
CpuFeatures with_avx512(CpuFeatures f) {  // Zen 4 and Ice Lake (VNNI only in AVX-512's encoding)
  f.avx512f = f.avx512bw = f.avx512vl = f.avx512dq = f.avx512_vnni = f.os_avx512 = true;
  return f;
}

TEST(Cpu, DetectedLevelIsConsistentWithFeatures) {
  const CpuFeatures& f = cpu_features();
  const Isa isa = detected_isa();
  EXPECT_TRUE(isa_supported(isa, f));
  if (isa >= Isa::Avx2) {
    EXPECT_TRUE(f.avx2 && f.fma && f.f16c && f.os_avx);
  }
  if (isa == Isa::AvxVnni) {
    EXPECT_TRUE(f.avx_vnni);
  }
  if (isa == Isa::Avx512) {
    EXPECT_TRUE(f.avx512f && f.avx512bw && f.avx512vl && f.os_avx512);
  }
  EXPECT_FALSE(f.vendor.empty());
}

TEST(Cpu, LevelsNestButAvxVnniIsNotImpliedByAvx512) {
  EXPECT_TRUE(isa_supported(Isa::Scalar, CpuFeatures{}));
  EXPECT_FALSE(isa_supported(Isa::Avx2, CpuFeatures{}));
  CpuFeatures no_os = avx2_cpu();
  no_os.os_avx = false;  // the OS does not save ymm: AVX2 unusable
  EXPECT_FALSE(isa_supported(Isa::Avx2, no_os));
  EXPECT_FALSE(isa_supported(Isa::AvxVnni, avx2_cpu()));
  EXPECT_TRUE(isa_supported(Isa::AvxVnni, with_avx_vnni(avx2_cpu())));
  EXPECT_FALSE(isa_supported(Isa::Avx512, with_avx_vnni(avx2_cpu())));
  EXPECT_TRUE(isa_supported(Isa::Avx512, with_avx512(avx2_cpu())));
  EXPECT_FALSE(isa_supported(Isa::AvxVnni, with_avx512(avx2_cpu())));
  EXPECT_TRUE(isa_supported(Isa::AvxVnni, with_avx512(with_avx_vnni(avx2_cpu()))));  // Zen 5, Sapphire Rapids
}

TEST(Cpu, QforgeIsaCapsButNeverRaises) {
  const CpuFeatures zen3 = avx2_cpu(), alder_lake = with_avx_vnni(zen3), zen4 = with_avx512(zen3);
  const CpuFeatures zen5 = with_avx512(alder_lake);
  EXPECT_EQ(cap_isa(zen3, ""), Isa::Avx2);
  EXPECT_EQ(cap_isa(zen3, "scalar"), Isa::Scalar);
  EXPECT_EQ(cap_isa(zen3, "avx512"), Isa::Avx2);
  EXPECT_EQ(cap_isa(zen3, "avx-vnni"), Isa::Avx2);
  EXPECT_EQ(cap_isa(alder_lake, ""), Isa::AvxVnni);
  EXPECT_EQ(cap_isa(alder_lake, "avx512"), Isa::AvxVnni);
  EXPECT_EQ(cap_isa(alder_lake, "avx2"), Isa::Avx2);
  EXPECT_EQ(cap_isa(zen4, ""), Isa::Avx512);
  EXPECT_EQ(cap_isa(zen4, "avx2"), Isa::Avx2);
  EXPECT_EQ(cap_isa(zen4, "avx-vnni"), Isa::Avx2);  // the level below that it has
  EXPECT_EQ(cap_isa(zen5, ""), Isa::Avx512);
  EXPECT_EQ(cap_isa(zen5, "avx-vnni"), Isa::AvxVnni);
  EXPECT_EQ(cap_isa(CpuFeatures{}, "avx512"), Isa::Scalar);
  try {
    cap_isa(zen3, "sse9");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("scalar, avx2, avx-vnni, avx512"), std::string::npos);
  }
}

}  // namespace
}  // namespace qforge
