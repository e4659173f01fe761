// CPU feature detection (CPUID + XCR0 for what the OS saves) and the ISA level that
// kernels dispatch to, detected once; QFORGE_ISA=scalar|avx2|avx-vnni|avx512 caps it.
#pragma once

#include <string>
#include <string_view>

namespace qforge {

struct CpuFeatures {
  std::string vendor;
  std::string brand;
  // Instruction-set bits as CPUID reports them.
  bool sse42 = false, avx = false, avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512_vnni = false, avx512_bf16 = false, avx_vnni = false;
  bool amx_tile = false, amx_int8 = false, amx_bf16 = false;
  // Register state the OS saves on a context switch (XCR0); without it the bits above
  // are unusable.
  bool os_avx = false, os_avx512 = false, os_amx = false;
};

// Kernel levels, ordered by what their kernels may use: AVX2 + FMA + F16C; AVX2 with AVX-VNNI's
// VEX byte dot product (Alder Lake and later, Zen 5); AVX-512 F/BW/VL/DQ.
enum class Isa { Scalar = 0, Avx2 = 1, AvxVnni = 2, Avx512 = 3 };

const CpuFeatures& cpu_features();
std::string_view isa_name(Isa isa);
// Whether the CPU and OS run a level's kernels. A CPU runs every level up to its highest but
// AVX-VNNI, which AVX-512 neither implies nor needs (Ice Lake and Zen 4 have VNNI only in
// AVX-512's encoding).
bool isa_supported(Isa isa, const CpuFeatures& f);
// Highest level the CPU and OS support.
Isa detected_isa();
// detected_isa() capped by QFORGE_ISA (read once; an unknown value throws Error listing
// the accepted ones).
Isa active_isa();
// The same rule for given features: the highest supported level at or below the requested one
// (the highest supported for ""); for tests and tools that evaluate a value explicitly.
Isa cap_isa(const CpuFeatures& f, std::string_view requested);

}  // namespace qforge
