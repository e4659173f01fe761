// Dispatch-once: each kernel family's table is chosen on first use from active_isa().
#include "kernels/convert/convert_kernels.h"
#include "kernels/dot/dot_kernels.h"
#include "kernels/grid/grid_kernels.h"
#include "kernels/w8a8/w8a8_kernels.h"

namespace qforge::kernels {

std::optional<ConvertKernels> convert_kernels_for(Isa isa) {
  if (!isa_supported(isa, cpu_features())) return std::nullopt;
  switch (isa) {
    case Isa::Scalar: return convert_kernels_scalar();
    case Isa::Avx2:
    case Isa::AvxVnni: return convert_kernels_avx2();  // conversions have no byte dot product
    case Isa::Avx512: return convert_kernels_avx512();
  }
  return std::nullopt;
}

const ConvertKernels& convert_kernels() {
  static const ConvertKernels table = *convert_kernels_for(active_isa());
  return table;
}

std::optional<DotKernels> dot_kernels_for(Isa isa) {
  if (!isa_supported(isa, cpu_features())) return std::nullopt;
  switch (isa) {
    case Isa::Scalar: return dot_kernels_scalar();
    case Isa::Avx2: return dot_kernels_avx2();
    case Isa::AvxVnni: return dot_kernels_avx_vnni();
    case Isa::Avx512:  // the block formats' tiles on vpdpbusd where the CPU has VNNI, else AVX2 on those CPUs
      return cpu_features().avx512_vnni ? dot_kernels_avx512_vnni() : dot_kernels_avx2();
  }
  return std::nullopt;
}

const DotKernels& dot_kernels() {
  static const DotKernels table = *dot_kernels_for(active_isa());
  return table;
}

std::optional<GridKernels> grid_kernels_for(Isa isa) {
  if (!isa_supported(isa, cpu_features())) return std::nullopt;
  switch (isa) {
    case Isa::Scalar: return grid_kernels_scalar();
    case Isa::Avx2: return grid_kernels_avx2();
    case Isa::AvxVnni: return grid_kernels_avx_vnni();
    case Isa::Avx512:  // the integer path on vpdpbusd where the CPU has VNNI, else AVX2 on those CPUs
      return cpu_features().avx512_vnni ? grid_kernels_avx512_vnni() : grid_kernels_avx2();
  }
  return std::nullopt;
}

const GridKernels& grid_kernels() {
  static const GridKernels table = *grid_kernels_for(active_isa());
  return table;
}

std::optional<W8A8Kernels> w8a8_kernels_for(Isa isa) {
  if (!isa_supported(isa, cpu_features())) return std::nullopt;
  switch (isa) {
    case Isa::Scalar: return w8a8_kernels_scalar();
    case Isa::Avx2: return w8a8_kernels_avx2();
    case Isa::AvxVnni: return w8a8_kernels_avx_vnni();
    case Isa::Avx512:  // the VNNI GEMM where the CPU has VNNI, else AVX2 on those CPUs
      return cpu_features().avx512_vnni ? w8a8_kernels_avx512_vnni() : w8a8_kernels_avx2();
  }
  return std::nullopt;
}

const W8A8Kernels& w8a8_kernels() {
  static const W8A8Kernels table = *w8a8_kernels_for(active_isa());
  return table;
}

}  // namespace qforge::kernels
