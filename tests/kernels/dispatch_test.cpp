// Dispatch-once: the table each family runs is the active level's, but where a level has no
// kernels of a family's own (AVX-512 without VNNI for dot, grid, w8a8) AVX2's serve it.
#include <gtest/gtest.h>

#include <cstdio>

#include "kernels/convert/convert_kernels.h"
#include "kernels/dot/dot_kernels.h"
#include "kernels/grid/grid_kernels.h"
#include "kernels/w8a8/w8a8_kernels.h"

namespace qforge::kernels {
namespace {

TEST(KernelDispatch, ActiveTablesAreTheActiveLevels) {
  const Isa active = active_isa();
  const bool evex_vnni = active == Isa::Avx512 && cpu_features().avx512_vnni;
  const Isa want = active == Isa::Avx512 && !evex_vnni ? Isa::Avx2 : active;
  EXPECT_EQ(dot_kernels().isa, want);
  EXPECT_EQ(grid_kernels().isa, want);
  EXPECT_EQ(w8a8_kernels().isa, want);
  std::printf("active level %s: the byte kernels run %s\n", std::string(isa_name(active)).c_str(),
              std::string(isa_name(want)).c_str());
}

TEST(KernelDispatch, EveryLevelTheCpuRunsHasTablesAndNoOtherDoes) {
  for (const Isa isa : {Isa::Scalar, Isa::Avx2, Isa::AvxVnni, Isa::Avx512}) {
    const bool runs = isa_supported(isa, cpu_features());
    EXPECT_EQ(dot_kernels_for(isa).has_value(), runs) << isa_name(isa);
    EXPECT_EQ(grid_kernels_for(isa).has_value(), runs) << isa_name(isa);
    EXPECT_EQ(w8a8_kernels_for(isa).has_value(), runs) << isa_name(isa);
    EXPECT_EQ(convert_kernels_for(isa).has_value(), runs) << isa_name(isa);
  }
  if (const auto k = dot_kernels_for(Isa::AvxVnni)) {
    EXPECT_EQ(k->isa, Isa::AvxVnni);
  }
}

}  // namespace
}  // namespace qforge::kernels
