#include "kernels/kernel_tables.h"

namespace qforge::kernels {
namespace {

bool has_evex_vnni() { return isa_supported(Isa::Avx512, cpu_features()) && cpu_features().avx512_vnni; }

Isa level_of(Table t) {
  switch (t) {
    case Table::Scalar: return Isa::Scalar;
    case Table::Avx2: return Isa::Avx2;
    case Table::AvxVnni: return Isa::AvxVnni;
    case Table::AvxVnniOnEvex:
    case Table::Avx512: return Isa::Avx512;
  }
  return Isa::Scalar;
}

// The level's table, or the twin built on the EVEX encoding.
template <class Kernels>
std::optional<Kernels> pick(Table t, std::optional<Kernels> (*level)(Isa), Kernels (*twin)()) {
  if (t != Table::AvxVnniOnEvex) return level(level_of(t));
  if (!has_evex_vnni()) return std::nullopt;
  return twin();
}

}  // namespace

std::string table_name(Table t) {
  return t == Table::AvxVnniOnEvex ? "avx-vnni-evex" : std::string(isa_name(level_of(t)));
}

std::optional<DotKernels> dot_table(Table t) { return pick(t, dot_kernels_for, dot_kernels_avx_vnni_on_evex); }
std::optional<GridKernels> grid_table(Table t) { return pick(t, grid_kernels_for, grid_kernels_avx_vnni_on_evex); }
std::optional<W8A8Kernels> w8a8_table(Table t) { return pick(t, w8a8_kernels_for, w8a8_kernels_avx_vnni_on_evex); }

}  // namespace qforge::kernels
