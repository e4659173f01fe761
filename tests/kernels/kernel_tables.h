// The kernel tables the kernel suites run: each ISA level's, and "avx-vnni-evex" — the AVX-VNNI
// tables' kernels (AVX2's tile shapes, sized for 16 registers) built on AVX-512 VNNI's encoding
// of the same instructions (avx_vnni_on_evex.cpp), so that CPUs with VNNI only in that encoding
// (Ice Lake, Zen 4) run the AVX-VNNI tiles too; only the encoding of vpdpbusd differs. A table
// the CPU lacks comes back empty, and the test reports itself skipped.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

#include "kernels/dot/dot_kernels.h"
#include "kernels/grid/grid_kernels.h"
#include "kernels/w8a8/w8a8_kernels.h"

namespace qforge::kernels {

enum class Table { Scalar, Avx2, AvxVnni, AvxVnniOnEvex, Avx512 };

std::string table_name(Table t);
std::optional<DotKernels> dot_table(Table t);
std::optional<GridKernels> grid_table(Table t);
std::optional<W8A8Kernels> w8a8_table(Table t);

// For INSTANTIATE_TEST_SUITE_P(Table, Suite, kEveryTable, TableName{}).
inline const auto kEveryTable =
    ::testing::Values(Table::Scalar, Table::Avx2, Table::AvxVnni, Table::AvxVnniOnEvex, Table::Avx512);
struct TableName {
  std::string operator()(const ::testing::TestParamInfo<Table>& p) const {
    std::string s = table_name(p.param);
    for (char& c : s)
      if (c == '-') c = '_';  // test names take no dashes
    return s;
  }
};

// The same kernels on AVX-512 VNNI's encoding (avx_vnni_on_evex.cpp; call only where the CPU has it).
DotKernels dot_kernels_avx_vnni_on_evex();
GridKernels grid_kernels_avx_vnni_on_evex();
W8A8Kernels w8a8_kernels_avx_vnni_on_evex();

}  // namespace qforge::kernels
